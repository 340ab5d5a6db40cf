"""Bounds of the scenario format: limits, bounded field types, the strict base model and
the error a cross-field rule raises.

Every number of a scenario is finite and bounded so that whatever validates also builds and
runs in bounded time and memory. The bounds are physical where physics gives one (an arc
turns at most a full circle) and otherwise set by what the world costs to build: the
world's props, obstacles and lane tables grow with the road length times the number of
props, which is what ``MAX_NETWORK_LENGTH_M`` and ``MAX_ROADSIDE_SLOTS`` keep to about a
minute and 2 GB.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

MAX_DURATION_S = 86_400.0
"""One simulated day [s]."""

MAX_COORD_M = 10_000.0
"""|x| and |y| of anything placed on the map [m] (the largest ground is 20 km wide)."""

MAX_GROUND_M = 20_000.0
"""Side of the ground square [m]."""

MAX_SEGMENT_M = 10_000.0
"""Length of one straight segment, radius of one arc [m]."""

MAX_NETWORK_LENGTH_M = 10_000.0
"""All road reference lines plus all junction arms (4 per junction) together [m]."""

MAX_ROADSIDE_SLOTS = 5_000
"""Generated roadside slots (road edge length / spacing, summed over the rows)."""

MAX_ANGLE_DEG = 360.0
"""|heading|, |yaw| and |arc angle| [deg]."""

MAX_PROPS = 1_000
MAX_SENSORS = 32
MAX_CAMERA_PIXELS = 4096 * 4096
"""All cameras of a rig together [pixels] (about 1.5 GB of ray and image buffers)."""


class FieldError(ValueError):
    """A rule between fields failed; ``loc`` names the field it is about, relative to the
    model that raised it, so the loader can point at its line.

    Args:
        loc: field path below the model, e.g. ``("segments", 2, "radius_m")``.
        message: what is wrong, in one line.
    """

    def __init__(self, loc: tuple[Any, ...], message: str):
        super().__init__(message)
        self.loc = tuple(loc)
        self.message = message


# Field types shared by the scenario models.
Coord = Annotated[float, Field(ge=-MAX_COORD_M, le=MAX_COORD_M)]
"""A map coordinate [m]."""
Angle = Annotated[float, Field(ge=-MAX_ANGLE_DEG, le=MAX_ANGLE_DEG)]
"""A heading, yaw or turned angle [deg]."""
Size = Annotated[float, Field(gt=0, le=1000)]
"""An object's length, width or height [m]."""
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
"""A road or intersection id (it becomes part of lane ids)."""


class Strict(BaseModel):
    """Base for every scenario model: unknown keys raise, values are immutable, floats are
    finite (NaN and infinity are refused)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
