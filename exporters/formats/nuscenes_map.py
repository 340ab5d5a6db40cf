"""The nuScenes map mask: a PNG of the drivable area (255) on background (0).

nuScenes' semantic-prior masks are 0.1 m per pixel with the global origin at the image's
bottom-left corner (``nuscenes.utils.map_mask.MapMask``). Our world is centred on its
origin, so the exported global frame is the world frame shifted by half the ground size:
``global = world + global_offset(hdmap)``. The drivable area is the union of every lane's
polygon (left boundary, then the right boundary backwards), the junction boxes (procedural
maps) and the quads of the drivable surface strips (OpenDRIVE maps: lanes of kind
``driving`` and ``road``, i.e. shoulders, parking, ... too; sidewalks are not drivable).
The ground square (``ground_size_m``, centred on the world origin) spans every lane and
strip, so the mask covers the whole map.
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


def _strip_quads(strip) -> np.ndarray:
    """(K, 4, 2) [m] the strip's quads (samples k, k + 1 of both borders), in plan."""
    left, right = np.asarray(strip.left)[:, :2], np.asarray(strip.right)[:, :2]
    if len(left) < 2:
        return np.zeros((0, 4, 2))
    return np.stack([right[:-1], right[1:], left[1:], left[:-1]], axis=1)


def _pixels(xy_m: np.ndarray, offset: np.ndarray, size_px: int) -> np.ndarray:
    """(..., 2) [m] world points -> int32 mask pixels (column, row)."""
    xy = (np.asarray(xy_m, np.float64) + offset) / MAP_RESOLUTION_M
    px = np.stack([xy[..., 0], size_px - xy[..., 1]], axis=-1)
    return np.round(px).astype(np.int32)


def drivable_mask(hdmap) -> np.ndarray:
    """(H, W) uint8 mask of the map's drivable area, row 0 at the top (largest y)."""
    offset = global_offset(hdmap)[:2]
    size_px = int(round(float(hdmap.ground_size_m) / MAP_RESOLUTION_M))
    mask = np.zeros((size_px, size_px), np.uint8)
    polygons = [np.concatenate([ln.left_boundary, ln.right_boundary[::-1]])
                for ln in hdmap.lanes]
    polygons += [_junction_polygon(jn) for jn in hdmap.junctions]
    pixels = [_pixels(poly, offset, size_px) for poly in polygons]
    quads = [_strip_quads(st) for st in getattr(hdmap, "strips", ()) if st.drivable]
    if quads:
        pixels += list(_pixels(np.concatenate(quads), offset, size_px))
    for px in pixels:  # one by one: a lane polygon may cross itself on tight curves
        cv2.fillPoly(mask, [px.reshape(-1, 1, 2)], 255)
    return mask
