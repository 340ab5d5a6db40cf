"""Sensor motion during a rolling lidar sweep: pose interpolation and de-skewing.

Between the sweep's start and end poses the sensor position is interpolated linearly and its
orientation by slerp (constant angular velocity about one axis), which is exact for motion
at constant velocity and yaw rate over one sweep and a good approximation otherwise.
All functions are vectorised over columns / points.
"""

from __future__ import annotations

import numpy as np


def _matrix_to_quaternion(r: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) -> unit quaternion (w, x, y, z), w >= 0 (Shepperd's method)."""
    tr = np.trace(r)
    diag = np.diag(r)
    k = int(np.argmax(np.r_[tr, diag]))
    if k == 0:
        s = 2.0 * np.sqrt(1.0 + tr)
        q = np.array([0.25 * s, (r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s,
                      (r[1, 0] - r[0, 1]) / s])
    else:
        i = k - 1
        j, m = (i + 1) % 3, (i + 2) % 3
        s = 2.0 * np.sqrt(1.0 + r[i, i] - r[j, j] - r[m, m])
        q = np.empty(4)
        q[0] = (r[m, j] - r[j, m]) / s
        q[1 + i] = 0.25 * s
        q[1 + j] = (r[j, i] + r[i, j]) / s
        q[1 + m] = (r[m, i] + r[i, m]) / s
    q /= np.linalg.norm(q)
    return q if q[0] >= 0 else -q


def rotation_log(r: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle [rad], angle in [0, pi]) of a rotation matrix."""
    q = _matrix_to_quaternion(np.asarray(r, np.float64))
    v = q[1:]
    sin_half = np.linalg.norm(v)
    if sin_half < 1e-15:
        return np.zeros(3)
    angle = 2.0 * np.arctan2(sin_half, q[0])
    return v / sin_half * angle


def rotation_exp(rotvecs: np.ndarray) -> np.ndarray:
    """Rotation vectors (K, 3) -> rotation matrices (K, 3, 3) by Rodrigues' formula."""
    rotvecs = np.asarray(rotvecs, np.float64)
    theta = np.linalg.norm(rotvecs, axis=-1)
    safe = np.where(theta > 1e-15, theta, 1.0)
    axis = rotvecs / safe[:, None]
    kx, ky, kz = axis[:, 0], axis[:, 1], axis[:, 2]
    zero = np.zeros_like(kx)
    skew = np.stack([np.stack([zero, -kz, ky], -1), np.stack([kz, zero, -kx], -1),
                     np.stack([-ky, kx, zero], -1)], -2)
    s = np.sin(theta)[:, None, None]
    c = (1.0 - np.cos(theta))[:, None, None]
    return np.eye(3) + s * skew + c * (skew @ skew)


def interpolate_poses(start: np.ndarray, end: np.ndarray, fractions: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Poses a fraction of the way from ``start`` to ``end`` (4x4 world-from-sensor).

    Args:
        start: 4x4 pose at fraction 0.
        end: 4x4 pose at fraction 1.
        fractions: (K,) values in [0, 1].

    Returns:
        rotations (K, 3, 3) and positions (K, 3), float64, world frame.
    """
    fractions = np.asarray(fractions, np.float64)
    r0, r1 = start[:3, :3], end[:3, :3]
    p0, p1 = start[:3, 3], end[:3, 3]
    positions = p0 + fractions[:, None] * (p1 - p0)
    w = rotation_log(r0.T @ r1)
    if not np.any(w):
        rotations = np.broadcast_to(r0, (len(fractions), 3, 3))
    else:
        rotations = r0 @ rotation_exp(fractions[:, None] * w)
    return rotations, positions


def deskew_points(points: np.ndarray, time_offset_s: np.ndarray, sweep_duration_s: float,
                  pose_start: np.ndarray, pose_end: np.ndarray) -> np.ndarray:
    """Move points from the sensor frame at their firing time to the frame at sweep end.

    Args:
        points: (M, 3) points, each in the sensor frame at its own firing time [m].
        time_offset_s: (M,) firing time of each point after the sweep start [s].
        sweep_duration_s: time from the sweep's first to its last firing [s].
        pose_start: 4x4 world-from-sensor pose at the sweep start.
        pose_end: 4x4 world-from-sensor pose at the sweep end.

    Returns:
        (M, 3) float32 points in the sensor frame at the sweep end.
    """
    points = np.asarray(points, np.float64)
    # Firing times repeat per column: interpolate once per distinct time.
    times, inverse = np.unique(np.asarray(time_offset_s), return_inverse=True)
    frac = times / sweep_duration_s if sweep_duration_s > 0 else np.ones_like(times)
    rotations, positions = interpolate_poses(pose_start, pose_end, frac)
    r_end, p_end = pose_end[:3, :3], pose_end[:3, 3]
    # end_from_k = R_end^T [R_k | p_k - p_end]
    rel_rot = np.swapaxes(r_end.T @ rotations, 1, 2)   # transposed for row vectors
    rel_pos = (positions - p_end) @ r_end
    out = np.einsum("mi,mij->mj", points, rel_rot[inverse]) + rel_pos[inverse]
    return out.astype(np.float32)


def rotate_vectors(vectors: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """``rotation @ v`` for every vector, float32, without BLAS.

    (Multi-threaded OpenBLAS takes up to tens of ms for an (M, 3) x (3, 3) float32 product
    on a busy 2-core machine; nine broadcast multiply-adds over contiguous planes take well
    under one.)

    Args:
        vectors: (..., 3) float32.
        rotation: (3, 3), or (..., 3, 3) whose leading axes broadcast against ``vectors``'.

    Returns:
        (..., 3) float32.
    """
    rot = np.asarray(rotation, np.float32)
    comps = [vectors[..., j] for j in range(3)]
    shape = np.broadcast_shapes(comps[0].shape, rot.shape[:-2])
    out = np.empty(shape + (3,), np.float32)
    acc = np.empty(shape, np.float32)
    tmp = np.empty(shape, np.float32)
    for i in range(3):
        np.multiply(comps[0], rot[..., i, 0], out=acc)
        np.multiply(comps[1], rot[..., i, 1], out=tmp)
        acc += tmp
        np.multiply(comps[2], rot[..., i, 2], out=tmp)
        acc += tmp
        out[..., i] = acc
    return out
