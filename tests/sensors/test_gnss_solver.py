"""Least-squares fix, DOP, constellation geometry and the Gauss-Markov pseudorange bias."""

from __future__ import annotations

import numpy as np
import pymap3d
import pytest

from scenarios.sensor_schema import Constellation
from sensors.gnss_constellation import ORBIT_RADIUS_M, WalkerConstellation
from sensors.gnss_solver import NoFixError, dilution_of_precision, solve_position

LAT, LON, ALT = 48.137, 11.575, 520.0


def _sats(az_deg: list[float], el_deg: list[float], range_m: float = 2.0e7) -> np.ndarray:
    x, y, z = pymap3d.aer2ecef(np.array(az_deg), np.array(el_deg), range_m, LAT, LON, ALT)
    return np.column_stack([x, y, z])


def test_least_squares_recovers_position_and_clock():
    sats = _sats([0, 90, 180, 270, 45, 200], [20, 35, 50, 15, 80, 60])
    rx = np.array(pymap3d.geodetic2ecef(LAT, LON, ALT))
    pr = np.linalg.norm(sats - rx, axis=1) + 123.4
    start = rx + np.array([3000.0, -2000.0, 1500.0])
    fix = solve_position(sats, pr, start)
    np.testing.assert_allclose(fix.position_ecef_m, rx, atol=1e-4)
    assert fix.clock_bias_m == pytest.approx(123.4, abs=1e-4)
    assert np.abs(fix.residuals_m).max() < 1e-4


def test_three_satellites_give_no_fix():
    sats = _sats([0, 120, 240], [30, 30, 30])
    with pytest.raises(NoFixError):
        solve_position(sats, np.full(3, 2.0e7), np.zeros(3))


def test_dop_of_zenith_plus_three_horizon_satellites():
    # Horizon satellites 120 deg apart decouple east/north from up/clock:
    # HDOP = sqrt(2 / 1.5); up/clock normal matrix [[1, -1], [-1, 4]] -> VDOP = sqrt(4/3).
    sats = _sats([0, 120, 240, 0], [0, 0, 0, 90])
    rx = np.array(pymap3d.geodetic2ecef(LAT, LON, ALT))
    dop = dilution_of_precision(sats, rx, LAT, LON)
    assert dop.hdop == pytest.approx(np.sqrt(2 / 1.5), rel=1e-6)
    assert dop.vdop == pytest.approx(np.sqrt(4 / 3), rel=1e-6)
    assert dop.pdop == pytest.approx(np.hypot(dop.hdop, dop.vdop), rel=1e-9)


def test_constellation_orbits_are_circular_with_the_configured_period():
    cfg = Constellation(num_satellites=24, orbit_period_s=43080.0)
    const = WalkerConstellation(cfg, np.random.default_rng(0))
    p0 = const.positions_ecef(0.0)
    np.testing.assert_allclose(np.linalg.norm(p0, axis=1), ORBIT_RADIUS_M, rtol=1e-12)
    # Inclination: the highest latitude reached is 55 deg.
    lats = [np.degrees(np.arcsin(const.positions_ecef(t)[:, 2] / ORBIT_RADIUS_M)).max()
            for t in np.linspace(0.0, 43080.0, 200)]
    assert max(lats) == pytest.approx(55.0, abs=0.5)
    # After one period the satellite is back in inertial space: ECEF turned by w_e * T.
    p1 = const.positions_ecef(43080.0)
    np.testing.assert_allclose(p1[:, 2], p0[:, 2], atol=1e-3)
    np.testing.assert_allclose(np.linalg.norm(p1[:, :2], axis=1),
                               np.linalg.norm(p0[:, :2], axis=1), rtol=1e-9)


def test_constellation_phases_come_from_the_rng():
    cfg = Constellation()
    a = WalkerConstellation(cfg, np.random.default_rng(1)).positions_ecef(0.0)
    b = WalkerConstellation(cfg, np.random.default_rng(1)).positions_ecef(0.0)
    c = WalkerConstellation(cfg, np.random.default_rng(2)).positions_ecef(0.0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
