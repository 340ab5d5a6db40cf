"""Painted lane markings of a map as centre polylines: edge lines, centre lines, lane
dividers (dashed, solid before stop lines), stop lines. The scene turns them into ribbons
(:mod:`simulator.scene.road_meshes`); 2D views draw them via :func:`bev_polylines`.
"""

from __future__ import annotations

import numpy as np

from simulator.map.geometry import arc_advance, left_normals
from simulator.map.hdmap import HDMap
from simulator.map.lanes import Marking
from simulator.map.surfaces import Carriageway

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
    """The part of a polyline (N, 2 or 3) between arc lengths a < b (cum: its cumulative
    lengths)."""
    inner = (cum > a) & (cum < b)
    pa = np.array([np.interp(a, cum, polyline[:, k]) for k in range(polyline.shape[1])])
    pb = np.array([np.interp(b, cum, polyline[:, k]) for k in range(polyline.shape[1])])
    return np.vstack([pa, polyline[inner], pb])


def painted_pieces(marking: Marking) -> list[np.ndarray]:
    """The polylines actually painted: the whole line, or its 3 m dashes (6 m gaps).
    (N, 2) on flat maps, (N, 3) with the surface height when the marking has ``z``."""
    line = marking.polyline if marking.z is None else np.column_stack(
        [marking.polyline, marking.z])
    if marking.style != "dashed":
        return [line]
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(marking.polyline, axis=0).T))])
    total = float(cum[-1])
    starts = np.arange(0.0, total, DASH_M + GAP_M)
    return [_cut(line, cum, a, min(a + DASH_M, total)) for a in starts
            if min(a + DASH_M, total) - a > 0.05]


def bev_polylines(hdmap: HDMap) -> list[tuple[np.ndarray, str, float]]:
    """(polyline (N, 2) [m], color name, width [m]) of every painted piece, for 2D views."""
    return [(p[:, :2], m.color, m.width_m) for m in hdmap.markings for p in painted_pieces(m)]


