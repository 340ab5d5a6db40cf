"""Lane borders, lane centres and world points of an OpenDRIVE road, vectorised over ``s``.

Conventions: ``t`` [m] is lateral, positive to the left of the reference line, measured
along the road's cross-section (which superelevation rolls). The centre lane (id 0) lies
at ``t = lane_offset(s)``. A left lane's outer border is its inner border plus its
width, a right lane's is minus; widths are cubics in
``ds = s - section.s0 - record.s_offset`` (the active record is the last with
``s_offset <= ds``). A lane with ``<border>`` records has its outer border at
``lane_offset(s) + border(ds)`` (signed ``t``). As the ASAM OpenDRIVE reference line
system defines it, superelevation rolls the t axis about the reference line: a point at
``t`` lies ``t cos(roll)`` to the left in the horizontal plane and
``z = elevation(s) + t sin(roll)`` high (positive roll lowers the right side, ``t < 0``).
"""

from __future__ import annotations

import numpy as np

from simulator.map.opendrive.records import XLane, XRoad, XSection
from simulator.map.opendrive.reference_line import elevation as elevation_m
from simulator.map.opendrive.reference_line import (
    eval_cubic,
    lane_offset,
    reference_pose,
    superelevation,
)


def section_index(road: XRoad, s) -> np.ndarray:
    """Index of the lane section holding each ``s``; a boundary ``s`` belongs to the later one."""
    s = np.atleast_1d(np.asarray(s, dtype=float))
    starts = np.array([sec.s0 for sec in road.sections])
    return np.clip(np.searchsorted(starts, s, side="right") - 1, 0, len(starts) - 1)


def _outer(lane: XLane, section: XSection, s: np.ndarray, inner: np.ndarray, base: np.ndarray):
    if lane.use_border:
        return base + eval_cubic(lane.borders, s, origin=section.s0)
    width = eval_cubic(lane.widths, s, origin=section.s0)
    return inner + width if lane.id > 0 else inner - width


def lane_borders_t(road: XRoad, index: int, s) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """``{lane_id: (inner_t, outer_t)}`` [m] of every lane of section ``index`` at ``s``.

    The centre lane maps to ``(lane_offset, lane_offset)``.
    """
    s = np.atleast_1d(np.asarray(s, dtype=float))
    section = road.sections[index]
    base = lane_offset(road, s)
    borders = {0: (base, base)}
    for side in (section.left, section.right):
        inner = base
        for lane in sorted(side, key=lambda ln: abs(ln.id)):
            outer = _outer(lane, section, s, inner, base)
            borders[lane.id] = (inner, outer)
            inner = outer
    return borders


def _lane_pair(road: XRoad, index: int, lane_id: int, s) -> tuple[np.ndarray, np.ndarray]:
    borders = lane_borders_t(road, index, s)
    if lane_id not in borders:
        raise KeyError(f"road {road.id}: section {index} has no lane {lane_id}")
    return borders[lane_id]


def lane_center_t(road: XRoad, index: int, lane_id: int, s) -> np.ndarray:
    """Lateral offset [m] of the middle of lane ``lane_id`` in section ``index`` at ``s``."""
    inner, outer = _lane_pair(road, index, lane_id, s)
    return 0.5 * (inner + outer)


def lane_width_t(road: XRoad, index: int, lane_id: int, s) -> np.ndarray:
    """Width [m] (``|outer - inner|``) of lane ``lane_id`` in section ``index`` at ``s``."""
    inner, outer = _lane_pair(road, index, lane_id, s)
    return np.abs(outer - inner)


def road_point(road: XRoad, s, t) -> np.ndarray:
    """World points ``(n, 3)`` [m] at ``(s, t)``: ``ref(s) + t cos(roll) * left normal``,
    ``z = elevation(s) + t sin(roll)`` (see the module docstring)."""
    s = np.atleast_1d(np.asarray(s, dtype=float))
    t = np.broadcast_to(np.asarray(t, dtype=float), s.shape)
    x, y, hdg = reference_pose(road, s)
    return cross_section_points(x, y, elevation_m(road, s), hdg, superelevation(road, s), t)


def cross_section_points(x, y, z, hdg, roll, t) -> np.ndarray:
    """(n, 3) points at cross-section offset ``t`` [m] from reference-line points (x, y, z)
    with headings ``hdg`` and superelevation ``roll`` [rad] (the module's convention)."""
    th = t * np.cos(roll)
    return np.stack([x - th * np.sin(hdg), y + th * np.cos(hdg), z + t * np.sin(roll)],
                    axis=1)


def per_section(road: XRoad, lane_id: int, s, fn) -> np.ndarray:
    """Apply ``fn(road, index, lane_id, s_part)`` per section; NaN where the lane is absent."""
    s = np.atleast_1d(np.asarray(s, dtype=float))
    out = np.full_like(s, np.nan)
    index = section_index(road, s)
    for i in np.unique(index):
        if road.sections[i].lane(lane_id) is None:
            continue
        mask = index == i
        out[mask] = fn(road, int(i), lane_id, s[mask])
    return out
