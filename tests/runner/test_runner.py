"""`run_sim.py run`: the files it writes, their format, and bit-for-bit reproducibility."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

import run_sim
from runner.run import RunOptions, run_scenario, with_overrides
from scenarios import DEFAULT_SCENARIO, load


def _short(seconds: float = 3.0, seed: int | None = None, sensors: bool = False):
    sc = with_overrides(load(DEFAULT_SCENARIO), seed=seed, duration_s=seconds)
    return sc if sensors else sc.model_copy(update={"sensors": []})


def test_run_writes_summary_trajectory_and_video(tmp_path: Path) -> None:
    summary = run_scenario(_short(3.0), tmp_path)
    on_disk = json.loads((tmp_path / "summary.json").read_text())
    assert on_disk == summary
    assert summary["sim_time_s"] == 3.0 and summary["seed"] == 7
    assert summary["collisions"] == []
    assert set(summary["distance_m"]) == {"ego"} | {f"npc_{i:03d}" for i in range(50)}
    # The ego starts at 8 m/s and cruises at up to 12 m/s: 3 s cover 24-36 m.
    assert 24.0 <= summary["distance_m"]["ego"] <= 36.0
    route = summary["ego_route"]
    assert route["lanes"][0] == "center/west/in/1" and route["lanes"][-1] == "center/south/out/1"
    assert any("->" in lane for lane in route["lanes"])  # turns through a connector
    assert 0.0 < route["progress"] < 1.0

    with (tmp_path / "trajectory.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["time_s", "actor_id", "x", "y", "z", "yaw", "speed_mps"]
    times = sorted({float(r["time_s"]) for r in rows})
    assert np.allclose(times, np.arange(0.0, 3.01, 0.1))          # 10 Hz
    ego = [r for r in rows if r["actor_id"] == "ego"]
    assert len(ego) == 31 and float(ego[0]["speed_mps"]) == 8.0

    video = cv2.VideoCapture(str(tmp_path / "bev.mp4"))
    assert int(video.get(cv2.CAP_PROP_FRAME_COUNT)) == 31
    ok, frame = video.read()
    assert ok and frame.shape[0] > 500 and frame.std() > 10  # a real picture, not blank


def test_same_seed_bit_identical_other_seed_different(tmp_path: Path) -> None:
    opts = RunOptions(video=False)
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        run_scenario(_short(4.0, seed=seed), tmp_path / name, opts)
    a, b, c = ((tmp_path / n / "trajectory.csv").read_bytes() for n in "abc")
    assert a == b
    assert a != c
    assert (tmp_path / "a" / "summary.json").read_bytes() == \
        (tmp_path / "b" / "summary.json").read_bytes()


@pytest.mark.slow
def test_sensor_outputs_identical_for_same_seed(tmp_path: Path) -> None:
    from sensors.rig import Rig
    from simulator.world import World

    sc = _short(0.3, sensors=True)
    outs = []
    for _ in range(2):
        with World(sc) as w:
            rig = Rig(list(sc.sensors), w.sensor_seed_seq)
            got = {}
            for k in range(31):
                if k:
                    w.step()
                got.update(rig.capture(w, w.time_s))
            outs.append(got)
    a, b = outs
    assert np.array_equal(a["front_camera"].data["rgb"], b["front_camera"].data["rgb"])
    assert np.array_equal(a["roof_lidar"].data["points"], b["roof_lidar"].data["points"])
    assert a["gnss"].data["lat_deg"] == b["gnss"].data["lat_deg"]
    assert np.array_equal(a["imu"].data["accel_mps2"], b["imu"].data["accel_mps2"])


def test_cli_run_with_sensors_writes_previews(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    code = run_sim.main(["run", "--duration", "0.2", "--out", str(out), "--no-video"])
    assert code == 0
    assert "0 collision(s)" in capsys.readouterr().out
    names = sorted(p.name for p in (out / "preview").iterdir())
    for want in ("front_camera_0000.00s_rgb.png", "front_camera_0000.00s_depth.png",
                 "front_camera_0000.00s_semantic.png", "roof_lidar_0000.00s_bev.png",
                 "gnss_fixes.png"):
        assert want in names
    img = cv2.imread(str(out / "preview" / "front_camera_0000.00s_rgb.png"))
    assert img.shape == (720, 1280, 3)


def test_cli_seed_and_duration_override(tmp_path: Path) -> None:
    assert run_sim.main(["run", "--duration", "1", "--seed", "3", "--no-sensors",
                         "--no-video", "--out", str(tmp_path)]) == 0
    s = json.loads((tmp_path / "summary.json").read_text())
    assert s["seed"] == 3 and s["sim_time_s"] == 1.0
