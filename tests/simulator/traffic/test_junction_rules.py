"""Junction behaviour on a crafted two-car situation: a left turn gives way to oncoming
traffic, and goes without waiting when the road is clear."""

from __future__ import annotations

import numpy as np

from scenarios import parse_scenario
from simulator.traffic.spawn import Placement
from simulator.world import World

SCENARIO = """
simulation: {seed: 1, duration_s: 30}
map:
  intersections:
    - id: x
      arm_length_m: 120
      lanes_per_direction: 2
      signal: {green_s: 40, yellow_s: 3, all_red_s: 2}
ego:
  start: {lane: x/west/in/0, s_m: 88}
  destination: {lane: x/north/out/0, s_m: 40}
  speed_mps: 8
  autopilot: {cruise_speed_mps: 10}
traffic: {count: 1, ego_clearance_m: 0}
"""


def _world(oncoming: bool) -> World:
    w = World(parse_scenario(SCENARIO))
    hd = w.hdmap
    if oncoming:
        lane = hd.lane_index("x/east/in/0")
        w._place([Placement(1, lane, 55.0, 12.0)])
        w.traffic.next_lane[1] = hd.lane_index("x/east/in/0->west/out/0")
    else:
        w._park(1)
    return w


def _crossing_time(w: World, i: int, lane: int, s_m: float) -> float | None:
    """Time vehicle i passes station s_m of a lane (None if it never does)."""
    for _ in range(3000):
        w.step()
        if w.traffic.lane[i] == lane and w.traffic.s[i] >= s_m:
            return w.time_s
    return None


def test_left_turn_gives_way_to_oncoming_car() -> None:
    w = _world(oncoming=True)
    hd = w.hdmap
    turn = hd.lane_index("x/west/in/0->north/out/0")
    straight = hd.lane_index("x/east/in/0->west/out/0")
    # Conflict zone of the turn with the oncoming straight lane.
    la = w.lanes
    k = np.flatnonzero((la.yield_lane == turn) & (la.prio_lane == straight))[0]
    zone_in, prio_out = la.yield_entry[k], la.prio_exit[k]
    t_npc_clear = t_ego_enter = None
    min_ego_speed_before = np.inf
    for _ in range(3000):
        w.step()
        tr = w.traffic
        if t_npc_clear is None and tr.lane[1] == straight and tr.s[1] - 2.3 > prio_out:
            t_npc_clear = w.time_s
        if t_ego_enter is None:
            if tr.lane[0] == turn and tr.s[0] + 2.3 >= zone_in:
                t_ego_enter = w.time_s
            else:
                min_ego_speed_before = min(min_ego_speed_before, w.state.vx[0])
    assert w.collisions == []
    assert t_npc_clear is not None and t_ego_enter is not None
    assert t_ego_enter > t_npc_clear          # the turn waited until the zone was clear
    assert min_ego_speed_before < 1.0          # ...by (almost) stopping before it


def test_left_turn_without_oncoming_traffic_does_not_wait() -> None:
    w = _world(oncoming=False)
    turn = w.hdmap.lane_index("x/west/in/0->north/out/0")
    speeds = []
    for _ in range(3000):
        w.step()
        if w.traffic.lane[0] == turn:
            speeds.append(w.state.vx[0])
    assert speeds and min(speeds) > 3.0
    assert w.route_progress() > 0.995


def test_car_in_a_connectors_shared_start_follows_the_car_past_the_split() -> None:
    w = World(parse_scenario(SCENARIO.replace("count: 1", "count: 2")))
    hd, la = w.hdmap, w.lanes
    turn = hd.lane_index("x/north/in/0->east/out/0")
    split = la.split_s[turn]
    w._place([Placement(1, turn, split + 3.0, 2.0)])      # past the split
    w._place([Placement(2, turn, split - 4.0, 4.0)])      # still in the shared start
    w.traffic.find_leaders()
    assert w.traffic.leader[2] == 1
    expected = 7.0 - w.params.length_m[1]            # centre distance minus two half cars
    assert np.isclose(w.traffic.gap_m[2], expected)
    w.close()
