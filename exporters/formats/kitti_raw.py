"""KITTI raw format (``--format kitti-raw``): one synced drive per episode, as pykitti reads.

::

    DIR/DATE/calib_cam_to_cam.txt      cameras 00 - 03 (all the first camera, see kitti_calib)
    DIR/DATE/calib_velo_to_cam.txt     R, T: velodyne -> camera
    DIR/DATE/calib_imu_to_velo.txt     R, T: IMU -> velodyne
    DIR/DATE/DATE_drive_NNNN_sync/
        image_02/data/KKKKKKKKKK.png   + image_02/timestamps.txt
        velodyne_points/data/KKKKKKKKKK.bin  + timestamps.txt, timestamps_start.txt,
                                             timestamps_end.txt
        oxts/data/KKKKKKKKKK.txt       + oxts/timestamps.txt, oxts/dataformat.txt

``DATE`` (``YYYY_MM_DD``) is the UTC day of the episode's start (``EpisodeInfo.start_us``),
``NNNN`` the episode index + 1, ``KKKKKKKKKK`` the frame index in the episode. Timestamps
are UTC ``YYYY-MM-DD HH:MM:SS.fffffffff`` (9-digit fraction, one line per frame):
image_02 the camera's capture time; velodyne_points the sweep's start, end and, in
``timestamps.txt``, its middle (when the head faces forward, ``sensors.lidar_presets``);
oxts the frame time. The velodyne scans are the object format's (``velodyne_bytes``). The
calib files are written once per DATE by ``finalize`` (every drive of a day shares the rig).

OXTS packet (``oxts_values``; 30 values, one line). The "IMU" is the first IMU's frame at
the frame time (the ego body frame without an IMU); its pose is the exact ego pose composed
with the mount:

- lat lon alt: the IMU's true position plus the latest GNSS fix's error (``gt
  error_enu_m``), i.e. the fix carried from the antenna to the IMU by the lever arm; with no
  fix yet (or no GNSS) the true position (and posmode 0).
- roll pitch yaw [rad]: true attitude of the IMU in the world ENU frame, ``R = Rz(yaw)
  Ry(pitch) Rx(roll)`` (yaw 0 = east, counter-clockwise; pitch positive = front down).
- vn ve vf vl vu [m/s]: true velocity of the IMU (north, east; forward, left in the
  yaw-only level frame; up).
- ax ay az [m/s^2], wx wy wz [rad/s]: the IMU's measured specific force (gravity
  included: +9.8 on z when level at rest) and angular rate in the IMU frame; af al au,
  wf wl wu: the same rotated into the level frame (true roll / pitch). Without an IMU: the
  exact values.
- pos_accuracy [m]: hdop x the GNSS pseudorange std (0 without noise or fix);
  vel_accuracy 0 (velocities are exact); navstat 4; numsats: satellites used in the fix;
  posmode = velmode: 3 (single point) with a fix, else 0; orimode 0.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from exporters.base import EpisodeInfo, Exporter, JobInfo, register
from exporters.files import write_bytes, write_png, write_text
from exporters.formats.kitti import velodyne_bytes
from exporters.formats.kitti_calib import (
    KittiRig,
    calib_time_text,
    date_of_us,
    first_of,
    kitti_rig,
    raw_cam_to_cam_text,
    raw_rigid_text,
)
from exporters.frame import Frame, SensorCalib
from sensors.gnss import enu_to_geodetic
from simulator.constants import GRAVITY_MPS2
from simulator.pose import Pose, rot_z

OXTS_FIELDS = (
    ("lat", "latitude of the oxts-unit (deg)"),
    ("lon", "longitude of the oxts-unit (deg)"),
    ("alt", "altitude of the oxts-unit (m)"),
    ("roll", "roll angle (rad),  0 = level, positive = left side up (-pi..pi)"),
    ("pitch", "pitch angle (rad), 0 = level, positive = front down (-pi/2..pi/2)"),
    ("yaw", "heading (rad),     0 = east,  positive = counter clockwise (-pi..pi)"),
    ("vn", "velocity towards north (m/s)"),
    ("ve", "velocity towards east (m/s)"),
    ("vf", "forward velocity, i.e. parallel to earth-surface (m/s)"),
    ("vl", "leftward velocity, i.e. parallel to earth-surface (m/s)"),
    ("vu", "upward velocity, i.e. perpendicular to earth-surface (m/s)"),
    ("ax", "acceleration in x, i.e. in direction of vehicle front (m/s^2)"),
    ("ay", "acceleration in y, i.e. in direction of vehicle left (m/s^2)"),
    ("az", "acceleration in z, i.e. in direction of vehicle top (m/s^2)"),
    ("af", "forward acceleration (m/s^2)"),
    ("al", "leftward acceleration (m/s^2)"),
    ("au", "upward acceleration (m/s^2)"),
    ("wx", "angular rate around x (rad/s)"),
    ("wy", "angular rate around y (rad/s)"),
    ("wz", "angular rate around z (rad/s)"),
    ("wf", "angular rate around forward axis (rad/s)"),
    ("wl", "angular rate around leftward axis (rad/s)"),
    ("wu", "angular rate around upward axis (rad/s)"),
    ("pos_accuracy", "position accuracy (north/east in m)"),
    ("vel_accuracy", "velocity accuracy (north/east in m/s)"),
    ("navstat", "navigation status (4 = locked)"),
    ("numsats", "number of satellites used by the GNSS fix"),
    ("posmode", "position mode of primary GPS receiver (0 = none, 3 = single point)"),
    ("velmode", "velocity mode of primary GPS receiver (as posmode)"),
    ("orimode", "orientation mode of primary GPS receiver (0 = none)"),
)
NAVSTAT_LOCKED = 4
GPS_MODE_NONE = 0
GPS_MODE_SINGLE_POINT = 3
_GRAVITY_ENU = np.array([0.0, 0.0, -GRAVITY_MPS2])


# --------------------------------------------------------------------------- names, times
def date_folder(episode: EpisodeInfo) -> str:
    """``YYYY_MM_DD``: the UTC day the episode starts."""
    return date_of_us(episode.start_us).strftime("%Y_%m_%d")


def drive_folder(episode: EpisodeInfo) -> str:
    """``DATE_drive_NNNN_sync`` with NNNN = episode index + 1."""
    return f"{date_folder(episode)}_drive_{episode.index + 1:04d}_sync"


def timestamp_text(timestamp_us: int) -> str:
    """``YYYY-MM-DD HH:MM:SS.fffffffff`` (UTC, 9-digit fraction)."""
    t = date_of_us(timestamp_us)
    return f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond * 1000:09d}"


# --------------------------------------------------------------------------- oxts
def euler_zyx(rotation: np.ndarray) -> tuple[float, float, float]:
    """(roll, pitch, yaw) [rad] of ``R = Rz(yaw) Ry(pitch) Rx(roll)``."""
    r = np.asarray(rotation, np.float64)
    pitch = -math.asin(max(-1.0, min(1.0, float(r[2, 0]))))
    return math.atan2(r[2, 1], r[2, 2]), pitch, math.atan2(r[1, 0], r[0, 0])


def _imu_pose(frame: Frame, imu: SensorCalib | None) -> Pose:
    if imu is None:
        return frame.ego_pose
    m = np.asarray(imu.ego_from_sensor)
    return frame.ego_pose.compose(m[:3, 3], m[:3, :3])


def _fix_of(gnss: Any) -> tuple[np.ndarray, int, float] | None:
    """(error_enu_m, satellites, hdop) of a GNSS measurement with a fix, else None."""
    if gnss is None or int(gnss.data["fix_quality"]) == 0:
        return None
    error = np.asarray(gnss.gt["error_enu_m"], np.float64)
    if not np.all(np.isfinite(error)):
        return None
    return error, int(gnss.data["num_satellites"]), float(gnss.data["hdop"])


def oxts_values(frame: Frame, geo_origin: Any, imu: SensorCalib | None, imu_meas: Any,
                gnss: SensorCalib | None, gnss_meas: Any) -> list[float | int]:
    """The 30 OXTS values of a frame (see the module docstring for their sources).

    ``imu_meas`` / ``gnss_meas``: the latest measurement of the first IMU / GNSS at or
    before the frame (None: no such sensor or none yet)."""
    pose = _imu_pose(frame, imu)
    rot = np.asarray(pose.rotation, np.float64)
    roll, pitch, yaw = euler_zyx(rot)
    level = rot_z(yaw)  # world-from-level (forward, left, up)
    fix = _fix_of(gnss_meas)
    position = np.asarray(pose.position, np.float64) + (fix[0] if fix else 0.0)
    lat, lon, alt = enu_to_geodetic(position, geo_origin)

    velocity = np.asarray(pose.velocity, np.float64)
    v_level = level.T @ velocity
    if imu_meas is not None:
        accel = np.asarray(imu_meas.data["accel_mps2"], np.float64)
        gyro = np.asarray(imu_meas.data["gyro_radps"], np.float64)
    else:
        accel = rot.T @ (np.asarray(pose.acceleration, np.float64) - _GRAVITY_ENU)
        gyro = rot.T @ np.asarray(pose.angular_velocity, np.float64)
    level_from_imu = level.T @ rot
    a_level, w_level = level_from_imu @ accel, level_from_imu @ gyro

    std_m = 0.0
    noise = getattr(gnss.config, "noise", None) if gnss is not None else None
    if fix is not None and noise is not None and noise.enabled:
        std_m = fix[2] * float(noise.pseudorange_std_m)
    mode = GPS_MODE_SINGLE_POINT if fix else GPS_MODE_NONE
    return [lat, lon, alt, roll, pitch, yaw,
            float(velocity[1]), float(velocity[0]), float(v_level[0]), float(v_level[1]),
            float(velocity[2]), *map(float, accel), *map(float, a_level),
            *map(float, gyro), *map(float, w_level), std_m, 0.0,
            NAVSTAT_LOCKED, fix[1] if fix else 0, mode, mode, GPS_MODE_NONE]


def oxts_text(values: list[float | int]) -> str:
    """One line, single spaces: floats as their shortest round-trip text, flags as ints."""
    return " ".join(str(v) if isinstance(v, int) else repr(float(v) + 0.0)
                    for v in values) + "\n"


def dataformat_text() -> str:
    return "".join(f"{name}:   {meaning}\n" for name, meaning in OXTS_FIELDS)


# --------------------------------------------------------------------------- exporter
@register
class KittiRawExporter(Exporter):
    """Writes one episode as ``DATE/DATE_drive_NNNN_sync``."""

    format_name = "kitti-raw"

    def __init__(self, job: JobInfo):
        super().__init__(job)
        self.rig: KittiRig = kitti_rig(job.calibration)
        self.gnss = first_of(job.calibration, "gnss")

    def open(self, episode: EpisodeInfo, world: Any) -> None:
        super().open(episode, world)
        self.geo_origin = world.geo_origin
        self.drive_dir: Path = self.job.out_dir / date_folder(episode) / drive_folder(episode)
        self.times_us: dict[str, list[int]] = {k: [] for k in (
            "image", "velo", "velo_start", "velo_end", "oxts")}
        self.last: dict[str, Any] = {}  # latest measurement of the GNSS and the IMU

    def write(self, frame: Frame) -> None:
        assert self.episode is not None, "open() the episode first"
        ep, name = self.episode, f"{frame.index:010d}"
        camera = frame.measurements[self.rig.camera.name]
        write_png(self.drive_dir / "image_02" / "data" / f"{name}.png", camera.data["rgb"])
        self.times_us["image"].append(ep.timestamp_us(camera.time_s))
        if self.rig.lidar is not None:
            scan = frame.measurements[self.rig.lidar.name]
            write_bytes(self.drive_dir / "velodyne_points" / "data" / f"{name}.bin",
                        velodyne_bytes(scan))
            start_s = float(scan.data["sweep_start_time_s"])
            self.times_us["velo_start"].append(ep.timestamp_us(start_s))
            self.times_us["velo_end"].append(ep.timestamp_us(scan.time_s))
            self.times_us["velo"].append(ep.timestamp_us(0.5 * (start_s + scan.time_s)))
        for sensor in (self.gnss, self.rig.imu):
            if sensor is not None and sensor.name in frame.measurements:
                self.last[sensor.name] = frame.measurements[sensor.name]
        values = oxts_values(
            frame, self.geo_origin, self.rig.imu,
            self.last.get(self.rig.imu.name) if self.rig.imu else None,
            self.gnss, self.last.get(self.gnss.name) if self.gnss else None)
        write_text(self.drive_dir / "oxts" / "data" / f"{name}.txt", oxts_text(values))
        self.times_us["oxts"].append(ep.timestamp_us(frame.time_s))

    def close(self) -> None:
        files = {"image": "image_02/timestamps.txt",
                 "velo": "velodyne_points/timestamps.txt",
                 "velo_start": "velodyne_points/timestamps_start.txt",
                 "velo_end": "velodyne_points/timestamps_end.txt",
                 "oxts": "oxts/timestamps.txt"}
        for key, rel in files.items():
            if self.times_us[key]:
                write_text(self.drive_dir / rel,
                           "".join(timestamp_text(t) + "\n" for t in self.times_us[key]))
        write_text(self.drive_dir / "oxts" / "dataformat.txt", dataformat_text())

    @classmethod
    def finalize(cls, job: JobInfo) -> None:
        """The calib files of every DATE folder of the job."""
        rig = kitti_rig(job.calibration)
        for folder in sorted({date_folder(e) for e in job.episodes}):
            day = date_of_us(next(e.start_us for e in job.episodes
                                  if date_folder(e) == folder)).replace(
                hour=0, minute=0, second=0, microsecond=0)
            when = calib_time_text(day)
            write_text(job.out_dir / folder / "calib_cam_to_cam.txt",
                       raw_cam_to_cam_text(rig, when))
            write_text(job.out_dir / folder / "calib_velo_to_cam.txt",
                       raw_rigid_text(rig.cam_from_velo, when, velo_to_cam=True))
            write_text(job.out_dir / folder / "calib_imu_to_velo.txt",
                       raw_rigid_text(rig.velo_from_imu, when))
