"""The camera's geometry: pinhole intrinsics, Brown-Conrady distortion, per-pixel rays.

Conventions (the same as OpenCV's ``cv2.projectPoints``):

- Optical frame: x right, y down, z forward (along the optical axis).
- Pixel coordinates: the centre of pixel (row ``i``, column ``j``) is at ``(u, v) = (j, i)``;
  the image covers ``u`` in ``[-0.5, W - 0.5]``. A point projecting to ``(u, v)`` lands in
  pixel ``(round(v), round(u))``. The principal point is ``(cx, cy) = (W / 2, H / 2)`` and
  ``fx = fy = (W / 2) / tan(fov / 2)``.
- Distortion ``(k1, k2, p1, p2, k3)`` maps normalized pinhole coordinates ``(x, y)`` to
  distorted ones exactly as OpenCV does.

The sensor frame of the mount is x forward, y left, z up; ``R_SENSOR_FROM_OPTICAL`` turns
optical-frame vectors into it.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Columns: the optical x (right), y (down), z (forward) axes in the sensor frame.
R_SENSOR_FROM_OPTICAL = np.array([[0.0, 0.0, 1.0],
                                  [-1.0, 0.0, 0.0],
                                  [0.0, -1.0, 0.0]])


class DistortionError(ValueError):
    """The distortion cannot be inverted over the whole image (the model folds back)."""


@dataclass(frozen=True)
class CameraModel:
    """Intrinsics + distortion of one camera.

    Attributes:
        width, height: image size [px].
        fx, fy, cx, cy: pinhole intrinsics [px].
        distortion: (5,) float64 ``k1 k2 p1 p2 k3`` (OpenCV order).
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: np.ndarray

    @classmethod
    def from_fov(cls, width: int, height: int, fov_deg: float,
                 distortion: tuple[float, ...] | np.ndarray = (0.0,) * 5) -> CameraModel:
        """Square pixels, principal point at (W/2, H/2), horizontal field of view [deg]."""
        f = (width / 2.0) / np.tan(np.radians(fov_deg) / 2.0)
        return cls(int(width), int(height), float(f), float(f), width / 2.0, height / 2.0,
                   np.asarray(distortion, np.float64).reshape(5))

    @property
    def K(self) -> np.ndarray:  # noqa: N802  (the usual name of the intrinsic matrix)
        """3x3 intrinsic matrix."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def has_distortion(self) -> bool:
        return bool(np.any(self.distortion != 0.0))

    # ------------------------------------------------------------------ forward model
    def distort(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalized pinhole coordinates -> distorted normalized coordinates (OpenCV)."""
        k1, k2, p1, p2, k3 = self.distortion
        r2 = x * x + y * y
        radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        xd = x * radial + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * radial + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return xd, yd

    def project(self, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Optical-frame points (N, 3) [m] -> pixel coordinates (N, 2) and ``z > 0`` mask.

        Points behind the camera get finite but meaningless coordinates; use the mask.
        """
        p = np.asarray(points_cam, np.float64).reshape(-1, 3)
        front = p[:, 2] > 0.0
        z = np.where(front, p[:, 2], 1.0)
        xd, yd = self.distort(p[:, 0] / z, p[:, 1] / z)
        uv = np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], axis=1)
        return uv, front

    def normalized_to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """Normalized pinhole coordinates (N, 2) -> distorted pixel coordinates (N, 2)."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        xd, yd = self.distort(xy[:, 0], xy[:, 1])
        return np.stack([self.fx * xd + self.cx, self.fy * yd + self.cy], axis=1)

    # ------------------------------------------------------------------ inverse model
    def undistort_pixels(self, uv: np.ndarray) -> np.ndarray:
        """Pixel coordinates (N, 2) -> normalized pinhole coordinates (N, 2), float64.

        ``cv2.undistortPoints`` gives the start; two Newton steps on the exact forward
        model polish it so that re-projection agrees to far below 0.01 px.
        """
        uv = np.asarray(uv, np.float64).reshape(-1, 2)
        xd = (uv[:, 0] - self.cx) / self.fx
        yd = (uv[:, 1] - self.cy) / self.fy
        if not self.has_distortion:
            return np.stack([xd, yd], axis=1)
        crit = (cv2.TERM_CRITERIA_COUNT | cv2.TERM_CRITERIA_EPS, 10, 1e-10)
        start = cv2.undistortPoints(uv.reshape(-1, 1, 2), self.K, self.distortion,
                                    criteria=crit).reshape(-1, 2)
        x, y = start[:, 0].copy(), start[:, 1].copy()
        k1, k2, p1, p2, k3 = self.distortion
        for _ in range(3):
            fx_, fy_ = self.distort(x, y)
            ex, ey = fx_ - xd, fy_ - yd
            r2 = x * x + y * y
            radial = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
            dradial = k1 + r2 * (2.0 * k2 + 3.0 * k3 * r2)  # d radial / d r2
            j11 = radial + 2.0 * x * x * dradial + 2.0 * p1 * y + 6.0 * p2 * x
            j12 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
            j21 = 2.0 * x * y * dradial + 2.0 * p1 * x + 2.0 * p2 * y
            j22 = radial + 2.0 * y * y * dradial + 6.0 * p1 * y + 2.0 * p2 * x
            det = j11 * j22 - j12 * j21
            det = np.where(np.abs(det) < 1e-12, 1e-12, det)
            x = x - (j22 * ex - j12 * ey) / det
            y = y - (-j21 * ex + j11 * ey) / det
        return np.stack([x, y], axis=1)

    def pixel_grid(self) -> np.ndarray:
        """Pixel-centre coordinates (H, W, 2) float64: ``[..., 0] = u = column``."""
        u, v = np.meshgrid(np.arange(self.width, dtype=np.float64),
                           np.arange(self.height, dtype=np.float64))
        return np.stack([u, v], axis=-1)

    def normalized_grid(self) -> np.ndarray:
        """Normalized pinhole coordinates (H, W, 2) float64 of every pixel centre.

        Raises:
            DistortionError: some pixel has no pre-image (distortion too strong for the
                field of view: the polynomial folds back inside the image).
        """
        grid = self.pixel_grid().reshape(-1, 2)
        xy = self.undistort_pixels(grid)
        if self.has_distortion:
            err = np.abs(self.normalized_to_pixel(xy) - grid).max()
            if not err < 0.01:
                raise DistortionError(
                    f"distortion {tuple(self.distortion)} cannot be inverted over a "
                    f"{self.width}x{self.height} image at this field of view (re-projection "
                    f"error {err:.3g} px); use smaller coefficients or a narrower fov")
        return xy.reshape(self.height, self.width, 2)

    def ray_directions(self) -> tuple[np.ndarray, np.ndarray]:
        """Unit rays of every pixel centre in the optical frame.

        Returns:
            (H*W, 3) float32 unit directions (row-major pixel order) and (H*W,) float32 the
            z component of each, which turns a ray distance into a z-depth.
        """
        xy = self.normalized_grid().reshape(-1, 2)
        d = np.empty((len(xy), 3), np.float64)
        d[:, :2] = xy
        d[:, 2] = 1.0
        d /= np.linalg.norm(d, axis=1, keepdims=True)
        return d.astype(np.float32), d[:, 2].astype(np.float32)

    def border_polygon(self, samples_per_side: int = 32) -> np.ndarray:
        """The image outline (pixel edges) in normalized pinhole coordinates, (N, 2).

        Used to measure which part of a projected box lies inside the image.
        """
        w, h = self.width - 0.5, self.height - 0.5
        s = np.linspace(0.0, 1.0, samples_per_side, endpoint=False)
        top = np.stack([-0.5 + s * (w + 0.5), np.full_like(s, -0.5)], 1)
        right = np.stack([np.full_like(s, w), -0.5 + s * (h + 0.5)], 1)
        bottom = np.stack([w - s * (w + 0.5), np.full_like(s, h)], 1)
        left = np.stack([np.full_like(s, -0.5), h - s * (h + 0.5)], 1)
        return self.undistort_pixels(np.concatenate([top, right, bottom, left]))

    def monotonic_radius(self, limit: float = 10.0) -> float:
        """Largest normalized radius up to which radial distortion is monotonic.

        Beyond it the polynomial folds back and projections are meaningless.
        """
        if not self.has_distortion:
            return float("inf")
        k1, k2, _, _, k3 = self.distortion
        r = np.linspace(0.0, limit, 20001)
        r2 = r * r
        deriv = 1.0 + 3.0 * k1 * r2 + 5.0 * k2 * r2 * r2 + 7.0 * k3 * r2 * r2 * r2
        bad = np.flatnonzero(deriv <= 0.0)
        return float(r[bad[0]] * 0.95) if len(bad) else float("inf")

    def screen_regions(self, points_cam: np.ndarray, owner: np.ndarray,
                       near_m: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
        """Pixel regions certain to contain each group's projection.

        Every pixel whose ray passes through the convex hull of a group of optical-frame
        points lies in its region: the part of the hull in front of the camera
        (z >= ``near_m``, spanned by the points in front and the near-plane crossings of
        all front-behind pairs) projects (pinhole) inside the bounding box of its projected
        points, and the distorted image of that box is bounded by its sampled outline
        (+1 px margin).

        Args:
            points_cam: (P, 3) optical-frame points [m].
            owner: (P,) group id of each point.
            near_m: rays are considered from this depth on.

        Returns:
            The group ids present (G,) and their regions (G, 4) int: rows ``r0:r1`` and
            columns ``c0:c1`` (slice bounds; empty for groups wholly behind the camera).
        """
        if len(points_cam) == 0:
            return np.zeros(0, np.int64), np.zeros((0, 4), np.int64)
        order = np.argsort(owner, kind="stable")
        own = np.asarray(owner)[order]
        starts = np.flatnonzero(np.r_[True, own[1:] != own[:-1]])
        ends = np.r_[starts[1:], len(own)]
        ids = own[starts]
        p = np.asarray(points_cam, np.float64)[order]
        zmin, zmax = np.minimum.reduceat(p[:, 2], starts), np.maximum.reduceat(p[:, 2], starts)
        z = np.where(p[:, 2] < near_m, near_m, p[:, 2])
        xn, yn = p[:, 0] / z, p[:, 1] / z
        x0, x1 = np.minimum.reduceat(xn, starts), np.maximum.reduceat(xn, starts)
        y0, y1 = np.minimum.reduceat(yn, starts), np.maximum.reduceat(yn, starts)
        for g in np.flatnonzero((zmin < near_m) & (zmax >= near_m)):
            q = p[starts[g]:ends[g]]
            front, back = q[q[:, 2] >= near_m], q[q[:, 2] < near_m]
            s = ((near_m - front[:, None, 2]) / (back[None, :, 2] - front[:, None, 2]))[..., None]
            cut = (front[:, None] + s * (back[None] - front[:, None])).reshape(-1, 3)
            q = np.concatenate([front, cut])
            qx, qy = q[:, 0] / q[:, 2], q[:, 1] / q[:, 2]
            x0[g], x1[g], y0[g], y1[g] = qx.min(), qx.max(), qy.min(), qy.max()
        whole = np.zeros(len(ids), bool)
        if self.has_distortion:
            s = np.linspace(0.0, 1.0, 9)
            xs = np.concatenate([x0[:, None] + s * (x1 - x0)[:, None]] * 2
                                + [np.repeat(x0[:, None], 9, 1), np.repeat(x1[:, None], 9, 1)],
                                axis=1)
            ys = np.concatenate([np.repeat(y0[:, None], 9, 1), np.repeat(y1[:, None], 9, 1)]
                                + [y0[:, None] + s * (y1 - y0)[:, None]] * 2, axis=1)
            whole = np.hypot(xs, ys).max(axis=1) > self.monotonic_radius()
            xd, yd = self.distort(xs, ys)
            u, v = self.fx * xd + self.cx, self.fy * yd + self.cy
            u0, u1, v0, v1 = u.min(axis=1), u.max(axis=1), v.min(axis=1), v.max(axis=1)
        else:
            u0, u1 = self.fx * x0 + self.cx, self.fx * x1 + self.cx
            v0, v1 = self.fy * y0 + self.cy, self.fy * y1 + self.cy
        with np.errstate(invalid="ignore"):
            reg = np.stack([np.floor(v0) - 1, np.ceil(v1) + 2, np.floor(u0) - 1,
                            np.ceil(u1) + 2], axis=1)
        reg = np.clip(np.nan_to_num(reg), 0, [self.height, self.height, self.width,
                                              self.width]).astype(np.int64)
        reg[whole] = [0, self.height, 0, self.width]
        reg[zmax < near_m] = 0
        return ids, reg
