"""Top-view rasters of the static scene, made once per world: ``drivable`` (road surface
meshes, junction boxes included) and ``lane_lines`` (painted markings), uint8 0/1.

Cell (row, col) covers x in [x0 + col r, x0 + (col + 1) r), y likewise with rows; rows grow
with y (no image flip). A cell is set when its centre lies inside a triangle, and also where
a triangle's edge passes through it (cv2.fillPoly draws the outline too), so thin markings
still show at coarse resolutions. The off-road test and the occupancy grid read these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from simulator.scene.semantics import SEMANTIC_CLASSES

if TYPE_CHECKING:
    from simulator.world import World

MAX_CELLS = 64 * 1024 * 1024
_SHIFT = 4  # fixed-point bits for cv2.fillPoly


class MapRaster:
    """Rasters of the static scene at ``resolution_m`` (coarsened if the map is huge)."""

    LAYERS = {"drivable": ("road",), "lane_lines": ("lane_marking",)}

    def __init__(self, world: World, resolution_m: float = 0.25, margin_m: float = 20.0):
        objs = world.static_objects
        road = SEMANTIC_CLASSES["road"]
        pts = np.concatenate([o.vertices[:, :2] for o in objs if o.semantic == road]
                             or [np.zeros((1, 2))])
        lo, hi = pts.min(0) - margin_m, pts.max(0) + margin_m
        res = float(resolution_m)
        while np.prod(np.ceil((hi - lo) / res)) > MAX_CELLS:
            res *= 2.0
        self.resolution_m = res
        self.origin = lo
        self.cols, self.rows = (int(v) for v in np.ceil((hi - lo) / res))
        self.layers: dict[str, np.ndarray] = {}
        for name, classes in self.LAYERS.items():
            sem = {SEMANTIC_CLASSES[c] for c in classes}
            img = np.zeros((self.rows, self.cols), np.uint8)
            for o in objs:
                if o.semantic in sem and len(o.triangles):
                    tri = o.vertices[o.triangles.reshape(-1), :2].reshape(-1, 3, 2)
                    # Pixel coordinates put cell centres on integers (fillPoly's grid).
                    px = np.round(((tri - lo) / res - 0.5) * (1 << _SHIFT)).astype(np.int32)
                    cv2.fillPoly(img, list(px), 1, lineType=cv2.LINE_8, shift=_SHIFT)
            self.layers[name] = img

    def cell(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row, col, inside) of world points (..., 2)."""
        q = np.floor((np.asarray(xy, float) - self.origin) / self.resolution_m).astype(np.int64)
        col, row = q[..., 0], q[..., 1]
        inside = (col >= 0) & (col < self.cols) & (row >= 0) & (row < self.rows)
        return row, col, inside

    def lookup(self, layer: str, xy: np.ndarray) -> np.ndarray:
        """Layer value at world points (..., 2); 0 outside the raster."""
        row, col, inside = self.cell(xy)
        img = self.layers[layer]
        out = np.zeros(row.shape, np.uint8)
        out[inside] = img[row[inside], col[inside]]
        return out

    def window(self, layer: str, center_xy: np.ndarray, yaw_rad: float, shape: tuple[int, int],
               cell_m: float) -> np.ndarray:
        """An ego-aligned (rows, cols) window of ``layer``: row 0 is farthest ahead, column 0
        farthest left, cells of ``cell_m`` metres centred on ``center_xy``."""
        rows, cols = shape
        c, s = np.cos(yaw_rad), np.sin(yaw_rad)
        # Output pixel (u = col, v = row) -> ego (fwd, left) -> world -> source pixel.
        k = cell_m / self.resolution_m
        # fwd = ((rows - 1) / 2 - v) * cell_m, left = ((cols - 1) / 2 - u) * cell_m
        # x = cx + c fwd - s left ; y = cy + s fwd + c left ; src = (xy - origin) / res - 0.5
        cx, cy = (np.asarray(center_xy, float) - self.origin) / self.resolution_m - 0.5
        a_u, a_v = s * k, -c * k            # d src_x / du, d src_x / dv
        b_u, b_v = -c * k, -s * k           # d src_y / du, d src_y / dv
        fu, fv = (cols - 1) / 2, (rows - 1) / 2
        m = np.array([[a_u, a_v, cx - a_u * fu - a_v * fv],
                      [b_u, b_v, cy - b_u * fu - b_v * fv]], np.float64)
        return cv2.warpAffine(self.layers[layer], m, (cols, rows),
                              flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=0)
