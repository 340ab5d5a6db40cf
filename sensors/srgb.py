"""The sRGB transfer curve (IEC 61966-2-1) between linear radiance and encoded values.

``encode(L) = 12.92 L`` for ``L <= 0.0031308``, else ``1.055 L^(1/2.4) - 0.055``;
``decode`` is its inverse (``E / 12.92`` for ``E <= 0.04045``). Material colours are given
sRGB-encoded and are decoded once (``linear_colors``); the camera shades in linear radiance
and ``encode_srgb`` quantises each frame to uint8 at the end.

``encode_srgb`` runs once per pixel channel per frame (2.8 M values at 720p), where
``L^(1/2.4)`` through ``pow`` costs ~15 ms. It evaluates instead, in one compiled float32
pass, ``255 * (1.055 L^(1/2.4) - 0.055)`` as a degree-6 polynomial in ``z = L^(1/4)`` (two
square roots) fitted minimax on ``[0.0031308, 1]``: at most 0.0004 of a uint8 step from the
exact curve, so the output is ``round(255 * encode(L))`` except for the ~0.1 % of values
within that distance of a rounding boundary, which may land one step off. Without numba a
numpy pass with the exact formula is used.
"""

from __future__ import annotations

import numpy as np

try:
    from numba import njit
except ImportError:  # pragma: no cover - numba is a declared dependency
    njit = None

LINEAR_KNEE = 0.0031308
"""Linear value below which the curve is the straight segment ``12.92 L``."""
ENCODED_KNEE = 0.04045
"""The encoded value of the knee (decode's threshold)."""

# 255 * (1.055 z^(5/3) - 0.055) ~= sum_k C[k] z^k for z = L^(1/4), L in [LINEAR_KNEE, 1].
_POLY_Z = (-15.1844008, 35.5992127, 348.309256, -217.503007, 167.581952, -81.1956473,
           17.3929916)


def srgb_encode(linear: np.ndarray | float) -> np.ndarray:
    """Exact sRGB encoding (float64) of linear values, clipped to [0, 1] first."""
    x = np.clip(np.asarray(linear, np.float64), 0.0, 1.0)
    return np.where(x <= LINEAR_KNEE, 12.92 * x, 1.055 * np.power(x, 1.0 / 2.4) - 0.055)


def srgb_decode(encoded: np.ndarray | float) -> np.ndarray:
    """Exact inverse of ``srgb_encode`` (float64), for encoded values in [0, 1]."""
    e = np.clip(np.asarray(encoded, np.float64), 0.0, 1.0)
    return np.where(e <= ENCODED_KNEE, e / 12.92, np.power((e + 0.055) / 1.055, 2.4))


def linear_colors(color_rgb: np.ndarray) -> np.ndarray:
    """sRGB-encoded material colours (0-1) -> linear float32 (same shape)."""
    return srgb_decode(color_rgb).astype(np.float32)


def _encode_u8(src, out):  # pragma: no cover - compiled
    c0, c1, c2, c3 = np.float32(_POLY_Z[0]), np.float32(_POLY_Z[1]), \
        np.float32(_POLY_Z[2]), np.float32(_POLY_Z[3])
    c4, c5, c6 = np.float32(_POLY_Z[4]), np.float32(_POLY_Z[5]), np.float32(_POLY_Z[6])
    zero, one = np.float32(0.0), np.float32(1.0)
    knee = np.float32(LINEAR_KNEE)
    slope = np.float32(255.0 * 12.92)
    top = np.float32(255.0)
    half = np.float32(0.5)
    for i in range(src.size):
        v = min(max(src[i], zero), one)
        z = np.sqrt(np.sqrt(v))
        p = c6 * z + c5
        p = p * z + c4
        p = p * z + c3
        p = p * z + c2
        p = p * z + c1
        p = p * z + c0
        # Below the knee the straight segment lies above the power curve, above the knee
        # below its value there: the max picks the right branch without a branch.
        p = max(p, slope * min(v, knee))
        out[i] = np.uint8(min(p + half, top))


# fastmath lets LLVM vectorise the loop (min/max without NaN semantics): ~1 ms at 720p.
_ENCODE_U8 = njit(cache=True, nogil=True, fastmath=True)(_encode_u8) if njit is not None \
    else None


def encode_srgb(linear: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Linear radiance (float32, 1 = full scale) -> sRGB-encoded uint8, same shape.

    Clips to [0, 1]; ``linear`` is left unchanged. ``out``: optional C-contiguous uint8
    array of the same shape to write into.
    """
    src = np.ascontiguousarray(linear, np.float32)
    if out is None:
        out = np.empty(src.shape, np.uint8)
    if _ENCODE_U8 is not None:
        _ENCODE_U8(src.reshape(-1), out.reshape(-1))
    else:
        np.rint(255.0 * srgb_encode(src), out=out, casting="unsafe")
    return out
