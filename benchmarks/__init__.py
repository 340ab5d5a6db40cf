"""Benchmarks: each module's ``run(quick) -> dict[str, float]`` returns named figures.

``run_sim.py bench`` runs them all (or ``--only`` some) and prints one JSON object. A
module whose ``run`` takes ``figures`` is told which of its figures were asked for, so
``--only world_reset_ms`` measures just that one.
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from contextlib import contextmanager

# Group name -> (module, figures it produces). Order = run order.
BENCHMARKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "world": ("benchmarks.bench_world", ("world_realtime_factor", "world_step_us",
                                         "world_highway_realtime_factor", "world_build_s",
                                         "world_build_1000_npcs_s", "world_reset_ms",
                                         "world_pedestrians_realtime_factor",
                                         "world_pedestrians_cost_ratio",
                                         "world_highway_dense_realtime_factor")),
    "opendrive": ("benchmarks.bench_opendrive", (
        "opendrive_town04_load_s", "opendrive_town04_first_load_s",
        "opendrive_town04_parse_s", "world_town04_build_s", "world_town01_realtime_factor",
        "world_town01_default_realtime_factor", "world_town01_vs_default_ratio")),
    "dynamics": ("benchmarks.bench_dynamics", ("dynamics_step_us",)),
    "lidar": ("benchmarks.bench_lidar", ("lidar_hdl64e_sweeps_per_s",
                                         "lidar_speedup_vs_pybullet")),
    "camera": ("benchmarks.bench_camera", ("camera_720p_fps", "camera_480p_fps",
                                           "camera_speedup_vs_tinyrenderer")),
    "gnss": ("benchmarks.bench_gnss", ("gnss_fixes_per_s",)),
    "env": ("benchmarks.bench_env", (
        "env_highway_steps_per_s", "env_highway_speedup_vs_highway_env",
        "env_highway_steps_ratio_vs_highway_env", "env_highway_sim_s_per_s",
        "highway_env_steps_per_s", "highway_env_sim_s_per_s", "env_lidar2d_steps_per_s",
        "env_camera84_steps_per_s", "env_vector_async_scaling",
        "env_vector_async_2_vs_single_env", "env_vector_async_1_steps_per_s",
        "env_vector_async_2_steps_per_s", "env_vector_single_steps_per_s", "env_reset_ms")),
    "export": ("benchmarks.bench_export", (
        "export_kitti_frames_per_s", "export_mcap_frames_per_s",
        "export_capture_only_frames_per_s", "export_one_worker_cpu_cores",
        "export_scaling_2_workers")),
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
    for group in select(only):
        module_name, names = BENCHMARKS[group]
        module = importlib.import_module(module_name)
        wanted = None if not only or group in only else [f for f in only if f in names]
        kwargs = {}
        if wanted is not None and "figures" in inspect.signature(module.run).parameters:
            kwargs["figures"] = wanted
        with _stdout_to_stderr():
            result = module.run(quick=quick, **kwargs)
        figures.update(result if wanted is None else
                       {k: v for k, v in result.items() if k in wanted})
    return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}
