"""The RGB camera (``type: camera``): one ray per pixel against the world's Embree mirror.

Per capture: rotate the precomputed pixel rays (optical frame) to the world, cast them
against the merged static + dynamic scene (the ego's body left out), shade (material colour
x (ambient + sun Lambert), shadow rays only where a surface faces the sun, sky gradient
where nothing is hit), apply the noise model and the gamma. GT is exact and noise-free:
z-depth, semantic and instance masks, intrinsics, distortion and per-object boxes (see
``sensors.camera_gt``).

The ego's own body is not rendered (nor does it cast shadows): a mount inside its box
would otherwise see only its inside.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
import open3d as o3d

from scenarios.sensor_schema import CameraConfig
from sensors.base import Measurement, MountedSensor, register
from sensors.camera_gt import BoxAnnotator
from sensors.camera_model import R_SENSOR_FROM_OPTICAL, CameraModel
from sensors.camera_noise import CameraNoiseModel, image_flow, motion_blur
from sensors.camera_shading import Lighting, Shader, SunShadows, encode_srgb, linear_colors

log = logging.getLogger(__name__)

_INVALID = np.uint32(o3d.t.geometry.RaycastingScene.INVALID_ID)
# Shadow rays ignore geometry lying entirely below this height (roads, markings, kerbs):
# it can cast shadows at most ~this long, and leaving it out makes shadow rays ~20 % cheaper.
_SHADOW_CASTER_MIN_M = 0.2


@register("camera")
class Camera(MountedSensor):
    """A pinhole camera with Brown-Conrady distortion, shading, noise and exact GT.

    Args:
        config: the validated camera config.
        rng: this sensor's own generator (noise only).
    """

    def __init__(self, config: CameraConfig, rng: np.random.Generator):
        super().__init__(config, rng)
        self.model = CameraModel.from_fov(config.width, config.height, config.fov_deg,
                                          config.distortion)
        h, w = config.height, config.width
        n = h * w
        dirs, zfac = self.model.ray_directions()
        self._dirs_opt = dirs
        self._zfac = zfac
        # Per-pixel work uses cv2.transform / mixChannels: SIMD, and no BLAS threads
        # (numpy matmul stalled for >100 ms when the two cores were shared).
        self._dirs_opt3 = dirs.reshape(n, 1, 3)
        self._dirs_w3 = np.empty((n, 1, 3), np.float32)
        self._orig3 = np.empty((n, 1, 3), np.float32)
        self._rays = np.empty((n, 6), np.float32)
        self._linear = np.empty((n, 3), np.float32)
        self.lighting = Lighting.from_angles(config.sun_azimuth_deg, config.sun_elevation_deg)
        self._sun = np.asarray(self.lighting.sun_dir, np.float32)
        self.shadows = SunShadows(h, w, self._sun)
        self.shader = Shader(n, self.lighting)
        self._sky_key = b""
        self._sky = np.ones(n, np.float32)
        self.annotator = BoxAnnotator(self.model)
        self.noise_model = CameraNoiseModel(self.noise, zfac) if self.noise else None
        # Normalized pinhole coordinates per pixel (motion blur's flow field).
        self._xn = (dirs[:, 0] / dirs[:, 2]).reshape(h, w)
        self._yn = (dirs[:, 1] / dirs[:, 2]).reshape(h, w)
        log.debug("camera %s: %dx%d, K=%s, distortion=%s", self.name, w, h,
                  self.model.K.tolist(), self.model.distortion.tolist())

    # ------------------------------------------------------------------ capture
    def capture(self, world: Any, t: float) -> Measurement:
        """Render the camera at simulation time ``t`` [s].

        Returns:
            A ``Measurement`` whose ``pose`` is the sensor frame (x forward, y left, z up)
            and with ``data["rgb"]`` (H, W, 3) uint8 RGB (noisy if noise is on) and ``gt``:
            ``depth_m`` (H, W) float32 z-depth along the optical axis (``inf``: nothing
            hit), ``semantic`` (H, W) uint8, ``instance`` (H, W) int32 (0: nothing),
            ``intrinsics`` K (3, 3), ``distortion`` (5,) k1 k2 p1 p2 k3,
            ``world_from_camera`` (4, 4) pose of the optical frame (x right, y down,
            z forward) and ``boxes`` (list of dicts, see ``sensors.camera_gt``).
        """
        cfg = self.config
        h, w = cfg.height, cfg.width
        pose = self.sensor_pose(world, t)
        rot_wo = pose.rotation @ R_SENSOR_FROM_OPTICAL
        origin = np.asarray(pose.position, np.float64)
        mirror = world.mirror()
        materials = mirror.materials
        scene, tri_table = mirror.merged_scene(exclude_instance=world.ego_instance_id)

        t_hit, prim, normals = self._cast(scene, rot_wo, origin)
        if np.isfinite(cfg.max_range_m):
            far = t_hit > np.float32(cfg.max_range_m)
            if far.any():
                t_hit[far] = np.inf
                prim[far] = _INVALID
                normals[far] = 0.0
        instance = np.take(tri_table, prim, mode="clip")
        depth = np.multiply(t_hit, self._zfac)
        semantic = np.take(materials.semantic, instance)

        colors = linear_colors(materials.color_rgb)
        dirs_w = self._dirs_w3.reshape(-1, 3)
        shadow_fn = None
        if cfg.shadows and scene is not None:
            casters, _ = mirror.merged_scene(world.ego_instance_id, _SHADOW_CASTER_MIN_M)

            def shadow_fn(sun_factor: np.ndarray) -> np.ndarray:
                if casters is None:
                    return np.zeros(len(sun_factor), bool)
                return self.shadows.blocked(casters, sun_factor, t_hit, dirs_w, instance,
                                            origin)
        gain = self.noise_model.gain_map if self.noise_model is not None else None
        sky_key = rot_wo[2].tobytes()  # the sky gradient depends on roll and pitch only
        if sky_key != self._sky_key:
            self._sky, self._sky_key = self.shader.sky_intensity(dirs_w), sky_key
        linear = self.shader.shade(instance, t_hit, normals, dirs_w, colors, self._linear,
                                   shadow_fn, gain, self._sky)

        if self.noise_model is not None:
            linear = self._apply_noise(linear, depth.reshape(h, w), pose, rot_wo)
        rgb = encode_srgb(linear.reshape(h, w, 3))

        instance = instance.reshape(h, w)
        boxes = self.annotator.annotate(world.object_boxes(), instance,
                                        self._dirs_w3.reshape(h, w, 3), rot_wo, origin,
                                        cfg.min_box_pixels, world.ego_instance_id, mirror)
        world_from_cam = np.eye(4)
        world_from_cam[:3, :3] = rot_wo
        world_from_cam[:3, 3] = origin
        return Measurement(
            sensor=self.name, sensor_type=self.type_name, time_s=t, pose=pose,
            data={"rgb": rgb},
            gt={"depth_m": depth.reshape(h, w), "semantic": semantic.reshape(h, w),
                "instance": instance, "intrinsics": self.model.K,
                "distortion": self.model.distortion.copy(), "boxes": boxes,
                "world_from_camera": world_from_cam})

    # ------------------------------------------------------------------ helpers
    def _cast(self, scene: o3d.t.geometry.RaycastingScene | None, rot_wo: np.ndarray,
              origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Primary rays -> (t_hit, primitive id, normal), flat per pixel."""
        n = len(self._rays)
        cv2.transform(self._dirs_opt3, rot_wo.astype(np.float32), dst=self._dirs_w3)
        put_origin = np.zeros((3, 4), np.float32)
        put_origin[:, 3] = origin
        cv2.transform(self._dirs_opt3, put_origin, dst=self._orig3)
        cv2.mixChannels([self._orig3, self._dirs_w3], [self._rays.reshape(n, 1, 6)],
                        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])
        if scene is None:
            return (np.full(n, np.inf, np.float32), np.full(n, _INVALID, np.uint32),
                    np.zeros((n, 3), np.float32))
        res = scene.cast_rays(o3d.core.Tensor.from_numpy(self._rays))
        return (res["t_hit"].numpy(), res["primitive_ids"].numpy(),
                res["primitive_normals"].numpy())

    def _apply_noise(self, linear: np.ndarray, depth: np.ndarray, pose: Any,
                     rot_wo: np.ndarray) -> np.ndarray:
        nm = self.noise_model
        h, w = depth.shape
        exposure = nm.cfg.exposure_time_s
        if exposure > 0.0:
            v_cam = rot_wo.T @ np.asarray(pose.velocity, np.float64)
            w_cam = rot_wo.T @ np.asarray(pose.angular_velocity, np.float64)
            if np.any(v_cam != 0.0) or np.any(w_cam != 0.0):
                du, dv = image_flow(depth, self._xn, self._yn, self.model.fx, self.model.fy,
                                    v_cam, w_cam)
                du *= np.float32(exposure)
                dv *= np.float32(exposure)
                blurred = motion_blur(linear.reshape(h, w, 3), du, dv)
                linear = np.ascontiguousarray(blurred).reshape(-1, 3)
        return nm.apply(linear, self.rng)
