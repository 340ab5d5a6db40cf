"""The HD map: lanes with exact geometry and topology, and the queries drivers and the world use.

Build it with :meth:`HDMap.from_config` (geometry in :mod:`simulator.roadnet`). A lane is a
centreline polyline sampled at <= 0.5 m; between two samples the lane is treated as a
circular arc (the heading change over the interval divided by its length), which is exact
for the straight and arc roads of the schema, so Frenet coordinates and positions round-trip
to ~1e-9 m. Lane indices are positions in ``HDMap.lanes``. Frenet ``d`` is positive to the
left of the driving direction. Metres and radians throughout.

Hot path: :class:`LaneTable` holds all lanes' samples in concatenated arrays and answers
``positions`` / ``headings`` / ``curvatures`` / ``project`` for many vehicles at once.
"""

from __future__ import annotations

import difflib
import heapq
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from scenarios.schema import MapConfig

if TYPE_CHECKING:
    from simulator.roadnet import Carriageway, Junction

log = logging.getLogger(__name__)

LANE_CHANGE_COST_M = 30.0     # route cost of one lane change, as extra distance [m]
_POINT_CHUNK = 2_000_000      # max (points x intervals) per vectorised block


class NoRouteError(LookupError):
    """No lane sequence leads from the start lane to the destination lane."""


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to [-pi, pi) [rad]."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


def left_normals(heading: np.ndarray) -> np.ndarray:
    """Unit vectors 90 deg left of the given headings: (..., 2)."""
    return np.stack([-np.sin(heading), np.cos(heading)], axis=-1)


def arc_advance(xy0: np.ndarray, theta: np.ndarray, kappa: np.ndarray,
                u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point and heading after driving ``u`` metres along a circular arc (broadcasting).

    Args:
        xy0: (..., 2) start points [m]. theta: start headings [rad]. kappa: curvatures
            [1/m], + = left. u: arc lengths [m] (may be negative).
    Returns:
        ((..., 2) end points, end headings [rad]).
    """
    phi = kappa * u
    chord = u * np.sinc(phi / (2.0 * np.pi))      # 2 sin(phi/2)/kappa, stable at kappa=0
    mid = theta + 0.5 * phi
    xy = np.asarray(xy0) + np.stack([chord * np.cos(mid), chord * np.sin(mid)], axis=-1)
    return xy, theta + phi


def arc_local(xy0: np.ndarray, theta: np.ndarray, kappa: np.ndarray,
              q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (u along, d left) of points ``q`` relative to circular arcs (broadcasting).

    The inverse of ``arc_advance`` + lateral offset: ``q = advance(u) + d * left_normal``.
    """
    r = np.asarray(q) - xy0
    c, s = np.cos(theta), np.sin(theta)
    a = r[..., 0] * c + r[..., 1] * s
    b = -r[..., 0] * s + r[..., 1] * c
    ka, kb = kappa * a, kappa * b
    phi = np.arctan2(ka, 1.0 - kb)
    small = np.abs(kappa) < 1e-12
    u = np.where(small, a, phi / np.where(small, 1.0, kappa))
    h = np.hypot(ka, 1.0 - kb)
    d = (2.0 * b - kappa * (a * a + b * b)) / (1.0 + h)     # (1-h)/kappa, stable form
    return u, d


def _broadcast(lane_idx: np.ndarray, s: np.ndarray,
               n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    lane, s = np.broadcast_arrays(np.asarray(lane_idx, np.int64), np.asarray(s, np.float64),
                                  np.empty(n))[:2]
    return np.atleast_1d(lane), np.atleast_1d(s)


@dataclass(frozen=True, eq=False)
class Lane:
    """One lane: centreline samples and topology. See module docstring for conventions.

    Attributes:
        index: position in ``HDMap.lanes``. id: e.g. ``main/fwd/0``, ``X/west/in/0``,
            ``X/west/in/0->north/out/0``. road_id: road or intersection id.
        kind: ``"road"`` (road and arm lanes) or ``"connector"`` (inside a junction).
        centerline: (N, 2) [m]; s: (N,) cumulative arc length [m], s[0] == 0;
        heading: (N,) [rad]; curvature: (N,) [1/m], + = left, at each sample for the
            interval starting there.
        left_boundary, right_boundary: (N, 2) centreline +- width/2 along the left normal.
        successors / predecessors: lane indices; straight movements first.
        left / right: neighbour lane index with the same driving direction, or None.
        movement: ``straight``/``left``/``right`` for connectors, else None.
        junction: intersection id for connectors and arm lanes, else None.
        signal_group: 0 (east/west) or 1 (north/south) for incoming arm lanes, whose end is
            the stop line; else None.
    """

    index: int
    id: str
    road_id: str
    kind: str
    centerline: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray
    left_boundary: np.ndarray
    right_boundary: np.ndarray
    width_m: float
    speed_limit_mps: float
    successors: tuple[int, ...]
    predecessors: tuple[int, ...]
    left: int | None
    right: int | None
    movement: str | None
    junction: str | None
    signal_group: int | None

    @property
    def length_m(self) -> float:
        return float(self.s[-1])


@dataclass(frozen=True)
class Conflict:
    """Two junction connectors cross (or merge) at ``s_m`` on ``lane`` / ``other_s_m`` on
    ``other_lane``. Stored once per ordered pair, so filter on ``lane`` for your own."""

    lane: int
    s_m: float
    other_lane: int
    other_s_m: float


@dataclass(frozen=True, eq=False)
class Marking:
    """A painted line: centre polyline (N, 2) [m]; style ``solid``/``dashed`` (3 m dash,
    6 m gap from the polyline start); color ``white``/``yellow``; paint width [m]."""

    polyline: np.ndarray
    style: str
    color: str
    width_m: float
    road_id: str = ""


@dataclass(frozen=True, eq=False)
class RoadEdge:
    """An outer kerb line (N, 2) with unit normals (N, 2) pointing away from the road."""

    polyline: np.ndarray
    normals: np.ndarray
    road_id: str


class LaneTable:
    """All lanes' samples concatenated, for vectorised per-vehicle queries.

    Attributes:
        xy (M, 2), s, heading, curvature (M,): samples of every lane, lane after lane.
        kint (M,): curvature of the interval starting at each sample (0 at a lane's last).
        lane_start (L + 1,): sample offset of each lane; lane_length (L,) [m].
    """

    def __init__(self, lanes: list[Lane]):
        self.xy = np.concatenate([ln.centerline for ln in lanes]).astype(np.float64)
        self.s = np.concatenate([ln.s for ln in lanes]).astype(np.float64)
        self.heading = np.concatenate([ln.heading for ln in lanes]).astype(np.float64)
        self.curvature = np.concatenate([ln.curvature for ln in lanes]).astype(np.float64)
        counts = np.array([len(ln.s) for ln in lanes])
        self.lane_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.lane_length = np.array([ln.length_m for ln in lanes])
        self.half_width = np.array([ln.width_m / 2.0 for ln in lanes])
        dh = wrap_angle(np.diff(self.heading))
        ds = np.diff(self.s)
        kint = np.where(ds > 0, dh / np.where(ds > 0, ds, 1.0), 0.0)
        last = self.lane_start[1:] - 1
        kint = np.append(kint, 0.0)
        kint[last] = 0.0
        self.kint = kint
        # Strictly increasing search key over all lanes: s plus a per-lane offset.
        self._key_off = np.concatenate([[0.0], np.cumsum(self.lane_length + 1.0)])[:-1]
        self._key = self.s + np.repeat(self._key_off, counts)
        first = np.ones(len(self.s), bool)
        first[last] = False
        self._iv = np.flatnonzero(first)                      # every interval start
        self._iv_lane = np.repeat(np.arange(len(lanes)), counts - 1)
        self._iv_lane_start = np.concatenate([[0], np.cumsum(counts - 1)])[:-1]

    def _bounds(self, lane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.lane_start[lane], self.lane_start[lane + 1] - 2

    def _interval(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        key = self._key_off[lane] + np.clip(s, 0.0, self.lane_length[lane])
        i = np.searchsorted(self._key, key, side="right") - 1
        lo, hi = self._bounds(lane)
        return np.clip(i, lo, hi)

    def positions(self, lane_idx: np.ndarray, s: np.ndarray,
                  d: np.ndarray | float = 0.0) -> np.ndarray:
        """(n, 2) world points at arc length ``s`` [m] and left offset ``d`` [m] on lanes.

        ``s`` outside [0, length] extrapolates along the first/last interval.
        """
        lane, s = _broadcast(lane_idx, s)
        i = self._interval(lane, s)
        xy, th = arc_advance(self.xy[i], self.heading[i], self.kint[i], s - self.s[i])
        return xy + np.asarray(d, np.float64)[..., None] * left_normals(th)

    def headings(self, lane_idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(n,) lane headings [rad, wrapped] at arc length ``s`` [m]."""
        lane, s = _broadcast(lane_idx, s)
        i = self._interval(lane, s)
        return wrap_angle(self.heading[i] + self.kint[i] * (s - self.s[i]))

    def curvatures(self, lane_idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(n,) lane curvature [1/m, + = left] at arc length ``s`` (per-interval value)."""
        lane, s = _broadcast(lane_idx, s)
        return self.kint[self._interval(lane, s)]

    def project(self, lane_idx: np.ndarray, xy: np.ndarray, s_guess: np.ndarray,
                window: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) [m] of points on given lanes, searching ``window`` intervals
        (samples are <= 0.5 m apart) either side of ``s_guess``. s may leave [0, length]
        when the point is past a lane end: that is the caller's cue to change lane."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        lane, sg = _broadcast(lane_idx, s_guess, len(q))
        lo, hi = self._bounds(lane)
        i0 = self._interval(lane, sg)
        cand = np.clip(i0[:, None] + np.arange(-window, window + 1), lo[:, None], hi[:, None])
        return self._finish(self._nearest_interval(cand, q), lo, hi, q)

    def project_near(self, lane_idx: np.ndarray, xy: np.ndarray, s_guess: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) like ``project`` but for points known to be within a few metres of
        ``s_guess``: one step along the local arc from the guess, then the exact local
        solve. Several times cheaper than the windowed search (the world's hot path)."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        lane = np.asarray(lane_idx, np.int64)
        i0 = self._interval(lane, np.asarray(s_guess, np.float64))
        u, _ = arc_local(self.xy[i0], self.heading[i0], self.kint[i0], q)
        i1 = self._interval(lane, self.s[i0] + u)
        lo, hi = self._bounds(lane)
        return self._finish(i1, lo, hi, q)

    def project_global(self, lane: int, xy: np.ndarray) -> tuple[float, float]:
        """Frenet (s, d) of one point, searching the whole lane."""
        lo, hi = self._bounds(np.array([lane]))
        cand = np.arange(lo[0], hi[0] + 1)[None, :]
        q = np.asarray(xy, np.float64).reshape(1, 2)
        s, d = self._finish(self._nearest_interval(cand, q), lo, hi, q)
        return float(s[0]), float(d[0])

    def _chord_dist2(self, i: np.ndarray, q: np.ndarray) -> np.ndarray:
        a = self.xy[i]
        ab = self.xy[i + 1] - a
        aq = q - a
        t = np.clip(np.sum(aq * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-18), 0.0, 1.0)
        e = aq - t[..., None] * ab
        return np.sum(e * e, -1)

    def _nearest_interval(self, cand: np.ndarray, q: np.ndarray) -> np.ndarray:
        dist2 = self._chord_dist2(cand, q[:, None, :])
        return cand[np.arange(len(cand)), np.argmin(dist2, axis=1)]

    def _finish(self, i: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, d = arc_local(self.xy[i], self.heading[i], self.kint[i], q)
        ds = self.s[i + 1] - self.s[i]
        step = np.where((u < 0) & (i > lo), -1, np.where((u > ds) & (i < hi), 1, 0))
        if np.any(step):
            j = i + step
            u2, d2 = arc_local(self.xy[j], self.heading[j], self.kint[j], q)
            u, d, i = np.where(step != 0, u2, u), np.where(step != 0, d2, d), j
        return self.s[i] + u, d


class HDMap:
    """Lanes, conflicts, markings, kerbs and drivable area of a map, with queries.

    Attributes:
        lanes: every lane; conflicts: connector crossings/merges (both orders);
        markings: painted lines; table: the vectorised :class:`LaneTable`;
        carriageways / junctions: the surfaces (see :mod:`simulator.roadnet`);
        ground_size_m: side of the ground square centred on the world origin.
    """

    def __init__(self, lanes: list[Lane], conflicts: list[Conflict], markings: list[Marking],
                 edges: list[RoadEdge], carriageways: list[Carriageway],
                 junctions: list[Junction], ground_size_m: float = 1000.0):
        self.lanes = lanes
        self.conflicts = conflicts
        self.markings = markings
        self.carriageways = carriageways
        self.junctions = junctions
        self.ground_size_m = ground_size_m
        self._edges = edges
        self._by_id = {ln.id: ln.index for ln in lanes}
        self._conflicts_by_lane: dict[int, list[Conflict]] = {}
        for c in conflicts:
            self._conflicts_by_lane.setdefault(c.lane, []).append(c)
        self.table = LaneTable(lanes)

    @classmethod
    def from_config(cls, map_config: MapConfig) -> HDMap:
        """Build lanes, topology, conflicts and markings from the scenario's map."""
        from simulator import road_meshes, roadnet  # roadnet builds on this module's records

        net = roadnet.build_network(map_config)
        markings = road_meshes.build_markings(net.carriageways)
        log.info("HD map: %d lanes, %d conflicts, %d markings", len(net.lanes),
                 len(net.conflicts), len(markings))
        return cls(net.lanes, net.conflicts, markings, net.edges, net.carriageways,
                   net.junctions, map_config.ground_size_m)

    # ---------------------------------------------------------------- lookups
    def lane_index(self, lane_id: str) -> int:
        """Index of the lane with this id; KeyError naming close matches."""
        try:
            return self._by_id[lane_id]
        except KeyError:
            close = difflib.get_close_matches(lane_id, list(self._by_id), n=5, cutoff=0.5)
            raise KeyError(f"no lane {lane_id!r}; close matches: {close}") from None

    def lane(self, lane_id: str) -> Lane:
        """The lane with this id; KeyError naming close matches."""
        return self.lanes[self.lane_index(lane_id)]

    def conflicts_for(self, lane: int) -> list[Conflict]:
        """Conflicts whose ``lane`` is this lane (empty for non-connectors)."""
        return self._conflicts_by_lane.get(lane, [])

    # ---------------------------------------------------------------- geometry
    def position(self, lane: int, s: float, d: float = 0.0) -> np.ndarray:
        """(2,) world point at arc length ``s`` and left offset ``d`` on a lane [m]."""
        return self.table.positions(np.array([lane]), np.array([s]), np.array([d]))[0]

    def heading_at(self, lane: int, s: float) -> float:
        """Lane heading [rad] at arc length ``s`` [m]."""
        return float(self.table.headings(np.array([lane]), np.array([s]))[0])

    def frenet(self, lane: int, xy: np.ndarray) -> tuple[float, float]:
        """(s, d) [m] of a point relative to a lane (searching the whole lane)."""
        return self.table.project_global(lane, xy)

    def nearest_lane(self, xy: np.ndarray,
                     heading: float | None = None) -> tuple[int, float, float]:
        """(lane, s, d) of the lane nearest to a point.

        Among lanes containing the point (|d| <= width/2), ``heading`` [rad] picks the one
        driving most nearly that way; without it the smallest |d| wins.
        """
        t = self.table
        q = np.asarray(xy, np.float64).reshape(2)
        dist2 = t._chord_dist2(t._iv, q)
        lane_min = np.minimum.reduceat(dist2, t._iv_lane_start)
        inside = np.flatnonzero(lane_min <= (t.half_width + 1e-6) ** 2)
        cands = inside if len(inside) else np.array([int(np.argmin(lane_min))])
        best: tuple[float, int, float, float] | None = None
        for ln in cands:
            s, d = self.frenet(int(ln), q)
            score = abs(d) if heading is None or len(inside) < 2 else abs(
                float(wrap_angle(self.heading_at(int(ln), s) - heading)))
            if best is None or score < best[0]:
                best = (score, int(ln), s, d)
        assert best is not None
        return best[1], best[2], best[3]

    # ---------------------------------------------------------------- routing
    def route(self, from_lane: int, to_lane: int) -> list[int]:
        """Cheapest lane sequence from ``from_lane`` to ``to_lane`` (Dijkstra).

        Consecutive entries are successors (cost: length of the lane left) or left/right
        neighbours (cost ``LANE_CHANGE_COST_M``). Raises NoRouteError if unreachable.
        """
        dist = {from_lane: 0.0}
        prev: dict[int, int] = {}
        heap = [(0.0, from_lane)]
        while heap:
            c, u = heapq.heappop(heap)
            if u == to_lane:
                break
            if c > dist[u]:
                continue
            ln = self.lanes[u]
            steps = [(v, ln.length_m) for v in ln.successors]
            steps += [(v, LANE_CHANGE_COST_M) for v in (ln.left, ln.right) if v is not None]
            for v, w in steps:
                if c + w < dist.get(v, np.inf):
                    dist[v] = c + w
                    prev[v] = u
                    heapq.heappush(heap, (c + w, v))
        if to_lane not in dist:
            raise NoRouteError(f"no route from lane {self.lanes[from_lane].id!r} to "
                               f"{self.lanes[to_lane].id!r}")
        path = [to_lane]
        while path[-1] != from_lane:
            path.append(prev[path[-1]])
        return path[::-1]

    # ---------------------------------------------------------------- surfaces
    def road_edges(self) -> list[RoadEdge]:
        """Outer kerb lines of every road, arm and junction corner, normals pointing out."""
        return list(self._edges)

    def is_on_road(self, xy: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """(N,) bool: which points lie on asphalt (roads, arms, junction boxes), with the
        drivable area grown by ``margin_m`` [m]."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        out = np.zeros(len(q), bool)
        for jn in self.junctions:
            out |= jn.contains(q, margin_m)
        if not self.carriageways:
            return out
        p = np.concatenate([c.xy[:-1] for c in self.carriageways])
        th = np.concatenate([c.heading[:-1] for c in self.carriageways])
        k = np.concatenate([c.kint for c in self.carriageways])
        du = np.concatenate([np.diff(c.s) for c in self.carriageways])
        dmin = np.concatenate([np.full(len(c.kint), -c.right_width_m)
                               for c in self.carriageways]) - margin_m
        dmax = np.concatenate([np.full(len(c.kint), c.left_width_m)
                               for c in self.carriageways]) + margin_m
        reach2 = (np.maximum(dmax, -dmin) + du + margin_m + 1e-6) ** 2   # cheap pre-filter radius
        chunk = max(1, _POINT_CHUNK // len(p))
        for a in range(0, len(q), chunk):
            qc = q[a:a + chunk]
            iq, ip = np.nonzero(np.sum((qc[:, None, :] - p[None]) ** 2, -1) <= reach2)
            u, d = arc_local(p[ip], th[ip], k[ip], qc[iq])
            hit = (u >= -margin_m - 1e-9) & (u <= du[ip] + margin_m + 1e-9) & (
                d >= dmin[ip]) & (d <= dmax[ip])
            out[a + iq[hit]] = True
        return out
