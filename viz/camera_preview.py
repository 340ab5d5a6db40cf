"""Human-viewable renderings of a camera ``Measurement`` (BGR uint8, for ``cv2.imwrite``)."""

from __future__ import annotations

import cv2
import numpy as np

from sensors.base import Measurement
from simulator.scene.semantics import CLASS_COLORS

_PALETTE_RGB = np.zeros((256, 3), np.uint8)
for _cls, _rgb in CLASS_COLORS.items():
    _PALETTE_RGB[_cls] = _rgb
_PALETTE_BGR = np.ascontiguousarray(_PALETTE_RGB[:, ::-1])


def rgb_with_boxes(measurement: Measurement, min_visible_pixels: int = 0) -> np.ndarray:
    """The camera image with every GT 2D box drawn, labelled ``class_name#instance_id``.

    Box colours follow the semantic palette.
    """
    img = cv2.cvtColor(measurement.data["rgb"], cv2.COLOR_RGB2BGR)
    for box in measurement.gt.get("boxes", []):
        if box["visible_pixels"] < min_visible_pixels:
            continue
        x0, y0, x1, y1 = (int(round(c)) for c in box["box_2d"])
        color = tuple(int(c) for c in _PALETTE_BGR[box["semantic"] % 256])
        cv2.rectangle(img, (x0, y0), (x1, y1), color, 1)
        label = f"{box['class_name']}#{box['instance_id']}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.4, 1)
        ty = max(y0, th + base)
        cv2.rectangle(img, (x0, ty - th - base), (x0 + tw, ty), color, -1)
        cv2.putText(img, label, (x0, ty - base), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                    (255, 255, 255), 1, cv2.LINE_AA)
    return img


def depth_image(measurement: Measurement, max_depth_m: float | None = None) -> np.ndarray:
    """Colormapped z-depth (near bright, far dark, nothing hit black).

    Args:
        measurement: a camera measurement.
        max_depth_m: depth mapped to the darkest colour; default the 99th percentile.
    """
    depth = measurement.gt["depth_m"]
    finite = np.isfinite(depth)
    if max_depth_m is None:
        max_depth_m = float(np.percentile(depth[finite], 99)) if finite.any() else 1.0
    # Inverse-ish scale: nearby detail matters more than far.
    scaled = 1.0 - np.sqrt(np.clip(np.where(finite, depth, max_depth_m) / max_depth_m, 0, 1))
    img = cv2.applyColorMap((scaled * 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
    img[~finite] = 0
    return img


def semantic_image(measurement: Measurement) -> np.ndarray:
    """Semantic classes in the ``CLASS_COLORS`` palette."""
    return _PALETTE_BGR[measurement.gt["semantic"]]
