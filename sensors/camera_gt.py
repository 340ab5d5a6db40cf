"""Per-object camera ground truth: 2D boxes, 3D boxes in world and camera frame,
truncation and occlusion.

Methods (all exact for box-shaped objects, documented approximations otherwise):

- **Visible pixels / 2D box**: from the rendered instance mask. The 2D box holds the
  extreme pixel indices of the visible mask, inclusive: ``[x_min, y_min, x_max, y_max]``
  (pixel centres are at integer coordinates, see ``sensors.camera_model``).
- **Truncation**: the 3D box is clipped to the half-space in front of the camera
  (z >= ``NEAR_M``) and projected to the pinhole (undistorted) image plane, where it is a
  convex polygon; truncation = 1 - area(polygon n image) / area(polygon). The image there is
  the convex hull of the undistorted image outline (exactly the image rectangle without
  distortion).
- **Occlusion**: the object's unoccluded footprint is rendered by testing the camera rays
  inside its projected 2D region against its own 3D box (vectorised slab test, no scene
  cast); occlusion = 1 - visible / unoccluded, counted on the same pixels. Large regions
  are sampled on a regular sub-grid (at most ``MAX_OCCLUSION_SAMPLES`` rays per object).
  For a mesh smaller than its GT box, the box footprint is slightly larger than the mesh's,
  so occlusion reads slightly high.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from sensors.camera_model import CameraModel
from simulator.objects import ObjectBox
from simulator.pose import rot_z
from simulator.semantics import CLASS_NAMES

NEAR_M = 0.05
MAX_OCCLUSION_SAMPLES = 16384
_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4],
                   [0, 4], [1, 5], [2, 6], [3, 7]])


def clip_to_front(corners_cam: np.ndarray, near_m: float = NEAR_M) -> np.ndarray:
    """Points spanning the part of a box (8 optical-frame corners) with z >= ``near_m``.

    The projection of the returned points' convex hull is that of the clipped box.
    """
    z = corners_cam[:, 2] - near_m
    keep = corners_cam[z >= 0.0]
    a, b = _EDGES[:, 0], _EDGES[:, 1]
    cross = (z[a] * z[b]) < 0.0
    if cross.any():
        za, zb = z[a[cross]], z[b[cross]]
        s = (za / (za - zb))[:, None]
        pa, pb = corners_cam[a[cross]], corners_cam[b[cross]]
        keep = np.concatenate([keep, pa + s * (pb - pa)])
    return keep


def slab_hits(origin_box: np.ndarray, dirs_box: np.ndarray, half: np.ndarray) -> np.ndarray:
    """Which rays (from one origin, box-frame directions (..., 3)) hit an axis-aligned box.

    Args:
        origin_box: (3,) ray origin in the box frame [m].
        dirs_box: (..., 3) float32 directions in the box frame.
        half: (3,) half extents [m].
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.float32(1.0) / dirs_box
        lo = (-half - origin_box).astype(np.float32) * inv
        hi = (half - origin_box).astype(np.float32) * inv
    t_near = np.fmax(np.fmax(np.fmin(lo[..., 0], hi[..., 0]), np.fmin(lo[..., 1], hi[..., 1])),
                     np.fmin(lo[..., 2], hi[..., 2]))
    t_far = np.fmin(np.fmin(np.fmax(lo[..., 0], hi[..., 0]), np.fmax(lo[..., 1], hi[..., 1])),
                    np.fmax(lo[..., 2], hi[..., 2]))
    return (t_far >= np.maximum(t_near, 0.0)) & (t_far > 0.0)


class BoxAnnotator:
    """Builds the ``boxes`` GT of one camera.

    Args:
        model: the camera model.
        dirs_opt: (H*W, 3) float32 unit pixel rays in the optical frame.
    """

    def __init__(self, model: CameraModel, dirs_opt: np.ndarray):
        self.model = model
        self.dirs = dirs_opt.reshape(model.height, model.width, 3)
        # Everything polygonal happens in undistorted pixel units (normalized * fx).
        border = model.border_polygon() * model.fx
        self.image_hull = cv2.convexHull(border.astype(np.float32)).reshape(-1, 2)
        self.r_valid = model.monotonic_radius()

    def annotate(self, boxes: list[ObjectBox], instance: np.ndarray, rot_wo: np.ndarray,
                 origin: np.ndarray, min_pixels: int, ignore_id: int | None) -> list[dict]:
        """GT entries for every object with at least ``min_pixels`` visible pixels.

        Args:
            boxes: the world's object boxes (world frame).
            instance: (H, W) int32 rendered instance ids.
            rot_wo: world-from-optical rotation; ``origin``: camera position [m].
            min_pixels: objects with fewer visible pixels get no entry.
            ignore_id: instance to skip (the ego).
        """
        counts = np.bincount(instance.ravel())
        out = []
        for box in boxes:
            iid = int(box.instance_id)
            if iid == ignore_id or iid >= len(counts) or counts[iid] < min_pixels:
                continue
            out.append(self._one(box, iid, int(counts[iid]), instance, rot_wo, origin))
        return out

    # ------------------------------------------------------------------ per object
    def _one(self, box: ObjectBox, iid: int, visible: int, instance: np.ndarray,
             rot_wo: np.ndarray, origin: np.ndarray) -> dict[str, Any]:
        m = self.model
        center = np.asarray(box.center, np.float64)
        corners_c = (box.corners() - origin) @ rot_wo
        front = clip_to_front(corners_c)
        truncation, roi = 1.0, (0, m.height, 0, m.width)
        projected = None
        if len(front) >= 3:
            xy = front[:, :2] / front[:, 2:3]
            hull = cv2.convexHull((xy * m.fx).astype(np.float32)).reshape(-1, 2)
            area = float(cv2.contourArea(hull))
            if area > 0.0:
                inside, _ = cv2.intersectConvexConvex(hull, self.image_hull)
                truncation = float(np.clip(1.0 - inside / area, 0.0, 1.0))
            roi, projected = self._roi(hull.astype(np.float64) / m.fx)

        box2d = self._mask_box(instance, iid, roi, visible)
        occlusion = self._occlusion(box, iid, instance, roi, rot_wo, origin)

        rot_bw = rot_z(box.yaw)
        rot_cb = rot_wo.T @ rot_bw
        heading = rot_cb[:, 0]
        center_c = rot_wo.T @ (center - origin)
        bottom_c = rot_wo.T @ (center - np.array([0.0, 0.0, box.size[2] / 2.0]) - origin)
        sem = int(box.semantic)
        return {
            "instance_id": iid,
            "semantic": sem,
            "class_name": CLASS_NAMES[sem] if sem < len(CLASS_NAMES) else str(sem),
            "name": box.name,
            "box_2d": box2d,
            "box_2d_projected": projected,
            "visible_pixels": visible,
            "truncation": truncation,
            "occlusion": occlusion,
            "center_world": center.tolist(),
            "size_lwh": np.asarray(box.size, float).tolist(),
            "yaw_world": float(box.yaw),
            "center_cam": center_c.tolist(),
            "bottom_center_cam": bottom_c.tolist(),
            # KITTI rotation_y: heading = (cos ry, 0, -sin ry) in the optical frame.
            "rotation_y": float(np.arctan2(-heading[2], heading[0])),
            "rotation_cam": rot_cb.tolist(),
        }

    def _roi(self, hull_xy: np.ndarray) -> tuple[tuple[int, int, int, int], list | None]:
        """Pixel region (r0, r1, c0, c1) covering a projected convex polygon (normalized
        coordinates), and its clipped pixel bounding box (None if off-image)."""
        m = self.model
        full = (0, m.height, 0, m.width)
        # Sample the edges: distortion bends straight edges.
        nxt = np.roll(hull_xy, -1, axis=0)
        s = np.linspace(0.0, 1.0, 8, endpoint=False)[None, :, None]
        pts = (hull_xy[:, None, :] + s * (nxt - hull_xy)[:, None, :]).reshape(-1, 2)
        if np.any(np.hypot(pts[:, 0], pts[:, 1]) > self.r_valid):
            return full, None
        uv = m.normalized_to_pixel(pts)
        u0, v0 = uv.min(axis=0)
        u1, v1 = uv.max(axis=0)
        if u1 < -0.5 or v1 < -0.5 or u0 > m.width - 0.5 or v0 > m.height - 0.5:
            return full, None
        projected = [float(np.clip(u0, -0.5, m.width - 0.5)),
                     float(np.clip(v0, -0.5, m.height - 0.5)),
                     float(np.clip(u1, -0.5, m.width - 0.5)),
                     float(np.clip(v1, -0.5, m.height - 0.5))]
        c0 = int(max(0, np.floor(u0) - 1))
        c1 = int(min(m.width, np.ceil(u1) + 2))
        r0 = int(max(0, np.floor(v0) - 1))
        r1 = int(min(m.height, np.ceil(v1) + 2))
        return (r0, r1, c0, c1), projected

    @staticmethod
    def _mask_box(instance: np.ndarray, iid: int, roi: tuple[int, int, int, int],
                  visible: int) -> list[float]:
        r0, r1, c0, c1 = roi
        mask = instance[r0:r1, c0:c1] == iid
        if int(np.count_nonzero(mask)) != visible:  # region missed pixels: search all
            r0, c0 = 0, 0
            mask = instance == iid
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        return [float(c0 + cols[0]), float(r0 + rows[0]), float(c0 + cols[-1]),
                float(r0 + rows[-1])]

    def _occlusion(self, box: ObjectBox, iid: int, instance: np.ndarray,
                   roi: tuple[int, int, int, int], rot_wo: np.ndarray,
                   origin: np.ndarray) -> float:
        r0, r1, c0, c1 = roi
        area = (r1 - r0) * (c1 - c0)
        step = max(1, int(np.ceil(np.sqrt(area / MAX_OCCLUSION_SAMPLES))))
        dirs = self.dirs[r0:r1:step, c0:c1:step]
        rot_bw = rot_z(box.yaw)
        rot_bo = (rot_bw.T @ rot_wo).astype(np.float32)
        origin_b = rot_bw.T @ (origin - np.asarray(box.center, np.float64))
        hits = slab_hits(origin_b, dirs @ rot_bo.T, np.asarray(box.size, np.float64) / 2.0)
        unoccluded = int(np.count_nonzero(hits))
        if unoccluded == 0:
            return 0.0
        visible = int(np.count_nonzero(instance[r0:r1:step, c0:c1:step] == iid))
        return float(np.clip(1.0 - visible / unoccluded, 0.0, 1.0))
