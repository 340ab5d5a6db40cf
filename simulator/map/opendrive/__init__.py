"""ASAM OpenDRIVE (.xodr 1.4-1.8): a reader into plain records and exact road geometry.

``read_xodr(path)`` gives an :class:`XodrMap`; :mod:`.reference_line` evaluates plan views
and cubic profiles, :mod:`.lane_geometry` lane borders, centres and world points.
"""

from simulator.map.opendrive.lane_geometry import (
    lane_borders_t,
    lane_center_t,
    lane_width_t,
    road_point,
    section_index,
)
from simulator.map.opendrive.records import (
    Cubic,
    OpenDriveError,
    XConnection,
    XController,
    XGeometry,
    XHeader,
    XJunction,
    XLane,
    XLink,
    XObject,
    XRoad,
    XRoadMark,
    XSection,
    XSignal,
    XSignalRef,
)
from simulator.map.opendrive.reference_line import (
    elevation,
    elevation_slope,
    eval_cubic,
    eval_geometry,
    lane_offset,
    reference_pose,
    superelevation,
)
from simulator.map.opendrive.xodr import XodrMap, parse_xodr, read_xodr

__all__ = [
    "Cubic",
    "OpenDriveError",
    "XConnection",
    "XController",
    "XGeometry",
    "XHeader",
    "XJunction",
    "XLane",
    "XLink",
    "XObject",
    "XRoad",
    "XRoadMark",
    "XSection",
    "XSignal",
    "XSignalRef",
    "XodrMap",
    "elevation",
    "elevation_slope",
    "eval_cubic",
    "eval_geometry",
    "lane_borders_t",
    "lane_center_t",
    "lane_offset",
    "lane_width_t",
    "parse_xodr",
    "read_xodr",
    "reference_pose",
    "road_point",
    "section_index",
    "superelevation",
]
