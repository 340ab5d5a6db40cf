"""Road geometry as scene objects: ground, asphalt, junction boxes and painted markings.

Markings come from the HD map as centre polylines (:mod:`simulator.map.markings`) and are
turned into thin flat ribbons here. Heights: ground at z = -0.02 m, asphalt at 0, paint at
0.01 m; on maps with elevation asphalt and paint lie on the map's surface heights (plus
those offsets) and the ground is a height field under the roads (:mod:`.terrain`). Every
triangle is counter-clockwise seen from above (normal +z).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.map.hdmap import HDMap
from simulator.map.markings import painted_pieces
from simulator.scene.objects import SceneObject
from simulator.scene.semantics import SEMANTIC_CLASSES
from simulator.scene.terrain import terrain_mesh

GROUND_Z_M, ROAD_Z_M, MARKING_Z_M = -0.02, 0.0, 0.01
GROUND_CELL_M = 50.0          # coarse ground grid


# ------------------------------------------------------------------ meshes
def _strip(left: np.ndarray, right: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangle strip between two polylines running the same way (left seen along it)."""
    n = len(left)
    v = np.zeros((2 * n, 3), np.float32)
    v[0::2, :2], v[1::2, :2], v[:, 2] = right, left, z
    i = 2 * np.arange(n - 1)
    t = np.concatenate([np.stack([i, i + 2, i + 3], 1), np.stack([i, i + 3, i + 1], 1)])
    return v, t.astype(np.int32)


def ribbon(polyline: np.ndarray, width_m: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """A band of ``width_m`` centred on a polyline, at height z [m] (above the polyline's
    own heights when it is (N, 3))."""
    p = np.asarray(polyline, np.float64)
    tang = np.gradient(p[:, :2], axis=0)
    tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1]), 1e-12)[:, None]
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1) * (width_m / 2)
    v, t = _strip(p[:, :2] + nrm, p[:, :2] - nrm, z)
    if p.shape[1] == 3:
        v[:, 2] += np.repeat(p[:, 2], 2).astype(np.float32)
    return v, t


def _strip3(left: np.ndarray, right: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Triangle strip between two (N, 3) polylines, lifted by z [m]."""
    v, t = _strip(left[:, :2], right[:, :2], z)
    v[0::2, 2] += right[:, 2].astype(np.float32)
    v[1::2, 2] += left[:, 2].astype(np.float32)
    return v, t


def _fan(center: np.ndarray, outline: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Fan triangulation of a counter-clockwise outline that is star-shaped about center."""
    k = len(outline)
    v = np.zeros((k + 1, 3), np.float32)
    v[0, :2], v[1:, :2], v[:, 2] = center, outline, z
    j = np.arange(k)
    return v, np.stack([np.zeros(k, int), 1 + j, 1 + (j + 1) % k], 1).astype(np.int32)


def ground_mesh(size_m: float, z: float = GROUND_Z_M) -> tuple[np.ndarray, np.ndarray]:
    """A square grid of side ``size_m`` centred on the origin, cells <= GROUND_CELL_M."""
    g = max(1, math.ceil(size_m / GROUND_CELL_M))
    ax = np.linspace(-size_m / 2, size_m / 2, g + 1)
    gx, gy = np.meshgrid(ax, ax)                   # row = y, column = x
    v = np.stack([gx.ravel(), gy.ravel(), np.full(gx.size, z)], 1).astype(np.float32)
    r, c = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    a = (r * (g + 1) + c).ravel()
    t = np.concatenate([np.stack([a, a + 1, a + g + 2], 1), np.stack([a, a + g + 2, a + g + 1], 1)])
    return v, t.astype(np.int32)


def _merge(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    return (np.concatenate([v for v, _ in parts]).astype(np.float32),
            np.concatenate([t + o for (_, t), o in zip(parts, offsets)]).astype(np.int32))


def build_road_objects(hdmap: HDMap, first_instance_id: int) -> list[SceneObject]:
    """Ground, one asphalt object per road/arm and per junction, and the markings merged
    per road/intersection and colour; instance ids consecutive from first_instance_id."""
    sem = SEMANTIC_CLASSES
    if hdmap.strips and not hdmap.table.flat:   # roads with elevation: a height field
        pts = np.concatenate([np.concatenate([s.left, s.right]) for s in hdmap.strips])
        ground = terrain_mesh(pts, hdmap.ground_size_m)
    else:
        ground = ground_mesh(hdmap.ground_size_m)
    items: list[tuple[str, int, str, tuple[np.ndarray, np.ndarray]]] = [
        ("ground", sem["ground"], "ground", ground)]
    by_road: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for st in hdmap.strips:       # OpenDRIVE lanes: one object per road and surface kind
        kind = "sidewalk" if st.kind == "sidewalk" else "road"
        z = ROAD_Z_M                   # a sidewalk strip already stands on its kerb
        by_road.setdefault((st.road_id, kind), []).append(_strip3(st.left, st.right, z))
    for (rid, kind), parts in by_road.items():
        material = "concrete" if kind == "sidewalk" else "asphalt"
        items.append((f"{kind}/{rid}", sem[kind], material, _merge(parts)))
    for cw in hdmap.carriageways:
        mesh = _strip(cw.offset(cw.left_width_m), cw.offset(-cw.right_width_m), ROAD_Z_M)
        items.append((cw.name, sem["road"], "asphalt", mesh))
    for jn in hdmap.junctions:
        items.append((f"junction/{jn.id}", sem["road"], "asphalt",
                      _fan(jn.center, jn.outline(), ROAD_Z_M)))
    groups: dict[tuple[str, str], list[tuple[np.ndarray, np.ndarray]]] = {}
    for m in hdmap.markings:
        for piece in painted_pieces(m):
            groups.setdefault((m.road_id, m.color), []).append(
                ribbon(piece, m.width_m, MARKING_Z_M))
    for (rid, color), parts in groups.items():
        items.append((f"marking/{rid}/{color}", sem["lane_marking"], f"marking_{color}",
                      _merge(parts)))
    return [SceneObject(name, semantic, first_instance_id + k, material, v, t)
            for k, (name, semantic, material, (v, t)) in enumerate(items)]
