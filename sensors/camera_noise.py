"""Camera image noise: exposure gain, vignetting, motion blur, shot + read noise.

Applied to the linear radiance image (1.0 = full well) before the sRGB encoding; the GT
never passes through here. All randomness comes from the sensor's injected generator.

Shot noise is Poisson in electrons (``e = L * full_well``); with read noise it is
approximated by one Gaussian per pixel and channel with variance ``L / full_well +
read_std**2`` (in full-scale units). The standard normal draws are centred binomials:
the popcount of 16 random bits has mean 8 and variance 4, so ``(popcount - 8) / 2`` has
exactly mean 0 and variance 1, follows the normal CDF to ~2 % and is cut at 4 sigma; it
costs a tenth of ``Generator.standard_normal`` (30 ms at 720p, more than the whole shading
pass).
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
        self._draws = np.empty((n, 3), np.float32)
        self._count = np.empty(n * 3, np.uint8)

    def centred_binomial(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """(size,) int8 draws of popcount(16 random bits) - 8: mean 0, variance 4."""
        raw = rng.bit_generator.random_raw((size + 3) // 4)
        count = self._count[:size] if size <= len(self._count) else np.empty(size, np.uint8)
        np.bitwise_count(raw.view(np.uint16)[:size], out=count)
        count -= np.uint8(8)  # wraps to -8..8 when read as int8
        return count.view(np.int8)

    def apply(self, linear: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Saturation, shot + read noise, in place on the (H*W, 3) linear image.

        Exposure gain and vignetting are already applied (``gain_map``, via the shader).
        cv2's element-wise ops are used where they beat numpy's (min/max/sqrt: 2-4x).
        """
        cfg = self.cfg
        n = len(linear)
        lin3 = linear.reshape(n, 1, 3)
        sig3 = self._sigma.reshape(n, 1, 3)
        cv2.min(lin3, (1.0, 1.0, 1.0, 1.0), dst=lin3)  # full well (a bare 1.0 is (1,0,0,0))
        # sigma^2 / 4 (the binomial draws have variance 4) = L / (4 FW) + read^2 / 4.
        cv2.addWeighted(lin3, 1.0 / (4.0 * cfg.full_well_electrons), lin3, 0.0,
                        cfg.read_noise_std ** 2 / 4.0, dst=sig3)
        cv2.sqrt(sig3, dst=sig3)
        draws = self.centred_binomial(rng, sig3.size)
        np.copyto(self._draws, draws.reshape(n, 3), casting="unsafe")
        cv2.multiply(sig3, self._draws.reshape(n, 1, 3), dst=sig3)
        cv2.add(lin3, sig3, dst=lin3)
        return linear
