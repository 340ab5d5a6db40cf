"""Scripted events (``scenario.events``): triggers evaluated every physics step, actions
applied through the world's own machinery.

The world builds one :class:`EventEngine` and calls, every physics step:
``step()`` before the drivers decide (triggers at the step's start time, actions started
and advanced) and ``apply(accel_cmd)`` after the drivers' and outside commands (the
acceleration overrides of ``hard_brake``, ``stop`` and ``cut_in``, held every physics
step so a commanded deceleration is exact; steering stays the driver's, so the car keeps
to its lane). A vehicle under a running action is in ``held``: the world keeps it out of
MOBIL until the action ends and the vehicle is back with its driver.

How each action uses the world (semantics: ``scenarios.event_schema``):

* ``set_speed``: the driver's cruise speed (``drivers.cruise_speed_mps``, the same path a
  named actor's ``desired_speed_mps`` takes), so it is kept by IDM from then on.
* ``change_lane``: ``traffic.forced_change`` (the lane change the ego's route uses: taken
  as soon as it is safe).
* ``stop`` / ``hard_brake``: an acceleration override, ``min(driver, -comfort)`` for stop.
* ``cut_in``: (1) in the lane next to the ego's, a PD law on the along-lane centre distance
  to the ego (with the ego's commanded acceleration fed forward) brings the actor to
  ``gap_m`` ahead at the ego's speed; (2) it is then moved into the ego's lane (the lane
  change bookkeeping MOBIL uses: station and offset are its exact projection there) and
  steered over by its own pure pursuit, whose look-ahead is set so the change takes about
  ``duration_s``, while the same law keeps the gap (braking at most ``_CUT_IN_BRAKE``).
  It ends when the actor is within ``_LANE_DONE_M`` of the ego lane's centre.

The log: ``log`` (also ``World.event_log``) holds one entry per firing, in firing order:
``{"event": name, "time_s": t, "actions": [action dicts]}``; ``completed`` holds
``{"event", "action", "actor", "time_s", "result"}`` for every action that ended.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scenarios.event_schema import AfterEvent, AtTime, EgoNearActor, EgoNearPosition, TtcBelow
from simulator.constants import GRAVITY_MPS2
from simulator.traffic.logic import NO_LANE
from simulator.traffic.spawn import Placement

EGO = 0
_STOPPED_MPS = 0.05
_LANE_DONE_M = 0.3           # cut-in / lane change done: this close to the lane centre
_CHANGE_TIMEOUT_S = 10.0     # change_lane given up after this long
_APPROACH_TIMEOUT_S = 30.0   # cut_in: longest approach before it changes anyway
_KP, _KD = 0.8, 1.7          # cut-in gap law [1/s^2], [1/s] (about critically damped)
_CUT_IN_BRAKE = 3.0          # the gap law brakes at most this hard during the change
_CUT_IN_MAX_BRAKE = 6.0      # ... and on the approach [m/s^2]
_GAP_OK_M, _SPEED_OK_MPS = 0.5, 0.3
_PURSUIT_DECAY = 2.1         # pure pursuit: 3.7 m -> 0.3 m lateral takes ~2.1 look-ahead times


@dataclass
class _Running:
    """An action in progress on one vehicle."""

    event: str
    action: Any
    start_s: float
    phase: str = ""
    data: dict = field(default_factory=dict)


class EventEngine:
    """Evaluates the triggers of ``scenario.events`` and runs their actions on ``world``.

    Args:
        scenario: the validated scenario (its ``events`` and named ``actors``).
        world: the :class:`simulator.world.World` it drives (read and written here).
    """

    def __init__(self, scenario, world):
        self.world = world
        self.events = list(scenario.events)
        self.enabled = bool(self.events)
        self._actor = {a.name: world.vehicle_names.index(a.name) for a in scenario.actors}
        self._actor["ego"] = EGO
        self.hidden = [self._actor[a.name] for a in scenario.actors
                       if getattr(a, "hidden", False)]
        self.reset()

    # ------------------------------------------------------------------ episodes
    def reset(self) -> None:
        """A new episode: nothing fired, nothing running; hidden actors parked."""
        n = self.world.n_vehicles
        self.log: list[dict] = []
        self.completed: list[dict] = []
        self.fired_at: dict[str, float] = {}
        self._was_true = [False] * len(self.events)
        self._spent = [False] * len(self.events)
        self.running: dict[int, _Running] = {}
        self.held = np.zeros(n, bool)
        self._override = np.full(n, np.nan)
        self._lookahead: dict[int, float] = {}
        self._stopping = []

    # ------------------------------------------------------------------ per step
    def step(self) -> None:
        """Triggers at the current time; start and advance actions (before decisions)."""
        if not self.enabled:
            return
        t = self.world.time_s
        for k, e in enumerate(self.events):
            if self._spent[k]:
                continue
            now = self._true(e.trigger, t)
            if now and not self._was_true[k]:
                self._fire(k, t)
            self._was_true[k] = now
        self._override[:] = np.nan
        self._stopping: list[int] = []
        for i in list(self.running):
            self._advance(i, self.running[i], t)

    def apply(self, accel_cmd: np.ndarray) -> None:
        """Write the held acceleration overrides into ``accel_cmd`` (every physics step).
        A ``stop`` brakes at least comfortably, harder when its driver's command (in
        ``accel_cmd`` now, this step's) is harder."""
        if not self.running:
            return
        for i in self._stopping:
            self._override[i] = min(float(accel_cmd[i]), self._override[i])
        rows = np.flatnonzero(np.isfinite(self._override))
        accel_cmd[rows] = self._override[rows]

    # ------------------------------------------------------------------ triggers
    def _true(self, trig, t: float) -> bool:
        w = self.world
        if isinstance(trig, AtTime):
            return t >= trig.time_s - 1e-9
        if isinstance(trig, AfterEvent):
            t0 = self.fired_at.get(trig.event)
            return t0 is not None and t >= t0 + trig.delay_s - 1e-9
        ex, ey = w.state.x[EGO], w.state.y[EGO]
        if isinstance(trig, EgoNearPosition):
            return math.hypot(ex - trig.position[0], ey - trig.position[1]) <= trig.distance_m
        if isinstance(trig, EgoNearActor):
            xy = self.position(trig.actor)
            return xy is not None and math.hypot(ex - xy[0], ey - xy[1]) <= trig.distance_m
        if isinstance(trig, TtcBelow):
            ttc = self.ttc_s(trig.actor)
            return ttc is not None and ttc < trig.ttc_s
        raise TypeError(f"unknown trigger {trig!r}")

    def position(self, name: str) -> tuple[float, float] | None:
        """(x, y) of a named vehicle on the map or of a pedestrian; None if absent."""
        w = self.world
        i = self._actor.get(name)
        if i is not None:
            if not w.traffic.active[i]:
                return None
            return float(w.state.x[i]), float(w.state.y[i])
        peds = w.actor_group("pedestrians")
        return peds.position(name) if peds is not None and name in peds.names else None

    def ttc_s(self, name: str) -> float | None:
        """The named vehicle's time-to-collision with the ego [s]: bumper gap / closing
        speed. None unless it is ahead of or behind the ego in the same lane (or on the
        lane following the other's lane) and the two close in. The bumper gap is the
        centre distance minus both half lengths; the closing speed is minus the rate of
        change of the centre distance (from both speed vectors)."""
        i = self._actor.get(name)
        w = self.world
        tr, st = w.traffic, w.state
        if i is None or i == EGO or not (tr.active[i] and tr.active[EGO]):
            return None
        le, la = tr.lane[EGO], tr.lane[i]
        if le == NO_LANE or not (le == la or tr.next_lane[EGO] == la or tr.next_lane[i] == le):
            return None
        dx, dy = st.x[i] - st.x[EGO], st.y[i] - st.y[EGO]
        dist = math.hypot(dx, dy)
        if dist < 1e-9:
            return 0.0
        ux, uy = dx / dist, dy / dist
        vix, viy = _velocity(st, i)
        vex, vey = _velocity(st, EGO)
        closing = -((vix - vex) * ux + (viy - vey) * uy)
        if closing <= 1e-9:
            return None
        gap = dist - tr.half_length_m[i] - tr.half_length_m[EGO]
        return max(gap, 0.0) / closing

    # ------------------------------------------------------------------ actions
    def _fire(self, k: int, t: float) -> None:
        e = self.events[k]
        if e.once or isinstance(e.trigger, (AtTime, AfterEvent)):
            self._spent[k] = True
        self.fired_at.setdefault(e.name, t)
        self.log.append({"event": e.name, "time_s": round(t, 9),
                         "actions": [a.model_dump(mode="json") for a in e.actions]})
        for a in e.actions:
            self._start(e.name, a, t)

    def _start(self, event: str, a, t: float) -> None:
        w = self.world
        kind = a.type
        if kind in ("cross", "debris") or (kind == "spawn" and a.actor not in self._actor):
            self._group_action(event, a, t)
            return
        i = self._actor[a.actor]
        if kind == "spawn":
            self._spawn(i)
            self._done(event, a, i, t, "spawned")
            return
        if i in self.running:                       # a new action replaces the old one
            self._release(i, t, "replaced")
        if not w.traffic.active[i]:
            self._done(event, a, i, t, "not on the map")
            return
        if kind == "set_speed":
            dr = w.drivers
            dr.cruise_speed_mps[i] = min(a.speed_mps, float(w.top_speed_mps[i]))
            dr.desired_speed_factor[i] = 100.0
            self._done(event, a, i, t, "set")
            return
        run = _Running(event, a, t)
        if kind == "change_lane":
            lane = w.traffic.lane[i]
            target = (w.lanes.left if a.direction == "left" else w.lanes.right)[lane]
            if target < 0:
                self._done(event, a, i, t, f"no lane on the {a.direction}")
                return
            run.data["target"] = int(target)
        elif kind == "cut_in":
            run.phase = "approach"
        elif kind == "hard_brake":
            # The dynamics clip braking at min(max_decel, mu g): say so in the result.
            p = w.params
            cap = min(float(p.max_decel_mps2[i]), float(p.mu[i]) * GRAVITY_MPS2)
            if a.decel_mps2 > cap + 1e-9:
                run.data["note"] = f" (braked at {cap:.2f} m/s^2: the vehicle's limit)"
        self.running[i] = run
        self.held[i] = True

    def _advance(self, i: int, run: _Running, t: float) -> None:
        w = self.world
        tr, st = w.traffic, w.state
        a = run.action
        v = float(st.vx[i])
        if tr.crashed[i] or not tr.active[i]:
            self._release(i, t, "crashed" if tr.crashed[i] else "left the map")
            return
        if a.type == "hard_brake":
            if a.duration_s is not None and t - run.start_s >= a.duration_s - 1e-9:
                self._release(i, t, "done")
                return
            if v <= _STOPPED_MPS and a.duration_s is None:
                if run.phase != "stopped":
                    run.phase = "stopped"
                    self._done(run.event, a, i, t, "stopped" + run.data.get("note", ""))
                self._override[i] = -float(w.params.max_decel_mps2[i])
                return
            self._override[i] = -a.decel_mps2
        elif a.type == "stop":
            if v <= _STOPPED_MPS:
                if run.phase != "stopped":
                    run.phase = "stopped"
                    self._done(run.event, a, i, t, "stopped")
                self._override[i] = -float(w.params.max_decel_mps2[i])
                return
            self._override[i] = -float(w.drivers.comfort_decel_mps2[i])
            self._stopping.append(i)             # and harder if its driver must (apply)
        elif a.type == "change_lane":
            if tr.lane[i] == run.data["target"]:
                self._release(i, t, "done")
            elif t - run.start_s > _CHANGE_TIMEOUT_S:
                tr.forced_change[i] = NO_LANE
                self._release(i, t, "timed out (never safe)")
            else:
                tr.forced_change[i] = run.data["target"]
        elif a.type == "cut_in":
            self._cut_in(i, run, t)

    def _cut_in(self, i: int, run: _Running, t: float) -> None:
        w = self.world
        tr, st, la = w.traffic, w.state, w.lanes
        a = run.action
        ego_lane = int(tr.lane[EGO])
        # Along-lane centre distance, ego -> actor (the ego's heading: exact on straights).
        dx, dy = st.x[i] - st.x[EGO], st.y[i] - st.y[EGO]
        c, s = math.cos(st.yaw[EGO]), math.sin(st.yaw[EGO])
        along = dx * c + dy * s
        want = a.gap_m + tr.half_length_m[i] + tr.half_length_m[EGO]
        err = along - want
        dv = float(st.vx[i] - st.vx[EGO])
        acc = float(w.accel_cmd[EGO]) - _KP * err - _KD * dv
        top = float(w.drivers.max_accel_mps2[i]) * 2.0
        if run.phase == "approach":
            self._override[i] = float(np.clip(acc, -_CUT_IN_MAX_BRAKE, top))
            lane = int(tr.lane[i])
            beside = ego_lane >= 0 and ego_lane in (la.left[lane], la.right[lane])
            settled = abs(err) < _GAP_OK_M and abs(dv) < _SPEED_OK_MPS
            late = t - run.start_s > _APPROACH_TIMEOUT_S
            if beside and tr.prev_lane[i] < 0 and (settled or late):
                self._move_into(i, ego_lane, a.duration_s)
                run.phase = "change"
            elif late and not beside:
                self._release(i, t, "given up: not in a lane next to the ego's")
            return
        self._override[i] = float(np.clip(acc, -_CUT_IN_BRAKE, top))
        _, d = la.project(np.array([tr.lane[i]]), st.x[i:i + 1], st.y[i:i + 1],
                          tr.s[i:i + 1])
        if abs(float(d[0])) < _LANE_DONE_M:
            gap = along - tr.half_length_m[i] - tr.half_length_m[EGO]
            where = "in the ego's lane" if tr.lane[i] == tr.lane[EGO] else \
                "in the lane the ego left"
            self._release(i, t, f"{where} at {gap:.2f} m")

    def _move_into(self, i: int, lane: int, duration_s: float) -> None:
        """Execute a lane change of vehicle i into ``lane`` now (MOBIL's bookkeeping)."""
        w = self.world
        tr = w.traffic
        s, d = w.lanes.stations_on(np.array([tr.lane[i]]), tr.s[i:i + 1], tr.d[i:i + 1],
                                   np.array([lane]))
        tr.prev_lane[i] = tr.lane[i]
        tr.lane[i], tr.s[i], tr.d[i] = lane, s[0], d[0]
        tr.change_cooldown_s[i] = 4.0
        tr.forced_change[i] = NO_LANE
        moved = np.zeros(w.n_vehicles, bool)
        moved[i] = True
        w.tracker.after_lane_change(tr, moved)
        w.lane_change_count += 1
        dr = w.drivers
        self._lookahead[i] = float(dr.lookahead_s[i])
        dr.lookahead_s[i] = duration_s / _PURSUIT_DECAY

    def _release(self, i: int, t: float, result: str) -> None:
        run = self.running.pop(i)
        result += run.data.get("note", "")
        self.held[i] = False
        self._override[i] = np.nan
        if i in self._lookahead:
            self.world.drivers.lookahead_s[i] = self._lookahead.pop(i)
        if run.action.type == "change_lane" and result != "done":
            self.world.traffic.forced_change[i] = NO_LANE
        self._done(run.event, run.action, i, t, result)

    def _done(self, event: str, a, i: int | None, t: float, result: str) -> None:
        self.completed.append({"event": event, "action": a.type,
                               "actor": None if i is None else self.world.vehicle_names[i],
                               "time_s": round(t, 9), "result": result})

    def _spawn(self, i: int) -> None:
        w = self.world
        if w.traffic.active[i]:
            return
        j = i - 1
        a = w.scenario.actors[j]
        route = w._actor_routes[j]
        w._place([Placement(i, route.lanes[0], route.start_s, a.speed_mps)])

    def _group_action(self, event: str, a, t: float) -> None:
        """Pedestrian and debris actions, through the actor groups' API."""
        w = self.world
        get = getattr(w, "actor_group", None)
        group_name = "debris" if a.type == "debris" else "pedestrians"
        group = get(group_name) if get is not None else None
        if group is None:
            raise RuntimeError(f"event {event!r}: {a.type} needs the {group_name} actor "
                               f"group (World.actor_group({group_name!r})), which this "
                               "world does not have")
        if a.type == "cross":
            group.cross(a.pedestrian, a.speed_mps)
            name = a.pedestrian
        elif a.type == "spawn":
            group.spawn(a.actor)
            name = a.actor
        elif a.item is not None:
            group.launch(a.item)
            name = a.item
        else:
            name = a.kind
            try:
                group.launch_new(a.kind, tuple(a.position), tuple(a.velocity_mps))
            except RuntimeError as exc:       # the per-episode cap (DebrisLimitError)
                self.completed.append({"event": event, "action": a.type, "actor": name,
                                       "time_s": round(t, 9), "result": f"skipped: {exc}"})
                return
        self.completed.append({"event": event, "action": a.type, "actor": name,
                               "time_s": round(t, 9), "result": "started"})


def _velocity(st, i: int) -> tuple[float, float]:
    c, s = math.cos(st.yaw[i]), math.sin(st.yaw[i])
    vx, vy = float(st.vx[i]), float(st.vy[i])
    return vx * c - vy * s, vx * s + vy * c
