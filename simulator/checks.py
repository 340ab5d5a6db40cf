"""Checks of a scenario that need the map (lanes, routes, geometry), without building a
world: what ``run_sim.py validate`` runs after the schema.

Every problem is a :class:`CheckError` whose ``path`` names the scenario field it is about
(``("ego", "start", "lane")``), so the CLI can print the line of that field.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

from scenarios.limits import MAX_PROPS, MAX_ROADSIDE_SLOTS
from scenarios.loader import format_loc, parse_loc
from scenarios.schema import ArcSegment, Scenario
from simulator.errors import MapFileError, WorldError
from simulator.map.build import build_hdmap
from simulator.map.hdmap import HDMap
from simulator.map.route import plan_lane_route, plan_route
from simulator.scene.props import VEHICLE_CLEARANCE_M, row_centers
from simulator.scene.semantics import DEFAULT_MATERIALS, PROP_DEFAULTS

_SECTIONS = tuple(Scenario.model_fields)
_FIELD_PREFIX = re.compile(r"^((?:" + "|".join(_SECTIONS) + r")(?:\.[A-Za-z_]\w*|\[\d+\])*): (.*)$",
                           re.DOTALL)
_GEOMETRY_PREFIX = re.compile(r"^(road|intersection) '([^']*)': (.*)$", re.DOTALL)


class CheckError(WorldError):
    """A scenario that validates but cannot be built into a world.

    Attributes:
        path: the scenario field the problem is about (empty: the whole scenario).
        detail: the message without the path.
    """

    def __init__(self, path: tuple[Any, ...], detail: str):
        super().__init__(f"{format_loc(path)}: {detail}" if path else detail)
        self.path = tuple(path)
        self.detail = detail


def as_check_error(exc: WorldError, scenario: Scenario) -> CheckError:
    """A world error with the field path read off its message (``ego.start.lane: ...``,
    ``road 'main': ...``); messages without one keep an empty path."""
    if isinstance(exc, CheckError):
        return exc
    text = str(exc)
    if isinstance(exc, MapFileError):
        return CheckError(("map", "opendrive"), text)
    m = _FIELD_PREFIX.match(text)
    if m:
        return CheckError(parse_loc(m.group(1)), m.group(2))
    m = _GEOMETRY_PREFIX.match(text)
    if m:
        kind, ident, detail = m.groups()
        items = scenario.map.roads if kind == "road" else scenario.map.intersections
        index = next((i for i, it in enumerate(items) if it.id == ident), None)
        if index is not None:
            return CheckError(("map", "roads" if kind == "road" else "intersections", index),
                              detail)
    return CheckError((), text)


def check_scenario(scenario: Scenario) -> HDMap:
    """Build the HD map, plan the ego route and check what the world will place.

    Returns:
        The map (callers may inspect it further).

    Raises:
        CheckError: geometry that cannot be built, unknown lanes, no route, unknown
            materials, too many roadside props, the ego overlapping a prop.
    """
    _check_geometry(scenario)
    try:
        hdmap = build_hdmap(scenario.map)
        plan_route(hdmap, scenario.ego)
        for j, a in enumerate(scenario.actors):
            plan_lane_route(hdmap, a.start.lane, a.start.s_m,
                            None if a.destination is None else a.destination.lane,
                            None if a.destination is None else a.destination.s_m,
                            f"actors[{j}]")
    except WorldError as exc:
        raise as_check_error(exc, scenario) from None
    if scenario.traffic.count and not any(ln.kind == "road" for ln in hdmap.lanes):
        raise CheckError(("traffic", "count"), f"{scenario.traffic.count} NPCs but the map "
                         "has no road lanes to spawn on")
    _check_materials(scenario)
    _check_prop_count(scenario)
    _check_roadside(scenario, hdmap)
    _check_ego_clear(scenario, hdmap)
    return hdmap


def _check_geometry(scenario: Scenario) -> None:
    """The rules of ``simulator.map.procedural.network``, with the exact field."""
    for r, road in enumerate(scenario.map.roads):
        lanes = road.lanes
        for k, seg in enumerate(road.segments):
            if isinstance(seg, ArcSegment):
                inner = (lanes.backward if seg.angle_deg > 0 else lanes.forward) * lanes.width_m
                if inner >= seg.radius_m:
                    raise CheckError(("map", "roads", r, "segments", k, "radius_m"),
                                     f"{seg.radius_m:g} m is not larger than the inner "
                                     f"lanes' width {inner:g} m")
    for x, junction in enumerate(scenario.map.intersections):
        half = junction.lanes_per_direction * junction.lane_width_m + junction.corner_radius_m
        if junction.arm_length_m <= half + 1.0:
            raise CheckError(("map", "intersections", x, "arm_length_m"),
                             f"{junction.arm_length_m:g} m must exceed the junction half-size "
                             f"{half:.2f} m (lanes x lane width + corner radius) by > 1 m")


def _check_materials(scenario: Scenario) -> None:
    known = set(DEFAULT_MATERIALS) | set(scenario.materials)
    for i, prop in enumerate(scenario.props):
        name = prop.material or PROP_DEFAULTS[prop.type][1]
        if name not in known:
            raise CheckError(("props", i, "material"), f"unknown material {name!r}; known: "
                             f"{', '.join(sorted(known))}")


def _check_prop_count(scenario: Scenario) -> None:
    """Rows expand to ``count`` props each; the world takes at most ``MAX_PROPS``."""
    total = 0
    for i, prop in enumerate(scenario.props):
        total += prop.count
        if total > MAX_PROPS:
            raise CheckError(("props", i, "count"), f"the rows expand to more than "
                             f"{MAX_PROPS} props ({total} up to this one)")


def _check_roadside(scenario: Scenario, hdmap: HDMap) -> None:
    """Generated props cost the world time and memory with the map's size: bound them."""
    rs = scenario.map.roadside
    rows = [row for row in (rs.buildings, rs.trees, rs.poles, rs.signs)
            if row is not None and row.probability > 0]
    if not rows:
        return
    edge_m = sum(float(np.hypot(*np.diff(e.polyline, axis=0).T).sum())
                 for e in hdmap.road_edges())
    slots = edge_m * sum(1.0 / row.spacing_m for row in rows)
    if slots > MAX_ROADSIDE_SLOTS:
        raise CheckError(("map", "roadside"), f"{slots:.0f} roadside slots along "
                         f"{edge_m / 1000:.2f} km of road edges; at most {MAX_ROADSIDE_SLOTS} "
                         "(raise spacing_m or shorten the roads)")


def _check_ego_clear(scenario: Scenario, hdmap: HDMap) -> None:
    """The ego's box at its start pose must not overlap a placed prop (a crash at t = 0)."""
    if not scenario.props:
        return
    lane = hdmap.lane_index(scenario.ego.start.lane)
    xy = hdmap.position(lane, scenario.ego.start.s_m)
    yaw = hdmap.heading_at(lane, scenario.ego.start.s_m)
    spec = scenario.ego.vehicle
    # Every prop of every row that stands in the way; elevated ones (a bridge, a tunnel
    # roof) are driven under.
    rows = [(i, c) for i, p in enumerate(scenario.props) if p.z_m < VEHICLE_CLEARANCE_M
            for c in row_centers(p)]
    if not rows:
        return
    props = [scenario.props[i] for i, _ in rows]
    centers = np.array([c for _, c in rows], np.float64)
    half = np.array([p.size[:2] for p in props], np.float64) / 2.0
    yaws = np.radians([p.yaw_deg for p in props])
    hit = boxes_overlap(xy, yaw, np.array([spec.length_m, spec.width_m]) / 2.0,
                        centers, yaws, half)
    if hit.any():
        j = int(np.flatnonzero(hit)[0])
        i, p, c = rows[j][0], props[j], centers[j]
        raise CheckError(("ego", "start"), f"overlaps props[{i}] ({p.type} at "
                         f"({c[0]:g}, {c[1]:g}), {p.size[0]:g} x "
                         f"{p.size[1]:g} m): the ego would crash at t = 0; move the ego "
                         "(s_m) or the prop")


def boxes_overlap(center: np.ndarray, yaw: float, half: np.ndarray, centers: np.ndarray,
                  yaws: np.ndarray, halves: np.ndarray) -> np.ndarray:
    """Separating-axis test of one oriented rectangle against many; touching is no overlap.

    Args:
        center, yaw, half: the rectangle: centre (2,) [m], yaw [rad], half extents (2,)
            along its own x (yaw) and y axes [m].
        centers, yaws, halves: the others, (k, 2), (k,), (k, 2).

    Returns:
        (k,) bool, True where the interiors overlap.
    """
    axes_a = np.array([[math.cos(yaw), math.sin(yaw)], [-math.sin(yaw), math.cos(yaw)]])
    axes_b = np.stack([np.stack([np.cos(yaws), np.sin(yaws)], 1),
                       np.stack([-np.sin(yaws), np.cos(yaws)], 1)], 1)   # (k, 2, 2)
    d = centers - np.asarray(center, np.float64)                         # (k, 2)
    separated = np.zeros(len(centers), bool)
    for axis in list(axes_a) + [axes_b[:, 0], axes_b[:, 1]]:
        axis = np.broadcast_to(axis, d.shape)
        reach_a = np.abs(axis @ axes_a.T) @ half
        reach_b = (np.abs(np.einsum("kj,kij->ki", axis, axes_b)) * halves).sum(1)
        separated |= np.abs((d * axis).sum(1)) >= reach_a + reach_b
    return ~separated
