"""The ego's route: lanes from its start to its destination, with stations along it.

Used by the world (to drive it) and by ``run_sim.py validate`` (to check a scenario
without building a world). Errors are ``WorldError`` naming the scenario field.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from scenarios.schema import Ego
from simulator.errors import WorldError
from simulator.map.hdmap import HDMap, NoRouteError


@dataclass(frozen=True)
class EgoRoute:
    """A planned route.

    Attributes:
        lanes: lane indices; consecutive entries are successors or neighbours (a lane
            change keeps the station s).
        start_s: station on the first lane [m].
        destination_s: station on the last lane where the ego stops [m]; inf: none (the
            ego keeps following lanes).
        offsets_m: route station at the start of each entry of ``lanes`` [m].
        length_m: from the start to the destination [m] (0 without destination).
    """

    lanes: list[int]
    start_s: float
    destination_s: float
    offsets_m: list[float]
    length_m: float


def lane_index(hdmap: HDMap, lane_id: str, where: str) -> int:
    """Index of a lane id, or a WorldError naming the field and close matches."""
    try:
        return hdmap.lane_index(lane_id)
    except KeyError:
        close = difflib.get_close_matches(lane_id, [ln.id for ln in hdmap.lanes], n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else \
            f"; lanes look like {hdmap.lanes[0].id!r}"
        raise WorldError(f"{where}: unknown lane {lane_id!r}{hint}") from None


def plan_route(hdmap: HDMap, ego: Ego) -> EgoRoute:
    """Plan the ego's route on the map.

    Raises:
        WorldError: unknown lanes, stations beyond a lane's end, or no route (including a
            destination behind the start on the same lane of a road that does not loop).
    """
    lanes = hdmap.lanes
    start = lane_index(hdmap, ego.start.lane, "ego.start.lane")
    s0 = float(ego.start.s_m)
    if s0 > lanes[start].length_m:
        raise WorldError(f"ego.start.s_m: {s0:g} m is beyond the end of lane "
                         f"{ego.start.lane!r} ({lanes[start].length_m:.1f} m)")
    if ego.destination is None:
        return EgoRoute([start], s0, np.inf, [0.0], 0.0)
    goal = lane_index(hdmap, ego.destination.lane, "ego.destination.lane")
    dest_s = float(ego.destination.s_m)
    if dest_s > lanes[goal].length_m:
        raise WorldError(f"ego.destination.s_m: {dest_s:g} m is beyond the end of lane "
                         f"{ego.destination.lane!r} ({lanes[goal].length_m:.1f} m)")
    try:
        if goal == start and dest_s < s0:
            # Behind the start on the same lane: only reachable by going round a loop.
            route = None
            for succ in lanes[start].successors:
                try:
                    route = [start] + list(hdmap.route(succ, goal))
                    break
                except NoRouteError:
                    continue
            if route is None:
                raise NoRouteError
        else:
            route = list(hdmap.route(start, goal))
    except NoRouteError:
        raise WorldError(f"ego.destination: no route from {ego.start.lane!r} (s = {s0:g} m) "
                         f"to {ego.destination.lane!r} (s = {dest_s:g} m)") from None
    offsets = [0.0]
    for a, b in zip(route[:-1], route[1:]):
        step = lanes[a].length_m if b in lanes[a].successors else 0.0
        offsets.append(offsets[-1] + step)
    return EgoRoute(route, s0, dest_s, offsets, offsets[-1] + dest_s - s0)
