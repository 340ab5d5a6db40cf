"""Scripted events (``events:``): triggers fire when they should, actions do what they say.

Known answers: a cut-in ends in the ego's lane at the configured bumper gap (+-1 m); a hard
brake decelerates at the commanded rate; the TTC trigger fires at the TTC computed from the
states; ``at_time`` and ``after_event`` fire on the step; a bad name is a ``file:line:``
error; summary.json lists the fired events.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from scenarios import load
from scenarios.loader import ScenarioError, parse_scenario
from scenarios.schema import Scenario
from simulator.world import DirectControl, World

HIGHWAY = "scenarios/highway.yaml"
COAST = {"ego": DirectControl(accel_mps2=0.0, steer_rad=0.0)}   # the ego holds its speed


def _scenario(actors, events, count=0, ego_speed=25.0, seed=11) -> Scenario:
    d = load(HIGHWAY).model_dump()
    d["sensors"] = []
    d["traffic"]["count"] = count
    d["simulation"]["seed"] = seed
    d["ego"]["speed_mps"] = ego_speed
    d["actors"] = actors
    d["events"] = events
    return Scenario.model_validate(d)


def _event(name, trigger, *actions, **kw):
    return {"name": name, "trigger": trigger, "actions": list(actions), **kw}


def _run(w: World, seconds: float, controls=None, until=None) -> None:
    for _ in range(int(round(seconds / w.dt_s))):
        w.step(controls)
        if until is not None and until(w):
            return


def _bumper_gap(w: World, i: int) -> float:
    """Bumper gap ego front -> vehicle i rear, along the ego's heading [m]."""
    st, tr = w.state, w.traffic
    along = (st.x[i] - st.x[0]) * math.cos(st.yaw[0]) + (st.y[i] - st.y[0]) * math.sin(
        st.yaw[0])
    return along - tr.half_length_m[i] - tr.half_length_m[0]


def _completed(w: World, action: str):
    return next((c for c in w.events.completed if c["action"] == action), None)


@pytest.mark.parametrize("lane, s_m, gap", [("hw/fwd/2", 40.0, 12.0), ("hw/fwd/2", 5.0, 20.0),
                                            ("hw/fwd/0", 90.0, 12.0)])
def test_cut_in_ends_in_the_egos_lane_at_the_gap(lane, s_m, gap) -> None:
    sc = _scenario([{"name": "cutter", "start": {"lane": lane, "s_m": s_m}, "speed_mps": 25}],
                   [_event("cut", {"type": "at_time", "time_s": 1.0},
                           {"type": "cut_in", "actor": "cutter", "gap_m": gap})])
    with World(sc) as w:
        i = w.vehicle_index("cutter")
        changed_at = []

        def done(w):
            run = w.events.running.get(i)
            if run is not None and run.phase == "change" and not changed_at:
                changed_at.append(w.time_s)
            return _completed(w, "cut_in") is not None
        _run(w, 40.0, COAST, until=done)
        end = _completed(w, "cut_in")
        assert end is not None, w.events.completed
        assert w.traffic.lane[i] == w.traffic.lane[0]
        assert _bumper_gap(w, i) == pytest.approx(gap, abs=1.0)
        # ... and the change itself took about the default 3 s
        assert end["time_s"] - changed_at[0] == pytest.approx(3.0, abs=0.8)
        assert not w.events.held[i]          # released to its driver
        assert not w.collisions


def test_hard_brake_decelerates_at_the_commanded_rate() -> None:
    sc = _scenario([{"name": "lead", "start": {"lane": "hw/fwd/1", "s_m": 150},
                     "speed_mps": 25, "desired_speed_mps": 25}],
                   [_event("brake", {"type": "at_time", "time_s": 2.0},
                           {"type": "hard_brake", "actor": "lead", "decel_mps2": 6.0})])
    with World(sc) as w:
        i = w.vehicle_index("lead")
        t, v = [], []
        for _ in range(int(8.0 / w.dt_s)):
            w.step()
            t.append(w.time_s)
            v.append(float(w.state.vx[i]))
        t, v = np.array(t), np.array(v)
        braking = (t > 2.0) & (v > 0.05)
        tb, vb = t[braking], v[braking]
        lo, hi = tb[0] + 0.1 * (tb[-1] - tb[0]), tb[0] + 0.9 * (tb[-1] - tb[0])
        mid = (tb >= lo) & (tb <= hi)
        decel = -np.polyfit(tb[mid], vb[mid], 1)[0]
        assert decel == pytest.approx(6.0, abs=0.3)
        assert tb[-1] - tb[0] == pytest.approx(25.0 / 6.0, abs=0.2)
        assert v[-1] < 0.05                          # null duration: stays stopped
        assert _completed(w, "hard_brake")["result"] == "stopped"


def test_hard_brake_for_a_duration_then_back_to_its_driver() -> None:
    sc = _scenario([{"name": "lead", "start": {"lane": "hw/fwd/1", "s_m": 150},
                     "speed_mps": 25, "desired_speed_mps": 25}],
                   [_event("brake", {"type": "at_time", "time_s": 1.0},
                           {"type": "hard_brake", "actor": "lead", "decel_mps2": 4.0,
                            "duration_s": 1.5})])
    with World(sc) as w:
        i = w.vehicle_index("lead")
        _run(w, 2.5)
        assert w.state.vx[i] == pytest.approx(25.0 - 4.0 * 1.5, abs=0.3)
        assert _completed(w, "hard_brake") is None
        w.step()
        assert _completed(w, "hard_brake")["time_s"] == pytest.approx(2.5, abs=0.011)
        _run(w, 20.0)
        assert w.state.vx[i] > 22.0          # its driver speeds up again


def test_ttc_trigger_fires_at_the_configured_ttc() -> None:
    # The ego (coasting at 25 m/s) closes on a car at 15 m/s in its lane: TTC falls at 1 s/s.
    # A destination keeps it in its lane (no MOBIL).
    sc = _scenario([{"name": "slow", "start": {"lane": "hw/fwd/1", "s_m": 200},
                     "speed_mps": 15, "desired_speed_mps": 15,
                     "destination": {"lane": "hw/fwd/1", "s_m": 590}}],
                   [_event("close", {"type": "ttc_below", "actor": "slow", "ttc_s": 4.0},
                           {"type": "set_speed", "actor": "slow", "speed_mps": 15})])
    with World(sc) as w:
        i = w.vehicle_index("slow")
        states = []
        for _ in range(int(15.0 / w.dt_s)):
            if w.event_log:
                break
            st = w.state
            states.append((w.time_s, st.x[0], st.y[0], st.vx[0], st.yaw[0],
                           st.x[i], st.y[i], st.vx[i], st.yaw[i]))
            w.step(COAST)
        assert w.event_log, "never fired"
        fired = w.event_log[0]["time_s"]
        half = w.traffic.half_length_m[0] + w.traffic.half_length_m[i]

        def ttc(row):
            _, ex, ey, ev, eyaw, ax, ay, av, ayaw = row
            dx, dy = ax - ex, ay - ey
            dist = math.hypot(dx, dy)
            closing = -((av * math.cos(ayaw) - ev * math.cos(eyaw)) * dx +
                        (av * math.sin(ayaw) - ev * math.sin(eyaw)) * dy) / dist
            return (dist - half) / closing
        # the first logged state with TTC < 4 s is within one physics step of the firing
        first = next(row[0] for row in states + [(fired,) + states[-1][1:]]
                     if ttc(row) < 4.0)
        assert abs(first - fired) <= w.dt_s + 1e-9
        assert ttc(states[-1]) >= 4.0 - 10.0 * w.dt_s  # the step before: just above 4 s
        assert w.events.ttc_s("slow") < 4.0


def test_at_time_and_after_event_fire_on_the_step() -> None:
    sc = _scenario([{"name": "a", "start": {"lane": "hw/fwd/2", "s_m": 100}, "speed_mps": 25}],
                   [_event("second", {"type": "after_event", "event": "first",
                                      "delay_s": 1.25},
                           {"type": "set_speed", "actor": "a", "speed_mps": 20}),
                    _event("first", {"type": "at_time", "time_s": 2.37},
                           {"type": "set_speed", "actor": "a", "speed_mps": 22})])
    with World(sc) as w:
        _run(w, 5.0)
        log = w.event_log
        assert [e["event"] for e in log] == ["first", "second"]
        assert log[0]["time_s"] == pytest.approx(2.37, abs=1e-9)
        assert log[1]["time_s"] == pytest.approx(2.37 + 1.25, abs=1e-9)
        assert log[0]["actions"] == [{"type": "set_speed", "actor": "a", "speed_mps": 22.0}]


def test_ego_near_actor_and_position_fire_within_the_distance() -> None:
    sc = _scenario([{"name": "a", "start": {"lane": "hw/fwd/1", "s_m": 150}, "speed_mps": 10,
                     "desired_speed_mps": 10}],
                   [_event("near", {"type": "ego_near_actor", "actor": "a", "distance_m": 30},
                           {"type": "set_speed", "actor": "a", "speed_mps": 10}),
                    _event("here", {"type": "ego_near_position", "position": [-150, -255.55],
                                    "distance_m": 5},
                           {"type": "set_speed", "actor": "a", "speed_mps": 10})])
    with World(sc) as w:
        i = w.vehicle_index("a")
        seen = {}
        for _ in range(int(10 / w.dt_s)):
            w.step(COAST)
            for e in w.event_log:
                if e["event"] not in seen:
                    st = w.state
                    seen[e["event"]] = (math.hypot(st.x[i] - st.x[0], st.y[i] - st.y[0]),
                                        math.hypot(st.x[0] + 150, st.y[0] + 255.55))
        # the state the trigger saw is one step older than the state after it: <= v dt more
        assert 30.0 - 0.3 <= seen["near"][0] <= 30.0
        assert 5.0 - 0.3 <= seen["here"][1] <= 5.0


def test_set_speed_reaches_the_speed_and_stop_stops() -> None:
    sc = _scenario([{"name": "a", "start": {"lane": "hw/fwd/2", "s_m": 100}, "speed_mps": 25},
                    {"name": "b", "start": {"lane": "hw/fwd/3", "s_m": 100}, "speed_mps": 25}],
                   [_event("go", {"type": "at_time", "time_s": 0.5},
                           {"type": "set_speed", "actor": "a", "speed_mps": 18},
                           {"type": "stop", "actor": "b"})])
    with World(sc) as w:
        _run(w, 25.0)
        assert w.state.vx[w.vehicle_index("a")] == pytest.approx(18.0, abs=0.5)
        assert w.state.vx[w.vehicle_index("b")] < 0.05
        assert _completed(w, "stop")["result"] == "stopped"
        # the stop took about v / comfortable deceleration
        b = w.vehicle_index("b")
        expect = 0.5 + 25.0 / w.drivers.comfort_decel_mps2[b]
        assert _completed(w, "stop")["time_s"] == pytest.approx(expect, abs=1.0)
        _run(w, 5.0)
        assert w.state.vx[b] < 0.05                  # and stays stopped


def test_change_lane_moves_one_lane_over() -> None:
    sc = _scenario([{"name": "a", "start": {"lane": "hw/fwd/2", "s_m": 100}, "speed_mps": 25}],
                   [_event("go", {"type": "at_time", "time_s": 1.0},
                           {"type": "change_lane", "actor": "a", "direction": "left"})])
    with World(sc) as w:
        i = w.vehicle_index("a")
        start = int(w.traffic.lane[i])
        _run(w, 12.0)
        assert int(w.traffic.lane[i]) == w.lanes.left[start]
        assert _completed(w, "change_lane")["result"] == "done"


def test_spawn_places_a_hidden_actor_at_its_start() -> None:
    sc = _scenario([{"name": "late", "start": {"lane": "hw/fwd/3", "s_m": 300},
                     "speed_mps": 20, "hidden": True}],
                   [_event("in", {"type": "at_time", "time_s": 2.0},
                           {"type": "spawn", "actor": "late"})])
    with World(sc) as w:
        i = w.vehicle_index("late")
        assert not w.traffic.active[i]
        assert "late" not in [b.name for b in w.object_boxes()]
        _run(w, 2.0)
        assert not w.traffic.active[i]
        w.step()
        assert w.traffic.active[i] and w.traffic.s[i] == pytest.approx(300.0)
        assert w.state.vx[i] == pytest.approx(20.0, abs=0.1)
        w.reset(3)                                    # hidden again in a new episode
        assert not w.traffic.active[i] and not w.event_log


def test_events_are_deterministic() -> None:
    sc = _scenario([{"name": "cutter", "start": {"lane": "hw/fwd/2", "s_m": 20},
                     "speed_mps": 25}],
                   [_event("cut", {"type": "ego_near_actor", "actor": "cutter",
                                   "distance_m": 40},
                           {"type": "cut_in", "actor": "cutter", "gap_m": 12}),
                    _event("brake", {"type": "after_event", "event": "cut", "delay_s": 8},
                           {"type": "hard_brake", "actor": "cutter", "decel_mps2": 3,
                            "duration_s": 1})], count=30)

    def run():
        with World(sc) as w:
            _run(w, 20.0)
            return (w.event_log, w.events.completed, w.state.data.copy())
    a, b = run(), run()
    assert a[0] == b[0] and a[1] == b[1]
    np.testing.assert_array_equal(a[2], b[2])
    assert [e["event"] for e in a[0]] == ["cut", "brake"]


BAD = """
name: bad
map:
  roads:
    - id: hw
      start: {position: [0, 0], heading_deg: 0}
      lanes: {forward: 2, backward: 0}
      segments: [{type: straight, length_m: 500}]
ego:
  start: {lane: hw/fwd/0, s_m: 10}
actors:
  - {name: cutter, start: {lane: hw/fwd/1, s_m: 40}}
events:
  - name: cut
    trigger: {type: at_time, time_s: 1}
    actions:
      - type: cut_in
        actor: cuter
"""


GOOD = BAD.replace("actor: cuter", "actor: cutter")


def test_good_base_parses() -> None:
    assert parse_scenario(GOOD, "good.yaml").events[0].actions[0].actor == "cutter"


def test_unknown_actor_is_a_located_error_with_a_close_match() -> None:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(BAD, "bad.yaml")
    msg = str(e.value)
    assert "bad.yaml:18: events[0].actions[0].actor" in msg and "'cutter'" in msg, msg


@pytest.mark.parametrize("old, new, line, text", [
    ("trigger: {type: at_time, time_s: 1}",
     "trigger: {type: after_event, event: cut}", 15, "waits on itself"),
    ("trigger: {type: at_time, time_s: 1}",
     "trigger: {type: ttc_below, actor: nobody, ttc_s: 2}", 15, "actor 'nobody'"),
    ("trigger: {type: at_time, time_s: 1}",
     "trigger: {type: at_tim, time_s: 1}", 15, "at_time"),
    ("      - type: cut_in\n        actor: cutter",
     "      - type: spawn\n        actor: cutter", 18, "hidden: true"),
    ("      - type: cut_in\n        actor: cutter",
     "      - type: hard_brake\n        actor: cutter\n        decel_mps2: 90", 19, "15"),
])
def test_bad_events_are_located_errors(old, new, line, text) -> None:
    with pytest.raises(ScenarioError) as e:
        parse_scenario(GOOD.replace(old, new), "bad.yaml")
    msg = str(e.value)
    assert f"bad.yaml:{line}:" in msg and text in msg, msg


def test_summary_json_lists_the_fired_events(tmp_path) -> None:
    from runner.run import RunOptions, run_scenario
    sc = _scenario([{"name": "a", "start": {"lane": "hw/fwd/2", "s_m": 100}, "speed_mps": 25}],
                   [_event("slow", {"type": "at_time", "time_s": 0.5},
                           {"type": "set_speed", "actor": "a", "speed_mps": 20})])
    sc = sc.model_copy(update={"simulation": sc.simulation.model_copy(
        update={"duration_s": 1.0})})
    run_scenario(sc, tmp_path, RunOptions(video=False, sensors=False), source="test")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["events"] == [{"event": "slow", "time_s": 0.5, "actions": [
        {"type": "set_speed", "actor": "a", "speed_mps": 20.0}]}]
    assert summary["event_results"] == [{"event": "slow", "action": "set_speed",
                                         "actor": "a", "time_s": 0.5, "result": "set"}]


def test_a_hidden_actor_on_the_egos_spot_is_not_there_at_t0() -> None:
    sc = _scenario([{"name": "ghost", "start": {"lane": "hw/fwd/1", "s_m": 52},
                     "hidden": True}], [])
    with World(sc) as w:                              # a fresh world, not only reset()
        assert not w.traffic.active[w.vehicle_index("ghost")]
        w.step()
        assert not w.collisions and not w.crashed[0]


def test_stop_brakes_harder_when_its_driver_must() -> None:
    # The leader brakes at 8 m/s^2; the follower, told to stop at the same moment, must
    # brake harder than comfortably (its driver's IDM) or it rear-ends the leader.
    sc = _scenario([{"name": "lead", "start": {"lane": "hw/fwd/1", "s_m": 200},
                     "speed_mps": 25, "desired_speed_mps": 25,
                     "destination": {"lane": "hw/fwd/1", "s_m": 590}},
                    {"name": "follow", "start": {"lane": "hw/fwd/1", "s_m": 170},
                     "speed_mps": 25, "desired_speed_mps": 25,
                     "destination": {"lane": "hw/fwd/1", "s_m": 590}}],
                   [_event("both", {"type": "at_time", "time_s": 3.0},
                           {"type": "hard_brake", "actor": "lead", "decel_mps2": 8},
                           {"type": "stop", "actor": "follow"})])
    with World(sc) as w:
        f = w.vehicle_index("follow")
        hardest = 0.0
        for _ in range(int(12 / w.dt_s)):
            w.step()
            hardest = min(hardest, float(w.accel_cmd[f]))
        assert not w.collisions
        assert hardest < -w.drivers.comfort_decel_mps2[f] - 1.0
        assert w.state.vx[f] < 0.05


def test_a_cut_in_from_a_lane_not_beside_the_ego_is_given_up() -> None:
    sc = _scenario([{"name": "far", "start": {"lane": "hw/fwd/3", "s_m": 80},
                     "speed_mps": 25}],
                   [_event("cut", {"type": "at_time", "time_s": 0.5},
                           {"type": "cut_in", "actor": "far", "gap_m": 10})])
    sc = sc.model_copy(update={"ego": sc.ego.model_copy(update={   # the ego keeps lane 1
        "destination": sc.ego.start.model_copy(update={"s_m": 590.0})})})
    with World(sc) as w:
        _run(w, 32.0)
        end = _completed(w, "cut_in")
        assert end is not None and end["result"].startswith("given up"), w.events.completed
        assert not w.events.held[w.vehicle_index("far")]


def test_ttc_below_needs_a_vehicle() -> None:
    text = GOOD.replace("trigger: {type: at_time, time_s: 1}",
                        "trigger: {type: ttc_below, actor: walker, ttc_s: 2}") + \
        "pedestrians:\n  - {name: walker, path: [[0, 10], [5, 10]]}\n"
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "bad.yaml")
    assert "bad.yaml:15:" in str(e.value) and "pedestrian" in str(e.value)
