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
