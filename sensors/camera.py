"""The RGB camera (``type: camera``): one ray per pixel against the world's Embree mirror.

Per capture: rotate the precomputed pixel rays (optical frame) to the world; cast them all
against the static scene (BVH built once) and, only inside the pixel regions the moving
actors can cover, against the moving geometry (the ego's body left out); shade (material
colour x (ambient + sun Lambert), shadow rays only where a surface faces the sun, sky
gradient where nothing is hit); apply the noise model and the sRGB transfer curve. GT is
exact and noise-free: z-depth, semantic and instance masks, intrinsics, distortion and
per-object boxes (see ``sensors.camera_gt``).

The ego's own body is not rendered (nor does it cast shadows): a mount inside its box
would otherwise see only its inside.

Weather (``world.weather``, physics in ``sensors.weather``): the sun's direction and the
daylight level set the shading and the shadow rays; fog and rain blend each pixel towards
the airlight with its path length (Koschmieder) in linear radiance; optional rain streaks
(``sensors.camera_rain``); auto-exposure gain after the noise in dim light. A camera's own
``sun_azimuth_deg`` / ``sun_elevation_deg`` override the weather's sun. In the default
weather none of these passes runs.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import cv2
import numpy as np
import open3d as o3d

from scenarios.sensor_schema import CameraConfig
from scenarios.weather_schema import Weather
from sensors.base import Measurement, MountedSensor, register
from sensors.camera_gt import BoxAnnotator
from sensors.camera_model import R_SENSOR_FROM_OPTICAL, CameraModel
from sensors.camera_noise import CameraNoiseModel, image_flow, motion_blur
from sensors.camera_rain import RainStreaks
from sensors.camera_shading import Lighting, Shader, SunShadows
from sensors.srgb import encode_srgb, linear_colors
from sensors.weather import apply_airlight, daylight, math_azimuth_deg, visible_extinction_per_m
from sensors.world_view import WorldView
from simulator.pose import Pose
from simulator.scene.mirror import SceneMirror

log = logging.getLogger(__name__)

# Shadow rays ignore geometry lying entirely below this height (roads, markings, kerbs):
# it can cast shadows at most ~this long, and leaving it out makes shadow rays ~20 % cheaper.
_SHADOW_CASTER_MIN_M = 0.2


class _Dynamic:
    """The moving geometry of one capture, without the ego: scene, instance table and
    vertices grouped per actor (for the pixel regions it can cover)."""

    def __init__(self, mirror: SceneMirror, ego: int):
        self.ego = ego
        self.scene, self.table = mirror.dynamic_scene(ego)
        verts, tris, tri_inst = mirror.dynamic_mesh()
        vert_inst = np.full(len(verts), ego, np.int64)
        vert_inst[tris.reshape(-1)] = np.repeat(tri_inst, 3)
        keep = vert_inst != ego
        self.vertices = np.asarray(verts, np.float64)[keep]
        self.owner = vert_inst[keep]


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
        self._region_mask = np.zeros((h, w), np.uint8)
        self._floor_of: SceneMirror | None = None
        self._floor = 0.0
        self._weather: Weather | None = None
        self._fog_bufs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self.shadows: SunShadows | None = None
        self._set_weather(Weather())
        self.annotator = BoxAnnotator(self.model)
        self.noise_model = CameraNoiseModel(self.noise, zfac) if self.noise else None
        # Normalized pinhole coordinates per pixel (motion blur's flow field).
        self._xn = (dirs[:, 0] / dirs[:, 2]).reshape(h, w)
        self._yn = (dirs[:, 1] / dirs[:, 2]).reshape(h, w)
        log.debug("camera %s: %dx%d, K=%s, distortion=%s", self.name, w, h,
                  self.model.K.tolist(), self.model.distortion.tolist())

    # ------------------------------------------------------------------ capture
    def capture(self, world: WorldView, t: float) -> Measurement:
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
        weather = world.weather
        if weather is not self._weather and weather != self._weather:
            self._set_weather(weather)
        mirror = world.mirror()
        materials = mirror.materials
        ego = world.ego_instance_id
        self._build_rays(rot_wo, origin)
        dyn = _Dynamic(mirror, ego)
        t_hit, instance, normals = self._cast_primary(mirror, dyn, rot_wo, origin)
        if np.isfinite(cfg.max_range_m):
            far = t_hit > np.float32(cfg.max_range_m)
            if far.any():
                t_hit[far] = np.inf
                instance[far] = 0
                normals[far] = 0.0
        depth = np.multiply(t_hit, self._zfac)
        semantic = np.take(materials.semantic, instance)

        colors = linear_colors(materials.color_rgb)
        dirs_w = self._dirs_w3.reshape(-1, 3)
        shadow_fn = None
        if cfg.shadows and self._sun_lit:
            def shadow_fn(sun_factor: np.ndarray) -> np.ndarray:
                return self._sun_blocked(mirror, dyn, sun_factor, t_hit, instance, rot_wo,
                                         origin)
        gain = self.noise_model.gain_map if self.noise_model is not None else None
        sky_key = rot_wo[2].tobytes()  # the sky gradient depends on roll and pitch only
        if sky_key != self._sky_key:
            self._sky, self._sky_key = self.shader.sky_intensity(dirs_w), sky_key
        linear = self.shader.shade(instance, t_hit, normals, dirs_w, colors, self._linear,
                                   shadow_fn, gain, self._sky)
        if self._beta > 0.0:
            if self._fog_bufs is None:
                n = len(t_hit)
                self._fog_bufs = (np.empty(n, np.float32), np.empty(n, np.float32),
                                  np.empty((n, 1, 3), np.float32))
            apply_airlight(linear, t_hit, self._beta, self._airlight, gain, *self._fog_bufs)
        if self.rain_streaks is not None:
            self.rain_streaks.draw(linear.reshape(h, w, 3), self.rng)

        if self.noise_model is not None:
            linear = self._apply_noise(linear, depth.reshape(h, w), pose, rot_wo)
        if self._auto_gain != 1.0:
            linear *= np.float32(self._auto_gain)
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
    def _set_weather(self, weather: Weather) -> None:
        """Lighting, shadow rays, fog and exposure for ``weather`` (once per weather)."""
        cfg = self.config
        h, w = cfg.height, cfg.width
        az = (cfg.sun_azimuth_deg if cfg.sun_azimuth_deg is not None
              else math_azimuth_deg(weather.sun_azimuth_deg))
        el = (cfg.sun_elevation_deg if cfg.sun_elevation_deg is not None
              else weather.sun_elevation_deg)
        day = daylight(weather, el)
        lighting = Lighting.from_angles(az, el)
        if not day.is_reference:
            sky = day.sky * day.exposure
            lighting = replace(lighting, sun=lighting.sun * day.sun * day.exposure,
                               ambient=lighting.ambient * sky,
                               sky_rgb=tuple(c * sky for c in lighting.sky_rgb))
        self._weather = weather
        self.lighting = lighting
        self._sun = np.asarray(lighting.sun_dir, np.float32)
        self._sun_lit = lighting.sun > 0.0 and el > 0.0
        adaptive = self.shadows.adaptive if self.shadows is not None else True
        self.shadows = SunShadows(h, w, self._sun, adaptive)
        self.shader = Shader(h * w, lighting)
        self._sky_key = b""
        self._sky = np.ones(h * w, np.float32)
        self._auto_gain = day.gain
        self._beta = visible_extinction_per_m(weather)
        # Airlight: the fog colour lit like a white horizontal Lambertian surface.
        white = lighting.ambient + lighting.sun * max(0.0, math.sin(math.radians(el)))
        self._airlight = linear_colors(np.asarray(weather.fog_color_rgb, np.float64) / 255.0
                                       ) * np.float32(white)
        self.rain_streaks = (RainStreaks(self.model, weather.rain_rate_mm_h, self._airlight,
                                         self.noise.exposure_time_s if self.noise else 0.0)
                             if weather.rain_streaks and weather.rain_rate_mm_h > 0 else None)

    def _build_rays(self, rot_wo: np.ndarray, origin: np.ndarray) -> None:
        """Primary rays (origin + world direction per pixel) into ``self._rays``."""
        n = len(self._rays)
        cv2.transform(self._dirs_opt3, rot_wo.astype(np.float32), dst=self._dirs_w3)
        put_origin = np.zeros((3, 4), np.float32)
        put_origin[:, 3] = origin
        cv2.transform(self._dirs_opt3, put_origin, dst=self._orig3)
        cv2.mixChannels([self._orig3, self._dirs_w3], [self._rays.reshape(n, 1, 6)],
                        [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5])

    def _cast_primary(self, mirror: SceneMirror, dyn: _Dynamic, rot_wo: np.ndarray,
                      origin: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest hit per pixel: (t_hit, instance id, normal), flat.

        The static scene's BVH is built once; the moving geometry is cast only for the
        pixels whose rays can reach it (each actor's projected bounding region), which
        beats rebuilding a merged BVH every frame (~7 ms) and casting it whole.
        """
        n = len(self._rays)
        static, table = mirror.static_scene(dyn.ego)
        if static is None:
            t_hit = np.full(n, np.inf, np.float32)
            instance = np.zeros(n, np.int32)
            normals = np.zeros((n, 3), np.float32)
        else:
            res = static.cast_rays(o3d.core.Tensor.from_numpy(self._rays))
            t_hit, normals = res["t_hit"].numpy(), res["primitive_normals"].numpy()
            instance = np.take(table, res["primitive_ids"].numpy(), mode="clip")
        if dyn.scene is None:
            return t_hit, instance, normals
        rows = self._pixels_near(dyn.vertices, dyn.owner, rot_wo, origin)
        if len(rows):
            res = dyn.scene.cast_rays(o3d.core.Tensor.from_numpy(
                np.take(self._rays, rows, axis=0)))
            t_dyn = res["t_hit"].numpy()
            closer = t_dyn < t_hit[rows]
            if closer.any():
                sel = rows[closer]
                t_hit[sel] = t_dyn[closer]
                instance[sel] = np.take(dyn.table, res["primitive_ids"].numpy()[closer],
                                        mode="clip")
                normals[sel] = res["primitive_normals"].numpy()[closer]
        return t_hit, instance, normals

    def _sun_blocked(self, mirror: SceneMirror, dyn: _Dynamic, sun_factor: np.ndarray,
                     t_hit: np.ndarray, instance: np.ndarray, rot_wo: np.ndarray,
                     origin: np.ndarray) -> np.ndarray:
        """(n,) True where the sun is blocked: static casters for every lit pixel
        (adaptively sampled), moving ones only where their shadow can fall."""
        dirs_w = self._dirs_w3.reshape(-1, 3)
        casters, _ = mirror.static_scene(dyn.ego, _SHADOW_CASTER_MIN_M)
        if casters is None:
            blocked = np.zeros(len(t_hit), bool)
        else:
            blocked = self.shadows.blocked(casters, sun_factor, t_hit, dirs_w, instance,
                                           origin)
        if dyn.scene is None:
            return blocked
        # Points an actor can shade lie between it and its projection along the sun onto
        # the lowest floor of the world.
        v = dyn.vertices
        floor = min(float(v[:, 2].min()), self._static_floor(mirror))
        drop = (v[:, 2] - floor) / self._sun[2]
        ground = v - drop[:, None] * self._sun
        rows = self._pixels_near(np.concatenate([v, ground]), np.concatenate([dyn.owner] * 2),
                                 rot_wo, origin)
        rows = rows[(sun_factor[rows] > 0.0) & ~blocked[rows]]
        if len(rows):
            blocked[rows] = self.shadows.blocked_at(dyn.scene, rows, t_hit, dirs_w, origin)
        return blocked

    def _pixels_near(self, points_world: np.ndarray, owner: np.ndarray, rot_wo: np.ndarray,
                     origin: np.ndarray) -> np.ndarray:
        """Flat indices of the pixels whose rays may pass through the convex hull of any
        group of world points (the union of ``CameraModel.screen_regions``)."""
        _, regions = self.model.screen_regions((points_world - origin) @ rot_wo, owner)
        mask = self._region_mask
        mask.fill(0)
        for r0, r1, c0, c1 in regions.tolist():
            mask[r0:r1, c0:c1] = 1
        return np.flatnonzero(mask)

    def _static_floor(self, mirror: SceneMirror) -> float:
        """Lowest static vertex height [m] (cached per mirror)."""
        if self._floor_of is not mirror:
            self._floor = float(mirror.static_bounds()[0][2])
            self._floor_of = mirror
        return self._floor

    def _apply_noise(self, linear: np.ndarray, depth: np.ndarray, pose: Pose,
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
