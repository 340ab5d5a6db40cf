"""Episodes in a local process pool (``--workers W``).

Each worker process (spawned, not forked: Embree and OpenBLAS threads do not survive a
fork) builds one world and resets it per episode; frames are counted back to the main
process through a queue for the progress bar. A user error inside a worker (disk full, an
unwritable file) comes back as ``ExportError`` with the worker's one-line message.
"""

from __future__ import annotations

import multiprocessing as mp
import queue as queue_mod
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

from exporters.base import EpisodeInfo, ExportError, JobInfo
from runner.outputs import OutputError

_WORKER: dict[str, Any] = {}


def _init(job: JobInfo, fmt: str, counts: Any) -> None:
    from exporters.episode import world_for

    cm = world_for(job)
    world, frames = cm.__enter__()
    _WORKER.update(job=job, fmt=fmt, counts=counts, cm=cm, world=world, frames=frames)


def _episode(episode: EpisodeInfo) -> int:
    from exporters.episode import run_episode

    w = _WORKER
    try:
        return run_episode(w["job"], w["fmt"], episode, w["world"], w["frames"],
                           lambda: w["counts"].put(1))
    except (OutputError, ExportError) as exc:
        raise ExportError(str(exc)) from None


def run_in_pool(job: JobInfo, fmt: str, episodes: list[EpisodeInfo], workers: int,
                on_frames: Callable[[int], None] | None,
                on_episode: Callable[[], None]) -> None:
    """Run ``episodes`` on ``workers`` spawned processes; returns when all are done."""
    ctx = mp.get_context("spawn")
    counts = ctx.Queue()
    with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init,
                             initargs=(job, fmt, counts)) as pool:
        futures = {pool.submit(_episode, e) for e in episodes}
        while futures:
            finished, futures = wait(futures, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(counts, on_frames)
            for f in finished:
                exc = f.exception()
                if exc is not None:
                    for other in futures:
                        other.cancel()
                    raise exc
                on_episode()
        _drain(counts, on_frames)


def _drain(counts: Any, on_frames: Callable[[int], None] | None) -> None:
    n = 0
    while True:
        try:
            n += counts.get_nowait()
        except queue_mod.Empty:
            break
    if n and on_frames is not None:
        on_frames(n)
