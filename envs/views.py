"""Sensor views of the world from any vehicle (``sensors.WorldView`` for vehicle i).

Sensors capture from "the ego"; these adapters put another vehicle, or no vehicle at all,
in that place, so a camera observation or a chase camera can ride on any car.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simulator.pose import Pose, rpy_to_matrix
from simulator.scene.mirror import SceneMirror
from simulator.scene.objects import ObjectBox

if TYPE_CHECKING:
    from simulator.world import World


def vehicle_pose(world: World, i: int) -> Pose:
    """Vehicle ``i``'s current body pose and motion (on maps with elevation: its height,
    pitch and roll on the road surface; the vertical motion is not tracked here)."""
    st = world.state
    yaw = float(st.yaw[i])
    c, s = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    vel = np.array([st.vx_world[i], st.vy_world[i], 0.0])
    acc = rot @ np.array([st.ax_body[i], st.ay_body[i], 0.0])
    z = 0.0
    if world.elevated:
        z = float(world.vehicle_z_m[i])
        rot = rpy_to_matrix(float(world.vehicle_roll_rad[i]), float(world.vehicle_pitch_rad[i]),
                            yaw)
    return Pose(position=np.array([st.x[i], st.y[i], z]), rotation=rot, velocity=vel,
                angular_velocity=np.array([0.0, 0.0, st.yaw_rate[i]]), acceleration=acc,
                time_s=world.time_s)


class VehicleView:
    """The world as seen from vehicle ``vehicle``.

    Args:
        see_self: keep the vehicle's own body in view (a chase camera behind it).
    """

    def __init__(self, world: World, vehicle: int, see_self: bool = False):
        self.world = world
        self.vehicle = int(vehicle)
        self.see_self = see_self

    @property
    def geo_origin(self):
        return self.world.geo_origin

    @property
    def weather(self):
        return self.world.weather

    @property
    def ego_instance_id(self) -> int:
        # Instance id 0 is "nothing"; excluding it keeps every car in view.
        return 0 if self.see_self else int(self.world.vehicle_ids[self.vehicle])

    def mirror(self) -> SceneMirror:
        return self.world.mirror()

    def ego_pose(self, t_s: float | None = None) -> Pose:
        if self.vehicle == 0:
            return self.world.ego_pose(t_s)
        return vehicle_pose(self.world, self.vehicle)

    def object_boxes(self) -> list[ObjectBox]:
        return self.world.object_boxes()
