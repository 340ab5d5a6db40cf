"""Builds the lane network of a :class:`MapConfig`: roads, intersections, connectors, conflicts.

Conventions (the HD map's lane indices follow this order):
- Roads in config order, each ``fwd/0..F-1`` then ``bwd/0..B-1``; then intersections in
  config order, each arm east, north, west, south with ``in/0..n-1`` then ``out/0..n-1``;
  then every intersection's connectors.
- Lane 0 of a direction is the innermost (next to the reference line / arm axis); a lane's
  left neighbour is the next lane inwards.
- An intersection's junction box is a square of half-size H = n * lane_width +
  corner_radius around its centre, whose four corners are cut by kerb arcs of radius
  corner_radius centred on the box corners (the right-turn connector runs concentric to
  that kerb, half a lane away). Arms run from the box edge (distance H) to arm_length.
- Connectors: straight (keeps the lane index), then left (innermost lane -> left arm's
  out/0), then right (outermost lane -> right arm's outermost out lane); successor lists
  keep that order, so "first successor" means straight on.
- Any lane end lying on another road/arm lane's start (0.1 m, 1 deg) is linked to it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from scenarios.schema import ArcSegment, Intersection, MapConfig, Road
from simulator.errors import WorldError
from simulator.map.geometry import arc_advance, left_normals, wrap_angle
from simulator.map.lanes import Conflict, Lane, RoadEdge
from simulator.map.surfaces import Carriageway, Junction
from simulator.map.topology import junction_conflicts

SAMPLE_STEP_M = 0.5          # max spacing of lane samples
CONNECTOR_STEP_M = 0.25      # connectors are curvier, sample them finer
LOOP_TOL_M, LOOP_TOL_RAD = 0.01, math.radians(0.1)
LINK_TOL_M, LINK_TOL_RAD = 0.1, math.radians(1.0)
ARMS = ("east", "north", "west", "south")


class RoadGeometryError(WorldError):
    """A road or intersection cannot be built (e.g. lanes wider than an arc's radius)."""


@dataclass
class RoadNetwork:
    """What :func:`build_network` returns (the HD map's raw material)."""

    lanes: list[Lane]
    conflicts: list[Conflict]
    carriageways: list[Carriageway]
    junctions: list[Junction]
    edges: list[RoadEdge]


@dataclass
class _Draft:
    """A lane before indices exist; turned into a frozen :class:`Lane` at the end."""

    id: str
    road_id: str
    kind: str
    xy: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray
    width_m: float
    speed_limit_mps: float
    movement: str | None = None
    junction: str | None = None
    signal_group: int | None = None
    succ: list[str] = field(default_factory=list)
    left: str | None = None
    right: str | None = None


# ------------------------------------------------------------------ reference lines
def reference_line(start_xy: tuple[float, float], heading: float,
                   pieces: list[tuple[float, float]], max_offset_m: float,
                   step_m: float = SAMPLE_STEP_M
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sample a chain of (length [m], curvature [1/m]) pieces so that lines offset by up
    to ``max_offset_m`` stay <= ``step_m`` apart. Returns xy, heading, s, kint."""
    p0, th0 = np.asarray(start_xy, np.float64), float(heading)
    xys, ths, ss, ks = [p0[None]], [np.array([th0])], [np.array([0.0])], []
    s0 = 0.0
    for length, kappa in pieces:
        n = max(1, math.ceil(length * (1.0 + abs(kappa) * max_offset_m) / step_m - 1e-9))
        u = np.linspace(0.0, length, n + 1)[1:]
        xy, th = arc_advance(p0, np.full(n, th0), np.full(n, kappa), u)
        xys.append(xy)
        ths.append(th)
        ss.append(s0 + u)
        ks.append(np.full(n, kappa))
        p0, th0, s0 = xy[-1], float(th[-1]), s0 + length
    return (np.concatenate(xys), wrap_angle(np.concatenate(ths)), np.concatenate(ss),
            np.concatenate(ks))


def _road_carriageway(road: Road) -> Carriageway:
    w, nf, nb = road.lanes.width_m, road.lanes.forward, road.lanes.backward
    pieces = []
    for seg in road.segments:
        if isinstance(seg, ArcSegment):
            kappa = math.copysign(1.0 / seg.radius_m, seg.angle_deg)
            inner = nb * w if kappa > 0 else nf * w
            if inner >= seg.radius_m:
                raise RoadGeometryError(f"road {road.id!r}: arc radius {seg.radius_m} m is "
                                        f"not larger than the inner lanes' width {inner} m")
            pieces.append((math.radians(abs(seg.angle_deg)) * seg.radius_m, kappa))
        else:
            pieces.append((seg.length_m, 0.0))
    heading = math.radians(road.start.heading_deg)
    xy, th, s, k = reference_line(road.start.position, heading, pieces, max(nf, nb) * w)
    closed = bool(np.hypot(*(xy[-1] - xy[0])) < LOOP_TOL_M
                  and abs(wrap_angle(th[-1] - th[0])) < LOOP_TOL_RAD)
    return Carriageway(road.id, f"road/{road.id}", xy, th, s, k, nf, nb, w, closed)


def _strip_lane(cw: Carriageway, d: float, forward: bool) -> dict:
    """Centreline arrays of the lane at left offset ``d`` of a carriageway."""
    scale = 1.0 - cw.kint * d                 # offset arcs are longer on the outside
    ds, k = np.diff(cw.s) * scale, cw.kint / scale
    xy, th = cw.offset(d), cw.heading
    if not forward:
        xy, th, ds, k = xy[::-1], wrap_angle(th[::-1] + np.pi), ds[::-1], -k[::-1]
    return dict(xy=np.ascontiguousarray(xy), heading=np.ascontiguousarray(th),
                s=np.concatenate([[0.0], np.cumsum(ds)]), curvature=np.append(k, k[-1]))


def _side_lanes(cw: Carriageway, ids: list[str], forward: bool, speed: float,
                **extra) -> list[_Draft]:
    w = cw.lane_width_m
    drafts = []
    for i, lane_id in enumerate(ids):
        d = -(i + 0.5) * w if forward else (i + 0.5) * w
        drafts.append(_Draft(lane_id, cw.road_id, "road", width_m=w, speed_limit_mps=speed,
                             **_strip_lane(cw, d, forward), **extra))
    for i, dr in enumerate(drafts):
        dr.left = ids[i - 1] if i > 0 else None
        dr.right = ids[i + 1] if i + 1 < len(ids) else None
        if cw.closed:
            dr.succ.append(dr.id)
    return drafts


# ------------------------------------------------------------------ intersections
def _bezier_lane(p0: np.ndarray, h0: float, p3: np.ndarray, h3: float) -> dict:
    """A cubic Bezier from pose 0 to pose 3 whose handles make it a circular arc when the
    geometry allows (handle = 4/3 tan(turn/4) * radius), resampled evenly in s."""
    chord = float(np.hypot(*(p3 - p0)))
    turn = float(wrap_angle(h3 - h0))
    hl = chord / 3.0 if abs(turn) < 1e-6 else (
        4.0 / 3.0 * math.tan(abs(turn) / 4.0) * chord / (2.0 * math.sin(abs(turn) / 2.0)))
    t0, t3 = np.array([math.cos(h0), math.sin(h0)]), np.array([math.cos(h3), math.sin(h3)])
    ctrl = np.array([p0, p0 + hl * t0, p3 - hl * t3, p3])

    def bez(t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = t[:, None]
        m = 1.0 - t
        pos = m**3 * ctrl[0] + 3 * m * m * t * ctrl[1] + 3 * m * t * t * ctrl[2] + t**3 * ctrl[3]
        d1 = 3 * (m * m * (ctrl[1] - ctrl[0]) + 2 * m * t * (ctrl[2] - ctrl[1])
                  + t * t * (ctrl[3] - ctrl[2]))
        d2 = 6 * (m * (ctrl[2] - 2 * ctrl[1] + ctrl[0]) + t * (ctrl[3] - 2 * ctrl[2] + ctrl[1]))
        return pos, d1, d2

    tt = np.linspace(0.0, 1.0, 4001)
    pos, _, _ = bez(tt)
    sd = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(pos, axis=0).T))])
    n = max(1, math.ceil(sd[-1] / CONNECTOR_STEP_M))
    s = np.linspace(0.0, sd[-1], n + 1)
    pos, d1, d2 = bez(np.interp(s, sd, tt))
    pos[0], pos[-1] = p0, p3
    speed = np.hypot(d1[:, 0], d1[:, 1])
    curv = (d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0]) / speed**3
    heading = np.arctan2(d1[:, 1], d1[:, 0])
    heading[0], heading[-1] = h0, h3
    return dict(xy=pos, s=s, heading=wrap_angle(heading), curvature=curv)


def _intersection(x: Intersection) -> tuple[list[Carriageway], Junction, list[_Draft]]:
    n, w = x.lanes_per_direction, x.lane_width_m
    h = n * w + x.corner_radius_m
    if x.arm_length_m <= h + 1.0:
        raise RoadGeometryError(f"intersection {x.id!r}: arm_length_m {x.arm_length_m} must "
                                f"exceed the junction half-size {h:.2f} m by > 1 m")
    center = np.asarray(x.position, np.float64)
    base = math.radians(x.heading_deg)
    junction = Junction(x.id, center, base, h, x.corner_radius_m, n, w)
    cws, drafts = [], {}
    for k, arm in enumerate(ARMS):
        a = base + k * np.pi / 2
        start = center + h * np.array([math.cos(a), math.sin(a)])
        xy, th, s, kint = reference_line(tuple(start), a, [(x.arm_length_m - h, 0.0)], 0.0)
        cw = Carriageway(x.id, f"road/{x.id}/{arm}", xy, th, s, kint, n, n, w, False, True)
        cws.append(cw)
        ins = _side_lanes(cw, [f"{x.id}/{arm}/in/{i}" for i in range(n)], False,
                          x.speed_limit_mps, junction=x.id, signal_group=k % 2)
        outs = _side_lanes(cw, [f"{x.id}/{arm}/out/{i}" for i in range(n)], True,
                           x.speed_limit_mps, junction=x.id)
        drafts.update({d.id: d for d in ins + outs})
    for k, arm in enumerate(ARMS):
        for i in range(n):
            moves = [("straight", (k + 2) % 4, i)]
            if i == 0:
                moves.append(("left", (k + 3) % 4, 0))
            if i == n - 1:
                moves.append(("right", (k + 1) % 4, n - 1))
            src = drafts[f"{x.id}/{arm}/in/{i}"]
            for movement, k2, j in moves:
                dst = drafts[f"{x.id}/{ARMS[k2]}/out/{j}"]
                cid = f"{x.id}/{arm}/in/{i}->{ARMS[k2]}/out/{j}"
                geo = _bezier_lane(src.xy[-1], src.heading[-1], dst.xy[0], dst.heading[0])
                drafts[cid] = _Draft(cid, x.id, "connector", width_m=w,
                                     speed_limit_mps=x.speed_limit_mps, movement=movement,
                                     junction=x.id, succ=[dst.id], **geo)
                src.succ.append(cid)
    return cws, junction, list(drafts.values())


# ------------------------------------------------------------------ topology, conflicts
def _link_ends(drafts: list[_Draft]) -> None:
    """Connect lane ends that lie on another road lane's start, facing the same way."""
    road = [d for d in drafts if d.kind == "road"]
    starts = np.array([d.xy[0] for d in road])
    start_h = np.array([d.heading[0] for d in road])
    for d in road:
        if d.succ:
            continue
        near = (np.hypot(*(starts - d.xy[-1]).T) < LINK_TOL_M) & (
            np.abs(wrap_angle(start_h - d.heading[-1])) < LINK_TOL_RAD)
        d.succ.extend(road[j].id for j in np.flatnonzero(near) if road[j] is not d)


def _finalize(drafts: list[_Draft]) -> list[Lane]:
    index = {d.id: i for i, d in enumerate(drafts)}
    preds: dict[str, list[int]] = {d.id: [] for d in drafts}
    for i, d in enumerate(drafts):
        for sid in d.succ:
            preds[sid].append(i)
    lanes = []
    for i, d in enumerate(drafts):
        half = 0.5 * d.width_m * left_normals(d.heading)
        for arr in (d.xy, d.s, d.heading, d.curvature, half):
            arr.flags.writeable = False          # lanes are shared, frozen map data
        lanes.append(Lane(
            index=i, id=d.id, road_id=d.road_id, kind=d.kind, centerline=d.xy, s=d.s,
            heading=d.heading, curvature=d.curvature, left_boundary=d.xy + half,
            right_boundary=d.xy - half, width_m=d.width_m, speed_limit_mps=d.speed_limit_mps,
            successors=tuple(index[x] for x in d.succ), predecessors=tuple(preds[d.id]),
            left=index.get(d.left) if d.left else None,
            right=index.get(d.right) if d.right else None,
            movement=d.movement, junction=d.junction, signal_group=d.signal_group))
    return lanes


def _edges(cw: Carriageway) -> list[RoadEdge]:
    n = left_normals(cw.heading)
    return [RoadEdge(cw.offset(-cw.right_width_m), -n, cw.road_id),
            RoadEdge(cw.offset(cw.left_width_m), n.copy(), cw.road_id)]


def build_network(cfg: MapConfig) -> RoadNetwork:
    """Lanes (with topology), conflicts, carriageways, junctions and kerbs of a map."""
    cws, junctions, drafts, connectors = [], [], [], []
    for road in cfg.roads:
        cw = _road_carriageway(road)
        cws.append(cw)
        drafts += _side_lanes(cw, [f"{road.id}/fwd/{i}" for i in range(cw.n_right)], True,
                              road.speed_limit_mps)
        drafts += _side_lanes(cw, [f"{road.id}/bwd/{i}" for i in range(cw.n_left)], False,
                              road.speed_limit_mps)
    for x in cfg.intersections:
        arm_cws, junction, xdrafts = _intersection(x)
        cws += arm_cws
        junctions.append(junction)
        drafts += [d for d in xdrafts if d.kind == "road"]
        connectors += [d for d in xdrafts if d.kind == "connector"]
    drafts += connectors
    _link_ends(drafts)
    lanes = _finalize(drafts)
    edges = [e for cw in cws for e in _edges(cw)] + [e for j in junctions for e in j.kerbs()]
    return RoadNetwork(lanes, junction_conflicts(lanes), cws, junctions, edges)
