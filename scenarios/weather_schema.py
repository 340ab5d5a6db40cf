"""The scenario's ``weather:`` block: sun (time of day), fog, rain, wet road.

Angles are compass angles at this YAML surface: ``sun_azimuth_deg`` is measured clockwise
from north (0 = north = +y, 90 = east = +x, the world frame being ENU: x east, y north,
z up), ``sun_elevation_deg`` above the horizon (negative: below it; under about -6 deg,
civil twilight is over and only a dim night sky lights the scene). The defaults are the
clear day every scenario had before weather existed (sun in the north-west, 45 deg up):
they reproduce earlier outputs bit for bit. The physics is in ``sensors.weather`` (camera,
lidar) and ``simulator.vehicles.friction`` (wet road); formulas and sources are in the
README ("Weather and light").
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from scenarios.limits import Strict

_Channel = Annotated[int, Field(ge=0, le=255)]
_Wind = Annotated[float, Field(ge=-60, le=60)]

CIVIL_TWILIGHT_DEG = -6.0
"""Sun elevation below which it is night (only the night sky lights the scene)."""


class Weather(Strict):
    """Sun position, fog, rain and road wetness of a scenario."""

    sun_azimuth_deg: float = Field(
        315.0, ge=0, le=360, description="Compass azimuth of the sun: clockwise from north "
        "(0 = north = +y, 90 = east = +x).")
    sun_elevation_deg: float = Field(
        45.0, ge=-90, le=90, description="Sun elevation above the horizon; below -6 deg "
        "it is night.")
    fog_visibility_m: float | None = Field(
        None, ge=10, le=100_000, description="Meteorological visibility V of fog [m] "
        "(extinction 3.912 / V, Koschmieder's 2 % contrast threshold); null = no fog.")
    fog_color_rgb: tuple[_Channel, _Channel, _Channel] = Field(
        (225, 228, 232), description="sRGB colour of the fog's airlight under full daylight.")
    rain_rate_mm_h: float = Field(0.0, ge=0, le=200, description="Rain rate [mm/h].")
    wet_road: bool | None = Field(
        None, description="Wet road surface (lower tyre friction); null = wet when it "
        "rains.")
    wind_mps: tuple[_Wind, _Wind] = Field(
        (0.0, 0.0), description="Wind velocity (east, north) [m/s] near the ground: "
        "blows debris (air drag on its speed relative to the air).")
    rain_streaks: bool = Field(
        False, description="Draw falling-drop streaks into camera images (seeded from each "
        "camera's own stream).")

    @property
    def road_is_wet(self) -> bool:
        """``wet_road``, or (when it is null) whether it rains."""
        return self.rain_rate_mm_h > 0 if self.wet_road is None else self.wet_road

    @property
    def has_media(self) -> bool:
        """Whether anything in the air (fog, rain) attenuates light."""
        return self.fog_visibility_m is not None or self.rain_rate_mm_h > 0
