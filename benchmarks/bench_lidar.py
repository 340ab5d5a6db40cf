"""Lidar benchmark: full HDL-64E sweeps per second, and the same rays through pybullet.

``run()`` measures one full sweep (64 x 2048 rays: rolling-scan poses, Embree cast,
intensity, default noise, labels, de-skewed GT; lidar on the roof at 1.9 m) on the default
scenario's world after 10 steps. The same rays (same
origins, directions and range) are then cast with pybullet's ``rayTestBatch`` against the
same triangles (static + current vehicles) loaded into a DIRECT client as concave
``GEOM_MESH`` shapes, in batches under pybullet's 16,384-ray limit, with all threads
(``numThreads=0``). ``lidar_speedup_vs_pybullet`` = pybullet time / our time for the full
sweep (ours includes everything above; pybullet's is the bare cast plus reading its results
back into numpy). ``lidar_pybullet_range_agreement`` is the fraction of rays both engines
hit whose ranges agree within 5 cm (a check that both saw the same scene).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np

from benchmarks.scenes import default_world
from scenarios.sensor_schema import LidarConfig
from sensors.lidar import Lidar
from simulator.scene.mirror import SceneMirror
from simulator.scene.quiet_pybullet import p as pybullet

logger = logging.getLogger(__name__)

_PYBULLET_BATCH = 16_000          # a full 16,384-ray batch came back empty on this machine
_PYBULLET_MAX_TRIANGLES = 40_000  # per collision shape (createCollisionShape size limit)


def _mirror_triangles(mirror: SceneMirror) -> tuple[np.ndarray, np.ndarray]:
    """All triangles the mirror casts against (static + current dynamic), world frame."""
    verts = [np.asarray(mirror._static_vertices, np.float32)]
    tris = [np.asarray(mirror._static_triangles, np.int64)]
    dyn = getattr(mirror, "_dynamic_mesh", None)
    if dyn is not None and mirror._dynamic is not None and len(dyn[1]):
        verts.append(np.asarray(dyn[0], np.float32))
        tris.append(np.asarray(dyn[1], np.int64) + len(verts[0]))
    return np.concatenate(verts), np.concatenate(tris)


# --------------------------------------------------------------------------- pybullet
def _pybullet_load(vertices: np.ndarray, triangles: np.ndarray, client: int) -> None:
    """Load triangles as static concave meshes (chunked under pybullet's size limit)."""
    for start in range(0, len(triangles), _PYBULLET_MAX_TRIANGLES):
        chunk = triangles[start:start + _PYBULLET_MAX_TRIANGLES]
        used, local = np.unique(chunk, return_inverse=True)
        shape = pybullet.createCollisionShape(
            pybullet.GEOM_MESH, vertices=vertices[used].tolist(),
            indices=local.reshape(-1).astype(int).tolist(),
            flags=pybullet.GEOM_FORCE_CONCAVE_TRIMESH, physicsClientId=client)
        pybullet.createMultiBody(baseMass=0, baseCollisionShapeIndex=shape,
                                 physicsClientId=client)


def _pybullet_cast(origins: np.ndarray, directions: np.ndarray, range_m: float,
                   client: int) -> np.ndarray:
    """Ranges [m] of rays (R, 3) via rayTestBatch, ``inf`` for misses."""
    ends = origins + directions * range_m
    out = np.empty(len(origins), np.float32)
    for s in range(0, len(origins), _PYBULLET_BATCH):
        res = pybullet.rayTestBatch(origins[s:s + _PYBULLET_BATCH].tolist(),
                                    ends[s:s + _PYBULLET_BATCH].tolist(), numThreads=0,
                                    physicsClientId=client)
        out[s:s + len(res)] = [r[2] * range_m if r[0] >= 0 else np.inf for r in res]
    return out


# --------------------------------------------------------------------------- measure
def _median_time(fn: Any, repeats: int) -> float:
    fn()  # warm-up (first-call allocations, Embree lazy builds)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def measure(world: Any, repeats: int = 10) -> dict[str, float]:
    """Time full HDL-64E sweeps on ``world`` and the same rays through pybullet.

    Args:
        world: anything offering what ``sensors.base`` documents (mirror, ego_pose, ...).
        repeats: timed repetitions (median reported).
    """
    # Mounted as in the default scenario: on the roof, clear of the ego's own body.
    cfg = LidarConfig(type="lidar", name="bench_hdl64e", preset="hdl64e",
                      mount={"position": (0.0, 0.0, 1.9)})
    lidar = Lidar(cfg, np.random.default_rng(0))
    t = float(world.time_s)
    ours_s = _median_time(lambda: lidar.capture(world, t), repeats)

    # The same rays: per-column origins and world directions of that sweep.
    duration = lidar.geometry.sweep_duration_s
    start = lidar.sensor_pose(world, t - duration).matrix
    end = lidar.sensor_pose(world, t).matrix
    origins, dirs = lidar._column_rays(start, end)
    n, c = lidar.geometry.columns, lidar.geometry.channels
    ray_o = np.repeat(origins, c, axis=0)
    ray_d = dirs.reshape(-1, 3).astype(np.float64)

    client = pybullet.connect(pybullet.DIRECT)
    try:
        _pybullet_load(*_mirror_triangles(world.mirror()), client)
        pb_ranges = _pybullet_cast(ray_o, ray_d, lidar.geometry.range_m, client)
        pb_s = _median_time(lambda: _pybullet_cast(ray_o, ray_d, lidar.geometry.range_m,
                                                   client), max(2, repeats // 3))
    finally:
        pybullet.disconnect(physicsClientId=client)

    # Sanity: both engines must see the same scene.
    ours = world.mirror().cast(origins.astype(np.float32)[:, None, :], dirs,
                               lidar.geometry.range_m).distance_m.reshape(-1)
    both = np.isfinite(ours) & np.isfinite(pb_ranges)
    agree = float(np.mean(np.abs(ours[both] - pb_ranges[both]) < 0.05)) if both.any() else 0.0
    return {
        "lidar_hdl64e_sweeps_per_s": 1.0 / ours_s,
        "lidar_speedup_vs_pybullet": pb_s / ours_s,
        "lidar_hdl64e_sweep_ms": ours_s * 1e3,
        "lidar_pybullet_cast_ms": pb_s * 1e3,
        "lidar_pybullet_range_agreement": agree,
        "lidar_rays_per_sweep": float(n * c),
    }


def run(quick: bool = False) -> dict[str, float]:
    """Benchmark entry point: see the module docstring. ``quick`` uses fewer repeats."""
    with default_world(steps=10) as world:
        return measure(world, repeats=3 if quick else 10)


if __name__ == "__main__":
    print(json.dumps(run()))
