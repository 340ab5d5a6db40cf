"""What the two KITTI formats share: the rig in KITTI's terms and the calibration texts.

KITTI's frames, taken from the rig (the first sensor of each type in scenario order):

- camera: the first camera's optical frame (x right, y down, z forward). It is KITTI's
  reference camera 0 *and* the camera of ``image_2``: with one camera there is no stereo
  baseline. The image is the pinhole image only without lens distortion (the scenarios'
  default); a camera with distortion is exported as it is, with its coefficients in
  ``D_0i`` (raw) only.
- rectified camera (object format): KITTI's labels are upright in the rectified camera
  frame, rotated about its y axis only. Ours is the *level* camera frame
  (``level_rect_from_cam``): the optical frame turned so that its y axis is the ego's down
  axis (-z of the ego body frame) keeping its heading, i.e. z is the optical axis
  projected on the ego's horizontal plane and x = y x z. ``R0_rect`` is that rotation
  (camera -> rectified; the identity for a level camera, a rotation by the mount's pitch
  and roll otherwise). The image is not warped: ``P0 .. P3 = [K R0_rect^T | 0]`` (from the
  float32 ``R0_rect`` as written), so ``P2 R0_rect Tr_velo_to_cam X_velo = K X_cam`` lands
  on the rendered pixels. The raw format keeps the optical frame as its rectified frame:
  ``R_rect_0i`` is the identity and ``P_rect_0i = [K | 0]``.
- velodyne: the first lidar's sensor frame (x forward, y left, z up), as KITTI's; without a
  lidar, the ego body frame. ``Tr_velo_to_cam`` maps it to the (unrectified) optical frame.
- IMU: the first IMU's sensor frame (x forward, y left, z up); without one, the ego body
  frame.

Transforms are ``A_from_B`` 4x4 matrices (a point in B to A) in metres. Numbers are written
as the shortest decimal that reads back to the same value. Rotations in the *object*
calib files are nudged by a few float32 ulps so that they pass the orthogonality check of
readers that parse float32 (``float32_safe_rotation``).
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property

import numpy as np

from exporters.base import ExportError
from exporters.frame import SensorCalib

log = logging.getLogger(__name__)

# What the float32 orthogonality check of KittiDB (pyquaternion) allows off the diagonal
# of R R^T; we keep under it for every evaluation order of the float32 dot products.
ORTHOGONALITY_ATOL = 1e-8
_SAFE_TOL = 9e-9
ROUND_OFF = 1e-12
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# --------------------------------------------------------------------------- the rig
def first_of(calibration: dict[str, SensorCalib], sensor_type: str) -> SensorCalib | None:
    """The first sensor of a type in rig order, or None."""
    return next((c for c in calibration.values() if c.sensor_type == sensor_type), None)


@dataclass(frozen=True)
class KittiRig:
    """The camera, lidar and IMU a KITTI dataset is made of (lidar / IMU may be None)."""

    camera: SensorCalib
    lidar: SensorCalib | None
    imu: SensorCalib | None

    @property
    def intrinsics(self) -> np.ndarray:
        return np.asarray(self.camera.intrinsics, np.float64)

    @property
    def projection(self) -> np.ndarray:
        """(3, 4) ``[K | 0]``: optical-frame point -> homogeneous pixel (raw
        ``P_rect_0i``)."""
        return np.hstack([self.intrinsics, np.zeros((3, 1))])

    @cached_property
    def rect_from_cam(self) -> np.ndarray:
        """(3, 3) ``R0_rect``: optical -> level rectified camera frame, the float32 values
        written to the calib files (``float32_safe_rotation``) as float64."""
        level = level_rect_from_cam(np.asarray(self.camera.ego_from_optical))
        return float32_safe_rotation(level).astype(np.float64)

    @property
    def rect_projection(self) -> np.ndarray:
        """(3, 4) ``[K R0_rect^T | 0]`` (object ``P0 .. P3``): rectified-frame point ->
        homogeneous pixel of the (unwarped) image."""
        return snapped(np.hstack([self.intrinsics @ self.rect_from_cam.T, np.zeros((3, 1))]))

    @property
    def ego_from_velo(self) -> np.ndarray:
        return np.eye(4) if self.lidar is None else np.asarray(self.lidar.ego_from_sensor)

    @property
    def ego_from_imu(self) -> np.ndarray:
        return np.eye(4) if self.imu is None else np.asarray(self.imu.ego_from_sensor)

    @property
    def cam_from_velo(self) -> np.ndarray:
        """(4, 4) velodyne -> camera optical frame (``Tr_velo_to_cam``)."""
        return np.linalg.inv(np.asarray(self.camera.ego_from_optical)) @ self.ego_from_velo

    @property
    def velo_from_imu(self) -> np.ndarray:
        """(4, 4) IMU -> velodyne (``Tr_imu_to_velo``)."""
        return np.linalg.inv(self.ego_from_velo) @ self.ego_from_imu


def level_rect_from_cam(ego_from_optical: np.ndarray) -> np.ndarray:
    """(3, 3) rotation from a camera's optical frame to its level rectified frame: y along
    the ego's down axis, z the optical axis projected on the ego's horizontal plane
    (normalised), x = y x z (x right, y down, z forward like the optical frame).
    ``ExportError`` when the camera looks straight up or down (no heading)."""
    ego_from_cam = np.asarray(ego_from_optical, np.float64)[:3, :3]
    forward = np.array([ego_from_cam[0, 2], ego_from_cam[1, 2], 0.0])
    norm = float(np.linalg.norm(forward))
    if norm < 1e-6:
        raise ExportError("the KITTI object format needs a camera that does not look "
                          "straight up or down (its labels are upright in a level frame)")
    z = forward / norm
    y = np.array([0.0, 0.0, -1.0])
    ego_from_rect = np.column_stack([np.cross(y, z), y, z])
    return ego_from_rect.T @ ego_from_cam


def kitti_rig(calibration: dict[str, SensorCalib]) -> KittiRig:
    """The rig's KITTI sensors; ``ExportError`` without a camera."""
    camera = first_of(calibration, "camera")
    if camera is None:
        raise ExportError("the KITTI formats need a camera in the scenario (image_2)")
    if camera.distortion is not None and np.any(np.asarray(camera.distortion) != 0.0):
        log.warning("camera %s has lens distortion: KITTI images are rectified, ours will "
                    "not be (P2 is the pinhole K)", camera.name)
    return KittiRig(camera, first_of(calibration, "lidar"), first_of(calibration, "imu"))


# --------------------------------------------------------------------------- numbers
def number(x: float) -> str:
    """Shortest scientific text that reads back to ``x`` (float64, or float32 if given a
    ``np.float32``): ``7.215377e+02``, ``1.0e+00``."""
    if isinstance(x, np.floating):
        value = x + x.dtype.type(0.0)  # -0.0 -> 0.0
    else:
        value = float(x) + 0.0
    if not np.isfinite(value):
        raise ValueError(f"cannot write a non-finite calibration value {x!r}")
    return np.format_float_scientific(value, unique=True, trim="0", exp_digits=2)


def numbers(values) -> str:
    """Values separated by single spaces (row-major for matrices)."""
    flat = values.ravel() if isinstance(values, np.ndarray) else values
    return " ".join(number(v) for v in flat)


def snapped(matrix: np.ndarray) -> np.ndarray:
    """float64 copy with round-off below ``ROUND_OFF`` (e.g. 2e-16 from cos(pi/2)) set to 0."""
    m = np.array(matrix, np.float64)
    m[np.abs(m) < ROUND_OFF] = 0.0
    return m


def date_of_us(timestamp_us: int) -> datetime:
    """UTC datetime of a timestamp [us since the Unix epoch] (microseconds kept)."""
    seconds, micros = divmod(int(timestamp_us), 1_000_000)
    return datetime.fromtimestamp(seconds, tz=timezone.utc).replace(microsecond=micros)


def calib_time_text(day: datetime) -> str:
    """KITTI's ``calib_time`` value, e.g. ``01-Jan-2026 00:00:00`` (English month names,
    whatever the locale)."""
    return f"{day.day:02d}-{_MONTHS[day.month - 1]}-{day.year:04d} " \
        f"{day.hour:02d}:{day.minute:02d}:{day.second:02d}"


# --------------------------------------------------------------------------- float32 rotations
_ORDERS = tuple(itertools.permutations(range(3)))


def _dots_within(u: np.ndarray, v: np.ndarray, tol: float) -> np.ndarray:
    """Whether every float32 evaluation of ``u . v`` (products rounded or fused, any
    summation order) is within ``tol`` of 0; u, v (..., 3) float32."""
    exact = u.astype(np.float64) * v.astype(np.float64)  # exact: 24 + 24 bits < 53
    rounded = u * v
    ok = np.ones(np.broadcast_shapes(u.shape, v.shape)[:-1], bool)
    for a, b, c in _ORDERS:
        plain = (rounded[..., a] + rounded[..., b]) + rounded[..., c]
        fused = (rounded[..., a].astype(np.float64) + exact[..., b]).astype(np.float32)
        fused = (fused.astype(np.float64) + exact[..., c]).astype(np.float32)
        ok &= (np.abs(plain) <= tol) & (np.abs(fused) <= tol)
    return ok


def _ulp_offsets(k: int) -> np.ndarray:
    r = np.arange(-k, k + 1)
    grid = np.array(list(itertools.product(r, r, r)), np.int64)
    return grid[np.argsort(np.abs(grid).sum(axis=1), kind="stable")]


def _nudged(rows: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """float32 rows (..., 3) moved by integer ulp offsets (K, 3) -> (..., K, 3)."""
    bits = rows.astype(np.float32).view(np.int32).astype(np.int64)[..., None, :]
    ordered = np.where(bits < 0, -(bits & 0x7FFFFFFF), bits)  # monotonic in the value
    moved = ordered + offsets
    back = np.where(moved < 0, (-moved) | -0x80000000, moved)
    return back.astype(np.int32).view(np.float32)


def _search(rot: np.ndarray, k: int, max_pairs: int = 4096, chunk: int = 256) \
        -> np.ndarray | None:
    offsets = _ulp_offsets(k)
    first, second = _nudged(rot[0], offsets), _nudged(rot[1], offsets)
    a_all = np.repeat(first, len(second), axis=0)
    b_all = np.tile(second, (len(first), 1))
    good = np.flatnonzero(_dots_within(a_all, b_all, _SAFE_TOL))[:max_pairs]
    third_offsets = _ulp_offsets(4)
    for start in range(0, len(good), chunk):
        a, b = a_all[good[start:start + chunk]], b_all[good[start:start + chunk]]
        c = np.cross(a.astype(np.float64), b.astype(np.float64))
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        third = _nudged(c.astype(np.float32), third_offsets)
        hit = np.argwhere(_dots_within(a[:, None], third, _SAFE_TOL)
                          & _dots_within(b[:, None], third, _SAFE_TOL))
        if len(hit):
            i, j = hit[0]
            return np.stack([a[i], b[i], third[i, j]])
    return None


def float32_safe_rotation(rotation: np.ndarray) -> np.ndarray:
    """A float32 rotation within a few ulps (~1e-7) of ``rotation`` whose float32
    ``R R^T`` is the identity to ``ORTHOGONALITY_ATOL`` off the diagonal however the
    products are summed, so float32 readers (KittiDB, pyquaternion) accept it.

    Rounding a rotation to float32 alone leaves ~1e-8 - 1e-7 of float32 round-off in
    ``R R^T``, more than pyquaternion allows (any rotation but axis permutations); we
    search the nearby float32 matrices, rows first two then the third near their cross
    product. Deterministic (no randomness). Returns float32 (3, 3)."""
    u, _, vt = np.linalg.svd(np.asarray(rotation, np.float64))
    rot = snapped(u @ vt)
    for k in (2, 3, 5):
        for perm in ((0, 1, 2), (1, 2, 0), (2, 0, 1)):  # cyclic: det stays +1
            found = _search(rot[list(perm)], k)
            if found is not None:
                return found[np.argsort(perm)]
    log.warning("no float32-orthogonal rounding of rotation %s found; float32 readers may "
                "reject it", rot.tolist())
    return rot.astype(np.float32)


def is_float32_orthogonal(rotation32: np.ndarray) -> bool:
    """pyquaternion's check, as KittiDB runs it on float32 calib values."""
    r = np.asarray(rotation32, np.float32)
    return bool(np.allclose(np.dot(r, r.conj().transpose()), np.eye(3), rtol=1e-5,
                            atol=ORTHOGONALITY_ATOL)
                and np.isclose(np.linalg.det(r), 1.0, rtol=1e-5, atol=ORTHOGONALITY_ATOL))


def float32_safe_transform(transform: np.ndarray) -> list:
    """The 12 values of a (3|4, 4) rigid transform's ``[R | t]`` with R float32-safe."""
    rot = float32_safe_rotation(transform[:3, :3])
    shift = snapped(transform[:3, 3]).astype(np.float32)
    return [v for i in range(3) for v in (*rot[i], shift[i])]


# --------------------------------------------------------------------------- calib texts
def object_calib_text(rig: KittiRig) -> str:
    """KITTI object ``calib/NNNNNN.txt``: ``P0 P1 P2 P3 R0_rect Tr_velo_to_cam
    Tr_imu_to_velo``, one line each, values separated by single spaces. ``P0 .. P3`` are
    ``[K R0_rect^T | 0]``, ``R0_rect`` the level rectification (module docstring)."""
    p = numbers(rig.rect_projection)
    rect = numbers(rig.rect_from_cam.astype(np.float32))
    lines = [f"P{i}: {p}" for i in range(4)]
    lines.append(f"R0_rect: {rect}")
    lines.append(f"Tr_velo_to_cam: {numbers(float32_safe_transform(rig.cam_from_velo))}")
    lines.append(f"Tr_imu_to_velo: {numbers(float32_safe_transform(rig.velo_from_imu))}")
    return "\n".join(lines) + "\n"


def raw_cam_to_cam_text(rig: KittiRig, calib_time: str) -> str:
    """KITTI raw ``calib_cam_to_cam.txt`` with cameras 00 - 03 (all the one camera)."""
    cam = rig.camera
    distortion = np.zeros(5) if cam.distortion is None else np.asarray(cam.distortion)
    size = numbers([float(cam.width), float(cam.height)])
    lines = [f"calib_time: {calib_time}", "corner_dist: 0.0e+00"]
    for i in range(4):
        lines += [f"S_0{i}: {size}", f"K_0{i}: {numbers(rig.intrinsics)}",
                  f"D_0{i}: {numbers(distortion)}", f"R_0{i}: {numbers(np.eye(3))}",
                  f"T_0{i}: {numbers(np.zeros(3))}", f"S_rect_0{i}: {size}",
                  f"R_rect_0{i}: {numbers(np.eye(3))}",
                  f"P_rect_0{i}: {numbers(rig.projection)}"]
    return "\n".join(lines) + "\n"


def raw_rigid_text(transform: np.ndarray, calib_time: str, velo_to_cam: bool = False) -> str:
    """KITTI raw ``calib_velo_to_cam.txt`` / ``calib_imu_to_velo.txt``: R (row-major) and
    T [m] of a 4x4 transform (float64 precision)."""
    transform = snapped(transform)
    lines = [f"calib_time: {calib_time}", f"R: {numbers(transform[:3, :3])}",
             f"T: {numbers(transform[:3, 3])}"]
    if velo_to_cam:
        lines += ["delta_f: 0.0e+00 0.0e+00", "delta_c: 0.0e+00 0.0e+00"]
    return "\n".join(lines) + "\n"
