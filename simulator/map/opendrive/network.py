"""Builds the HD map's raw material from an OpenDRIVE file: lanes with elevation and
topology, surface strips, kerbs, markings and signal groups.

Conventions (documented for users in the README):
- Lane ids are ``ROAD/SECTION/LANE`` of the lane's first piece, e.g. ``12/0/-1``. Right
  lanes (negative ids) drive along the road's reference line, left lanes against it
  (right-hand traffic). A driving lane continues across lane sections of its road as one
  HD-map lane while the file links it one-to-one (CARLA sections can be 7 mm long).
- Driving types (``driving``, ``entry``, ``exit``, ``onRamp``, ``offRamp``,
  ``connectingRamp``, ``bidirectional``) become traffic lanes; every lane type except
  ``none`` and ``border`` becomes a surface strip (``sidewalk`` / ``curb`` as sidewalk,
  raised by a kerb of ``KERB_HEIGHT_M``: lane ``<height>`` records are not read).
- Lanes of a junction's connecting roads are connectors (``kind="connector"``,
  ``movement`` from their heading change); the road lanes leading into them are the
  junction's approaches. Conflicts between connectors are found geometrically.
- World coordinates are the file's minus ``origin`` (the network's bounding-box centre,
  whole metres, z = 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simulator.map.geometry import left_normals, wrap_angle
from simulator.map.lanes import Conflict, Lane, RoadEdge
from simulator.map.opendrive.lane_geometry import cross_section_points, lane_borders_t
from simulator.map.opendrive.lane_links import Piece, adjacency, chain_pieces, link, neighbours
from simulator.map.opendrive.records import XRoad
from simulator.map.opendrive.reference_line import elevation, reference_pose, superelevation
from simulator.map.opendrive.xodr import XodrMap
from simulator.map.strips import SurfaceStrip
from simulator.map.topology import junction_conflicts

SAMPLE_STEP_M = 0.5
DRIVING_TYPES = frozenset({"driving", "entry", "exit", "onRamp", "offRamp", "connectingRamp",
                           "bidirectional"})
SIDEWALK_TYPES = frozenset({"sidewalk", "curb", "walking"})
NO_SURFACE_TYPES = frozenset({"none", "border"})
STRAIGHT_RAD = math.radians(35.0)     # connectors turning less than this go straight
KERB_HEIGHT_M = 0.12                  # sidewalks stand this high above the road
MIN_DRIVING_WIDTH_M = 2.2             # narrower parts of a driving lane carry no traffic
DEFAULT_SPEED_MPS = 13.9              # 50 km/h where the file gives no speed
MIN_STEP_M = 0.05             # lane samples closer than this are merged


@dataclass
class OdrNetwork:
    """What :func:`build_opendrive_network` returns (the HD map's raw material)."""

    lanes: list[Lane]
    conflicts: list[Conflict]
    strips: list[SurfaceStrip]
    edges: list[RoadEdge]
    origin: np.ndarray
    piece_lane: dict = field(default_factory=dict)   # (road id, section, lane id) -> lane


def _section_s(s0: float, s1: float, n: int | None = None) -> np.ndarray:
    """Stations of a section's samples. The last is taken a nanometre inside the section:
    a record starting at s1 (CARLA jumps its laneOffset there) belongs to the next one."""
    if n is None:
        n = max(2, int(math.ceil((s1 - s0) / SAMPLE_STEP_M)) + 1)
    s = np.linspace(s0, s1, n)
    if s1 - s0 > 1e-8:
        s[-1] = s1 - 1e-9
    return s


def network_origin(odr: XodrMap) -> np.ndarray:
    """(3,) the bounding-box centre of every road's reference line, whole metres, z = 0."""
    pts = []
    for road in odr.roads.values():
        x, y, _ = reference_pose(road, np.linspace(0.0, road.length_m, 8))
        pts.append(np.stack([x, y], 1))
    p = np.concatenate(pts)
    c = np.round(0.5 * (p.min(0) + p.max(0)))
    return np.array([c[0], c[1], 0.0])


def _road_speed(road: XRoad, lane_speed: float | None) -> float:
    return float(lane_speed or road.speed_mps or DEFAULT_SPEED_MPS)


def _sample_road(road: XRoad, origin: np.ndarray, pieces: dict, strips: list,
                 edges: list) -> None:
    """Pieces (driving lanes), strips and kerbs of one road, section by section."""
    for i, sec in enumerate(road.sections):
        s = _section_s(sec.s0, sec.s1)
        x, y, hdg = reference_pose(road, s)
        borders = lane_borders_t(road, i, s)
        nx, ny = -np.sin(hdg), np.cos(hdg)
        # Lanes outside a curve are longer than the reference: sample finer until every
        # lane border keeps its samples <= SAMPLE_STEP_M apart.
        ts = np.array([b for pair in borders.values() for b in pair])
        step = np.hypot(np.diff(x + ts * nx, axis=1), np.diff(y + ts * ny, axis=1)).max() \
            if len(s) > 1 else 0.0
        if step > SAMPLE_STEP_M:
            s = _section_s(sec.s0, sec.s1,
                           int(math.ceil((len(s) - 1) * step / SAMPLE_STEP_M * 1.02)) + 1)
            x, y, hdg = reference_pose(road, s)
            borders = lane_borders_t(road, i, s)
            nx, ny = -np.sin(hdg), np.cos(hdg)
        x, y = x - origin[0], y - origin[1]
        z0 = elevation(road, s) - origin[2]
        roll = superelevation(road, s)
        tan_roll = np.tan(roll)
        frame = (x, y, z0, hdg, roll)

        def at(t: np.ndarray, f=frame) -> np.ndarray:
            """Points at cross-section offset t (rolled by the superelevation)."""
            return cross_section_points(*f, t)

        outer_left = outer_right = None
        for lane in sec.left + sec.right:
            inner, outer = borders[lane.id]
            if lane.type in NO_SURFACE_TYPES:
                continue
            lo, hi = (inner, outer) if lane.id > 0 else (outer, inner)
            kind = ("driving" if lane.type in DRIVING_TYPES else
                    "sidewalk" if lane.type in SIDEWALK_TYPES else "road")
            left_pts, right_pts = at(hi), at(lo)
            if kind == "sidewalk":                 # a kerb above the road (no <height>)
                left_pts[:, 2] += KERB_HEIGHT_M
                right_pts[:, 2] += KERB_HEIGHT_M
            strips.append(SurfaceStrip(road.id, f"{road.id}/{i}/{lane.id}", kind,
                                       left_pts, right_pts))
            if lane.id > 0 and (outer_left is None or lane.id > outer_left[0]):
                outer_left = (lane.id, hi)
            if lane.id < 0 and (outer_right is None or lane.id < outer_right[0]):
                outer_right = (lane.id, lo)
            if lane.type not in DRIVING_TYPES:
                continue
            tc = 0.5 * (inner + outer)
            xyz, width = at(tc), np.abs(outer - inner)
            slope = tan_roll.copy()
            if lane.id > 0:                       # drives against s: reverse, flip left
                xyz, width, slope = xyz[::-1], width[::-1], -slope[::-1]
            run = _wide_run(width)
            if run is None:
                continue                          # never wide enough for a car
            a, b = run
            pieces[(road.id, i, lane.id)] = Piece(
                (road.id, i, lane.id), np.ascontiguousarray(xyz[a:b]), width[a:b].copy(),
                slope[a:b].copy(), _road_speed(road, lane.speed_mps), road.junction,
                cut_entry=a > 0, cut_exit=b < len(width))
        if road.junction is None:
            nrm = np.stack([nx, ny], 1)
            if outer_left is not None:
                edges.append(RoadEdge(at(outer_left[1])[:, :2], nrm.copy(), road.id))
            if outer_right is not None:
                edges.append(RoadEdge(at(outer_right[1])[:, :2], -nrm, road.id))


def _wide_run(width: np.ndarray) -> tuple[int, int] | None:
    """[a, b) of the longest run of samples at least MIN_DRIVING_WIDTH_M wide (a lane
    that opens from or closes to zero width carries traffic only where a car fits), or
    None when no sample is."""
    ok = width >= MIN_DRIVING_WIDTH_M
    if ok.all():
        return 0, len(width)
    if not ok.any():
        return None
    edges = np.flatnonzero(np.diff(np.concatenate([[0], ok.astype(np.int8), [0]])))
    starts, ends = edges[0::2], edges[1::2]
    k = int(np.argmax(ends - starts))
    if ends[k] - starts[k] < 2:
        return None
    return int(starts[k]), int(ends[k])


def _forward_samples(xy: np.ndarray) -> np.ndarray:
    """Indices of the samples a lane keeps: each at least ``MIN_STEP_M`` past the last
    kept one and not turning back on it (CARLA's millimetre sections can put a centre
    point a hair behind the previous one, a heading flip that traps the projection). The
    last point is always kept (the lane ends where its successor starts): it replaces the
    previous kept one when too close."""
    step = np.diff(xy, axis=0)
    ln = np.hypot(step[:, 0], step[:, 1])
    back = np.sum(step[1:] * step[:-1], axis=1) < 0
    if (ln > MIN_STEP_M).all() and not back.any():
        return np.arange(len(xy))
    kept = [0]
    for k in range(1, len(xy)):
        d = xy[k] - xy[kept[-1]]
        far = float(np.hypot(d[0], d[1])) > MIN_STEP_M
        ahead = len(kept) < 2 or float(d @ (xy[kept[-1]] - xy[kept[-2]])) > 0
        if far and ahead:
            kept.append(k)
        elif k == len(xy) - 1:
            if len(kept) > 1:
                kept[-1] = k
            else:
                kept.append(k)
    return np.array(kept)


def _lane_arrays(chain: list[Piece]) -> dict:
    xyz = [chain[0].xyz]
    width = [chain[0].width]
    slope = [chain[0].cross_slope]
    for p in chain[1:]:
        xyz.append(p.xyz[1:])
        width.append(p.width[1:])
        slope.append(p.cross_slope[1:])
    xyz, width, slope = np.concatenate(xyz), np.concatenate(width), np.concatenate(slope)
    keep = _forward_samples(xyz[:, :2])
    xyz, width, slope = xyz[keep], width[keep], slope[keep]
    if len(xyz) < 2:
        return {}
    s = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(xyz[:, :2], axis=0).T))])
    g = np.gradient(xyz[:, :2], s, axis=0) if len(s) > 2 else np.diff(xyz[:, :2], axis=0)
    heading = np.arctan2(g[:, 1], g[:, 0]) if len(s) > 2 else np.repeat(
        np.arctan2(g[0, 1], g[0, 0]), 2)
    ds = np.diff(s)
    curv = np.append(wrap_angle(np.diff(heading)) / np.maximum(ds, 1e-9), 0.0)
    return {"xyz": xyz, "width": width, "slope": slope, "s": s, "heading": heading,
            "curvature": curv}


def _movement(heading: np.ndarray) -> str:
    turn = float(wrap_angle(heading[-1] - heading[0]))
    return "straight" if abs(turn) < STRAIGHT_RAD else ("left" if turn > 0 else "right")


def build_opendrive_network(odr: XodrMap) -> OdrNetwork:
    """Lanes (with topology and elevation), conflicts, strips and kerbs of a file."""
    origin = network_origin(odr)
    pieces: dict = {}
    strips: list[SurfaceStrip] = []
    edges: list[RoadEdge] = []
    for road in odr.roads.values():
        _sample_road(road, origin, pieces, strips, edges)
    link(pieces, adjacency(odr))
    chains = chain_pieces(pieces)
    arrays = [_lane_arrays(c) for c in chains]
    keep = [k for k, a in enumerate(arrays) if a]
    chains, arrays = [chains[k] for k in keep], [arrays[k] for k in keep]
    chain_of = {p.key: k for k, c in enumerate(chains) for p in c}
    ids = ["/".join(str(v) for v in c[0].key) for c in chains]
    kinds = ["connector" if c[0].junction is not None else "road" for c in chains]
    movement = [_movement(a["heading"]) if kd == "connector" else None
                for a, kd in zip(arrays, kinds)]
    succ = [sorted({chain_of[k] for k in c[-1].succ if k in chain_of}) for c in chains]
    rank = {"straight": 0, "left": 1, "right": 2, None: 0}
    succ = [sorted(s, key=lambda j: (rank[movement[j]], j)) for s in succ]
    pred: list[list[int]] = [[] for _ in chains]
    for k, ss in enumerate(succ):
        for j in ss:
            pred[j].append(k)
    junction = []
    for k, c in enumerate(chains):
        jn = c[0].junction
        if jn is None:
            into = {chains[j][0].junction for j in succ[k] if kinds[j] == "connector"}
            jn = sorted(into)[0] if into else None
        junction.append(jn)
    left, right = neighbours(chains, chain_of)
    # A file without elevation or superelevation is a flat map (the cheap, exact z = 0).
    flat = all(not np.any(a["xyz"][:, 2]) and not np.any(a["slope"]) for a in arrays)
    lanes = []
    for k, (c, a) in enumerate(zip(chains, arrays)):
        half = 0.5 * a["width"][:, None] * left_normals(a["heading"])
        xy = np.ascontiguousarray(a["xyz"][:, :2])
        arrs = dict(xy=xy, s=a["s"], heading=a["heading"], curvature=a["curvature"],
                    z=np.ascontiguousarray(a["xyz"][:, 2]), slope=a["slope"])
        for arr in arrs.values():
            arr.flags.writeable = False
        lanes.append(Lane(
            index=k, id=ids[k], road_id=c[0].key[0], kind=kinds[k], centerline=xy,
            s=a["s"], heading=a["heading"], curvature=a["curvature"],
            left_boundary=xy + half, right_boundary=xy - half,
            width_m=float(np.median(a["width"])), speed_limit_mps=c[0].speed_mps,
            successors=tuple(succ[k]), predecessors=tuple(pred[k]),
            left=left[k], right=right[k], movement=movement[k], junction=junction[k],
            signal_group=None, z=None if flat else arrs["z"],
            cross_slope=None if flat else arrs["slope"]))
    return OdrNetwork(lanes, junction_conflicts(lanes), strips, edges, origin, chain_of)
