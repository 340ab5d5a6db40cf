"""Camera noise: off = the clean render, on = seeded and GT-free; vignetting, exposure,
shot/read noise statistics and motion blur against known answers."""

import numpy as np
import pytest

from scenarios.sensor_schema import CameraConfig, CameraNoise
from sensors.camera import Camera
from sensors.camera_noise import CameraNoiseModel, image_flow, vignetting_map
from sensors.srgb import srgb_decode
from tests.fakes import FakeWorld

QUIET = dict(read_noise_std=0.0, full_well_electrons=1e12, vignetting=0.0)


def linear(code: float | np.ndarray) -> np.ndarray:
    """Linear radiance of a uint8 sRGB code (the exact inverse curve)."""
    return srgb_decode(np.asarray(code, float) / 255.0)


def srgb_slope(lin: float) -> float:
    """d(encoded) / d(linear) of the sRGB curve above its knee (L > 0.0031308)."""
    return 1.055 / 2.4 * lin ** (1.0 / 2.4 - 1.0)


def make_camera(noise, seed=0, width=160, height=120, **kw) -> Camera:
    cfg = CameraConfig(type="camera", name="cam", width=width, height=height, noise=noise,
                       **kw)
    return Camera(cfg, np.random.default_rng(seed))


def scene() -> FakeWorld:
    world = FakeWorld()
    world.add_box("wall", (30.5, 0.0), (1.0, 200.0, 100.0), z0=-50.0, material="concrete")
    world.add_box("box", (10.0, 1.0), (2.0, 2.0, 2.0))
    return world


def wall_world() -> FakeWorld:
    """A wall filling the whole view: uniform radiance (one plane, one n.l, no shadow)."""
    world = FakeWorld()
    world.add_box("wall", (5.5, 0.0), (1.0, 200.0, 200.0), z0=-100.0, material="concrete")
    return world


def test_noise_off_is_deterministic_and_the_clean_render():
    world = scene()
    a = make_camera(None).capture(world, 0.0)
    b = make_camera(CameraNoise(enabled=False), seed=5).capture(world, 0.0)
    c = make_camera(None, seed=9).capture(world, 0.0)
    np.testing.assert_array_equal(a.data["rgb"], b.data["rgb"])
    np.testing.assert_array_equal(a.data["rgb"], c.data["rgb"])


def test_noise_on_is_seeded_and_leaves_gt_exact():
    world = scene()
    clean = make_camera(None).capture(world, 0.0)
    n1 = make_camera(CameraNoise(), seed=1).capture(world, 0.0)
    n1b = make_camera(CameraNoise(), seed=1).capture(world, 0.0)
    n2 = make_camera(CameraNoise(), seed=2).capture(world, 0.0)
    np.testing.assert_array_equal(n1.data["rgb"], n1b.data["rgb"])
    assert (n1.data["rgb"] != n2.data["rgb"]).mean() > 0.3
    assert (n1.data["rgb"] != clean.data["rgb"]).mean() > 0.3
    for key in ("depth_m", "semantic", "instance"):
        np.testing.assert_array_equal(n1.gt[key], clean.gt[key])
    assert n1.gt["boxes"] == clean.gt["boxes"]


def test_consecutive_frames_get_fresh_noise():
    world = scene()
    cam = make_camera(CameraNoise(), seed=1)
    a, b = cam.capture(world, 0.0), cam.capture(world, 0.0)
    assert (a.data["rgb"] != b.data["rgb"]).mean() > 0.3


def test_shot_and_read_noise_statistics():
    world = wall_world()
    clean = make_camera(CameraNoise(**QUIET)).capture(world, 0.0).data["rgb"]
    fw, read = 400.0, 0.01
    noisy = make_camera(CameraNoise(read_noise_std=read, full_well_electrons=fw,
                                    vignetting=0.0), seed=3).capture(world, 0.0).data["rgb"]
    level = clean[..., 0].astype(float)
    assert level.std() < 0.6  # uniform wall
    lin = float(linear(level.mean()))
    sigma_lin = np.sqrt(lin / fw + read ** 2)
    expected_std = 255.0 * sigma_lin * srgb_slope(lin)  # small noise: through the slope
    got = noisy[..., 0].astype(float)
    assert got.mean() == pytest.approx(level.mean(), abs=1.0)
    assert got.std() == pytest.approx(expected_std, rel=0.05)


def test_vignetting_darkens_corners_by_the_configured_amount():
    world = wall_world()
    m = make_camera(CameraNoise(**{**QUIET, "vignetting": 0.3})).capture(world, 0.0)
    rgb = m.data["rgb"].astype(float)
    ch = int(np.argmax(rgb[60, 80]))
    centre = rgb[60, 80, ch]
    for corner in (rgb[0, 0, ch], rgb[0, -1, ch], rgb[-1, 0, ch], rgb[-1, -1, ch]):
        assert linear(corner) / linear(centre) == pytest.approx(0.7, abs=0.02)


def test_vignetting_map_and_exposure_gain():
    cos_t = np.cos(np.radians([0.0, 20.0, 40.0]))
    v = vignetting_map(cos_t, 0.25)
    assert v[0] == pytest.approx(1.0) and v[-1] == pytest.approx(0.75)
    assert 0.75 < v[1] < 1.0
    world = wall_world()
    full = make_camera(CameraNoise(**QUIET)).capture(world, 0.0).data["rgb"].astype(float)
    half = make_camera(CameraNoise(**{**QUIET, "exposure_gain": 0.5})).capture(
        world, 0.0).data["rgb"].astype(float)
    assert linear(half[60, 80].max()) / linear(full[60, 80].max()) == pytest.approx(0.5,
                                                                                abs=0.02)
    nm = CameraNoiseModel(CameraNoise(exposure_gain=2.0, vignetting=0.0), cos_t)
    np.testing.assert_allclose(nm.gain_map, 2.0)


def test_image_flow_known_answers():
    fx = 500.0
    z = np.array([[10.0, np.inf]], np.float32)
    zero = np.zeros((1, 2), np.float32)
    du, dv = image_flow(z, zero, zero, fx, fx, np.array([2.0, 0.0, 0.0]), np.zeros(3))
    np.testing.assert_allclose(du, [[-fx * 2.0 / 10.0, 0.0]])  # sky: no parallax
    np.testing.assert_allclose(dv, 0.0)
    du, dv = image_flow(z, zero, zero, fx, fx, np.zeros(3), np.array([0.0, 0.1, 0.0]))
    np.testing.assert_allclose(du, -fx * 0.1)


def _edge_ramp(row: np.ndarray, lo: float, hi: float) -> int:
    """Pixels strictly between two levels (an edge's smear)."""
    return int(((row > lo + 3) & (row < hi - 3)).sum())


def test_motion_blur_smears_edges_along_the_motion():
    world = FakeWorld(ego_velocity=np.array([0.0, 5.0, 0.0]))  # sideways, 5 m/s
    world.add_box("wall", (20.5, 0.0), (1.0, 200.0, 100.0), z0=-50.0, material="concrete")
    world.add_box("box", (10.0, 0.0), (1.0, 2.0, 40.0), z0=-20.0, material="cardboard")
    quiet = CameraNoise(**QUIET)
    blur = CameraNoise(**QUIET, exposure_time_s=0.03)
    sharp = make_camera(quiet, width=640, height=160, shadows=False).capture(world, 0.0)
    blurred = make_camera(blur, width=640, height=160, shadows=False).capture(world, 0.0)
    # The box face (9.5 m) moves fx * 5 / 9.5 * 0.03 = 5 px during the exposure, the wall
    # behind it half that: its edges smear over ~5 px instead of <= 1.
    row_s = sharp.data["rgb"][80, :, 2].astype(float)   # blue: cardboard 80, concrete 150
    row_b = blurred.data["rgb"][80, :, 2].astype(float)
    lo, hi = sorted([row_s[20], row_s[320]])
    assert hi - lo > 30
    assert _edge_ramp(row_s, lo, hi) <= 2
    assert _edge_ramp(row_b, lo, hi) >= 6  # two edges, ~4 ramp pixels each
    np.testing.assert_array_equal(sharp.gt["instance"], blurred.gt["instance"])
    still = FakeWorld(objects=world.objects, boxes=world.boxes, materials=world.materials)
    a = make_camera(quiet).capture(still, 0.0).data["rgb"]
    b = make_camera(blur).capture(still, 0.0).data["rgb"]
    np.testing.assert_array_equal(a, b)  # no motion, no blur
