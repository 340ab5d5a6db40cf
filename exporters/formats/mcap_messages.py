"""Foxglove messages (protobuf, ``foxglove-schemas-protobuf``) built from DriveSim records.

Pure functions, no file I/O: ``exporters.formats.mcap_format`` writes what they return.

Conventions:
    Times are integer nanoseconds since the Unix epoch (``*_ns``); every message's own
    ``timestamp`` equals the MCAP log time it is written with.
    Frame ids: ``world`` (the map's ENU frame, z up), ``ego`` (body: x forward, y left, z
    up, on the ground under the car's centre), one frame per sensor named like the sensor
    (x forward, y left, z up) and ``<camera>_optical`` per camera (x right, y down, z
    forward, the frame the images and intrinsics are in).
    Quaternions are (x, y, z, w), the Foxglove order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import numpy as np
from foxglove_schemas_protobuf.CameraCalibration_pb2 import CameraCalibration
from foxglove_schemas_protobuf.Color_pb2 import Color
from foxglove_schemas_protobuf.CompressedImage_pb2 import CompressedImage
from foxglove_schemas_protobuf.CubePrimitive_pb2 import CubePrimitive
from foxglove_schemas_protobuf.FrameTransform_pb2 import FrameTransform
from foxglove_schemas_protobuf.FrameTransforms_pb2 import FrameTransforms
from foxglove_schemas_protobuf.KeyValuePair_pb2 import KeyValuePair
from foxglove_schemas_protobuf.LinePrimitive_pb2 import LinePrimitive
from foxglove_schemas_protobuf.LocationFix_pb2 import LocationFix
from foxglove_schemas_protobuf.PackedElementField_pb2 import PackedElementField
from foxglove_schemas_protobuf.Point3_pb2 import Point3
from foxglove_schemas_protobuf.PointCloud_pb2 import PointCloud
from foxglove_schemas_protobuf.Pose_pb2 import Pose as FoxglovePose
from foxglove_schemas_protobuf.Quaternion_pb2 import Quaternion
from foxglove_schemas_protobuf.SceneEntity_pb2 import SceneEntity
from foxglove_schemas_protobuf.SceneEntityDeletion_pb2 import SceneEntityDeletion
from foxglove_schemas_protobuf.SceneUpdate_pb2 import SceneUpdate
from foxglove_schemas_protobuf.Vector3_pb2 import Vector3
from google.protobuf.timestamp_pb2 import Timestamp

from exporters.frame import LABEL_CLASSES, ObjectState, SensorCalib

WORLD_FRAME = "world"
EGO_FRAME = "ego"

LANE_LINE_Z_M = 0.05        # lane lines drawn this high above the road surface
LANE_LINE_THICKNESS_M = 0.12

# Point layout of the lidar PointCloud: little-endian, 24 bytes per point.
POINT_DTYPE = np.dtype({
    "names": ["x", "y", "z", "intensity", "ring", "semantic", "instance_id"],
    "formats": ["<f4", "<f4", "<f4", "<f4", "<u2", "u1", "<i4"],
    "offsets": [0, 4, 8, 12, 16, 18, 20],
    "itemsize": 24,
})
_NUMERIC_TYPE = {"<f4": PackedElementField.FLOAT32, "<u2": PackedElementField.UINT16,
                 "|u1": PackedElementField.UINT8, "<i4": PackedElementField.INT32}

# Box colours (r, g, b, a) by object category; others grey.
CATEGORY_RGBA = {
    "car": (0.20, 0.60, 1.00, 0.5),
    "van": (0.30, 0.80, 1.00, 0.5),
    "truck": (0.10, 0.30, 0.90, 0.5),
    "bus": (0.55, 0.25, 0.95, 0.5),
    "cyclist": (0.95, 0.20, 0.45, 0.5),
    "motorcyclist": (0.95, 0.45, 0.20, 0.5),
    "pedestrian": (1.00, 0.10, 0.10, 0.5),
    "debris": (0.90, 0.60, 0.55, 0.5),
    "parked_car": (0.20, 0.45, 0.70, 0.5),
    "traffic_cone": (1.00, 0.45, 0.05, 0.5),
    "barrier": (0.85, 0.85, 0.80, 0.5),
    "static_object": (1.00, 0.60, 0.10, 0.5),
    "wall": (0.70, 0.70, 0.70, 0.5),
}
_OTHER_RGBA = (0.5, 0.5, 0.5, 0.5)
CENTERLINE_RGBA = (1.0, 1.0, 1.0, 0.6)
BOUNDARY_RGBA = (1.0, 0.85, 0.2, 0.9)


# ------------------------------------------------------------------ small pieces
def timestamp(t_ns: int) -> Timestamp:
    return Timestamp(seconds=t_ns // 1_000_000_000, nanos=t_ns % 1_000_000_000)


def quaternion_xyzw(rotation: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) -> unit quaternion (x, y, z, w) with w >= 0."""
    r = np.asarray(rotation, np.float64)
    tr = np.trace(r)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [(r[2, 1] - r[1, 2]) / s, (r[0, 2] - r[2, 0]) / s, (r[1, 0] - r[0, 1]) / s,
             0.25 * s]
    elif r[0, 0] > r[1, 1] and r[0, 0] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[0, 0] - r[1, 1] - r[2, 2])
        q = [0.25 * s, (r[0, 1] + r[1, 0]) / s, (r[0, 2] + r[2, 0]) / s,
             (r[2, 1] - r[1, 2]) / s]
    elif r[1, 1] > r[2, 2]:
        s = 2.0 * np.sqrt(1.0 + r[1, 1] - r[0, 0] - r[2, 2])
        q = [(r[0, 1] + r[1, 0]) / s, 0.25 * s, (r[1, 2] + r[2, 1]) / s,
             (r[0, 2] - r[2, 0]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + r[2, 2] - r[0, 0] - r[1, 1])
        q = [(r[0, 2] + r[2, 0]) / s, (r[1, 2] + r[2, 1]) / s, 0.25 * s,
             (r[1, 0] - r[0, 1]) / s]
    q = np.asarray(q)
    q /= np.linalg.norm(q)
    return -q if q[3] < 0 else q


def _quaternion(rotation: np.ndarray) -> Quaternion:
    x, y, z, w = (float(v) for v in quaternion_xyzw(rotation))
    return Quaternion(x=x, y=y, z=z, w=w)


def _vector(v: Iterable[float]) -> Vector3:
    x, y, z = (float(a) for a in v)
    return Vector3(x=x, y=y, z=z)


def _color(rgba: tuple[float, float, float, float]) -> Color:
    return Color(r=rgba[0], g=rgba[1], b=rgba[2], a=rgba[3])


def _metadata(items: dict[str, Any]) -> list[KeyValuePair]:
    return [KeyValuePair(key=k, value=str(v)) for k, v in items.items()]


def _yaw_rotation(yaw_rad: float) -> np.ndarray:
    c, s = np.cos(yaw_rad), np.sin(yaw_rad)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def optical_frame(camera: str) -> str:
    return f"{camera}_optical"


# ------------------------------------------------------------------ transforms
def frame_transform(t_ns: int, parent: str, child: str, parent_from_child: np.ndarray
                    ) -> FrameTransform:
    """``parent_from_child`` (4, 4): the child frame's pose in the parent frame."""
    m = np.asarray(parent_from_child, np.float64)
    return FrameTransform(timestamp=timestamp(t_ns), parent_frame_id=parent,
                          child_frame_id=child, translation=_vector(m[:3, 3]),
                          rotation=_quaternion(m[:3, :3]))


def frame_transforms(t_ns: int, world_from_ego: np.ndarray,
                     calibration: dict[str, SensorCalib]) -> FrameTransforms:
    """``world -> ego`` and ``ego -> <sensor>`` (and ``ego -> <camera>_optical``)."""
    tfs = [frame_transform(t_ns, WORLD_FRAME, EGO_FRAME, world_from_ego)]
    for name, c in calibration.items():
        tfs.append(frame_transform(t_ns, EGO_FRAME, name, c.ego_from_sensor))
        if c.ego_from_optical is not None:
            tfs.append(frame_transform(t_ns, EGO_FRAME, optical_frame(name),
                                       c.ego_from_optical))
    return FrameTransforms(transforms=tfs)


# ------------------------------------------------------------------ sensors
def compressed_image(t_ns: int, camera: str, png: bytes) -> CompressedImage:
    return CompressedImage(timestamp=timestamp(t_ns), frame_id=optical_frame(camera),
                           data=png, format="png")


def camera_calibration(t_ns: int, calib: SensorCalib) -> CameraCalibration:
    """Intrinsics K, plumb_bob distortion (k1 k2 p1 p2 k3), P = [K | 0], R = I."""
    k = np.asarray(calib.intrinsics, np.float64)
    p = np.hstack([k, np.zeros((3, 1))])
    return CameraCalibration(
        timestamp=timestamp(t_ns), frame_id=optical_frame(calib.name),
        width=int(calib.width), height=int(calib.height), distortion_model="plumb_bob",
        D=[float(v) for v in calib.distortion], K=[float(v) for v in k.reshape(-1)],
        R=[float(v) for v in np.eye(3).reshape(-1)], P=[float(v) for v in p.reshape(-1)])


def point_cloud(t_ns: int, lidar: str, data: dict[str, Any], gt: dict[str, Any]
                ) -> PointCloud:
    """The sweep as ``POINT_DTYPE`` records in the lidar frame (points as reported, at
    their firing times; ``semantic`` / ``instance_id`` from the GT)."""
    pts = np.asarray(data["points"], np.float32).reshape(-1, 3)
    rec = np.zeros(len(pts), POINT_DTYPE)
    rec["x"], rec["y"], rec["z"] = pts[:, 0], pts[:, 1], pts[:, 2]
    rec["intensity"] = data["intensity"]
    rec["ring"] = data["ring"]
    rec["semantic"] = gt["semantic"]
    rec["instance_id"] = gt["instance_id"]
    fields = [PackedElementField(name=n, offset=POINT_DTYPE.fields[n][1],
                                 type=_NUMERIC_TYPE[POINT_DTYPE.fields[n][0].str])
              for n in POINT_DTYPE.names]
    identity = FoxglovePose(position=_vector((0, 0, 0)),
                            orientation=Quaternion(x=0, y=0, z=0, w=1))
    return PointCloud(timestamp=timestamp(t_ns), frame_id=lidar, pose=identity,
                      point_stride=POINT_DTYPE.itemsize, fields=fields,
                      data=rec.tobytes())


def user_equivalent_range_error_m(config: Any) -> float:
    """1-sigma pseudorange error of the noise model [m]: white noise and the
    Gauss-Markov bias (NLOS delays not included); 0 without noise."""
    noise = getattr(config, "noise", None)
    if noise is None or not getattr(noise, "enabled", True):
        return 0.0
    return float(np.hypot(noise.pseudorange_std_m, noise.bias_sigma_m))


def location_fix(t_ns: int, gnss: str, data: dict[str, Any], gt: dict[str, Any],
                 uere_m: float) -> LocationFix:
    """The fix (NaN position when ``fix_quality`` is 0) with an approximated diagonal ENU
    covariance: east/north std = HDOP * UERE / sqrt(2), up std = VDOP * UERE. Metadata:
    fix_quality, num_satellites, hdop, vdop and the true lat/lon/alt."""
    var_h = (float(data["hdop"]) * uere_m) ** 2 / 2.0
    var_u = (float(data["vdop"]) * uere_m) ** 2
    has_cov = np.isfinite(var_h) and np.isfinite(var_u)
    cov = [var_h, 0.0, 0.0, 0.0, var_h, 0.0, 0.0, 0.0, var_u] if has_cov else [0.0] * 9
    meta = {"fix_quality": int(data["fix_quality"]),
            "num_satellites": int(data["num_satellites"]),
            "hdop": repr(float(data["hdop"])), "vdop": repr(float(data["vdop"])),
            "true_latitude": repr(float(gt["lat_deg"])),
            "true_longitude": repr(float(gt["lon_deg"])),
            "true_altitude": repr(float(gt["alt_m"]))}
    return LocationFix(
        timestamp=timestamp(t_ns), frame_id=gnss, latitude=float(data["lat_deg"]),
        longitude=float(data["lon_deg"]), altitude=float(data["alt_m"]),
        position_covariance=cov,
        position_covariance_type=(LocationFix.APPROXIMATED if has_cov
                                  else LocationFix.UNKNOWN),
        metadata=_metadata(meta))


# IMU: a JSON channel (Foxglove has no IMU schema). Vectors as {x, y, z}.
_VEC3 = {"type": "object", "properties": {a: {"type": "number"} for a in "xyz"}}
IMU_JSON_SCHEMA = {
    "title": "drivesim.Imu",
    "description": "IMU sample in the sensor frame: specific force [m/s^2] and angular "
                   "rate [rad/s] as measured, and the exact values and biases in truth.",
    "type": "object",
    "properties": {
        "timestamp": {"type": "object", "properties": {"sec": {"type": "integer"},
                                                       "nsec": {"type": "integer"}}},
        "frame_id": {"type": "string"},
        "accel_mps2": _VEC3,
        "gyro_radps": _VEC3,
        "truth": {"type": "object", "properties": {
            k: _VEC3 for k in ("accel_mps2", "gyro_radps", "accel_bias_mps2",
                               "gyro_bias_radps")}},
    },
}


def _xyz(v: Any) -> dict[str, float | None]:
    """{x, y, z}; a non-finite value becomes null (strict JSON has no NaN)."""
    out = {}
    for axis, a in zip("xyz", np.asarray(v, np.float64)):
        out[axis] = float(a) if np.isfinite(a) else None
    return out


def imu_json(t_ns: int, imu: str, data: dict[str, Any], gt: dict[str, Any]) -> bytes:
    """One IMU sample as compact JSON (``IMU_JSON_SCHEMA``)."""
    msg = {"timestamp": {"sec": t_ns // 1_000_000_000, "nsec": t_ns % 1_000_000_000},
           "frame_id": imu,
           "accel_mps2": _xyz(data["accel_mps2"]), "gyro_radps": _xyz(data["gyro_radps"]),
           "truth": {k: _xyz(gt[k]) for k in ("accel_mps2", "gyro_radps",
                                               "accel_bias_mps2", "gyro_bias_radps")}}
    return json.dumps(msg, separators=(",", ":"), allow_nan=False).encode("utf-8")


# ------------------------------------------------------------------ scene
def is_box_label(obj: ObjectState) -> bool:
    """Objects that get a box: not the ego, of a labelled category (``LABEL_CLASSES``)."""
    return not obj.is_ego and obj.category in LABEL_CLASSES


def object_boxes(t_ns: int, objects: Iterable[ObjectState]) -> SceneUpdate:
    """One cube per labelled object in ``world`` (entity id = instance id, metadata
    class/name/instance_id/semantic); it first deletes every entity of the previous
    update, so objects that left the scene disappear."""
    entities = []
    for o in objects:
        if not is_box_label(o):
            continue
        pose = FoxglovePose(position=_vector(o.center),
                            orientation=_quaternion(_yaw_rotation(o.yaw)))
        cube = CubePrimitive(pose=pose, size=_vector(o.size_lwh),
                             color=_color(CATEGORY_RGBA.get(o.category, _OTHER_RGBA)))
        meta = {"class": o.category, "name": o.name, "instance_id": o.instance_id,
                "semantic": o.semantic}
        entities.append(SceneEntity(timestamp=timestamp(t_ns), frame_id=WORLD_FRAME,
                                    id=str(o.instance_id), metadata=_metadata(meta),
                                    cubes=[cube]))
    clear = SceneEntityDeletion(timestamp=timestamp(t_ns), type=SceneEntityDeletion.ALL)
    return SceneUpdate(deletions=[clear], entities=entities)


def _line(points_xy: np.ndarray, rgba: tuple[float, float, float, float],
          surface_z: np.ndarray | None = None) -> LinePrimitive:
    xy = np.asarray(points_xy, np.float64)
    z = LANE_LINE_Z_M + (np.zeros(len(xy)) if surface_z is None else surface_z)
    pts = [Point3(x=float(x), y=float(y), z=float(h)) for (x, y), h in zip(xy, z)]
    return LinePrimitive(type=LinePrimitive.LINE_STRIP, thickness=LANE_LINE_THICKNESS_M,
                         scale_invariant=False, points=pts, color=_color(rgba))


def lane_surface_z(lane: Any) -> tuple[np.ndarray | None, ...]:
    """Road height (N,) [m] under a lane's centreline, left and right boundary: the lane's
    ``z``, tilted across by its ``cross_slope`` (+ = left side higher) over each
    boundary's distance from the centreline; (None, None, None) on a flat map."""
    z = getattr(lane, "z", None)
    if z is None:
        return None, None, None
    z = np.asarray(z, np.float64)
    slope = getattr(lane, "cross_slope", None)
    if slope is None:
        return z, z, z
    centre = np.asarray(lane.centerline, np.float64)
    left = np.hypot(*(np.asarray(lane.left_boundary) - centre).T)
    right = np.hypot(*(np.asarray(lane.right_boundary) - centre).T)
    slope = np.asarray(slope, np.float64)
    return z, z + slope * left, z - slope * right


def lane_lines(t_ns: int, hdmap: Any) -> SceneUpdate:
    """One entity per lane (id = lane id): its centreline, left and right boundary as
    line strips, in that order, ``LANE_LINE_Z_M`` above the road surface (the ground on
    flat maps; ``lane_surface_z`` on maps with elevation)."""
    entities = []
    for lane in hdmap.lanes:
        zc, zl, zr = lane_surface_z(lane)
        lines = [_line(lane.centerline, CENTERLINE_RGBA, zc),
                 _line(lane.left_boundary, BOUNDARY_RGBA, zl),
                 _line(lane.right_boundary, BOUNDARY_RGBA, zr)]
        meta = {"kind": lane.kind, "road_id": lane.road_id,
                "speed_limit_mps": repr(float(lane.speed_limit_mps))}
        entities.append(SceneEntity(timestamp=timestamp(t_ns), frame_id=WORLD_FRAME,
                                    id=lane.id, metadata=_metadata(meta), lines=lines))
    return SceneUpdate(entities=entities)
