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
class Route:
    """A planned route of one vehicle.

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


def plan_route(hdmap: HDMap, ego: Ego) -> Route:
    """Plan the ego's route on the map (``ego.start`` to ``ego.destination``).

    Raises:
        WorldError: unknown lanes, stations beyond a lane's end, or no route (including a
            destination behind the start on the same lane of a road that does not loop).
    """
    dest = ego.destination
    return plan_lane_route(hdmap, ego.start.lane, ego.start.s_m,
                           None if dest is None else dest.lane,
                           None if dest is None else dest.s_m, "ego")


def plan_lane_route(hdmap: HDMap, start_lane: str | int, start_s_m: float,
                    goal_lane: str | int | None, goal_s_m: float | None,
                    where: str = "route") -> Route:
    """Plan a route from a lane station to another (lane ids or indices).

    ``goal_lane`` None: no destination, the vehicle keeps following lanes. ``where`` names
    the scenario field in error messages (``where.start.lane`` ...).

    Raises:
        WorldError: as :func:`plan_route`.
    """
    lanes = hdmap.lanes
    start = start_lane if isinstance(start_lane, int) else \
        lane_index(hdmap, start_lane, f"{where}.start.lane")
    start_id = lanes[start].id
    s0 = float(start_s_m)
    if s0 > lanes[start].length_m:
        raise WorldError(f"{where}.start.s_m: {s0:g} m is beyond the end of lane "
                         f"{start_id!r} ({lanes[start].length_m:.1f} m)")
    if goal_lane is None:
        return Route([start], s0, np.inf, [0.0], 0.0)
    goal = goal_lane if isinstance(goal_lane, int) else \
        lane_index(hdmap, goal_lane, f"{where}.destination.lane")
    goal_id = lanes[goal].id
    dest_s = float(goal_s_m if goal_s_m is not None else lanes[goal].length_m)
    if dest_s > lanes[goal].length_m:
        raise WorldError(f"{where}.destination.s_m: {dest_s:g} m is beyond the end of lane "
                         f"{goal_id!r} ({lanes[goal].length_m:.1f} m)")
    def offsets_of(route: list[int]) -> list[float]:
        out = [0.0]
        for a, b in zip(route[:-1], route[1:]):
            out.append(out[-1] + (lanes[a].length_m if b in lanes[a].successors else 0.0))
        return out

    # Lane changes keep the station: a destination reached by lane changes alone must not
    # lie behind the start (then only going round a loop reaches it).
    route: list[int] | None = None
    try:
        direct = list(hdmap.route(start, goal))
        if offsets_of(direct)[-1] + dest_s - s0 >= 0.0:
            route = direct
    except NoRouteError:
        pass
    if route is None:
        for succ in lanes[start].successors:
            try:
                route = [start] + list(hdmap.route(succ, goal))
                break
            except NoRouteError:
                continue
    if route is None:
        raise WorldError(f"{where}.destination: no route from {start_id!r} (s = {s0:g} m) "
                         f"to {goal_id!r} (s = {dest_s:g} m)")
    offsets = offsets_of(route)
    return Route(route, s0, dest_s, offsets, offsets[-1] + dest_s - s0)
