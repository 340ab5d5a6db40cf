"""Ground that follows the roads on maps with elevation (OpenDRIVE): a height field under
the road network, so a road climbing a hill has a hillside beside it instead of floating.

The field is a regular grid of ``CELL_M`` over the ground square. Each grid vertex takes
the *lowest* road or sidewalk height within ``REACH_M`` (minus ``CLEARANCE_M``): since that
reach covers a cell's diagonal, every road point is above the four vertices around it and
the ground never pokes through a road; where roads cross on a bridge the ground follows
the lower one and the bridge stands above it. Vertices farther from every road take the
nearest filled value (flood fill), then the field is smoothed and kept below the near-road
bound. Flat maps keep the flat ground square.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

CELL_M = 10.0
REACH_M = 20.0           # >= the cell diagonal (14.1 m): no road point above its cell
CLEARANCE_M = 0.3        # ground this far below the lowest road within reach
SMOOTH_CELLS = 5         # box filter of the far field [cells]


def terrain_heights(corners: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(axis (g + 1,) [m], heights (g + 1, g + 1) [m], row = y) of the height field over
    the square of side ``size_m`` centred on the origin, from road surface points
    ``corners`` (N, 3)."""
    g = max(1, math.ceil(size_m / CELL_M))
    axis = np.linspace(-size_m / 2, size_m / 2, g + 1)
    step = size_m / g
    ix = np.clip(np.round((corners[:, 0] + size_m / 2) / step).astype(np.int64), 0, g)
    iy = np.clip(np.round((corners[:, 1] + size_m / 2) / step).astype(np.int64), 0, g)
    cell_min = np.full((g + 1, g + 1), np.inf, np.float32)
    np.minimum.at(cell_min, (iy, ix), corners[:, 2].astype(np.float32))
    k = 2 * int(math.ceil(REACH_M / step)) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    near = cv2.erode(cell_min, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=np.inf)
    near = near - np.float32(CLEARANCE_M)
    filled = near.copy()
    known = np.isfinite(filled)
    if not known.any():
        return axis, np.zeros((g + 1, g + 1))
    while not known.all():              # grow the known field outwards one cell at a time
        grown = cv2.erode(np.where(known, filled, np.inf).astype(np.float32),
                          np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
        new = ~known & np.isfinite(grown)
        filled[new] = grown[new]
        known |= new
    smooth = cv2.blur(filled, (SMOOTH_CELLS, SMOOTH_CELLS), borderType=cv2.BORDER_REPLICATE)
    z = np.where(np.isfinite(near), np.minimum(near, smooth), smooth)
    return axis, z.astype(np.float64)


def terrain_mesh(strip_points: np.ndarray, size_m: float) -> tuple[np.ndarray, np.ndarray]:
    """The height field as a triangle mesh (vertices float32, triangles int32), normals up."""
    axis, z = terrain_heights(strip_points, size_m)
    g = len(axis) - 1
    gx, gy = np.meshgrid(axis, axis)
    v = np.stack([gx.ravel(), gy.ravel(), z.ravel()], 1).astype(np.float32)
    r, c = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
    a = (r * (g + 1) + c).ravel()
    t = np.concatenate([np.stack([a, a + 1, a + g + 2], 1),
                        np.stack([a, a + g + 2, a + g + 1], 1)])
    return v, t.astype(np.int32)
