"""Per-object camera ground truth: 2D boxes, 3D boxes in world and camera frame,
truncation and occlusion.

Methods (exact for box-shaped objects; documented approximations otherwise):

- **Visible pixels / 2D box**: from the rendered instance mask. ``box_2d`` holds the
  extreme pixel indices of the visible mask, inclusive: ``[x_min, y_min, x_max, y_max]``
  (pixel centres are at integer coordinates, see ``sensors.camera_model``).
  ``box_2d_projected`` is the bounding box of the projected 3D box clipped to the image
  edges ``[-0.5, W - 0.5] x [-0.5, H - 0.5]`` (None when not computable).
- **Truncation**: the 3D box is clipped to the half-space in front of the camera
  (z >= ``NEAR_M``) and projected to the pinhole (undistorted) image plane, where it is a
  convex polygon; truncation = 1 - area(polygon inside the image) / area(polygon). The
  image there is the convex hull of the undistorted image outline (exactly the image
  rectangle without distortion).
- **Occlusion**: the object's unoccluded footprint is rendered by casting the camera rays
  inside its projected 2D region (``test_occlusions``) against an Embree scene holding only
  that object's own mesh (``SceneMirror.instance_scene``, cached for static objects);
  occlusion = 1 - visible / unoccluded, both counted on the same rays. Large regions are
  sampled on a regular sub-grid (at most ``MAX_OCCLUSION_SAMPLES`` rays per object), so
  big objects' occlusion carries a sampling error of ~1 %. Using the mesh rather than the
  3D box matters: a tree's crown and trunk cover a fraction of its box's footprint.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import open3d as o3d

from sensors.camera_model import CameraModel
from simulator.objects import ObjectBox
from simulator.raycast import SceneMirror
from simulator.semantics import CLASS_NAMES

NEAR_M = 0.05
MAX_OCCLUSION_SAMPLES = 2048
# Corner order of ObjectBox.corners(): bottom face first, counter-clockwise.
_SIGNS = np.array([[sx, sy, sz] for sz in (-1, 1)
                   for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))], np.float64)
_EDGES = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [4, 5], [5, 6], [6, 7], [7, 4],
                   [0, 4], [1, 5], [2, 6], [3, 7]])


def box_corners(centers: np.ndarray, sizes: np.ndarray, yaws: np.ndarray) -> np.ndarray:
    """Corners (B, 8, 3) of B yawed boxes, in ``ObjectBox.corners()`` order [m]."""
    local = _SIGNS[None] * (np.asarray(sizes, np.float64)[:, None, :] / 2.0)
    c, s = np.cos(yaws)[:, None], np.sin(yaws)[:, None]
    out = np.empty_like(local)
    out[..., 0] = c * local[..., 0] - s * local[..., 1]
    out[..., 1] = s * local[..., 0] + c * local[..., 1]
    out[..., 2] = local[..., 2]
    return out + np.asarray(centers, np.float64)[:, None, :]


def clip_to_front(corners_cam: np.ndarray, near_m: float = NEAR_M) -> np.ndarray:
    """Points spanning the part of a box (8 optical-frame corners) with z >= ``near_m``.

    The convex hull of their projection is the projection of the clipped box.
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


class BoxAnnotator:
    """Builds the ``boxes`` GT of one camera.

    Args:
        model: the camera model.
    """

    def __init__(self, model: CameraModel):
        self.model = model
        # Polygons live in undistorted pixel units (normalized * fx): areas stay O(pixels).
        border = model.border_polygon() * model.fx
        self.image_hull = cv2.convexHull(border.astype(np.float32)).reshape(-1, 2)
        self.r_valid = model.monotonic_radius()
        self._edge_t = np.linspace(0.0, 1.0, 8 if model.has_distortion else 2)

    def annotate(self, boxes: list[ObjectBox], instance: np.ndarray, dirs_world: np.ndarray,
                 rot_wo: np.ndarray, origin: np.ndarray, min_pixels: int,
                 ignore_id: int | None, mirror: SceneMirror) -> list[dict[str, Any]]:
        """GT entries for every object with at least ``min_pixels`` visible pixels.

        Args:
            boxes: the world's object boxes (world frame).
            instance: (H, W) int32 rendered instance ids.
            dirs_world: (H, W, 3) float32 unit pixel rays in the world frame.
            rot_wo: world-from-optical rotation; ``origin``: camera position [m].
            min_pixels: objects with fewer visible pixels get no entry.
            ignore_id: instance to skip (the ego).
            mirror: the scene mirror the image was rendered from (for per-object meshes).
        """
        counts = np.bincount(instance.ravel())
        sel = [b for b in boxes if b.instance_id != ignore_id
               and 0 <= b.instance_id < len(counts) and counts[b.instance_id] >= min_pixels]
        if not sel:
            return []
        m = self.model
        ids = np.array([b.instance_id for b in sel])
        centers = np.array([b.center for b in sel], np.float64)
        sizes = np.array([b.size for b in sel], np.float64)
        yaws = np.array([b.yaw for b in sel], np.float64)
        corners_c = (box_corners(centers, sizes, yaws) - origin) @ rot_wo     # (B, 8, 3)

        # Edge samples projected with distortion bound each object's pixel region.
        a, b = corners_c[:, _EDGES[:, 0]], corners_c[:, _EDGES[:, 1]]       # (B, 12, 3)
        t = self._edge_t[None, None, :, None]
        pts = (a[:, :, None] + t * (b - a)[:, :, None]).reshape(len(sel), -1, 3)
        in_front = np.all(pts[..., 2] >= NEAR_M, axis=1)
        z = np.where(pts[..., 2] > 0.0, pts[..., 2], 1.0)
        xn, yn = pts[..., 0] / z, pts[..., 1] / z
        valid = in_front & np.all(np.hypot(xn, yn) <= self.r_valid, axis=1)
        xd, yd = m.distort(xn, yn)
        u, v = m.fx * xd + m.cx, m.fy * yd + m.cy

        # Fully inside the image: no truncation, no polygon clipping needed.
        inside = valid & (u.min(axis=1) >= -0.5) & (u.max(axis=1) <= m.width - 0.5) \
            & (v.min(axis=1) >= -0.5) & (v.max(axis=1) <= m.height - 0.5)
        rois, projected, truncation = [], [], []
        for j in range(len(sel)):
            roi, proj = (0, m.height, 0, m.width), None
            if valid[j]:
                roi, proj = self._roi(u[j], v[j])
            rois.append(roi)
            projected.append(proj)
            truncation.append(0.0 if inside[j] else self._truncation(corners_c[j]))

        occlusion = [self._occlusion(mirror.instance_scene(int(iid)), int(iid), roi,
                                     instance, dirs_world, origin)
                     for iid, roi in zip(ids, rois)]
        rot_ow = rot_wo.T
        out = []
        for j, box in enumerate(sel):
            iid = int(ids[j])
            c, s = np.cos(yaws[j]), np.sin(yaws[j])
            rot_cb = rot_ow @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
            heading = rot_cb[:, 0]
            bottom = centers[j] - np.array([0.0, 0.0, sizes[j, 2] / 2.0])
            sem = int(box.semantic)
            out.append({
                "instance_id": iid,
                "semantic": sem,
                "class_name": CLASS_NAMES[sem] if sem < len(CLASS_NAMES) else str(sem),
                "name": box.name,
                "box_2d": self._mask_box(instance, iid, rois[j], int(counts[iid])),
                "box_2d_projected": projected[j],
                "visible_pixels": int(counts[iid]),
                "truncation": truncation[j],
                "occlusion": float(occlusion[j]),
                "center_world": centers[j].tolist(),
                "size_lwh": sizes[j].tolist(),
                "yaw_world": float(yaws[j]),
                "center_cam": (rot_ow @ (centers[j] - origin)).tolist(),
                "bottom_center_cam": (rot_ow @ (bottom - origin)).tolist(),
                # KITTI rotation_y: heading = (cos ry, 0, -sin ry) in the optical frame.
                "rotation_y": float(np.arctan2(-heading[2], heading[0])),
                "rotation_cam": rot_cb.tolist(),
            })
        return out

    # ------------------------------------------------------------------ helpers
    def _truncation(self, corners_cam: np.ndarray) -> float:
        front = clip_to_front(corners_cam)
        if len(front) < 3:
            return 1.0
        xy = (front[:, :2] / front[:, 2:3]) * self.model.fx
        hull = cv2.convexHull(xy.astype(np.float32))
        area = float(cv2.contourArea(hull))
        if area <= 0.0:
            return 1.0
        inside, _ = cv2.intersectConvexConvex(hull, self.image_hull)
        trunc = 1.0 - inside / area
        return 0.0 if trunc < 1e-5 else float(min(trunc, 1.0))  # float32 area round-off

    def _roi(self, u: np.ndarray, v: np.ndarray
             ) -> tuple[tuple[int, int, int, int], list[float] | None]:
        """Pixel region (r0, r1, c0, c1) around projected points, and their clipped bbox."""
        m = self.model
        u0, u1, v0, v1 = u.min(), u.max(), v.min(), v.max()
        if u1 < -0.5 or v1 < -0.5 or u0 > m.width - 0.5 or v0 > m.height - 0.5:
            return (0, m.height, 0, m.width), None
        proj = [float(min(max(u0, -0.5), m.width - 0.5)),
                float(min(max(v0, -0.5), m.height - 0.5)),
                float(min(max(u1, -0.5), m.width - 0.5)),
                float(min(max(v1, -0.5), m.height - 0.5))]
        roi = (max(0, int(np.floor(v0)) - 1), min(m.height, int(np.ceil(v1)) + 2),
               max(0, int(np.floor(u0)) - 1), min(m.width, int(np.ceil(u1)) + 2))
        return roi, proj

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

    @staticmethod
    def _occlusion(scene: o3d.t.geometry.RaycastingScene | None, iid: int,
                   roi: tuple[int, int, int, int], instance: np.ndarray,
                   dirs_world: np.ndarray, origin: np.ndarray) -> float:
        """1 - visible / unoccluded, on (a sub-grid of) the rays of the object's region."""
        if scene is None:
            return 0.0
        r0, r1, c0, c1 = roi
        step = max(1, int(np.ceil(np.sqrt((r1 - r0) * (c1 - c0) / MAX_OCCLUSION_SAMPLES))))
        d = dirs_world[r0:r1:step, c0:c1:step]
        rays = np.empty(d.shape[:2] + (6,), np.float32)
        rays[..., :3] = origin
        rays[..., 3:] = d
        hits = scene.test_occlusions(o3d.core.Tensor.from_numpy(rays)).numpy()
        unoccluded = int(np.count_nonzero(hits))
        if unoccluded == 0:
            return 0.0
        visible = int(np.count_nonzero(hits & (instance[r0:r1:step, c0:c1:step] == iid)))
        return float(np.clip(1.0 - visible / unoccluded, 0.0, 1.0))
