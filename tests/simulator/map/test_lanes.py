"""Lane-level arrays used on the traffic hot path."""

from __future__ import annotations

import numpy as np

from scenarios import DEFAULT_SCENARIO, load
from simulator.map.build import build_hdmap
from simulator.map.lane_arrays import LaneArrays


def _lanes() -> LaneArrays:
    return LaneArrays(build_hdmap(load(DEFAULT_SCENARIO).map))


def test_near_projection_is_exact() -> None:
    la = _lanes()
    rng = np.random.default_rng(0)
    lane = rng.integers(la.count, size=500)
    s = rng.uniform(0.0, la.length_m[lane])
    d = rng.uniform(-1.5, 1.5, size=500)
    x, y = la.positions(lane, s, d)
    guess = np.clip(s + rng.uniform(-2.0, 2.0, size=500), 0.0, la.length_m[lane])
    s_hat, d_hat = la.project(lane, x, y, guess)
    assert np.abs(s_hat - s).max() < 1e-9 and np.abs(d_hat - d).max() < 1e-9


def test_curve_speed_from_curvature() -> None:
    la = _lanes()
    hd = la.hdmap
    straight = hd.lane_index("center/west/in/0")
    right = hd.lane_index("center/west/in/1->south/out/1")
    assert la.curve_speed_mps[straight] > 100          # no curve: no limit in practice
    kappa = np.abs(hd.lanes[right].curvature).max()
    assert np.isclose(la.curve_speed_mps[right], np.sqrt(2.0 / kappa))


def test_left_turn_yields_to_oncoming_straight_in_same_phase() -> None:
    la = _lanes()
    hd = la.hdmap
    left = hd.lane_index("center/west/in/0->north/out/0")
    oncoming = hd.lane_index("center/east/in/0->west/out/0")
    rows = np.flatnonzero((la.yield_lane == left) & (la.prio_lane == oncoming))
    assert len(rows) == 1
    k = rows[0]
    # Zones are non-empty intervals inside both connectors.
    assert 0 <= la.yield_entry[k] < la.yield_exit[k] <= la.length_m[left]
    assert 0 <= la.prio_entry[k] < la.prio_exit[k] <= la.length_m[oncoming]
    # The straight movement never yields to the left turn.
    assert not np.any((la.yield_lane == oncoming) & (la.prio_lane == left))


def test_connectors_from_one_lane_share_space_until_they_split() -> None:
    la = _lanes()
    hd = la.hdmap
    a = hd.lane_index("center/west/in/0->north/out/0")
    b = hd.lane_index("center/west/in/0->east/out/0")
    assert la.group[a] == la.group[b] != a
    assert 0 < la.split_s[a] < la.length_m[a]
