"""The drivers of an episode: per-vehicle IDM/MOBIL parameters (NPCs drawn from their driver
profiles, the ego from its autopilot config), reaction delays, speed wander, and the
autopilot's speed PID (the ego, and any vehicle given meta-actions).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.controllers import SpeedPID
from agents.human import ReactionDelay, SpeedWander
from agents.profiles import DriverParams, sample_drivers
from scenarios.schema import Scenario
from simulator.traffic import kernels
from simulator.traffic.logic import DriverArrays, TrafficLogic

EGO = 0
# A named actor with its own cruise speed: v0 = min(limit x factor, cruise) = cruise.
_CRUISE_FACTOR = 100.0
_DRAWN = ("desired_speed_factor", "time_headway_s", "min_gap_m", "max_accel_mps2",
          "comfort_decel_mps2", "politeness", "lane_change_threshold_mps2", "gap_acceptance_s")


@dataclass
class Drivers:
    """What :func:`build_drivers` returns. ``params`` is None without NPCs."""

    arrays: DriverArrays
    params: DriverParams | None
    reaction: ReactionDelay
    wander: SpeedWander | None
    speed_pid: SpeedPID

    def accel_commands(self, tr: TrafficLogic, speed: np.ndarray, acc: np.ndarray,
                       v0: np.ndarray, pid_rows: np.ndarray, max_decel_mps2: np.ndarray,
                       out: np.ndarray) -> None:
        """Longitudinal commands into ``out`` [m/s^2] from this decision's IDM results.

        Human drivers: IDM delayed by their reaction time for the car ahead (stop lines,
        lights and give-way points are seen long in advance: braking for them is not
        delayed, nor at a gap under 2 m); crashed cars brake. ``pid_rows`` (the autopilot:
        ego, meta-actions): a PID on the speed IDM wants in one second, with IDM's braking
        as an override, full braking once stopped with nowhere to go. Compiled
        (``kernels.driver_commands``, ``autopilot_commands``) unless ``tr.use_kernels`` is
        False: the numpy reference below.
        """
        delayed = self.reaction.step(tr.lead_accel)
        if tr.use_kernels:
            n = len(out)
            target, cap = np.empty(n), np.empty(n)
            kernels.driver_commands(delayed, tr.stop_accel, tr.gap_m, acc, tr.crashed, speed,
                                    v0, out, target, cap)
            pid = self.speed_pid.step(target, speed, upper_mps2=cap)
            kernels.autopilot_commands(pid, target, speed, max_decel_mps2, pid_rows, out)
            return
        np.minimum(delayed, tr.stop_accel, out=out)
        np.minimum(out, np.where(tr.gap_m < 2.0, acc, np.inf), out=out)
        out[tr.crashed] = acc[tr.crashed]
        target = np.clip(speed + acc * 1.0, 0.0, v0)
        cap = np.where(acc < -0.5, acc, np.inf)
        pid = self.speed_pid.step(target, speed, upper_mps2=cap)
        stopped = (target <= 0.0) & (speed < 0.3)
        pid = np.where(stopped, -max_decel_mps2, pid)
        out[pid_rows] = pid[pid_rows]


def build_drivers(scenario: Scenario, npc_rngs: list[np.random.Generator],
                  max_accel_mps2: np.ndarray, max_decel_mps2: np.ndarray,
                  control_dt_s: float, top_speed_mps: np.ndarray | None = None) -> Drivers:
    """Drivers of ``1 + len(npc_rngs)`` vehicles (ego first); NPC i draws only from
    ``npc_rngs[i]``. ``max_*`` are the vehicles' limits [m/s^2], the PID's output range.
    The first ``len(scenario.actors)`` NPCs are the named actors: their profile is their
    ``driver``, their cruise speed their ``desired_speed_mps``. ``top_speed_mps`` (n,)
    caps every vehicle's cruise speed (its kind's top speed)."""
    n = 1 + len(npc_rngs)
    dr = DriverArrays(n)
    params = None
    reaction = np.zeros(1)
    imperfection = np.zeros(0)
    actors = scenario.actors
    if npc_rngs:
        forced = [a.driver for a in actors] + [None] * (len(npc_rngs) - len(actors))
        params = sample_drivers(scenario.traffic, npc_rngs, forced)
        for name in _DRAWN:
            getattr(dr, name)[1:] = getattr(params, name)
        for j, a in enumerate(actors, start=1):
            if a.desired_speed_mps is not None:
                dr.cruise_speed_mps[j] = a.desired_speed_mps
                dr.desired_speed_factor[j] = _CRUISE_FACTOR
        reaction = np.concatenate([[0.0], params.reaction_time_s])
        imperfection = params.speed_imperfection
    ap = scenario.ego.autopilot
    dr.cruise_speed_mps[EGO] = ap.cruise_speed_mps
    dr.time_headway_s[EGO] = ap.time_headway_s
    dr.min_gap_m[EGO] = ap.min_gap_m
    dr.max_accel_mps2[EGO] = scenario.ego.vehicle.max_accel_mps2
    dr.comfort_decel_mps2[EGO] = ap.comfort_decel_mps2
    dr.lookahead_s[EGO] = ap.lookahead_s
    dr.min_lookahead_m[EGO] = ap.min_lookahead_m
    dr.desired_speed_factor[EGO] = 1.0  # the ego drives at min(cruise, speed limit)
    if top_speed_mps is not None:
        np.minimum(dr.cruise_speed_mps[1:], top_speed_mps[1:], out=dr.cruise_speed_mps[1:])
    wander = SpeedWander(imperfection, npc_rngs, control_dt_s) if npc_rngs else None
    pid = SpeedPID(ap.speed_kp, ap.speed_ki, ap.speed_kd, control_dt_s, -max_decel_mps2,
                   max_accel_mps2, n)
    return Drivers(dr, params, ReactionDelay(reaction, control_dt_s), wander, pid)
