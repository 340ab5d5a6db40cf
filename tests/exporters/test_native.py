"""The native format: every value comes back exactly, the bytes are deterministic and the
docs name every file written."""

from __future__ import annotations

import dataclasses
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from exporters.files import ZIP_DATE_TIME, json_text
from exporters.native_reader import (
    NativeFormatError,
    load_measurement,
    load_native,
    split_measurement,
)
from sensors.base import Measurement
from simulator.pose import Pose
from tests.exporters.conftest import export_frames

ROOT = Path(__file__).resolve().parents[2]


def export_native(job, frames, world, out: Path):
    return export_frames("native", job, frames, world, out)


@pytest.fixture(scope="module")
def native_dir(small_job, tmp_path_factory):
    job, frames, world = small_job
    out = tmp_path_factory.mktemp("native")
    export_native(job, frames, world, out)
    return out


def _json_equal(a, b) -> bool:
    """Equal as JSON data (NaN in nested values are written as null)."""
    return json.loads(json_text(a)) == json.loads(json_text(b))


def assert_same_value(a, b, where: str):
    if isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray), where
        assert a.dtype == b.dtype and a.shape == b.shape, where
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), where
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b), where
    else:
        assert _json_equal(a, b), where


def assert_same_pose(a: Pose, b: Pose, where: str):
    for k in ("position", "rotation", "velocity", "angular_velocity", "acceleration"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), f"{where}.{k}"
    assert a.time_s == b.time_s, where


def assert_same_measurement(a: Measurement, b: Measurement, where: str):
    assert (a.sensor, a.sensor_type, a.time_s) == (b.sensor, b.sensor_type, b.time_s), where
    assert_same_pose(a.pose, b.pose, where)
    for section in ("data", "gt"):
        da, db = getattr(a, section), getattr(b, section)
        assert list(da) == list(db), f"{where}.{section}"
        for k in da:
            assert_same_value(da[k], db[k], f"{where}.{section}.{k}")


def test_round_trip_every_value(small_job, native_dir):
    job, frames, world = small_job
    ds = load_native(native_dir)
    assert len(ds.episodes) == 1
    ep = ds.episodes[0]
    assert ep.info == job.episodes[0]
    assert len(ep.frames) == len(frames) == 4
    n_samples = 0
    for f, g in zip(frames, ep.frames, strict=True):
        where = f"frame {f.index}"
        assert (g.episode, g.seed, g.index, g.time_s) == (f.episode, f.seed, f.index, f.time_s)
        assert_same_pose(f.ego_pose, g.ego_pose, where)
        assert g.traffic_lights == f.traffic_lights
        assert len(g.objects) == len(f.objects)
        for oa, ob in zip(f.objects, g.objects, strict=True):
            for fld in dataclasses.fields(oa):
                assert_same_value(getattr(oa, fld.name), getattr(ob, fld.name),
                                  f"{where} object {oa.instance_id}.{fld.name}")
        assert list(g.samples) == list(f.samples)
        for name, ms in f.samples.items():
            assert len(g.samples[name]) == len(ms), f"{where} {name}"
            for k, (a, b) in enumerate(zip(ms, g.samples[name], strict=True)):
                assert_same_measurement(a, b, f"{where} {name}[{k}]")
                n_samples += 1
        assert list(g.measurements) == list(f.measurements)
        for name, m in f.measurements.items():
            assert_same_measurement(m, g.measurements[name], f"{where} meas {name}")
    # 4 cameras, 4 lidars, 4 GNSS, 1 + 3 * 10 IMU samples
    assert n_samples == 4 + 4 + 4 + 31
    imu = list(ep.sensor_samples("imu"))
    assert [m.time_s for m in imu] == [m.time_s for f in frames for m in f.samples["imu"]]


def test_round_trip_static_data(small_job, native_dir):
    job, _, world = small_job
    ds = load_native(native_dir)
    ep = ds.episodes[0]
    assert ds.scenario == job.scenario.model_dump(mode="json")
    assert ep.scenario is ds.scenario
    assert ep.geo_origin == world.geo_origin.model_dump(mode="json")
    assert list(ds.calibration) == list(job.calibration)
    for name, c in job.calibration.items():
        r = ds.calibration[name]
        for fld in dataclasses.fields(c):
            a, b = getattr(c, fld.name), getattr(r, fld.name)
            if fld.name == "config":
                assert b == a.model_dump(mode="json")
            elif a is None:
                assert b is None
            else:
                assert_same_value(a, b, f"calibration {name}.{fld.name}")
    lanes = world.hdmap.lanes
    assert len(ep.hdmap_lanes) == len(lanes) > 0
    for a, b in zip(lanes, ep.hdmap_lanes, strict=True):
        for fld in dataclasses.fields(a):
            assert_same_value(getattr(a, fld.name), getattr(b, fld.name),
                              f"lane {a.id}.{fld.name}")
    assert len(ep.hdmap["markings"]) == len(world.hdmap.markings)
    assert len(ep.hdmap["road_edges"]) == len(world.hdmap.road_edges())
    assert np.array_equal(ep.hdmap["road_edges"][0].normals, world.hdmap.road_edges()[0].normals)


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_input_same_bytes(small_job, native_dir, tmp_path):
    job, frames, world = small_job
    export_native(job, frames, world, tmp_path)
    a, b = _tree(native_dir), _tree(tmp_path)
    assert list(a) == list(b)
    assert [k for k in a if a[k] != b[k]] == []
    npz = next(native_dir.rglob("*.npz"))
    with zipfile.ZipFile(npz) as zf:
        assert {i.date_time for i in zf.infolist()} == {ZIP_DATE_TIME}


def _pattern(rel: str, sensors: list[str]) -> str:
    parts = rel.split("/")
    if parts[0].startswith("episode_"):
        parts[0] = "<episode>"
    if len(parts) > 2 and parts[1] == "sensors" and parts[2] in sensors:
        parts[2] = "<sensor>"
    return "DIR/" + re.sub(r"\d{6}", "NNNNNN", "/".join(parts))


def test_docs_name_every_file(small_job, native_dir):
    job = small_job[0]
    doc = (ROOT / "docs" / "native-format.md").read_text()
    patterns = {_pattern(k, list(job.calibration)) for k in _tree(native_dir)}
    assert "DIR/<episode>/sensors/<sensor>/NNNNNN_semantic.png" in patterns
    assert sorted(p for p in patterns if p not in doc) == []
    # Every array key the sensors produced is documented too.
    rec = json.loads(next(native_dir.rglob("sensors/roof_lidar/*.json")).read_text())
    assert [k for k in rec["arrays"] if f"`{k}`" not in doc] == []


def test_non_finite_scalars_and_arrays_are_kept(tmp_path):
    pose = Pose(np.zeros(3), np.eye(3))
    m = Measurement("g", "gnss", 0.5, pose,
                    data={"hdop": float("nan"), "lat_deg": np.float64(np.inf), "n": 3,
                          "prn": np.arange(4, dtype=np.int64)},
                    gt={"error_enu_m": np.full(3, np.nan), "tiny": np.float32([1.5])})
    rec, arrays, images = split_measurement(m)
    assert sorted(arrays) == ["data.hdop", "data.lat_deg", "gt.error_enu_m"]
    (tmp_path / "000000.json").write_text(json_text(rec))
    from exporters.files import npz_bytes

    (tmp_path / "000000.npz").write_bytes(npz_bytes(arrays))
    back = load_measurement(tmp_path / "000000.json")
    assert np.isnan(back.data["hdop"]) and back.data["lat_deg"] == np.inf
    assert back.data["n"] == 3 and back.data["prn"].dtype == np.int64
    assert np.isnan(back.gt["error_enu_m"]).all()
    assert back.gt["tiny"].dtype == np.float32 and back.gt["tiny"][0] == 1.5


def test_not_a_native_dataset(tmp_path):
    (tmp_path / "native.json").write_text('{"format": "kitti"}')
    with pytest.raises(NativeFormatError):
        load_native(tmp_path)
    with pytest.raises(NativeFormatError):
        load_native(tmp_path / "missing")
