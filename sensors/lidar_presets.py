"""Spinning-lidar models: the manufacturers' beam tables and the scan geometry they imply.

Each preset carries the vertical angle table of the real sensor (elevations in degrees,
sorted ascending so that ring 0 is the lowest beam) and its default firings per rotation,
rotation rate and maximum range:

========  ====  ==================================  =======  ====  =====
preset    ch.   vertical angles [deg]               columns  Hz    range
========  ====  ==================================  =======  ====  =====
vlp16     16    -15 .. +15, every 2                 1800     10    100 m
hdl32e    32    -30.67 .. +10.67, every 4/3         2170     10    100 m
hdl64e    64    upper block +2 .. -8.33 every 1/3,  2048     10    120 m
                lower block -8.83 .. -24.33 every
                1/2 (HDL-64E S2/S3 manual)
os1_64    64    -16.6 .. +16.6, uniform (33.2)      1024     10    120 m
os1_128   128   -22.5 .. +22.5, uniform (45)        1024     10    120 m
========  ====  ==================================  =======  ====  =====

Explicit ``channels``, ``vertical_fov_deg``, ``columns``, ``rotation_hz`` and ``range_m`` in
the config override the preset. Giving ``vertical_fov_deg``, or a ``channels`` count that
differs from the preset's, replaces the table by ``channels`` beams spread evenly over
``vertical_fov_deg`` (each defaulting to the preset's value). Without a preset a sensor gets
1024 columns, ``rotation_hz = rate_hz`` and 100 m range.

Scan convention (sensor frame x forward, y left, z up): the head spins clockwise seen from
above (Velodyne's sense) and a sweep starts and ends behind the sensor, so column ``k`` of
``N`` points at azimuth ``fov/2 - (k + 1/2) fov / N`` (for 360 deg: from just left of
straight back, through left, forward and right). The sweep lasts ``(fov / 360) /
rotation_hz``; column ``k`` fires ``k / (N - 1)`` of the way through it, so the first column
fires exactly one sweep before the last. All channels of a column fire at once (the few
microseconds between a real sensor's lasers, and per-beam azimuth offsets, are neglected).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from scenarios.sensor_schema import LidarConfig


@dataclass(frozen=True)
class LidarPresetSpec:
    """A real sensor's beam table and default scan parameters.

    Attributes:
        elevations_deg: beam elevations [deg], ascending (index = ring, 0 = lowest).
        columns: firings per rotation.
        rotation_hz: spin rate [Hz].
        range_m: maximum range [m].
        source: where the table comes from.
    """

    elevations_deg: tuple[float, ...]
    columns: int
    rotation_hz: float
    range_m: float
    source: str


def _sorted(values: list[float] | np.ndarray) -> tuple[float, ...]:
    return tuple(float(v) for v in sorted(values))


# Laser-id order as printed in the manuals (kept for reference; rings are sorted).
VLP16_LASER_ORDER_DEG: tuple[float, ...] = (
    -15.0, 1.0, -13.0, 3.0, -11.0, 5.0, -9.0, 7.0, -7.0, 9.0, -5.0, 11.0, -3.0, 13.0, -1.0, 15.0)
HDL32E_LASER_ORDER_DEG: tuple[float, ...] = (
    -30.67, -9.33, -29.33, -8.00, -28.00, -6.67, -26.67, -5.33, -25.33, -4.00, -24.00, -2.67,
    -22.67, -1.33, -21.33, 0.00, -20.00, 1.33, -18.67, 2.67, -17.33, 4.00, -16.00, 5.33,
    -14.67, 6.67, -13.33, 8.00, -12.00, 9.33, -10.67, 10.67)
# HDL-64E S2/S3: upper block 32 lasers from +2 deg down in 1/3 deg steps, lower block 32
# lasers from -8.83 deg down in 1/2 deg steps (nominal values; units ship calibrated).
HDL64E_UPPER_DEG: tuple[float, ...] = tuple(round(2.0 - k / 3.0, 4) for k in range(32))
HDL64E_LOWER_DEG: tuple[float, ...] = tuple(round(-8.0 - 5.0 / 6.0 - 0.5 * k, 4)
                                            for k in range(32))

PRESETS: MappingProxyType[str, LidarPresetSpec] = MappingProxyType({
    "vlp16": LidarPresetSpec(
        _sorted(VLP16_LASER_ORDER_DEG), 1800, 10.0, 100.0,
        "Velodyne VLP-16 user manual: 16 lasers, -15..+15 deg, 2 deg apart; 0.2 deg at "
        "600 RPM"),
    "hdl32e": LidarPresetSpec(
        _sorted(HDL32E_LASER_ORDER_DEG), 2170, 10.0, 100.0,
        "Velodyne HDL-32E user manual: 32 lasers, -30.67..+10.67 deg; 46.08 us firing "
        "cycle -> 2170 firings per 0.1 s"),
    "hdl64e": LidarPresetSpec(
        _sorted(HDL64E_UPPER_DEG + HDL64E_LOWER_DEG), 2048, 10.0, 120.0,
        "Velodyne HDL-64E S2/S3 manual: upper block +2..-8.33 deg (1/3 deg), lower block "
        "-8.83..-24.33 deg (1/2 deg)"),
    "os1_64": LidarPresetSpec(
        _sorted(np.linspace(-16.6, 16.6, 64)), 1024, 10.0, 120.0,
        "Ouster OS1-64 datasheet: 33.2 deg vertical FOV, uniform beam spacing; 1024x10 mode"),
    "os1_128": LidarPresetSpec(
        _sorted(np.linspace(-22.5, 22.5, 128)), 1024, 10.0, 120.0,
        "Ouster OS1-128 datasheet: 45 deg vertical FOV, uniform beam spacing; 1024x10 mode"),
})

_DEFAULT_COLUMNS = 1024
_DEFAULT_RANGE_M = 100.0


@dataclass(frozen=True)
class LidarGeometry:
    """The resolved scan pattern of one lidar.

    Attributes:
        elevations_rad: (C,) beam elevations [rad], ascending (ring index order).
        azimuths_rad: (N,) column azimuths [rad] in firing order (clockwise from above).
        rotation_hz: spin rate [Hz].
        sweep_duration_s: time from the first to the last column's firing [s].
        range_m: maximum range [m].
        min_range_m: blind zone radius [m]; nearer hits return nothing.
    """

    elevations_rad: np.ndarray
    azimuths_rad: np.ndarray
    rotation_hz: float
    sweep_duration_s: float
    range_m: float
    min_range_m: float

    @property
    def channels(self) -> int:
        return len(self.elevations_rad)

    @property
    def columns(self) -> int:
        return len(self.azimuths_rad)

    def column_fractions(self) -> np.ndarray:
        """(N,) float64: how far through the sweep each column fires, 0 (first) .. 1 (last)."""
        n = self.columns
        return np.arange(n, dtype=np.float64) / max(n - 1, 1)

    def ray_directions(self) -> np.ndarray:
        """(N, C, 3) float32 unit ray directions in the sensor frame (column-major)."""
        ce, se = np.cos(self.elevations_rad), np.sin(self.elevations_rad)
        ca, sa = np.cos(self.azimuths_rad), np.sin(self.azimuths_rad)
        d = np.empty((self.columns, self.channels, 3), np.float32)
        d[..., 0] = ca[:, None] * ce[None, :]
        d[..., 1] = sa[:, None] * ce[None, :]
        d[..., 2] = se[None, :]
        return d


def resolve_geometry(config: LidarConfig) -> LidarGeometry:
    """Apply the preset, then the config's explicit overrides (see the module docstring)."""
    spec = PRESETS[config.preset] if config.preset is not None else None
    if spec is None:
        # The schema guarantees channels and vertical_fov_deg without a preset.
        elevations = np.linspace(*config.vertical_fov_deg, config.channels)
    else:
        table = np.asarray(spec.elevations_deg)
        n = config.channels if config.channels is not None else len(table)
        if config.vertical_fov_deg is None and n == len(table):
            elevations = table
        else:
            lo, hi = config.vertical_fov_deg or (table[0], table[-1])
            elevations = np.linspace(lo, hi, n)

    columns = config.columns or (spec.columns if spec else _DEFAULT_COLUMNS)
    rotation_hz = config.rotation_hz or (spec.rotation_hz if spec else config.rate_hz)
    range_m = config.range_m or (spec.range_m if spec else _DEFAULT_RANGE_M)
    fov = np.radians(config.horizontal_fov_deg)
    azimuths = fov / 2.0 - (np.arange(columns) + 0.5) * fov / columns
    return LidarGeometry(
        elevations_rad=np.radians(np.sort(np.asarray(elevations, np.float64))),
        azimuths_rad=azimuths,
        rotation_hz=float(rotation_hz),
        sweep_duration_s=float(config.horizontal_fov_deg / 360.0 / rotation_hz),
        range_m=float(range_m),
        min_range_m=float(config.min_range_m),
    )
