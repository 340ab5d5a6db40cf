"""KITTI object export, loaded with nuscenes-devkit's ``KittiDB`` (in its own venv)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from exporters.base import FORMATS, ExportError
from exporters.formats.kitti import labelled_boxes, occlusion_level, wrap_angle
from exporters.formats.kitti_calib import (
    float32_safe_rotation,
    is_float32_orthogonal,
    kitti_rig,
    level_rect_from_cam,
)
from exporters.frame import Frame, label_of
from exporters.job import plan_job, world_for
from sensors.camera_model import R_SENSOR_FROM_OPTICAL
from simulator.pose import rpy_to_matrix
from tests.exporters.conftest import export_frames, small_scenario
from tests.exporters.devkit import run_devkit

LABEL_LINE = re.compile(r"^\S+( \S+){14}$")  # 15 fields, single spaces, nothing trailing
LEVEL_MOUNT = {"position": [1.6, 0.0, 1.5], "rpy_deg": [0, 0, 0]}
REALISTIC_MOUNT = {"position": [1.6, 0.0, 1.5], "rpy_deg": [0, 1, 15]}


def export(fmt: str, job, frames, world, out_dir: Path):
    """Write one episode's frames with format ``fmt`` into ``out_dir``, as the job runner
    does; the job (with ``out_dir``) is returned."""
    return export_frames(fmt, job, frames, world, out_dir)


def captured(out_dir: Path, n_frames: int, **camera):
    """Capture ``n_frames`` of a small-scenario variant (``camera`` fields) and export
    them as KITTI into ``out_dir``; returns (job, frames)."""
    job = plan_job(small_scenario(**camera), out_dir, n_frames=n_frames, episodes=1, seed=7)
    with world_for(job) as (world, frames):
        got = list(frames(job.episodes[0]))
        export("kitti", job, got, world, out_dir)
    return job, got


@pytest.fixture(scope="module")
def kitti(small_job, tmp_path_factory):
    job, frames, world = small_job
    out = tmp_path_factory.mktemp("kitti")
    return export("kitti", job, frames, world, out), frames


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


# --------------------------------------------------------------------------- layout
def test_layout_and_imagesets(kitti):
    job, frames = kitti
    root = job.out_dir / "training"
    names = [f"{i:06d}" for i in range(len(frames))]
    for folder, ext in (("image_2", "png"), ("velodyne", "bin"), ("calib", "txt"),
                        ("label_2", "txt")):
        assert sorted(p.name for p in (root / folder).iterdir()) == \
            [f"{n}.{ext}" for n in names], folder
    assert (job.out_dir / "ImageSets" / "train.txt").read_text() == \
        "".join(n + "\n" for n in names)
    assert not list(job.out_dir.rglob(".*.part"))


def test_velodyne_is_the_measured_cloud(kitti):
    job, frames = kitti
    lidar = kitti_rig(job.calibration).lidar
    for frame in frames:
        raw = (job.out_dir / "training" / "velodyne" / f"{frame.index:06d}.bin").read_bytes()
        m = frame.measurements[lidar.name]
        assert len(raw) == 16 * len(m.data["points"]) > 0
        scan = np.frombuffer(raw, "<f4").reshape(-1, 4)
        np.testing.assert_array_equal(scan[:, :3], m.data["points"])
        np.testing.assert_array_equal(scan[:, 3], m.data["intensity"])


def test_labels_have_15_fields(kitti):
    job, frames = kitti
    n_lines = 0
    for p in sorted((job.out_dir / "training" / "label_2").iterdir()):
        text = p.read_text()
        assert text == "" or text.endswith("\n")
        for line in text.splitlines():
            assert LABEL_LINE.match(line), repr(line)
            fields = line.split(" ")
            assert fields[0] in {"Car", "Van", "Truck", "Pedestrian", "Cyclist", "Misc",
                                 "DontCare"}
            assert fields[2] in {"0", "1", "2", "3"}
            n_lines += 1
    assert n_lines > 0


def test_labels_are_the_camera_gt(kitti):
    """Every labelled GT box appears with its values, 3D ones in the level rectified
    frame; unlabelled classes are left out."""
    job, frames = kitti
    rig = kitti_rig(job.calibration)
    rect = rig.rect_from_cam
    frame = frames[0]
    lines = (job.out_dir / "training" / "label_2" / "000000.txt").read_text().splitlines()
    by_id = {o.instance_id: o for o in frame.labelled_objects()}
    boxes = [b for b in frame.measurements[rig.camera.name].gt["boxes"]
             if b["instance_id"] in by_id and label_of(by_id[b["instance_id"]], "kitti")]
    assert len(lines) == len(boxes) > 0
    ego_from_rect = rig.camera.ego_from_optical[:3, :3] @ rect.T
    for line, box in zip(lines, boxes):
        f = line.split(" ")
        np.testing.assert_allclose([float(v) for v in f[4:8]], np.clip(
            box["box_2d_projected"], 0, [319, 239, 319, 239]), atol=0.005)
        np.testing.assert_allclose([float(v) for v in f[8:11]],
                                   np.asarray(box["size_lwh"])[[2, 1, 0]], atol=5e-5)
        np.testing.assert_allclose([float(v) for v in f[11:14]],
                                   rect @ box["bottom_center_cam"], atol=5e-5)
        assert int(f[2]) == occlusion_level(box["occlusion"])
        # The heading (cos ry, 0, -sin ry) in the rectified frame is the object's in the
        # ego frame (a level ego: yaw_world minus the ego's yaw, here 0).
        ry, alpha = float(f[14]), float(f[3])
        heading = ego_from_rect @ [np.cos(ry), 0.0, -np.sin(ry)]
        yaw_ego = box["yaw_world"] - np.arctan2(frame.ego_pose.rotation[1, 0],
                                                frame.ego_pose.rotation[0, 0])
        np.testing.assert_allclose(heading, [np.cos(yaw_ego), np.sin(yaw_ego), 0.0],
                                   atol=1e-4)
        x, _, z = (float(v) for v in f[11:14])
        assert abs(wrap_angle(alpha - (ry - np.arctan2(x, z)))) < 2e-4
        assert -np.pi <= ry < np.pi and -np.pi <= alpha < np.pi


def test_occlusion_levels():
    assert [occlusion_level(x) for x in (0.0, 0.049, 0.05, 0.49, 0.5, 1.0)] == \
        [0, 0, 1, 1, 2, 2]


def test_same_input_same_bytes(small_job, kitti, tmp_path):
    job, frames, world = small_job
    again = export("kitti", job, frames, world, tmp_path / "again")
    assert _files(again.out_dir) == _files(kitti[0].out_dir)


# --------------------------------------------------------------------------- calib
@pytest.mark.parametrize("rpy_deg", [(0, 1, 15), (0, 3, 0), (0.3, -2, 37), (2, -7, 123),
                                     (-1, 0.5, -95)])
def test_float32_safe_rotation(rpy_deg):
    rot = rpy_to_matrix(*np.radians(rpy_deg))
    safe = float32_safe_rotation(rot)
    assert safe.dtype == np.float32 and is_float32_orthogonal(safe)
    np.testing.assert_allclose(safe, rot, atol=1e-6)


def test_calib_lines(kitti):
    job, _ = kitti
    rig = kitti_rig(job.calibration)
    lines = (job.out_dir / "training" / "calib" / "000000.txt").read_text().splitlines()
    keys = [ln.split(":")[0] for ln in lines]
    assert keys == ["P0", "P1", "P2", "P3", "R0_rect", "Tr_velo_to_cam", "Tr_imu_to_velo"]
    values = {ln.split(": ")[0]: np.array(ln.split(" ")[1:], np.float64) for ln in lines}
    r0 = values["R0_rect"].reshape(3, 3)
    # Written as the float32 values P2 is computed from (exact when parsed as float32).
    np.testing.assert_array_equal(r0.astype(np.float32), rig.rect_from_cam)
    assert is_float32_orthogonal(r0.astype(np.float32))
    for key in ("P0", "P1", "P2", "P3"):
        np.testing.assert_allclose(values[key].reshape(3, 4), rig.rect_projection)
    np.testing.assert_allclose(rig.rect_projection[:, :3] @ rig.rect_from_cam, rig.intrinsics,
                               atol=1e-4)
    np.testing.assert_allclose(values["Tr_velo_to_cam"].reshape(3, 4), rig.cam_from_velo[:3],
                               atol=1e-6)
    np.testing.assert_allclose(values["Tr_imu_to_velo"].reshape(3, 4), rig.velo_from_imu[:3],
                               atol=1e-6)


@pytest.mark.parametrize("rpy_deg", [(0, 0, 0), (0, 3, 0), (0, 1, 15), (2, -7, 123)])
def test_level_rectified_frame(rpy_deg):
    """R0_rect turns the optical frame into the level one: y along the ego's down axis, z
    the optical axis's heading; a level camera's R0_rect is exactly the identity."""
    ego_from_optical = np.eye(4)
    ego_from_optical[:3, :3] = rpy_to_matrix(*np.radians(rpy_deg)) @ R_SENSOR_FROM_OPTICAL
    rect_from_cam = level_rect_from_cam(ego_from_optical)
    ego_from_rect = ego_from_optical[:3, :3] @ rect_from_cam.T
    np.testing.assert_allclose(ego_from_rect @ np.linalg.inv(ego_from_rect), np.eye(3),
                               atol=1e-12)
    assert np.linalg.det(ego_from_rect) == pytest.approx(1.0)
    np.testing.assert_allclose(ego_from_rect[:, 1], [0.0, 0.0, -1.0], atol=1e-12)
    yaw = np.radians(rpy_deg[2])
    np.testing.assert_allclose(ego_from_rect[:, 2], [np.cos(yaw), np.sin(yaw), 0.0],
                               atol=1e-12)
    safe = float32_safe_rotation(rect_from_cam)
    assert is_float32_orthogonal(safe)
    if rpy_deg[:2] == (0, 0):
        np.testing.assert_array_equal(safe, np.eye(3))


def test_camera_looking_down_is_refused():
    ego_from_optical = np.eye(4)
    ego_from_optical[:3, :3] = rpy_to_matrix(0.0, np.pi / 2, 0.0) @ R_SENSOR_FROM_OPTICAL
    with pytest.raises(ExportError, match="straight up or down"):
        level_rect_from_cam(ego_from_optical)


# --------------------------------------------------------------------------- KittiDB
KITTIDB_SCRIPT = r"""
import json, sys
import numpy as np
from pyquaternion import Quaternion
from nuscenes.utils.kitti import KittiDB
from nuscenes.utils.geometry_utils import view_points

root, width, height = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
db = KittiDB(root=root, splits=("training",))
# The same KittiDB, but keeping Misc boxes (get_boxes drops them): every label's 3D box
# through KittiDB's own transforms.
every = KittiDB(root=root, splits=("training",))
def keep_misc(line):
    parsed = KittiDB.parse_label_line(line)
    if parsed["name"] == "Misc":
        parsed["name"] = "Misc-kept"
    return parsed
every.parse_label_line = keep_misc
out = {"tokens": db.tokens, "frames": {}}
for token in db.tokens:
    tf = KittiDB.get_transforms(token, root=root)
    # What get_boxes / render_sample_data do with the calib (orthogonality checks).
    velo_to_cam = Quaternion(matrix=tf["velo_to_cam"]["R"])
    r0_rect = Quaternion(matrix=tf["r0_rect"])
    boxes = db.get_boxes(token)
    boxes_2d, names = db.get_boxes_2d(token)
    labels = [KittiDB.parse_label_line(ln) for ln in
              open(KittiDB.get_filepath(token, "label_2", root=root)).read().splitlines()]
    labels = [lb for lb in labels if lb["name"] not in ("DontCare", "Misc")]
    pc = KittiDB.get_pointcloud(token, root=root)
    projected, kitti_projected = [], []
    for box in boxes:
        # The devkit's own label -> image path (export_kitti.py): back into the rectified
        # camera frame with the bottom-centre convention, then project with P2.
        in_kitti = KittiDB.box_nuscenes_to_kitti(box, velo_to_cam, tf["velo_to_cam"]["T"],
                                                 r0_rect)
        got = KittiDB.project_kitti_box_to_image(in_kitti, tf["p_left"], (width, height))
        kitti_projected.append(None if got is None else list(map(float, got)))
        # Back into the rectified camera frame as render_sample_data does, then project.
        box.rotate(db.kitti_to_nu_lidar_inv)
        box.rotate(velo_to_cam)
        box.translate(tf["velo_to_cam"]["T"])
        box.rotate(r0_rect)
        corners = view_points(box.corners(), tf["p_left"], normalize=True)[:2]
        projected.append([float(corners[0].min()), float(corners[1].min()),
                          float(corners[0].max()), float(corners[1].max())])
    lidar_boxes = [{"name": b.name, "center": b.center.astype(float).tolist(),
                    "wlh": b.wlh.astype(float).tolist(),
                    "rotation": b.rotation_matrix.astype(float).tolist()}
                   for b in every.get_boxes(token)]
    out["frames"][token] = {
        "names": names, "boxes_2d": [list(map(float, b)) for b in boxes_2d],
        "truncation": [lb["truncation"] for lb in labels],
        "occlusion": [lb["occlusion"] for lb in labels],
        "centers_cam": [list(map(float, lb["xyz_camera"])) for lb in labels],
        "projected": projected, "kitti_projected": kitti_projected,
        "lidar_boxes": lidar_boxes, "n_points": int(pc.points.shape[1]),
        "p_left": tf["p_left"].astype(float).tolist(),
        "r0_rect": tf["r0_rect"].astype(float).tolist(),
        "velo_to_cam_R": tf["velo_to_cam"]["R"].astype(float).tolist(),
        "velo_to_cam_T": tf["velo_to_cam"]["T"].astype(float).tolist(),
    }
print(json.dumps(out))
"""
# KittiDB's nuScenes lidar frame: the KITTI velodyne frame turned by +90 deg about z.
NU_FROM_VELO = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])


def kittidb(job) -> dict:
    """What KittiDB reads from the export in ``job.out_dir`` (``KITTIDB_SCRIPT``)."""
    cam = kitti_rig(job.calibration).camera
    return run_devkit(KITTIDB_SCRIPT, str(job.out_dir), str(cam.width), str(cam.height))


def iou(a, b) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - ix * iy
    return ix * iy / union


def check_projections(result: dict, min_iou: float = 0.9) -> list[float]:
    """Unoccluded, untruncated boxes: KittiDB's projected 3D corners vs the label bbox
    (IoU > ``min_iou``), and KittiDB's ``project_kitti_box_to_image`` == the bbox to 1 px;
    returns the IoUs."""
    ious = []
    for frame in result["frames"].values():
        for bbox, proj, kitti_proj, trunc, occ in zip(
                frame["boxes_2d"], frame["projected"], frame["kitti_projected"],
                frame["truncation"], frame["occlusion"]):
            if trunc == 0.0:
                np.testing.assert_allclose(kitti_proj, bbox, atol=1.0)
            if trunc == 0.0 and occ == 0:
                ious.append(iou(bbox, proj))
                assert ious[-1] > min_iou, (bbox, proj)
    assert ious
    return ious


def gt_lidar_boxes(job, frame: Frame) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(centre, wlh, rotation) of every labelled object's GT box (``ObjectState``) in
    KittiDB's nuScenes lidar frame, in label order."""
    rig = kitti_rig(job.calibration)
    velo_from_world = np.linalg.inv(frame.ego_pose.matrix @ rig.ego_from_velo)
    objects = {o.instance_id: o for o in frame.labelled_objects()}
    out = []
    for _, box in labelled_boxes(frame, rig.camera.name, rig.rect_from_cam):
        obj = objects[int(box["instance_id"])]
        c, s = np.cos(obj.yaw), np.sin(obj.yaw)
        rot_world = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        center = NU_FROM_VELO @ (velo_from_world @ np.r_[obj.center, 1.0])[:3]
        rotation = NU_FROM_VELO @ velo_from_world[:3, :3] @ rot_world
        out.append((center, np.asarray(obj.size_lwh)[[1, 0, 2]], rotation))
    return out


def box_errors(job, frames, result: dict) -> dict[str, float]:
    """The largest differences between KittiDB's 3D boxes (``get_boxes``, Misc kept) and
    our GT boxes, both in the nuScenes lidar frame: centre [m], wlh [m], yaw and tilt
    [rad] (tilt: the angle between the boxes' up axes)."""
    err = {"center": 0.0, "wlh": 0.0, "yaw": 0.0, "tilt": 0.0}
    n = 0
    for frame in frames:
        got = result["frames"][f"training_{frame.index:06d}"]["lidar_boxes"]
        want = gt_lidar_boxes(job, frame)
        assert len(got) == len(want)
        for box, (center, wlh, rotation) in zip(got, want):
            rot = np.asarray(box["rotation"])
            yaw = np.arctan2(rot[1, 0], rot[0, 0]) - np.arctan2(rotation[1, 0], rotation[0, 0])
            err["center"] = max(err["center"], float(np.abs(box["center"] - center).max()))
            err["wlh"] = max(err["wlh"], float(np.abs(box["wlh"] - wlh).max()))
            err["yaw"] = max(err["yaw"], abs(float(wrap_angle(yaw))))
            up = min(1.0, float(rot[:, 2] @ rotation[:, 2]))
            err["tilt"] = max(err["tilt"], float(np.arccos(up)))
            n += 1
    assert n > 0
    return err


def check_boxes(job, frames, result: dict) -> dict[str, float]:
    """KittiDB's 3D boxes are our GT boxes: centre to 1e-3 m, wlh to 1e-4 m, yaw (and the
    up axis) to 1e-4 rad."""
    err = box_errors(job, frames, result)
    assert err["center"] < 1e-3 and err["wlh"] < 1e-4, err
    assert err["yaw"] < 1e-4 and err["tilt"] < 1e-4, err
    return err


def check_calib(result: dict, rig) -> None:
    """What KittiDB parsed (float32) is our calibration: R0_rect the level rectification,
    P2 = [K R0_rect^T | 0], Tr_velo_to_cam lidar -> (unrectified) camera; the float32
    rotations pass pyquaternion's orthogonality check (``is_float32_orthogonal``)."""
    for got in result["frames"].values():
        r0 = np.asarray(got["r0_rect"], np.float32)
        assert is_float32_orthogonal(r0)
        assert is_float32_orthogonal(np.asarray(got["velo_to_cam_R"], np.float32))
        np.testing.assert_allclose(r0, rig.rect_from_cam, atol=1e-6)
        np.testing.assert_allclose(got["p_left"], rig.rect_projection, rtol=1e-6, atol=1e-4)
        # P2 R0_rect X_cam = K X_cam: the rectified frame projects onto the real pixels.
        np.testing.assert_allclose(np.asarray(got["p_left"])[:, :3] @ r0, rig.intrinsics,
                                   rtol=1e-6, atol=1e-4)
        np.testing.assert_allclose(got["velo_to_cam_R"], rig.cam_from_velo[:3, :3], atol=1e-6)
        np.testing.assert_allclose(got["velo_to_cam_T"], rig.cam_from_velo[:3, 3], atol=1e-6)


def test_kittidb_loads_our_output(kitti):
    """The default rig (camera pitched 3 deg): KittiDB reads every file, its boxes are
    our GT boxes and project onto the labels' bboxes."""
    job, frames = kitti
    rig = kitti_rig(job.calibration)
    result = kittidb(job)
    assert result["tokens"] == [f"training_{i:06d}" for i in range(len(frames))]
    for frame in frames:
        got = result["frames"][f"training_{frame.index:06d}"]
        labels = (job.out_dir / "training" / "label_2" / f"{frame.index:06d}.txt") \
            .read_text().splitlines()
        ours = [ln.split(" ") for ln in labels if ln.split(" ")[0] not in ("Misc",)]
        assert got["names"] == [f[0] for f in ours]
        np.testing.assert_allclose(got["boxes_2d"], [[float(v) for v in f[4:8]] for f in ours])
        np.testing.assert_allclose(got["centers_cam"],
                                   [[float(v) for v in f[11:14]] for f in ours], atol=1e-6)
        assert got["n_points"] == len(frame.measurements[rig.lidar.name].data["points"])
    assert sum(len(f["names"]) for f in result["frames"].values()) > 0
    check_calib(result, rig)
    check_projections(result)
    check_boxes(job, frames, result)


def test_projected_boxes_fall_on_labels(tmp_path):
    """A level, zoomed (45 deg) view of the same scene: near objects, many pixels each."""
    job, frames = captured(tmp_path / "zoom", 2, fov_deg=45, mount=LEVEL_MOUNT)
    result = kittidb(job)
    check_calib(result, kitti_rig(job.calibration))
    check_projections(result)
    check_boxes(job, frames, result)


def test_realistic_mount_passes_kittidb(tmp_path):
    """Yaw 15 deg, pitch 1 deg: the rotations survive KittiDB's float32 orthogonality
    check, its boxes are our GT boxes and project onto the labels' bboxes."""
    job, frames = captured(tmp_path / "mount", 2, mount=REALISTIC_MOUNT)
    rig = kitti_rig(job.calibration)
    assert not is_float32_orthogonal(rig.cam_from_velo[:3, :3].astype(np.float32))
    result = kittidb(job)
    check_calib(result, rig)
    check_projections(result)
    check_boxes(job, frames, result)


def test_episodes_are_numbered_one_after_the_other(small_job, tmp_path):
    job, frames, world = small_job
    two = plan_job(job.scenario, tmp_path, n_frames=len(frames), episodes=2, seed=7)
    for episode in two.episodes:  # the same frames stand in for episode 1's
        exp = FORMATS["kitti"](two)
        exp.open(episode, world)
        for frame in frames:
            exp.write(frame)
        exp.close()
    FORMATS["kitti"].finalize(two)
    names = [f"{i:06d}" for i in range(2 * len(frames))]
    assert sorted(p.stem for p in (tmp_path / "training" / "label_2").iterdir()) == names
    assert (tmp_path / "ImageSets" / "train.txt").read_text().split() == names
