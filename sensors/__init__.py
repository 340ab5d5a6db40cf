"""Virtual sensors (camera, lidar, GNSS, IMU), their noise models and the rig.

Importing this package registers the built-in sensor types.
"""

import importlib
import importlib.util

from sensors.base import SENSOR_TYPES, Measurement, build_sensor, register
from sensors.rig import Rig
from sensors.world_view import WorldView

__all__ = ["SENSOR_TYPES", "Measurement", "Rig", "WorldView", "build_sensor", "register"]

# Built-in types register themselves on import.
for _module in ("camera", "lidar", "gnss", "imu"):
    if importlib.util.find_spec(f"sensors.{_module}") is not None:
        importlib.import_module(f"sensors.{_module}")
