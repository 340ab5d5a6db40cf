"""The car mesh: exact size, closed and outward-facing, placed where the vehicles are."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from simulator.vehicles.mesh import car_template, collision_hull_vertices, place_cars


def signed_volume(v: np.ndarray, t: np.ndarray) -> float:
    v = v.astype(np.float64)
    return float(np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])).sum() / 6)


def normals(v: np.ndarray, t: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])


def test_template_shape_and_types() -> None:
    v, t = car_template()
    assert v.dtype == np.float32 and t.dtype == np.int32
    assert v.ndim == 2 and v.shape[1] == 3 and t.shape[1] == 3
    assert 40 <= len(t) <= 120
    assert t.min() == 0 and t.max() == len(v) - 1
    np.testing.assert_array_equal(v.min(axis=0), [-0.5, -0.5, 0.0])
    np.testing.assert_array_equal(v.max(axis=0), [0.5, 0.5, 1.0])
    assert np.all(np.linalg.norm(normals(v, t), axis=1) > 1e-4)   # no degenerate triangles


def test_template_is_closed_and_consistently_wound() -> None:
    _, t = car_template()
    directed = Counter()
    for a, b, c in t:
        directed.update([(a, b), (b, c), (c, a)])
    # Each directed edge once and its reverse once: every edge has exactly two triangles,
    # traversed in opposite directions (consistent orientation).
    assert max(directed.values()) == 1
    assert all((b, a) in directed for a, b in directed)


def test_template_normals_point_outward() -> None:
    v, t = car_template()
    vol = signed_volume(v, t)
    assert 0.5 < vol < 0.9          # a positive fraction of the unit box
    nrm = normals(v, t)
    z = v[t][:, :, 2]
    roof = np.all(z == 1.0, axis=1)
    floor = np.all(z == 0.0, axis=1)
    assert roof.any() and floor.any()
    assert np.all(nrm[roof, 2] > 0) and np.all(nrm[floor, 2] < 0)
    front = np.all(v[t][:, :, 0] == 0.5, axis=1)
    assert front.any() and np.all(nrm[front, 0] > 0)


def test_template_is_not_a_box() -> None:
    v, t = car_template()
    # the cabin is narrower than the body, the hood and trunk lower than the roof
    top = v[v[:, 2] == 1.0]
    assert np.abs(top[:, 1]).max() < 0.45
    assert top[:, 0].min() > -0.3 and top[:, 0].max() < 0.3
    assert v[np.abs(v[:, 0]) == 0.5, 2].max() < 0.6


def test_place_cars_sizes_and_poses() -> None:
    x = np.array([10.0, -20.0, 3.0])
    y = np.array([5.0, 7.0, -40.0])
    yaw = np.array([0.0, 0.7, -2.5])
    length = np.array([4.6, 5.2, 12.0])
    width = np.array([1.85, 2.0, 2.55])
    height = np.array([1.5, 1.7, 3.5])
    verts, tris, owner = place_cars(x, y, yaw, length, width, height)
    tv, tt = car_template()
    nv, nt = len(tv), len(tt)
    assert verts.shape == (3 * nv, 3) and verts.dtype == np.float32
    assert tris.shape == (3 * nt, 3) and tris.dtype == np.int32
    assert owner.shape == (3 * nt,) and owner.dtype == np.int32
    np.testing.assert_array_equal(owner, np.repeat([0, 1, 2], nt))
    for k in range(3):
        vk = verts[k * nv:(k + 1) * nv].astype(np.float64)
        # car k's triangles use car k's vertices only, in the template's pattern
        np.testing.assert_array_equal(tris[owner == k], tt + k * nv)
        # undo the pose: back to the scaled template
        c, s = np.cos(yaw[k]), np.sin(yaw[k])
        dx, dy = vk[:, 0] - x[k], vk[:, 1] - y[k]
        local = np.stack([c * dx + s * dy, -s * dx + c * dy, vk[:, 2]], axis=1)
        np.testing.assert_allclose(local, tv * [length[k], width[k], height[k]], atol=2e-5)
        # bounding box in the body frame is exactly l x w x h, standing on the ground
        np.testing.assert_allclose(local.min(axis=0), [-length[k] / 2, -width[k] / 2, 0.0],
                                   atol=2e-5)
        np.testing.assert_allclose(local.max(axis=0), [length[k] / 2, width[k] / 2, height[k]],
                                   atol=2e-5)
        assert signed_volume(vk, tt) > 0   # placement keeps the winding outward


def test_place_cars_yaw_zero_axis_aligned_and_z_offset() -> None:
    verts, _, _ = place_cars(np.array([100.0]), np.array([-50.0]), np.array([0.0]),
                             np.array([4.0]), np.array([2.0]), np.array([1.5]),
                             z=np.array([0.25]))
    np.testing.assert_allclose(verts.min(axis=0), [98.0, -51.0, 0.25], atol=1e-5)
    np.testing.assert_allclose(verts.max(axis=0), [102.0, -49.0, 1.75], atol=1e-5)
    # yaw = pi/2: the car's length lies along y
    verts, _, _ = place_cars(np.array([0.0]), np.array([0.0]), np.array([np.pi / 2]),
                             np.array([4.0]), np.array([2.0]), np.array([1.5]))
    np.testing.assert_allclose(np.ptp(verts, axis=0), [2.0, 4.0, 1.5], atol=1e-5)


def test_place_cars_empty() -> None:
    verts, tris, owner = place_cars(*(np.zeros(0) for _ in range(6)))
    assert verts.shape == (0, 3) and tris.shape == (0, 3) and owner.shape == (0,)


@pytest.mark.parametrize("size", [(4.6, 1.85, 1.5), (12.0, 2.5, 3.6)])
def test_collision_hull_matches_size(size: tuple[float, float, float]) -> None:
    pts = collision_hull_vertices(*size)
    length, width, height = size
    np.testing.assert_array_equal(pts.min(axis=0), [-length / 2, -width / 2, 0.0])
    np.testing.assert_array_equal(pts.max(axis=0), [length / 2, width / 2, height])
    tv, _ = car_template()
    assert pts.shape == tv.shape
