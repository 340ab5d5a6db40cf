"""Rain streaks: falling drops near a camera, motion-blurred over the exposure.

Optional (``weather.rain_streaks``), drawn into the linear image before the noise, from the
camera's own generator. The model follows Garg & Nayar ("Detection and removal of rain
from videos", CVPR 2004): a drop of diameter D at depth z falls at its terminal velocity
v(D) = 9.65 - 10.3 exp(-0.6 D[mm]) m/s (Atlas et al. 1973) and draws, over the exposure T,
a vertical streak ``v T f / z`` pixels long; it covers each pixel of it for only
``D / v`` of the exposure, so the streak blends the drop's radiance (the airlight: a drop
refracts the bright environment) into the image with weight
``alpha = min(1, D / (v T)) * min(1, D f / z)`` (the second factor: a drop thinner than a
pixel covers part of it). Drops come from the Marshall-Palmer size distribution
(``sensors.weather.drops_per_m3``) larger than ``MIN_DROP_MM``, uniformly in the view
frustum between ``NEAR_M`` and ``FAR_M`` (farther drops are too thin to see); their number
per frame is Poisson. Distortion is neglected for the streak positions.
"""

from __future__ import annotations

import cv2
import numpy as np

from sensors.camera_model import CameraModel
from sensors.weather import _MP_EXP, _MP_LAMBDA, drops_per_m3

MIN_DROP_MM = 1.0
NEAR_M = 0.5
FAR_M = 4.0
DEFAULT_EXPOSURE_S = 1.0 / 250.0
"""Exposure assumed when the camera's noise model sets none (no motion blur)."""
_LEVELS = 8


class RainStreaks:
    """Streak drawing for one camera and rain rate.

    Args:
        model: the camera's intrinsics.
        rain_rate_mm_h: rain rate R.
        radiance: (3,) float32 linear radiance of a drop (the airlight).
        exposure_s: the camera's exposure time (0: ``DEFAULT_EXPOSURE_S``).
    """

    def __init__(self, model: CameraModel, rain_rate_mm_h: float, radiance: np.ndarray,
                 exposure_s: float):
        self.model = model
        self.exposure_s = exposure_s if exposure_s > 0 else DEFAULT_EXPOSURE_S
        self.radiance = np.asarray(radiance, np.float32).reshape(3, 1)
        self.lam = _MP_LAMBDA * rain_rate_mm_h ** _MP_EXP
        self.x_half = model.width / 2.0 / model.fx
        self.y_half = model.height / 2.0 / model.fy
        volume = 4.0 / 3.0 * self.x_half * self.y_half * (FAR_M ** 3 - NEAR_M ** 3)
        self.mean_count = drops_per_m3(rain_rate_mm_h, MIN_DROP_MM) * volume
        self._mask = np.zeros((model.height, model.width), np.float32)

    def draw(self, image: np.ndarray, rng: np.random.Generator) -> None:
        """Blend this frame's streaks into the (H, W, 3) float32 linear ``image``."""
        m = self.model
        k = int(rng.poisson(self.mean_count))
        if k == 0:
            return
        u = rng.random((5, k))
        z = np.cbrt(NEAR_M ** 3 + u[0] * (FAR_M ** 3 - NEAR_M ** 3))
        px = m.cx + m.fx * (2.0 * u[1] - 1.0) * self.x_half
        py = m.cy + m.fy * (2.0 * u[2] - 1.0) * self.y_half
        d_mm = MIN_DROP_MM - np.log1p(-u[3]) / self.lam
        v = 9.65 - 10.3 * np.exp(-0.6 * d_mm)
        length = v * self.exposure_s * m.fy / z
        d_m = d_mm / 1000.0
        alpha = np.minimum(1.0, d_m / (v * self.exposure_s)) * np.minimum(1.0, d_m * m.fy / z)
        # A streak started up to its length above the frame's top can still show.
        py -= u[4] * length
        mask = self._mask
        mask.fill(0.0)
        level = np.minimum((alpha * _LEVELS / alpha.max()).astype(int), _LEVELS - 1)
        top = float(alpha.max())
        for lv in range(_LEVELS):
            sel = np.flatnonzero(level == lv)
            if len(sel) == 0:
                continue
            pts = np.stack([np.stack([px[sel], py[sel]], 1),
                            np.stack([px[sel], py[sel] + length[sel]], 1)], 1)
            lines = list(np.round(pts).astype(np.int32))
            cv2.polylines(mask, lines, False, float(top * (lv + 0.5) / _LEVELS), 1)
        h, w = mask.shape
        n = h * w
        img3 = image.reshape(n, 1, 3)
        one_minus = np.subtract(np.float32(1.0), mask).reshape(n, 1)
        cv2.multiply(img3, cv2.merge([one_minus] * 3), dst=img3)
        add = cv2.transform(mask.reshape(n, 1, 1), self.radiance)
        cv2.add(img3, add, dst=img3)
