"""Weather and light against known answers: Koschmieder contrast, fog and rain on lidar,
rain clutter labels, the sun's direction moving shadows, dim light darkening the image and
raising its noise (FakeWorld scenes)."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.sensor_schema import CameraConfig, LidarConfig, LidarNoise
from scenarios.weather_schema import Weather
from sensors.camera import Camera
from sensors.camera_shading import Lighting
from sensors.lidar import Lidar
from sensors.srgb import srgb_decode
from sensors.weather import (
    RainClutter,
    daylight,
    fog_extinction_per_m,
    kim_exponent,
    lidar_extinction_per_m,
    rain_extinction_per_m,
    sun_direction,
    visible_extinction_per_m,
)
from simulator.scene.semantics import SEMANTIC_CLASSES
from tests.fakes import FakeWorld
from tests.sensors.test_camera import add_flat, to_pixel


def camera(width=64, height=48, fov=60.0, noise=None, seed=0, **kw) -> Camera:
    cfg = CameraConfig(type="camera", name="cam", width=width, height=height, fov_deg=fov,
                       noise=noise, **kw)
    return Camera(cfg, np.random.default_rng(seed))


NOISE = LidarNoise(mixed_pixel_prob=0.0)


def lidar(noise: LidarNoise | None = NOISE, seed: int = 0, columns: int = 1800) -> Lidar:
    cfg = LidarConfig(type="lidar", name="lidar", preset="vlp16", columns=columns,
                      noise=noise)
    return Lidar(cfg, np.random.default_rng(seed))


# --------------------------------------------------------------------------- formulas
def test_extinction_formulas() -> None:
    assert fog_extinction_per_m(None) == 0.0
    assert fog_extinction_per_m(200.0) == pytest.approx(3.912 / 200.0)
    assert np.exp(-fog_extinction_per_m(1234.0) * 1234.0) == pytest.approx(0.02, rel=1e-3)
    # Kim et al. 2001: q by visibility, and 905 nm sees farther than 550 nm in haze.
    assert [kim_exponent(v) for v in (60e3, 10e3, 2e3, 800.0, 300.0)] == \
        pytest.approx([1.6, 1.3, 0.66, 0.3, 0.0])
    assert fog_extinction_per_m(2000.0, 905.0) == pytest.approx(
        3.912 / 2000.0 * (905.0 / 550.0) ** -0.66)
    assert fog_extinction_per_m(300.0, 905.0) == fog_extinction_per_m(300.0)
    # Rain: 1.076 R^0.67 dB/km -> 1/m.
    assert rain_extinction_per_m(10.0) == pytest.approx(1.076 * 10 ** 0.67 / 4342.94, rel=1e-4)
    w = Weather(fog_visibility_m=500.0, rain_rate_mm_h=5.0)
    assert visible_extinction_per_m(w) == pytest.approx(3.912 / 500 + rain_extinction_per_m(5))
    assert lidar_extinction_per_m(w) == pytest.approx(visible_extinction_per_m(w))


def test_compass_convention_and_default_sun() -> None:
    np.testing.assert_allclose(sun_direction(0.0, 0.0), [0, 1, 0], atol=1e-12)    # north
    np.testing.assert_allclose(sun_direction(90.0, 0.0), [1, 0, 0], atol=1e-12)   # east
    np.testing.assert_allclose(sun_direction(180.0, 90.0), [0, 0, 1], atol=1e-12)
    # The default weather is exactly the camera's pre-weather sun (135 deg from +x, 45 up).
    cam = camera()
    ref = Lighting.from_angles(135.0, 45.0)
    assert np.array_equal(cam.lighting.sun_dir, ref.sun_dir)
    assert (cam.lighting.sun, cam.lighting.ambient, cam.lighting.sky_rgb) == \
        (ref.sun, ref.ambient, ref.sky_rgb)
    assert daylight(Weather()).is_reference


# --------------------------------------------------------------------------- camera fog
def _wall_world(d: float, weather: Weather) -> FakeWorld:
    world = FakeWorld(weather=weather)
    # A dark wall whose face x = d covers the image centre; sky around it.
    world.add_box("wall", (d + 0.5, 0.0), (1.0, 0.3 * d, 0.3 * d), z0=1.5 - 0.15 * d,
                  material="asphalt")
    return world


@pytest.mark.parametrize("rain", [0.0, 20.0])
def test_contrast_falls_as_exp_minus_beta_d(rain: float) -> None:
    """Koschmieder: against the airlight A (the fogged sky), the wall's contrast
    |L - A| / A in fog is exp(-beta d) times the one in clear air under the same light
    (fog also diffuses the daylight, so the clear reference is the same camera with its
    extinction pass switched off)."""
    fog = Weather(fog_visibility_m=200.0, rain_rate_mm_h=rain, wet_road=False)
    beta = 3.912 / 200.0 + rain_extinction_per_m(rain)
    for d in (20.0, 50.0, 100.0):
        cam = camera()
        world = _wall_world(d, fog)
        foggy_m = cam.capture(world, 0.0)
        assert cam._beta == pytest.approx(beta)
        cam._beta = 0.0
        clear = srgb_decode(cam.capture(world, 0.0).data["rgb"] / 255)
        foggy = srgb_decode(foggy_m.data["rgb"] / 255)
        sky = foggy_m.gt["instance"] == 0
        airlight = foggy[sky]
        assert np.ptp(airlight, axis=0).max() < 1e-9       # the sky is uniform airlight
        a = airlight[0]
        c_clear = np.abs(clear[24, 32] - a) / a
        c_fog = np.abs(foggy[24, 32] - a) / a
        measured = c_fog / c_clear
        # sRGB quantisation: about half a code value of 0.65-contrast signal.
        np.testing.assert_allclose(measured, np.exp(-beta * d), atol=0.01)


def test_clear_weather_has_no_airlight_pass() -> None:
    cam = camera()
    world = _wall_world(30.0, Weather())
    a = cam.capture(world, 0.0).data["rgb"]
    world.weather = Weather(sun_azimuth_deg=315.0, sun_elevation_deg=45.0)  # equal, new object
    assert np.array_equal(cam.capture(world, 0.0).data["rgb"], a)
    assert cam._beta == 0.0 and cam._auto_gain == 1.0


# --------------------------------------------------------------------------- sun, light
def _box_on_ground(weather: Weather) -> FakeWorld:
    world = FakeWorld(weather=weather)
    add_flat(world, 5, "ground", "ground", (-50.0, 200.0), (-100.0, 100.0))
    # A 10 m long, 1 m thick, 4 m high wall along x: its shadow is a wide band on the
    # ground beside it (a small box's would be a sliver of pixels this low).
    world.add_box("building", (20.0, 0.0), (10.0, 1.0, 4.0))
    return world


@pytest.mark.parametrize(("azimuth", "shaded_y"), [(180.0, 3.0), (0.0, -3.0)])
def test_shadow_falls_opposite_the_sun(azimuth: float, shaded_y: float) -> None:
    """Sun in the south (compass 180, towards -y): the box's shadow lies north of it (+y),
    and the other way round for a northern sun; 30 deg up, the shadow is 6.9 m wide."""
    cam = camera(320, 240, fov=70.0)
    m = cam.capture(_box_on_ground(Weather(sun_azimuth_deg=azimuth, sun_elevation_deg=30.0)),
                    0.0)
    rgb = m.data["rgb"].astype(float)
    shaded, lit = to_pixel(cam, (20.0, shaded_y, 0.0)), to_pixel(cam, (20.0, -shaded_y, 0.0))
    for px in (shaded, lit):
        assert m.gt["semantic"][px] == SEMANTIC_CLASSES["ground"]
    assert rgb[shaded].sum() < 0.75 * rgb[lit].sum()


def test_low_sun_and_night_darken_and_raise_noise() -> None:
    from scenarios.sensor_schema import CameraNoise

    noise = CameraNoise(vignetting=0.0)
    stats = {}
    for el in (45.0, 10.0, 3.0, -3.0, -10.0):
        weather = Weather(sun_elevation_deg=el)
        frames = [camera(96, 72, noise=noise, seed=s).capture(_box_on_ground(weather), 0.0)
                  for s in (1, 2)]
        lin = [srgb_decode(f.data["rgb"] / 255.0) for f in frames]
        ground = frames[0].gt["semantic"] == SEMANTIC_CLASSES["ground"]
        mean = float(np.mean(lin[0][ground]))
        # Noise of one frame: the difference of two independent frames / sqrt(2).
        std = float(np.std((lin[0] - lin[1])[ground]) / np.sqrt(2.0))
        stats[el] = (mean, std / max(mean, 1e-9))
    # At 10 deg the auto-exposure gain (x4) still restores the brightness, below its
    # limit (x8, reached just under 5 deg) the image darkens; night is nearly black.
    means = [stats[el][0] for el in (45.0, 3.0, -3.0, -10.0)]
    rel = [stats[el][1] for el in (45.0, 10.0, 3.0)]
    assert means[0] > means[1] > means[2] > means[3]
    assert stats[10.0][0] == pytest.approx(means[0], rel=0.15)
    assert means[3] < 0.25 * means[0]                      # mostly amplified read noise
    assert rel[0] < rel[1] < rel[2]                          # relative noise rises
    assert 1.0 < daylight(Weather(sun_elevation_deg=10.0)).gain < 8.0
    assert daylight(Weather(sun_elevation_deg=3.0)).gain == 8.0


# --------------------------------------------------------------------------- lidar
def _walls(weather: Weather) -> FakeWorld:
    """A wall 10 m ahead (+x) and one 60 m behind (-x)."""
    world = FakeWorld(weather=weather)
    world.add_box("wall", (10.5, 0.0), (1.0, 14.0, 30.0), z0=-10.0)
    world.add_box("wall", (-60.5, 0.0), (1.0, 80.0, 60.0), z0=-20.0)
    return world


def _counts(m) -> tuple[int, int]:
    r = m.gt["range_m"]
    return int(((r > 5) & (r < 20)).sum()), int((r > 40).sum())


def test_fog_drops_far_returns_monotonically_and_keeps_near_ones() -> None:
    near, far, clean = [], [], []
    for v in (None, 2000.0, 600.0, 300.0, 150.0):
        m = lidar().capture(_walls(Weather(fog_visibility_m=v)), 0.0)
        n, f = _counts(m)
        near.append(n)
        far.append(f)
        clean.append(lidar(noise=None).capture(_walls(Weather(fog_visibility_m=v)), 0.0))
    assert len(set(near)) == 1 and near[0] > 500          # short range untouched
    assert far[0] > 1000
    assert all(a > b for a, b in zip(far, far[1:]))        # fewer with denser fog
    assert far[-1] < 0.05 * far[0]
    # Noise-free intensities carry exactly the two-way fog loss exp(-2 beta r).
    c0, c3 = clean[0], clean[3]
    np.testing.assert_array_equal(c0.gt["range_m"], c3.gt["range_m"])
    beta = fog_extinction_per_m(300.0, 905.0)
    np.testing.assert_allclose(c3.gt["intensity"] / c0.gt["intensity"],
                               np.exp(-2 * beta * c0.gt["range_m"]), rtol=1e-4)


def test_rain_clutter_is_labelled_and_grows_with_rate() -> None:
    rain_class = SEMANTIC_CLASSES["rain"]
    counts, far = [], []
    for rate in (0.0, 5.0, 20.0, 50.0):
        lid = lidar()
        m = lid.capture(_walls(Weather(rain_rate_mm_h=rate)), 0.0)
        rain = m.gt["semantic"] == rain_class
        counts.append(int(rain.sum()))
        far.append(_counts(m)[1])
        assert (m.gt["instance_id"][rain] == 0).all()
        assert len(m.data["points"]) == len(m.gt["semantic"]) == len(m.data["ring"])
        if rate > 0:
            clutter = RainClutter.for_lidar(rate, 0.5, 30.0, 0.05)
            r = m.gt["range_m"][rain]
            assert r.min() >= clutter.near_m and r.max() <= clutter.far_m
            beams = 16 * 1800
            expected = clutter.probability * beams
            assert abs(rain.sum() - expected) < 5 * np.sqrt(expected) + 5
            # One return per beam, in firing order.
            ray = m.data["column"].astype(int) * 16 + m.data["ring"]
            assert (np.diff(ray) > 0).all()
    assert counts[0] == 0 and all(a < b for a, b in zip(counts, counts[1:]))
    assert far[0] > far[2] > far[3]                         # rain attenuates the far wall


def test_no_weather_no_extra_work_and_same_sweep() -> None:
    """Clear weather: a sweep identical to a lidar that never saw a weather."""
    a = lidar().capture(_walls(Weather()), 0.0)
    b = lidar().capture(_walls(Weather(sun_elevation_deg=10.0)), 0.0)   # light only
    for key in ("range_m", "semantic", "intensity"):
        np.testing.assert_array_equal(a.gt[key], b.gt[key])
    np.testing.assert_array_equal(a.data["points"], b.data["points"])


# --------------------------------------------------------------------------- schema
def test_weather_block_in_yaml() -> None:
    from scenarios import load, parse_scenario
    from scenarios.loader import ScenarioError

    base = """
map:
  roads:
    - id: r
      lanes: {forward: 1, backward: 0}
      segments: [{type: straight, length_m: 100}]
ego:
  start: {lane: r/fwd/0, s_m: 10}
"""
    assert parse_scenario(base).weather == Weather()
    sc = parse_scenario(base + "weather: {fog_visibility_m: 150, rain_rate_mm_h: 4}\n")
    assert sc.weather.fog_visibility_m == 150.0 and sc.weather.road_is_wet
    for bad in ("{fog_visibility_m: 0}", "{sun_elevation_deg: 120}", "{snow: 1}",
                "{rain_rate_mm_h: -1}"):
        with pytest.raises(ScenarioError, match="weather"):
            parse_scenario(base + f"weather: {bad}\n")
    assert load("scenarios/foggy_highway.yaml").weather.fog_visibility_m == 80.0
    rain = load("scenarios/rain_dusk.yaml").weather
    assert rain.rain_rate_mm_h == 10.0 and rain.road_is_wet and rain.sun_elevation_deg == 3.0
