"""nuScenes export (``--format nuscenes``), with nuScenes-lidarseg and nuScenes-panoptic.

Layout (``DIR``)::

    samples/CAM_FRONT/episode_0000__CAM_FRONT__<timestamp_us>.jpg    key frames
    samples/LIDAR_TOP/episode_0000__LIDAR_TOP__<timestamp_us>.pcd.bin
    sweeps/<CHANNEL>/...                        captures of faster key sensors between frames
    maps/<hash>.png                             drivable-area mask (``nuscenes_map``)
    lidarseg/v1.0-drivesim/<token>_lidarseg.bin uint8 class index per LIDAR_TOP point
    panoptic/v1.0-drivesim/<token>_panoptic.npz uint16 ``data``: 1000 * class + instance
    v1.0-drivesim/*.json                        the 13 tables, lidarseg.json, panoptic.json,
                                                splits.json (split "all": every scene)

One episode is one scene (``scene-0000``) and one log; every frame is a key-frame sample.
Channels: the first camera is ``CAM_FRONT``, the first lidar ``LIDAR_TOP``, other cameras and
lidars their scenario names upper-cased; GNSS and IMU are not exported. Captures of a key
sensor faster than the frame rate are sweeps (``is_key_frame`` false, in ``sweeps/``, their
``sample_token`` the next key frame's). Lidar files hold float32 ``x y z intensity ring``
per point in the sensor frame at the capture's timestamp: the measured (noisy) points,
motion-compensated to the sweep end with the exact sweep poses; intensity 0-255 (ours 0-1
scaled to nuScenes' range); ring 0 = the lowest beam. Images are JPEG (quality 95). Ego
poses are the ego body's (origin on the ground under the car's centre; nuScenes': the rear
axle), one per sample_data; camera calibrations are of the optical frame, intrinsics from K
(lens distortion, if any, is not representable). The global frame is the world frame
shifted by half the ground size (``nuscenes_map.global_offset``) so that the map mask's
origin is global (0, 0).

Annotations: every object with a nuScenes category (``exporters.frame.label_of``) whose
centre is within ``MAX_LABEL_DISTANCE_M`` of the ego (xy) and that has at least one
LIDAR_TOP point or is seen by a camera. ``num_lidar_pts`` counts the exported LIDAR_TOP
points in the box (as the devkit's ``points_in_box``); ``num_radar_pts`` is 0. Visibility:
the largest visible fraction (1 - occlusion) * (1 - truncation) over the cameras, in
nuScenes' 4 bins (objects no camera sees: bin 1, 0-40 %). Attributes
(``nuscenes_tables.attribute_of``): bicycles and motorcycles ``cycle.with_rider``, parked
cars (props) ``vehicle.parked``, other vehicles ``vehicle.moving`` (>= 0.5 m/s) or
``vehicle.stopped``, pedestrians ``pedestrian.moving`` or ``pedestrian.standing``; other
categories get none.
Instances follow an object (world instance id) through its scene's annotations.

Episodes write their files and a fragment of the tables (``DIR/.drivesim/nuscenes/``);
``finalize`` merges the fragments in episode order.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from exporters.base import EpisodeInfo, Exporter, ExportError, JobInfo, register
from exporters.files import encode_png, npz_bytes, write_bytes, write_json
from exporters.formats.nuscenes_labels import (
    PanopticNumbering,
    lidarseg_labels,
    points_in_box_count,
)
from exporters.formats.nuscenes_map import drivable_mask, global_offset
from exporters.formats.nuscenes_tables import (
    CATEGORY_NAMES,
    EVAL_SPLIT,
    VERSION,
    attribute_of,
    fixed_tables,
    quaternion_wxyz,
    token,
    visibility_token,
    yaw_quaternion,
)
from exporters.frame import PARKED_CATEGORIES, Frame, SensorCalib, label_of
from sensors.lidar_motion import deskew_points

MAX_LABEL_DISTANCE_M = 50.0
JPEG_QUALITY = 95
INTENSITY_SCALE = 255.0  # our intensity 0-1 -> nuScenes' 0-255
FRAGMENT_DIR = Path(".drivesim") / "nuscenes"
EPISODE_TABLES = ("log", "scene", "sample", "sample_data", "ego_pose", "calibrated_sensor",
                  "instance", "sample_annotation", "lidarseg", "panoptic", "map")


def channel_names(calibration: dict[str, SensorCalib]) -> dict[str, str]:
    """nuScenes channel of each camera / lidar, by sensor name (rig order)."""
    first = {"camera": "CAM_FRONT", "lidar": "LIDAR_TOP"}
    out: dict[str, str] = {}
    for name, cal in calibration.items():
        if cal.sensor_type in first:
            taken = first[cal.sensor_type] in out.values()
            out[name] = name.upper() if taken else first[cal.sensor_type]
    return out


def _matrix_record(m: np.ndarray) -> tuple[list[float], list[float]]:
    return [float(v) for v in m[:3, 3]], quaternion_wxyz(m[:3, :3])


@register
class NuScenesExporter(Exporter):
    """One scene per episode; see the module docstring for the layout and conventions."""

    format_name = "nuscenes"

    # ------------------------------------------------------------------ episode
    def open(self, episode: EpisodeInfo, world: Any) -> None:
        super().open(episode, world)
        self.root = Path(self.job.out_dir)
        self.channels = channel_names(self.job.calibration)
        self.offset = global_offset(world.hdmap)
        self.key = f"episode {episode.index}"
        self.tables: dict[str, list[dict]] = {t: [] for t in EPISODE_TABLES}
        self.sd_chain: dict[str, list[dict]] = {c: [] for c in self.channels.values()}
        self.anns_of: dict[int, list[dict]] = {}
        self.category_of: dict[int, str] = {}
        self.panoptic = PanopticNumbering()
        log_token = token(f"{self.key} log")
        day = datetime.datetime.fromtimestamp(episode.start_us / 1e6, datetime.timezone.utc)
        self.tables["log"].append({
            "token": log_token, "logfile": episode.name, "vehicle": "drivesim-ego",
            "date_captured": day.strftime("%Y-%m-%d"), "location": "drivesim"})
        png = encode_png(drivable_mask(world.hdmap), "maps/mask.png")
        map_name = f"maps/{hashlib.sha256(png).hexdigest()[:32]}.png"
        write_bytes(self.root / map_name, png)  # same map, same bytes: any episode may write
        self.tables["map"].append({"token": token(f"map {map_name}"), "log_tokens": [log_token],
                                   "category": "semantic_prior", "filename": map_name})
        for name, channel in self.channels.items():
            cal = self.job.calibration[name]
            m = cal.ego_from_optical if cal.sensor_type == "camera" else cal.ego_from_sensor
            trans, rot = _matrix_record(m)
            self.tables["calibrated_sensor"].append({
                "token": token(f"{self.key} calibrated_sensor {channel}"),
                "sensor_token": token(f"sensor {channel}"), "translation": trans,
                "rotation": rot,
                "camera_intrinsic": [] if cal.intrinsics is None else cal.intrinsics.tolist()})

    def write(self, frame: Frame) -> None:
        ep = self.episode
        sample_token = token(f"{self.key} sample {frame.index}")
        self.tables["sample"].append({
            "token": sample_token, "timestamp": ep.timestamp_us(frame.time_s),
            "scene_token": token(f"{self.key} scene"), "prev": "", "next": ""})
        lidar_top = None
        for name, channel in self.channels.items():
            captures = frame.samples.get(name) or [frame.measurements[name]]
            for i, meas in enumerate(captures):
                key_frame = i == len(captures) - 1   # the capture at the frame time
                sd, points = self._sample_data(meas, name, channel, sample_token, key_frame)
                if key_frame and channel == "LIDAR_TOP":
                    lidar_top = (sd, meas, points)
        visible = self._visible_fractions(frame)
        if lidar_top is not None:
            self._lidar_labels(frame, *lidar_top[:2])
        self._annotations(frame, sample_token, lidar_top, visible)

    def close(self) -> None:
        samples = self.tables["sample"]
        for a, b in zip(samples, samples[1:]):
            a["next"], b["prev"] = b["token"], a["token"]
        for chain in self.sd_chain.values():
            chain.sort(key=lambda r: r["timestamp"])
            for a, b in zip(chain, chain[1:]):
                a["next"], b["prev"] = b["token"], a["token"]
            self.tables["sample_data"].extend(chain)
        for iid in sorted(self.anns_of):
            anns = self.anns_of[iid]
            for a, b in zip(anns, anns[1:]):
                a["next"], b["prev"] = b["token"], a["token"]
            self.tables["instance"].append({
                "token": anns[0]["instance_token"],
                "category_token": token(f"category {self.category_of[iid]}"),
                "nbr_annotations": len(anns), "first_annotation_token": anns[0]["token"],
                "last_annotation_token": anns[-1]["token"]})
        self.tables["scene"].append({
            "token": token(f"{self.key} scene"), "log_token": token(f"{self.key} log"),
            "nbr_samples": len(samples), "first_sample_token": samples[0]["token"],
            "last_sample_token": samples[-1]["token"], "name": f"scene-{self.episode.index:04d}",
            "description": f"DriveSim {self.job.scenario.name}, seed {self.episode.seed}"})
        write_json(self.root / FRAGMENT_DIR / f"{self.episode.name}.json", self.tables)

    # ------------------------------------------------------------------ helpers
    def _ego_pose(self, sd_key: str, world_from_ego: np.ndarray, timestamp_us: int) -> str:
        tok = token(f"{sd_key} ego_pose")
        m = world_from_ego.copy()
        m[:3, 3] += self.offset
        trans, rot = _matrix_record(m)
        self.tables["ego_pose"].append({"token": tok, "timestamp": timestamp_us,
                                        "translation": trans, "rotation": rot})
        return tok

    def _sample_data(self, meas, name: str, channel: str, sample_token: str,
                     key_frame: bool) -> tuple[dict, np.ndarray | None]:
        """Write one capture's file; its sample_data record and (lidars) its points."""
        ep = self.episode
        ts = ep.timestamp_us(meas.time_s)
        cal = self.job.calibration[name]
        folder = "samples" if key_frame else "sweeps"
        base = f"{ep.name}__{channel}__{ts}"
        sd_key = f"{self.key} sample_data {channel} {ts}"
        world_from_ego = meas.pose.matrix @ np.linalg.inv(cal.ego_from_sensor)
        rec = {"token": token(sd_key), "sample_token": sample_token,
               "ego_pose_token": self._ego_pose(sd_key, world_from_ego, ts),
               "calibrated_sensor_token": token(f"{self.key} calibrated_sensor {channel}"),
               "timestamp": ts, "is_key_frame": key_frame, "prev": "", "next": ""}
        points = None
        if cal.sensor_type == "camera":
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(meas.data["rgb"], cv2.COLOR_RGB2BGR),
                                   [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            filename = f"{folder}/{channel}/{base}.jpg"
            if not ok:
                raise ExportError(f"cannot encode {filename} as JPEG")
            write_bytes(self.root / filename, buf.tobytes())
            rec.update(fileformat="jpg", width=int(cal.width), height=int(cal.height))
        else:
            filename = f"{folder}/{channel}/{base}.pcd.bin"
            points = self._lidar_points(meas)
            intensity = INTENSITY_SCALE * np.asarray(meas.data["intensity"], np.float32)
            cloud = np.column_stack([points, intensity, meas.data["ring"]]).astype(np.float32)
            write_bytes(self.root / filename, cloud.tobytes())
            rec.update(fileformat="pcd", width=0, height=0)
        rec["filename"] = filename
        self.sd_chain[channel].append(rec)
        return rec, points

    @staticmethod
    def _lidar_points(meas) -> np.ndarray:
        """(M, 3) float32 measured points in the sensor frame at the sweep end."""
        d, gt = meas.data, meas.gt
        return deskew_points(d["points"], d["time_offset_s"], float(d["sweep_duration_s"]),
                             gt["pose_sweep_start"], gt["pose_sweep_end"])

    def _visible_fractions(self, frame: Frame) -> dict[int, float]:
        out: dict[int, float] = {}
        for meas in frame.of_type("camera").values():
            for b in meas.gt.get("boxes", []):
                frac = (1.0 - float(b["occlusion"])) * (1.0 - float(b["truncation"]))
                iid = int(b["instance_id"])
                out[iid] = max(out.get(iid, 0.0), frac)
        return out

    def _lidar_labels(self, frame: Frame, sd: dict, meas) -> None:
        classes = lidarseg_labels(meas.gt["semantic"], meas.gt["instance_id"], frame.objects)
        panoptic = self.panoptic.labels(classes, meas.gt["instance_id"])
        tok = sd["token"]
        seg_name = f"lidarseg/{VERSION}/{tok}_lidarseg.bin"
        pan_name = f"panoptic/{VERSION}/{tok}_panoptic.npz"
        write_bytes(self.root / seg_name, classes.astype(np.uint8).tobytes())
        write_bytes(self.root / pan_name, npz_bytes({"data": panoptic}))
        self.tables["lidarseg"].append({"token": tok, "sample_data_token": tok,
                                        "filename": seg_name})
        self.tables["panoptic"].append({"token": tok, "sample_data_token": tok,
                                        "filename": pan_name})

    def _annotations(self, frame: Frame, sample_token: str, lidar_top, visible) -> None:
        ego_xy = frame.ego_pose.position[:2]
        sensor_from_world = None
        points = None
        if lidar_top is not None:
            _, meas, points = lidar_top
            sensor_from_world = np.linalg.inv(meas.pose.matrix)
        for obj in sorted(frame.labelled_objects(), key=lambda o: o.instance_id):
            name = label_of(obj, "nuscenes")
            if name is None or np.hypot(*(obj.center[:2] - ego_xy)) > MAX_LABEL_DISTANCE_M:
                continue
            n_points = 0 if sensor_from_world is None else \
                points_in_box_count(points, sensor_from_world, obj)
            if n_points == 0 and obj.instance_id not in visible:
                continue
            attr = attribute_of(name, float(np.hypot(*obj.velocity[:2])),
                                parked=obj.category in PARKED_CATEGORIES)
            w_l_h = [float(obj.size_lwh[1]), float(obj.size_lwh[0]), float(obj.size_lwh[2])]
            rec = {"token": token(f"{self.key} sample {frame.index} annotation "
                                  f"{obj.instance_id}"),
                   "sample_token": sample_token,
                   "instance_token": token(f"{self.key} instance {obj.instance_id}"),
                   "visibility_token": visibility_token(visible.get(obj.instance_id, 0.0)),
                   "attribute_tokens": [] if attr is None else [token(f"attribute {attr}")],
                   "translation": [float(v) for v in obj.center + self.offset],
                   "size": w_l_h, "rotation": yaw_quaternion(obj.yaw),
                   "prev": "", "next": "", "num_lidar_pts": n_points, "num_radar_pts": 0}
            self.tables["sample_annotation"].append(rec)
            self.anns_of.setdefault(obj.instance_id, []).append(rec)
            self.category_of.setdefault(obj.instance_id, name)

    # ------------------------------------------------------------------ dataset
    @classmethod
    def finalize(cls, job: JobInfo) -> None:
        root = Path(job.out_dir)
        tables: dict[str, list[dict]] = {t: [] for t in EPISODE_TABLES}
        for ep in job.episodes:
            path = root / FRAGMENT_DIR / f"{ep.name}.json"
            if not path.exists():
                raise ExportError(f"nuScenes: episode {ep.index} has no table fragment {path}")
            part = json.loads(path.read_text())
            for name in EPISODE_TABLES:
                tables[name].extend(part[name])
        maps: dict[str, dict] = {}
        for rec in tables.pop("map"):
            if rec["token"] in maps:
                maps[rec["token"]]["log_tokens"].extend(rec["log_tokens"])
            else:
                maps[rec["token"]] = rec
        channels = channel_names(job.calibration)
        out = dict(fixed_tables())
        out["sensor"] = [{"token": token(f"sensor {ch}"), "channel": ch,
                          "modality": job.calibration[name].sensor_type}
                         for name, ch in channels.items()]
        out["map"] = list(maps.values())
        out.update(tables)
        version_dir = root / VERSION
        for name, rows in out.items():
            write_json(version_dir / f"{name}.json", rows)
        write_json(version_dir / "splits.json",
                   {EVAL_SPLIT: [s["name"] for s in tables["scene"]]})
        assert len(out["category"]) == len(CATEGORY_NAMES)
