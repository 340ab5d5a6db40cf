"""Lane membership as vehicles drive: projection onto their lanes, moving on to the next
lane past a lane's end, route bookkeeping, and the stops and lane changes routes need.

Works on the traffic arrays it is given (lane, s, d, next lane) and the route table; it
returns the vehicles that left the map at a dead end and leaves parking them to the world.
"""

from __future__ import annotations

import numpy as np

from simulator.map.hdmap import HDMap
from simulator.map.lane_arrays import LaneArrays
from simulator.traffic.logic import NO_LANE, TrafficLogic
from simulator.traffic.routes import RouteTable


class LaneTracker:
    """Lane bookkeeping of every vehicle.

    Args:
        hdmap: the map (nearest-lane search for vehicles driven off their lane).
        lanes: its lane arrays.
        routes: every vehicle's route.
    """

    def __init__(self, hdmap: HDMap, lanes: LaneArrays, routes: RouteTable):
        self.hdmap = hdmap
        self.lanes = lanes
        self.routes = routes
        self._has_exits = bool(lanes.is_exit.any())
        # Per vehicle: the stream choosing its next lane at forks (None: the first
        # successor, i.e. straight on). Set for each episode.
        self.successor_rngs: list[np.random.Generator | None] = []

    def choose_next(self, i: int, lane: int) -> int:
        """The lane vehicle i takes after ``lane``: its route's, or a successor."""
        succ = self.lanes.successors[lane]
        on_route = self.routes.next_lane(i, succ)
        if on_route is not None:
            return on_route
        if not len(succ):
            return NO_LANE
        rng = self.successor_rngs[i]
        return int(succ[0]) if rng is None else int(succ[int(rng.integers(len(succ)))])

    def update(self, tr: TrafficLogic, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
               direct: np.ndarray, length_m: np.ndarray, routed: np.ndarray) -> np.ndarray:
        """Project vehicles onto their lanes and move them on past lane ends.

        Args:
            direct: (n,) bool, vehicles driven by direct commands this step (they may
                leave their lane: they are re-located on the nearest lane).
            routed: (n,) bool, vehicles whose route keeps them on the map (they stop at a
                dead end instead of leaving).

        Returns:
            Indices of the vehicles at the end of a dead-end lane, leaving the map.
        """
        la = self.lanes
        la.project_active(tr.lane, x, y, tr.s, tr.d, tr.active)
        if direct.any():
            off = direct & tr.active & (np.abs(tr.d) > la.width_m[np.maximum(tr.lane, 0)])
            for i in np.flatnonzero(off):
                self._relocate(tr, int(i), x, y, yaw)
        lane0 = np.maximum(tr.lane, 0)
        past_end = np.flatnonzero(tr.active & (tr.s > la.length_m[lane0]))
        for i in past_end:
            self._advance(tr, int(i))
        if not self._has_exits:         # a ring: nobody can leave the map
            return past_end[:0]
        if len(past_end):
            lane0 = np.maximum(tr.lane, 0)
        at_exit = tr.active & la.is_exit[lane0] & (tr.s > la.length_m[lane0] - length_m)
        return np.flatnonzero(at_exit & ~routed)

    def _relocate(self, tr: TrafficLogic, i: int, x: np.ndarray, y: np.ndarray,
                  yaw: np.ndarray) -> None:
        # On maps with elevation the lane it is on now says how high it is: a car is not
        # re-located onto a road above or below it.
        z = None
        if not self.hdmap.table.flat and tr.lane[i] >= 0:
            z = float(self.hdmap.table.heights([tr.lane[i]], [tr.s[i]], [tr.d[i]])[0])
        lane, s, d = self.hdmap.nearest_lane(np.array([x[i], y[i]]), float(yaw[i]), z=z)
        tr.lane[i], tr.s[i], tr.d[i] = lane, s, d
        tr.prev_lane[i] = NO_LANE
        tr.next_lane[i] = self.choose_next(i, int(lane))

    def _advance(self, tr: TrafficLogic, i: int) -> None:
        la = self.lanes
        while tr.s[i] > la.length_m[tr.lane[i]] and tr.next_lane[i] != NO_LANE:
            tr.s[i] -= la.length_m[tr.lane[i]]
            tr.lane[i] = tr.next_lane[i]
            tr.prev_lane[i] = NO_LANE  # a lane-change ghost does not follow across lanes
            self.routes.entered(i, int(tr.lane[i]))
            tr.next_lane[i] = self.choose_next(i, int(tr.lane[i]))
        if tr.s[i] > la.length_m[tr.lane[i]]:
            tr.s[i] = la.length_m[tr.lane[i]]

    def after_lane_change(self, tr: TrafficLogic, movers: np.ndarray) -> None:
        """Re-choose the movers' next lanes (the successors differ per lane)."""
        for i in np.flatnonzero(movers):
            lane = int(tr.lane[i])
            if tr.next_lane[i] not in self.lanes.successors[lane]:
                self.routes.entered(int(i), lane)
                tr.next_lane[i] = self.choose_next(int(i), lane)

    def route_stops(self, tr: TrafficLogic, length_m: np.ndarray, routed: np.ndarray) -> None:
        """Stop points of routed vehicles: the destination (centre at it), a dead end, or
        short of a lane end while a lane change the route needs is pending."""
        la, rt = self.lanes, self.routes
        for i in np.flatnonzero(routed):
            on_last = rt.on_last(int(i))
            # The stop point is for the front bumper (IDM stops ~1 m short of it): place it
            # so the centre comes to rest at the destination.
            stop = rt.destination_s[i] + length_m[i] / 2 + 1.0
            tr.stop_at_s[i] = stop if on_last else np.inf
            lane = tr.lane[i]
            if lane < 0:
                continue
            if tr.next_lane[i] == NO_LANE and la.is_exit[lane]:
                tr.stop_at_s[i] = min(tr.stop_at_s[i], la.length_m[lane])
            if not on_last and tr.next_lane[i] == NO_LANE:
                tr.stop_at_s[i] = la.length_m[lane] - 5.0

    def route_lane_changes(self, tr: TrafficLogic, rows: np.ndarray) -> None:
        """Ask for the lane change a route needs when its next lane is a neighbour."""
        la = self.lanes
        for i in rows:
            nxt = self.routes.upcoming(int(i))
            lane = tr.lane[i]
            if nxt != NO_LANE and lane >= 0 and nxt in (la.left[lane], la.right[lane]):
                tr.forced_change[i] = nxt
