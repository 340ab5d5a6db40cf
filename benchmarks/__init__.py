"""Benchmarks: each module's ``run(quick) -> dict[str, float]`` returns named figures.

``run_sim.py bench`` runs them all (or ``--only`` some) and prints one JSON object.
"""

from __future__ import annotations

import importlib
import os
import sys
from contextlib import contextmanager

# Group name -> (module, figures it produces). Order = run order.
BENCHMARKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "world": ("benchmarks.bench_world", ("world_realtime_factor", "world_step_us")),
    "dynamics": ("benchmarks.bench_dynamics", ("dynamics_step_us",)),
    "lidar": ("benchmarks.bench_lidar", ("lidar_hdl64e_sweeps_per_s",
                                         "lidar_speedup_vs_pybullet")),
    "camera": ("benchmarks.bench_camera", ("camera_720p_fps", "camera_480p_fps",
                                           "camera_speedup_vs_tinyrenderer")),
    "gnss": ("benchmarks.bench_gnss", ("gnss_fixes_per_s",)),
}


class UnknownBenchmark(ValueError):
    pass


@contextmanager
def _stdout_to_stderr():
    """Native libraries print banners on fd 1; keep stdout clean for the JSON."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def select(only: list[str] | None) -> list[str]:
    """Groups to run for ``--only`` names (group names or figure names)."""
    if not only:
        return list(BENCHMARKS)
    groups = []
    for name in only:
        hit = [g for g, (_, figs) in BENCHMARKS.items() if name == g or name in figs]
        if not hit:
            known = sorted(set(BENCHMARKS) | {f for _, figs in BENCHMARKS.values()
                                              for f in figs})
            raise UnknownBenchmark(f"unknown benchmark {name!r}; known: {', '.join(known)}")
        groups += [g for g in hit if g not in groups]
    return groups


def run_benchmarks(only: list[str] | None = None, quick: bool = False) -> dict[str, float]:
    """Run the selected groups; ``only`` may name groups (all their figures are kept) or
    single figures (only those are kept)."""
    figures: dict[str, float] = {}
    groups = select(only)
    for group in groups:
        module = importlib.import_module(BENCHMARKS[group][0])
        with _stdout_to_stderr():
            figures.update(module.run(quick=quick))
    if only and not any(name in BENCHMARKS for name in only):
        figures = {k: v for k, v in figures.items() if k in only}
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}
