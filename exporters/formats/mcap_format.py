"""MCAP export (``--format mcap``): one ``DIR/<episode>.mcap`` per episode for Foxglove / ROS 2.

Messages use the Foxglove protobuf schemas (``foxglove-schemas-protobuf``), except the IMU,
which Foxglove has no schema for: it is a JSON channel (``message_encoding="json"``,
``schema_encoding="jsonschema"``, schema ``drivesim.Imu``). Topics:

    /tf                          foxglove.FrameTransforms   per frame: world->ego,
                                                            ego->sensor, ego-><cam>_optical
    /map/lanes                   foxglove.SceneUpdate       once, at the episode start:
                                                            lane centrelines, boundaries
    /objects                     foxglove.SceneUpdate       per frame: a cube per labelled
                                                            object (entity id = instance id)
    /camera/<name>/image         foxglove.CompressedImage   every capture, PNG (lossless)
    /camera/<name>/calibration   foxglove.CameraCalibration with every image
    /lidar/<name>/points         foxglove.PointCloud        every sweep: x y z intensity
                                                            (float32) ring (uint16) semantic
                                                            (uint8) instance_id (int32)
    /gnss/<name>/fix             foxglove.LocationFix       every fix
    /imu/<name>                  drivesim.Imu (JSON)        every sample (100 Hz by default)

Every sample a sensor took is written (``Frame.samples``), at its own time; log time =
publish time = the message's ``timestamp`` = ``episode.timestamp_us(t) * 1000`` [ns].
Frame ids and message conventions: ``exporters.formats.mcap_messages``.

Images are PNG, not JPEG: lossless, so a decoded image equals the rendered one (bigger
files, and PNG encoding is most of the write time at 720p).

The files are deterministic: no wall clock, the library string is the constant
``LIBRARY``, chunks are zstd-compressed at a fixed ``CHUNK_SIZE_BYTES``. The file is
written as ``.<episode>.mcap.part`` and renamed when complete.

Reading needs a JSON decoder beside the protobuf one, e.g.::

    from mcap.decoder import DecoderFactory
    from mcap.reader import make_reader
    from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory

    class JsonDecoderFactory(DecoderFactory):
        def decoder_for(self, message_encoding, schema):
            return json.loads if message_encoding == "json" else None

    with open("episode_0000.mcap", "rb") as f:
        reader = make_reader(f, decoder_factories=[ProtobufDecoderFactory(),
                                                   JsonDecoderFactory()])
        for schema, channel, message, decoded in reader.iter_decoded_messages():
            ...
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, Any

from mcap.writer import CompressionType
from mcap.writer import Writer as McapWriter
from mcap_protobuf.schema import register_schema

from exporters.base import EpisodeInfo, Exporter, register
from exporters.files import PART_SUFFIX, encode_png
from exporters.formats import mcap_messages as msg
from exporters.frame import Frame
from runner.outputs import OutputError
from sensors.base import Measurement

LIBRARY = "drivesim-mcap"          # MCAP header library string (no versions: stable bytes)
PROFILE = ""                       # no ROS profile: Foxglove protobuf + JSON channels
CHUNK_SIZE_BYTES = 4 * 1024 * 1024
COMPRESSION = CompressionType.ZSTD

TF_TOPIC = "/tf"
LANES_TOPIC = "/map/lanes"
OBJECTS_TOPIC = "/objects"


def mcap_path(out_dir: Path, episode: EpisodeInfo) -> Path:
    return Path(out_dir) / f"{episode.name}.mcap"


def sensor_topics(name: str, sensor_type: str) -> dict[str, str]:
    """The topics of one sensor, by role (``image``, ``calibration``, ``points``, ...)."""
    if sensor_type == "camera":
        return {"image": f"/camera/{name}/image", "calibration": f"/camera/{name}/calibration"}
    if sensor_type == "lidar":
        return {"points": f"/lidar/{name}/points"}
    if sensor_type == "gnss":
        return {"fix": f"/gnss/{name}/fix"}
    if sensor_type == "imu":
        return {"imu": f"/imu/{name}"}
    return {}


_SENSOR_SCHEMAS = {"image": msg.CompressedImage, "calibration": msg.CameraCalibration,
                   "points": msg.PointCloud, "fix": msg.LocationFix}


@register
class McapExporter(Exporter):
    format_name = "mcap"

    def __init__(self, job):
        super().__init__(job)
        self._path: Path | None = None
        self._part: Path | None = None
        self._file: IO[bytes] | None = None
        self._writer: McapWriter | None = None
        self._channels: dict[str, int] = {}
        self._sequence: dict[str, int] = {}
        self._uere_m: dict[str, float] = {}

    # ------------------------------------------------------------------ episode
    def open(self, episode: EpisodeInfo, world: Any) -> None:
        super().open(episode, world)
        self._path = mcap_path(self.job.out_dir, episode)
        self._part = self._path.with_name(f".{self._path.name}{PART_SUFFIX}")
        try:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self._part, "wb")
            self._writer = McapWriter(self._file, chunk_size=CHUNK_SIZE_BYTES,
                                      compression=COMPRESSION)
            self._writer.start(profile=PROFILE, library=LIBRARY)
            self._register_channels()
            self._writer.add_metadata("drivesim", self._metadata(episode))
            hdmap = getattr(world, "hdmap", None)
            if hdmap is not None:
                t0_ns = episode.timestamp_us(0.0) * 1000
                self._write_proto(LANES_TOPIC, t0_ns, msg.lane_lines(t0_ns, hdmap))
        except OSError as exc:
            self._fail(exc)

    def write(self, frame: Frame) -> None:
        assert self.episode is not None, "open() first"
        try:
            for _, meas in sorted(
                    ((m.time_s, m) for ms in frame.samples.values() for m in ms),
                    key=lambda tm: tm[0]):
                self._write_sample(meas)
            t_ns = self.episode.timestamp_us(frame.time_s) * 1000
            self._write_proto(TF_TOPIC, t_ns, msg.frame_transforms(
                t_ns, frame.ego_pose.matrix, frame.calibration))
            self._write_proto(OBJECTS_TOPIC, t_ns, msg.object_boxes(t_ns, frame.objects))
        except OSError as exc:
            self._fail(exc)

    def close(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.finish()
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._part, self._path)
        except OSError as exc:
            self._fail(exc)
        finally:
            self._writer = None
            self._file = None

    # ------------------------------------------------------------------ helpers
    def _metadata(self, episode: EpisodeInfo) -> dict[str, str]:
        return {"episode": episode.name, "seed": str(episode.seed),
                "frame_hz": repr(float(episode.frame_hz)),
                "n_frames": str(episode.n_frames),
                "scenario": str(getattr(self.job.scenario, "name", "")),
                "scenario_sha256": self.job.scenario_hash, "image_format": "png"}

    def _register_channels(self) -> None:
        w = self._writer
        schema_ids: dict[str, int] = {}

        def proto_channel(topic: str, cls: type) -> None:
            name = cls.DESCRIPTOR.full_name
            if name not in schema_ids:
                schema_ids[name] = register_schema(w, cls)
            self._channels[topic] = w.register_channel(topic, "protobuf", schema_ids[name])

        proto_channel(TF_TOPIC, msg.FrameTransforms)
        proto_channel(LANES_TOPIC, msg.SceneUpdate)
        proto_channel(OBJECTS_TOPIC, msg.SceneUpdate)
        imu_schema = None
        for name, calib in self.job.calibration.items():
            for role, topic in sensor_topics(name, calib.sensor_type).items():
                if role == "imu":
                    if imu_schema is None:
                        imu_schema = w.register_schema(
                            msg.IMU_JSON_SCHEMA["title"], "jsonschema",
                            json.dumps(msg.IMU_JSON_SCHEMA).encode("utf-8"))
                    self._channels[topic] = w.register_channel(topic, "json", imu_schema)
                else:
                    proto_channel(topic, _SENSOR_SCHEMAS[role])
            if calib.sensor_type == "gnss":
                self._uere_m[name] = msg.user_equivalent_range_error_m(calib.config)

    def _write_sample(self, m: Measurement) -> None:
        t_ns = self.episode.timestamp_us(m.time_s) * 1000
        topics = sensor_topics(m.sensor, m.sensor_type)
        if m.sensor_type == "camera":
            png = encode_png(m.data["rgb"], self._path)
            self._write_proto(topics["image"], t_ns, msg.compressed_image(t_ns, m.sensor, png))
            self._write_proto(topics["calibration"], t_ns,
                              msg.camera_calibration(t_ns, self.job.calibration[m.sensor]))
        elif m.sensor_type == "lidar":
            self._write_proto(topics["points"], t_ns,
                              msg.point_cloud(t_ns, m.sensor, m.data, m.gt))
        elif m.sensor_type == "gnss":
            self._write_proto(topics["fix"], t_ns, msg.location_fix(
                t_ns, m.sensor, m.data, m.gt, self._uere_m.get(m.sensor, 0.0)))
        elif m.sensor_type == "imu":
            self._write_bytes(topics["imu"], t_ns, msg.imu_json(t_ns, m.sensor, m.data, m.gt))

    def _write_proto(self, topic: str, t_ns: int, message: Any) -> None:
        self._write_bytes(topic, t_ns, message.SerializeToString(deterministic=True))

    def _write_bytes(self, topic: str, t_ns: int, data: bytes) -> None:
        seq = self._sequence.get(topic, 0)
        self._sequence[topic] = seq + 1
        self._writer.add_message(self._channels[topic], log_time=t_ns, data=data,
                                 publish_time=t_ns, sequence=seq)

    def _fail(self, exc: OSError) -> None:
        if self._file is not None:
            try:
                self._file.close()
            except OSError:
                pass
        self._writer = None
        self._file = None
        if self._part is not None:
            try:
                self._part.unlink(missing_ok=True)
            except OSError:
                pass
        raise OutputError(self._path, exc.strerror or exc.__class__.__name__) from None
