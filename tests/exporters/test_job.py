"""The export job: episodes, workers, Ray, resume after SIGKILL, and bad input (exit 2).

Byte identity is checked on whole folders (every file's bytes), with the native format
(every measurement, lossless) unless a test names another.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from exporters.base import ExportError
from exporters.job import STATE_DIR, plan_job, run_job
from tests.exporters.conftest import ROOT, small_scenario

RUN_SIM = [sys.executable, str(ROOT / "run_sim.py")]


def folder_bytes(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (the job state folder left out) by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and STATE_DIR not in p.relative_to(root).parts}


@pytest.fixture(scope="module")
def small_yaml(tmp_path_factory) -> Path:
    """The small scenario as a YAML file (the CLI reads files)."""
    sc = small_scenario()
    path = tmp_path_factory.mktemp("scn") / "small.yaml"
    path.write_text(yaml.safe_dump(sc.model_dump(mode="json", exclude_none=True)))
    return path


def export(args: list[str], **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(RUN_SIM + ["export", *args], capture_output=True, text=True,
                          env=env, cwd=ROOT, **kw)


def test_plan_numbers_frames_one_episode_after_the_other() -> None:
    job = plan_job(small_scenario(), "/nonexistent", n_frames=3, episodes=3, seed=11)
    assert [(e.index, e.seed, e.first_frame, e.n_frames) for e in job.episodes] == \
        [(0, 11, 0, 3), (1, 12, 3, 3), (2, 13, 6, 3)]
    assert job.total_frames == 9
    # --duration: frames at 0, 0.1, ... below the duration, at the 10 Hz frame rate
    assert plan_job(small_scenario(), "/x", duration_s=1.0).episodes[0].n_frames == 10


def test_workers_1_and_2_write_the_same_bytes(tmp_path: Path) -> None:
    sc = small_scenario()
    out1, out2 = tmp_path / "w1", tmp_path / "w2"
    m1 = run_job(plan_job(sc, out1, n_frames=2, episodes=2, seed=3), "native", workers=1)
    m2 = run_job(plan_job(sc, out2, n_frames=2, episodes=2, seed=3), "native", workers=2)
    a, b = folder_bytes(out1), folder_bytes(out2)
    assert a.keys() == b.keys() and len(a) > 10
    assert [k for k in a if a[k] != b[k]] == []
    assert m1 == m2 and m1["complete"] and m1["frames"] == 4
    assert set(m1["files"]) == set(a) - {"manifest.json"}


def test_episodes_differ_by_seed(tmp_path: Path) -> None:
    out = tmp_path / "d"
    run_job(plan_job(small_scenario(), out, n_frames=1, episodes=2, seed=3), "native")
    files = folder_bytes(out)
    lidar = sorted(k for k in files if "lidar" in k and k.endswith(".npz"))
    assert len(lidar) == 2 and files[lidar[0]] != files[lidar[1]]


def test_non_empty_folder_is_refused_and_left_alone(tmp_path: Path) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ExportError, match="not empty; use --resume"):
        run_job(plan_job(small_scenario(), out, n_frames=1), "native")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_resume_of_another_job_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "r"
    run_job(plan_job(small_scenario(), out, n_frames=1, seed=1), "native")
    with pytest.raises(ExportError, match="different job"):
        run_job(plan_job(small_scenario(), out, n_frames=1, seed=2), "native", resume=True)


def test_resume_after_sigkill_equals_an_uninterrupted_run(small_yaml: Path,
                                                          tmp_path: Path) -> None:
    args = ["--scenario", str(small_yaml), "--format", "native", "--frames", "4",
            "--episodes", "3", "--seed", "5"]
    whole = tmp_path / "whole"
    assert export(args + ["--out", str(whole)]).returncode == 0
    cut = tmp_path / "cut"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(RUN_SIM + ["export", *args, "--out", str(cut)], env=env,
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    marker = cut / STATE_DIR / "episodes" / "episode_0000.json"
    second = cut / "episode_0001"          # the native folder of episode 1: it has begun
    deadline = time.monotonic() + 240
    while not second.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)       # in episode 1: some of its files written, not all
    proc.wait()
    assert marker.exists()
    assert not (cut / STATE_DIR / "episodes" / "episode_0001.json").exists()
    again = export(args + ["--out", str(cut)])
    assert again.returncode == 2 and "use --resume" in again.stderr
    done = export(args + ["--out", str(cut), "--resume"])
    assert done.returncode == 0, done.stderr
    a, b = folder_bytes(whole), folder_bytes(cut)
    assert a.keys() == b.keys()
    assert [k for k in a if a[k] != b[k]] == []
    assert not list(cut.rglob("*.part"))


@pytest.mark.parametrize("extra, message", [
    (["--format", "png"], "invalid choice: 'png'"),
    (["--format", "native", "--frames", "0"], "must be >= 1"),
    (["--format", "native", "--frames", "2", "--duration", "1"], "not allowed with"),
])
def test_bad_flags_exit_2_with_one_line(small_yaml: Path, tmp_path: Path, extra, message):
    res = export(["--scenario", str(small_yaml), "--out", str(tmp_path / "o"), *extra])
    assert res.returncode == 2
    assert message in res.stderr and "Traceback" not in res.stderr
    assert not (tmp_path / "o").exists()


def test_unwritable_folder_exits_2_with_one_line(small_yaml: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_text("x")
        out = blocker / "sub"          # a folder under a file: not writable even for root
    else:
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        out = ro / "sub"
    res = export(["--scenario", str(small_yaml), "--out", str(out), "--format", "native",
                  "--frames", "1"])
    assert res.returncode == 2, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip() and "%" not in ln]
    assert len(lines) == 1 and "Traceback" not in res.stderr, res.stderr


def test_bad_scenario_exits_2_naming_the_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "scenarios" / "default.yaml").read_text().replace(
        "count: 50", "count: -3"))
    res = export(["--scenario", str(bad), "--out", str(tmp_path / "o"), "--format", "kitti"])
    assert res.returncode == 2
    assert "bad.yaml:" in res.stderr and "traffic.count" in res.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ray_backend_writes_the_same_bytes_as_local(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the ray extra is not installed")
    sc = small_scenario()
    local, on_ray = tmp_path / "local", tmp_path / "ray"
    run_job(plan_job(sc, local, n_frames=2, episodes=2, seed=9), "native")
    run_job(plan_job(sc, on_ray, n_frames=2, episodes=2, seed=9), "native", backend="ray")
    a, b = folder_bytes(local), folder_bytes(on_ray)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_frames_carry_the_imu_samples_between_them(small_job) -> None:
    _job, frames, _world = small_job
    imu = [f.samples["imu"] for f in frames]
    assert [len(s) for s in imu] == [1, 10, 10, 10]          # 100 Hz IMU, 10 Hz frames
    times = np.concatenate([[m.time_s for m in s] for s in imu])
    assert np.allclose(np.diff(times), 0.01)
    assert all(f.measurements["front_camera"].time_s == pytest.approx(f.time_s) for f in frames)


def test_writing_on_a_thread_writes_what_writing_in_line_does(tmp_path: Path) -> None:
    from exporters.job import prepare_out, run_episode, world_for

    outs = []
    for overlap in (False, True):
        out = tmp_path / f"overlap_{overlap}"
        job = plan_job(small_scenario(), out, n_frames=3, seed=4)
        prepare_out(job, "native", resume=False)
        with world_for(job) as (world, frames):
            assert run_episode(job, "native", job.episodes[0], world, frames,
                               overlap=overlap) == 3
        outs.append(folder_bytes(out))
    a, b = outs
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_disk_full_exits_2_with_one_line_and_keeps_the_finished_episodes(
        small_yaml: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    """ENOSPC on the second episode's first file: one line naming the file, exit 2; the
    first episode's files and marker are intact, and --resume (with space again) completes
    the job into the same bytes as an uninterrupted run."""
    import errno

    import exporters.files as files
    import run_sim

    out = tmp_path / "full"
    args = ["export", "--scenario", str(small_yaml), "--format", "native", "--frames", "2",
            "--episodes", "2", "--seed", "5", "--out", str(out)]
    real_replace = os.replace

    def replace(src, dst):
        if "episode_0001" in str(dst):
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(files.os, "replace", replace)
    assert run_sim.main(args) == 2
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.strip() and "%" not in ln]
    assert len(err) == 1 and "No space left on device" in err[0] and "episode_0001" in err[0]
    assert (out / STATE_DIR / "episodes" / "episode_0000.json").exists()
    assert not (out / STATE_DIR / "episodes" / "episode_0001.json").exists()
    assert not list(out.rglob("*.part"))
    monkeypatch.setattr(files.os, "replace", real_replace)
    assert run_sim.main(args + ["--resume"]) == 0
    whole = tmp_path / "whole"
    assert run_sim.main(args[:-1] + [str(whole)]) == 0
    a, b = folder_bytes(whole), folder_bytes(out)
    assert a.keys() == b.keys() and [k for k in a if a[k] != b[k]] == []


def test_cli_formats_are_the_registered_ones() -> None:
    """run_sim.py lists the formats without importing them (start-up time): keep in sync."""
    import run_sim
    from exporters.base import FORMATS
    from exporters.formats import exporter_class  # noqa: F401  (registers the formats)

    sub = next(a for a in run_sim.build_parser()._actions if a.dest == "command")
    fmt = next(a for a in sub.choices["export"]._actions if a.dest == "format")
    assert sorted(fmt.choices) == sorted(FORMATS)


def test_bad_backend_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="unknown backend"):
        run_job(plan_job(small_scenario(), tmp_path / "b", n_frames=1), "native",
                backend="dask")
    assert not (tmp_path / "b").exists()
