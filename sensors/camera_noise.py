"""Camera image noise: exposure gain, vignetting, motion blur, shot + read noise.

Applied to the linear radiance image (1.0 = full well) before the gamma encoding; the GT
never passes through here. All randomness comes from the sensor's injected generator.

Shot noise is Poisson in electrons (``e = L * full_well``); with read noise it is
approximated by one Gaussian per pixel and channel with variance ``L / full_well +
read_std**2`` (in full-scale units). The standard normal draws are centred binomials:
the popcount of 32 random bits has mean 16 and variance 8, so ``(popcount - 16) / sqrt(8)``
has exactly mean 0 and variance 1 and is within ~1 % of the normal CDF; it costs a sixth
of ``Generator.standard_normal`` (30 ms at 720p, more than the whole shading pass).
"""

from __future__ import annotations

import cv2
import numpy as np

from scenarios.sensor_schema import CameraNoise


def vignetting_map(cos_theta: np.ndarray, strength: float) -> np.ndarray:
    """Relative illumination per pixel: 1 on the optical axis, ``1 - strength`` at the
    image corners, following the cos^4 law's shape in between.

    Args:
        cos_theta: cosine of each pixel ray's angle to the optical axis (any shape).
        strength: 0-1 darkening at the corners (the largest angle).
    """
    fall = 1.0 - np.asarray(cos_theta, np.float64) ** 4
    worst = float(fall.max())
    if worst <= 0.0 or strength == 0.0:
        return np.ones_like(cos_theta, np.float32)
    return (1.0 - strength * fall / worst).astype(np.float32)


def image_flow(depth_m: np.ndarray, xn: np.ndarray, yn: np.ndarray, fx: float, fy: float,
               v_cam: np.ndarray, w_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Image-space velocity [px/s] of static scene points seen by a moving camera.

    The classic motion field of a pinhole camera (Longuet-Higgins & Prazdny): a static
    point at optical-frame position P moves with ``-v - w x P`` relative to the camera.
    Distortion's Jacobian is neglected (flow is computed in the pinhole image).

    Args:
        depth_m: (H, W) z-depth, ``inf`` for sky (only rotation moves it).
        xn, yn: (H, W) normalized pinhole coordinates of the pixels.
        fx, fy: focal lengths [px].
        v_cam, w_cam: camera linear [m/s] and angular [rad/s] velocity, optical frame.
    """
    vx, vy, vz = (np.float32(c) for c in v_cam)
    wx, wy, wz = (np.float32(c) for c in w_cam)
    inv_z = np.divide(np.float32(1.0), depth_m, dtype=np.float32)  # 1/inf = 0
    xy = xn * yn
    du = (xn * vz - vx) * inv_z + wx * xy - wy * (1.0 + xn * xn) + wz * yn
    dv = (yn * vz - vy) * inv_z + wx * (1.0 + yn * yn) - wy * xy - wz * xn
    return (du * np.float32(fx)).astype(np.float32), (dv * np.float32(fy)).astype(np.float32)


def motion_blur(image: np.ndarray, du: np.ndarray, dv: np.ndarray,
                max_samples: int = 9) -> np.ndarray:
    """Average the image over the exposure, sampling shifted copies with ``cv2.remap``.

    Args:
        image: (H, W, C) float32 linear image at mid-exposure.
        du, dv: (H, W) image displacement over the whole exposure [px].
        max_samples: upper bound on the shifted copies averaged.

    Returns:
        The blurred image (a new array), or ``image`` itself if the motion is < 0.25 px.
    """
    longest = float(max(np.abs(du).max(), np.abs(dv).max()))
    if not np.isfinite(longest) or longest < 0.25:
        return image
    n = int(np.clip(np.ceil(longest) + 1, 2, max_samples))
    h, w = du.shape
    u, v = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    acc = np.zeros_like(image)
    mx = np.empty((h, w), np.float32)
    my = np.empty((h, w), np.float32)
    for s in np.linspace(-0.5, 0.5, n, dtype=np.float32):
        # The point seen at q at time s*T was at q - s*d at mid-exposure.
        np.multiply(du, -s, out=mx)
        mx += u
        np.multiply(dv, -s, out=my)
        my += v
        acc += cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    acc *= np.float32(1.0 / n)
    return acc


class CameraNoiseModel:
    """The configured noise for one camera, with its per-pixel maps precomputed.

    Args:
        cfg: the camera's noise configuration (enabled).
        cos_theta: (H*W,) cosine of each pixel ray to the optical axis.
    """

    def __init__(self, cfg: CameraNoise, cos_theta: np.ndarray):
        self.cfg = cfg
        n = len(cos_theta)
        # Exposure gain x vignetting: one factor per pixel, applied by the shader.
        self.gain_map = vignetting_map(cos_theta, cfg.vignetting) * np.float32(
            cfg.exposure_gain)
        self._sigma = np.empty((n, 3), np.float32)
        self._count = np.empty(n * 3, np.uint8)

    def centred_binomial(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """(size,) int8 draws of popcount(32 random bits) - 16: mean 0, variance 8."""
        raw = rng.bit_generator.random_raw((size + 1) // 2)
        count = self._count[:size] if size <= len(self._count) else np.empty(size, np.uint8)
        np.bitwise_count(raw.view(np.uint32)[:size], out=count)
        count -= np.uint8(16)  # wraps to -16..16 when read as int8
        return count.view(np.int8)

    def apply(self, linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Saturation, shot + read noise, in place on the (H*W, 3) linear image.

        Exposure gain and vignetting are already applied (``gain_map``, via the shader).
        """
        cfg = self.cfg
        np.minimum(linear, 1.0, out=linear)  # full well
        sigma = self._sigma
        # sigma / sqrt(8): the binomial draws have variance 8.
        np.multiply(linear, np.float32(1.0 / (8.0 * cfg.full_well_electrons)), out=sigma)
        sigma += np.float32(cfg.read_noise_std ** 2 / 8.0)
        np.sqrt(sigma, out=sigma)
        draws = self.centred_binomial(rng, sigma.size).reshape(sigma.shape)
        np.multiply(sigma, draws, out=sigma)
        linear += sigma
        return linear
