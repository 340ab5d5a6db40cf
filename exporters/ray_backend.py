"""Episodes as Ray tasks (``--backend ray``; ``pip install 'drivesim[ray]'``).

``RAY_ADDRESS`` names an existing cluster; without it Ray starts a local one. Every task
runs the same ``run_episode`` as the local backend (one world per Ray worker process,
reset per episode), so the files are byte-identical to ``--backend local``. On a cluster
of several machines the output folder must be on a file system they all mount at the same
path. Progress is counted per finished episode.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from exporters.base import EpisodeInfo, ExportError, JobInfo
from runner.outputs import OutputError

_WORLDS: dict[str, Any] = {}


def _episode(job: JobInfo, fmt: str, episode: EpisodeInfo) -> int:
    from exporters.episode import run_episode, world_for

    key = job.scenario_hash
    if key not in _WORLDS:
        for cm, _world, _frames in _WORLDS.values():
            cm.__exit__(None, None, None)
        _WORLDS.clear()
        cm = world_for(job)
        world, frames = cm.__enter__()
        _WORLDS[key] = (cm, world, frames)
    _cm, world, frames = _WORLDS[key]
    try:
        return run_episode(job, fmt, episode, world, frames)
    except (OutputError, ExportError) as exc:
        raise ExportError(str(exc)) from None


def run_on_ray(job: JobInfo, fmt: str, episodes: list[EpisodeInfo],
               on_frames: Callable[[int], None] | None,
               on_episode: Callable[[], None]) -> None:
    try:
        import ray
    except ImportError:
        raise ExportError("--backend ray needs Ray: pip install 'drivesim[ray]'") from None
    started = not ray.is_initialized()
    if started:
        address = os.environ.get("RAY_ADDRESS") or None
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 configure_logging=False,
                 runtime_env={"env_vars": {"OPENBLAS_NUM_THREADS": "1"}})
    try:
        task = ray.remote(num_cpus=1, max_retries=0)(_episode)
        refs = {task.remote(job, fmt, e): e for e in episodes}
        pending = list(refs)
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            try:
                n = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause if isinstance(exc.cause, ExportError) else None
                if cause is not None:
                    raise ExportError(str(cause)) from None
                raise
            if on_frames is not None:
                on_frames(n)
            on_episode()
    finally:
        if started:
            ray.shutdown()
