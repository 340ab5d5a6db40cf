"""GNSS receiver (``type: gnss``): pseudoranges through the ray-cast scene, least-squares fix.

Per capture:

1. The antenna (ego pose composed with the mount) is geo-referenced: the world frame is ENU
   at ``world.geo_origin``; conversions are pymap3d's (WGS84).
2. Satellites above the elevation mask (``gnss_constellation``) are tested for line of
   sight against the scene; blocked ones may arrive after one facade reflection with an
   extra path delay (``gnss_multipath``; only with noise and ``multipath`` on), else lost.
3. Pseudorange = true range + receiver clock bias + white noise + a per-satellite
   Gauss-Markov bias + NLOS delay. Noise is drawn for every satellite of the constellation
   every epoch, so the RNG stream (and thus a satellite's errors) does not depend on what
   the scene hides.
4. Gauss-Newton least squares for ECEF position and clock (``gnss_solver``); DOPs in the
   local ENU frame. Fewer than 4 usable satellites: no fix (quality 0, NaN position).

Output ``data``: lat_deg, lon_deg, alt_m, fix_quality (0 none, 1 GPS fix),
nlos_contaminated, num_satellites (used), num_nlos, hdop, vdop, pdop, clock_bias_m, and per
tracked satellite (above the mask): prn, azimuth_deg (from north, clockwise),
elevation_deg, pseudorange_m, used, los, nlos. ``gt``: true lat_deg, lon_deg, alt_m,
position_enu_m, error_enu_m (fix - truth, NaN without fix), horizontal_error_m,
nlos_delay_m per tracked satellite.
"""

from __future__ import annotations

import logging

import numpy as np
import pymap3d

from scenarios.schema import GeoOrigin
from scenarios.sensor_schema import GnssConfig
from sensors.base import Measurement, MountedSensor, register
from sensors.gnss_constellation import WalkerConstellation
from sensors.gnss_multipath import find_facades, line_of_sight, reflection_paths
from sensors.gnss_solver import (
    MIN_SATELLITES,
    Dop,
    NoFixError,
    dilution_of_precision,
    solve_position,
)
from sensors.imu import GaussMarkov
from sensors.world_view import WorldView

log = logging.getLogger(__name__)

ANTENNA_RAY_LIFT_M = 0.05
"""Rays start this far above the antenna so its own mounting surface never blocks them."""

FIX_NONE = 0
FIX_GPS = 1


def enu_to_geodetic(enu_m: np.ndarray, origin: GeoOrigin) -> tuple[float, float, float]:
    """World ENU point [m] -> WGS84 (lat_deg, lon_deg, alt_m)."""
    lat, lon, alt = pymap3d.enu2geodetic(float(enu_m[0]), float(enu_m[1]), float(enu_m[2]),
                                         origin.lat_deg, origin.lon_deg, origin.alt_m)
    return float(lat), float(lon), float(alt)


def ecef_to_enu(ecef_m: np.ndarray, origin: GeoOrigin) -> np.ndarray:
    """ECEF points (..., 3) [m] -> world ENU (..., 3) [m]."""
    ecef_m = np.asarray(ecef_m, np.float64)
    e, n, u = pymap3d.ecef2enu(ecef_m[..., 0], ecef_m[..., 1], ecef_m[..., 2],
                               origin.lat_deg, origin.lon_deg, origin.alt_m)
    return np.stack([np.asarray(e), np.asarray(n), np.asarray(u)], axis=-1)


def geodetic_to_ecef(lat_deg: float, lon_deg: float, alt_m: float) -> np.ndarray:
    """WGS84 -> ECEF (3,) [m]."""
    return np.array(pymap3d.geodetic2ecef(lat_deg, lon_deg, alt_m), np.float64)


@register("gnss")
class Gnss(MountedSensor):
    """Single-frequency code receiver with a simulated constellation and urban multipath."""

    config: GnssConfig

    def __init__(self, config: GnssConfig, rng: np.random.Generator):
        super().__init__(config, rng)
        self.constellation = WalkerConstellation(config.constellation, rng)
        n = config.constellation.num_satellites
        self._bias: GaussMarkov | None = None
        if self.noise is not None:
            self._bias = GaussMarkov(n, self.noise.bias_sigma_m,
                                     self.noise.bias_time_constant_s, rng)
        self._last_t: float | None = None
        self._last_fix_ecef: np.ndarray | None = None

    # ------------------------------------------------------------------ errors
    def _pseudorange_errors(self, t: float, n: int) -> tuple[np.ndarray, float]:
        """Per-satellite noise + bias [m] for all ``n`` satellites, and the clock bias [m]."""
        if self.noise is None or self._bias is None:
            return np.zeros(n), 0.0
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        bias = self._bias.step(dt)
        white = self.noise.pseudorange_std_m * self.rng.standard_normal(n)
        return bias + white, float(self.noise.clock_bias_m)

    # ------------------------------------------------------------------ capture
    def capture(self, world: WorldView, t: float) -> Measurement:
        """One position fix at simulation time ``t`` [s]."""
        pose = self.sensor_pose(world, t)
        origin: GeoOrigin = world.geo_origin
        antenna = np.asarray(pose.position, np.float64)
        lat, lon, alt = enu_to_geodetic(antenna, origin)
        rx_ecef = geodetic_to_ecef(lat, lon, alt)

        sat_ecef = self.constellation.positions_ecef(t)
        az, el, _ = self.constellation.look_angles(sat_ecef, lat, lon, alt)
        tracked = np.nonzero(self.constellation.above_mask(el))[0]

        # Directions in the world frame (ENU at the origin), which is what the scene uses.
        sat_enu = ecef_to_enu(sat_ecef[tracked], origin)
        dirs = sat_enu - antenna
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        ray_origin = antenna + np.array([0.0, 0.0, ANTENNA_RAY_LIFT_M])
        mirror = world.mirror()
        ego_id = world.ego_instance_id
        los = line_of_sight(mirror, ray_origin, dirs, ego_id) if len(tracked) else \
            np.zeros(0, bool)
        nlos = np.zeros(len(tracked), bool)
        delay = np.zeros(len(tracked))
        blocked = np.nonzero(~los)[0]
        if self.noise is not None and self.noise.multipath and len(blocked):
            facades = find_facades(mirror, ray_origin, ego_id)
            paths = reflection_paths(mirror, ray_origin, dirs[blocked], facades, ego_id)
            nlos[blocked] = paths.valid
            delay[blocked] = paths.delay_m
        used = los | nlos

        errors, clock_m = self._pseudorange_errors(t, len(sat_ecef))
        true_range = np.linalg.norm(sat_ecef[tracked] - rx_ecef, axis=1)
        pseudorange = true_range + clock_m + errors[tracked] + delay
        self._last_t = t

        fix_lat = fix_lon = fix_alt = clock_est = np.nan
        dop = Dop.nan()
        quality = FIX_NONE
        error_enu = np.full(3, np.nan)
        if used.sum() >= MIN_SATELLITES:
            start = self._last_fix_ecef if self._last_fix_ecef is not None else \
                geodetic_to_ecef(origin.lat_deg, origin.lon_deg, origin.alt_m)
            try:
                sol = solve_position(sat_ecef[tracked[used]], pseudorange[used], start)
            except NoFixError as exc:
                log.debug("%s: no fix at t=%.3f s: %s", self.name, t, exc)
            else:
                quality = FIX_GPS
                self._last_fix_ecef = sol.position_ecef_m
                clock_est = sol.clock_bias_m
                fix_lat, fix_lon, fix_alt = (float(v) for v in pymap3d.ecef2geodetic(
                    *sol.position_ecef_m))
                dop = dilution_of_precision(sat_ecef[tracked[used]], sol.position_ecef_m,
                                            fix_lat, fix_lon)
                error_enu = ecef_to_enu(sol.position_ecef_m, origin) - antenna

        data = {
            "lat_deg": fix_lat, "lon_deg": fix_lon, "alt_m": fix_alt,
            "fix_quality": quality,
            "nlos_contaminated": bool(quality != FIX_NONE and nlos.any()),
            "num_satellites": int(used.sum()), "num_nlos": int(nlos.sum()),
            "hdop": dop.hdop, "vdop": dop.vdop, "pdop": dop.pdop,
            "clock_bias_m": clock_est,
            "prn": self.constellation.prn[tracked],
            "azimuth_deg": np.degrees(az[tracked]),
            "elevation_deg": np.degrees(el[tracked]),
            "pseudorange_m": pseudorange,
            "used": used, "los": los, "nlos": nlos,
        }
        gt = {
            "lat_deg": lat, "lon_deg": lon, "alt_m": alt,
            "position_enu_m": antenna.copy(),
            "error_enu_m": error_enu,
            "horizontal_error_m": float(np.hypot(error_enu[0], error_enu[1])),
            "nlos_delay_m": delay,
        }
        return Measurement(self.name, self.type_name, t, pose, data, gt)
