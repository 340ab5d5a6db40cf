"""``camera``: one camera of the scenario's rig, ridden by the observing vehicle.

The camera is the rig's camera named ``sensor`` (default: the scenario's first camera),
at its mount on whichever vehicle observes, with ``width`` / ``height`` replaced when given
(the horizontal field of view is kept). It is built like the rig builds it, with its own
noise stream from the episode's sensor seeds (keyed by its name), again at every reset:
the same episode seed gives the same images. The observer's own body is not rendered.
For ``depth`` and ``semantic`` the camera is built without shadows and noise, which only
change the colours.

Channels: ``rgb`` (H, W, 3) uint8, as the camera reports it (shaded, noisy if its noise is
on); ``depth`` (H, W, 1) float32 z-depth [m] along the optical axis, ``max_depth_m`` where
nothing is nearer; ``semantic`` (H, W, 1) uint8 class ids (``simulator.scene.semantics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from envs.config import EnvConfigError
from envs.observations.base import ObservationType, register
from envs.views import VehicleView
from scenarios.env_schema import CameraObservation
from scenarios.sensor_schema import CameraConfig
from sensors.camera import Camera
from sensors.rig import Rig

if TYPE_CHECKING:
    from simulator.world import World


def camera_config(config: CameraObservation, sensors: list) -> CameraConfig:
    """The rig camera an observation uses, at the observation's resolution.

    Raises:
        EnvConfigError: the scenario has no camera, or none named ``config.sensor``.
    """
    cams = [s for s in sensors if isinstance(s, CameraConfig)]
    if not cams:
        raise EnvConfigError("observation type 'camera' needs a camera in the scenario's "
                             "sensors; there is none")
    if config.sensor is None:
        cam = cams[0]
    else:
        named = [c for c in cams if c.name == config.sensor]
        if not named:
            raise EnvConfigError(f"observation.sensor: no camera named {config.sensor!r}; "
                                 f"the cameras are {', '.join(c.name for c in cams)}")
        cam = named[0]
    update: dict = {k: v for k, v in (("width", config.width), ("height", config.height))
                    if v is not None}
    if config.channel != "rgb":
        # Shadows and noise only change the colours; depth and semantic GT are exact.
        update.update(shadows=False, noise=None)
    return CameraConfig.model_validate({**cam.model_dump(), **update}) if update else cam


class _UnlabelledView(VehicleView):
    """A vehicle's view without GT objects: the camera then skips its 2D boxes (~0.6 ms
    per capture with 50 cars and 150 props), which an observation never reads."""

    def object_boxes(self) -> list:
        return []


@register("camera")
class CameraObs(ObservationType):
    """Box of the chosen channel; see the module docstring."""

    needs_sensors = True

    def __init__(self, config: CameraObservation, world: World):
        super().__init__(config, world)
        self.camera_config = camera_config(config, list(world.scenario.sensors))
        self.camera = self._build(world)

    def _build(self, world: World) -> Camera:
        # The rig derives each sensor's generator from its name: same streams as the rig's.
        return Rig([self.camera_config], world.sensor_seed_seq).sensors[0]

    def space(self):
        import gymnasium as gym

        h, w = self.camera_config.height, self.camera_config.width
        channel = self.config.channel
        if channel == "rgb":
            return gym.spaces.Box(0, 255, (h, w, 3), np.uint8)
        if channel == "semantic":
            return gym.spaces.Box(0, 255, (h, w, 1), np.uint8)
        return gym.spaces.Box(np.float32(0.0), np.float32(self.config.max_depth_m), (h, w, 1),
                              np.float32)

    def reset(self, world: World) -> None:
        self.camera = self._build(world)

    def observe(self, world: World, vehicle: int = 0) -> np.ndarray:
        m = self.camera.capture(_UnlabelledView(world, int(vehicle)), world.time_s)
        channel = self.config.channel
        if channel == "rgb":
            return m.data["rgb"]
        if channel == "semantic":
            return m.gt["semantic"][..., None]
        depth = np.minimum(m.gt["depth_m"], np.float32(self.config.max_depth_m))
        return depth[..., None].astype(np.float32, copy=False)
