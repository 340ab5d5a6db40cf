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
from simulator.scene.mirror import SceneMirror
from simulator.scene.objects import ObjectBox
from simulator.scene.semantics import CLASS_NAMES

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

        u0, u1, v0, v1 = u.min(axis=1), u.max(axis=1), v.min(axis=1), v.max(axis=1)
        # Fully inside the image: no truncation, no polygon clipping needed.
        inside = valid & (u0 >= -0.5) & (u1 <= m.width - 0.5) & (v0 >= -0.5) \
            & (v1 <= m.height - 0.5)
        onscreen = valid & (u1 >= -0.5) & (v1 >= -0.5) & (u0 <= m.width - 0.5) \
            & (v0 <= m.height - 0.5)
        proj = np.stack([np.clip(u0, -0.5, m.width - 0.5), np.clip(v0, -0.5, m.height - 0.5),
                         np.clip(u1, -0.5, m.width - 0.5), np.clip(v1, -0.5, m.height - 0.5)],
                        axis=1)
        # Pixel regions: the projection's bounding box plus a pixel (full image if unknown).
        r0 = np.where(onscreen, np.maximum(np.floor(v0) - 1, 0), 0).astype(int).tolist()
        r1 = np.where(onscreen, np.minimum(np.ceil(v1) + 2, m.height), m.height).astype(
            int).tolist()
        c0 = np.where(onscreen, np.maximum(np.floor(u0) - 1, 0), 0).astype(int).tolist()
        c1 = np.where(onscreen, np.minimum(np.ceil(u1) + 2, m.width), m.width).astype(
            int).tolist()

        # 3D boxes in the optical frame, all at once.
        rot_ow = rot_wo.T
        center_c = ((centers - origin) @ rot_wo).tolist()
        bottom_c = ((centers - origin - sizes * [0.0, 0.0, 0.5]) @ rot_wo).tolist()
        cy, sy = np.cos(yaws), np.sin(yaws)
        rot_wb = np.zeros((len(sel), 3, 3))
        rot_wb[:, 0, 0], rot_wb[:, 0, 1], rot_wb[:, 1, 0], rot_wb[:, 1, 1] = cy, -sy, sy, cy
        rot_wb[:, 2, 2] = 1.0
        rot_cb = np.einsum("ij,bjk->bik", rot_ow, rot_wb)
        # KITTI rotation_y: heading (the box x axis) = (cos ry, 0, -sin ry), optical frame.
        rot_y = np.arctan2(-rot_cb[:, 2, 0], rot_cb[:, 0, 0]).tolist()
        rot_cb_l, centers_l, sizes_l = rot_cb.tolist(), centers.tolist(), sizes.tolist()
        proj_l = proj.tolist()

        out = []
        for j, box in enumerate(sel):
            iid = int(ids[j])
            roi = (r0[j], r1[j], c0[j], c1[j])
            box_2d, occlusion = self._region_stats(mirror.instance_scene(iid), iid, roi,
                                                   int(counts[iid]), instance, dirs_world,
                                                   origin)
            sem = int(box.semantic)
            out.append({
                "instance_id": iid,
                "semantic": sem,
                "class_name": CLASS_NAMES[sem] if sem < len(CLASS_NAMES) else str(sem),
                "name": box.name,
                "box_2d": box_2d,
                "box_2d_projected": proj_l[j] if onscreen[j] else None,
                "visible_pixels": int(counts[iid]),
                "truncation": 0.0 if inside[j] else self._truncation(corners_c[j]),
                "occlusion": occlusion,
                "center_world": centers_l[j],
                "size_lwh": sizes_l[j],
                "yaw_world": float(yaws[j]),
                "center_cam": center_c[j],
                "bottom_center_cam": bottom_c[j],
                "rotation_y": rot_y[j],
                "rotation_cam": rot_cb_l[j],
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

    @staticmethod
    def _region_stats(scene: o3d.t.geometry.RaycastingScene | None, iid: int,
                      roi: tuple[int, int, int, int], visible: int, instance: np.ndarray,
                      dirs_world: np.ndarray, origin: np.ndarray) -> tuple[list[float], float]:
        """The visible mask's 2D box, and the occlusion (1 - visible / unoccluded) counted
        on (a sub-grid of) the rays of the object's region."""
        r0, r1, c0, c1 = roi
        mask = instance[r0:r1, c0:c1] == iid
        if int(np.count_nonzero(mask)) != visible:  # region missed pixels: search all
            r0, r1, c0, c1 = 0, instance.shape[0], 0, instance.shape[1]
            mask = instance == iid
        rows = np.flatnonzero(mask.any(axis=1))
        cols = np.flatnonzero(mask.any(axis=0))
        box_2d = [float(c0 + cols[0]), float(r0 + rows[0]), float(c0 + cols[-1]),
                  float(r0 + rows[-1])]
        if scene is None:
            return box_2d, 0.0
        step = max(1, int(np.ceil(np.sqrt((r1 - r0) * (c1 - c0) / MAX_OCCLUSION_SAMPLES))))
        d = dirs_world[r0:r1:step, c0:c1:step]
        rays = np.empty(d.shape[:2] + (6,), np.float32)
        rays[..., :3] = origin
        rays[..., 3:] = d
        hits = scene.test_occlusions(o3d.core.Tensor.from_numpy(rays)).numpy()
        unoccluded = int(np.count_nonzero(hits))
        if unoccluded == 0:
            return box_2d, 0.0
        seen = mask[::step, ::step] if step > 1 else mask
        occ = 1.0 - int(np.count_nonzero(hits & seen)) / unoccluded
        return box_2d, float(min(max(occ, 0.0), 1.0))
