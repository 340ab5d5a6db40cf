"""KITTI object format (``--format kitti``): the layout of the KITTI 3D object benchmark.

::

    DIR/training/image_2/NNNNNN.png    the first camera's RGB image
    DIR/training/velodyne/NNNNNN.bin   the first lidar's measured points, float32 x y z r
    DIR/training/calib/NNNNNN.txt      P0 P1 P2 P3 R0_rect Tr_velo_to_cam Tr_imu_to_velo
    DIR/training/label_2/NNNNNN.txt    one object per line, 15 fields
    DIR/ImageSets/train.txt            every frame number of the job, in order

Frames of all episodes are numbered one after the other: ``NNNNNN = episode.first_frame +
frame.index``. Frames and calibration: ``exporters.formats.kitti_calib``.

Velodyne: ``data["points"]`` (sensor frame at each point's firing time, i.e. the measured,
motion-skewed cloud as a real Velodyne driver gives it) with ``data["intensity"]`` (0-1) as
reflectance, little-endian float32, 16 bytes a point.

Labels (``label_lines``), from the camera's GT boxes joined to the frame's objects by
instance id; objects whose category has no KITTI class (buildings, trees, poles, ...),
objects with fewer than the camera's ``min_box_pixels`` visible pixels (they have no GT box)
and objects whose bottom centre is not in front of the camera (rectified z <= 0) are left
out. 3D values are in the level rectified camera frame (``R0_rect``, see
``exporters.formats.kitti_calib``: y along the ego's down axis, z the optical axis's
heading), where our boxes, upright on the ground, are exactly KITTI's: upright, rotated
about y only:

==========  ============================================================================
type        ``label_of(obj, "kitti")``: Car, Van, Truck, Cyclist (bicycles and
            motorcycles with their riders), Pedestrian, Misc (buses, debris, props, walls)
truncated   ``truncation``: the fraction of the projected 3D box outside the image, 0-1
occluded    from ``occlusion`` (the hidden fraction of the object's silhouette):
            0 below ``OCCLUDED_PARTLY``, 1 below ``OCCLUDED_LARGELY``, else 2 (3,
            "unknown", never occurs: our occlusion is always known)
alpha       observation angle ``rotation_y - atan2(x, z)`` [rad] (x, z: location), in
            [-pi, pi)
bbox        left top right bottom [px] (0-based, pixel centres at integers): the
            exact 3D box's projection (``box_2d_projected``; amodal like KITTI's boxes,
            which were projected from 3D and then tightened) clipped to [0, W - 1] x
            [0, H - 1]; when that is not computable (the box reaches behind the camera),
            the visible mask's extreme pixels (``box_2d``)
dimensions  height width length [m]
location    x y z [m] of the box's bottom centre in the rectified frame
rotation_y  [rad] about the rectified y axis, in [-pi, pi): the box's length axis
            (heading) is ``(cos ry, 0, -sin ry)``; 0: the object faces the rectified x
            axis (right), -pi/2: it faces away from the camera (+z), as KITTI's and
            KittiDB's (``Quaternion(axis=(0, 1, 0), angle=ry)``)
==========  ============================================================================

The images are as rendered (not warped into the rectified frame): ``P2 = [K R0_rect^T | 0]``
projects rectified points onto them, so the 3D labels, ``P2`` and the bbox agree for any
camera pitch and roll (KittiDB's ``get_boxes`` returns our GT boxes to the labels' 4
decimals).

On maps with elevation the rectified frame tilts with the ego (its y axis is the ego's
down axis, the camera pose is the 3D one), while the world's boxes are upright in the world
(yaw only): ``location`` is still the box's exact bottom centre (the road point under the
object) and ``rotation_y`` its heading, so a label box is upright on the ego's grade, as
the body of a car on the same grade is (its 3D box through ``P2`` covers the rendered car
to ~1 px on a 10 % grade). ``bbox`` stays the projection of the world's box, which on a
grade is that box tilted by the ego's pitch: a few px taller than the car (3.5 px at
fx = 240 on a 10 % grade).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from exporters.base import EpisodeInfo, Exporter, JobInfo, register
from exporters.files import write_bytes, write_png, write_text
from exporters.formats.kitti_calib import kitti_rig, object_calib_text
from exporters.frame import Frame, label_of

TRAINING = "training"
OCCLUDED_PARTLY = 0.05  # hidden fraction from which an object is "partly occluded" (1)
OCCLUDED_LARGELY = 0.5  # ... and "largely occluded" (2)
# The occlusion GT samples big objects on a sub-grid (~1 % error): 5 % keeps that noise
# and silhouette edge effects out of level 0.


def frame_name(episode: EpisodeInfo, frame: Frame) -> str:
    """``NNNNNN``: the job-wide frame number."""
    return f"{episode.first_frame + frame.index:06d}"


def occlusion_level(hidden_fraction: float) -> int:
    """KITTI's occluded field (0 fully visible, 1 partly, 2 largely occluded)."""
    if hidden_fraction < OCCLUDED_PARTLY:
        return 0
    return 1 if hidden_fraction < OCCLUDED_LARGELY else 2


def wrap_angle(angle_rad: float) -> float:
    """Angle in [-pi, pi)."""
    return (angle_rad + math.pi) % (2.0 * math.pi) - math.pi


def velodyne_bytes(measurement: Any) -> bytes:
    """KITTI velodyne scan: little-endian float32 ``x y z reflectance`` per point."""
    points = np.asarray(measurement.data["points"], np.float32).reshape(-1, 3)
    intensity = np.asarray(measurement.data["intensity"], np.float32).reshape(-1, 1)
    return np.ascontiguousarray(np.hstack([points, intensity]), "<f4").tobytes()


def label_bbox(box: dict[str, Any], width: int, height: int) -> list[float]:
    """KITTI bbox (left, top, right, bottom) [px] of a camera GT box (see the table)."""
    projected = box.get("box_2d_projected")
    if projected is None:
        return [float(v) for v in box["box_2d"]]
    left, top, right, bottom = (float(v) for v in projected)
    return [min(max(left, 0.0), width - 1.0), min(max(top, 0.0), height - 1.0),
            min(max(right, 0.0), width - 1.0), min(max(bottom, 0.0), height - 1.0)]


def rectified(box: dict[str, Any], rect_from_cam: np.ndarray) -> tuple[np.ndarray, float]:
    """A camera GT box's bottom centre (3,) [m] and ``rotation_y`` [rad] in the rectified
    frame (``rect_from_cam``: ``R0_rect``)."""
    bottom = rect_from_cam @ np.asarray(box["bottom_center_cam"], np.float64)
    rot = rect_from_cam @ np.asarray(box["rotation_cam"], np.float64)  # rect <- box
    return bottom, wrap_angle(math.atan2(-rot[2, 0], rot[0, 0]))


def label_line(kind: str, box: dict[str, Any], bbox: list[float],
               rect_from_cam: np.ndarray) -> str:
    """One label line: 15 fields separated by single spaces, no trailing space."""
    bottom, rot_y = rectified(box, rect_from_cam)
    x, y, z = (float(v) for v in bottom)
    length, width, height = (float(v) for v in box["size_lwh"])
    alpha = wrap_angle(rot_y - math.atan2(x, z))
    left, top, right, bottom_px = bbox
    fields = [kind, f"{float(box['truncation']):.2f}",
              str(occlusion_level(float(box["occlusion"]))), f"{alpha:.4f}",
              f"{left:.2f}", f"{top:.2f}", f"{right:.2f}", f"{bottom_px:.2f}",
              f"{height:.4f}", f"{width:.4f}", f"{length:.4f}",
              f"{x:.4f}", f"{y:.4f}", f"{z:.4f}", f"{rot_y:.4f}"]
    return " ".join(fields)


def labelled_boxes(frame: Frame, camera_name: str,
                   rect_from_cam: np.ndarray) -> list[tuple[str, dict[str, Any]]]:
    """``(KITTI class, GT box)`` of every object labelled in one frame for one camera, in
    the order of its GT boxes (see the module docstring for who is left out)."""
    objects = {o.instance_id: o for o in frame.labelled_objects()}
    out = []
    for box in frame.measurements[camera_name].gt["boxes"]:
        obj = objects.get(int(box["instance_id"]))
        kind = None if obj is None else label_of(obj, "kitti")
        if kind is not None and rectified(box, rect_from_cam)[0][2] > 0.0:
            out.append((kind, box))
    return out


def label_lines(frame: Frame, camera_name: str, rect_from_cam: np.ndarray) -> list[str]:
    """The label lines of one frame for one camera, in the order of its GT boxes."""
    calib = frame.calibration[camera_name]
    return [label_line(kind, box, label_bbox(box, calib.width, calib.height), rect_from_cam)
            for kind, box in labelled_boxes(frame, camera_name, rect_from_cam)]


def label_text(lines: list[str]) -> str:
    return "".join(line + "\n" for line in lines)


@register
class KittiExporter(Exporter):
    """Writes one episode's frames into the shared ``training`` folders."""

    format_name = "kitti"

    def __init__(self, job: JobInfo):
        super().__init__(job)
        self.rig = kitti_rig(job.calibration)
        self.calib_text = object_calib_text(self.rig)
        self.root = job.out_dir / TRAINING

    def write(self, frame: Frame) -> None:
        assert self.episode is not None, "open() the episode first"
        name = frame_name(self.episode, frame)
        camera = frame.measurements[self.rig.camera.name]
        write_png(self.root / "image_2" / f"{name}.png", camera.data["rgb"])
        if self.rig.lidar is not None:
            write_bytes(self.root / "velodyne" / f"{name}.bin",
                        velodyne_bytes(frame.measurements[self.rig.lidar.name]))
        write_text(self.root / "calib" / f"{name}.txt", self.calib_text)
        write_text(self.root / "label_2" / f"{name}.txt",
                   label_text(label_lines(frame, self.rig.camera.name,
                                          self.rig.rect_from_cam)))

    @classmethod
    def finalize(cls, job: JobInfo) -> None:
        numbers = [f"{e.first_frame + i:06d}\n" for e in job.episodes for i in range(e.n_frames)]
        write_text(job.out_dir / "ImageSets" / "train.txt", "".join(numbers))
