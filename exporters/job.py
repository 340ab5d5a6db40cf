"""An export job: plan the episodes, run each one through an exporter, resume, finish.

The unit of work is an episode (scenario + seed). ``run_job`` runs them in this process
(``workers=1``), in a process pool (``workers>1``) or as Ray tasks (``backend="ray"``); each
worker builds one ``World`` and resets it per episode, which draws exactly what a new world
with that seed would, so the files do not depend on who ran which episode. Progress lives
in ``DIR/.drivesim/``: the job's plan (checked on ``--resume``) and one marker per finished
episode; ``manifest.json`` is written last, when every episode and the format's
dataset-wide files are done.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from exporters.base import EpisodeInfo, ExportError, JobInfo, exporter_class
from exporters.capture import episode_frames
from exporters.files import json_text, remove_partials, write_json
from exporters.frame import calibration_of, frame_rate_hz
from sensors.rig import Rig

STATE_DIR = ".drivesim"


def scenario_json(scenario: Any) -> str:
    return scenario.model_dump_json()


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
        scenario_hash = hashlib.sha256(scenario_json(scenario).encode()).hexdigest()
    return JobInfo(Path(out_dir), scenario, scenario_hash, calib, eps)


@contextlib.contextmanager
def world_for(job: JobInfo) -> Iterator[tuple[Any, Callable]]:
    """One world for a worker: yields ``(world, frames)``; ``frames(episode)`` resets the
    world to the episode's seed and returns the episode's frame iterator."""
    from simulator.world import World

    world = World(job.scenario)

    def frames(episode: EpisodeInfo):
        world.reset(episode.seed)
        rig = Rig(list(job.scenario.sensors), world.sensor_seed_seq)
        return episode_frames(world, rig, episode, job.calibration, npc=_npc(job, world))

    try:
        yield world, frames
    finally:
        world.close()


def _npc(job: JobInfo, world: Any):
    if job.scenario.traffic.policy is None:
        return None
    from envs.npc_policy import NpcPolicies

    npc = NpcPolicies.from_scenario(job.scenario, world, exclude=(0,))
    npc.reset(world)
    return npc
