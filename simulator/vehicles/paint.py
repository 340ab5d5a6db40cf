"""Vehicle colours: the scenario's, or one of a palette drawn from each NPC's own colour
stream (so a colour never shifts a driver's draws)."""

from __future__ import annotations

import numpy as np

from scenarios.schema import Scenario
from simulator.seeds import COLOR_KEY, child

PALETTE_RGB = ((200, 200, 205), (30, 30, 35), (150, 155, 160), (20, 60, 140), (120, 20, 25),
               (240, 240, 240), (60, 90, 60), (170, 140, 90), (90, 40, 110), (220, 150, 30))


def vehicle_colors(scenario: Scenario, n_vehicles: int,
                   root: np.random.SeedSequence) -> list[tuple[int, int, int]]:
    """RGB (0-255) of the ego and ``n_vehicles - 1`` NPCs for the episode seeded by ``root``."""
    colors = [tuple(scenario.ego.vehicle.color_rgb or PALETTE_RGB[0])]
    fixed = scenario.traffic.vehicle.color_rgb
    # A named actor's own colour (its ``vehicle.color_rgb``) wins; vehicle 1 + j is actor j.
    named = [a.vehicle.color_rgb if a.vehicle is not None else None
             for a in scenario.actors]
    for i in range(n_vehicles - 1):
        pick = int(np.random.default_rng(child(root, COLOR_KEY, i)).integers(len(PALETTE_RGB)))
        own = named[i] if i < len(named) else None
        colors.append(tuple(own) if own is not None else
                      tuple(fixed) if fixed is not None else PALETTE_RGB[pick])
    return colors
