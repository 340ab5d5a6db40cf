"""Props standing on a lane are static obstacles: cars stop before them or change lanes."""

from __future__ import annotations

import numpy as np

from scenarios import parse_scenario
from simulator.world import World

ROAD = """
simulation: {{seed: 3}}
map:
  roads:
    - id: r
      lanes: {{forward: 2, backward: 0}}
      speed_limit_mps: 15
      segments: [{{type: straight, length_m: 500}}]
props:
  - {{type: box, position: [150, -1.75], size: [1.5, 1.5, 1.2]}}
ego:
  start: {{lane: r/fwd/0, s_m: 20}}
  {destination}
  speed_mps: 10
traffic: {{count: {count}, ego_clearance_m: 15}}
"""


def test_box_on_the_lane_is_an_obstacle_of_that_lane_only() -> None:
    w = World(parse_scenario(ROAD.format(destination="", count=0)))
    la = w.lanes
    assert list(la.obstacle_lane) == [w.hdmap.lane_index("r/fwd/0")]
    # The box spans x 149.25..150.75 on a straight lane starting at x = 0.
    assert np.isclose(la.obstacle_s[0], 149.25)


def test_ego_keeping_its_lane_stops_before_the_box() -> None:
    text = ROAD.format(destination="destination: {lane: r/fwd/0, s_m: 400}", count=0)
    with World(parse_scenario(text)) as w:
        for _ in range(3000):
            w.step()
        assert w.collisions == []
        front = w.traffic.s[0] + w.params.length_m[0] / 2
        assert w.state.vx[0] < 0.05
        assert 0.5 < 149.25 - front < 3.5       # stopped about its min gap short of it


def test_traffic_changes_lanes_around_the_box() -> None:
    with World(parse_scenario(ROAD.format(destination="", count=8))) as w:
        lane0 = w.hdmap.lane_index("r/fwd/0")
        passed = set()
        for _ in range(4000):
            w.step()
            beyond = np.flatnonzero(w.traffic.active & (w.state.x > 152.0))
            passed |= set(beyond.tolist())
        assert w.collisions == []
        assert len(passed) >= 5                 # the ego and NPCs got past it...
        assert w.lane_change_count >= 3         # ...by changing lanes
        assert not np.any((w.traffic.lane == lane0) & (np.abs(w.state.x - 150) < 1.5))
