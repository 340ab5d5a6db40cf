"""Preview images of sensor measurements, looked up by sensor type.

``preview_images(m)`` -> {suffix: BGR image} for one measurement; sensors whose previews
summarise a whole run (GNSS: true path vs fixes) are collected with ``wants_series`` and
drawn at the end by ``series_images``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from sensors.base import Measurement
from viz.camera_preview import depth_image, rgb_with_boxes, semantic_image
from viz.gnss_preview import gnss_plot
from viz.lidar_preview import lidar_bev_image


def _camera(m: Measurement) -> dict[str, np.ndarray]:
    return {"rgb": rgb_with_boxes(m), "depth": depth_image(m), "semantic": semantic_image(m)}


def _lidar(m: Measurement) -> dict[str, np.ndarray]:
    return {"bev": lidar_bev_image(m)}


def _gnss_series(ms: list[Measurement]) -> dict[str, np.ndarray]:
    return {"fixes": gnss_plot(ms)}


# type -> per-measurement previews; type -> whole-run previews.
PREVIEWS: dict[str, Callable[[Measurement], dict[str, np.ndarray]]] = {
    "camera": _camera,
    "lidar": _lidar,
}
SERIES_PREVIEWS: dict[str, Callable[[list[Measurement]], dict[str, np.ndarray]]] = {
    "gnss": _gnss_series,
}


def preview_images(m: Measurement) -> dict[str, np.ndarray]:
    fn = PREVIEWS.get(m.sensor_type)
    return fn(m) if fn is not None else {}


def wants_series(m: Measurement) -> bool:
    return m.sensor_type in SERIES_PREVIEWS


def series_images(ms: list[Measurement]) -> dict[str, np.ndarray]:
    if not ms:
        return {}
    return SERIES_PREVIEWS[ms[0].sensor_type](ms)
