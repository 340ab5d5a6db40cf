"""The compiled collision broad phase gives the numpy reference's candidates exactly."""

from __future__ import annotations

import numpy as np

from simulator.scene.collisions import CollisionWorld
from simulator.vehicles.mesh import collision_hull_vertices


def test_compiled_broad_phase_matches_the_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    n = 60
    hulls = [collision_hull_vertices(rng.uniform(3.5, 5.5), rng.uniform(1.6, 2.1), 1.5)
             for _ in range(n)]
    props = [((rng.uniform(-40, 40), rng.uniform(-40, 40)),
              (rng.uniform(0.2, 3.0), rng.uniform(0.2, 3.0), 2.0), rng.uniform(-3, 3))
             for _ in range(25)]
    cw = CollisionWorld(hulls, props)
    try:
        hits = 0
        for _ in range(200):
            # Crowded: many circles overlap, some boxes touch, some cars are parked.
            x, y = rng.uniform(-40, 40, n), rng.uniform(-40, 40, n)
            yaw = rng.uniform(-np.pi, np.pi, n)
            active = rng.random(n) < 0.9
            nearby = np.where(rng.random((n, 8)) < 0.7, rng.integers(0, 25, (n, 8)), -1)
            cw.use_kernel = True
            a = cw.candidates(x, y, yaw, active, nearby)
            cw.use_kernel = False
            b = cw.candidates(x, y, yaw, active, nearby)
            assert np.array_equal(a, b)
            hits += int(a.sum())
        assert hits > 200
    finally:
        cw.close()


def _lane_table_candidates(cw: CollisionWorld, x, y, yaw, active, lane, d, lane_props,
                           corridor_m: float) -> np.ndarray:
    """The (n, K) prop table built in numpy, as the world built it, then ``candidates``."""
    props = lane_props[np.maximum(lane, 0)]
    off_lane = active & ((np.abs(d) > corridor_m) | (lane < 0))
    n_props = len(cw.prop_xy)
    if off_lane.any() and n_props:
        wide = np.full((len(props), max(n_props, props.shape[1])), -1, np.int64)
        wide[:, :props.shape[1]] = props
        wide[off_lane] = -1
        wide[off_lane, :n_props] = np.arange(n_props)
        props = wide
    return cw.candidates(x, y, yaw, active, props)


def test_lane_prop_candidates_in_one_pass_match_the_table_built_in_numpy() -> None:
    rng = np.random.default_rng(1)
    n, n_lanes = 40, 12
    hulls = [collision_hull_vertices(4.6, 1.85, 1.5)] * n
    props = [((rng.uniform(-30, 30), rng.uniform(-30, 30)), (1.0, 1.0, 2.0), 0.3)
             for _ in range(30)]
    cw = CollisionWorld(hulls, props)
    try:
        hits = 0
        for _ in range(200):
            x, y = rng.uniform(-30, 30, n), rng.uniform(-30, 30, n)
            yaw = rng.uniform(-np.pi, np.pi, n)
            active = rng.random(n) < 0.9
            lane = np.where(rng.random(n) < 0.1, -1, rng.integers(0, n_lanes, n))
            d = rng.uniform(-4.0, 4.0, n)
            lane_props = np.where(rng.random((n_lanes, 5)) < 0.6,
                                  rng.integers(0, 30, (n_lanes, 5)), -1)
            a = cw.candidates_on_lanes(x, y, yaw, active, lane, d, lane_props, 3.0)
            b = _lane_table_candidates(cw, x, y, yaw, active, lane, d, lane_props, 3.0)
            assert np.array_equal(a, b)
            hits += int(a.sum())
        assert hits > 100
    finally:
        cw.close()
