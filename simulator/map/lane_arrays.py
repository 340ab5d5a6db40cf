"""Lane-level arrays of the HD map for the traffic hot path (indexed by lane index)."""

from __future__ import annotations

import numpy as np

from simulator.map import lane_kernels
from simulator.map.hdmap import HDMap
from simulator.map.lane_kernels import ObstacleTable

_RANK = {"left": 0, "right": 1, "straight": 2}
_LATERAL_ACCEL_MPS2 = 2.0  # comfortable lateral acceleration (whole-lane curve speeds)
_CAR_HALF_WIDTH_M = 1.3  # half a car's width plus a margin, for conflict zones
_SPLIT_DISTANCE_M = 2.5  # connectors closer than this still share the road space
KEY_STRIDE = 1.0e6  # station key stride per lane for sorted (lane, s) searches


class LaneArrays:
    """Per-lane facts as flat arrays plus vectorised position/projection queries.

    Attributes:
        count: number of lanes.
        length_m, speed_limit_mps, curve_speed_mps: per lane.
        left, right: neighbour lane index or -1.
        only_successor: the successor when a lane has exactly one, else -1.
        is_road: lane is a road/arm lane (not a junction connector).
        at_junction_end: lane ends at a junction (its end is a stop line).
        is_entry / is_exit: no predecessors / no successors (traffic enters / leaves).
        conf_*, yield_*, prio_*: conflict tables, see ``_conflict_tables``.
    """

    def __init__(self, hdmap: HDMap):
        self.hdmap = hdmap
        self.table = hdmap.table
        self.geometry = lane_kernels.lane_geometry(hdmap.table)
        lanes = hdmap.lanes
        self.count = len(lanes)
        self.length_m = np.array([ln.length_m for ln in lanes])
        self.speed_limit_mps = np.array([ln.speed_limit_mps for ln in lanes])
        self.width_m = np.array([ln.width_m for ln in lanes])
        max_curv = np.array([np.abs(ln.curvature).max() if len(ln.curvature) else 0.0
                             for ln in lanes])
        self.curve_speed_mps = np.sqrt(_LATERAL_ACCEL_MPS2 / np.maximum(max_curv, 1e-6))
        self.left = np.array([-1 if ln.left is None else ln.left for ln in lanes], np.int64)
        self.right = np.array([-1 if ln.right is None else ln.right for ln in lanes], np.int64)
        self.only_successor = np.array([ln.successors[0] if len(ln.successors) == 1 else -1
                                        for ln in lanes], np.int64)
        self.is_road = np.array([ln.kind == "road" for ln in lanes])
        self.at_junction_end = np.array([any(lanes[s].kind == "connector"
                                             for s in ln.successors) for ln in lanes])
        self.after_junction = np.array([any(lanes[q].kind == "connector"
                                            for q in ln.predecessors) for ln in lanes])
        self.is_entry = np.array([len(ln.predecessors) == 0 for ln in lanes])
        self.is_exit = np.array([len(ln.successors) == 0 for ln in lanes])
        self.successors = [np.array(ln.successors, np.int64) for ln in lanes]
        self._connector_groups(lanes)
        self._conflict_tables(lanes, hdmap.conflicts)
        self.set_obstacles([])

    @staticmethod
    def _zone(lane, other) -> tuple[float, float]:
        """Stations on ``lane`` where a car on it overlaps ``other``'s lane: its centreline
        comes within half the other lane plus half a car (and a margin) of the other's."""
        d = np.hypot(*(lane.centerline[:, None, :] - other.centerline[None, :, :]).T)
        inside = np.flatnonzero(d.min(axis=0) < other.width_m / 2 + _CAR_HALF_WIDTH_M)
        if not len(inside):
            return float(lane.length_m), float(lane.length_m)
        return float(lane.s[inside[0]]), float(lane.s[inside[-1]])

    def _conflict_tables(self, lanes, conflicts) -> None:
        """Directed conflict rows with the conflict zone [entry, exit] on each lane.

        ``conf_*``: every (a vs b) pair, both orders, with a's approach lane and whether
        both movements get green together. ``yield_*`` / ``prio_*``: the pairs where a
        left turn gives way to a straight or right movement (or a right turn to a straight
        one) of the same signal phase, and where of two equal movements merging into one
        lane the one with the other on its right gives way.
        """
        def group(lane: int) -> int:
            preds = lanes[lane].predecessors
            sg = lanes[preds[0]].signal_group if preds else None
            return -1 if sg is None else int(sg)

        def pred(lane: int) -> int:
            return lanes[lane].predecessors[0] if lanes[lane].predecessors else -1

        pairs = sorted({(c.lane, c.other_lane) for c in conflicts} |
                       {(c.other_lane, c.lane) for c in conflicts})
        zones = {(a, b): self._zone(lanes[a], lanes[b]) for a, b in pairs}
        rows, yields, merges = [], [], []
        for a, b in pairs:
            (ae, ax), (be, bx) = zones[(a, b)], zones[(b, a)]
            same = group(a) == group(b)
            rows.append((a, ae, ax, b, be, bx, pred(a), same))
            ra = _RANK.get(lanes[a].movement, 2)
            rb = _RANK.get(lanes[b].movement, 2)
            if ra == rb and lanes[a].successors and lanes[a].successors == lanes[b].successors:
                merges.append((a, ae, b, be))
            if same and (ra < rb or (ra == rb and _merge_from_right(lanes[a], lanes[b]))):
                yields.append((a, ae, ax, b, be, bx, pred(b)))
        # Equal movements merging into one lane drive side by side, then as one lane: in
        # their shared zone the car nearer the end leads the other (``merge_*``, both
        # orders; see ``TrafficLogic.find_leaders``).
        self.merge_lane = np.array([r[0] for r in merges], np.int64)
        self.merge_entry = np.array([r[1] for r in merges], float)
        self.merge_other = np.array([r[2] for r in merges], np.int64)
        self.merge_other_entry = np.array([r[3] for r in merges], float)
        i, f, b = np.int64, float, bool
        self._set_columns(rows, "conf", ("lane", "entry", "exit", "other", "other_entry",
                                         "other_exit", "pred", "same_phase"),
                          (i, f, f, i, f, f, i, b))
        for name, col, dtype in zip(
                ("yield_lane", "yield_entry", "yield_exit", "prio_lane", "prio_entry",
                 "prio_exit", "prio_pred"), range(7), (i, f, f, i, f, f, i)):
            setattr(self, name, np.array([r[col] for r in yields], dtype))

    def _set_columns(self, rows: list[tuple], prefix: str, names: tuple[str, ...],
                     dtypes: tuple) -> None:
        """Store the columns of ``rows`` as arrays ``{prefix}_{name}``."""
        for col, (name, dtype) in enumerate(zip(names, dtypes)):
            setattr(self, f"{prefix}_{name}", np.array([r[col] for r in rows], dtype))

    def _connector_groups(self, lanes) -> None:
        """Connectors leaving the same lane overlap at first: until ``split_s`` they count
        as one lane (``group``) for car following, so a straight-going car sees a turning
        car that waits just past the stop line."""
        n = self.count
        self.group = np.arange(n, dtype=np.int64)
        self.split_s = np.zeros(n)
        for ln in lanes:
            siblings = [lanes[k] for k in ln.successors if lanes[k].kind == "connector"]
            if len(siblings) < 2:
                continue
            for c in siblings:
                self.group[c.index] = n + ln.index
                split = 0.0
                for o in siblings:
                    if o is c:
                        continue
                    # First station where the other connector is more than a car width away.
                    d = np.hypot(*(c.centerline[:, None, :] - o.centerline[None, :, :]).T)
                    far = np.flatnonzero(d.min(axis=0) > _SPLIT_DISTANCE_M)
                    split = max(split, c.s[far[0]] if len(far) else c.length_m)
                self.split_s[c.index] = split

    def set_obstacles(self, footprints: list[np.ndarray]) -> None:
        """Static obstacles on lanes (props standing on the road): for every lane, the
        stations [s_in, s_out] a footprint (4, 2) covers within the lane's width (+0.3 m).

        Overlapping extents on one lane are merged, so per lane the rows are disjoint and
        sorted: ``obstacle_lane``, ``obstacle_s`` (start) and ``obstacle_end_s``. A car
        whose body overlaps an extent is blocked by it (``obstacle_gap`` < 0); one behind
        it sees a stopped leader at ``obstacle_s``."""
        self._static_rows = self._footprint_rows(footprints)
        self._set_obstacle_rows(self._static_rows)

    def set_dynamic_obstacles(self, footprints: list[np.ndarray]) -> None:
        """The static obstacles plus these footprints (pedestrians on the road now), for
        the next decisions; ``[]`` restores the static ones."""
        self._set_obstacle_rows(self._static_rows +
                                self._footprint_rows(footprints, exact_road=False))

    def _footprint_rows(self, footprints: list[np.ndarray], exact_road: bool = True
                        ) -> list[tuple[int, float, float]]:
        """(lane, s_in, s_out) of every lane a footprint covers (within width + 0.3 m).
        ``exact_road`` False: skip the outline's on-road test (the lane test decides)."""
        rows: list[tuple[int, float, float]] = []
        if not footprints:
            return rows
        # Each edge sampled at 5 points, and the centre: (k, 21, 2) in one pass.
        fps = np.asarray(footprints, np.float64).reshape(-1, 4, 2)
        steps = np.linspace(0.0, 1.0, 6)[:-1]
        edges = fps[:, None] + (np.roll(fps, -1, axis=1) - fps)[:, None] * steps[None, :,
                                                                               None, None]
        outlines = list(np.concatenate([edges.reshape(len(fps), -1, 2),
                                        fps.mean(1)[:, None]], axis=1))
        on = np.zeros(len(outlines), bool)
        if outlines:
            # Cheap first pass: a footprint's centre within its half-diagonal of the road.
            centers = np.array([fp.mean(0) for fp in footprints])
            reach = max(float(np.hypot(*np.ptp(fp, axis=0)) / 2) for fp in footprints)
            near = np.flatnonzero(self.hdmap.is_on_road(centers, margin_m=reach + 0.3))
            if len(near) and not exact_road:
                on[near] = True
            elif len(near):
                pts = np.concatenate([outlines[k] for k in near])
                hit = self.hdmap.is_on_road(pts, margin_m=0.3).reshape(len(near), -1)
                on[near] = hit.any(axis=1)
        boxes = self._lane_boxes()
        for k, pts in enumerate(outlines):
            if not on[k]:
                continue
            lo, hi = pts.min(0), pts.max(0)
            near_lanes = np.flatnonzero((boxes[:, 0] <= hi[0]) & (boxes[:, 2] >= lo[0]) &
                                        (boxes[:, 1] <= hi[1]) & (boxes[:, 3] >= lo[1]))
            for li in near_lanes:
                lane = self.hdmap.lanes[li]
                s_d = np.stack(self.table.project_global_points(lane.index, pts), 1)
                inside = (np.abs(s_d[:, 1]) < lane.width_m / 2 + 0.3) & \
                    (s_d[:, 0] >= 0) & (s_d[:, 0] <= lane.length_m)
                if inside.any():
                    rows.append((lane.index, float(s_d[inside, 0].min()),
                                 float(s_d[inside, 0].max())))
        return rows

    def _lane_boxes(self) -> np.ndarray:
        """(lanes, 4) xmin, ymin, xmax, ymax of each lane's centreline, grown by its
        half width + 0.3 m (the reach of ``_footprint_rows``), cached."""
        if getattr(self, "_boxes", None) is None:
            b = np.empty((len(self.hdmap.lanes), 4))
            for k, lane in enumerate(self.hdmap.lanes):
                grow = lane.width_m / 2 + 0.3
                b[k, :2] = lane.centerline.min(0) - grow
                b[k, 2:] = lane.centerline.max(0) + grow
            self._boxes = b
        return self._boxes

    def _set_obstacle_rows(self, rows: list[tuple[int, float, float]]) -> None:
        """Store (lane, s_in, s_out) extents, merged per lane, with their search keys."""
        merged: list[list] = []
        for lane, s_in, s_out in sorted(rows):
            if merged and merged[-1][0] == lane and s_in <= merged[-1][2]:
                merged[-1][2] = max(merged[-1][2], s_out)
            else:
                merged.append([lane, s_in, s_out])
        self.obstacle_lane = np.array([r[0] for r in merged], np.int64)
        self.obstacle_s = np.array([r[1] for r in merged], float)
        self.obstacle_end_s = np.array([r[2] for r in merged], float)
        # Extents are disjoint per lane, so their ends are sorted like their starts.
        self._obstacle_end_key = self.obstacle_lane * KEY_STRIDE + self.obstacle_end_s
        self.first_obstacle_s = np.full(self.count + 1, np.inf)
        for lane, s_in, _ in reversed(merged):
            self.first_obstacle_s[lane] = s_in
        self.obstacles = ObstacleTable(self._obstacle_end_key, self.obstacle_lane,
                                       self.obstacle_s, self.first_obstacle_s, self.length_m)

    def obstacle_gap(self, lane: np.ndarray, s: np.ndarray, to_front: np.ndarray,
                     next_lane: np.ndarray) -> np.ndarray:
        """Front-bumper distance to the next static obstacle on the lane (or, failing
        that, on the next lane); inf where there is none. A car reaching ``to_front``
        either side of its station ``s`` that overlaps an obstacle's extent is blocked by
        it: the distance is then <= 0."""
        if not len(self.obstacle_s):
            return np.full(len(s), np.inf)
        rear = lane * KEY_STRIDE + (s - to_front)
        pos = np.searchsorted(self._obstacle_end_key, rear, side="right")
        hit = pos < len(self.obstacle_s)
        pos = np.minimum(pos, len(self.obstacle_s) - 1)
        same = hit & (self.obstacle_lane[pos] == lane)
        gap = np.where(same, self.obstacle_s[pos] - s - to_front, np.inf)
        nxt = self.first_obstacle_s[next_lane]      # next_lane -1 -> the inf sentinel
        return np.where(same, gap, self.length_m[lane] - s - to_front + nxt)

    def positions(self, lane: np.ndarray, s: np.ndarray, d: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """World (x, y) of stations ``s`` (and lateral offsets ``d``, + left) on lanes."""
        lane = np.asarray(lane, np.int64).reshape(-1)
        s = np.asarray(s, np.float64).reshape(-1)
        lane, s = np.broadcast_arrays(lane, s)
        d = np.zeros(len(s)) if d is None else np.broadcast_to(np.asarray(d, np.float64), s.shape)
        x, y = np.empty(len(s)), np.empty(len(s))
        lane_kernels.positions(self.geometry, lane, s, d, x, y)
        return x, y

    def headings(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        return self.table.headings(lane, s)

    def curvatures(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        """Lane curvature [1/m, + = left] at stations ``s`` (``LaneTable.curvatures``)."""
        lane, s = np.broadcast_arrays(np.asarray(lane, np.int64).reshape(-1),
                                      np.asarray(s, np.float64).reshape(-1))
        out = np.empty(len(s))
        lane_kernels.curvatures(self.geometry, lane, s, out)
        return out

    def project_active(self, lane: np.ndarray, x: np.ndarray, y: np.ndarray, s: np.ndarray,
                       d: np.ndarray, active: np.ndarray) -> None:
        """Track vehicles on their lanes: (s, d) of every active vehicle's point (x, y) on
        its lane, written into ``s`` and ``d`` in place (``s`` is the guess, as
        ``project``). The same as ``project`` on the active rows, without the copies."""
        lane_kernels.project_active(self.geometry, np.asarray(lane, np.int64),
                                    np.ascontiguousarray(x, np.float64),
                                    np.ascontiguousarray(y, np.float64), s, d,
                                    np.asarray(active, bool))

    def stations_on(self, lane: np.ndarray, s: np.ndarray, d: np.ndarray, other: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) on lanes ``other`` (neighbours: tens of metres at most between the
        proportional station and the true one) of the points at (``s``, ``d``) of lanes
        ``lane``: the exact projection, which a lane change needs (mapping the station in
        proportion to the lane lengths is metres off on curves)."""
        lane = np.asarray(lane, np.int64)
        n = len(lane)
        s_out, d_out = np.empty(n), np.empty(n)
        lane_kernels.stations_on(self.geometry, lane, np.asarray(s, np.float64),
                                 np.asarray(d, np.float64), np.asarray(other, np.int64),
                                 s_out, d_out)
        return s_out, d_out

    def project(self, lane: np.ndarray, x: np.ndarray, y: np.ndarray, s_guess: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """(s, d) of points on given lanes, searching near ``s_guess`` (within a few
        metres: ``LaneTable.project_near``, compiled)."""
        lane = np.asarray(lane, np.int64)
        n = len(lane)
        s, d = np.empty(n), np.empty(n)
        lane_kernels.project_near(self.geometry, lane, np.asarray(x, np.float64),
                                  np.asarray(y, np.float64),
                                  np.asarray(s_guess, np.float64), s, d)
        return s, d


def _merge_from_right(a, b) -> bool:
    """Two connectors of the same movement that merge into the same lane (an OpenDRIVE
    interchange's ramps): ``a`` gives way when ``b`` comes from its right (priority to
    the right), judged in one frame for both (the end heading of ``a``, where they join:
    the same as ``b``'s), so exactly one of the two yields; starts side by side along it
    (no side) leave it to the higher lane index."""
    if not a.successors or a.successors != b.successors:
        return False
    h = 0.5 * (a.heading[-1] + b.heading[-1] + np.pi * 2.0 * np.round(
        (a.heading[-1] - b.heading[-1]) / (2.0 * np.pi)))          # mean end heading
    r = b.centerline[0] - a.centerline[0]
    side = float(np.cos(h) * r[1] - np.sin(h) * r[0])
    if abs(side) < 1e-6:
        return a.index > b.index
    return side < 0.0
