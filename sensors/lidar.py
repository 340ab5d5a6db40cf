"""The rotating lidar (``type: lidar``): a rolling scan against the world's ray-cast mirror.

One ``capture(world, t)`` produces the sweep of one rotation that *ends* at ``t``. Column
``k`` (all channels of one firing) fires at its own time ``t_k`` and is cast from where the
sensor was then: the sensor poses at sweep start and end come from ``world.ego_pose`` and the
mount; per column, the position is interpolated linearly and the orientation by slerp
(``sensors.lidar_motion``). Approximation: the moving actors are where they are at the
capture time (the mirror holds one snapshot), only the ego's own motion skews the sweep.

Reported points are in the sensor frame *at their own firing time*, the motion skew a real
driver produces. To de-skew, use ``gt["pose_sweep_start"]`` / ``gt["pose_sweep_end"]`` with
``deskew_points`` (or read the exact ``gt["points_deskewed"]``).

Returns from the ego vehicle itself (``world.ego_instance_id``) are discarded: rays are cast
from the sensor origin and a beam whose first hit is the ego body yields no return (real
drivers mask their own vehicle the same way). Hits nearer than ``min_range_m`` or beyond the
range are no return either. Intensity: ``sensors.lidar_intensity``; noise:
``sensors.lidar_noise``; beam tables and scan convention: ``sensors.lidar_presets``.

``Measurement.data`` (per point, M points after dropout; firing order, column-major):
    ``points`` (M, 3) float32 [m] sensor frame at firing time; ``intensity`` (M,) float32
    0-1; ``ring`` (M,) uint16 (0 = lowest beam); ``column`` (M,) uint16 (firing index);
    ``time_offset_s`` (M,) float32 after the sweep start; ``num_dropped`` int (returns lost
    to dropout); ``sweep_duration_s`` float; ``sweep_start_time_s`` float.

``Measurement.gt`` (aligned with the points):
    ``range_m`` (M,) float32 exact range of the beam's first hit; ``semantic`` (M,) uint8;
    ``instance_id`` (M,) int32; ``intensity`` (M,) float32 noise-free; ``mixed_pixel`` (M,)
    bool; ``points_deskewed`` (M, 3) float32 exact hit points in the sensor frame at sweep
    end; ``pose_sweep_start`` / ``pose_sweep_end`` 4x4 float64 world-from-sensor.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from scenarios.sensor_schema import LidarConfig
from sensors.base import Measurement, MountedSensor, register
from sensors.lidar_intensity import incidence_cosine, signal_and_intensity
from sensors.lidar_motion import deskew_points, interpolate_poses, rotate_vectors
from sensors.lidar_noise import add_gaussian, keep_mask, mixed_pixels
from sensors.lidar_presets import LidarGeometry, resolve_geometry

__all__ = ["Lidar", "deskew_points"]

logger = logging.getLogger(__name__)


@register("lidar")
class Lidar(MountedSensor):
    """A spinning multi-beam lidar with rolling-shutter motion skew.

    Args:
        config: the validated ``LidarConfig``.
        rng: this sensor's own generator (all noise draws come from it).
    """

    def __init__(self, config: LidarConfig, rng: np.random.Generator):
        super().__init__(config, rng)
        self.geometry: LidarGeometry = resolve_geometry(config)
        g = self.geometry
        n, c = g.columns, g.channels
        # Constant per sensor: ray table, firing fractions/times, ring and column per ray.
        self.directions = g.ray_directions()                 # (N, C, 3) sensor frame
        self._dirs_flat = self.directions.reshape(-1, 3)
        self._fractions = g.column_fractions()
        time_offset = (self._fractions * g.sweep_duration_s).astype(np.float32)
        self._time_flat = np.repeat(time_offset, c)
        self._ring_flat = np.tile(np.arange(c, dtype=np.uint16), n)
        self._column_flat = np.repeat(np.arange(n, dtype=np.uint16), c)
        self._alpha = float(config.atmospheric_attenuation_per_m)
        self._ref_range_m = float(config.intensity_ref_range_m)
        logger.debug("lidar %s: %d channels x %d columns, %.1f Hz, %.0f m", self.name, c, n,
                     g.rotation_hz, g.range_m)

    # ------------------------------------------------------------------ geometry
    def _column_rays(self, pose_start: np.ndarray, pose_end: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Per-column origins (N, 3) float64 and world ray directions (N, C, 3) float32."""
        rotations, positions = interpolate_poses(pose_start, pose_end, self._fractions)
        if rotations.strides[0] == 0:     # broadcast view: no rotation during the sweep
            dirs = rotate_vectors(self.directions, rotations[0])
        else:
            dirs = rotate_vectors(self.directions, rotations[:, None, :, :])
        return positions, dirs

    # ------------------------------------------------------------------ capture
    def capture(self, world: Any, t: float) -> Measurement:
        """Scan the sweep ending at ``t`` [s]; see the module docstring for the output."""
        g = self.geometry
        duration = g.sweep_duration_s
        end = self.sensor_pose(world, t)
        start = self.sensor_pose(world, t - duration) if duration > 0 else end
        m_start, m_end = start.matrix, end.matrix
        origins, dirs_world = self._column_rays(m_start, m_end)

        mirror = world.mirror()
        hits = mirror.cast(origins.astype(np.float32)[:, None, :], dirs_world, g.range_m)
        dist = hits.distance_m.reshape(-1)
        inst_all = hits.instance_id.reshape(-1)
        valid = np.isfinite(dist)
        if g.min_range_m > 0:
            valid &= dist >= np.float32(g.min_range_m)
        ego = getattr(world, "ego_instance_id", None)
        if ego is not None:
            valid &= inst_all != ego

        noise = self.noise
        if noise is not None:
            mix_pix, mix_nb, mix_w = mixed_pixels(
                hits.distance_m, valid.reshape(hits.distance_m.shape), noise, self.rng)
        idx = np.flatnonzero(valid)

        # Per return (compact): range, material, incidence -> signal and intensity.
        r_true = np.take(dist, idx)
        inst = np.take(inst_all, idx)
        dirs_w = np.take(dirs_world.reshape(-1, 3), idx, axis=0)
        cos_inc = incidence_cosine(np.take(hits.normal.reshape(-1, 3), idx, axis=0), dirs_w)
        rho = np.take(mirror.materials.lidar_reflectivity, inst)
        signal, intensity_true = signal_and_intensity(rho, cos_inc, r_true, self._alpha,
                                                      self._ref_range_m)
        r_meas = r_true
        intensity = intensity_true
        mixed = None
        num_dropped = 0
        sel = None
        if noise is not None:
            r_meas, intensity, mixed = self._apply_mixed(idx, r_true, intensity_true, mix_pix,
                                                         mix_nb, mix_w)
            keep = keep_mask(signal, noise, self.rng)
            if keep is not None:
                sel = np.flatnonzero(keep)
                num_dropped = len(idx) - len(sel)
                idx = np.take(idx, sel)
                r_true, inst, dirs_w = np.take(r_true, sel), np.take(inst, sel), \
                    np.take(dirs_w, sel, axis=0)
                r_meas, intensity = np.take(r_meas, sel), np.take(intensity, sel)
                intensity_true = np.take(intensity_true, sel)
                mixed = np.take(mixed, sel)
            if r_meas is r_true:
                r_meas = r_true.copy()
            add_gaussian(r_meas, noise.range_std_m, self.rng)
            if intensity is intensity_true:
                intensity = intensity_true.copy()
            add_gaussian(intensity, noise.intensity_std, self.rng, clip=(0.0, 1.0))

        points = np.take(self._dirs_flat, idx, axis=0)
        points *= r_meas[:, None]
        column = np.take(self._column_flat, idx)
        deskewed = self._deskewed_gt(dirs_w, r_true, origins, column, m_end)
        data = {
            "points": points,
            "intensity": intensity,
            "ring": np.take(self._ring_flat, idx),
            "column": column,
            "time_offset_s": np.take(self._time_flat, idx),
            "num_dropped": int(num_dropped),
            "sweep_duration_s": duration,
            "sweep_start_time_s": t - duration,
        }
        gt = {
            "range_m": r_true,
            "semantic": np.take(mirror.materials.semantic, inst),
            "instance_id": inst,
            "intensity": intensity_true,
            "mixed_pixel": mixed if mixed is not None else np.zeros(len(idx), bool),
            "points_deskewed": deskewed,
            "pose_sweep_start": m_start,
            "pose_sweep_end": m_end,
        }
        return Measurement(self.name, self.type_name, t, end, data, gt)

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _apply_mixed(idx: np.ndarray, r_true: np.ndarray, intensity: np.ndarray,
                     pixel: np.ndarray, neighbour: np.ndarray, weight: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Measured range, intensity and mixed flag per return after edge mixing."""
        mixed = np.zeros(len(idx), bool)
        if len(pixel) == 0:
            return r_true, intensity, mixed
        # Both beams of a chosen pair are valid returns, hence present in the sorted idx.
        p = np.searchsorted(idx, pixel)
        q = np.searchsorted(idx, neighbour)
        r_meas = r_true.copy()
        r_meas[p] += weight * (r_true[q] - r_true[p])
        inten = intensity.copy()
        inten[p] += weight * (intensity[q] - intensity[p])
        mixed[p] = True
        return r_meas, inten, mixed

    @staticmethod
    def _deskewed_gt(dirs_w: np.ndarray, r_true: np.ndarray, origins: np.ndarray,
                     column: np.ndarray, pose_end: np.ndarray) -> np.ndarray:
        """Exact hit points (M, 3) float32 in the sensor frame at the sweep end."""
        r_end = pose_end[:3, :3]
        # Column origins relative to the end pose in float64, then float32 (keeps mm
        # precision far from the world origin).
        rel_origin = rotate_vectors((origins - pose_end[:3, 3]).astype(np.float32), r_end.T)
        out = rotate_vectors(dirs_w * r_true[:, None], r_end.T)
        out += np.take(rel_origin, column, axis=0)
        return out
