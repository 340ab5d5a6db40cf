"""A GPS-like satellite constellation: circular orbits in inclined planes, Earth rotating.

Satellites move on circular orbits of radius ``ORBIT_RADIUS_M`` in ``num_planes`` planes
spread evenly in right ascension, inclined by ``inclination_deg`` (a Walker delta layout).
The pattern's orientation and a small jitter per satellite are drawn once from the
sensor's RNG, so two sensors with different seeds see different skies, while one sensor's
sky moves slowly and continuously over simulation time (GPS: one orbit per half sidereal
day, so the same sky repeats every sidereal day).
"""

from __future__ import annotations

import numpy as np
import pymap3d

from scenarios.sensor_schema import Constellation

ORBIT_RADIUS_M = 26_560_000.0
"""GPS semi-major axis [m] (circular orbits)."""

WALKER_PHASING = 1
"""Walker delta phasing factor F; F = 1 keeps the sky evenly covered (HDOP ~1 at 10 deg mask)."""

EARTH_ROTATION_RADPS = 7.2921151467e-5
"""WGS84 Earth rotation rate [rad/s]; turns the inertial orbits under the ECEF frame."""


class WalkerConstellation:
    """Satellite positions (ECEF) and look angles at any simulation time.

    Args:
        config: the sensor's ``constellation`` block.
        rng: drawn from here only (pattern orientation and jitter).

    Attributes:
        prn: (N,) int satellite numbers 1..N.
        raan_rad: (N,) right ascension of each satellite's ascending node [rad].
        phase_rad: (N,) argument of latitude at t = 0 [rad].
    """

    def __init__(self, config: Constellation, rng: np.random.Generator):
        self.config = config
        n = config.num_satellites
        planes = min(config.num_planes, n)
        self.inclination_rad = np.radians(config.inclination_deg)
        self.mean_motion_radps = 2.0 * np.pi / config.orbit_period_s
        self.elevation_mask_rad = np.radians(config.elevation_mask_deg)
        self.prn = np.arange(1, n + 1)
        plane = np.arange(n) % planes
        slot = np.arange(n) // planes
        per_plane = np.bincount(plane, minlength=planes)
        # Walker delta pattern: planes evenly spaced in right ascension, satellites evenly
        # spaced in each plane, adjacent planes shifted by WALKER_PHASING * 360 / N deg.
        # The rotation of the whole pattern (node and phase at t = 0) and a small per
        # satellite jitter come from the RNG, as the real GPS is not quite regular.
        raan0 = rng.uniform(0.0, 2.0 * np.pi)
        phase0 = rng.uniform(0.0, 2.0 * np.pi)
        jitter = rng.normal(0.0, np.radians(config.phase_jitter_deg), n)
        self.raan_rad = raan0 + 2.0 * np.pi * plane / planes
        self.phase_rad = (phase0 + 2.0 * np.pi * slot / per_plane[plane]
                          + 2.0 * np.pi * WALKER_PHASING * plane / n + jitter)

    def positions_ecef(self, t_s: float) -> np.ndarray:
        """Satellite positions at simulation time ``t_s`` [s] as an (N, 3) ECEF array [m]."""
        u = self.phase_rad + self.mean_motion_radps * t_s
        # Right ascension of the node as seen in the rotating Earth frame.
        node = self.raan_rad - EARTH_ROTATION_RADPS * t_s
        cu, su = np.cos(u), np.sin(u)
        cn, sn = np.cos(node), np.sin(node)
        ci, si = np.cos(self.inclination_rad), np.sin(self.inclination_rad)
        out = np.empty((len(u), 3))
        out[:, 0] = cn * cu - sn * su * ci
        out[:, 1] = sn * cu + cn * su * ci
        out[:, 2] = su * si
        return out * ORBIT_RADIUS_M

    def look_angles(self, sat_ecef: np.ndarray, lat_deg: float, lon_deg: float,
                    alt_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Azimuth (from north, clockwise) and elevation [rad] and range [m] of satellites.

        Args:
            sat_ecef: (N, 3) satellite positions [m].
            lat_deg, lon_deg, alt_m: the observer (WGS84).
        """
        az, el, rng = pymap3d.ecef2aer(sat_ecef[:, 0], sat_ecef[:, 1], sat_ecef[:, 2],
                                       lat_deg, lon_deg, alt_m)
        return np.radians(az), np.radians(el), np.asarray(rng)

    def above_mask(self, elevation_rad: np.ndarray) -> np.ndarray:
        """True for satellites at or above the elevation mask."""
        return elevation_rad >= self.elevation_mask_rad
