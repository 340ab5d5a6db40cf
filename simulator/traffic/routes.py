"""Every vehicle's route: the lanes it means to drive, where it is on them, where it stops.

A vehicle without a route (``lanes`` empty) picks its next lane at each lane end and changes
lanes at will (MOBIL). A route with a destination pins the lane sequence (lane changes the
route needs are forced as soon as they are safe) and a stop point on its last lane.
"""

from __future__ import annotations

import numpy as np

from simulator.map.route import Route

NO_LANE = -1


class RouteTable:
    """Routes of ``n`` vehicles, indexed like the world's vehicle arrays.

    Attributes:
        index: (n,) position of each vehicle in its route's lane list.
        destination_s: (n,) station on the route's last lane where the vehicle stops [m];
            inf: no destination.
    """

    def __init__(self, n: int):
        self._routes: list[Route | None] = [None] * n
        self.index = np.zeros(n, np.int64)
        self.destination_s = np.full(n, np.inf)

    def set(self, i: int, route: Route | None) -> None:
        """Give vehicle ``i`` a route (None: none; it follows lanes freely)."""
        self._routes[i] = route
        self.index[i] = 0
        self.destination_s[i] = np.inf if route is None else route.destination_s

    def route(self, i: int) -> Route | None:
        return self._routes[i]

    def lanes(self, i: int) -> list[int]:
        r = self._routes[i]
        return [] if r is None else r.lanes

    def has_destination(self, i: int) -> bool:
        return bool(np.isfinite(self.destination_s[i]))

    def upcoming(self, i: int) -> int:
        """The lane after the current route entry, or NO_LANE."""
        lanes = self.lanes(i)
        k = int(self.index[i])
        return lanes[k + 1] if k + 1 < len(lanes) else NO_LANE

    def on_last(self, i: int) -> bool:
        return int(self.index[i]) >= len(self.lanes(i)) - 1

    def entered(self, i: int, lane: int) -> None:
        """Vehicle ``i`` moved onto ``lane``: step the route if that is its next entry."""
        if self.upcoming(i) == lane:
            self.index[i] += 1

    def next_lane(self, i: int, successors: np.ndarray) -> int | None:
        """The route's choice after the current lane: a successor, NO_LANE (a lane change
        comes first, or the route ends here), or None (no route: the caller chooses)."""
        r = self._routes[i]
        if r is None:
            return None
        nxt = self.upcoming(i)
        if nxt != NO_LANE and nxt in successors:
            return int(nxt)
        if nxt != NO_LANE or np.isfinite(r.destination_s):
            return NO_LANE
        return None

    def progress(self, i: int, s_m: float) -> float | None:
        """Fraction of vehicle ``i``'s route driven (0-1) at station ``s_m`` of its current
        lane; None without a destination."""
        r = self._routes[i]
        if r is None or not np.isfinite(r.destination_s):
            return None
        if r.length_m <= 0:
            return 1.0
        k = min(int(self.index[i]), len(r.lanes) - 1)
        done = r.offsets_m[k] + s_m - r.start_s
        return float(np.clip(done / r.length_m, 0.0, 1.0))
