"""``kinematics``: the ego and its nearest vehicles as a (vehicles_count, features) table.

Like highway-env's ``KinematicObservation``: row 0 is the observer, then the nearest
vehicles by distance; absent rows are zero with ``presence`` 0. In the ego frame (the
default) row 0 holds the observer's own motion (x = y = 0, vx / vy its body velocity,
heading 0) and the other rows positions and velocities relative to it, rotated into its
frame (x forward, y left). ``frame: world`` keeps world axes as highway-env does (its roads
run along x). ``long_off`` / ``lat_off`` / ``ang_off`` are each vehicle's station along,
offset from and heading against its own lane.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from envs.observations.base import ObservationType, register, unit_box
from scenarios.env_schema import KinematicsObservation

if TYPE_CHECKING:
    from simulator.world import World


def _wrap(a: np.ndarray) -> np.ndarray:
    return (a + np.pi) % (2 * np.pi) - np.pi


@register("kinematics")
class Kinematics(ObservationType):
    def __init__(self, config: KinematicsObservation, world: World):
        super().__init__(config, world)
        self.features = list(config.features)
        c = config
        half_lane = 0.5 * float(np.median([ln.width_m for ln in world.hdmap.lanes]))
        scale = {"presence": 1.0, "x": c.x_range_m, "y": c.y_range_m, "vx": c.v_range_mps,
                 "vy": c.v_range_mps, "heading": np.pi, "cos_h": 1.0, "sin_h": 1.0,
                 "long_off": c.x_range_m, "lat_off": half_lane, "ang_off": np.pi}
        self._scale = np.array([scale[f] for f in self.features], np.float64)

    def space(self):
        shape = (self.config.vehicles_count, len(self.features))
        if self.config.normalize:
            return unit_box(shape)
        import gymnasium as gym
        return gym.spaces.Box(-np.inf, np.inf, shape, np.float32)

    def _nearest(self, world: World, i: int) -> np.ndarray:
        st, act = world.state, world.traffic.active
        dx = st.x - st.x[i]
        dy = st.y - st.y[i]
        d2 = dx * dx + dy * dy
        d2 = np.where(act, d2, np.inf)
        d2[i] = np.inf
        k = self.config.vehicles_count - 1
        r2 = self.config.range_m ** 2
        if k <= 0:
            return np.zeros(0, np.int64)
        if k < len(d2):
            cand = np.argpartition(d2, k - 1)[:k]
        else:
            cand = np.arange(len(d2))
        cand = cand[d2[cand] <= r2]
        return cand[np.argsort(d2[cand], kind="stable")]

    def observe(self, world: World, vehicle: int = 0) -> np.ndarray:
        c = self.config
        i = int(vehicle)
        st, tr = world.state, world.traffic
        rows = np.concatenate([[i], self._nearest(world, i)]).astype(np.int64)
        x, y, yaw = st.x[rows], st.y[rows], st.yaw[rows]
        vx, vy = st.vx_world[rows], st.vy_world[rows]
        if not c.absolute:
            x = x - x[0]
            y = y - y[0]
            vx = vx - np.where(np.arange(len(rows)) == 0, 0.0, vx[0])
            vy = vy - np.where(np.arange(len(rows)) == 0, 0.0, vy[0])
        heading = yaw
        if c.frame == "ego":
            ca, sa = np.cos(yaw[0]), np.sin(yaw[0])
            x, y = ca * x + sa * y, -sa * x + ca * y
            vx, vy = ca * vx + sa * vy, -sa * vx + ca * vy
            heading = _wrap(yaw - yaw[0])
        lane = tr.lane[rows]
        on = lane >= 0

        def ang_off() -> np.ndarray:
            la = world.lanes
            lane_heading = np.where(on, la.headings(np.where(on, lane, 0), tr.s[rows]), yaw)
            return np.where(on, _wrap(yaw - lane_heading), 0.0)

        cols = {"presence": lambda: np.ones(len(rows)), "x": lambda: x, "y": lambda: y,
                "vx": lambda: vx, "vy": lambda: vy, "heading": lambda: heading,
                "cos_h": lambda: np.cos(heading), "sin_h": lambda: np.sin(heading),
                "long_off": lambda: np.where(on, tr.s[rows], 0.0),
                "lat_off": lambda: np.where(on, tr.d[rows], 0.0), "ang_off": ang_off}
        table = np.stack([cols[f]() for f in self.features], axis=1)
        if c.normalize:
            table = np.clip(table / self._scale, -1.0, 1.0)
        out = np.zeros((c.vehicles_count, len(self.features)), np.float32)
        out[:len(rows)] = table
        return out
