"""Parsing of a road's sub-elements: plan view, lanes, signals and objects."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from simulator.map.opendrive.parse_util import Context
from simulator.map.opendrive.records import (
    XGeometry,
    XLane,
    XObject,
    XRoadMark,
    XSection,
    XSignal,
    XSignalRef,
)

_GEOMETRY_PARAMS = {
    "line": (),
    "arc": ("curvature",),
    "spiral": ("curvStart", "curvEnd"),
    "poly3": ("a", "b", "c", "d"),
    "paramPoly3": ("aU", "bU", "cU", "dU", "aV", "bV", "cV", "dV"),
}
_LANE_CHILDREN = frozenset({"link", "width", "border", "roadMark", "speed"})
_SECTION_CHILDREN = frozenset({"left", "center", "right"})


def parse_geometries(ctx: Context, plan_view: ET.Element | None) -> tuple[XGeometry, ...]:
    """The ``<geometry>`` records sorted by ``s``. A record of an unknown kind is read as a
    line from its start pose (with one warning per kind), so the road stays continuous
    where the file's next record takes over; a road without any record is an error."""
    if plan_view is None or plan_view.find("geometry") is None:
        raise ctx.error(plan_view if plan_view is not None else ET.Element("planView"),
                        "no <geometry> record: the road has no reference line")
    ctx.check_children(plan_view, frozenset({"geometry"}))
    out = []
    for g in plan_view.findall("geometry"):
        kinds = [child for child in g if child.tag != "userData"]
        if not kinds:
            raise ctx.error(g, "geometry without a type child (line, arc, spiral, ...)")
        kind = kinds[0]
        tag = kind.tag
        if tag not in _GEOMETRY_PARAMS:
            ctx.unsupported(kind, "geometry", what="geometry type", done="read as a line")
            tag = "line"
        params = {name: ctx.num(kind, name, 0.0) for name in _GEOMETRY_PARAMS[tag]}
        if tag == "arc":
            params["curvature"] = ctx.num(kind, "curvature")
        p_range = kind.get("pRange", "normalized")
        if p_range not in ("arcLength", "normalized"):
            raise ctx.error(kind, f"pRange={p_range!r} is not arcLength or normalized")
        out.append(
            XGeometry(
                s=ctx.num(g, "s"),
                x=ctx.num(g, "x"),
                y=ctx.num(g, "y"),
                hdg=ctx.num(g, "hdg"),
                length_m=ctx.num(g, "length"),
                kind=tag,
                params=params,
                p_range=p_range,
            )
        )
    return tuple(sorted(out, key=lambda geom: geom.s))


def _road_mark(ctx: Context, el: ET.Element) -> XRoadMark:
    return XRoadMark(
        s_offset=ctx.num(el, "sOffset", 0.0),
        type=el.get("type", "none"),
        color=el.get("color"),
        width_m=ctx.num(el, "width", None),
        weight=el.get("weight"),
        lane_change=el.get("laneChange"),
    )


def _link_id(ctx: Context, link: ET.Element | None, which: str) -> int | None:
    if link is None:
        return None
    el = link.find(which)
    return None if el is None else ctx.integer(el, "id")


def _lane(ctx: Context, el: ET.Element) -> XLane:
    ctx.check_children(el, _LANE_CHILDREN)
    link = el.find("link")
    speeds = el.findall("speed")
    widths = sorted((ctx.cubic(w, "sOffset") for w in el.findall("width")), key=lambda r: r.s)
    borders = sorted((ctx.cubic(b, "sOffset") for b in el.findall("border")), key=lambda r: r.s)
    return XLane(
        id=ctx.integer(el, "id"),
        type=el.get("type", "none"),
        level=ctx.flag(el, "level"),
        widths=tuple(widths),
        borders=tuple(borders),
        road_marks=tuple(_road_mark(ctx, m) for m in el.findall("roadMark")),
        predecessor=_link_id(ctx, link, "predecessor"),
        successor=_link_id(ctx, link, "successor"),
        speed_mps=ctx.speed_mps(speeds[0]) if speeds else None,
    )


def _side(ctx: Context, section: ET.Element, tag: str) -> list[XLane]:
    side = section.find(tag)
    if side is None:
        return []
    ctx.check_children(side, frozenset({"lane"}))
    return [_lane(ctx, lane) for lane in side.findall("lane")]


def parse_sections(ctx: Context, lanes: ET.Element | None, length_m: float) -> list[XSection]:
    """The ``<laneSection>`` list; each ends where the next begins (the last at the road end)."""
    if lanes is None:
        return []
    raw = sorted(lanes.findall("laneSection"), key=lambda e: ctx.num(e, "s"))
    starts = [ctx.num(e, "s") for e in raw] + [length_m]
    out = []
    for i, el in enumerate(raw):
        ctx.check_children(el, _SECTION_CHILDREN)
        center = _side(ctx, el, "center")
        if len(center) != 1:
            raise ctx.error(el, f"laneSection at s={starts[i]} needs one center lane")
        left = sorted(_side(ctx, el, "left"), key=lambda ln: ln.id)
        right = sorted(_side(ctx, el, "right"), key=lambda ln: -ln.id)
        if any(ln.id <= 0 for ln in left) or any(ln.id >= 0 for ln in right):
            raise ctx.error(el, "left lanes need ids > 0 and right lanes ids < 0")
        out.append(
            XSection(
                s0=starts[i],
                s1=starts[i + 1],
                single_side=ctx.flag(el, "singleSide"),
                left=tuple(left),
                center=center[0],
                right=tuple(right),
            )
        )
    return out


def parse_signals(ctx: Context, signals: ET.Element | None):
    """``(signals, signal references)`` of a road's ``<signals>``."""
    if signals is None:
        return (), ()
    ctx.check_children(signals, frozenset({"signal", "signalReference"}))
    out = []
    for el in signals.findall("signal"):
        out.append(
            XSignal(
                id=ctx.text(el, "id"),
                name=el.get("name", ""),
                s=ctx.num(el, "s"),
                t=ctx.num(el, "t"),
                z_offset=ctx.num(el, "zOffset", 0.0),
                h_offset=ctx.num(el, "hOffset", 0.0),
                orientation=el.get("orientation", "none"),
                dynamic=ctx.flag(el, "dynamic"),
                country=el.get("country"),
                type=el.get("type", "-1"),
                subtype=el.get("subtype"),
                value=ctx.num(el, "value", None),
                height=ctx.num(el, "height", None),
                width=ctx.num(el, "width", None),
            )
        )
    refs = tuple(
        XSignalRef(
            id=ctx.text(el, "id"),
            s=ctx.num(el, "s"),
            t=ctx.num(el, "t"),
            orientation=el.get("orientation", "none"),
        )
        for el in signals.findall("signalReference")
    )
    return tuple(out), refs


def parse_objects(ctx: Context, objects: ET.Element | None) -> tuple[XObject, ...]:
    """The ``<object>`` records of a road (repeats, outlines and tunnels are not read)."""
    if objects is None:
        return ()
    ctx.check_children(objects, frozenset({"object"}))
    return tuple(
        XObject(
            id=ctx.text(el, "id"),
            name=el.get("name", ""),
            type=el.get("type", "none"),
            s=ctx.num(el, "s"),
            t=ctx.num(el, "t"),
            z_offset=ctx.num(el, "zOffset", 0.0),
            hdg=ctx.num(el, "hdg", 0.0),
            length=ctx.num(el, "length", None),
            width=ctx.num(el, "width", None),
            height=ctx.num(el, "height", None),
            radius=ctx.num(el, "radius", None),
        )
        for el in objects.findall("object")
    )
