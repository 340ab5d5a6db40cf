"""Every export format on OpenDRIVE maps (CARLA Town01, flat; esmini curves_elevation, a
road with grades of up to 10 %), and what the third-party readers make of the slope.

The maps are read from ``../shared/data/opendrive`` beside the repository; without them the
module is skipped. The slope scenario puts the ego on a straight-ish 10 % descent of
curves_elevation (lane 1/0/-1 from s = 940 m) with a car 20 m ahead on the same grade and
an oncoming one, and checks with nuscenes-devkit (boxes contain the lidar points of the
cars: the ego poses carry z and the 3D rotation), pykitti (oxts altitude and attitude are
the ego's) and the KITTI object calib (the label boxes project onto the rendered car).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pykitti
import pymap3d
import pytest
from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory

from exporters.formats.kitti import labelled_boxes
from exporters.formats.kitti_calib import kitti_rig
from exporters.formats.kitti_raw import date_folder, drive_folder
from exporters.formats.mcap_format import mcap_path
from exporters.formats.mcap_messages import LANE_LINE_Z_M, lane_surface_z
from exporters.formats.nuscenes_map import MAP_RESOLUTION_M, drivable_mask, global_offset
from exporters.frame import surface_vz
from exporters.job import plan_job, world_for
from exporters.native_reader import load_native
from scenarios import load
from scenarios.schema import Scenario
from sensors.camera_model import CameraModel
from tests.exporters.conftest import export_frames
from tests.exporters.devkit import run_devkit

ROOT = Path(__file__).resolve().parents[2]
OPENDRIVE_DIR = ROOT.parent / "shared" / "data" / "opendrive"
MAPS = {"curves_elevation": OPENDRIVE_DIR / "esmini" / "curves_elevation.xodr",
        "town01": OPENDRIVE_DIR / "carla" / "Town01.xodr"}
FORMATS = ("kitti", "kitti-raw", "nuscenes", "mcap", "native")
EARTH_RADIUS_M = 6_371_000.0

pytestmark = pytest.mark.skipif(
    not all(p.exists() for p in MAPS.values()),
    reason=f"the shared OpenDRIVE maps are absent ({OPENDRIVE_DIR}: "
           f"{', '.join(p.name for p in MAPS.values())})")


def small(name: str, width: int = 320, height: int = 240, **changes) -> Scenario:
    """``scenarios/<name>.yaml`` with a small camera, a VLP-16 and ``changes`` (top-level
    sections, merged one level deep)."""
    data = load(ROOT / "scenarios" / f"{name}.yaml").model_dump(mode="json")
    for s in data["sensors"]:
        if s["type"] == "camera":
            s.update(width=width, height=height)
        elif s["type"] == "lidar":
            s["preset"] = "vlp16"
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key].update(value)
        else:
            data[key] = value
    return Scenario.model_validate(data)


def capture(scenario: Scenario, out: Path, n_frames: int, seed: int, probe=None):
    """``(job, frames, world, probes)``: one episode; ``probe(world)`` after each frame."""
    job = plan_job(scenario, out, n_frames=n_frames, episodes=1, seed=seed)
    with world_for(job) as (world, frames):
        got, probes = [], []
        for f in frames(job.episodes[0]):
            got.append(f)
            probes.append(probe(world) if probe else None)
        yield job, got, world, probes


@pytest.fixture(scope="module", params=list(MAPS))
def opendrive_job(request, tmp_path_factory):
    """5 frames of town01 (12 NPCs) or curves_elevation, small sensors."""
    changes = {"traffic": {"count": 12}} if request.param == "town01" else {}
    yield from capture(small(request.param, **changes),
                       tmp_path_factory.mktemp(request.param), n_frames=5, seed=3)


SLOPE_S_M = 940.0   # lane 1/0/-1: a -10 % grade from here for ~60 m
SLOPE_SPEED_MPS = 12.0


def _ego_surface(world):
    i = int(np.flatnonzero(world.vehicle_ids == world.ego_instance_id)[0])
    return {"z": float(world.vehicle_z_m[i]), "pitch": float(world.vehicle_pitch_rad[i]),
            "roll": float(world.vehicle_roll_rad[i])}


@pytest.fixture(scope="module")
def slope(tmp_path_factory):
    """8 frames of the ego on the 10 % descent, a car 20 m ahead on the same grade and an
    oncoming one; a 480x270 camera; the ego's surface z / pitch / roll at each frame."""
    v = SLOPE_SPEED_MPS
    sc = small("curves_elevation", 480, 270,
               ego={"start": {"lane": "1/0/-1", "s_m": SLOPE_S_M}, "speed_mps": v,
                    "autopilot": {"cruise_speed_mps": v}},
               traffic={"count": 0},
               actors=[{"name": "lead", "start": {"lane": "1/0/-1", "s_m": SLOPE_S_M + 20},
                        "speed_mps": v, "desired_speed_mps": v},
                       {"name": "oncoming", "start": {"lane": "1/0/1", "s_m": 180.0},
                        "speed_mps": v, "desired_speed_mps": v}])
    yield from capture(sc, tmp_path_factory.mktemp("slope"), n_frames=8, seed=4,
                       probe=_ego_surface)


# ------------------------------------------------------------------ every format
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_exports_opendrive_maps(opendrive_job, fmt, tmp_path):
    job, frames, world, _ = opendrive_job
    job = export_frames(fmt, job, frames, world, tmp_path / fmt)
    out = job.out_dir
    if fmt == "kitti":
        assert len(list((out / "training" / "label_2").glob("*.txt"))) == len(frames)
    elif fmt == "kitti-raw":
        ep = job.episodes[0]
        date = date_folder(ep)
        data = pykitti.raw(str(out), date, drive_folder(ep)[len(date) + 7:][:4])
        assert len(data.oxts) == len(frames)
    elif fmt == "nuscenes":
        tables = out / "v1.0-drivesim"
        assert len(json.loads((tables / "sample.json").read_text())) == len(frames)
        (m,) = json.loads((tables / "map.json").read_text())
        assert (out / m["filename"]).exists()
    elif fmt == "mcap":
        assert mcap_path(out, job.episodes[0]).stat().st_size > 0
    else:
        ep = load_native(out).episodes[0]
        assert len(ep.frames) == len(frames)
        assert ep.frames[-1].ego_pose.position[2] == frames[-1].ego_pose.position[2]


def test_nuscenes_mask_holds_the_opendrive_drivable_area(opendrive_job):
    """Lanes and the driving / road strips fill the mask; every strip lies inside it."""
    _, _, world, _ = opendrive_job
    hdmap = world.hdmap
    mask = drivable_mask(hdmap)
    offset = global_offset(hdmap)[:2]
    assert mask.shape == (round(hdmap.ground_size_m / MAP_RESOLUTION_M),) * 2
    for kind, want in (("driving", 255), ("road", 255)):
        strips = [s for s in hdmap.strips if s.kind == kind]
        if not strips:
            continue
        # Each strip's quad centres (mean of its 4 corners) are drivable.
        mids = np.concatenate([(s.left[:-1, :2] + s.left[1:, :2] + s.right[:-1, :2]
                                + s.right[1:, :2]) / 4.0 for s in strips])
        px = (mids + offset) / MAP_RESOLUTION_M
        assert px.min() >= 0 and px.max() < mask.shape[0], kind
        col, row = np.round(px[:, 0]).astype(int), mask.shape[0] - np.round(px[:, 1]).astype(int)
        assert np.mean(mask[row, col] == want) > 0.99, kind


# ------------------------------------------------------------------ the slope: nuScenes
NUSC_SCRIPT = r"""
import json, sys
import numpy as np
from nuscenes.nuscenes import NuScenes
from nuscenes.utils.data_classes import LidarPointCloud
from nuscenes.utils.geometry_utils import points_in_box
from nuscenes.utils.map_mask import MapMask
from pyquaternion import Quaternion

root = sys.argv[1]
nusc = NuScenes(version="v1.0-drivesim", dataroot=root, verbose=False)
boxes, poses = [], []
for s in nusc.sample:
    sd = nusc.get("sample_data", s["data"]["LIDAR_TOP"])
    path, bxs, _ = nusc.get_sample_data(sd["token"])
    pc = LidarPointCloud.from_file(path)
    for b in bxs:
        ann = nusc.get("sample_annotation", b.token)
        name = nusc.get("instance", ann["instance_token"])["token"]
        boxes.append({"instance": name, "center": b.center.tolist(),
                      "devkit_pts": int(points_in_box(b, pc.points[:3]).sum()),
                      "num_lidar_pts": ann["num_lidar_pts"]})
    pose = nusc.get("ego_pose", sd["ego_pose_token"])
    poses.append({"translation": pose["translation"],
                  "rotation": Quaternion(pose["rotation"]).rotation_matrix.tolist()})
mask = MapMask(root + "/" + nusc.map[0]["filename"])
xy = np.array([p["translation"][:2] for p in poses])
on_mask = mask.is_on_mask(xy[:, 0], xy[:, 1]).tolist()
print(json.dumps({"boxes": boxes, "poses": poses, "on_mask": on_mask}))
"""


def test_nuscenes_devkit_boxes_hold_the_cars_points_on_the_slope(slope, tmp_path):
    job, frames, world, _ = slope
    job = export_frames("nuscenes", job, frames, world, tmp_path / "nuscenes")
    res = run_devkit(NUSC_SCRIPT, str(job.out_dir))
    offset = global_offset(world.hdmap)
    assert len(res["poses"]) == len(frames)
    for pose, frame in zip(res["poses"], frames, strict=True):
        # LIDAR_TOP fires at the frame time: its ego pose is the frame's, in 3D.
        np.testing.assert_allclose(pose["translation"], frame.ego_pose.position + offset,
                                   atol=1e-6)
        np.testing.assert_allclose(pose["rotation"], frame.ego_pose.rotation, atol=1e-6)
    pitch = [-math.asin(f.ego_pose.rotation[2, 0]) for f in frames]
    assert min(pitch) > math.radians(4.0)          # nose down on the descent
    assert all(res["on_mask"])
    near = [b for b in res["boxes"] if np.hypot(*b["center"][:2]) < 30.0]
    assert len(near) >= len(frames)                # the lead car at least, every frame
    for b in near:
        assert b["devkit_pts"] == b["num_lidar_pts"] > 20, b
    # Boxes in the LIDAR_TOP frame sit level with the sensor's road: the lead car's centre
    # is ~ its height / 2 - the mount height (1.9 m) below the lidar, not metres off.
    for b in near:
        assert -2.5 < b["center"][2] < 0.0, b


# ------------------------------------------------------------------ the slope: KITTI raw
def test_kitti_raw_oxts_follow_the_road(slope, tmp_path):
    job, frames, world, probes = slope
    job = export_frames("kitti-raw", job, frames, world, tmp_path / "raw")
    ep = job.episodes[0]
    date = date_folder(ep)
    data = pykitti.raw(str(job.out_dir), date, drive_folder(ep)[len(date) + 7:][:4])
    rig = kitti_rig(job.calibration)
    geo = world.geo_origin
    gnss = next(n for n, c in job.calibration.items() if c.sensor_type == "gnss")
    ego_from_imu = np.asarray(rig.imu.ego_from_sensor)
    alts, zs = [], []
    for frame, oxts, probe in zip(frames, data.oxts, probes, strict=True):
        pk = oxts.packet
        imu = frame.ego_pose.compose(ego_from_imu[:3, 3], ego_from_imu[:3, :3])
        err = np.asarray(frame.measurements[gnss].gt["error_enu_m"], np.float64)
        pos = np.asarray(imu.position) + err
        # Altitude: the world origin's plus the height of the (GNSS-perturbed) IMU, less
        # the earth's curvature drop over the horizontal distance (mm at 300 m).
        curvature = float(np.hypot(*pos[:2])) ** 2 / (2.0 * EARTH_RADIUS_M)
        assert abs(pk.alt - (geo.alt_m + pos[2])) <= 0.01 + curvature + 1e-6
        _, _, alt = pymap3d.enu2geodetic(*pos, geo.lat_deg, geo.lon_deg, geo.alt_m)
        assert pk.alt == pytest.approx(alt, abs=1e-6)
        # Attitude: KITTI's pitch is positive front down, as ours; the IMU is unrotated.
        assert pk.pitch == pytest.approx(probe["pitch"], abs=1e-9)
        assert pk.roll == pytest.approx(probe["roll"], abs=1e-9)
        assert pk.pitch > math.radians(4.0)                  # the descent: front down
        assert frame.ego_pose.position[2] == pytest.approx(probe["z"], abs=1e-9)
        # pykitti's pose (R = Rz(yaw) Ry(pitch) Rx(roll)) has the IMU's 3D rotation.
        np.testing.assert_allclose(oxts.T_w_imu[:3, :3], imu.rotation, atol=1e-9)
        alts.append(pk.alt - err[2])
        zs.append(probe["z"])
    # Over the 0.7 s the ego drops ~0.8 m: the altitudes (less the GNSS error) follow.
    assert zs[0] - zs[-1] > 0.5
    np.testing.assert_allclose(np.diff(alts), np.diff(zs), atol=0.002)
    # The oxts "up" velocity is the descent rate (the first frame has no difference yet).
    vu = [o.packet.vu for o in data.oxts][1:]
    assert np.all(np.array(vu) < -0.5)


# ------------------------------------------------------------------ the slope: KITTI object
def _label_box_pixels(fields: list[str], p2: np.ndarray) -> np.ndarray:
    """(8, 2) pixels of a KITTI label's 3D box (h w l, x y z, ry) through ``P2``."""
    h, w, length = map(float, fields[8:11])
    x, y, z, ry = map(float, fields[11:15])
    xs = np.array([1, 1, -1, -1, 1, 1, -1, -1]) * length / 2
    ys = np.array([0, 0, 0, 0, -1, -1, -1, -1]) * h
    zs = np.array([1, -1, -1, 1, 1, -1, -1, 1]) * w / 2
    rot = np.array([[math.cos(ry), 0, math.sin(ry)], [0, 1, 0],
                    [-math.sin(ry), 0, math.cos(ry)]])
    c = rot @ np.vstack([xs, ys, zs]) + np.array([[x], [y], [z]])
    p = p2 @ np.vstack([c, np.ones(8)])
    return (p[:2] / p[2]).T


def test_kitti_labels_project_onto_the_car_on_the_slope(slope, tmp_path):
    job, frames, world, _ = slope
    job = export_frames("kitti", job, frames, world, tmp_path / "kitti")
    rig = kitti_rig(job.calibration)
    cam = rig.camera
    model = CameraModel.from_fov(cam.width, cam.height, cam.config.fov_deg)
    checked = 0
    for frame in frames:
        name = f"{frame.index:06d}"
        calib = dict(ln.split(":", 1) for ln in
                     (job.out_dir / "training" / "calib" / f"{name}.txt").read_text()
                     .splitlines() if ln)
        p2 = np.array(calib["P2"].split(), float).reshape(3, 4)
        lines = (job.out_dir / "training" / "label_2" / f"{name}.txt").read_text().splitlines()
        boxes = labelled_boxes(frame, cam.name, rig.rect_from_cam)
        assert len(lines) == len(boxes)
        lead = next(o for o in frame.objects if o.name == "lead")
        ego = next(o for o in frame.objects if o.is_ego)
        for line, (_, box) in zip(lines, boxes, strict=True):
            if box["name"] != "lead":
                continue
            fields = line.split()
            # The bottom centre: through P2 where the camera's own model puts it.
            x, y, z = map(float, fields[11:14])
            b = p2 @ np.array([x, y, z, 1.0])
            uv, _ = model.project(np.asarray(box["bottom_center_cam"]))
            np.testing.assert_allclose(b[:2] / b[2], uv[0], atol=0.05)
            assert 17.0 < z < 23.0                    # ~20 m ahead
            # The label's 3D box (upright in the ego's level frame, as the car on the
            # ego's grade is) covers the rendered car's pixels to a few px.
            px = _label_box_pixels(fields, p2)
            drawn = np.array([px[:, 0].min(), px[:, 1].min(), px[:, 0].max(),
                              px[:, 1].max()])
            np.testing.assert_allclose(drawn, box["box_2d"], atol=3.0)
            np.testing.assert_allclose(drawn, [float(v) for v in fields[4:8]], atol=6.0)
            checked += 1
        # Same grade: the lead car's box centre is ~20 m x 10 % below the ego's.
        assert 1.0 < ego.center[2] - lead.center[2] < 3.0
    assert checked >= len(frames) - 1


def test_vehicle_velocity_follows_the_road(slope):
    """Object velocities have the vertical part of the grade (finite differences agree)."""
    _, frames, world, _ = slope
    z = np.array([[o.center[2] for o in f.objects if o.name == "lead"][0] for f in frames])
    vz = np.array([[o.velocity[2] for o in f.objects if o.name == "lead"][0] for f in frames])
    dt = frames[1].time_s - frames[0].time_s
    np.testing.assert_allclose((z[2:] - z[:-2]) / (2 * dt), vz[1:-1], atol=0.1)
    assert np.all(vz[1:] < -0.8)
    assert surface_vz([1.0], [0.0], [0.0], [0.1], [0.0])[0] == pytest.approx(-math.tan(0.1))


# ------------------------------------------------------------------ native and MCAP maps
def test_native_round_trips_the_map_strips(slope, tmp_path):
    job, frames, world, _ = slope
    job = export_frames("native", job, frames[:2], world, tmp_path / "native")
    hd = load_native(job.out_dir).episodes[0].hdmap
    strips = world.hdmap.strips
    assert len(hd["strips"]) == len(strips) > 0
    for a, b in zip(strips, hd["strips"], strict=True):
        assert (a.road_id, a.name, a.kind) == (b.road_id, b.name, b.kind)
        np.testing.assert_array_equal(a.left, b.left)
        np.testing.assert_array_equal(a.right, b.right)
        assert b.left.dtype == np.float64 and b.drivable == a.drivable
    np.testing.assert_array_equal(hd["origin"], world.hdmap.origin)
    assert hd["carriageways"] == [] and hd["junctions"] == []
    for a, b in zip(world.hdmap.lanes, hd["lanes"], strict=True):
        np.testing.assert_array_equal(a.z, b.z)


def test_mcap_lane_lines_lie_on_the_road(slope, tmp_path):
    job, frames, world, _ = slope
    job = export_frames("mcap", job, frames[:1], world, tmp_path / "mcap")
    with open(mcap_path(job.out_dir, job.episodes[0]), "rb") as f:
        reader = make_reader(f, decoder_factories=[ProtobufDecoderFactory()])
        ((_, _, _, update),) = list(reader.iter_decoded_messages(topics=["/map/lanes"]))
    lanes = {ln.id: ln for ln in world.hdmap.lanes}
    for entity in update.entities:
        lane = lanes[entity.id]
        for line, z in zip(entity.lines, lane_surface_z(lane), strict=True):
            np.testing.assert_allclose([p.z for p in line.points], z + LANE_LINE_Z_M,
                                       atol=1e-9)
    lane = lanes["1/0/-1"]
    assert np.ptp(lane.z) > 15.0
