"""Read an ASAM OpenDRIVE file (.xodr, 1.4-1.8) into plain records (:mod:`.records`).

Errors raise :class:`OpenDriveError` ``"<file>: road <id>: <element>: problem"``; a
malformed XML file names its line. Unsupported element kinds (``<surface>``,
``<railroad>``, ``<crg>``, unknown geometry types, ...) are skipped with one warning per
kind per file, kept in :attr:`XodrMap.warnings` and logged once (logger
``simulator.map.opendrive.xodr``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simulator.map.opendrive import lane_geometry as lg
from simulator.map.opendrive.parse_util import Context
from simulator.map.opendrive.records import (
    OpenDriveError,
    XConnection,
    XController,
    XHeader,
    XJunction,
    XLink,
    XRoad,
)
from simulator.map.opendrive.xodr_elements import (
    parse_geometries,
    parse_objects,
    parse_sections,
    parse_signals,
)

_ROOT_CHILDREN = frozenset({"header", "road", "junction", "controller"})
_ROAD_CHILDREN = frozenset(
    {"link", "type", "planView", "elevationProfile", "lateralProfile", "lanes", "objects",
     "signals"}
)


@dataclass(frozen=True)
class XodrMap:
    """A whole OpenDRIVE file; ``roads``/``junctions``/``controllers`` keyed by id, file order."""

    path: str
    header: XHeader
    roads: dict[str, XRoad]
    junctions: dict[str, XJunction]
    controllers: dict[str, XController]
    warnings: list[str] = field(default_factory=list)

    def lane_center_points(self, road_id: str, lane_id: int, s) -> np.ndarray:
        """World points ``(n, 3)`` [m] of the lane's centre line at ``s`` [m].

        The lane section is picked per ``s`` (a boundary ``s`` belongs to the later
        section); rows are NaN where the section has no such lane.
        """
        road = self.roads[road_id]
        s = np.atleast_1d(np.asarray(s, dtype=float))
        t = lg.per_section(road, lane_id, s, lg.lane_center_t)
        points = lg.road_point(road, s, np.nan_to_num(t))
        points[np.isnan(t)] = np.nan
        return points

    def lane_width(self, road_id: str, lane_id: int, s) -> np.ndarray:
        """Width [m] of the lane at ``s`` [m] (NaN where the section has no such lane)."""
        return lg.per_section(self.roads[road_id], lane_id, s, lg.lane_width_t)


def read_xodr(path: str | Path) -> XodrMap:
    """Read and parse the OpenDRIVE file at ``path``."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise OpenDriveError(f"{path}: cannot read: {exc}") from exc
    return parse_xodr(text, str(path))


def parse_xodr(text: str | bytes, path: str = "<string>") -> XodrMap:
    """Parse OpenDRIVE XML text; ``path`` is only used in messages and :attr:`XodrMap.path`."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        line, column = exc.position
        raise OpenDriveError(f"{path}:{line}:{column}: malformed XML: {exc}") from None
    if root.tag.startswith("{"):
        for el in root.iter():
            el.tag = el.tag.split("}", 1)[-1]
    if root.tag != "OpenDRIVE":
        raise OpenDriveError(f"{path}: not an OpenDRIVE file (root element <{root.tag}>)")
    ctx = Context(path)
    ctx.check_children(root, _ROOT_CHILDREN)
    header = _header(ctx, root.find("header"))
    roads = {}
    for el in root.findall("road"):
        road = _road(ctx, el)
        if road.id in roads:
            raise ctx.error(el, "duplicate road id")
        roads[road.id] = road
    ctx.scope = "file"
    junctions = {j.id: j for j in (_junction(ctx, el) for el in root.findall("junction"))}
    controllers = {c.id: c for c in (_controller(ctx, el) for el in root.findall("controller"))}
    return XodrMap(path, header, roads, junctions, controllers, ctx.warnings)


def _header(ctx: Context, el: ET.Element | None) -> XHeader:
    if el is None:
        raise OpenDriveError(f"{ctx.file}: no <header>")
    ctx.scope = "header"
    ctx.check_children(el, frozenset({"geoReference", "offset"}))
    geo = el.find("geoReference")
    offset_el = el.find("offset")
    offset = None
    if offset_el is not None:
        offset = tuple(ctx.num(offset_el, k, 0.0) for k in ("x", "y", "z", "hdg"))
    return XHeader(
        name=el.get("name", ""),
        rev_major=ctx.integer(el, "revMajor", 1),
        rev_minor=ctx.integer(el, "revMinor", 4),
        geo_reference=None if geo is None else "".join(geo.itertext()).strip(),
        offset=offset,
    )


def _link(ctx: Context, el: ET.Element | None) -> XLink | None:
    if el is None:
        return None
    kind = el.get("elementType", "road")
    if kind not in ("road", "junction"):
        raise ctx.error(el, f"elementType={kind!r} is not road or junction")
    contact = el.get("contactPoint")
    if contact not in (None, "start", "end"):
        raise ctx.error(el, f"contactPoint={contact!r} is not start or end")
    return XLink(kind, ctx.text(el, "elementId"), contact)


def _road_speed_mps(ctx: Context, el: ET.Element) -> float | None:
    for road_type in el.findall("type"):
        speed = road_type.find("speed")
        if speed is not None:
            return ctx.speed_mps(speed)
    return None


def _profile(ctx: Context, parent: ET.Element | None, tag: str, known: frozenset[str]):
    if parent is None:
        return ()
    ctx.check_children(parent, known)
    return tuple(sorted((ctx.cubic(e) for e in parent.findall(tag)), key=lambda r: r.s))


def _road(ctx: Context, el: ET.Element) -> XRoad:
    road_id = el.get("id")
    ctx.scope = f"road {road_id}"
    if road_id is None:
        raise ctx.error(el, "missing attribute 'id'")
    ctx.check_children(el, _ROAD_CHILDREN)
    length = ctx.num(el, "length")
    link = el.find("link")
    junction = el.get("junction", "-1")
    lanes = el.find("lanes")
    signals, refs = parse_signals(ctx, el.find("signals"))
    if lanes is not None:
        ctx.check_children(lanes, frozenset({"laneOffset", "laneSection"}))
    return XRoad(
        id=road_id,
        name=el.get("name", ""),
        length_m=length,
        junction=None if junction == "-1" else junction,
        predecessor=None if link is None else _link(ctx, link.find("predecessor")),
        successor=None if link is None else _link(ctx, link.find("successor")),
        speed_mps=_road_speed_mps(ctx, el),
        geometries=parse_geometries(ctx, el.find("planView")),
        elevation=_profile(ctx, el.find("elevationProfile"), "elevation",
                           frozenset({"elevation"})),
        superelevation=_profile(ctx, el.find("lateralProfile"), "superelevation",
                                frozenset({"superelevation"})),
        lane_offset=() if lanes is None else tuple(
            sorted((ctx.cubic(e) for e in lanes.findall("laneOffset")), key=lambda r: r.s)
        ),
        sections=tuple(parse_sections(ctx, lanes, length)),
        signals=signals,
        signal_refs=refs,
        objects=parse_objects(ctx, el.find("objects")),
    )


def _junction(ctx: Context, el: ET.Element) -> XJunction:
    ctx.scope = f"junction {el.get('id')}"
    ctx.check_children(el, frozenset({"connection", "controller"}))
    connections = []
    for c in el.findall("connection"):
        links = tuple(
            (ctx.integer(ll, "from"), ctx.integer(ll, "to")) for ll in c.findall("laneLink")
        )
        connections.append(
            XConnection(
                id=ctx.text(c, "id"),
                incoming_road=ctx.text(c, "incomingRoad"),
                connecting_road=ctx.text(c, "connectingRoad"),
                contact_point=c.get("contactPoint"),
                lane_links=links,
            )
        )
    return XJunction(
        id=ctx.text(el, "id"),
        name=el.get("name", ""),
        connections=tuple(connections),
        controller_ids=tuple(ctx.text(c, "id") for c in el.findall("controller")),
    )


def _controller(ctx: Context, el: ET.Element) -> XController:
    ctx.scope = f"controller {el.get('id')}"
    ctx.check_children(el, frozenset({"control"}))
    return XController(
        id=ctx.text(el, "id"),
        name=el.get("name", ""),
        signal_ids=tuple(ctx.text(c, "signalId") for c in el.findall("control")),
    )
