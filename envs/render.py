"""``render()`` frames: a bird's-eye view following the ego, or a chase camera behind it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from envs.views import VehicleView
from scenarios.env_schema import EnvConfig
from scenarios.sensor_schema import CameraConfig
from sensors.camera import Camera
from viz.bev import BevRenderer

if TYPE_CHECKING:
    from simulator.world import World

BEV_WINDOW_M = 80.0
CHASE_MOUNT = {"position": (-9.0, 0.0, 4.0), "rpy_deg": (0.0, 14.0, 0.0)}


class Renderer:
    """RGB uint8 frames of ``config.render_size`` (width, height)."""

    def __init__(self, world: World, config: EnvConfig):
        self.kind = config.render
        self.size = tuple(config.render_size)
        if self.kind == "bev":
            px = max(self.size) / BEV_WINDOW_M
            self._bev = BevRenderer.of(world, px_per_m=px, window_m=BEV_WINDOW_M)
        else:
            cfg = CameraConfig(name="chase", type="camera", mount=CHASE_MOUNT,
                               width=self.size[0], height=self.size[1], fov_deg=80.0,
                               shadows=True, noise=None)
            self._camera = Camera(cfg, np.random.default_rng(0))

    def render(self, world: World) -> np.ndarray:
        if self.kind == "bev":
            bgr = self._bev.render(world)
            img = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
            w, h = self.size
            side = max(w, h)
            if img.shape[:2] != (side, side):
                img = cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA)
            y0, x0 = (side - h) // 2, (side - w) // 2
            return np.ascontiguousarray(img[y0:y0 + h, x0:x0 + w])
        view = VehicleView(world, 0, see_self=True)
        return self._camera.capture(view, world.time_s).data["rgb"]
