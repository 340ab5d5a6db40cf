"""Export benchmark: frames per second written by ``run_sim.py export`` on the default rig.

The default scenario unchanged (1280x720 camera, HDL-64E, GNSS, 100 Hz IMU, 50 NPCs),
through the same ``exporters.job.run_job`` the CLI calls, into a temporary folder:

- ``export_kitti_frames_per_s``: KITTI object, one worker; frames after the first two
  (world build and warm-up left out) divided by their wall time.
- ``export_mcap_frames_per_s``: the same for MCAP.
- ``export_capture_only_frames_per_s``: the same frames captured (world steps, every
  sensor, the Frame records) and thrown away: the ceiling the writing overhead is measured
  against.
- ``export_one_worker_cpu_cores``: CPU seconds per wall second of that KITTI run (the
  camera and lidar ray casts already run on both cores: how much of the 2 cores one worker
  keeps busy).
- ``export_scaling_2_workers``: 2 episodes on 2 workers vs on 1, frames per second from the
  third finished frame to the last (worker start-up left out).
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from exporters.job import plan_job, run_job
from scenarios import DEFAULT_SCENARIO, load


def _cpu_s() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _rate(fmt: str, frames: int, episodes: int = 1, workers: int = 1,
          skip: int = 2) -> tuple[float, float]:
    """(frames/s after the first ``skip`` frames, CPU cores busy over the same span)."""
    stamps: list[tuple[float, float]] = []

    def tick(n: int) -> None:
        now, cpu = time.perf_counter(), _cpu_s()
        stamps.extend([(now, cpu)] * n)

    with tempfile.TemporaryDirectory(prefix="drivesim-bench-") as tmp:
        job = plan_job(load(DEFAULT_SCENARIO), Path(tmp) / "out", n_frames=frames,
                       episodes=episodes)
        run_job(job, fmt, workers=workers, on_frames=tick)
    (t0, c0), (t1, c1) = stamps[skip - 1], stamps[-1]
    if t1 <= t0:   # a worker pool reports frames in batches: too few distinct times
        raise RuntimeError(f"{frames} frames x {episodes} episodes are too few to time")
    return (len(stamps) - skip) / (t1 - t0), (c1 - c0) / (t1 - t0)


def _capture_rate(frames: int, skip: int = 2) -> float:
    from exporters.episode import world_for

    job = plan_job(load(DEFAULT_SCENARIO), "/nonexistent", n_frames=frames)
    stamps = []
    with world_for(job) as (_world, episode_frames):
        for _frame in episode_frames(job.episodes[0]):
            stamps.append(time.perf_counter())
    return (len(stamps) - skip) / (stamps[-1] - stamps[skip - 1])


def run(quick: bool = False) -> dict[str, float]:
    n = 8 if quick else 20
    capture = _capture_rate(n)
    kitti, cores = _rate("kitti", n)
    mcap, _ = _rate("mcap", n)
    one, _ = _rate("kitti", n // 2, episodes=2, workers=1, skip=3)
    two, _ = _rate("kitti", n // 2, episodes=2, workers=2, skip=3)
    return {
        "export_kitti_frames_per_s": round(kitti, 2),
        "export_capture_only_frames_per_s": round(capture, 2),
        "export_mcap_frames_per_s": round(mcap, 2),
        "export_one_worker_cpu_cores": round(cores, 2),
        "export_scaling_2_workers": round(two / one, 3),
    }
