"""One episode of an export job, in whichever process runs it.

``world_for`` builds the worker's world once; ``run_episode`` resets it to the episode's
seed, captures the frames and hands them to the format's exporter, then writes the
episode's marker in ``DIR/.drivesim/episodes/`` (last, so a marker means "complete").

A scenario with distributions is drawn per episode (``episode_scenario``: episode k at
its seed S + k). The world is rebuilt when the episode's scenario differs from the one it
was built from (other than in ``simulation.seed``): a full world build (map, props,
meshes, lane tables: about what ``World(scenario)`` costs, 0.1 s to a few s) instead of a
reset, paid per episode only when a distribution changes something.
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
from scenarios import resample
from sensors.rig import Rig

STATE_DIR = ".drivesim"


def episode_scenario(job: JobInfo, episode: EpisodeInfo) -> Any:
    """The scenario of one episode: the job's, with its distributions drawn at the
    episode's seed (the job's scenario itself when it has none)."""
    return resample(job.scenario, episode.seed)


def _build_key(scenario: Any) -> Any:
    """What a world is built from: the scenario without its seed (a reset sets that)."""
    data = scenario.model_dump()
    data["simulation"].pop("seed", None)
    return data


class EpisodeFrames:
    """``frames(episode)``: the world reset to the episode's seed (rebuilt first if the
    episode's scenario needs another world, see the module docstring) and the episode's
    frame iterator. ``prepare(episode)`` returns the world the episode runs in."""

    def __init__(self, job: JobInfo):
        from simulator.world import World

        self._world_cls = World
        self.job = job
        self.world = World(job.scenario)
        self._key = _build_key(job.scenario)
        self._last: tuple[int, Any] | None = None

    def prepare(self, episode: EpisodeInfo) -> Any:
        if self._last is None or self._last[0] != episode.seed:
            self._last = (episode.seed, episode_scenario(self.job, episode))
        scenario = self._last[1]
        if scenario is not self.world.scenario:
            key = _build_key(scenario)
            if key != self._key:
                self.world.close()
                self.world = None
                self.world = self._world_cls(scenario)
                self._key = key
        return self.world

    def __call__(self, episode: EpisodeInfo):
        world = self.prepare(episode)
        world.reset(episode.seed)
        rig = Rig(list(world.scenario.sensors), world.sensor_seed_seq)
        return episode_frames(world, rig, episode, self.job.calibration, npc=_npc(world))

    def close(self) -> None:
        if self.world is not None:
            self.world.close()


@contextlib.contextmanager
def world_for(job: JobInfo) -> Iterator[tuple[Any, Callable]]:
    """One world for a worker: yields ``(world, frames)``; ``frames(episode)`` resets the
    world to the episode's seed and returns the episode's frame iterator (a randomised
    scenario may need another world: ``run_episode`` asks ``frames.prepare``)."""
    frames = EpisodeFrames(job)
    try:
        yield frames.world, frames
    finally:
        frames.close()


def _npc(world: Any):
    if world.scenario.traffic.policy is None:
        return None
    from envs.npc_policy import NpcPolicies

    npc = NpcPolicies.from_scenario(world.scenario, world, exclude=(0,))
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

    prepare = getattr(frames, "prepare", None)
    if prepare is not None:
        world = prepare(episode)  # the episode's world (a randomised scenario: its own)
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
