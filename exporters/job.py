"""An export job: plan the episodes, run each one through an exporter, resume, finish.

The unit of work is an episode (scenario + seed). ``run_job`` runs them in this process
(``workers=1``), in a process pool (``workers>1``) or as Ray tasks (``backend="ray"``); each
worker builds one ``World`` and resets it per episode, which draws exactly what a new world
with that seed would, so the files do not depend on who ran which episode. Progress lives
in ``DIR/.drivesim/``: the job's plan (checked on ``--resume``) and one marker per finished
episode; ``manifest.json`` lists the finished episodes as they finish and gets every
file's sha256 last, when the episodes, the format's dataset-wide files and the report
are done.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from exporters.base import EpisodeInfo, ExportError, JobInfo
from exporters.episode import STATE_DIR, finished_episodes, run_episode, world_for
from exporters.files import json_text, remove_partials, write_text
from exporters.formats import exporter_class
from exporters.frame import calibration_of, frame_rate_hz
from exporters.manifest import write_manifest
from scenarios import sampled_values, variant_of
from sensors.rig import Rig

__all__ = ["STATE_DIR", "plan_job", "prepare_out", "run_episode", "run_job", "world_for"]


def plan_job(scenario: Any, out_dir: Path | str, *, n_frames: int | None = None,
             duration_s: float | None = None, episodes: int = 1, seed: int | None = None,
             scenario_hash: str | None = None) -> JobInfo:
    """The episodes of a job: episode k has seed ``seed + k`` (default: the scenario's seed
    + k) and ``n_frames`` frames, or as many as ``duration_s`` (default: the scenario's
    duration) holds at the frame rate."""
    if not scenario.sensors:
        raise ExportError("the scenario has no sensors: nothing to export")
    if episodes < 1:
        raise ExportError(f"--episodes must be >= 1, got {episodes}")
    randomised = sorted(p for p in sampled_values(scenario) if p.startswith("sensors"))
    if randomised:
        raise ExportError(f"{', '.join(randomised)}: a dataset has one sensor calibration; "
                          "sensor fields cannot be distributions in an export (sweep them "
                          "instead: one export per variant)")
    rig = Rig(list(scenario.sensors), np.random.SeedSequence(0))
    calib = calibration_of(rig)
    hz = frame_rate_hz(rig)
    if n_frames is None:
        dur = scenario.simulation.duration_s if duration_s is None else duration_s
        n_frames = int(np.floor(dur * hz + 1e-6))
    if n_frames < 1:
        raise ExportError("the job has no frames (--frames or --duration too small)")
    base = scenario.simulation.seed if seed is None else seed
    eps = tuple(EpisodeInfo(k, int(base) + k, n_frames, hz, k * n_frames)
                for k in range(episodes))
    if scenario_hash is None:
        scenario_hash = hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()
    return JobInfo(Path(out_dir), scenario, scenario_hash, calib, eps)


# ---------------------------------------------------------------------------- the job
def plan_text(job: JobInfo, fmt: str) -> str:
    """What ``--resume`` must find unchanged: format, scenario and episodes."""
    plan: dict[str, Any] = {
        "format": fmt,
        "scenario_sha256": job.scenario_hash,
        "episodes": [{"index": e.index, "seed": e.seed, "frames": e.n_frames,
                      "frame_hz": e.frame_hz} for e in job.episodes],
    }
    variant, _ = variant_of(job.scenario)
    if variant is not None:
        plan["variant"] = variant
    return json_text(plan)


def prepare_out(job: JobInfo, fmt: str, resume: bool) -> set[int]:
    """Check the output folder for a new job or a resume; the episodes already done.

    Raises:
        ExportError: a non-empty folder without ``resume``; a resume of another job.
    """
    out = job.out_dir
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out}: exists and is not a folder")
    plan_file = out / STATE_DIR / "job.json"
    text = plan_text(job, fmt)
    if resume:
        if not plan_file.exists():
            if out.exists() and any(out.iterdir()):
                raise ExportError(f"{out}: nothing to resume (no {STATE_DIR}/job.json): "
                                  "not a DriveSim export folder")
        elif plan_file.read_text() != text:
            raise ExportError(f"{out}: --resume of a different job (format, scenario, seeds "
                              "or frames differ from the interrupted one)")
        remove_partials(out)
    elif out.exists() and any(out.iterdir()):
        raise ExportError(f"{out}: not empty; use --resume to finish an interrupted export "
                          "into it, or choose a new folder")
    write_text(plan_file, text)
    return finished_episodes(job)


def run_job(job: JobInfo, fmt: str, *, workers: int = 1, backend: str = "local",
            resume: bool = False, on_frames: Callable[[int], None] | None = None) -> dict:
    """Run every unfinished episode, then the format's dataset-wide files, the report and
    ``manifest.json``. ``on_frames(n)`` is called as frames finish. Returns the manifest."""
    exporter_class(fmt)  # bad arguments fail before any file is written
    if workers < 1:
        raise ExportError(f"--workers must be >= 1, got {workers}")
    if backend not in ("local", "ray"):
        raise ExportError(f"unknown backend {backend!r}; known: local, ray")
    done = prepare_out(job, fmt, resume)
    if on_frames is not None and done:
        on_frames(sum(e.n_frames for e in job.episodes if e.index in done))

    def on_episode() -> None:
        write_manifest(job, fmt, finished_episodes(job))

    on_episode()
    pending = [e for e in job.episodes if e.index not in done]
    if pending:
        if backend == "ray":
            from exporters.ray_backend import run_on_ray

            run_on_ray(job, fmt, pending, on_frames, on_episode)
        elif workers == 1 or len(pending) == 1:
            _run_here(job, fmt, pending, on_frames, on_episode)
        else:
            from exporters.pool import run_in_pool

            run_in_pool(job, fmt, pending, min(workers, len(pending)), on_frames, on_episode)
    missing = set(e.index for e in job.episodes) - finished_episodes(job)
    if missing:
        raise ExportError(f"episodes {sorted(missing)} did not finish")
    exporter_class(fmt).finalize(job)
    from exporters.report import write_report

    write_report(job.out_dir, job)
    return write_manifest(job, fmt)


def _run_here(job: JobInfo, fmt: str, episodes: list[EpisodeInfo],
              on_frames: Callable[[int], None] | None, on_episode: Callable[[], None]) -> None:
    tick = (lambda: on_frames(1)) if on_frames is not None else None
    with world_for(job) as (world, frames):
        for e in episodes:
            run_episode(job, fmt, e, world, frames, tick)
            on_episode()
