"""Spawning in a built world: no NPC starts inside or just before a prop on its lane."""

from __future__ import annotations

import pytest

from scenarios import parse_scenario
from simulator.world import World

LOOP = """
simulation: {{seed: {seed}}}
map:
  roads:
    - id: loop
      lanes: {{forward: 2, backward: 0}}
      speed_limit_mps: 14
      segments:
        - {{type: straight, length_m: 300}}
        - {{type: arc, radius_m: 60, angle_deg: 180}}
        - {{type: straight, length_m: 300}}
        - {{type: arc, radius_m: 60, angle_deg: 180}}
props:
  - {{type: box, position: [150, -1.75], size: [1.5, 1.5, 1.2]}}
ego:
  start: {{lane: loop/fwd/1, s_m: 400}}
  speed_mps: 8
traffic: {{count: 30, min_spawn_gap_m: 6}}
"""


@pytest.mark.parametrize("seed", range(16))
def test_no_crash_into_a_lane_obstacle_after_spawning(seed: int) -> None:
    """Without obstacles in the spawn rules, 7 of these 16 seeds start a car too close to
    the box to stop (the review saw crashes within 1.2 s on 9 of 16 seeds)."""
    with World(parse_scenario(LOOP.format(seed=seed))) as w:
        la = w.lanes
        lane, s0, s1 = int(la.obstacle_lane[0]), la.obstacle_s[0], la.obstacle_end_s[0]
        tr = w.traffic
        on = tr.active & (tr.lane == lane)
        half = w.params.length_m / 2
        # Nobody overlaps the box's extent, and everyone before it can stop comfortably.
        assert not ((tr.s + half > s0) & (tr.s - half < s1) & on).any()
        before = on & (tr.s < s0)
        room = s0 - tr.s - half
        v = w.state.vx
        assert (room[before] >= v[before] ** 2 / (2 * w.drivers.comfort_decel_mps2[before])
                ).all()
        for _ in range(300):
            w.step()
        assert [c for c in w.collisions if c.prop >= 0] == []
