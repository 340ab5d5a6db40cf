"""KITTI raw export, loaded with pykitti."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pykitti
import pymap3d
import pytest

from exporters.base import FORMATS
from exporters.formats.kitti_calib import first_of, kitti_rig
from exporters.formats.kitti_raw import date_folder, drive_folder, euler_zyx, timestamp_text
from exporters.frame import Frame
from exporters.job import plan_job
from tests.exporters.conftest import export_frames

TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9}$")


def export(job, frames, world, out_dir: Path):
    """Write one episode with ``kitti-raw`` into ``out_dir`` as the job runner does."""
    return export_frames("kitti-raw", job, frames, world, out_dir)


@pytest.fixture(scope="module")
def raw(small_job, tmp_path_factory):
    job, frames, world = small_job
    job = export(job, frames, world, tmp_path_factory.mktemp("kitti_raw"))
    episode = job.episodes[0]
    date = date_folder(episode)
    drive = drive_folder(episode)[len(date) + len("_drive_"):][:4]
    return job, frames, world, pykitti.raw(str(job.out_dir), date, drive)


def _drive(job) -> Path:
    episode = job.episodes[0]
    return job.out_dir / date_folder(episode) / drive_folder(episode)


def test_names():
    from exporters.base import EpisodeInfo

    ep = EpisodeInfo(index=2, seed=9, n_frames=3, frame_hz=10.0, first_frame=6)
    assert date_folder(ep) == "2026_01_01"
    assert drive_folder(ep) == "2026_01_01_drive_0003_sync"
    assert timestamp_text(ep.timestamp_us(0.25)) == "2026-01-01 14:00:00.250000000"


def test_pykitti_frames_and_timestamps(raw):
    job, frames, _, data = raw
    ep = job.episodes[0]
    assert len(data) == len(frames) == 4
    expected = [datetime.fromtimestamp(ep.timestamp_us(f.time_s) / 1e6, tz=timezone.utc)
                .replace(tzinfo=None) for f in frames]
    assert data.timestamps == expected
    for rel in ("image_02", "velodyne_points", "oxts"):
        lines = (_drive(job) / rel / "timestamps.txt").read_text().splitlines()
        assert len(lines) == len(frames) and all(TIMESTAMP.match(ln) for ln in lines), rel


def test_pykitti_image_and_velodyne(raw):
    job, frames, _, data = raw
    rig = kitti_rig(job.calibration)
    for i, frame in enumerate(frames):
        np.testing.assert_array_equal(np.asarray(data.get_cam2(i)),
                                      frame.measurements[rig.camera.name].data["rgb"])
        scan = data.get_velo(i)
        m = frame.measurements[rig.lidar.name]
        assert scan.shape == (len(m.data["points"]), 4) and scan.dtype == np.float32
        np.testing.assert_array_equal(scan[:, :3], m.data["points"])
        np.testing.assert_array_equal(scan[:, 3], m.data["intensity"])


def _gnss(frame: Frame, job):
    return frame.measurements[first_of(job.calibration, "gnss").name]


def test_pykitti_oxts_follow_the_gnss_fix(raw):
    """lat/lon/alt: the GNSS fix carried from the antenna to the IMU by the lever arm."""
    job, frames, world, data = raw
    origin = world.geo_origin
    imu = first_of(job.calibration, "imu")
    for frame, oxts in zip(frames, data.oxts):
        p = oxts.packet
        gnss = _gnss(frame, job)
        assert gnss.data["fix_quality"] == 1 and p.posmode == 3
        assert p.numsats == gnss.data["num_satellites"]
        fix = pymap3d.geodetic2enu(gnss.data["lat_deg"], gnss.data["lon_deg"],
                                   gnss.data["alt_m"], origin.lat_deg, origin.lon_deg,
                                   origin.alt_m)
        ours = pymap3d.geodetic2enu(p.lat, p.lon, p.alt, origin.lat_deg, origin.lon_deg,
                                    origin.alt_m)
        imu_pos = frame.ego_pose.transform_points(imu.ego_from_sensor[None, :3, 3])[0]
        lever = imu_pos - gnss.gt["position_enu_m"]
        np.testing.assert_allclose(np.subtract(ours, fix), lever, atol=1e-6)
        assert abs(p.lat - gnss.data["lat_deg"]) < 1e-4 and abs(p.lon - gnss.data["lon_deg"]) < 1e-4


def test_pykitti_oxts_motion(raw):
    job, frames, _, data = raw
    imu = first_of(job.calibration, "imu")
    for frame, oxts in zip(frames, data.oxts):
        p = oxts.packet
        pose = frame.ego_pose.compose(imu.ego_from_sensor[:3, 3], imu.ego_from_sensor[:3, :3])
        np.testing.assert_allclose((p.roll, p.pitch, p.yaw), euler_zyx(pose.rotation),
                                   atol=1e-12)
        np.testing.assert_allclose(oxts.T_w_imu[:3, :3], pose.rotation, atol=1e-9)
        np.testing.assert_allclose((p.ve, p.vn, p.vu), pose.velocity, atol=1e-12)
        assert np.hypot(p.vf, p.vl) == pytest.approx(np.hypot(p.ve, p.vn))
        meas = frame.measurements[imu.name]
        np.testing.assert_allclose((p.ax, p.ay, p.az), meas.data["accel_mps2"])
        np.testing.assert_allclose((p.wx, p.wy, p.wz), meas.data["gyro_radps"])
        assert p.au == pytest.approx(9.8, abs=0.5)  # specific force, gravity included
    for f in sorted((_drive(job) / "oxts" / "data").iterdir()):
        assert len(f.read_text().split()) == 30


def test_pykitti_calib_maps_lidar_to_camera(raw):
    job, frames, _, data = raw
    rig = kitti_rig(job.calibration)
    cal = data.calib
    np.testing.assert_allclose(cal.K_cam2, rig.intrinsics)
    np.testing.assert_allclose(cal.T_cam2_velo, rig.cam_from_velo, atol=1e-12)
    np.testing.assert_allclose(cal.T_velo_imu, rig.velo_from_imu, atol=1e-12)
    # A lidar point lands where our calibration (ego_from_optical, K) puts it.
    point_velo = np.array([12.0, -1.5, 0.4, 1.0])
    ego = rig.ego_from_velo @ point_velo
    cam = np.linalg.inv(rig.camera.ego_from_optical) @ ego
    np.testing.assert_allclose(cal.T_cam2_velo @ point_velo, cam, atol=1e-9)
    uv = cal.P_rect_20 @ cal.T_cam2_velo @ point_velo
    np.testing.assert_allclose(uv[:2] / uv[2], (rig.intrinsics @ cam[:3])[:2] / cam[2])
    for name in ("calib_cam_to_cam.txt", "calib_velo_to_cam.txt", "calib_imu_to_velo.txt"):
        text = (job.out_dir / date_folder(job.episodes[0]) / name).read_text()
        assert text.endswith("\n") and "" not in text.splitlines(), name


def test_same_input_same_bytes(raw, tmp_path):
    job, frames, world, _ = raw
    again = export(job, frames, world, tmp_path / "again")

    def files(root: Path) -> dict[str, bytes]:
        return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
                if p.is_file()}

    assert files(again.out_dir) == files(job.out_dir)


def test_one_drive_per_episode_and_calib_per_day(small_job, tmp_path):
    """Episodes start an hour apart from 12:00: episode 12 is the next day's drive 13."""
    job, frames, world = small_job
    many = plan_job(job.scenario, tmp_path, n_frames=len(frames), episodes=14, seed=7)
    for episode in (many.episodes[0], many.episodes[12]):
        exp = FORMATS["kitti-raw"](many)
        exp.open(episode, world)
        for frame in frames[:2]:
            exp.write(frame)
        exp.close()
    FORMATS["kitti-raw"].finalize(many)
    for date, drive in (("2026_01_01", "0001"), ("2026_01_02", "0013")):
        data = pykitti.raw(str(tmp_path), date, drive)
        assert len(data) == 2 and data.timestamps[0].day == int(date[-2:])
        np.testing.assert_allclose(data.calib.T_cam2_velo, kitti_rig(job.calibration)
                                   .cam_from_velo, atol=1e-12)
