"""The compiled collision broad phase (cars swept along x, props from a grid) gives the
numpy reference's candidates (all pairs, every car against every prop) exactly."""

from __future__ import annotations

import numpy as np

from simulator.scene.collisions import CollisionWorld, PropGrid
from simulator.vehicles.mesh import collision_hull_vertices


def test_compiled_broad_phase_matches_the_numpy_reference() -> None:
    rng = np.random.default_rng(0)
    n = 60
    hulls = [collision_hull_vertices(rng.uniform(3.5, 5.5), rng.uniform(1.6, 2.1), 1.5)
             for _ in range(n)]
    # Thin poles to buildings larger than a grid cell.
    props = [((rng.uniform(-40, 40), rng.uniform(-40, 40)),
              (rng.uniform(0.2, 3.0), rng.uniform(0.2, 3.0), 2.0), rng.uniform(-3, 3))
             for _ in range(25)]
    props += [((rng.uniform(-40, 40), rng.uniform(-40, 40)),
               (rng.uniform(8.0, 20.0), rng.uniform(8.0, 20.0), 9.0), rng.uniform(-3, 3))
              for _ in range(3)]
    cw = CollisionWorld(hulls, props)
    try:
        hits = 0
        for _ in range(200):
            # Crowded: many circles overlap, some boxes touch, some cars are parked or off
            # the grid.
            x, y = rng.uniform(-60, 60, n), rng.uniform(-60, 60, n)
            x[:10] = x[0]                   # ties in the sweep's x order
            yaw = rng.uniform(-np.pi, np.pi, n)
            active = rng.random(n) < 0.9
            cw.use_kernel = True
            a = cw.candidates(x, y, yaw, active)
            cw.use_kernel = False
            b = cw.candidates(x, y, yaw, active)
            assert np.array_equal(a, b)
            hits += int(a.sum())
        assert hits > 200
    finally:
        cw.close()


def test_prop_grid_lists_every_prop_a_car_circle_can_reach() -> None:
    """Each car centre's cell holds every prop whose bounding circle its own can meet."""
    rng = np.random.default_rng(1)
    xy = rng.uniform(-100, 100, (80, 2))
    radius = rng.uniform(0.1, 15.0, 80)
    reach = 2.5
    grid = PropGrid(xy, radius, reach)
    cars = np.concatenate([rng.uniform(-130, 130, (20000, 2)),
                           xy + rng.uniform(-1, 1, (80, 2)) * (radius + reach)[:, None]])
    for cx, cy in cars:
        d2 = (xy[:, 0] - cx) ** 2 + (xy[:, 1] - cy) ** 2
        want = set(np.flatnonzero(d2 < (radius + reach) ** 2))
        gx = int(np.floor((cx - grid.origin[0]) / grid.cell_m))
        gy = int(np.floor((cy - grid.origin[1]) / grid.cell_m))
        if not (0 <= gx < grid.shape[0] and 0 <= gy < grid.shape[1]):
            assert not want
            continue
        cell = gx * grid.shape[1] + gy
        listed = grid.cell_props[grid.cell_start[cell]:grid.cell_start[cell + 1]]
        assert want <= set(listed)
        assert np.all(np.diff(listed) > 0)


def test_broad_phase_with_no_props_and_with_cars_off_the_grid() -> None:
    hulls = [collision_hull_vertices(4.6, 1.85, 1.5)] * 4
    # Cars 0 and 1 overlap; car 2 is at NaN, car 3 far from everything.
    x, y = np.array([0.0, 3.0, np.nan, 500.0]), np.array([0.0, 0.0, 0.0, -500.0])
    yaw, active = np.zeros(4), np.ones(4, bool)
    for props, want in (([], [True, True, False, False]),
                        ([((0.0, 0.0), (1.0, 1.0, 1.0), 0.0)], [True, True, False, False]),
                        ([((500.0, -501.0), (1.0, 1.0, 1.0), 0.0)], [True, True, False, True])):
        cw = CollisionWorld(hulls, props)
        try:
            for use_kernel in (True, False):
                cw.use_kernel = use_kernel
                assert cw.candidates(x, y, yaw, active).tolist() == want, (props, use_kernel)
        finally:
            cw.close()
