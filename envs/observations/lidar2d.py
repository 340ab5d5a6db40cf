"""``lidar2d``: a horizontal ring of ranges around the observer, MetaDrive-style.

Beam ``k`` of ``beams`` leaves the vehicle's footprint centre at ``height_m`` above the
ground in the body direction ``2 pi k / beams``: beam 0 points straight ahead and the
angle grows counter-clockwise seen from above (beam ``beams / 4`` points left). Each
reading is the distance to the nearest surface over ``max_range_m``, clipped to [0, 1];
1 means nothing within range.

Static geometry (props, walls, buildings, trees, signs) is ray cast through the mirror's
static Embree scene, without the triangles lying entirely below the ring (they cannot
meet a horizontal ray). Other vehicles are their footprint rectangles (length x width,
the boxes collisions use), cut exactly with a slab test by the beams inside the angular
sector each one spans; a vehicle lower than the ring is not seen. The observing vehicle
never sees itself; a beam starting inside another car's footprint (a crash) reads 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import open3d as o3d

from envs.observations.base import ObservationType, register
from scenarios.env_schema import Lidar2DObservation

if TYPE_CHECKING:
    from simulator.world import World

_TINY = 1e-12
# Up to this many rectangle-beam pairs, testing all of them beats culling by sector.
_ALL_PAIRS_MAX = 2400


def _slab(ox: np.ndarray, oy: np.ndarray, dx: np.ndarray, dy: np.ndarray, hx: np.ndarray,
          hy: np.ndarray) -> np.ndarray:
    """Entry distance of rays (origin (ox, oy), direction (dx, dy), in a rectangle's frame)
    into the rectangle |x| <= hx, |y| <= hy: the slab test, elementwise; inf: a miss."""
    dx = np.where(np.abs(dx) < _TINY, _TINY, dx)
    dy = np.where(np.abs(dy) < _TINY, _TINY, dy)
    inv_x, inv_y = 1.0 / dx, 1.0 / dy
    tx1, tx2 = (-hx - ox) * inv_x, (hx - ox) * inv_x
    ty1, ty2 = (-hy - oy) * inv_y, (hy - oy) * inv_y
    t_near = np.maximum(np.minimum(tx1, tx2), np.minimum(ty1, ty2))
    t_far = np.minimum(np.maximum(tx1, tx2), np.maximum(ty1, ty2))
    t_near = np.maximum(t_near, 0.0)
    return np.where(t_far >= t_near, t_near, np.inf)


def _in_frames(origin: np.ndarray, centers: np.ndarray, yaws: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """cos, sin of each rectangle's heading and the origin in each rectangle's frame."""
    c, s = np.cos(yaws), np.sin(yaws)
    rel = np.asarray(origin, np.float64) - centers
    return c, s, c * rel[:, 0] + s * rel[:, 1], -s * rel[:, 0] + c * rel[:, 1]


def ray_rectangle_distance(origin: np.ndarray, directions: np.ndarray, centers: np.ndarray,
                           yaws: np.ndarray, half_extents: np.ndarray) -> np.ndarray:
    """Distance [m] along each 2D ray to the nearest of a set of oriented rectangles.

    Args:
        origin: (2,) ray origin, world frame [m].
        directions: (B, 2) unit ray directions.
        centers: (N, 2) rectangle centres [m].
        yaws: (N,) rectangle headings [rad] (the first half extent lies along the heading).
        half_extents: (N, 2) half length and half width [m].

    Returns:
        (B,) float64 distances, ``inf`` where a ray meets no rectangle, 0 where the origin
        lies inside one.
    """
    if len(centers) == 0:
        return np.full(len(directions), np.inf)
    c, s, ox, oy = _in_frames(origin, centers, yaws)
    dx = np.outer(c, directions[:, 0]) + np.outer(s, directions[:, 1])     # (N, B)
    dy = np.outer(-s, directions[:, 0]) + np.outer(c, directions[:, 1])
    t = _slab(ox[:, None], oy[:, None], dx, dy, half_extents[:, 0:1], half_extents[:, 1:2])
    return t.min(axis=0)


def ring_rectangle_distance(origin: np.ndarray, yaw: float, beams: int, centers: np.ndarray,
                            yaws: np.ndarray, half_extents: np.ndarray,
                            cull: bool | None = None) -> np.ndarray:
    """``ray_rectangle_distance`` for a ring of ``beams`` rays at angles
    ``yaw + 2 pi k / beams``.

    With ``cull`` (default: when there are many rectangle-beam pairs), each rectangle is
    tested only against the beams inside the angular sector its corners span seen from
    ``origin`` (all beams if ``origin`` lies within its half diagonal); a few rectangles
    are cheaper tested against every beam.
    """
    dist = np.full(beams, np.inf)
    if len(centers) == 0:
        return dist
    step = 2.0 * np.pi / beams
    if not (len(centers) * beams > _ALL_PAIRS_MAX if cull is None else cull):
        ang = yaw + step * np.arange(beams)
        dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        return ray_rectangle_distance(origin, dirs, centers, yaws, half_extents)
    rel = centers - np.asarray(origin, np.float64)
    hx, hy = half_extents[:, 0], half_extents[:, 1]
    c, s, ox, oy = _in_frames(origin, centers, yaws)
    # Corner bearings relative to the centre's bearing: the sector is under pi wide when
    # the origin is outside the circumscribed circle.
    centre = np.arctan2(rel[:, 1], rel[:, 0]) - yaw
    kx = np.array([1.0, -1.0, -1.0, 1.0])
    ky = np.array([1.0, 1.0, -1.0, -1.0])
    cx = rel[:, 0, None] + c[:, None] * hx[:, None] * kx - s[:, None] * hy[:, None] * ky
    cy = rel[:, 1, None] + s[:, None] * hx[:, None] * kx + c[:, None] * hy[:, None] * ky
    off = np.arctan2(cy, cx) - yaw - centre[:, None]
    off = (off + np.pi) % (2.0 * np.pi) - np.pi
    k0 = np.ceil((centre + off.min(axis=1)) / step - 1e-9).astype(np.int64)
    k1 = np.floor((centre + off.max(axis=1)) / step + 1e-9).astype(np.int64)
    close = np.hypot(rel[:, 0], rel[:, 1]) <= np.hypot(hx, hy) + 1e-6
    k0 = np.where(close, 0, k0)
    k1 = np.where(close, beams - 1, k1)
    count = k1 - k0 + 1
    owner = np.repeat(np.arange(len(centers)), count)
    first = np.cumsum(count) - count
    k = (np.arange(int(count.sum())) - np.repeat(first, count) + k0[owner]) % beams
    ang = yaw + step * k
    du, dv = np.cos(ang), np.sin(ang)
    co, so = c[owner], s[owner]
    t = _slab(ox[owner], oy[owner], co * du + so * dv, -so * du + co * dv, hx[owner],
              hy[owner])
    np.minimum.at(dist, k, t)
    return dist


@register("lidar2d")
class Lidar2D(ObservationType):
    """Normalised ranges, float32 Box(0, 1, (beams,)); see the module docstring."""

    def __init__(self, config: Lidar2DObservation, world: World):
        super().__init__(config, world)
        n = config.beams
        self.angles = 2.0 * np.pi * np.arange(n) / n
        # The static scene never changes (resets keep it): take it once, without the flat
        # ground-level triangles a horizontal ring cannot meet.
        scene, _ = world.mirror().static_scene(drop_below_m=config.height_m)
        self._static = scene
        self._rays = np.zeros((n, 6), np.float32)
        self._rays[:, 2] = config.height_m

    def space(self):
        import gymnasium as gym

        return gym.spaces.Box(np.float32(0.0), np.float32(1.0), (self.config.beams,),
                              np.float32)

    def observe(self, world: World, vehicle: int = 0) -> np.ndarray:
        cfg = self.config
        i = int(vehicle)
        st, pr = world.state, world.params
        x, y, yaw = float(st.x[i]), float(st.y[i]), float(st.yaw[i])
        ang = self.angles + yaw
        dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        dist = self._static_ranges(x, y, dirs)
        others = self._others_in_range(world, i, x, y)
        if len(others):
            d_veh = ring_rectangle_distance(
                np.array([x, y]), yaw, cfg.beams,
                np.stack([st.x[others], st.y[others]], axis=1), st.yaw[others],
                0.5 * np.stack([pr.length_m[others], pr.width_m[others]], axis=1))
            dist = np.minimum(dist, d_veh)
        out = np.clip(dist / cfg.max_range_m, 0.0, 1.0)
        return out.astype(np.float32)

    def _static_ranges(self, x: float, y: float, dirs: np.ndarray) -> np.ndarray:
        if self._static is None:
            return np.full(len(dirs), np.inf)
        rays = self._rays
        rays[:, 0], rays[:, 1] = x, y
        rays[:, 3:5] = dirs
        t = self._static.cast_rays(o3d.core.Tensor.from_numpy(rays))["t_hit"].numpy()
        return t.astype(np.float64)

    def _others_in_range(self, world: World, i: int, x: float, y: float) -> np.ndarray:
        """Indices of the active vehicles other than ``i`` that can reach the ring."""
        st, pr = world.state, world.params
        reach = self.config.max_range_m + 0.5 * np.hypot(pr.length_m, pr.width_m)
        near = (world.traffic.active & (pr.height_m > self.config.height_m)
                & (np.abs(st.x - x) <= reach) & (np.abs(st.y - y) <= reach))
        near[i] = False
        return np.flatnonzero(near)
