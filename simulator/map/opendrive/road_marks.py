"""Painted lines of an OpenDRIVE file from its ``<roadMark>`` records, as HD-map markings.

A lane's road mark lies on its outer border (the centre lane's on the lane-offset line),
from ``sOffset`` to the next record or the section end. ``solid`` and ``broken`` become
solid and dashed (3 m / 6 m) lines; the double types (``solid solid``, ``solid broken``,
``broken solid``, ``broken broken``) two lines ``width + 0.1 m`` apart (first word: the
line on the left, looking along the reference line); ``botts dots`` a dashed line.
Colours ``yellow`` / ``orange`` are yellow, all others white. Other types (``none``,
``curb``, ``grass`` ...) paint nothing.
"""

from __future__ import annotations

import numpy as np

from simulator.map.lanes import Marking
from simulator.map.opendrive.lane_geometry import cross_section_points, lane_borders_t
from simulator.map.opendrive.records import XRoad
from simulator.map.opendrive.reference_line import elevation, reference_pose, superelevation
from simulator.map.opendrive.xodr import XodrMap

STEP_M = 0.5
DEFAULT_WIDTH_M = 0.15
DOUBLE_GAP_M = 0.1
_STYLES = {"solid": ["solid"], "broken": ["dashed"], "botts dots": ["dashed"],
           "solid solid": ["solid", "solid"], "solid broken": ["solid", "dashed"],
           "broken solid": ["dashed", "solid"], "broken broken": ["dashed", "dashed"]}


def _color(name: str | None) -> str:
    return "yellow" if (name or "").lower() in ("yellow", "orange") else "white"


def _marks_of_road(road: XRoad, origin: np.ndarray) -> list[Marking]:
    out: list[Marking] = []
    for i, sec in enumerate(road.sections):
        for lane in (sec.center,) + sec.left + sec.right:
            marks = sorted(lane.road_marks, key=lambda m: m.s_offset)
            for k, mark in enumerate(marks):
                styles = _STYLES.get(mark.type)
                if styles is None:
                    continue
                a = sec.s0 + mark.s_offset
                b = sec.s0 + marks[k + 1].s_offset if k + 1 < len(marks) else sec.s1
                if b - a < 0.05:
                    continue
                s = np.linspace(a, b, max(2, int(np.ceil((b - a) / STEP_M)) + 1))
                s[-1] = b - 1e-9          # the section's own records, not the next ones
                t_line = lane_borders_t(road, i, s)[lane.id][1]
                x, y, hdg = reference_pose(road, s)
                z0, roll = elevation(road, s), superelevation(road, s)
                width = mark.width_m if mark.width_m and mark.width_m > 0 else DEFAULT_WIDTH_M
                shifts = [0.0] if len(styles) == 1 else \
                    [0.5 * (width + DOUBLE_GAP_M), -0.5 * (width + DOUBLE_GAP_M)]
                for style, dt in zip(styles, shifts):
                    p = cross_section_points(x, y, z0, hdg, roll, t_line + dt) - origin
                    xy, z = np.ascontiguousarray(p[:, :2]), np.ascontiguousarray(p[:, 2])
                    out.append(Marking(xy, style, _color(mark.color), float(width), road.id, z))
    return out


def build_road_marks(odr: XodrMap, origin: np.ndarray) -> list[Marking]:
    """Every painted line of the file, in world coordinates (file minus ``origin``)."""
    return [m for road in odr.roads.values() for m in _marks_of_road(road, origin)]
