"""Road geometry as scene objects: ground, asphalt, junction boxes and painted markings.

Markings come from the HD map as centre polylines (:mod:`simulator.map.markings`) and are
turned into thin flat ribbons here. Heights: ground at z = -0.02 m, asphalt at 0, paint at
0.01 m. Every triangle is counter-clockwise seen from above (normal +z).
"""

from __future__ import annotations

import math

import numpy as np

from simulator.map.hdmap import HDMap
from simulator.map.markings import painted_pieces
from simulator.scene.objects import SceneObject
from simulator.scene.semantics import SEMANTIC_CLASSES

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
    """A flat band of ``width_m`` centred on a polyline, at height z [m]."""
    p = np.asarray(polyline, np.float64)
    tang = np.gradient(p, axis=0)
    tang /= np.maximum(np.hypot(tang[:, 0], tang[:, 1]), 1e-12)[:, None]
    nrm = np.stack([-tang[:, 1], tang[:, 0]], 1) * (width_m / 2)
    return _strip(p + nrm, p - nrm, z)


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
    items: list[tuple[str, int, str, tuple[np.ndarray, np.ndarray]]] = [
        ("ground", sem["ground"], "ground", ground_mesh(hdmap.ground_size_m))]
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
