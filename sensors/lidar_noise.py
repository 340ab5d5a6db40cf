"""Lidar noise: dropouts, mixed pixels at depth edges, range and intensity noise.

All randomness comes from the sensor's injected ``numpy.random.Generator``; for a given
config and scene the draws happen in a fixed order, so a seed reproduces a sweep exactly.

- Dropout: a return is kept with probability ``(1 - dropout_prob) * min(1, S / T)`` where
  ``S`` is its signal strength (``sensors.lidar_intensity``) and ``T`` is
  ``intensity_dropout`` (weak returns are lost more often; ``T = 0`` disables this term).
  One uniform draw per return decides both.
- Mixed pixels: where two neighbouring beams of a ring (consecutive columns) hit surfaces
  whose ranges differ by more than ``mixed_pixel_min_jump_m`` and by more than 5 % of the
  nearer range (a depth edge, not a steep continuous surface), each of the two beams, with
  probability ``mixed_pixel_prob``, straddles the edge and reports a range uniformly between
  its own and its neighbour's (along its own direction): the "edge ghost" points that trail
  behind object silhouettes. Its intensity is blended with the same weight. A beam next to a
  miss (sky) is not mixed: the missing half of its footprint returns no energy.
- Range noise: Gaussian, ``range_std_m``, along the beam (per point wider in fog and rain,
  ``sensors.weather``).
- Intensity noise: additive Gaussian, ``intensity_std``, clipped to [0, 1].
"""

from __future__ import annotations

import numpy as np

from scenarios.sensor_schema import LidarNoise

# A jump must also exceed this fraction of the nearer range to count as an edge: a smooth
# surface seen at incidence theta steps by r tan(theta) dphi between columns, which stays
# below 5 % of r up to ~86 deg for 0.2 deg columns, so steep walls are not taken for edges.
_EDGE_REL_JUMP = 0.05


def mixed_pixels(range_grid: np.ndarray, valid: np.ndarray, noise: LidarNoise,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the beams that return a mixed range.

    Args:
        range_grid: (N, C) float32 ranges [m], columns along axis 0 (ring neighbours).
        valid: (N, C) bool, beams with a usable return.
        noise: the noise config.
        rng: the sensor's generator.

    Returns:
        ``pixel`` and ``neighbour`` flat indices into the (N, C) grid (int64) and the
        blending weight ``w`` (float32): the mixed range is ``r[p] + w (r[nb] - r[p])``.
    """
    empty = (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32))
    if noise.mixed_pixel_prob <= 0 or range_grid.shape[0] < 2:
        return empty
    r = np.where(valid, range_grid, np.float32(np.nan))
    jump = np.subtract(r[1:], r[:-1])
    np.abs(jump, out=jump)
    with np.errstate(invalid="ignore"):
        edge_k, edge_c = np.nonzero(jump > noise.mixed_pixel_min_jump_m)
    size = jump[edge_k, edge_c]
    near = np.minimum(r[edge_k, edge_c], r[edge_k + 1, edge_c])
    real = size > _EDGE_REL_JUMP * near
    edge_k, edge_c, size = edge_k[real], edge_c[real], size[real]
    if len(edge_k) == 0:
        return empty
    channels = range_grid.shape[1]
    left = edge_k * channels + edge_c           # beam at column k ...
    right = left + channels                     # ... and its neighbour at column k + 1
    pixel = np.concatenate([left, right])
    neighbour = np.concatenate([right, left])
    size = np.concatenate([size, size])
    # A beam between two edges mixes with the neighbour across the larger jump.
    order = np.lexsort((-size, pixel))
    pixel, neighbour = pixel[order], neighbour[order]
    first = np.ones(len(pixel), bool)
    first[1:] = pixel[1:] != pixel[:-1]
    pixel, neighbour = pixel[first], neighbour[first]
    chosen = rng.random(len(pixel)) < noise.mixed_pixel_prob
    weight = rng.random(len(pixel)).astype(np.float32)
    return pixel[chosen], neighbour[chosen], weight[chosen]


def keep_mask(signal: np.ndarray, noise: LidarNoise, rng: np.random.Generator
              ) -> np.ndarray | None:
    """Which returns survive dropout (bool (M,)), or None when nothing can be dropped.

    Args:
        signal: (M,) float32 signal strength S of each return (may exceed 1).
        noise: the noise config.
        rng: the sensor's generator.
    """
    if noise.dropout_prob <= 0 and noise.intensity_dropout <= 0:
        return None
    if noise.intensity_dropout > 0:
        keep_prob = np.multiply(signal, np.float32((1.0 - noise.dropout_prob)
                                                   / noise.intensity_dropout))
        np.minimum(keep_prob, np.float32(1.0 - noise.dropout_prob), out=keep_prob)
    else:
        keep_prob = np.float32(1.0 - noise.dropout_prob)
    u = rng.random(len(signal), dtype=np.float32)
    return u < keep_prob


def add_gaussian(values: np.ndarray, std: float | np.ndarray, rng: np.random.Generator,
                 clip: tuple[float, float] | None = None) -> np.ndarray:
    """Add N(0, std^2) noise to float32 ``values`` in place (optionally clipped); returns it.

    ``std`` is one value or one per element (float32 (M,), e.g. widened by weather).
    """
    per_point = isinstance(std, np.ndarray)
    if (per_point or std > 0) and len(values):
        noise = rng.standard_normal(len(values), dtype=np.float32)
        noise *= std if per_point else np.float32(std)
        values += noise
    if clip is not None:
        np.clip(values, clip[0], clip[1], out=values)
    return values
