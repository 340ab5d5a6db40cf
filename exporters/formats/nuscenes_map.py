"""The nuScenes map mask: a PNG of the drivable area (255) on background (0).

nuScenes' semantic-prior masks are 0.1 m per pixel with the global origin at the image's
bottom-left corner (``nuscenes.utils.map_mask.MapMask``). Our world is centred on its
origin, so the exported global frame is the world frame shifted by half the ground size:
``global = world + global_offset(hdmap)``. The drivable area is the union of every lane's
polygon (left boundary, then the right boundary backwards) and the junction boxes.
"""

from __future__ import annotations

import cv2
import numpy as np

MAP_RESOLUTION_M = 0.1  # [m / px], the devkit's default ``map_resolution``


def global_offset(hdmap) -> np.ndarray:
    """(3,) [m] added to world coordinates to get nuScenes global ones."""
    half = float(hdmap.ground_size_m) / 2.0
    return np.array([half, half, 0.0])


def _junction_polygon(junction) -> np.ndarray:
    c, s = np.cos(junction.heading), np.sin(junction.heading)
    h = junction.half_size_m
    local = np.array([[h, h], [-h, h], [-h, -h], [h, -h]])
    return local @ np.array([[c, s], [-s, c]]) + np.asarray(junction.center)


def drivable_mask(hdmap) -> np.ndarray:
    """(H, W) uint8 mask of the map's drivable area, row 0 at the top (largest y)."""
    offset = global_offset(hdmap)[:2]
    size_px = int(round(float(hdmap.ground_size_m) / MAP_RESOLUTION_M))
    mask = np.zeros((size_px, size_px), np.uint8)
    polygons = [np.concatenate([ln.left_boundary, ln.right_boundary[::-1]])
                for ln in hdmap.lanes]
    polygons += [_junction_polygon(jn) for jn in hdmap.junctions]
    pixels = []
    for poly in polygons:
        xy = (np.asarray(poly, np.float64) + offset) / MAP_RESOLUTION_M
        px = np.stack([xy[:, 0], size_px - xy[:, 1]], axis=1)
        pixels.append(np.round(px).astype(np.int32).reshape(-1, 1, 2))
    for px in pixels:  # one by one: a lane polygon may cross itself on tight curves
        cv2.fillPoly(mask, [px], 255)
    return mask
