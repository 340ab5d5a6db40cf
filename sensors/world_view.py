"""What a sensor may read of the world: the ``WorldView`` protocol.

Sensors are typed against this rather than against ``simulator.world.World``: it names
exactly what ``capture(world, t)`` reads, nothing that changes the world, and lets unit
tests pass a tiny stand-in (``tests/fakes.py``). ``World`` satisfies it structurally
(``tests/sensors/test_world_view.py`` checks both). Sensors take the capture time as
their ``t`` argument, and material properties from ``mirror().materials``, so neither the
world's clock nor its material table is part of the view.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from scenarios.schema import GeoOrigin
from scenarios.weather_schema import Weather
from simulator.pose import Pose
from simulator.scene.mirror import SceneMirror
from simulator.scene.objects import ObjectBox


@runtime_checkable
class WorldView(Protocol):
    """The read-only view of the world that sensors capture from."""

    @property
    def geo_origin(self) -> GeoOrigin:
        """The scenario's ENU origin (lat_deg, lon_deg, alt_m) for geo-referencing."""
        ...

    @property
    def ego_instance_id(self) -> int:
        """Instance id of the ego vehicle (sensors drop hits on their own car)."""
        ...

    @property
    def weather(self) -> Weather:
        """The scenario's sun, fog, rain and road wetness (``scenarios.weather_schema``)."""
        ...

    def mirror(self) -> SceneMirror:
        """The ray-cast scene with the moving actors placed at the current time."""
        ...

    def ego_pose(self, t_s: float | None = None) -> Pose:
        """The ego body's world pose and motion at ``t_s`` [s] (default: now; the recent
        past is allowed, for rolling scans)."""
        ...

    def object_boxes(self) -> list[ObjectBox]:
        """Ground-truth 3D boxes of every vehicle and prop."""
        ...
