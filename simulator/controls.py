"""Commands from outside the world (an RL agent, a second driver, a test) for any vehicle.

``World.step(controls)`` takes ``{vehicle: control}`` where the vehicle is an index (0 is
the ego) or a name (``"ego"``, ``"npc_007"``), and the control is

- :class:`DirectControl`: acceleration and road-wheel angle, applied as given (limited by
  the vehicle's dynamics only);
- :class:`MetaAction`: change lane left / right or keep it, and optionally a new target
  speed, carried out by the autopilot's own controllers (lane changes when safe, a speed
  PID under IDM's safety braking, pure pursuit steering).

A vehicle that gets no control in a step is driven by its own driver again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Union


@dataclass(frozen=True)
class DirectControl:
    """Direct command: acceleration [m/s^2] (negative brakes) and road-wheel angle [rad]."""

    accel_mps2: float
    steer_rad: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.accel_mps2) and math.isfinite(self.steer_rad)):
            raise ValueError(f"DirectControl needs finite values, got {self}")


EgoControl = DirectControl  # the name from when only the ego could be driven


@dataclass(frozen=True)
class MetaAction:
    """High-level command executed by the autopilot controllers.

    Attributes:
        lane_change: "left", "right" or None (keep the lane). A change starts when it is
            safe (MOBIL's safety test) and the neighbour lane exists.
        target_speed_mps: new cruise target [m/s] (kept until the next one, or until the
            vehicle's driver takes over again); None keeps the current one. It replaces the
            driver's desired speed (speed limit included: the command is the policy's
            choice); the vehicle still slows for curves and never exceeds what IDM allows
            for the gap ahead, lights and stop points.
    """

    lane_change: Literal["left", "right"] | None = None
    target_speed_mps: float | None = None

    def __post_init__(self) -> None:
        if self.lane_change not in (None, "left", "right"):
            raise ValueError(f"lane_change must be 'left', 'right' or None, got "
                             f"{self.lane_change!r}")
        v = self.target_speed_mps
        if v is not None and not (math.isfinite(v) and v >= 0.0):
            raise ValueError(f"target_speed_mps must be finite and >= 0, got {v!r}")


Control = Union[DirectControl, MetaAction]
Controls = Union[Control, Mapping[Union[int, str], Control], None]


def resolve_vehicle(vehicle: int | str, names: list[str]) -> int:
    """Index of a vehicle given by index or name (``"ego"``, ``"npc_007"``).

    Raises:
        KeyError: no vehicle has that name. IndexError: the index is out of range.
    """
    if isinstance(vehicle, str):
        try:
            return names.index(vehicle)
        except ValueError:
            raise KeyError(f"no vehicle named {vehicle!r}") from None
    i = int(vehicle)
    if not 0 <= i < len(names):
        raise IndexError(f"vehicle index {i} out of range 0..{len(names) - 1}")
    return i


def normalise_controls(controls: Controls, names: list[str]) -> dict[int, Control]:
    """``{vehicle index: control}`` from what ``World.step`` accepts (a bare control is the
    ego's). Raises KeyError / IndexError / TypeError naming the bad entry."""
    if controls is None:
        return {}
    if isinstance(controls, (DirectControl, MetaAction)):
        return {0: controls}
    if not isinstance(controls, Mapping):
        raise TypeError(f"controls must be a DirectControl, a MetaAction or a mapping, got "
                        f"{type(controls).__name__}")
    out: dict[int, Control] = {}
    for key, c in controls.items():
        i = resolve_vehicle(key, names)
        if not isinstance(c, (DirectControl, MetaAction)):
            raise TypeError(f"control for {key!r} must be DirectControl or MetaAction, got "
                            f"{type(c).__name__}")
        out[i] = c
    return out


NOT_SEEN = object()
"""What :func:`remember_controls` gives for controls it cannot recognise again."""


def remember_controls(controls: Controls) -> object:
    """What to keep of a step's ``controls`` for :func:`same_controls`: None or the bare
    control itself (immutable), a copy of a plain dict (its caller may edit it in place
    before the next step); ``NOT_SEEN`` for any other mapping."""
    if type(controls) is dict:
        return dict(controls)
    if controls is None or isinstance(controls, (DirectControl, MetaAction)):
        return controls
    return NOT_SEEN


def same_controls(controls: Controls, remembered: object) -> bool:
    """``controls`` holds the very control objects, for the same keys, as the controls
    ``remembered`` (:func:`remember_controls`) from: normalising them again gives the same
    result. Identity, not equality: ``DirectControl(0.0, -0.0)`` equals
    ``DirectControl(0.0, 0.0)`` but commands another bit pattern."""
    if type(controls) is dict and type(remembered) is dict:
        if len(controls) != len(remembered):
            return False
        for key, c in controls.items():
            if remembered.get(key, NOT_SEEN) is not c:
                return False
        return True
    return controls is remembered and remembered is not NOT_SEEN
