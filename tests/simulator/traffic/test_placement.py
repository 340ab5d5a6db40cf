"""Spawn placement (``place_vehicles``) on tiny lane sets whose answers are known."""

from __future__ import annotations

import time

import numpy as np
import pytest

from scenarios import BUNDLED_DIR, load
from simulator.map.build import build_hdmap
from simulator.map.lane_arrays import LaneArrays
from simulator.traffic.placement import (
    SpawnLanes,
    place_vehicles,
    respawn_at_entries,
    spawn_speeds,
)

CAR_M = 4.0


def _lanes(length_m=(100.0,), limit_mps=12.5, stop_line=False, obstacles=()) -> SpawnLanes:
    n = len(length_m)
    ob = np.array(obstacles, float).reshape(-1, 3)
    return SpawnLanes(np.array(length_m, float), np.full(n, limit_mps), np.full(n, np.inf),
                      np.full(n, stop_line), ob[:, 0].astype(np.int64), ob[:, 1], ob[:, 2])


def _place(lanes: SpawnLanes, m: int, seed: int = 0, min_gap_m: float = 5.0, **kw):
    return place_vehicles(np.random.default_rng(seed), lanes, np.arange(len(lanes.length_m)),
                          np.full(m, CAR_M), np.ones(m), np.full(m, 2.0), min_gap_m, **kw)


def _need(v: float, min_gap_m: float = 5.0, other_m: float = CAR_M) -> float:
    return min_gap_m + 1.5 * v + (CAR_M + other_m) / 2


def test_spawn_speed_is_80_percent_of_the_desired_speed_or_what_a_stop_line_allows() -> None:
    free = _lanes()
    assert spawn_speeds(free, np.array([0]), np.array([50.0]), 1.2, 2.0)[0] == \
        pytest.approx(0.8 * 12.5 * 1.2)
    stop = _lanes(stop_line=True)
    # 100 - 86 - 10 = 4 m to stop in: sqrt(2 * 2 * 4) = 4 m/s.
    assert spawn_speeds(stop, np.array([0]), np.array([86.0]), 1.0, 2.0)[0] == \
        pytest.approx(4.0)
    assert spawn_speeds(stop, np.array([0]), np.array([95.0]), 1.0, 2.0)[0] == 0.0


def test_cars_keep_the_lane_ends_and_the_gap_rule() -> None:
    lanes = _lanes((100.0, 60.0))
    v = 0.8 * 12.5
    for seed in range(20):
        out = _place(lanes, 6, seed)
        ok = out.lane >= 0
        assert ok.sum() >= 2
        s, ln = out.s_m[ok], out.lane[ok]
        assert np.all(s >= CAR_M / 2 + 1) and np.all(s <= lanes.length_m[ln] - CAR_M / 2 - 1)
        assert np.allclose(out.speed_mps[ok], v)
        for a in range(len(s)):
            for b in range(a):
                if ln[a] == ln[b]:
                    assert abs(s[a] - s[b]) >= _need(v)


def test_no_spot_left_gives_lane_minus_one() -> None:
    # 30 m lane, car allowed at s in [3, 27]; a car standing at 15 needs 5 + 15 + 4 = 24 m.
    lanes = _lanes((30.0,))
    out = _place(lanes, 2, occupied_lane=np.array([0]), occupied_s=np.array([15.0]),
                 occupied_length_m=np.array([CAR_M]))
    assert (out.lane == -1).all() and np.isnan(out.s_m).all()
    # Too short for the car itself: 5.9 m < 4 + 2 m.
    assert (_place(_lanes((5.9,)), 1).lane == -1).all()


def test_occupied_spots_are_respected_including_their_length() -> None:
    lanes = _lanes((200.0,))
    v = 0.8 * 12.5
    for seed in range(30):
        out = _place(lanes, 1, seed, occupied_lane=np.array([0]), occupied_s=np.array([100.0]),
                     occupied_length_m=np.array([16.0]))
        assert out.lane[0] == 0
        assert abs(out.s_m[0] - 100.0) >= _need(v, other_m=16.0)


def test_no_car_within_its_stopping_distance_before_an_obstacle_nor_beside_it() -> None:
    """v = 10 m/s, b = 2 m/s^2: stopping takes 25 m, plus the 5 m margin. A box covering
    [100, 102] forbids centres in (100 - 30 - 2, 102 + 2) = (68, 104)."""
    lanes = _lanes((200.0,), obstacles=[(0, 100.0, 102.0)])
    s = np.concatenate([_place(lanes, 1, seed).s_m for seed in range(400)])
    assert np.isfinite(s).all()
    assert not np.any((s > 68.0) & (s < 104.0))
    assert np.any((s > 60.0) & (s < 68.0)) and np.any((s > 104.0) & (s < 112.0))
    # Overlapping extents on a lane merge; an obstacle on another lane does not matter.
    lanes = _lanes((200.0, 200.0), obstacles=[(0, 100.0, 102.0), (0, 101.0, 120.0),
                                              (1, 10.0, 11.0)])
    out = [_place(lanes, 1, seed) for seed in range(400)]
    s0 = np.array([o.s_m[0] for o in out if o.lane[0] == 0])
    assert not np.any((s0 > 68.0) & (s0 < 122.0))
    s1 = np.array([o.s_m[0] for o in out if o.lane[0] == 1])
    assert np.all(s1 > 13.0)     # behind the small one only its body: rear past 11 m


def test_keep_out_rejects_spots() -> None:
    lanes = _lanes((200.0,))

    def ego_clearance(lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        return np.abs(s - 50.0) < 40.0

    for seed in range(30):
        out = _place(lanes, 1, seed, keep_out=ego_clearance)
        assert abs(out.s_m[0] - 50.0) >= 40.0


def test_same_rng_state_same_placement() -> None:
    lanes = _lanes((300.0, 250.0, 80.0), obstacles=[(1, 40.0, 42.0)])
    a, b = _place(lanes, 20, seed=7), _place(lanes, 20, seed=7)
    assert all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b))
    c = _place(lanes, 20, seed=8)
    assert not np.array_equal(a.s_m, c.s_m, equal_nan=True)


def test_a_thousand_cars_on_the_highway_ring_take_well_under_a_second() -> None:
    """Testing each candidate only against the cars within reach keeps placement near
    O(n log n): most of these 1,000 cars find no spot and use all 200 attempts."""
    la = LaneArrays(build_hdmap(load(BUNDLED_DIR / "highway.yaml").map))
    lanes = SpawnLanes.from_lanes(la)
    rng = np.random.default_rng(0)
    m = 1000
    t0 = time.perf_counter()
    out = place_vehicles(rng, lanes, np.flatnonzero(la.is_road), np.full(m, 4.6),
                         rng.uniform(0.8, 1.2, m), np.full(m, 2.0), 15.0)
    elapsed = time.perf_counter() - t0
    placed = out.lane >= 0
    assert 100 < placed.sum() < 400          # the ring holds a few hundred at these gaps
    assert elapsed < 2.0
    order = np.lexsort((out.s_m[placed], out.lane[placed]))
    ln, s, v = out.lane[placed][order], out.s_m[placed][order], out.speed_mps[placed][order]
    same = ln[1:] == ln[:-1]
    # Neighbours on a lane keep at least the smaller of their two needs.
    need = 15.0 + 1.5 * np.minimum(v[1:], v[:-1]) + 4.6
    assert np.all(np.diff(s)[same] >= need[same] - 1e-9)


def _respawn_loop(lanes, vehicles, entry, entry_lane, entry_s, entry_xy, length, factor,
                  comfort, min_gap, x, y, active, ego_xy, clearance):
    """The one-by-one reference: each vehicle tested against the traffic and the ones
    that entered before it."""
    act, x, y = active.copy(), x.copy(), y.copy()
    out = {}
    for j, i in enumerate(vehicles):
        k = entry[j]
        lane = int(entry_lane[k])
        v = spawn_speeds(lanes, np.array([lane]), np.array([entry_s[j]]), factor[i],
                         comfort[i])[0]
        need = min_gap + length[i] + 2.0 * v
        ex, ey = entry_xy[k]
        if np.hypot(ex - ego_xy[0], ey - ego_xy[1]) < clearance:
            continue
        dx, dy = x - ex, y - ey
        if np.any(act & (dx * dx + dy * dy < need * need)):
            continue
        out[j] = (lane, entry_s[j], v)
        act[i] = True
        x[i], y[i] = ex, ey
    return out


def test_respawns_match_testing_the_vehicles_one_by_one() -> None:
    rng = np.random.default_rng(5)
    lanes = _lanes((100.0, 100.0, 100.0, 100.0), limit_mps=10.0, stop_line=True)
    entry_lane = np.array([0, 1, 2, 3])
    entry_xy = np.array([[0.0, 0.0], [0.0, 3.5], [60.0, 0.0], [60.0, 3.5]])
    entered = 0
    for _ in range(200):
        n = 30
        length = rng.uniform(3.5, 6.0, n)
        factor, comfort = rng.uniform(0.8, 1.2, n), rng.uniform(1.5, 3.0, n)
        active = rng.random(n) < 0.2
        x, y = rng.uniform(-150, 250, n), rng.uniform(-5, 8, n)
        parked = np.flatnonzero(~active)
        entry = rng.integers(4, size=len(parked))
        entry_s = length[parked] / 2 + 0.5
        ego_xy = rng.uniform(-20, 80, 2)
        args = (lanes, parked, entry, entry_lane, entry_s, entry_xy, length, factor, comfort,
                4.0, x, y, active, ego_xy, 15.0)
        out = respawn_at_entries(*args)
        ref = _respawn_loop(*args)
        assert set(np.flatnonzero(out.lane >= 0)) == set(ref)
        for j, (lane, s, v) in ref.items():
            assert (out.lane[j], out.s_m[j], out.speed_mps[j]) == (lane, s, v)
        entered += len(ref)
    assert 100 < entered < 200 * 4      # some enter, the same entry blocks some
