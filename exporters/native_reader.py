"""Reading a native-format dataset back (``load_native``), and the codec both sides share.

The layout and every file are described in ``docs/native-format.md``. In short::

    DIR/native.json  scenario.json  calibration.json
    DIR/episode_0000/episode.json  hdmap.json
    DIR/episode_0000/frames/000000.json
    DIR/episode_0000/sensors/<sensor>/000000.json  [.npz  .png  _semantic.png]

Each sensor sample (one ``Measurement``) is one JSON file plus, for large arrays, one
``.npz`` and, for camera images, PNGs; the JSON's ``arrays`` table says where every array
is and its dtype and shape, so reading it back gives the same values bit for bit.

Usage::

    ds = load_native("out/")
    ep = ds.episodes[0]
    frame = ep.frames[3]                       # an exporters.frame.Frame, loaded on access
    frame.measurements["roof_lidar"].data["points"]
    imu = list(ep.sensor_samples("imu"))       # every IMU Measurement of the episode
    lanes = ep.hdmap_lanes                     # simulator.map.lanes.Lane records
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from exporters.base import EpisodeInfo
from exporters.frame import Frame, ObjectState, SensorCalib
from sensors.base import Measurement
from simulator.map.lanes import Conflict, Lane, Marking, RoadEdge
from simulator.map.strips import SurfaceStrip
from simulator.map.surfaces import Carriageway, Junction
from simulator.pose import Pose

FORMAT_ID = "drivesim-native"
FORMAT_VERSION = 1
INDEX_FILE = "native.json"
SCENARIO_FILE = "scenario.json"
CALIBRATION_FILE = "calibration.json"
EPISODE_FILE = "episode.json"
HDMAP_FILE = "hdmap.json"
FRAMES_DIR = "frames"
SENSORS_DIR = "sensors"
FRAME_DIGITS = 6

# Arrays kept as PNG instead of in the .npz: (section, key) -> file name suffix.
PNG_ARRAYS = {("data", "rgb"): ".png", ("gt", "semantic"): "_semantic.png"}
# Arrays of at most this many finite numbers are stored in the sample's JSON.
JSON_ARRAY_MAX_SIZE = 64
# Fixed zip entry time: .npz files carry no wall-clock time.

POSE_FIELDS = ("position", "rotation", "velocity", "angular_velocity", "acceleration")
HDMAP_RECORDS: dict[str, type] = {"lanes": Lane, "conflicts": Conflict, "markings": Marking,
                                  "road_edges": RoadEdge, "carriageways": Carriageway,
                                  "junctions": Junction, "strips": SurfaceStrip}


class NativeFormatError(ValueError):
    """The folder is not a native dataset, or one of its files is not what it should be."""


# ------------------------------------------------------------------ shared codec
def stem(number: int) -> str:
    """File stem of frame / sample ``number``: six digits."""
    return f"{number:0{FRAME_DIGITS}d}"


def pose_record(pose: Pose) -> dict[str, Any]:
    rec: dict[str, Any] = {k: np.asarray(getattr(pose, k)).tolist() for k in POSE_FIELDS}
    rec["time_s"] = float(pose.time_s)
    return rec


def pose_from(rec: dict[str, Any]) -> Pose:
    arrays = {k: np.asarray(rec[k], np.float64) for k in POSE_FIELDS}
    return Pose(time_s=float(rec["time_s"]), **arrays)


def object_record(obj: ObjectState) -> dict[str, Any]:
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def object_from(rec: dict[str, Any]) -> ObjectState:
    kw = dict(rec)
    for k in ("center", "size_lwh", "velocity"):
        kw[k] = np.asarray(kw[k], np.float64)
    return ObjectState(**kw)


def dataclass_record(obj: Any) -> dict[str, Any]:
    """A (map) dataclass as a JSON-able dict of its fields."""
    return {f.name: _plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}


def dataclass_from(cls: type, rec: dict[str, Any]) -> Any:
    """Rebuild a dataclass written by ``dataclass_record``: fields annotated ``np.ndarray``
    become float64 arrays, ``tuple`` fields tuples."""
    kw = dict(rec)
    for f in dataclasses.fields(cls):
        ann = str(f.type)
        if f.name in kw and kw[f.name] is not None:
            if "ndarray" in ann:
                kw[f.name] = np.asarray(kw[f.name], np.float64)
            elif ann.startswith("tuple"):
                kw[f.name] = tuple(kw[f.name])
    return cls(**kw)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return value


def calib_record(c: SensorCalib) -> dict[str, Any]:
    rec = {f.name: _plain(getattr(c, f.name)) for f in dataclasses.fields(c) if f.name != "config"}
    cfg = c.config
    rec["config"] = cfg.model_dump(mode="json") if hasattr(cfg, "model_dump") else cfg
    return rec


def calib_from(rec: dict[str, Any]) -> SensorCalib:
    kw = dict(rec)
    for k in ("ego_from_sensor", "ego_from_optical", "intrinsics", "distortion"):
        if kw.get(k) is not None:
            kw[k] = np.asarray(kw[k], np.float64)
    return SensorCalib(**kw)


def _json_array_ok(arr: np.ndarray) -> bool:
    if arr.size > JSON_ARRAY_MAX_SIZE or arr.dtype.kind not in "biuf":
        return False
    return arr.dtype.kind != "f" or bool(np.isfinite(arr).all())


def split_measurement(m: Measurement) -> tuple[dict, dict[str, np.ndarray], dict]:
    """Split a measurement into (JSON record, .npz arrays, PNG images by file suffix)."""
    rec: dict[str, Any] = {"sensor": m.sensor, "sensor_type": m.sensor_type,
                           "time_s": float(m.time_s), "pose": pose_record(m.pose),
                           "data": {}, "gt": {}, "arrays": {},
                           "keys": {"data": list(m.data), "gt": list(m.gt)}}
    npz: dict[str, np.ndarray] = {}
    pngs: dict[str, np.ndarray] = {}
    for section in ("data", "gt"):
        for key, value in getattr(m, section).items():
            scalar = isinstance(value, (float, np.floating)) and not np.isfinite(value)
            if scalar:
                value = np.asarray(value)  # JSON has no NaN / inf: kept as a 0-d array
            if not isinstance(value, np.ndarray):
                rec[section][key] = value
                continue
            name = f"{section}.{key}"
            where = "npz"
            suffix = PNG_ARRAYS.get((section, key))
            if suffix and value.dtype == np.uint8 and (
                    value.ndim == 2 or (value.ndim == 3 and value.shape[2] == 3)):
                where = suffix
                pngs[suffix] = value
            elif _json_array_ok(value):
                where = "json"
                rec[section][key] = value.tolist()
            else:
                npz[name] = value
            rec["arrays"][name] = {"file": where, "dtype": value.dtype.str,
                                   "shape": list(value.shape)}
            if scalar:
                rec["arrays"][name]["scalar"] = True
    return rec, npz, pngs


def _read_png(path: Path, shape: list[int]) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise NativeFormatError(f"{path}: missing or not a PNG")
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    return img.reshape(shape)


def load_measurement(json_path: Path | str) -> Measurement:
    """One sample back from its JSON file (and the .npz / PNGs beside it)."""
    json_path = Path(json_path)
    rec = json.loads(json_path.read_text())
    base = json_path.with_suffix("")
    npz = None
    sections: dict[str, dict[str, Any]] = {"data": dict(rec["data"]), "gt": dict(rec["gt"])}
    for name, where in rec["arrays"].items():
        section, key = name.split(".", 1)
        dtype = np.dtype(where["dtype"])
        if where["file"] == "json":
            arr = np.asarray(sections[section][key], dtype).reshape(where["shape"])
        elif where["file"] == "npz":
            if npz is None:
                with np.load(base.with_suffix(".npz"), allow_pickle=False) as z:
                    npz = {k: z[k] for k in z.files}
            arr = npz[name]
        else:
            arr = _read_png(base.with_name(base.name + where["file"]), where["shape"])
        sections[section][key] = arr[()] if where.get("scalar") else arr
    data, gt = ({k: sections[s][k] for k in rec["keys"][s]} for s in ("data", "gt"))
    return Measurement(rec["sensor"], rec["sensor_type"], float(rec["time_s"]),
                       pose_from(rec["pose"]), data, gt)


# ------------------------------------------------------------------ reader
def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise NativeFormatError(f"{path}: missing") from None


class NativeFrames(Sequence[Frame]):
    """The frames of an episode; ``frames[i]`` reads frame i from disk (not cached)."""

    def __init__(self, episode: NativeEpisode):
        self._ep = episode

    def __len__(self) -> int:
        return self._ep.info.n_frames

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if not -len(self) <= i < len(self):
            raise IndexError(f"frame {i} of {len(self)}")
        return self._ep.frame(i % len(self))


class NativeEpisode:
    """One episode folder: its info, map, frames and per-sensor sample streams.

    Attributes:
        path: the episode folder; info: its ``EpisodeInfo``; record: ``episode.json``;
        geo_origin: {lat_deg, lon_deg, alt_m} of the world origin; scenario / calibration:
        the dataset's (see ``NativeDataset``); frames: lazy ``Frame`` sequence.
    """

    def __init__(self, path: Path, dataset: NativeDataset):
        self.path = path
        self.dataset = dataset
        self.record = _read_json(path / EPISODE_FILE)
        self.info = EpisodeInfo(*(self.record[k] for k in
                                  ("index", "seed", "n_frames", "frame_hz", "first_frame")))
        self.geo_origin: dict[str, Any] = self.record["geo_origin"]
        self.frames = NativeFrames(self)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def scenario(self) -> dict[str, Any]:
        return self.dataset.scenario

    @property
    def calibration(self) -> dict[str, SensorCalib]:
        return self.dataset.calibration

    @cached_property
    def hdmap(self) -> dict[str, Any]:
        """``hdmap.json`` with its records rebuilt: lanes, conflicts, markings, road_edges,
        carriageways, junctions, strips (``simulator.map`` dataclasses; OpenDRIVE maps have
        strips and no carriageways / junctions), ground_size_m and origin ((3,) where the
        world origin lies in the map file's frame). Files written before strips and origin
        were recorded read as no strips and a zero origin."""
        rec = _read_json(self.path / HDMAP_FILE)
        out: dict[str, Any] = {"ground_size_m": rec["ground_size_m"],
                               "origin": np.asarray(rec.get("origin", [0.0] * 3), np.float64)}
        for key, cls in HDMAP_RECORDS.items():
            out[key] = [dataclass_from(cls, r) for r in rec.get(key, [])]
        return out

    @property
    def hdmap_lanes(self) -> list[Lane]:
        return self.hdmap["lanes"]

    def sample_path(self, sensor: str, number: int) -> Path:
        return self.path / SENSORS_DIR / sensor / f"{stem(number)}.json"

    def frame(self, index: int) -> Frame:
        rec = _read_json(self.path / FRAMES_DIR / f"{stem(index)}.json")
        samples = {name: [load_measurement(self.sample_path(name, n)) for n in numbers]
                   for name, numbers in rec["samples"].items()}
        meas = {name: samples[name][rec["samples"][name].index(n)]
                for name, n in rec["measurements"].items()}
        return Frame(episode=rec["episode"], seed=rec["seed"], index=rec["index"],
                     time_s=rec["time_s"], ego_pose=pose_from(rec["ego_pose"]),
                     measurements=meas, samples=samples,
                     objects=[object_from(o) for o in rec["objects"]],
                     calibration=self.calibration,
                     traffic_lights={int(k): v for k, v in rec["traffic_lights"].items()})

    def sensor_samples(self, sensor: str) -> Iterator[Measurement]:
        """Every sample of one sensor in the episode, in time order."""
        for n in range(self.record["samples"][sensor]):
            yield load_measurement(self.sample_path(sensor, n))


class NativeDataset:
    """A native dataset folder.

    Attributes:
        path: the folder; index: ``native.json``; scenario: the resolved scenario (plain
        JSON data, as ``Scenario.model_dump(mode="json")``); calibration: per sensor its
        ``SensorCalib`` (``config`` as plain JSON data); episodes: ``NativeEpisode``s in
        episode order.
    """

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.index = _read_json(self.path / INDEX_FILE)
        if self.index.get("format") != FORMAT_ID:
            raise NativeFormatError(f"{self.path}: not a {FORMAT_ID} dataset")
        if self.index.get("version") != FORMAT_VERSION:
            raise NativeFormatError(f"{self.path}: format version {self.index.get('version')}"
                                    f", this reader reads {FORMAT_VERSION}")
        self.scenario = _read_json(self.path / SCENARIO_FILE)
        self.calibration = {k: calib_from(v) for k, v in
                            _read_json(self.path / CALIBRATION_FILE).items()}
        self.episodes = [NativeEpisode(self.path / e["name"], self)
                         for e in self.index["episodes"]]


def load_native(path: Path | str) -> NativeDataset:
    """Open a dataset written by ``--format native`` (files are read on access)."""
    return NativeDataset(path)
