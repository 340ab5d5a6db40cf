"""The ``map:`` section of a scenario: roads, intersections, roadside generation, ground."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal, Union

import numpy as np
from pydantic import Field, ValidationInfo, field_validator, model_validator

from scenarios.limits import (
    MAX_GROUND_M,
    MAX_NETWORK_LENGTH_M,
    MAX_SEGMENT_M,
    Angle,
    Coord,
    Id,
    Strict,
)

Vec2 = tuple[Coord, Coord]


class GeoOrigin(Strict):
    """WGS84 point that the world's ENU origin (x east, y north, z up) sits on."""

    lat_deg: float = Field(48.137, ge=-90, le=90)
    lon_deg: float = Field(11.575, ge=-180, le=180)
    alt_m: float = Field(520.0, ge=-500, le=9000)


class Pose2D(Strict):
    position: Vec2 = (0.0, 0.0)
    heading_deg: Angle = 0.0


class StraightSegment(Strict):
    type: Literal["straight"]
    length_m: float = Field(gt=0, le=MAX_SEGMENT_M)

    def length(self) -> float:
        """Length of the reference line [m]."""
        return self.length_m


class ArcSegment(Strict):
    type: Literal["arc"]
    radius_m: float = Field(gt=0, le=MAX_SEGMENT_M)
    angle_deg: Angle = Field(description="Turned angle; positive turns left.")

    def length(self) -> float:
        """Length of the reference line [m]."""
        return self.radius_m * float(np.radians(abs(self.angle_deg)))

    @model_validator(mode="after")
    def _nonzero(self) -> ArcSegment:
        if self.angle_deg == 0:
            raise ValueError("angle_deg must not be 0")
        return self


Segment = Annotated[Union[StraightSegment, ArcSegment], Field(discriminator="type")]


class LaneLayout(Strict):
    forward: int = Field(2, ge=0, le=8, description="Lanes driving along the reference line.")
    backward: int = Field(0, ge=0, le=8, description="Lanes driving against it.")
    width_m: float = Field(3.5, gt=1.5, le=6)

    @model_validator(mode="after")
    def _some_lane(self) -> LaneLayout:
        if self.forward + self.backward == 0:
            raise ValueError("a road needs at least one lane")
        return self


class Road(Strict):
    """A road: its reference line is a chain of straight and arc segments.

    Forward lanes lie right of the reference line (right-hand traffic), backward lanes left
    of it. If the chain ends where it starts, facing the same way, the road is a closed loop.
    """

    id: Id
    start: Pose2D = Pose2D()
    lanes: LaneLayout = LaneLayout()
    segments: list[Segment] = Field(min_length=1, max_length=500)
    speed_limit_mps: float = Field(13.9, gt=0, le=70)

    def length(self) -> float:
        """Length of the reference line [m]."""
        return sum(seg.length() for seg in self.segments)


class Signal(Strict):
    """Two-phase traffic light cycle: the east-west arms, then the north-south arms."""

    green_s: float = Field(20.0, gt=0, le=600)
    yellow_s: float = Field(3.0, ge=0, le=60)
    all_red_s: float = Field(2.0, ge=0, le=60)
    offset_s: float = Field(0.0, ge=-3600, le=3600, description="Shifts the cycle start [s].")


class Intersection(Strict):
    """A 4-way junction with four straight arms at right angles.

    The arms are named east/north/west/south at ``heading_deg`` 0 (east is +x). Each arm has
    ``lanes_per_direction`` incoming and outgoing lanes; the innermost incoming lane turns
    left or goes straight, the outermost turns right or goes straight, the others go straight.
    """

    id: Id
    position: Vec2 = (0.0, 0.0)
    heading_deg: Angle = 0.0
    arm_length_m: float = Field(150.0, gt=10, le=MAX_SEGMENT_M)
    lanes_per_direction: int = Field(2, ge=1, le=4)
    lane_width_m: float = Field(3.5, gt=1.5, le=6)
    corner_radius_m: float = Field(8.0, gt=0, le=100, description="Kerb radius of right turns.")
    speed_limit_mps: float = Field(13.9, gt=0, le=40)
    signal: Signal | None = Field(
        default_factory=Signal, description="null: no lights, priority to the right rules "
        "are not modelled, so a signal is required for traffic through the junction.")


class Range(Strict):
    """A size range drawn uniformly [m]."""

    min: float = Field(gt=0, le=1000)
    max: float = Field(gt=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class BuildingRow(Strict):
    spacing_m: float = Field(25.0, gt=1, le=MAX_SEGMENT_M)
    setback_m: float = Field(4.0, ge=0, le=500, description="Gap between road edge and facade.")
    length_m: Range = Range(min=12, max=22)
    depth_m: Range = Range(min=10, max=18)
    height_m: Range = Range(min=8, max=30)
    probability: float = Field(0.9, ge=0, le=1, description="Chance a slot gets a building.")


class ItemRow(Strict):
    spacing_m: float = Field(30.0, gt=1, le=MAX_SEGMENT_M)
    setback_m: float = Field(1.0, ge=0, le=500)
    probability: float = Field(1.0, ge=0, le=1)


class Roadside(Strict):
    """Props generated along every road edge (seeded from the world stream)."""

    buildings: BuildingRow | None = None
    poles: ItemRow | None = None
    trees: ItemRow | None = None
    signs: ItemRow | None = None
    keep_clear_m: float = Field(
        15.0, ge=0, le=MAX_SEGMENT_M,
        description="No roadside props this close to a junction centre's arms.")


class MapConfig(Strict):
    geo_origin: GeoOrigin = Field(
        default_factory=GeoOrigin, description="WGS84 point of the world origin. Not "
        "written: on an OpenDRIVE map the file's geoReference (+lat_0/+lon_0) if it has "
        "one, else 48.137 N 11.575 E 520 m.")
    roads: list[Road] = Field([], max_length=256)
    intersections: list[Intersection] = Field([], max_length=64)
    opendrive: str | None = Field(
        None, description="An ASAM OpenDRIVE (.xodr) file whose road network replaces the "
        "procedural roads (path relative to the scenario file).")
    signal: Signal | None = Field(
        default_factory=Signal, description="OpenDRIVE maps: the two-phase light cycle every "
        "junction with two or more approaches gets (null: no lights).")
    roadside: Roadside = Roadside()
    ground_size_m: float = Field(1000.0, gt=0, le=MAX_GROUND_M,
                                 description="Side of the flat ground square (OpenDRIVE "
                                 "maps: at least the network's extent plus 200 m).")

    @field_validator("opendrive")
    @classmethod
    def _resolve_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        base = (info.context or {}).get("base_dir")
        path = Path(os.path.expanduser(value))
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        if not path.is_file():
            where = f" (relative to the scenario's folder {base})" if base is not None and \
                not Path(value).is_absolute() else ""
            raise ValueError(f"no OpenDRIVE file {value!r}{where}")
        return os.path.normpath(os.path.abspath(path))

    @property
    def geo_origin_given(self) -> bool:
        """Whether the scenario writes ``geo_origin`` (else a map file's may replace it)."""
        return "geo_origin" in self.model_fields_set

    @model_validator(mode="after")
    def _unique_ids(self) -> MapConfig:
        ids = [r.id for r in self.roads] + [x.id for x in self.intersections]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate road/intersection id(s): {', '.join(dup)}")
        if self.opendrive is not None:
            if ids:
                raise ValueError("map.opendrive replaces the procedural roads: give either "
                                 "an OpenDRIVE file or roads/intersections, not both")
            return self
        if not ids:
            raise ValueError("a map needs at least one road or intersection (or an "
                             "opendrive file)")
        total = sum(r.length() for r in self.roads) + sum(
            4 * x.arm_length_m for x in self.intersections)
        if total > MAX_NETWORK_LENGTH_M:
            raise ValueError(f"roads and junction arms add up to {total / 1000:.2f} km of "
                             f"reference line; at most {MAX_NETWORK_LENGTH_M / 1000:g} km")
        return self
