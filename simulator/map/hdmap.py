"""The HD map: lanes with exact geometry and topology, and the queries drivers and the world use.

Build one with :func:`simulator.map.build.build_hdmap` (map sources: ``procedural/``). Lane
indices are positions in ``HDMap.lanes``. Metres and radians throughout.
"""

from __future__ import annotations

import difflib
import heapq
import logging

import numpy as np

from simulator.map.geometry import arc_local, wrap_angle
from simulator.map.lanes import Conflict, Lane, LaneTable, Marking, RoadEdge
from simulator.map.strips import StripIndex, SurfaceStrip
from simulator.map.surfaces import Carriageway, Junction

log = logging.getLogger(__name__)

LANE_CHANGE_COST_M = 30.0     # route cost of one lane change, as extra distance [m]
SHORT_LANE_M = 60.0           # a lane change on a lane shorter than this (no room for the
SHORT_LANE_CHANGE_COST_M = 1000.0   # manoeuvre before a junction) costs this much more
_POINT_CHUNK = 2_000_000      # max (points x intervals) per vectorised block


class NoRouteError(LookupError):
    """No lane sequence leads from the start lane to the destination lane."""


class HDMap:
    """Lanes, conflicts, markings, kerbs and drivable area of a map, with queries.

    Attributes:
        lanes: every lane; conflicts: connector crossings/merges (both orders);
        markings: painted lines; table: the vectorised :class:`LaneTable`;
        carriageways / junctions: the surfaces of procedural maps (see
            :mod:`simulator.map.procedural.network`); strips: lane-by-lane 3D surfaces of
            OpenDRIVE maps (:mod:`simulator.map.strips`), driving, other asphalt and
            sidewalks;
        ground_size_m: side of the ground square centred on the world origin;
        origin: (3,) where the world origin lies in the map file's frame [m] (file
            coordinates = ours + origin; zeros for procedural maps);
        source: what the map was built from (``procedural`` or the .xodr path);
        flat: every surface is at z = 0 (procedural maps).
    """

    def __init__(self, lanes: list[Lane], conflicts: list[Conflict], markings: list[Marking],
                 edges: list[RoadEdge], carriageways: list[Carriageway],
                 junctions: list[Junction], ground_size_m: float = 1000.0,
                 strips: list[SurfaceStrip] | None = None,
                 origin: np.ndarray | None = None, source: str = "procedural",
                 extra: dict | None = None):
        self.lanes = lanes
        self.strips = list(strips or [])
        self.origin = np.zeros(3) if origin is None else np.asarray(origin, np.float64)
        self.source = source
        self.extra = dict(extra or {})
        self._drivable = StripIndex([s for s in self.strips if s.drivable])
        self._surface = StripIndex(self.strips)
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
        self.flat = self.table.flat and not any(
            np.any(s.left[:, 2]) or np.any(s.right[:, 2]) for s in self.strips)

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

    def nearest_lane(self, xy: np.ndarray, heading: float | None = None,
                     z: float | None = None) -> tuple[int, float, float]:
        """(lane, s, d) of the lane nearest to a point.

        Among lanes containing the point (|d| <= width/2), ``heading`` [rad] picks the one
        driving most nearly that way; without it the smallest |d| wins. On maps with
        elevation, ``z`` [m] keeps only lanes whose surface there is within 2.5 m of it
        (a road on a bridge over another).
        """
        t = self.table
        q = np.asarray(xy, np.float64).reshape(2)
        dist2 = t._chord_dist2(t._iv, q)
        if z is not None and not t.flat:
            dz = np.abs(t.z[t._iv] - z) - 2.5
            dist2 = dist2 + np.where(dz > 0, 1e6, 0.0)
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
        neighbours (cost ``LANE_CHANGE_COST_M``, plus ``SHORT_LANE_CHANGE_COST_M`` from a
        lane shorter than ``SHORT_LANE_M``: OpenDRIVE motorways come in short pieces, and
        a change is planned on a long one when it can be). Raises NoRouteError if
        unreachable.
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
            change = LANE_CHANGE_COST_M + (SHORT_LANE_CHANGE_COST_M
                                           if ln.length_m < SHORT_LANE_M else 0.0)
            steps += [(v, change) for v in (ln.left, ln.right) if v is not None]
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
        out = self._drivable.contains(q, margin_m) if self.strips else np.zeros(len(q), bool)
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

    def surface_height(self, xy: np.ndarray, z_hint: np.ndarray | float | None = None,
                       reach_m: float = 0.0) -> np.ndarray:
        """(N,) height [m] of the road or sidewalk surface under points: 0 on flat maps;
        on maps with elevation the surface (planar per mesh triangle) or, off every
        surface, the nearest surface corner within ``reach_m`` [m], else NaN; ``z_hint``
        picks among stacked surfaces (default: the highest)."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        if self.flat:
            return np.zeros(len(q))
        return self._surface.heights(q, z_hint, reach_m)
