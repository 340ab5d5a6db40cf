"""What every sensor shares: the Measurement record, the Sensor interface, the registry.

A sensor is built from its validated config and its own child RNG, and produces one
``Measurement`` per ``capture(world, t)``. Sensors read the world; they never change it.
What they may read is the ``WorldView`` protocol (``sensors.world_view``): ``mirror()``,
``ego_pose(t_s)``, ``object_boxes()``, ``geo_origin``, ``ego_instance_id`` and ``weather``;
``simulator.world.World`` satisfies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np

from sensors.world_view import WorldView
from simulator.pose import Pose, rpy_to_matrix


@dataclass
class Measurement:
    """One sensor output with its ground truth.

    Attributes:
        sensor: the sensor's name from the scenario.
        sensor_type: registry key, e.g. ``lidar``.
        time_s: simulation time the measurement refers to [s].
        pose: the sensor frame's world pose at ``time_s``.
        data: what the sensor reports (noisy), arrays or scalars by name.
        gt: exact ground truth by name.
    """

    sensor: str
    sensor_type: str
    time_s: float
    pose: Pose
    data: dict[str, Any] = field(default_factory=dict)
    gt: dict[str, Any] = field(default_factory=dict)


class Sensor(Protocol):
    type_name: ClassVar[str]
    name: str
    rate_hz: float

    def capture(self, world: WorldView, t: float) -> Measurement: ...


class UnknownSensorType(ValueError):
    pass


SENSOR_TYPES: dict[str, Callable[..., Sensor]] = {}


def register(type_name: str) -> Callable[[type], type]:
    """Class decorator: make ``type: <type_name>`` in YAML build this class."""

    def deco(cls: type) -> type:
        cls.type_name = type_name
        SENSOR_TYPES[type_name] = cls
        return cls

    return deco


def build_sensor(config: Any, rng: np.random.Generator) -> Sensor:
    """Instantiate a sensor from its config via the registry."""
    import sensors  # noqa: F401  (importing the package registers the built-in types)

    try:
        factory = SENSOR_TYPES[config.type]
    except KeyError:
        raise UnknownSensorType(f"unknown sensor type {config.type!r}; known: "
                                f"{', '.join(sorted(SENSOR_TYPES))}") from None
    return factory(config, rng)


class MountedSensor:
    """Base class with the mount transform and common fields.

    Subclasses implement ``capture``. The sensor frame is x forward, y left, z up (the
    vehicle convention); cameras convert to their optical frame themselves.
    """

    type_name: ClassVar[str] = ""

    def __init__(self, config: Any, rng: np.random.Generator):
        self.config = config
        self.name: str = config.name
        self.rate_hz: float = config.rate_hz
        self.rng = rng
        self.mount_offset = np.asarray(config.mount.position, np.float64)
        self.mount_rotation = rpy_to_matrix(*np.radians(config.mount.rpy_deg))
        noise = getattr(config, "noise", None)
        self.noise = noise if (noise is not None and noise.enabled) else None

    def sensor_pose(self, world: WorldView, t: float | None = None) -> Pose:
        """World pose of the sensor frame at time ``t`` (default: now)."""
        return world.ego_pose(t).compose(self.mount_offset, self.mount_rotation)
