"""The MCAP exporter, read back with the ``mcap`` reader: every message decodes (protobuf
and JSON), the counts per topic, and the decoded values equal the simulator's."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import replace
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from mcap.decoder import DecoderFactory
from mcap.reader import make_reader
from mcap.records import ChunkIndex, Header
from mcap.stream_reader import StreamReader
from mcap_protobuf.decoder import DecoderFactory as ProtobufDecoderFactory

from exporters.base import FORMATS
from exporters.formats import mcap_messages as msg
from exporters.formats.mcap_format import mcap_path
from exporters.formats.mcap_messages import POINT_DTYPE, is_box_label
from runner.outputs import OutputError
from tests.exporters.conftest import export_frames

NS = 1_000_000_000


class JsonDecoderFactory(DecoderFactory):
    def decoder_for(self, message_encoding, schema):
        return json.loads if message_encoding == "json" else None


def export(job, frames, world, out_dir):
    job = export_frames("mcap", job, frames, world, out_dir)
    return mcap_path(out_dir, job.episodes[0])


def read_all(path):
    """(summary, {topic: [(schema_name, log_time_ns, decoded), ...]}) in log-time order."""
    by_topic = defaultdict(list)
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[ProtobufDecoderFactory(),
                                                   JsonDecoderFactory()])
        summary = reader.get_summary()
        for schema, channel, message, decoded in reader.iter_decoded_messages(
                log_time_order=True):
            by_topic[channel.topic].append((schema.name, message.log_time, decoded))
    return summary, by_topic


@pytest.fixture(scope="module")
def exported(small_job, tmp_path_factory):
    job, frames, world = small_job
    path = export(job, frames, world, tmp_path_factory.mktemp("mcap_a"))
    summary, by_topic = read_all(path)
    return job, frames, world, path, summary, by_topic


def t_ns(job, time_s):
    return job.episodes[0].timestamp_us(time_s) * 1000


def names_of(job, sensor_type):
    return [n for n, c in job.calibration.items() if c.sensor_type == sensor_type]


def samples_of(frames, sensor):
    return [m for f in frames for m in f.samples[sensor]]


def test_file_is_complete_and_alone(exported):
    _, _, _, path, _, _ = exported
    assert path.name == "episode_0000.mcap"
    assert sorted(p.name for p in path.parent.iterdir()) == ["episode_0000.mcap"]


def test_schemas_and_message_counts(exported):
    job, frames, _, _, summary, by_topic = exported
    n = len(frames)
    cams, lidars = names_of(job, "camera"), names_of(job, "lidar")
    gnss, imus = names_of(job, "gnss"), names_of(job, "imu")
    assert cams and lidars and gnss and imus
    expected = {"/tf": ("foxglove.FrameTransforms", n),
                "/map/lanes": ("foxglove.SceneUpdate", 1),
                "/objects": ("foxglove.SceneUpdate", n)}
    for c in cams:
        expected[f"/camera/{c}/image"] = ("foxglove.CompressedImage", n)
        expected[f"/camera/{c}/calibration"] = ("foxglove.CameraCalibration", n)
    for c in lidars:
        expected[f"/lidar/{c}/points"] = ("foxglove.PointCloud", n)
    duration_s = frames[-1].time_s - frames[0].time_s
    for c in gnss:
        rate = job.calibration[c].rate_hz
        expected[f"/gnss/{c}/fix"] = ("foxglove.LocationFix",
                                      int(round(rate * duration_s)) + 1)
    for c in imus:
        rate = job.calibration[c].rate_hz
        assert rate == 100
        expected[f"/imu/{c}"] = ("drivesim.Imu", int(round(rate * duration_s)) + 1)
    got = {t: (msgs[0][0], len(msgs)) for t, msgs in by_topic.items()}
    assert got == expected
    # the summary agrees with what was read, one channel per topic
    stats = summary.statistics
    assert stats.channel_count == len(expected)
    assert stats.message_count == sum(c for _, c in expected.values())
    counts = {summary.channels[cid].topic: k
              for cid, k in stats.channel_message_counts.items()}
    assert counts == {t: c for t, (_, c) in expected.items()}
    enc = {ch.topic: (ch.message_encoding, summary.schemas[ch.schema_id].encoding)
           for ch in summary.channels.values()}
    assert enc[f"/imu/{imus[0]}"] == ("json", "jsonschema")
    assert enc["/tf"] == ("protobuf", "protobuf")
    assert stats.message_start_time == t_ns(job, 0.0)
    assert stats.message_end_time == t_ns(job, frames[-1].time_s)


def test_log_time_equals_message_timestamp(exported):
    _, _, _, _, _, by_topic = exported
    for topic, msgs in by_topic.items():
        for _, log_ns, d in msgs:
            if topic.startswith("/imu/"):
                stamp = d["timestamp"]["sec"] * NS + d["timestamp"]["nsec"]
            elif topic == "/tf":
                stamp = d.transforms[0].timestamp.ToNanoseconds()
            elif topic in ("/objects", "/map/lanes"):
                stamp = d.entities[0].timestamp.ToNanoseconds()
            else:
                stamp = d.timestamp.ToNanoseconds()
            assert stamp == log_ns, topic


def test_image_is_the_rendered_rgb(exported):
    job, frames, _, _, _, by_topic = exported
    cam = names_of(job, "camera")[0]
    msgs = by_topic[f"/camera/{cam}/image"]
    for f, (_, log_ns, img) in zip(frames, msgs):
        m = f.measurements[cam]
        assert log_ns == t_ns(job, m.time_s)
        assert img.format == "png" and img.frame_id == f"{cam}_optical"
        bgr = cv2.imdecode(np.frombuffer(img.data, np.uint8), cv2.IMREAD_UNCHANGED)
        np.testing.assert_array_equal(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), m.data["rgb"])
    calib = by_topic[f"/camera/{cam}/calibration"][0][2]
    c = job.calibration[cam]
    np.testing.assert_array_equal(np.reshape(calib.K, (3, 3)), c.intrinsics)
    np.testing.assert_array_equal(calib.D, c.distortion)
    assert (calib.width, calib.height, calib.frame_id) == (c.width, c.height, f"{cam}_optical")


def test_point_cloud_is_the_sweep(exported):
    job, frames, _, _, _, by_topic = exported
    lidar = names_of(job, "lidar")[0]
    msgs = by_topic[f"/lidar/{lidar}/points"]
    for f, (_, _, pc) in zip(frames, msgs):
        m = f.measurements[lidar]
        assert pc.frame_id == lidar and pc.point_stride == POINT_DTYPE.itemsize
        fields = {fl.name: (fl.offset, fl.type) for fl in pc.fields}
        assert set(fields) == {"x", "y", "z", "intensity", "ring", "semantic", "instance_id"}
        # unpack with the offsets the message declares
        offsets = [fields[k][0] for k in POINT_DTYPE.names]
        dt = np.dtype({"names": list(POINT_DTYPE.names),
                       "formats": ["<f4", "<f4", "<f4", "<f4", "<u2", "u1", "<i4"],
                       "offsets": offsets, "itemsize": pc.point_stride})
        rec = np.frombuffer(pc.data, dt)
        assert len(rec) == len(m.data["points"]) > 0
        xyz = np.stack([rec["x"], rec["y"], rec["z"]], axis=1)
        np.testing.assert_array_equal(xyz, m.data["points"])
        np.testing.assert_array_equal(rec["intensity"], m.data["intensity"])
        np.testing.assert_array_equal(rec["ring"], m.data["ring"])
        np.testing.assert_array_equal(rec["semantic"], m.gt["semantic"])
        np.testing.assert_array_equal(rec["instance_id"], m.gt["instance_id"])


def _matrix(translation, q):
    x, y, z, w = q.x, q.y, q.z, q.w
    r = np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                  [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                  [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])
    m = np.eye(4)
    m[:3, :3] = r
    m[:3, 3] = [translation.x, translation.y, translation.z]
    return m


def test_transforms_are_the_calibration_and_ego_pose(exported):
    job, frames, _, _, _, by_topic = exported
    for f, (_, _, tfs) in zip(frames, by_topic["/tf"]):
        tf = {(t.parent_frame_id, t.child_frame_id): t for t in tfs.transforms}
        ego = tf[("world", "ego")]
        np.testing.assert_allclose(_matrix(ego.translation, ego.rotation),
                                   f.ego_pose.matrix, atol=1e-12)
        for name, c in job.calibration.items():
            t = tf[("ego", name)]
            np.testing.assert_allclose(_matrix(t.translation, t.rotation),
                                       c.ego_from_sensor, atol=1e-12)
            if c.ego_from_optical is not None:
                t = tf[("ego", f"{name}_optical")]
                np.testing.assert_allclose(_matrix(t.translation, t.rotation),
                                           c.ego_from_optical, atol=1e-12)
        assert len(tf) == len(tfs.transforms)  # no duplicates


def test_boxes_are_the_gt_objects(exported):
    _, frames, _, _, _, by_topic = exported
    for f, (_, _, upd) in zip(frames, by_topic["/objects"]):
        assert [d.type for d in upd.deletions] == [1]  # ALL: last frame's boxes go
        want = {o.instance_id: o for o in f.objects if is_box_label(o)}
        assert want and all(not o.is_ego for o in want.values())
        got = {int(e.id): e for e in upd.entities}
        assert got.keys() == want.keys()
        for iid, e in got.items():
            o = want[iid]
            (cube,) = e.cubes
            p = cube.pose
            np.testing.assert_allclose([p.position.x, p.position.y, p.position.z],
                                       o.center, atol=1e-12)
            np.testing.assert_allclose([cube.size.x, cube.size.y, cube.size.z],
                                       o.size_lwh, atol=1e-12)
            q = p.orientation
            yaw = np.arctan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y ** 2 + q.z ** 2))
            assert abs(np.angle(np.exp(1j * (yaw - o.yaw)))) < 1e-9
            assert abs(q.x) < 1e-12 and abs(q.y) < 1e-12
            meta = {kv.key: kv.value for kv in e.metadata}
            assert meta["class"] == o.category and meta["instance_id"] == str(iid)
            assert e.frame_id == "world"


def test_gnss_fix_and_imu_samples(exported):
    job, frames, _, _, _, by_topic = exported
    gnss = names_of(job, "gnss")[0]
    ms = samples_of(frames, gnss)
    fixes = by_topic[f"/gnss/{gnss}/fix"]
    assert len(fixes) == len(ms)
    for m, (_, log_ns, fix) in zip(ms, fixes):
        assert log_ns == t_ns(job, m.time_s)
        assert m.data["fix_quality"] == 1
        assert (fix.latitude, fix.longitude, fix.altitude) == \
            (m.data["lat_deg"], m.data["lon_deg"], m.data["alt_m"])
        assert fix.frame_id == gnss and fix.position_covariance_type == 1  # APPROXIMATED
        cov = np.reshape(fix.position_covariance, (3, 3))
        assert cov[0, 0] == cov[1, 1] > 0 and cov[2, 2] > 0
        assert np.count_nonzero(cov - np.diag(np.diag(cov))) == 0
        meta = {kv.key: kv.value for kv in fix.metadata}
        assert float(meta["true_latitude"]) == m.gt["lat_deg"]

    imu = names_of(job, "imu")[0]
    ms = samples_of(frames, imu)
    got = by_topic[f"/imu/{imu}"]
    assert len(got) == len(ms)
    for m, (_, log_ns, d) in zip(ms, got):
        assert log_ns == t_ns(job, m.time_s)
        for key, src in (("accel_mps2", m.data), ("gyro_radps", m.data)):
            np.testing.assert_array_equal([d[key][a] for a in "xyz"], src[key])
        np.testing.assert_array_equal([d["truth"]["accel_mps2"][a] for a in "xyz"],
                                      m.gt["accel_mps2"])
    assert np.allclose(np.diff([log for _, log, _ in got]), NS // 100)


def test_lanes_once_at_start(exported):
    job, _, world, _, _, by_topic = exported
    ((_, log_ns, upd),) = by_topic["/map/lanes"]
    assert log_ns == t_ns(job, 0.0)
    lanes = {e.id: e for e in upd.entities}
    assert lanes.keys() == {ln.id for ln in world.hdmap.lanes}
    ln = world.hdmap.lanes[0]
    centre, left, right = lanes[ln.id].lines
    np.testing.assert_array_equal([[p.x, p.y] for p in centre.points], ln.centerline)
    np.testing.assert_array_equal([[p.x, p.y] for p in left.points], ln.left_boundary)
    np.testing.assert_array_equal([[p.x, p.y] for p in right.points], ln.right_boundary)


def test_same_input_same_bytes(exported, small_job, tmp_path):
    job, frames, world = small_job
    first = exported[3]
    again = export(job, frames, world, tmp_path)
    assert again.read_bytes() == first.read_bytes()


def test_no_fix_and_nan_imu_are_still_valid_messages():
    data = {"lat_deg": np.nan, "lon_deg": np.nan, "alt_m": np.nan, "fix_quality": 0,
            "num_satellites": 2, "hdop": np.nan, "vdop": np.nan}
    gt = {"lat_deg": 48.1, "lon_deg": 11.5, "alt_m": 520.0}
    fix = msg.location_fix(5 * NS, "gnss", data, gt, uere_m=1.0)
    assert np.isnan(fix.latitude) and fix.position_covariance_type == 0  # UNKNOWN
    assert list(fix.position_covariance) == [0.0] * 9
    v = np.array([np.nan, 1.0, 2.0])
    d = json.loads(msg.imu_json(5 * NS, "imu", {"accel_mps2": v, "gyro_radps": v},
                                {k: v for k in ("accel_mps2", "gyro_radps",
                                                "accel_bias_mps2", "gyro_bias_radps")}))
    assert d["accel_mps2"] == {"x": None, "y": 1.0, "z": 2.0}
    assert d["timestamp"] == {"sec": 5, "nsec": 0}


def test_file_appears_only_on_close(small_job, tmp_path):
    job, frames, world = small_job
    job = replace(job, out_dir=tmp_path)
    exp = FORMATS["mcap"](job)
    exp.open(job.episodes[0], world)
    exp.write(frames[0])
    assert [p.name for p in tmp_path.iterdir()] == [".episode_0000.mcap.part"]
    exp.close()
    assert [p.name for p in tmp_path.iterdir()] == ["episode_0000.mcap"]


def test_unwritable_folder_is_an_output_error(small_job, tmp_path):
    job, _, world = small_job
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    exp = FORMATS["mcap"](replace(job, out_dir=blocker))
    with pytest.raises(OutputError) as err:
        exp.open(job.episodes[0], world)
    assert err.value.path == blocker / "episode_0000.mcap"


def _rotation(xyzw):
    q = SimpleNamespace(x=xyzw[0], y=xyzw[1], z=xyzw[2], w=xyzw[3])
    return _matrix(SimpleNamespace(x=0.0, y=0.0, z=0.0), q)[:3, :3]


def test_quaternion_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(50):
        a, _ = np.linalg.qr(rng.standard_normal((3, 3)))
        r = a * np.sign(np.linalg.det(a))
        np.testing.assert_allclose(_rotation(msg.quaternion_xyzw(r)), r, atol=1e-12)
    for yaw in (0.0, np.pi / 2, np.pi, -np.pi / 2):  # the trace <= 0 branches
        c, s = np.cos(yaw), np.sin(yaw)
        r = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
        np.testing.assert_allclose(_rotation(msg.quaternion_xyzw(r)), r, atol=1e-12)



def test_records_and_crcs_stream_cleanly(exported):
    path = exported[3]
    with open(path, "rb") as f:
        records = list(StreamReader(f, validate_crcs=True).records)
    (header,) = [r for r in records if isinstance(r, Header)]
    assert (header.library, header.profile) == ("drivesim-mcap", "")
    chunks = [r for r in records if isinstance(r, ChunkIndex)]
    assert chunks and {c.compression for c in chunks} == {"zstd"}


def test_messages_are_written_in_time_order(exported):
    with open(exported[3], "rb") as f:
        times = [m.log_time for _, _, m in make_reader(f).iter_messages(log_time_order=False)]
    assert times == sorted(times)
