"""Bird's-eye preview of a lidar sweep (for videos and quick looks).

The image is centred on the sensor: x (forward) points up, y (left) points left, one pixel
is ``2 range_m / size_px`` metres. Points are coloured by intensity through the turbo
colormap of ``sqrt(intensity)`` (the square root spreads the many weak returns of far and
grazing surfaces); grey rings mark every 10 m (every 20 m beyond 100 m of view).
"""

from __future__ import annotations

import cv2
import numpy as np

from sensors.base import Measurement

_RING_BGR = (70, 70, 70)
_EGO_BGR = (255, 255, 255)
_LUT = cv2.applyColorMap(np.arange(256, dtype=np.uint8).reshape(-1, 1),
                         cv2.COLORMAP_TURBO).reshape(256, 3)


def lidar_bev_image(measurement: Measurement, size_px: int = 800,
                    range_m: float = 60.0) -> np.ndarray:
    """Render the sweep's points seen from above.

    Args:
        measurement: a lidar ``Measurement`` (uses ``data["points"]`` and
            ``data["intensity"]``, sensor frame).
        size_px: image width and height [px].
        range_m: distance from the centre to the image edge [m].

    Returns:
        (size_px, size_px, 3) uint8 BGR image (ready for ``cv2.imwrite``).
    """
    img = np.zeros((size_px, size_px, 3), np.uint8)
    centre = size_px / 2.0
    scale = size_px / (2.0 * range_m)
    step = 10.0 if range_m <= 100 else 20.0
    for r in np.arange(step, range_m * np.sqrt(2.0), step):
        cv2.circle(img, (int(round(centre)), int(round(centre))), int(round(r * scale)),
                   _RING_BGR, 1, cv2.LINE_AA)

    points = np.asarray(measurement.data["points"])
    if len(points):
        intensity = np.asarray(measurement.data["intensity"], np.float32)
        col = (centre - points[:, 1] * scale).astype(np.int32)
        row = (centre - points[:, 0] * scale).astype(np.int32)
        inside = (col >= 0) & (col < size_px) & (row >= 0) & (row < size_px)
        order = np.argsort(intensity[inside], kind="stable")   # bright points drawn last
        level = np.sqrt(np.clip(intensity[inside][order], 0.0, 1.0)) * 255.0
        img[row[inside][order], col[inside][order]] = _LUT[level.astype(np.uint8)]

    # Ego marker: a small forward-pointing triangle at the sensor.
    c = int(round(centre))
    tri = np.array([[c, c - 7], [c - 4, c + 5], [c + 4, c + 5]], np.int32)
    cv2.fillPoly(img, [tri], _EGO_BGR, cv2.LINE_AA)
    return img
