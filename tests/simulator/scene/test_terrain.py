"""The ground height field under roads with elevation (simulator.scene.terrain)."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.scene.terrain import CELL_M, CLEARANCE_M, terrain_heights, terrain_mesh


def _ramp_points() -> np.ndarray:
    """A 7 m wide road climbing 20 m over 400 m along x (surface points every 0.5 m)."""
    x = np.arange(-200.0, 200.0, 0.5)
    pts = [np.stack([x, np.full_like(x, y), 10.0 + 0.05 * x], 1) for y in (-3.5, 0.0, 3.5)]
    return np.concatenate(pts)


def test_the_ground_stays_below_every_road_point():
    pts = _ramp_points()
    axis, z = terrain_heights(pts, 1000.0)
    step = axis[1] - axis[0]
    assert step == pytest.approx(CELL_M)
    ix = np.floor((pts[:, 0] - axis[0]) / step).astype(int)
    iy = np.floor((pts[:, 1] - axis[0]) / step).astype(int)
    around = np.stack([z[iy, ix], z[iy + 1, ix], z[iy, ix + 1], z[iy + 1, ix + 1]], 1)
    # Every grid vertex around a road point is below it: the mesh never pokes through.
    assert np.all(around <= pts[:, 2:3] - CLEARANCE_M + 1e-6)
    # Beside the road the ground follows it (a hillside), not the lowest point of the map.
    j = np.searchsorted(axis, 150.0)
    k = np.searchsorted(axis, 10.0)
    assert z[k, j] == pytest.approx(10.0 + 0.05 * 150.0, abs=2.0)   # the lowest within 20 m
    assert np.isfinite(z).all()


def test_a_bridge_stands_above_the_ground_of_the_road_below():
    """A road at 8 m crossing one at 0 m: near the crossing the ground follows the lower."""
    x = np.arange(-100.0, 100.0, 0.5)
    low = np.stack([x, np.zeros_like(x), np.zeros_like(x)], 1)
    high = np.stack([np.zeros_like(x), x, np.full_like(x, 8.0)], 1)
    axis, z = terrain_heights(np.concatenate([low, high]), 400.0)
    c = np.searchsorted(axis, 0.0)
    assert z[c, c] <= -CLEARANCE_M + 1e-6
    v, t = terrain_mesh(np.concatenate([low, high]), 400.0)
    assert v.dtype == np.float32 and t.dtype == np.int32 and t.max() < len(v)
    tri = v[t]
    nz = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])[:, 2]
    assert np.all(nz > 0)                      # counter-clockwise from above: normals up
