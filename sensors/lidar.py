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
from dataclasses import dataclass, field

import numpy as np

from scenarios.sensor_schema import LidarConfig
from sensors.base import Measurement, MountedSensor, register
from sensors.lidar_intensity import incidence_cosine, signal_and_intensity
from sensors.lidar_motion import deskew_points, interpolate_poses, rotate_vectors
from sensors.lidar_noise import add_gaussian, keep_mask, mixed_pixels
from sensors.lidar_presets import LidarGeometry, resolve_geometry
from sensors.world_view import WorldView

__all__ = ["Lidar", "deskew_points"]

logger = logging.getLogger(__name__)


@dataclass
class _Returns:
    """The valid returns of one sweep, compact and aligned (M entries each).

    ``idx`` are flat ray indices (column * channels + ring) into the sweep's grid.
    """

    idx: np.ndarray
    r_true: np.ndarray
    inst: np.ndarray
    dirs_w: np.ndarray
    r_meas: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    intensity_true: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    intensity: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))
    mixed: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def select(self, sel: np.ndarray) -> None:
        """Keep only the returns at positions ``sel`` (sorted) in every array."""
        # Noise-free measured values alias the true ones until noise is added.
        same_r = self.r_meas is self.r_true
        same_i = self.intensity is self.intensity_true
        for name in ("idx", "r_true", "inst", "intensity_true", "mixed"):
            setattr(self, name, np.take(getattr(self, name), sel))
        self.dirs_w = np.take(self.dirs_w, sel, axis=0)
        self.r_meas = self.r_true if same_r else np.take(self.r_meas, sel)
        self.intensity = self.intensity_true if same_i else np.take(self.intensity, sel)


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
    def capture(self, world: WorldView, t: float) -> Measurement:
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
        # (1 mm floor: a ray starting on a surface has no meaningful range or intensity.)
        valid &= dist >= np.float32(max(g.min_range_m, 1e-3))
        valid &= inst_all != world.ego_instance_id

        # Mixed pixels need the ring neighbours, so they are chosen on the full grid.
        mix = (mixed_pixels(hits.distance_m, valid.reshape(hits.distance_m.shape),
                            self.noise, self.rng) if self.noise is not None else None)

        # Per return (compact): range, material, incidence -> signal and intensity.
        idx = np.flatnonzero(valid)
        ret = _Returns(idx=idx, r_true=np.take(dist, idx), inst=np.take(inst_all, idx),
                       dirs_w=np.take(dirs_world.reshape(-1, 3), idx, axis=0))
        cos_inc = incidence_cosine(np.take(hits.normal.reshape(-1, 3), idx, axis=0),
                                   ret.dirs_w)
        rho = np.take(mirror.materials.lidar_reflectivity, ret.inst)
        signal, ret.intensity_true = signal_and_intensity(rho, cos_inc, ret.r_true,
                                                          self._alpha, self._ref_range_m)
        ret.r_meas, ret.intensity = ret.r_true, ret.intensity_true
        ret.mixed = np.zeros(len(idx), bool)
        num_dropped = self._add_noise(ret, signal, mix) if mix is not None else 0

        idx = ret.idx
        points = np.take(self._dirs_flat, idx, axis=0)
        points *= ret.r_meas[:, None]
        column = np.take(self._column_flat, idx)
        data = {
            "points": points,
            "intensity": ret.intensity,
            "ring": np.take(self._ring_flat, idx),
            "column": column,
            "time_offset_s": np.take(self._time_flat, idx),
            "num_dropped": int(num_dropped),
            "sweep_duration_s": duration,
            "sweep_start_time_s": t - duration,
        }
        gt = {
            "range_m": ret.r_true,
            "semantic": np.take(mirror.materials.semantic, ret.inst),
            "instance_id": ret.inst,
            "intensity": ret.intensity_true,
            "mixed_pixel": ret.mixed,
            "points_deskewed": self._deskewed_gt(ret.dirs_w, ret.r_true, origins, column,
                                                 m_end),
            "pose_sweep_start": m_start,
            "pose_sweep_end": m_end,
        }
        return Measurement(self.name, self.type_name, t, end, data, gt)

    # ------------------------------------------------------------------ helpers
    def _add_noise(self, ret: _Returns, signal: np.ndarray,
                   mix: tuple[np.ndarray, np.ndarray, np.ndarray]) -> int:
        """Mixed pixels, dropout, range and intensity noise (in ``ret``); returns #dropped."""
        noise = self.noise
        pixel, neighbour, weight = mix
        if len(pixel):
            # Both beams of a chosen pair are valid returns, hence present in sorted idx.
            p = np.searchsorted(ret.idx, pixel)
            q = np.searchsorted(ret.idx, neighbour)
            ret.r_meas = ret.r_true.copy()
            ret.r_meas[p] += weight * (ret.r_true[q] - ret.r_true[p])
            ret.intensity = ret.intensity_true.copy()
            ret.intensity[p] += weight * (ret.intensity_true[q] - ret.intensity_true[p])
            ret.mixed[p] = True
        keep = keep_mask(signal, noise, self.rng)
        num_dropped = 0
        if keep is not None:
            sel = np.flatnonzero(keep)
            num_dropped = len(keep) - len(sel)
            ret.select(sel)
        if ret.r_meas is ret.r_true:
            ret.r_meas = ret.r_true.copy()
        add_gaussian(ret.r_meas, noise.range_std_m, self.rng)
        if ret.intensity is ret.intensity_true:
            ret.intensity = ret.intensity_true.copy()
        add_gaussian(ret.intensity, noise.intensity_std, self.rng, clip=(0.0, 1.0))
        return num_dropped

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
