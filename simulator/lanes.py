"""Lane-level arrays of the HD map for the traffic hot path (indexed by lane index)."""

from __future__ import annotations

import numpy as np

from simulator.hdmap import HDMap

_RANK = {"left": 0, "right": 1, "straight": 2}
_LATERAL_ACCEL_MPS2 = 2.0  # comfortable lateral acceleration that sets curve speeds
_SPLIT_DISTANCE_M = 2.5  # connectors closer than this still share the road space


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
        yield_lane, yield_s, prio_lane, prio_s, prio_pred: conflicts where the vehicle on
            ``yield_lane`` gives way to the one on ``prio_lane`` (``prio_pred`` is the lane
            leading into it), with the conflict stations on each.
    """

    def __init__(self, hdmap: HDMap):
        self.hdmap = hdmap
        self.table = hdmap.table
        lanes = hdmap.lanes
        self.count = len(lanes)
        self.length_m = np.array([ln.length_m for ln in lanes])
        self.speed_limit_mps = np.array([ln.speed_limit_mps for ln in lanes])
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
        rows = []
        for c in hdmap.conflicts:
            a, b = lanes[c.lane], lanes[c.other_lane]
            ra, rb = _RANK.get(a.movement, 2), _RANK.get(b.movement, 2)
            if ra == rb:
                continue
            if ra < rb:
                y, ys, p, ps = c.lane, c.s_m, c.other_lane, c.other_s_m
            else:
                y, ys, p, ps = c.other_lane, c.other_s_m, c.lane, c.s_m
            pred = lanes[p].predecessors[0] if lanes[p].predecessors else -1
            rows.append((y, ys, p, ps, pred))
        rows = sorted(set(rows))
        cols = list(zip(*rows)) if rows else [(), (), (), (), ()]
        self.yield_lane = np.array(cols[0], np.int64)
        self.yield_s = np.array(cols[1], float)
        self.prio_lane = np.array(cols[2], np.int64)
        self.prio_s = np.array(cols[3], float)
        self.prio_pred = np.array(cols[4], np.int64)

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

    def positions(self, lane: np.ndarray, s: np.ndarray, d: np.ndarray | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """World (x, y) of stations ``s`` (and lateral offsets ``d``, + left) on lanes."""
        xy = self.table.positions(lane, s, np.zeros_like(s) if d is None else d)
        return xy[:, 0], xy[:, 1]

    def headings(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        return self.table.headings(lane, s)

    def project(self, lane: np.ndarray, x: np.ndarray, y: np.ndarray, s_guess: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
        """(s, d) of points on given lanes, searching near ``s_guess``."""
        return self.table.project(lane, np.stack([x, y], 1), s_guess)
