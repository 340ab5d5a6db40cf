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
    ``instance_id`` (M,) int32 (0 for rain clutter, whose ``semantic`` is ``rain``);
    ``intensity`` (M,) float32 noise-free; ``mixed_pixel`` (M,) bool; ``points_deskewed``
    (M, 3) float32 exact hit points in the sensor frame at sweep end;
    ``pose_sweep_start`` / ``pose_sweep_end`` 4x4 float64 world-from-sensor.

Weather (``world.weather``, ``sensors.weather``): fog and rain add their 905 nm extinction
to ``atmospheric_attenuation_per_m`` (weaker returns, so the signal-dependent dropout
loses more of the far ones), widen the range noise as 1/sqrt(received power), and rain adds
spurious near returns from drops (semantic ``rain``, instance 0). Noise off is an ideal
detector: weather then only dims the intensities.
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
from sensors.weather import (
    MAX_RANGE_NOISE_GAIN,
    RainClutter,
    lidar_extinction_per_m,
)
from sensors.world_view import WorldView
from simulator.scene.semantics import SEMANTIC_CLASSES

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
    rain: np.ndarray | None = None      # (M,) bool clutter flags, only when it rains

    def select(self, sel: np.ndarray) -> None:
        """Keep only the returns at positions ``sel`` (sorted) in every array."""
        # Noise-free measured values alias the true ones until noise is added.
        same_r = self.r_meas is self.r_true
        same_i = self.intensity is self.intensity_true
        for name in ("idx", "r_true", "inst", "intensity_true", "mixed"):
            setattr(self, name, np.take(getattr(self, name), sel))
        if self.rain is not None:
            self.rain = np.take(self.rain, sel)
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
        self._weather: object = None
        self._beta = 0.0                  # the weather's extinction at 905 nm [1/m]
        self._clutter: RainClutter | None = None
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

        self._set_weather(world.weather)
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
        alpha = self._alpha + self._beta
        signal, ret.intensity_true = signal_and_intensity(rho, cos_inc, ret.r_true,
                                                          alpha, self._ref_range_m)
        ret.r_meas, ret.intensity = ret.r_true, ret.intensity_true
        ret.mixed = np.zeros(len(idx), bool)
        num_dropped = self._add_noise(ret, signal, mix) if mix is not None else 0
        if self._clutter is not None and self.noise is not None:
            first = np.where(inst_all == world.ego_instance_id, np.float32(0.0), dist)
            self._add_clutter(ret, first, dirs_world.reshape(-1, 3), alpha)

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
        semantic = np.take(mirror.materials.semantic, ret.inst)
        if ret.rain is not None:
            np.copyto(semantic, np.uint8(SEMANTIC_CLASSES["rain"]), where=ret.rain,
                      casting="unsafe")
        gt = {
            "range_m": ret.r_true,
            "semantic": semantic,
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
    def _set_weather(self, weather: object) -> None:
        """Extinction and rain clutter of the world's weather (recomputed when it changes)."""
        if weather is self._weather:
            return
        self._weather = weather
        self._beta = lidar_extinction_per_m(weather) if weather.has_media else 0.0
        threshold = self.noise.intensity_dropout if self.noise is not None else 0.0
        self._clutter = RainClutter.for_lidar(weather.rain_rate_mm_h, self.geometry.min_range_m,
                                              self._ref_range_m, threshold)

    def _add_clutter(self, ret: _Returns, first_hit_m: np.ndarray, dirs_flat: np.ndarray,
                     alpha: float) -> None:
        """Rain drop echoes replace the returns of the beams they hit first (firing order
        kept); they get range and intensity noise like any return."""
        beams, r = self._clutter.draw(self.rng, first_hit_m)
        m = len(beams)
        ret.rain = np.zeros(len(ret.idx), bool)
        if m == 0:
            return
        ret.select(np.flatnonzero(~np.isin(ret.idx, beams, assume_unique=True)))
        rho = np.full(m, self._clutter.reflectivity, np.float32)
        _, i_true = signal_and_intensity(rho, np.ones(m, np.float32), r, alpha,
                                         self._ref_range_m)
        noise = self.noise
        r_meas = add_gaussian(r.copy(), noise.range_std_m, self.rng)
        i_meas = add_gaussian(i_true.copy(), noise.intensity_std, self.rng, clip=(0.0, 1.0))
        parts = [(ret.idx, beams), (ret.r_true, r), (ret.inst, np.zeros(m, ret.inst.dtype)),
                 (ret.intensity_true, i_true), (ret.mixed, np.zeros(m, bool)),
                 (ret.rain, np.ones(m, bool)), (ret.r_meas, r_meas), (ret.intensity, i_meas)]
        idx, r_true, inst, i_t, mixed, rain, r_m, i_m = (np.concatenate(p) for p in parts)
        order = np.argsort(idx, kind="stable")
        ret.idx, ret.r_true, ret.inst = idx[order], r_true[order], inst[order]
        ret.intensity_true, ret.mixed, ret.rain = i_t[order], mixed[order], rain[order]
        ret.r_meas, ret.intensity = r_m[order], i_m[order]
        ret.dirs_w = np.take(dirs_flat, ret.idx, axis=0)

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
        std: float | np.ndarray = noise.range_std_m
        if self._beta > 0.0 and std > 0.0:
            # Timing jitter ~ 1 / sqrt(received power): the weather's one-way loss.
            gain = np.multiply(ret.r_true, np.float32(self._beta), dtype=np.float32)
            np.exp(gain, out=gain)
            np.minimum(gain, np.float32(MAX_RANGE_NOISE_GAIN), out=gain)
            gain *= np.float32(std)
            std = gain
        add_gaussian(ret.r_meas, std, self.rng)
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
