"""Lane-level arrays used on the traffic hot path."""

from __future__ import annotations

import numpy as np

from scenarios import BUNDLED_DIR, DEFAULT_SCENARIO, load, parse_scenario
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


def _highway() -> LaneArrays:
    return LaneArrays(build_hdmap(load(BUNDLED_DIR / "highway.yaml").map))


def test_compiled_positions_and_curvatures_match_the_lane_table_bit_for_bit() -> None:
    la = _lanes()
    rng = np.random.default_rng(1)
    lane = rng.integers(la.count, size=2000)
    s = rng.uniform(-3.0, la.length_m[lane] + 3.0)      # also past the ends: extrapolated
    d = rng.uniform(-2.0, 2.0, size=2000)
    x, y = la.positions(lane, s, d)
    ref = la.table.positions(lane, s, d)
    assert np.array_equal(x, ref[:, 0]) and np.array_equal(y, ref[:, 1])
    assert np.array_equal(la.curvatures(lane, s), la.table.curvatures(lane, s))


def test_compiled_projection_matches_the_lane_table() -> None:
    la = _lanes()
    rng = np.random.default_rng(2)
    lane = rng.integers(la.count, size=2000)
    s = rng.uniform(0.0, la.length_m[lane])
    d = rng.uniform(-1.5, 1.5, size=2000)
    x, y = la.positions(lane, s, d)
    guess = np.clip(s + rng.uniform(-2.0, 2.0, size=2000), 0.0, la.length_m[lane])
    s_k, d_k = la.project(lane, x, y, guess)
    s_ref, d_ref = la.table.project_near(lane, np.stack([x, y], 1), guess)
    # numba's atan2 and numpy's may differ in the last bit.
    assert np.abs(s_k - s_ref).max() < 1e-9 and np.abs(d_k - d_ref).max() < 1e-9


def test_station_on_a_neighbour_lane_is_the_exact_projection() -> None:
    """On the ring's curves the neighbour lanes differ in length by ~12 m per half turn:
    mapping stations in proportion to the lane lengths is metres off, projecting is not."""
    la = _highway()
    hd = la.hdmap
    inner, outer = hd.lane_index("hw/fwd/0"), hd.lane_index("hw/fwd/1")
    s = np.linspace(1.0, la.length_m[inner] - 1.0, 400)     # away from the loop's seam
    d = np.full(400, -0.4)
    s_out, d_out = la.stations_on(np.full(400, inner), s, d, np.full(400, outer))
    x, y = la.positions(np.full(400, inner), s, d)
    exact = np.array([hd.table.project_global(outer, p) for p in np.stack([x, y], 1)])
    assert np.abs(s_out - exact[:, 0]).max() < 1e-6
    assert np.abs(d_out - exact[:, 1]).max() < 1e-6
    assert np.allclose(d_out, la.width_m[inner] - 0.4)        # one lane width to the left
    proportional = s * la.length_m[outer] / la.length_m[inner]
    assert np.abs(proportional - exact[:, 0]).max() > 4.0     # what the old mapping missed


def _box_lanes(x_m: float = 150.0) -> tuple[LaneArrays, int]:
    text = """
    map:
      roads:
        - id: r
          lanes: {forward: 2, backward: 0}
          segments: [{type: straight, length_m: 500}]
    ego: {start: {lane: r/fwd/0, s_m: 20}}
    traffic: {count: 0}
    """
    la = LaneArrays(build_hdmap(parse_scenario(text).map))
    box = np.array([[x_m - 0.75, -2.5], [x_m + 0.75, -2.5], [x_m + 0.75, -1.0],
                    [x_m - 0.75, -1.0]])
    la.set_obstacles([box])
    return la, la.hdmap.lane_index("r/fwd/0")


def test_an_obstacle_keeps_its_extent_along_the_lane() -> None:
    la, lane = _box_lanes()
    assert list(la.obstacle_lane) == [lane]
    assert np.isclose(la.obstacle_s[0], 149.25) and np.isclose(la.obstacle_end_s[0], 150.75)


def test_a_car_overlapping_an_obstacle_is_blocked_by_it() -> None:
    la, lane = _box_lanes()
    half = np.full(4, 2.3)
    # Centre before the box, beside its start, past its end but still overlapping, clear.
    s = np.array([140.0, 150.0, 153.0, 153.1])
    gap = la.obstacle_gap(np.full(4, lane), s, half, np.full(4, -1))
    assert np.isclose(gap[0], 149.25 - 140.0 - 2.3)
    assert gap[1] <= 0.0 and gap[2] <= 0.0     # the old start-only search saw nothing here
    assert gap[3] == np.inf                    # rear 150.8 m: past the box


def test_tracking_in_place_equals_projecting_the_active_rows() -> None:
    la = _lanes()
    rng = np.random.default_rng(3)
    lane = rng.integers(la.count, size=300)
    s = rng.uniform(0.0, la.length_m[lane])
    x, y = la.positions(lane, s, rng.uniform(-1.5, 1.5, size=300))
    guess = np.clip(s + rng.uniform(-2.0, 2.0, size=300), 0.0, la.length_m[lane])
    active = rng.random(300) < 0.8
    s_in, d_in = guess.copy(), np.full(300, 9.0)
    la.project_active(lane, x, y, s_in, d_in, active)
    s_ref, d_ref = la.project(lane[active], x[active], y[active], guess[active])
    assert np.array_equal(s_in[active], s_ref) and np.array_equal(d_in[active], d_ref)
    assert np.array_equal(s_in[~active], guess[~active]) and (d_in[~active] == 9.0).all()
