"""Tyre-road friction under the weather: how much a wet road lowers ``mu``.

A wet road scales every vehicle's peak friction coefficient by ``WET_FRICTION_FACTOR``
(0.7); heavier rain, with a thicker water film, lowers it further, linearly down to
``FLOODED_FRICTION_FACTOR`` (0.55) at ``FLOODED_RAIN_MM_H`` (50 mm/h) and beyond:

    factor = 1                                              (dry)
    factor = 0.7 - 0.15 * min(1, R / 50 mm/h)               (wet, rain rate R)

Sources: peak tyre-road friction of dry asphalt is about 0.8-0.9 and of wet asphalt about
0.5-0.7 (Wong, *Theory of Ground Vehicles*: average peak coefficients of road adhesion),
so a wet road keeps ~70 % of the dry value (0.6 / 0.85), and a water film of a few tenths of a
millimetre, as heavy rain leaves, pushes it to the low end of the wet range (~0.5 / 0.9).
The braking distance v^2 / (2 mu g) lengthens by 1 / factor.
"""

from __future__ import annotations

from scenarios.weather_schema import Weather

WET_FRICTION_FACTOR = 0.7
"""mu(wet) / mu(dry) on a wet road in light rain."""
FLOODED_FRICTION_FACTOR = 0.55
"""mu(wet) / mu(dry) under a thick water film (rain at ``FLOODED_RAIN_MM_H`` and above)."""
FLOODED_RAIN_MM_H = 50.0


def friction_factor(weather: Weather) -> float:
    """Multiplier on every vehicle's ``mu`` for this weather (1.0 on a dry road)."""
    if not weather.road_is_wet:
        return 1.0
    film = min(1.0, weather.rain_rate_mm_h / FLOODED_RAIN_MM_H)
    return WET_FRICTION_FACTOR - (WET_FRICTION_FACTOR - FLOODED_FRICTION_FACTOR) * film
