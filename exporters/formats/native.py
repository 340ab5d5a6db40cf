"""The native format (``--format native``): everything the simulator knows, lossless.

Every measurement of every sensor (all IMU and GNSS samples between frames too) with all
its data and ground truth, the ego and object states with velocities, the traffic lights,
the HD map, the resolved scenario and the calibration. Arrays keep their dtype and values
bit for bit (``.npz``, lossless PNG, or exact JSON numbers); ``exporters.native_reader.
load_native`` reads a dataset back. The layout and every file: ``docs/native-format.md``.

Sample numbers: each sensor's samples are numbered 0, 1, ... through the episode
(``sensors/<sensor>/NNNNNN.*``); a frame's JSON lists the numbers of its samples. For a
sensor firing once per frame the sample number is the frame index.
"""

from __future__ import annotations

from typing import Any

from exporters.base import Exporter, JobInfo, register
from exporters.files import json_text, npz_bytes, write_bytes, write_json, write_png, write_text
from exporters.frame import Frame
from exporters.native_reader import (
    CALIBRATION_FILE,
    EPISODE_FILE,
    FORMAT_ID,
    FORMAT_VERSION,
    FRAMES_DIR,
    HDMAP_FILE,
    HDMAP_RECORDS,
    INDEX_FILE,
    SCENARIO_FILE,
    SENSORS_DIR,
    calib_record,
    dataclass_record,
    object_record,
    pose_record,
    split_measurement,
    stem,
)


def hdmap_record(hdmap: Any) -> dict[str, Any]:
    """The HD map as JSON data: every record of ``HDMAP_RECORDS`` with all its fields (the
    surface strips of OpenDRIVE maps too), the ground size and the map origin (file
    coordinates = ours + origin)."""
    rec: dict[str, Any] = {"ground_size_m": float(hdmap.ground_size_m),
                           "origin": [float(v) for v in getattr(hdmap, "origin", (0.0,) * 3)]}
    for key in HDMAP_RECORDS:
        items = hdmap.road_edges() if key == "road_edges" else getattr(hdmap, key, [])
        rec[key] = [dataclass_record(x) for x in items]
    return rec


def _model_data(model: Any) -> Any:
    return model.model_dump(mode="json") if hasattr(model, "model_dump") else model


@register
class NativeExporter(Exporter):
    """Writes ``DIR/<episode>/`` per episode and the dataset-wide files in ``finalize``."""

    format_name = "native"

    def __init__(self, job: JobInfo):
        super().__init__(job)
        self._dir = job.out_dir
        self._counts: dict[str, int] = {}
        self._frames = 0
        self._geo: Any = None

    def open(self, episode, world) -> None:
        super().open(episode, world)
        self._dir = self.job.out_dir / episode.name
        self._counts = {name: 0 for name in self.job.calibration}
        self._frames = 0
        self._geo = _model_data(world.geo_origin)
        write_text(self._dir / HDMAP_FILE, json_text(hdmap_record(world.hdmap), indent=None))

    def write(self, frame: Frame) -> None:
        numbers: dict[str, list[int]] = {}
        for name, ms in frame.samples.items():
            numbers[name] = [self._write_sample(name, m) for m in ms]
        measured: dict[str, int] = {}
        for name, m in frame.measurements.items():
            i = next((k for k, s in enumerate(frame.samples.get(name, ())) if s is m), None)
            if i is None:
                raise ValueError(f"frame {frame.index}: the measurement of {name} is not "
                                 "one of its samples")
            measured[name] = numbers[name][i]
        assert self.episode is not None
        rec = {"episode": frame.episode, "seed": frame.seed, "index": frame.index,
               "time_s": frame.time_s, "timestamp_us": self.episode.timestamp_us(frame.time_s),
               "ego_pose": pose_record(frame.ego_pose),
               "objects": [object_record(o) for o in frame.objects],
               "traffic_lights": {str(k): v for k, v in frame.traffic_lights.items()},
               "samples": numbers, "measurements": measured}
        write_text(self._dir / FRAMES_DIR / f"{stem(frame.index)}.json",
                   json_text(rec, indent=None))
        self._frames += 1

    def _write_sample(self, sensor: str, m: Any) -> int:
        number = self._counts.get(sensor, 0)
        self._counts[sensor] = number + 1
        base = self._dir / SENSORS_DIR / sensor / stem(number)
        rec, arrays, images = split_measurement(m)
        assert self.episode is not None
        rec["timestamp_us"] = self.episode.timestamp_us(m.time_s)
        for suffix, img in images.items():
            write_png(base.with_name(base.name + suffix), img)
        if arrays:
            write_bytes(base.with_suffix(".npz"), npz_bytes(arrays))
        # The JSON last: a sample whose JSON exists has all its files.
        write_text(base.with_suffix(".json"), json_text(rec, indent=None))
        return number

    def close(self) -> None:
        ep = self.episode
        assert ep is not None
        write_json(self._dir / EPISODE_FILE, {
            "name": ep.name, "index": ep.index, "seed": ep.seed, "n_frames": self._frames,
            "frame_hz": ep.frame_hz, "first_frame": ep.first_frame, "start_us": ep.start_us,
            "geo_origin": self._geo, "samples": self._counts})

    @classmethod
    def finalize(cls, job: JobInfo) -> None:
        write_json(job.out_dir / SCENARIO_FILE, job.scenario.model_dump(mode="json"))
        write_json(job.out_dir / CALIBRATION_FILE,
                   {k: calib_record(c) for k, c in job.calibration.items()})
        write_json(job.out_dir / INDEX_FILE, {
            "format": FORMAT_ID, "version": FORMAT_VERSION,
            "scenario_hash": job.scenario_hash,
            "episodes": [{"name": e.name, "index": e.index, "seed": e.seed,
                          "n_frames": e.n_frames} for e in job.episodes],
            "sensors": {k: c.sensor_type for k, c in job.calibration.items()}})
