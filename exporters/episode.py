"""One episode of an export job, in whichever process runs it.

``world_for`` builds the worker's world once; ``run_episode`` resets it to the episode's
seed, captures the frames and hands them to the format's exporter, then writes the
episode's marker in ``DIR/.drivesim/episodes/`` (last, so a marker means "complete").
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from exporters.base import EpisodeInfo, JobInfo
from exporters.capture import episode_frames
from exporters.files import write_json
from exporters.formats import exporter_class
from sensors.rig import Rig

STATE_DIR = ".drivesim"


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


def run_episode(job: JobInfo, fmt: str, episode: EpisodeInfo, world: Any, frames: Callable,
                on_frame: Callable[[], None] | None = None, overlap: bool = True) -> int:
    """Export one episode with ``world`` (from ``world_for``); the finished marker is
    written last. Returns the number of frames written.

    ``overlap``: frame j is written (encoded, compressed, hashed into the report) on a
    writer thread while frame j + 1 is simulated and captured, at most one frame in flight.
    The ray casts use both cores only part of the time; PNG/zstd encoding releases the GIL
    and fills the gaps. Frames are written in order by that one thread, so the files are
    the same either way (a test compares).
    """
    from exporters.report import EpisodeStats

    exp = exporter_class(fmt)(job)
    stats = EpisodeStats(episode)
    exp.open(episode, world)

    def write(frame) -> None:
        exp.write(frame)
        stats.add(frame)
        if on_frame is not None:
            on_frame()

    n = 0
    if overlap:
        with ThreadPoolExecutor(1, thread_name_prefix="drivesim-writer") as writer:
            pending = None
            for frame in frames(episode):
                if pending is not None:
                    pending.result()
                pending = writer.submit(write, frame)
                n += 1
            if pending is not None:
                pending.result()
    else:
        for frame in frames(episode):
            write(frame)
            n += 1
    exp.close()
    stats.save(job.out_dir / STATE_DIR / "report")
    write_json(_marker(job.out_dir, episode), {"episode": episode.index, "seed": episode.seed,
                                               "frames": n})
    return n


def _marker(out_dir: Path, episode: EpisodeInfo) -> Path:
    return out_dir / STATE_DIR / "episodes" / f"{episode.name}.json"


def finished_episodes(job: JobInfo) -> set[int]:
    """Indices of the episodes whose marker is on disk."""
    return {e.index for e in job.episodes if _marker(job.out_dir, e).exists()}
