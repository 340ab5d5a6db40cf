"""An output that cannot be written is an error naming the file (exit 2), never a silent
loss: a full disk (``/dev/full``), an encoder failure, a video writer that did not open or
dropped frames, NaN in the summary or the trajectory."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

import run_sim
from runner import run as runner_run
from runner.outputs import OutputError, TextOutput, VideoOutput, write_image, write_json

needs_dev_full = pytest.mark.skipif(not os.path.exists("/dev/full"),
                                    reason="needs /dev/full (a device that is always full)")
IMAGE = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)


def _full(path: Path) -> Path:
    """Make ``path`` a link to /dev/full: every write to it fails with ENOSPC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/full")
    return path


def test_write_image_has_the_bytes_of_imwrite(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", IMAGE)
    assert cv2.imwrite(str(tmp_path / "b.png"), IMAGE)
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert np.array_equal(cv2.imread(str(tmp_path / "a.png")), IMAGE)


@needs_dev_full
def test_full_disk_is_an_error_where_imwrite_says_true(tmp_path: Path) -> None:
    png = _full(tmp_path / "a.png")
    assert cv2.imwrite(str(png), IMAGE)          # the silent loss this module exists for
    with pytest.raises(OutputError) as exc:
        write_image(png, IMAGE)
    assert str(exc.value) == f"{png}: cannot write: No space left on device"


def test_image_that_cannot_be_encoded(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match=r"a\.nope: cannot write: cannot encode the image"):
        write_image(tmp_path / "a.nope", IMAGE)
    with pytest.raises(OutputError, match="cannot write: No such file or directory"):
        write_image(tmp_path / "missing" / "a.png", IMAGE)


def test_json_is_strict(tmp_path: Path) -> None:
    write_json(tmp_path / "ok.json", {"a": 1.5})
    assert (tmp_path / "ok.json").read_text() == '{\n  "a": 1.5\n}\n'
    with pytest.raises(OutputError) as exc:
        write_json(tmp_path / "s.json", {"a": 1.0, "b": {"c": [0.0, float("-inf")]}})
    assert str(exc.value) == f"{tmp_path / 's.json'}: cannot write: not strict JSON: b.c[1] is -inf"
    assert not (tmp_path / "s.json").exists()


@needs_dev_full
def test_text_output_on_a_full_disk(tmp_path: Path) -> None:
    out = TextOutput(_full(tmp_path / "t.csv"))
    with pytest.raises(OutputError, match="t.csv: cannot write: No space left on device"):
        for _ in range(10_000):       # fills the buffer; the flush fails
            out.write("0123456789\n")
        out.close()


def test_video_writer_that_does_not_open(tmp_path: Path) -> None:
    (tmp_path / "bev.mp4").mkdir()
    with pytest.raises(OutputError) as exc:
        VideoOutput(tmp_path / "bev.mp4", 10.0, (64, 48))
    assert str(exc.value) == f"{tmp_path / 'bev.mp4'}: cannot write: the video writer did not open"


def test_video_is_read_back_after_release(tmp_path: Path) -> None:
    video = VideoOutput(tmp_path / "ok.mp4", 10.0, (64, 48))
    for _ in range(7):
        video.write(IMAGE)
    video.close()
    cap = cv2.VideoCapture(str(tmp_path / "ok.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 7
    # Frames OpenCV drops without a word (here: the wrong size) are found on close.
    video = VideoOutput(tmp_path / "short.mp4", 10.0, (64, 48))
    for _ in range(7):
        video.write(np.zeros((24, 32, 3), np.uint8))
    with pytest.raises(OutputError) as exc:
        video.close()
    assert str(exc.value) == (f"{tmp_path / 'short.mp4'}: cannot write: 7 frames written but "
                              "the file is unreadable (disk full?)")


def test_trajectory_never_gets_nan(tmp_path: Path) -> None:
    state = SimpleNamespace(x=np.array([1.0, np.nan]), y=np.zeros(2), yaw=np.zeros(2),
                            vx=np.zeros(2))
    world = SimpleNamespace(state=state, time_s=0.5, vehicle_names=["ego", "npc_000"],
                            traffic=SimpleNamespace(active=np.array([True, True])),
                            vehicle_z_m=np.zeros(2))
    writer = runner_run._TrajectoryWriter(tmp_path / "trajectory.csv")
    with pytest.raises(OutputError) as exc:
        writer.write(world)
    writer.close()
    assert str(exc.value) == (f"{tmp_path / 'trajectory.csv'}: cannot write: the state of "
                              "npc_000 is not finite at t = 0.500 s; no NaN is written")
    world.traffic.active[1] = False     # a parked car's state is not written
    writer = runner_run._TrajectoryWriter(tmp_path / "trajectory.csv")
    writer.write(world)
    writer.close()
    assert (tmp_path / "trajectory.csv").read_text().splitlines()[1] == \
        "0.500,ego,1.000,0.000,0.000,0.00000,0.000"


def _run(out: Path, *extra: str) -> int:
    return run_sim.main(["run", "--duration", "0.3", "--no-sensors", "--out", str(out),
                         *extra])


@needs_dev_full
@pytest.mark.parametrize("name", ["trajectory.csv", "summary.json"])
def test_cli_full_disk_exits_2_with_the_file(tmp_path: Path, capsys, name: str) -> None:
    target = _full(tmp_path / "out" / name)
    assert _run(tmp_path / "out", "--no-video") == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"run_sim.py: {target}: cannot write: No space left on device"


def test_cli_video_that_cannot_open(tmp_path: Path, capsys) -> None:
    (tmp_path / "out" / "bev.mp4").mkdir(parents=True)
    assert _run(tmp_path / "out") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"run_sim.py: {tmp_path / 'out' / 'bev.mp4'}: cannot write: the video writer did "
        "not open")


def test_cli_summary_with_nan_is_an_error(tmp_path: Path, capsys, monkeypatch) -> None:
    real = runner_run._summary

    def with_nan(*args, **kwargs) -> dict:
        return {**real(*args, **kwargs), "sim_time_s": float("nan")}

    monkeypatch.setattr(runner_run, "_summary", with_nan)
    assert _run(tmp_path / "out", "--no-video") == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        f"run_sim.py: {tmp_path / 'out' / 'summary.json'}: cannot write: not strict JSON: "
        "sim_time_s is nan")


@needs_dev_full
def test_cli_preview_on_a_full_disk(tmp_path: Path, capsys) -> None:
    png = _full(tmp_path / "out" / "preview" / "front_camera_0000.00s_rgb.png")
    assert run_sim.main(["run", "--duration", "0.1", "--no-video", "--out",
                         str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.splitlines()[-1] == \
        f"run_sim.py: {png}: cannot write: No space left on device"


def test_summary_on_disk_is_strict_json(tmp_path: Path) -> None:
    assert _run(tmp_path / "out", "--no-video") == 0
    text = (tmp_path / "out" / "summary.json").read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in summary.json"))
