"""Actors that are not road vehicles: ``pedestrians:`` and ``debris:`` of a scenario.

Pedestrians walk a polyline of world points at a speed (``simulator.actors.pedestrians``)::

    pedestrians:
      - name: crosser
        path: [[20, -8], [20, 8]]      # from one kerb to the other
        speed_mps: 1.4
        waits: true                    # stands at path[0] until a `cross` event

Debris is a light object that pybullet simulates with gravity, air drag and the wind
(``simulator.actors.debris``)::

    debris:
      - name: bag
        kind: plastic_bag
        position: [40, -6, 1.5]        # its centre [m]
        velocity_mps: [0, 3, 0]
        waits: true                    # held still, unseen, until a `debris` event
    weather: {wind_mps: [0, 6]}        # the wind that blows it (scenarios.weather_schema)
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from scenarios.limits import Coord, Id, Strict

MAX_PEDESTRIANS = 512
MAX_DEBRIS = 256
MAX_PATH_POINTS = 256

Point = tuple[Coord, Coord]
Height = Annotated[float, Field(ge=-100, le=1000)]
Vel = Annotated[float, Field(ge=-100, le=100)]

DebrisKind = Literal["plastic_bag", "cardboard_box", "tyre"]


class Pedestrian(Strict):
    """A person walking a path of world points (x, y) [m], straight between points."""

    name: Id
    path: list[Point] = Field(min_length=2, max_length=MAX_PATH_POINTS,
                              description="World points walked in order [m].")
    speed_mps: float = Field(1.4, gt=0, le=10, description="Walking speed (1.4 m/s: "
                             "the mean of adults).")
    waits: bool = Field(False, description="Stands at path[0] until a `cross` event "
                        "starts it.")
    hidden: bool = Field(False, description="Not in the world until a `spawn` event "
                         "(then it walks, unless it also waits).")
    loop: bool = Field(False, description="At the end, walk the path back, and so on; "
                       "false: stay at the last point.")
    height_m: float = Field(1.75, ge=0.5, le=2.5)
    width_m: float = Field(0.55, ge=0.2, le=1.5, description="Shoulder width.")
    depth_m: float = Field(0.3, ge=0.1, le=1.0, description="Chest to back.")
    gap_s: float = Field(2.0, ge=0, le=30, description="Gap acceptance at the kerb: steps "
                         "onto the road only if every vehicle heading for its crossing "
                         "line is more than speed x gap_s + its stopping distance away "
                         "(simulator.actors.pedestrians); 0: walks out regardless (a "
                         "pedestrian darting out, for emergency-braking tests).")


class DebrisItem(Strict):
    """A piece of debris: where it starts, how it moves then, and when it appears."""

    name: Id
    kind: DebrisKind
    position: tuple[Coord, Coord, Height] = Field(description="Centre at launch [m].")
    velocity_mps: tuple[Vel, Vel, Vel] = (0.0, 0.0, 0.0)
    waits: bool = Field(False, description="Held, unseen, until a `debris` event "
                        "launches it; false: launched at t = 0.")
