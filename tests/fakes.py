"""A minimal stand-in for ``simulator.world.World`` for sensor unit tests.

It satisfies ``sensors.WorldView`` (what a sensor may read; checked in
``tests/sensors/test_world_view.py``) over a tiny scene whose answers are known (a wall,
a box), with the ego at a given pose.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scenarios.schema import GeoOrigin
from scenarios.weather_schema import Weather
from simulator.pose import Pose, rot_z
from simulator.scene.mirror import MaterialTable, SceneMirror
from simulator.scene.objects import ObjectBox, SceneObject, box_mesh
from simulator.scene.semantics import DEFAULT_MATERIALS, PROP_DEFAULTS, SEMANTIC_CLASSES


@dataclass
class FakeWorld:
    """Static boxes + an ego pose that moves at constant velocity (for rolling scans).

    A ``sensors.WorldView``; ``time_s`` and ``materials`` are the scene's own bookkeeping.
    """

    objects: list[SceneObject] = field(default_factory=list)
    boxes: list[ObjectBox] = field(default_factory=list)
    ego_position: np.ndarray = field(default_factory=lambda: np.zeros(3))
    ego_yaw: float = 0.0
    ego_velocity: np.ndarray = field(default_factory=lambda: np.zeros(3))
    time_s: float = 0.0
    geo_origin: GeoOrigin = field(default_factory=GeoOrigin)
    ego_instance_id: int = 1
    weather: Weather = field(default_factory=Weather)
    materials: MaterialTable = field(default_factory=MaterialTable)

    def __post_init__(self) -> None:
        self._mirror: SceneMirror | None = None

    def add_box(self, prop_type: str, center_xy: tuple[float, float],
                size: tuple[float, float, float], yaw: float = 0.0, z0: float = 0.0,
                material: str | None = None, instance_id: int | None = None) -> int:
        """Add a box prop standing on z0; returns its instance id."""
        semantic_name, default_mat = PROP_DEFAULTS[prop_type]
        mat = material or default_mat
        iid = instance_id or (10 + len(self.objects))
        v, t = box_mesh(center_xy, size, yaw, z0)
        sem = SEMANTIC_CLASSES[semantic_name]
        self.objects.append(SceneObject(f"{prop_type}_{iid}", sem, iid, mat, v, t))
        self.boxes.append(ObjectBox(iid, sem, f"{prop_type}_{iid}",
                                    np.array([center_xy[0], center_xy[1], z0 + size[2] / 2]),
                                    np.array(size, float), yaw))
        self.materials.set(iid, sem, DEFAULT_MATERIALS[mat])
        self._mirror = None
        return iid

    def mirror(self) -> SceneMirror:
        if self._mirror is None:
            self._mirror = SceneMirror(self.objects, self.materials)
        return self._mirror

    def ego_pose(self, t_s: float | None = None) -> Pose:
        t = self.time_s if t_s is None else t_s
        pos = self.ego_position + self.ego_velocity * (t - self.time_s)
        return Pose(position=pos, rotation=rot_z(self.ego_yaw),
                    velocity=self.ego_velocity.copy(), time_s=t)

    def object_boxes(self) -> list[ObjectBox]:
        return list(self.boxes)
