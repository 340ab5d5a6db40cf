"""``occupancy_grid``: an ego-centred bird's-eye raster, the observer's heading up.

Shape (channels, H, W) with H = round(size_m[0] / resolution_m) rows and
W = round(size_m[1] / resolution_m) columns, r = resolution_m. Row 0 is farthest ahead and
column 0 farthest left; the observer's footprint centre is the grid's centre, so cell
(row v, col u) covers, in the observer's frame (forward, left) [m],

    forward in [(H/2 - 1 - v) r, (H/2 - v) r),   left in [(W/2 - 1 - u) r, (W/2 - u) r).

Channels, 0 or 1 (float32): ``vehicles`` the footprint rectangles (length x width) of the
other active vehicles, never the observer's own; ``drivable`` road surface and
``lane_lines`` painted markings, sampled at each cell's centre from a ``MapRaster`` of the
static scene built at ``resolution_m``. Rasterisation is conservative: a cell is set when
its centre is inside a footprint and also when a footprint's outline crosses it (cv2's
polygon fill), so an axis-aligned rectangle sets exactly the cells it overlaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from envs.map_raster import MapRaster
from envs.observations.base import ObservationType, register
from scenarios.env_schema import OccupancyGridObservation

if TYPE_CHECKING:
    from simulator.world import World

_SHIFT = 4  # fixed-point bits for cv2.fillPoly
# Footprint corners in units of (length, width), counter-clockwise from the front left.
_CORNERS = np.array([[0.5, 0.5], [-0.5, 0.5], [-0.5, -0.5], [0.5, -0.5]])


def grid_shape(config: OccupancyGridObservation) -> tuple[int, int]:
    """(rows, cols) of the grid."""
    r = config.resolution_m
    return (max(1, int(round(config.size_m[0] / r))), max(1, int(round(config.size_m[1] / r))))


@register("occupancy_grid")
class OccupancyGrid(ObservationType):
    """float32 Box(0, 1, (channels, H, W)); see the module docstring."""

    def __init__(self, config: OccupancyGridObservation, world: World):
        super().__init__(config, world)
        self.shape = grid_shape(config)
        self.channels = list(config.channels)
        static = [c for c in self.channels if c != "vehicles"]
        self.raster = MapRaster(world, config.resolution_m) if static else None

    def space(self):
        import gymnasium as gym

        return gym.spaces.Box(np.float32(0.0), np.float32(1.0),
                              (len(self.channels),) + self.shape, np.float32)

    def observe(self, world: World, vehicle: int = 0) -> np.ndarray:
        i = int(vehicle)
        st = world.state
        center = np.array([st.x[i], st.y[i]])
        yaw = float(st.yaw[i])
        out = np.empty((len(self.channels),) + self.shape, np.float32)
        for k, name in enumerate(self.channels):
            if name == "vehicles":
                out[k] = self._vehicles(world, i, center, yaw)
            else:
                out[k] = self.raster.window(name, center, yaw, self.shape,
                                            self.config.resolution_m)
        return out

    def _vehicles(self, world: World, i: int, center: np.ndarray, yaw: float) -> np.ndarray:
        """The other vehicles' footprints, (H, W) uint8."""
        rows, cols = self.shape
        r = self.config.resolution_m
        st, pr = world.state, world.params
        img = np.zeros(self.shape, np.uint8)
        reach = 0.5 * np.hypot(rows * r, cols * r) + 0.5 * np.hypot(pr.length_m, pr.width_m)
        dx, dy = st.x - center[0], st.y - center[1]
        near = world.traffic.active & (np.abs(dx) <= reach) & (np.abs(dy) <= reach)
        near[i] = False
        j = np.flatnonzero(near)
        if len(j) == 0:
            return img
        # Corners relative to the observer (world axes), then in its frame (forward, left).
        lx = _CORNERS[None, :, 0] * pr.length_m[j, None]
        ly = _CORNERS[None, :, 1] * pr.width_m[j, None]
        cj, sj = np.cos(st.yaw[j])[:, None], np.sin(st.yaw[j])[:, None]
        rx = dx[j, None] + cj * lx - sj * ly
        ry = dy[j, None] + sj * lx + cj * ly
        c, s = np.cos(yaw), np.sin(yaw)
        fwd, left = c * rx + s * ry, -s * rx + c * ry
        # Pixel coordinates with cell centres on integers: u = (W - 1) / 2 - left / r.
        u = (cols - 1) / 2 - left / r
        v = (rows - 1) / 2 - fwd / r
        px = np.round(np.stack([u, v], axis=-1) * (1 << _SHIFT)).astype(np.int32)
        cv2.fillPoly(img, list(px), 1, lineType=cv2.LINE_8, shift=_SHIFT)
        return img
