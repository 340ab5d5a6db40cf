"""Checks of a scenario that need the map (lanes, routes, geometry), without building a
world: what ``run_sim.py validate`` runs after the schema."""

from __future__ import annotations

from scenarios.schema import Scenario
from simulator.map.build import build_hdmap
from simulator.map.hdmap import HDMap
from simulator.map.route import plan_route


def check_scenario(scenario: Scenario) -> HDMap:
    """Build the HD map and plan the ego route.

    Returns:
        The map (callers may inspect it further).

    Raises:
        WorldError: geometry that cannot be built, unknown lanes, no route.
    """
    hdmap = build_hdmap(scenario.map)
    plan_route(hdmap, scenario.ego)
    if scenario.traffic.count and not any(ln.kind == "road" for ln in hdmap.lanes):
        from simulator.errors import WorldError

        raise WorldError("traffic.count > 0 but the map has no road lanes to spawn on")
    return hdmap
