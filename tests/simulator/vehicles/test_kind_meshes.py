"""Every kind's mesh: exact unit box, closed part by part and outward-facing, small; a mixed
fleet placed where the vehicles are; what a ray sees (a bicycle is not a box)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import open3d as o3d
import pytest

from simulator.vehicles.kinds import KINDS
from simulator.vehicles.mesh import (
    MESHES,
    collision_hull_vertices,
    mesh_index,
    place_cars,
    place_vehicles,
    template,
)


def normals(v: np.ndarray, t: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)
    return np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])


def signed_volume(v: np.ndarray, t: np.ndarray) -> float:
    v = v.astype(np.float64)
    return float(np.einsum("ij,ij->i", v[t[:, 0]], np.cross(v[t[:, 1]], v[t[:, 2]])).sum() / 6)


def parts(t: np.ndarray) -> list[np.ndarray]:
    """Triangle indices of each connected part (parts joined by shared vertices)."""
    parent = np.arange(t.max() + 1)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b, c in t:
        ra, rb, rc = root(a), root(b), root(c)
        parent[rb] = ra
        parent[root(rc)] = ra
    labels = np.array([root(a) for a in t[:, 0]])
    return [np.flatnonzero(labels == lab) for lab in np.unique(labels)]


def test_meshes_cover_every_kind() -> None:
    assert MESHES == ("car", "van", "truck", "bus", "cyclist", "motorcycle")
    assert {k.mesh for k in KINDS.values()} == set(MESHES)
    assert [mesh_index(m) for m in MESHES] == list(range(len(MESHES)))
    with pytest.raises(ValueError, match="known: car, van"):
        mesh_index("tractor")


@pytest.mark.parametrize("name", MESHES)
def test_template_types_bbox_and_size(name: str) -> None:
    v, t = template(name)
    assert v.dtype == np.float32 and t.dtype == np.int32
    assert v.ndim == 2 and v.shape[1] == 3 and t.ndim == 2 and t.shape[1] == 3
    assert len(v) < 300 and len(t) < 600
    assert t.min() == 0 and t.max() == len(v) - 1
    np.testing.assert_array_equal(v.min(axis=0), [-0.5, -0.5, 0.0])
    np.testing.assert_array_equal(v.max(axis=0), [0.5, 0.5, 1.0])
    assert np.all(np.linalg.norm(normals(v, t), axis=1) > 1e-4)   # no degenerate triangles
    # copies: changing them does not change the template
    v[:] = 7
    assert template(name)[0].max() == 1.0


@pytest.mark.parametrize("name", MESHES)
def test_template_closed_and_consistently_wound(name: str) -> None:
    _, t = template(name)
    directed = Counter()
    for a, b, c in t:
        directed.update([(a, b), (b, c), (c, a)])
    # every edge in exactly two triangles, traversed in opposite directions
    assert max(directed.values()) == 1
    assert all((b, a) in directed for a, b in directed)


@pytest.mark.parametrize("name", MESHES)
def test_template_every_part_faces_outward(name: str) -> None:
    v, t = template(name)
    ps = parts(t)
    assert sum(len(p) for p in ps) == len(t)
    for p in ps:
        assert signed_volume(v, t[p]) > 0
    # the floor-most and the top-most triangles face down and up, the foremost forward
    nrm = normals(v, t)
    z = v[t][:, :, 2]
    top = np.all(z == 1.0, axis=1)
    if top.any():
        assert np.all(nrm[top, 2] > 0)
    front = np.all(v[t][:, :, 0] == 0.5, axis=1)
    if front.any():
        assert np.all(nrm[front, 0] > 0)
    bottom = np.all(z == z.min(), axis=1)
    if z.min() == 0 and bottom.any():
        assert np.all(nrm[bottom, 2] < 0)


def test_templates_differ_as_their_kinds_do() -> None:
    expected_parts = {"car": 1, "van": 5, "bus": 5}
    for name, n in expected_parts.items():
        assert len(parts(template(name)[1])) == n
    assert len(parts(template("truck")[1])) >= 3 + 4     # cab, cargo box, rails, wheels
    assert len(parts(template("cyclist")[1])) >= 8
    assert len(parts(template("motorcycle")[1])) >= 8
    # truck: the cargo box makes the top, the cab is lower, with a gap between them
    v, _ = template("truck")
    assert v[v[:, 2] == 1.0, 0].max() < 0.3
    vols = {n: signed_volume(*template(n)) for n in MESHES}
    assert vols["bus"] > vols["van"] > vols["car"] > 0.5
    assert vols["cyclist"] < 0.2 and vols["motorcycle"] < 0.3


def _mixed_fleet(rng: np.random.Generator, n: int = 13):
    names = list(KINDS)
    kinds = [names[i % len(names)] for i in range(n)]
    rng.shuffle(kinds)
    idx = np.array([mesh_index(KINDS[k].mesh) for k in kinds])
    size = np.array([[KINDS[k].spec.length_m, KINDS[k].spec.width_m, KINDS[k].spec.height_m]
                     for k in kinds]) * rng.uniform(0.9, 1.1, (n, 1))
    x, y = rng.uniform(-100, 100, (2, n))
    yaw = rng.uniform(-np.pi, np.pi, n)
    return idx, x, y, yaw, size


def test_place_vehicles_mixed_fleet_poses_sizes_and_owner() -> None:
    rng = np.random.default_rng(3)
    idx, x, y, yaw, size = _mixed_fleet(rng)
    z = rng.uniform(-1, 1, len(x))
    verts, tris, owner = place_vehicles(idx, x, y, yaw, *size.T, z=z)
    assert verts.dtype == np.float32 and tris.dtype == np.int32 and owner.dtype == np.int32
    tmpl = [template(m) for m in MESHES]
    assert len(verts) == sum(len(tmpl[m][0]) for m in idx)
    assert len(tris) == len(owner) == sum(len(tmpl[m][1]) for m in idx)
    assert tris.min() == 0 and tris.max() == len(verts) - 1
    for i in range(len(x)):
        tv, tt = tmpl[idx[i]]
        mine = tris[owner == i]
        assert len(mine) == len(tt)
        # vehicle i's triangles are its template's, on a contiguous block of vertices
        base = mine.min()
        np.testing.assert_array_equal(mine, tt + base)
        vi = verts[base:base + len(tv)].astype(np.float64)
        c, s = np.cos(yaw[i]), np.sin(yaw[i])
        local = tv * size[i]
        want = np.stack([x[i] + c * local[:, 0] - s * local[:, 1],
                         y[i] + s * local[:, 0] + c * local[:, 1],
                         z[i] + local[:, 2]], axis=1)
        np.testing.assert_allclose(vi, want, atol=1e-4)
        assert signed_volume(vi - vi.mean(axis=0), tt) > 0    # winding kept outward
    # grouped by template in MESHES order, input order within a group
    first_tri = [np.flatnonzero(owner == i)[0] for i in range(len(x))]
    order = np.argsort(first_tri)
    np.testing.assert_array_equal(order, np.lexsort((np.arange(len(x)), idx)))


def test_place_vehicles_all_cars_is_place_cars() -> None:
    rng = np.random.default_rng(5)
    n = 9
    x, y = rng.uniform(-50, 50, (2, n))
    yaw = rng.uniform(-3, 3, n)
    length, width, height = rng.uniform(3.5, 5.5, n), rng.uniform(1.6, 2.1, n), \
        rng.uniform(1.3, 1.8, n)
    z = rng.uniform(0, 2, n)
    for zz in (None, z):
        got = place_vehicles(np.zeros(n, int), x, y, yaw, length, width, height, z=zz)
        want = place_cars(x, y, yaw, length, width, height, z=zz)
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


def test_place_vehicles_empty_and_bad_index() -> None:
    verts, tris, owner = place_vehicles(np.zeros(0, int), *(np.zeros(0) for _ in range(6)))
    assert verts.shape == (0, 3) and tris.shape == (0, 3) and owner.shape == (0,)
    assert verts.dtype == np.float32 and tris.dtype == np.int32 and owner.dtype == np.int32
    with pytest.raises(ValueError, match="mesh_idx"):
        place_vehicles(np.array([len(MESHES)]), *(np.zeros(1) for _ in range(6)))


@pytest.mark.parametrize("name", MESHES)
def test_collision_hull_matches_size(name: str) -> None:
    pts = collision_hull_vertices(9.5, 2.5, 3.4, mesh=name)
    assert pts.dtype == np.float64 and pts.shape == template(name)[0].shape
    np.testing.assert_array_equal(pts.min(axis=0), [-4.75, -1.25, 0.0])
    np.testing.assert_array_equal(pts.max(axis=0), [4.75, 1.25, 3.4])


def _cast(verts: np.ndarray, tris: np.ndarray, origin, direction) -> float:
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(verts), o3d.core.Tensor(tris.astype(np.uint32)))
    ray = np.array([[*origin, *direction]], np.float32)
    return float(scene.cast_rays(o3d.core.Tensor(ray))["t_hit"].numpy()[0])


def test_ray_sees_the_cyclist_wheel_but_not_through_the_gap() -> None:
    spec = KINDS["cyclist"].spec
    length, width, height = spec.length_m, spec.width_m, spec.height_m
    x0, y0, yaw = 20.0, -3.0, 0.6
    verts, tris, _ = place_vehicles(np.array([mesh_index("cyclist")]), [x0], [y0], [yaw],
                                    [length], [width], [height])
    fwd = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    left = np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    centre = np.array([x0, y0, 0.0])
    # the wheel centre height: the wheels are the lowest parts, 0.68 m across in 1.75 m
    tv, _ = template("cyclist")
    wheel_z = tv[tv[:, 0] == tv[:, 0].min(), 2].mean() * height
    assert 0.3 < wheel_z < 0.4
    # along the length axis, from 5 m behind: the rear wheel's rim, at the back of the box
    t_hit = _cast(verts, tris, centre - 5 * fwd + [0, 0, wheel_z], fwd)
    assert t_hit == pytest.approx(5 - length / 2, abs=0.02)
    # and from ahead, the front wheel
    t_hit = _cast(verts, tris, centre + 5 * fwd + [0, 0, wheel_z], -fwd)
    assert t_hit == pytest.approx(5 - length / 2, abs=0.02)
    # sideways at 0.1 h between the wheels: nothing there (a box would be hit)
    t_hit = _cast(verts, tris, centre + 5 * left + [0, 0, 0.1 * height], -left)
    assert np.isinf(t_hit)
    # sideways through the rider's torso at 1.2 m: hit, within the box's half-width
    t_hit = _cast(verts, tris, centre + 5 * left + [0, 0, 1.2], -left)
    assert 5 - width / 2 - 1e-3 <= t_hit < 5
