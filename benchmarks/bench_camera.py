"""Camera benchmark: full captures per second, and the speed-up over pybullet's TinyRenderer.

``run()`` times ``Camera.capture`` (RGB shaded with sun shadows, noise on, depth, semantic,
instance and per-object boxes) at 1280x720 and 640x480 on the default scenario's ``World``
(falling back to a synthetic street of boxes when the world cannot be built), stepping the
world between frames so the dynamic geometry changes every capture. Reported figures are
medians over the frames:

- ``camera_720p_fps``, ``camera_480p_fps``.
- ``camera_speedup_vs_tinyrenderer``: pybullet ``getCameraImage(renderer=ER_TINY_RENDERER,
  shadow=1)`` (RGB + depth + segmentation, with shadows like ours) at 720p on the same
  meshes (each scene object one visual shape with its material colour, in a DIRECT client)
  and the same camera pose, time divided by ours. ``..._noshadow`` is the same without
  TinyRenderer's shadow pass (ours keeps its shadows), for reference.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import numpy as np

from scenarios.sensor_schema import CameraConfig
from sensors.camera import Camera
from sensors.camera_model import R_SENSOR_FROM_OPTICAL
from simulator.objects import ObjectBox, SceneObject, box_mesh
from simulator.pose import Pose, rot_z
from simulator.raycast import MaterialTable, SceneMirror
from simulator.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- scenes
class SyntheticStreet:
    """Ground, a 4-lane road with markings, ~60 buildings and 50 car boxes; the ego drives
    along +x at 10 m/s and the cars move, so the dynamic geometry changes every step."""

    def __init__(self, seed: int = 0, n_buildings: int = 60, n_cars: int = 50):
        rng = np.random.default_rng(seed)
        self.materials = MaterialTable()
        self.ego_instance_id = 1
        self.time_s = 0.0
        objects: list[SceneObject] = []

        def add(kind: str, material: str, v: np.ndarray, t: np.ndarray) -> int:
            iid = 1000 + len(objects)
            sem = SEMANTIC_CLASSES[kind]
            objects.append(SceneObject(f"{kind}_{iid}", sem, iid, material, v, t))
            self.materials.set(iid, sem, DEFAULT_MATERIALS[material])
            return iid

        add("ground", "ground", *box_mesh((150.0, 0.0), (1200.0, 400.0, 0.1), 0.0, -0.1))
        add("road", "asphalt", *box_mesh((150.0, 0.0), (1200.0, 14.0, 0.01), 0.0, 0.0))
        for y in (-3.5, 3.5):
            for x in np.arange(-400.0, 700.0, 12.0):
                add("lane_marking", "marking_white",
                    *box_mesh((x, y), (3.0, 0.15, 0.005), 0.0, 0.01))
        add("lane_marking", "marking_yellow", *box_mesh((150.0, 0.0), (1200.0, 0.3, 0.005),
                                                        0.0, 0.01))
        self.boxes: list[ObjectBox] = []
        for _ in range(n_buildings):
            x = rng.uniform(-100.0, 400.0)
            y = rng.choice([-1.0, 1.0]) * rng.uniform(16.0, 30.0)
            size = (rng.uniform(8, 25), rng.uniform(8, 15), rng.uniform(6, 45))
            mat = str(rng.choice(["concrete", "glass_facade", "brick"]))
            iid = add("building", mat, *box_mesh((x, y), size, 0.0))
            self.boxes.append(ObjectBox(iid, SEMANTIC_CLASSES["building"], f"building_{iid}",
                                        np.array([x, y, size[2] / 2]), np.array(size), 0.0))
        self.mirror_ = SceneMirror(objects, self.materials)
        self.static_objects = objects
        self.car_xy = np.column_stack([rng.uniform(0.0, 250.0, n_cars),
                                       rng.choice([-5.25, -1.75, 1.75, 5.25], n_cars)])
        self.car_v = np.where(self.car_xy[:, 1] > 0, -8.0, 8.0)
        self.car_ids = np.arange(2, 2 + n_cars)
        for iid in self.car_ids:
            self.materials.set(int(iid), SEMANTIC_CLASSES["vehicle"], DEFAULT_MATERIALS[
                "car_paint"])
        self._placed = -1.0

    def step(self, dt: float = 0.1) -> None:
        self.time_s += dt

    def _car_xy(self) -> np.ndarray:
        xy = self.car_xy.copy()
        xy[:, 0] += self.car_v * self.time_s
        return xy

    def mirror(self) -> SceneMirror:
        if self._placed != self.time_s:
            parts = [box_mesh(tuple(p), (4.5, 1.8, 1.5), 0.0) for p in self._car_xy()]
            verts = np.concatenate([v for v, _ in parts])
            tris = np.concatenate([t + 8 * i for i, (_, t) in enumerate(parts)])
            owner = np.repeat(self.car_ids, 12)
            self.mirror_.set_dynamic(verts, tris, owner, self.time_s)
            self._placed = self.time_s
        return self.mirror_

    def ego_pose(self, t_s: float | None = None) -> Pose:
        t = self.time_s if t_s is None else t_s
        return Pose(position=np.array([10.0 * t, -1.75, 0.0]), rotation=rot_z(0.0),
                    velocity=np.array([10.0, 0.0, 0.0]), time_s=t)

    def object_boxes(self) -> list[ObjectBox]:
        cars = [ObjectBox(int(i), SEMANTIC_CLASSES["vehicle"], f"car_{i}",
                          np.array([p[0], p[1], 0.75]), np.array([4.5, 1.8, 1.5]), 0.0)
                for i, p in zip(self.car_ids, self._car_xy())]
        return cars + self.boxes


def _make_world() -> tuple[Any, str]:
    try:
        from scenarios import DEFAULT_SCENARIO, load
        from simulator.world import World

        world = World(load(DEFAULT_SCENARIO))
        for _ in range(20):
            world.step()
        return world, "default_scenario"
    except Exception as exc:  # noqa: BLE001  (any failure: benchmark the fallback)
        logger.warning("World not usable (%s); using the synthetic street", exc)
        return SyntheticStreet(), "synthetic_street"


def _step(world: Any, n: int) -> None:
    for _ in range(n):
        world.step()


# --------------------------------------------------------------------------- timing
def _time_camera(world: Any, width: int, height: int, frames: int) -> tuple[float, Camera]:
    cfg = CameraConfig(type="camera", name=f"bench_{width}", width=width, height=height)
    cam = Camera(cfg, np.random.default_rng(0))
    cam.capture(world, world.time_s)  # warm-up: caches, page faults
    times = []
    for _ in range(frames):
        _step(world, 5)
        world.mirror()  # the world's own per-step work, not the camera's
        t0 = time.perf_counter()
        cam.capture(world, world.time_s)
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), cam


def _tinyrenderer_time(world: Any, cam: Camera, frames: int, shadow: bool) -> float:
    import pybullet as p

    client = p.connect(p.DIRECT)
    try:
        mirror = world.mirror()
        mats = mirror.materials
        meshes = _scene_meshes(world, mirror)
        for verts, tris, iid in meshes:
            rgba = list(mats.color_rgb[iid]) + [1.0]
            vs = p.createVisualShape(p.GEOM_MESH, vertices=verts.tolist(),
                                     indices=tris.reshape(-1).tolist(), rgbaColor=rgba,
                                     physicsClientId=client)
            p.createMultiBody(baseMass=0, baseVisualShapeIndex=vs, physicsClientId=client)
        cfg = cam.config
        pose = cam.sensor_pose(world, world.time_s)
        rot_wo = pose.rotation @ R_SENSOR_FROM_OPTICAL
        eye = pose.position
        view = p.computeViewMatrix(eye.tolist(), (eye + rot_wo[:, 2]).tolist(),
                                   (-rot_wo[:, 1]).tolist(), physicsClientId=client)
        vfov = np.degrees(2 * np.arctan(cfg.height / 2 / cam.model.fy))
        proj = p.computeProjectionMatrixFOV(vfov, cfg.width / cfg.height, 0.1,
                                            cfg.max_range_m, physicsClientId=client)
        light = list(cam.lighting.sun_dir * 100.0)
        times = []
        for _ in range(frames + 1):
            t0 = time.perf_counter()
            p.getCameraImage(cfg.width, cfg.height, view, proj, renderer=p.ER_TINY_RENDERER,
                             shadow=int(shadow), lightDirection=light,
                             physicsClientId=client)
            times.append(time.perf_counter() - t0)
        return float(np.median(times[1:]))
    finally:
        p.disconnect(physicsClientId=client)


def _scene_meshes(world: Any, mirror: SceneMirror) -> list[tuple[np.ndarray, np.ndarray, int]]:
    """(vertices, triangles, instance id) per object of the mirror, ego excluded."""
    out = []
    verts = mirror._static_vertices
    for iid, tri_idx in mirror._static_index().items():
        tris = mirror._static_triangles[tri_idx]
        used, local = np.unique(tris, return_inverse=True)
        out.append((verts[used], local.reshape(-1, 3), iid))
    dv, dt, owner = mirror.dynamic_mesh()
    for iid in np.unique(owner):
        if iid == world.ego_instance_id:
            continue
        used, local = np.unique(dt[owner == iid], return_inverse=True)
        out.append((dv[used], local.reshape(-1, 3), int(iid)))
    return out


def run(quick: bool = False) -> dict[str, float]:
    """Benchmark figures (medians); ``quick`` uses fewer frames."""
    world, scene_name = _make_world()
    frames = 5 if quick else 15
    t720, cam720 = _time_camera(world, 1280, 720, frames)
    t480, _ = _time_camera(world, 640, 480, frames)
    # TinyRenderer on the same world and camera pose as our last 720p frames.
    tiny = _tinyrenderer_time(world, cam720, 2 if quick else 3, shadow=True)
    tiny_ns = _tinyrenderer_time(world, cam720, 2 if quick else 3, shadow=False)
    logger.info("scene %s: 720p %.1f ms, 480p %.1f ms, tinyrenderer %.1f / %.1f ms",
                scene_name, t720 * 1e3, t480 * 1e3, tiny * 1e3, tiny_ns * 1e3)
    return {
        "camera_720p_fps": 1.0 / t720,
        "camera_480p_fps": 1.0 / t480,
        "camera_speedup_vs_tinyrenderer": tiny / t720,
        "camera_speedup_vs_tinyrenderer_noshadow": tiny_ns / t720,
        "camera_720p_ms": t720 * 1e3,
        "tinyrenderer_720p_ms": tiny * 1e3,
    }


if __name__ == "__main__":
    print(json.dumps(run()))
