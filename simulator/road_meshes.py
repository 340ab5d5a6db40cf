"""Road geometry as scene objects: ground, asphalt, junction boxes and painted markings.

Markings are first built as centre polylines (:func:`build_markings`, stored on the HD map,
also what a bird's-eye view draws via :func:`bev_polylines`), then turned into thin flat
ribbons. Heights: ground at z = -0.02 m, asphalt at 0, paint at 0.01 m. Every triangle is
counter-clockwise seen from above (normal +z).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from simulator.hdmap import Marking, arc_advance, left_normals
from simulator.objects import SceneObject
from simulator.semantics import SEMANTIC_CLASSES

if TYPE_CHECKING:
    from simulator.hdmap import HDMap
    from simulator.roadnet import Carriageway

GROUND_Z_M, ROAD_Z_M, MARKING_Z_M = -0.02, 0.0, 0.01
GROUND_CELL_M = 50.0          # coarse ground grid
LINE_W_M = 0.15               # centre lines and lane dividers
EDGE_W_M = 0.20               # road edge lines, painted just inside the asphalt edge
STOP_W_M = 0.30               # stop lines: wider than dividers so cameras can see them
DASH_M, GAP_M = 3.0, 6.0
SOLID_BEFORE_STOP_M = 30.0    # incoming-lane dividers are solid this far before the stop line


# ------------------------------------------------------------------ marking polylines
def _point(cw: Carriageway, s: float, d: float) -> np.ndarray:
    i = int(np.clip(np.searchsorted(cw.s, s, side="right") - 1, 0, len(cw.s) - 2))
    xy, th = arc_advance(cw.xy[i], cw.heading[i], cw.kint[i], s - cw.s[i])
    return xy + d * left_normals(th)


def _offset_line(cw: Carriageway, d: float, s0: float = 0.0,
                 s1: float | None = None) -> np.ndarray:
    """Points at left offset ``d`` of the reference between reference s0 and s1 [m]."""
    s1 = float(cw.s[-1]) if s1 is None else s1
    if s0 <= 0.0 and s1 >= cw.s[-1]:
        return cw.offset(d)
    inner = (cw.s > s0) & (cw.s < s1)
    return np.vstack([_point(cw, s0, d)[None], cw.offset(d)[inner], _point(cw, s1, d)[None]])


def build_markings(carriageways: list[Carriageway]) -> list[Marking]:
    """Painted lines of every carriageway (see module docstring for the rules)."""
    out: list[Marking] = []
    for cw in carriageways:
        w, nr, nl, rid = cw.lane_width_m, cw.n_right, cw.n_left, cw.road_id
        length = float(cw.s[-1])
        out.append(Marking(_offset_line(cw, -cw.right_width_m + EDGE_W_M / 2), "solid",
                           "white", EDGE_W_M, rid))
        out.append(Marking(_offset_line(cw, cw.left_width_m - EDGE_W_M / 2), "solid",
                           "white", EDGE_W_M, rid))
        if nr and nl:
            out.append(Marking(_offset_line(cw, 0.0), "solid", "yellow", LINE_W_M, rid))
        for k in range(1, nr):
            out.append(Marking(_offset_line(cw, -k * w), "dashed", "white", LINE_W_M, rid))
        for k in range(1, nl):
            if not cw.is_arm:
                out.append(Marking(_offset_line(cw, k * w), "dashed", "white", LINE_W_M, rid))
                continue
            # Arm: the left lanes come in and stop at the reference start (the box edge).
            solid_end = min(SOLID_BEFORE_STOP_M, length)
            out.append(Marking(_offset_line(cw, k * w, 0.0, solid_end), "solid", "white",
                               LINE_W_M, rid))
            if solid_end < length:
                # Reversed so the dash pattern starts far from the junction.
                out.append(Marking(_offset_line(cw, k * w, solid_end, length)[::-1].copy(),
                                   "dashed", "white", LINE_W_M, rid))
        if cw.is_arm and nl:
            d0 = LINE_W_M / 2 if nr else 0.0
            line = np.vstack([_point(cw, STOP_W_M / 2, d0),
                              _point(cw, STOP_W_M / 2, cw.left_width_m - EDGE_W_M)])
            out.append(Marking(line, "solid", "white", STOP_W_M, rid))
    return out


def _cut(polyline: np.ndarray, cum: np.ndarray, a: float, b: float) -> np.ndarray:
    """The part of a polyline between arc lengths a < b (cum: its cumulative lengths)."""
    inner = (cum > a) & (cum < b)
    pa = np.array([np.interp(a, cum, polyline[:, 0]), np.interp(a, cum, polyline[:, 1])])
    pb = np.array([np.interp(b, cum, polyline[:, 0]), np.interp(b, cum, polyline[:, 1])])
    return np.vstack([pa, polyline[inner], pb])


def painted_pieces(marking: Marking) -> list[np.ndarray]:
    """The polylines actually painted: the whole line, or its 3 m dashes (6 m gaps)."""
    if marking.style != "dashed":
        return [marking.polyline]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(marking.polyline, axis=0).T))])
    total = float(cum[-1])
    starts = np.arange(0.0, total, DASH_M + GAP_M)
    return [_cut(marking.polyline, cum, a, min(a + DASH_M, total)) for a in starts
            if min(a + DASH_M, total) - a > 0.05]


def bev_polylines(hdmap: HDMap) -> list[tuple[np.ndarray, str, float]]:
    """(polyline (N, 2) [m], color name, width [m]) of every painted piece, for 2D views."""
    return [(p, m.color, m.width_m) for m in hdmap.markings for p in painted_pieces(m)]


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
