"""GNSS benchmark: position fixes per second in an urban grid (LOS, multipath, solve).

``run()`` drives the ego at 10 m/s down a street of a synthetic city (blocks of box
buildings 10-45 m high on a 70 m grid, 16 m wide streets) and times full GNSS captures
with the default config (30 satellites, noise and multipath on): constellation, pymap3d
conversions, line-of-sight rays, facade fan + reflection rays for blocked satellites,
Gauss-Newton fix and DOP. ``gnss_fixes_per_s`` is the median over repeats of a drive.
The same is timed in open sky, and on the default scenario's ``World`` when
``simulator.world.World`` is importable.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np

from benchmarks.scenes import default_world
from scenarios.schema import GeoOrigin
from scenarios.sensor_schema import GnssConfig
from sensors.gnss import Gnss
from simulator.pose import Pose, rot_z
from simulator.scene.mirror import MaterialTable, SceneMirror
from simulator.scene.objects import SceneObject, box_mesh
from simulator.scene.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES

logger = logging.getLogger(__name__)

_BLOCK_M = 70.0
_STREET_M = 16.0


def urban_scene(seed: int = 0, blocks: int = 6) -> tuple[list[SceneObject], MaterialTable]:
    """Ground + a ``blocks`` x ``blocks`` grid of city blocks, 1-4 buildings each."""
    rng = np.random.default_rng(seed)
    objects: list[SceneObject] = []
    materials = MaterialTable()

    def add(kind: str, material: str, center: tuple[float, float],
            size: tuple[float, float, float], z0: float = 0.0) -> None:
        iid = 10 + len(objects)
        sem = SEMANTIC_CLASSES[kind]
        v, t = box_mesh(center, size, 0.0, z0)
        objects.append(SceneObject(f"{kind}_{iid}", sem, iid, material, v, t))
        materials.set(iid, sem, DEFAULT_MATERIALS[material])

    half = blocks * _BLOCK_M / 2.0
    add("ground", "asphalt", (0.0, 0.0), (2 * half + 200, 2 * half + 200, 0.1), z0=-0.1)
    lot = _BLOCK_M - _STREET_M
    for i in range(blocks):
        for j in range(blocks):
            cx = -half + (i + 0.5) * _BLOCK_M
            cy = -half + (j + 0.5) * _BLOCK_M          # streets on x, y = k * 70
            parts = int(rng.integers(1, 5))
            width = lot / parts
            for p in range(parts):
                x = cx - lot / 2 + (p + 0.5) * width
                material = str(rng.choice(["concrete", "glass_facade", "brick"]))
                add("building", material, (x, cy), (width - 1.0, lot, float(rng.uniform(10, 45))))
    return objects, materials


class UrbanWorld:
    """What a GNSS reads from a world: static mirror, ego driving east along y = 0."""

    def __init__(self, objects: list[SceneObject], materials: MaterialTable,
                 speed_mps: float = 10.0):
        self.materials = materials
        self._mirror = SceneMirror(objects, materials)
        self.time_s = 0.0
        self.ego_instance_id = 1
        self.geo_origin = GeoOrigin()
        self.speed_mps = speed_mps

    def mirror(self) -> SceneMirror:
        return self._mirror

    def ego_pose(self, t_s: float | None = None) -> Pose:
        t = self.time_s if t_s is None else t_s
        x = -150.0 + self.speed_mps * t
        return Pose(np.array([x, 0.0, 0.0]), rot_z(0.0), np.array([self.speed_mps, 0, 0.0]),
                    time_s=t)


class _OpenSky(UrbanWorld):
    def __init__(self) -> None:
        super().__init__([], MaterialTable())


def _drive(world: Any, fixes: int, repeats: int, t0: float = 0.0, step_s: float = 0.1
           ) -> tuple[float, list[Any]]:
    """Median fixes/s over ``repeats`` drives of ``fixes`` captures; the last drive's output."""
    rates, out = [], []
    for r in range(repeats + 1):                  # drive 0 warms up (Embree, imports)
        sensor = Gnss(GnssConfig(name="bench_gnss", type="gnss"), np.random.default_rng(r))
        times = t0 + step_s * np.arange(fixes)
        start = time.perf_counter()
        out = [sensor.capture(world, float(t)) for t in times]
        elapsed = time.perf_counter() - start
        if r:
            rates.append(fixes / elapsed)
    return float(np.median(rates)), out


def run(quick: bool = False) -> dict[str, float]:
    """Benchmark entry point: see the module docstring. ``quick``: fewer, shorter drives."""
    fixes, repeats = (60, 3) if quick else (300, 7)
    urban_rate, ms = _drive(UrbanWorld(*urban_scene()), fixes, repeats)
    herr = np.array([m.gt["horizontal_error_m"] for m in ms])
    fixed = np.isfinite(herr)
    result = {
        "gnss_fixes_per_s": urban_rate,
        "gnss_urban_fix_fraction": float(fixed.mean()),
        "gnss_urban_mean_satellites_used": float(np.mean([m.data["num_satellites"]
                                                          for m in ms])),
        "gnss_urban_mean_nlos": float(np.mean([m.data["num_nlos"] for m in ms])),
        "gnss_urban_rms_horizontal_error_m": float(np.sqrt(np.mean(herr[fixed] ** 2)))
        if fixed.any() else float("nan"),
    }
    result["gnss_fixes_per_s_open_sky"], _ = _drive(_OpenSky(), fixes, repeats)
    with default_world(steps=10) as world:
        world.mirror()
        result["gnss_fixes_per_s_default_world"], _ = _drive(
            world, fixes, repeats, t0=float(world.time_s), step_s=0.0)
    return result


if __name__ == "__main__":
    print(json.dumps(run()))
