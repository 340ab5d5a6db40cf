"""Reward terms and episode ends, per driven vehicle (see ``scenarios.env_schema``).

Each policy step, :meth:`Outcome.update` measures for one vehicle: ``progress`` (metres
along its lane heading, divided by ``progress_scale_m``), ``speed``, ``lane_centering``,
``collision``, ``off_road`` and ``comfort``; the reward is their weighted sum. The episode
ends (terminated) on a crash, off-road or at the route's end as the config says;
``left_map`` (a vehicle without a destination driving off a dead end) always ends it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from envs.map_raster import MapRaster
from scenarios.env_schema import EnvConfig

if TYPE_CHECKING:
    from simulator.world import World

TERMS = ("progress", "speed", "lane_centering", "collision", "off_road", "comfort")
JERK_SCALE_MPS3 = 10.0
ROUTE_END_TOL_M = 1.5  # the autopilot parks its centre ~1 m short of a destination


@dataclass
class _Track:
    xy: np.ndarray
    heading: float
    speed_mps: float
    accel_mps2: float = 0.0
    crashed: bool = False


@dataclass
class StepOutcome:
    reward: float
    terms: dict[str, float]
    terminated: bool
    reason: str | None
    info: dict = field(default_factory=dict)


class Outcome:
    """Reward and termination bookkeeping for the vehicles a policy drives."""

    def __init__(self, config: EnvConfig, world: World, raster: MapRaster):
        self.config = config
        self.reward = config.reward
        self.raster = raster
        self.weights = np.array([getattr(self.reward, t) for t in TERMS])
        self.target_mps = (self.reward.target_speed_mps
                           or world.scenario.ego.autopilot.cruise_speed_mps)
        self.half_width = np.array([ln.width_m / 2 for ln in world.hdmap.lanes])
        self.tracks: dict[int, _Track] = {}

    def _heading(self, world: World, i: int) -> float:
        """Heading of vehicle i's lane at its station (its own yaw off the lanes)."""
        lane = int(world.traffic.lane[i])
        if lane < 0:
            return float(world.state.yaw[i])
        ln = world.hdmap.lanes[lane]
        k = min(max(int(np.searchsorted(ln.s, world.traffic.s[i], "right")) - 1, 0),
                len(ln.heading) - 1)
        return float(ln.heading[k])

    def reset(self, world: World, vehicles: list[int]) -> None:
        st = world.state
        self.tracks = {i: _Track(np.array([st.x[i], st.y[i]]), self._heading(world, i),
                                 float(st.vx[i]), 0.0, bool(world.crashed[i]))
                       for i in vehicles}

    def off_road(self, world: World, i: int) -> bool:
        st = world.state
        return not world.traffic.active[i] or not bool(
            self.raster.lookup("drivable", np.array([st.x[i], st.y[i]])))

    def update(self, world: World, i: int, dt_s: float) -> StepOutcome:
        st, tr, cfg = world.state, world.traffic, self.config
        tk = self.tracks[i]
        xy = np.array([st.x[i], st.y[i]])
        delta = xy - tk.xy
        along = float(delta[0] * np.cos(tk.heading) + delta[1] * np.sin(tk.heading))
        speed = float(st.vx[i])
        accel = (speed - tk.speed_mps) / dt_s
        jerk = (accel - tk.accel_mps2) / dt_s
        crashed = bool(world.crashed[i])
        new_crash = crashed and not tk.crashed
        active = bool(tr.active[i])
        off = self.off_road(world, i)
        lane = int(tr.lane[i])
        centering = 0.0
        if active and lane >= 0:
            centering = max(0.0, 1.0 - (float(tr.d[i]) / self.half_width[lane]) ** 2)
        v_t = self.target_mps
        terms = {"progress": along / self.reward.progress_scale_m,
                 "speed": float(max(0.0, 1.0 - abs(speed - v_t) / v_t)),
                 "lane_centering": float(centering),
                 "collision": float(new_crash),
                 "off_road": float(off and active),
                 "comfort": float(min(1.0, (jerk / JERK_SCALE_MPS3) ** 2))}
        reward = float(np.dot(self.weights, [terms[t] for t in TERMS]))
        progress = world.route_progress(i)
        reason = None
        if crashed and cfg.terminate_on_collision:
            reason = "collision"
        elif off and active and cfg.terminate_off_road:
            reason = "off_road"
        elif not active:
            reason = "left_map"
        elif progress is not None and cfg.terminate_at_route_end and \
                (1.0 - progress) * world.routes.route(i).length_m <= ROUTE_END_TOL_M:
            reason = "route_end"
        self.tracks[i] = _Track(xy, self._heading(world, i), speed, accel, crashed)
        info = {"speed_mps": speed, "route_progress": progress, "crashed": crashed,
                "off_road": bool(off and active), "lane_offset_m": float(tr.d[i]) if active
                else 0.0}
        return StepOutcome(reward, terms, reason is not None, reason, info)
