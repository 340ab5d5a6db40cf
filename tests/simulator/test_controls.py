"""Any vehicle driven from outside: direct commands, meta-actions, hand-back, own routes,
collision records with indices."""

from __future__ import annotations

import copy
import types

import numpy as np
import pytest

from scenarios import parse_scenario
from simulator.controls import (
    NOT_SEEN,
    DirectControl,
    MetaAction,
    normalise_controls,
    remember_controls,
    same_controls,
)
from simulator.errors import WorldError
from simulator.world import World

# A straight 3-lane road; NPC 0 (vehicle 1) starts well ahead of the ego.
ROAD = """
simulation: {{seed: 5}}
map:
  roads:
    - id: r
      lanes: {{forward: 3, backward: 0}}
      speed_limit_mps: 20
      segments: [{{type: straight, length_m: 2000}}]
{props}
ego:
  start: {{lane: r/fwd/1, s_m: 20}}
  speed_mps: 10
traffic: {{count: {count}, ego_clearance_m: 60}}
"""


def _world(count: int = 1, props: str = "") -> World:
    return World(parse_scenario(ROAD.format(count=count, props=props)))


def _steps(seconds: float, w: World) -> int:
    return int(round(seconds / w.dt_s))


def test_direct_braking_of_an_npc_stops_it_in_v2_over_2a() -> None:
    with _world() as w:
        i = w.vehicle_index("npc_000")
        v0 = float(w.state.vx[i])
        assert v0 > 5.0
        x0 = float(w.state.x[i])
        decel = 3.0
        for _ in range(_steps(v0 / decel + 2.0, w)):
            w.step({"npc_000": DirectControl(accel_mps2=-decel, steer_rad=0.0)})
        assert w.state.vx[i] == pytest.approx(0.0, abs=1e-6)
        # Constant deceleration from v0 (no reversing): v0^2 / (2 a), to one physics step.
        assert w.state.x[i] - x0 == pytest.approx(v0 ** 2 / (2 * decel), abs=v0 * w.dt_s)
        # The ego kept driving under its autopilot.
        assert w.state.vx[0] > 5.0


def test_a_vehicle_hands_back_to_its_driver_without_control() -> None:
    with _world() as w:
        i = 1
        for _ in range(_steps(8.0, w)):
            w.step({i: DirectControl(-4.0, 0.0)})
        assert w.state.vx[i] < 0.1
        for _ in range(_steps(6.0, w)):
            w.step()
        assert w.state.vx[i] > 5.0          # its driver accelerates again


def test_meta_action_target_speed_is_held_by_the_autopilot_pid() -> None:
    with _world() as w:
        for _ in range(_steps(15.0, w)):
            w.step({1: MetaAction(target_speed_mps=6.0)})
        assert w.state.vx[1] == pytest.approx(6.0, abs=0.2)
        # Without a new target the last one is kept while meta-actions continue.
        for _ in range(_steps(2.0, w)):
            w.step({1: MetaAction()})
        assert w.state.vx[1] == pytest.approx(6.0, abs=0.2)


@pytest.mark.parametrize("side, expected", [("left", "r/fwd/0"), ("right", "r/fwd/2")])
def test_meta_action_lane_change_reaches_the_neighbour_lane(side: str, expected: str) -> None:
    with _world(count=0) as w:
        for _ in range(_steps(6.0, w)):
            w.step({"ego": MetaAction(lane_change=side)})
        assert w.hdmap.lanes[int(w.traffic.lane[0])].id == expected
        # The lane centre is a lane width (3.5 m) left (+y) or right of the start lane's.
        y_expected = -1.75 if side == "left" else -8.75
        assert w.state.y[0] == pytest.approx(y_expected, abs=0.3)


def test_npc_gets_its_own_route_and_stops_at_its_destination() -> None:
    with _world() as w:
        s0 = float(w.traffic.s[1])
        assert s0 < 1800.0
        goal_s = s0 + 150.0
        with pytest.raises(WorldError, match="npc_000.destination: no route"):
            w.set_route("npc_000", "r/fwd/2", s0 - 50.0)    # behind it, lane changes only
        w.set_route("npc_000", "r/fwd/2", goal_s)
        assert w.route_progress("npc_000") == pytest.approx(0.0, abs=1e-9)
        for _ in range(_steps(40.0, w)):
            w.step()
        assert w.route_progress("npc_000") == pytest.approx(1.0, abs=1e-3)
        assert w.hdmap.lanes[int(w.traffic.lane[1])].id == "r/fwd/2"
        assert w.state.x[1] == pytest.approx(goal_s, abs=1.0)
        assert w.state.vx[1] < 0.1
        w.set_route("npc_000", None)
        assert w.route_progress("npc_000") is None


def test_collisions_name_vehicle_and_prop_indices_and_flag_the_crashed() -> None:
    props = "props:\n  - {type: box, position: [120, -5.25], size: [1.5, 1.5, 1.2]}"
    with _world(count=0, props=props) as w:
        for _ in range(_steps(15.0, w)):
            w.step({0: DirectControl(accel_mps2=0.0, steer_rad=0.0)})
        assert len(w.collisions) == 1
        c = w.collisions[0]
        assert (c.vehicle_a, c.vehicle_b, c.prop) == (0, -1, 0)
        assert c.actor_b == w.props[0].name
        assert w.crashed.tolist() == [True]
        with pytest.raises(ValueError):
            w.crashed[0] = False


def test_bad_controls_name_the_entry() -> None:
    names = ["ego", "npc_000"]
    assert normalise_controls(DirectControl(1.0, 0.0), names) == {0: DirectControl(1.0, 0.0)}
    with pytest.raises(KeyError, match="npc_009"):
        normalise_controls({"npc_009": MetaAction()}, names)
    with pytest.raises(IndexError):
        normalise_controls({2: MetaAction()}, names)
    with pytest.raises(ValueError):
        DirectControl(float("nan"), 0.0)
    with pytest.raises(ValueError):
        MetaAction(lane_change="up")  # type: ignore[arg-type]


def test_controls_do_not_touch_other_vehicles() -> None:
    """Driving vehicle 1 from outside leaves an NPC far behind it exactly as it was."""
    with _world(count=3) as a, _world(count=3) as b:
        far = int(np.argmin(a.state.x[1:])) + 1
        near = int(np.argmax(a.state.x[1:])) + 1
        for _ in range(_steps(2.0, a)):
            a.step({near: MetaAction(target_speed_mps=float(a.state.vx[near]))})
            b.step()
        assert far != near
        assert np.array_equal(a.state.data[:, far], b.state.data[:, far])


def test_one_controls_mapping_reused_or_changed_in_place_acts_as_fresh_ones() -> None:
    """A world remembers the last controls to skip re-taking them: a mapping the caller
    keeps and edits in place, or repeats, drives exactly as new mappings each step."""
    with _world(count=3) as a, _world(count=3) as b:
        phases = [{}, {1: DirectControl(-2.0, 0.01)},
                  {"ego": MetaAction("left"), 2: MetaAction(target_speed_mps=15.0)},
                  {0: DirectControl(0.5, -0.02)}]
        kept: dict = {}
        for k in range(_steps(6.0, a)):
            want = phases[(k // 70) % 4]
            kept.clear()
            kept.update(want)
            a.step(kept)
            b.step({key: copy.copy(c) for key, c in want.items()})   # new objects: re-taken
            assert np.array_equal(a.direct, b.direct) and np.array_equal(a.meta, b.meta)
            if k == 230:                # mid-phase: the same objects go on after it
                a.reset(seed=3)
                b.reset(seed=3)
        assert np.array_equal(a.state.data, b.state.data)


def test_same_controls_are_the_same_objects_for_the_same_keys() -> None:
    a, b = DirectControl(0.0, 0.0), DirectControl(0.0, -0.0)
    kept = {0: a}
    memo = remember_controls(kept)
    assert same_controls(kept, memo) and same_controls({0: a}, memo)
    assert not same_controls({0: DirectControl(0.0, 0.0)}, memo)   # equal is not enough
    kept[0] = b
    assert not same_controls(kept, memo)                            # edited in place
    assert not same_controls({0: a, 1: a}, memo) and not same_controls({1: a}, memo)
    assert same_controls(a, remember_controls(a)) and not same_controls(b, remember_controls(a))
    assert same_controls(None, remember_controls(None))
    assert not same_controls(None, NOT_SEEN) and not same_controls({}, NOT_SEEN)
    proxy = types.MappingProxyType({0: a})                          # not a plain dict
    assert remember_controls(proxy) is NOT_SEEN and not same_controls(proxy, NOT_SEEN)
