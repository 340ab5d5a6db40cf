"""Camera benchmark: full captures per second, and the speed-up over pybullet's TinyRenderer.

``run()`` times ``Camera.capture`` of the camera as the default rig ships it: the default
scenario's ``front_camera`` config unchanged (1280x720, its mount, its noise including the
5 ms motion blur; RGB shaded with sun shadows, depth, semantic, instance and per-object
boxes), and the same config at 640x480, on the default scenario's ``World``, stepping the
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

from benchmarks.scenes import default_world
from scenarios import DEFAULT_SCENARIO, load
from scenarios.sensor_schema import CameraConfig
from sensors.camera import Camera
from sensors.camera_model import R_SENSOR_FROM_OPTICAL
from simulator.scene.mirror import SceneMirror

logger = logging.getLogger(__name__)


def _step(world: Any, n: int) -> None:
    for _ in range(n):
        world.step()


# --------------------------------------------------------------------------- timing
def default_camera_config() -> CameraConfig:
    """The default scenario's camera, exactly as its rig ships it."""
    cams = [s for s in load(DEFAULT_SCENARIO).sensors if isinstance(s, CameraConfig)]
    if not cams:
        raise RuntimeError(f"{DEFAULT_SCENARIO} has no camera to benchmark")
    return cams[0]


def _time_camera(world: Any, cfg: CameraConfig, frames: int) -> tuple[float, Camera]:
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
    from simulator.scene.quiet_pybullet import p

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
    with default_world(steps=20) as world:
        return _measure(world, quick)


def _measure(world: Any, quick: bool) -> dict[str, float]:
    scene_name = "default_scenario"
    frames = 5 if quick else 15
    cfg = default_camera_config()
    if (cfg.width, cfg.height) != (1280, 720):
        raise RuntimeError(f"the default camera is {cfg.width}x{cfg.height}, the 720p "
                           "figure expects 1280x720")
    t720, cam720 = _time_camera(world, cfg, frames)
    t480, _ = _time_camera(world, cfg.model_copy(update={"width": 640, "height": 480}), frames)
    # TinyRenderer on the same world and camera pose as our last 720p frames.
    tiny = _tinyrenderer_time(world, cam720, 2 if quick else 3, shadow=True)
    tiny_ns = _tinyrenderer_time(world, cam720, 2 if quick else 3, shadow=False)
    logger.info("scene %s, camera %s (motion blur %.3f s): 720p %.1f ms, 480p %.1f ms, "
                "tinyrenderer %.1f / %.1f ms", scene_name, cfg.name,
                cfg.noise.exposure_time_s if cfg.noise else 0.0, t720 * 1e3, t480 * 1e3,
                tiny * 1e3, tiny_ns * 1e3)
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
