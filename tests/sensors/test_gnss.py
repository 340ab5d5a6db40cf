"""GNSS sensor: open sky, urban canyon, tunnel, geo-referencing, determinism."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from scenarios.schema import GeoOrigin
from scenarios.sensor_schema import Constellation, GnssConfig, GnssNoise, Mount
from sensors.base import build_sensor
from sensors.gnss import FIX_GPS, FIX_NONE, Gnss
from tests.fakes import FakeWorld

# GPS + Galileo-like sky: a 12 m wide, 40 m deep canyon leaves too few GPS-only satellites.
MULTI_GNSS = Constellation(num_satellites=60, num_planes=12)


def _gnss(noise: GnssNoise | None, seed: int = 0, **kw) -> Gnss:
    cfg = GnssConfig(name="gnss", type="gnss", noise=noise, **kw)
    sensor = build_sensor(cfg, np.random.default_rng(seed))
    assert isinstance(sensor, Gnss)
    return sensor


def _canyon() -> FakeWorld:
    """Two 300 m long, 40 m high buildings whose facades are 6 m east and west of x = 0."""
    w = FakeWorld()
    w.add_box("building", (-16.0, 0.0), (20.0, 300.0, 40.0))
    w.add_box("building", (16.0, 0.0), (20.0, 300.0, 40.0))
    return w


def _tunnel() -> FakeWorld:
    """A 400 m long covered tunnel (walls at x = +-5 m, ceiling at 4.5-5 m)."""
    w = FakeWorld()
    w.add_box("wall", (-5.25, 0.0), (0.5, 400.0, 5.0))
    w.add_box("wall", (5.25, 0.0), (0.5, 400.0, 5.0))
    w.add_box("wall", (0.0, 0.0), (11.0, 400.0, 0.5), z0=4.5)
    return w


def test_registered_and_built_from_config():
    assert type(_gnss(None)).type_name == "gnss"


def test_open_sky_noise_off_fix_equals_truth():
    world = FakeWorld(ego_position=np.array([35.0, -20.0, 0.0]), ego_yaw=0.4)
    sensor = _gnss(None)
    for t in (0.0, 1.0, 600.0):
        m = sensor.capture(world, t)
        assert m.data["fix_quality"] == FIX_GPS
        assert m.data["num_satellites"] >= 8
        assert m.data["num_nlos"] == 0
        assert np.all(np.abs(m.gt["error_enu_m"]) < 0.01)
        assert 0.5 < m.data["hdop"] < 2.0
        assert m.data["hdop"] < m.data["pdop"]
        assert abs(m.data["lat_deg"] - m.gt["lat_deg"]) < 1e-9
        assert abs(m.data["lon_deg"] - m.gt["lon_deg"]) < 1e-9
        assert abs(m.data["alt_m"] - m.gt["alt_m"]) < 0.01
        assert m.data["elevation_deg"].min() >= 10.0
        assert np.all(m.data["used"] == m.data["los"])


def test_geo_reference_matches_pymap3d():
    origin = GeoOrigin(lat_deg=37.4, lon_deg=-122.1, alt_m=12.0)
    world = FakeWorld(ego_position=np.array([100.0, 200.0, 0.0]), geo_origin=origin)
    m = _gnss(None).capture(world, 0.0)                    # default mount: 1.5 m up
    lat, lon, alt = pymap3d.enu2geodetic(100.0, 200.0, 1.5, 37.4, -122.1, 12.0)
    assert m.gt["lat_deg"] == pytest.approx(lat, abs=1e-12)
    assert m.gt["lon_deg"] == pytest.approx(lon, abs=1e-12)
    assert m.gt["alt_m"] == pytest.approx(alt, abs=1e-6)
    assert m.data["lat_deg"] == pytest.approx(lat, abs=1e-9)
    assert m.data["lon_deg"] == pytest.approx(lon, abs=1e-9)
    np.testing.assert_allclose(m.gt["position_enu_m"], [100.0, 200.0, 1.5])


def test_origin_maps_to_origin_and_north_offset_is_one_meridian_arc():
    origin = GeoOrigin(lat_deg=48.137, lon_deg=11.575, alt_m=520.0)
    at_ground = Mount(position=(0.0, 0.0, 0.0))
    m = _gnss(None, mount=at_ground).capture(FakeWorld(geo_origin=origin), 0.0)
    assert (m.gt["lat_deg"], m.gt["lon_deg"]) == pytest.approx((48.137, 11.575), abs=1e-12)
    assert m.gt["alt_m"] == pytest.approx(520.0, abs=1e-6)
    assert m.data["alt_m"] == pytest.approx(520.0, abs=0.01)
    # 1 km north: dlat = 1000 / (M + h), M the WGS84 meridian radius of curvature.
    north = FakeWorld(geo_origin=origin, ego_position=np.array([0.0, 1000.0, 0.0]))
    m = _gnss(None, mount=at_ground).capture(north, 0.0)
    a, e2 = 6378137.0, 6.69437999014e-3
    s2 = np.sin(np.radians(48.137)) ** 2
    meridian_radius = a * (1 - e2) / (1 - e2 * s2) ** 1.5
    dlat = np.degrees(1000.0 / (meridian_radius + 520.0))
    assert m.gt["lat_deg"] - 48.137 == pytest.approx(dlat, rel=1e-6)
    assert m.gt["lon_deg"] == pytest.approx(11.575, abs=1e-12)


def test_urban_canyon_fewer_satellites_and_larger_error():
    noise = GnssNoise(multipath=True)
    times = np.arange(0.0, 300.0, 5.0)
    results = {}
    for name, world in (("open", FakeWorld()), ("canyon", _canyon())):
        sensor = _gnss(noise, seed=0, constellation=MULTI_GNSS)
        ms = [sensor.capture(world, t) for t in times]
        results[name] = (np.array([m.data["num_satellites"] for m in ms]),
                         np.array([m.gt["horizontal_error_m"] for m in ms]),
                         np.array([m.data["num_nlos"] for m in ms]))
    used_open, err_open, nlos_open = results["open"]
    used_canyon, err_canyon, nlos_canyon = results["canyon"]
    assert np.all(used_canyon < used_open)
    assert nlos_open.sum() == 0
    assert nlos_canyon.sum() > 0                     # some satellites only via a facade
    assert np.isfinite(err_open).all()
    fixed = np.isfinite(err_canyon)
    assert fixed.mean() > 0.5
    assert np.mean(err_canyon[fixed]) > 3.0 * np.mean(err_open[fixed])


def test_canyon_without_multipath_loses_blocked_satellites():
    world = _canyon()
    with_mp = _gnss(GnssNoise(multipath=True), constellation=MULTI_GNSS)
    without = _gnss(GnssNoise(multipath=False), constellation=MULTI_GNSS)
    for t in (0.0, 50.0, 100.0):
        a, b = with_mp.capture(world, t), without.capture(world, t)
        assert b.data["num_nlos"] == 0
        np.testing.assert_array_equal(a.data["los"], b.data["los"])
        assert a.data["num_satellites"] == b.data["num_satellites"] + a.data["num_nlos"]
        # NLOS delays are positive extra path lengths, only on NLOS satellites.
        delay = a.gt["nlos_delay_m"]
        assert np.all(delay[a.data["nlos"]] > 0) and np.all(delay[~a.data["nlos"]] == 0)


@pytest.mark.parametrize("noise", [None, GnssNoise(multipath=True)])
def test_tunnel_has_no_fix(noise):
    m = _gnss(noise, constellation=MULTI_GNSS).capture(_tunnel(), 0.0)
    assert m.data["fix_quality"] == FIX_NONE
    assert m.data["num_satellites"] == 0
    assert np.isnan(m.data["lat_deg"]) and np.isnan(m.data["lon_deg"])
    assert np.isnan(m.data["alt_m"]) and np.isnan(m.data["hdop"])
    assert np.isnan(m.gt["error_enu_m"]).all()
    assert not m.data["los"].any()


def test_noise_on_open_sky_error_is_metre_level():
    sensor = _gnss(GnssNoise(), seed=4)
    errs = [sensor.capture(FakeWorld(), t).gt["horizontal_error_m"] for t in range(0, 60, 2)]
    assert 0.05 < np.mean(errs) < 5.0
    assert sensor.capture(FakeWorld(), 61.0).data["clock_bias_m"] == pytest.approx(100.0,
                                                                                   abs=10.0)


def test_deterministic_per_seed():
    world = _canyon()
    runs = []
    for seed in (7, 7, 8):
        sensor = _gnss(GnssNoise(), seed=seed, constellation=MULTI_GNSS)
        runs.append([sensor.capture(world, t) for t in (0.0, 0.1, 0.35)])
    for a, b in zip(runs[0], runs[1]):
        np.testing.assert_array_equal(a.data["pseudorange_m"], b.data["pseudorange_m"])
        np.testing.assert_array_equal([a.data[k] for k in ("lat_deg", "lon_deg", "alt_m")],
                                      [b.data[k] for k in ("lat_deg", "lon_deg", "alt_m")])
    assert not np.array_equal(runs[0][0].data["pseudorange_m"],
                              runs[2][0].data["pseudorange_m"])


def test_sky_moves_slowly():
    sensor = _gnss(None)
    a, b = sensor.capture(FakeWorld(), 0.0), sensor.capture(FakeWorld(), 10.0)
    common, ia, ib = np.intersect1d(a.data["prn"], b.data["prn"], return_indices=True)
    assert len(common) >= 6
    d_el = np.abs(a.data["elevation_deg"][ia] - b.data["elevation_deg"][ib])
    # A GPS satellite crosses the sky in hours: < 0.01 deg/s.
    assert np.all(d_el < 0.1) and np.any(d_el > 1e-4)
