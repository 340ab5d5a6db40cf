"""Plane geometry of lane centrelines: circular-arc steps, local coordinates, angles.

Between two samples a lane is a circular arc (heading change over the interval divided by
its length), which is exact for straight and arc roads. Metres and radians throughout.
"""

from __future__ import annotations

import numpy as np


def wrap_angle(a: np.ndarray | float) -> np.ndarray | float:
    """Angle(s) wrapped to [-pi, pi) [rad]."""
    return (np.asarray(a) + np.pi) % (2.0 * np.pi) - np.pi


def left_normals(heading: np.ndarray) -> np.ndarray:
    """Unit vectors 90 deg left of the given headings: (..., 2)."""
    return np.stack([-np.sin(heading), np.cos(heading)], axis=-1)


def arc_advance(xy0: np.ndarray, theta: np.ndarray, kappa: np.ndarray,
                u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Point and heading after driving ``u`` metres along a circular arc (broadcasting).

    Args:
        xy0: (..., 2) start points [m]. theta: start headings [rad]. kappa: curvatures
            [1/m], + = left. u: arc lengths [m] (may be negative).
    Returns:
        ((..., 2) end points, end headings [rad]).
    """
    phi = kappa * u
    chord = u * np.sinc(phi / (2.0 * np.pi))      # 2 sin(phi/2)/kappa, stable at kappa=0
    mid = theta + 0.5 * phi
    xy = np.asarray(xy0) + np.stack([chord * np.cos(mid), chord * np.sin(mid)], axis=-1)
    return xy, theta + phi


def arc_local(xy0: np.ndarray, theta: np.ndarray, kappa: np.ndarray,
              q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact (u along, d left) of points ``q`` relative to circular arcs (broadcasting).

    The inverse of ``arc_advance`` + lateral offset: ``q = advance(u) + d * left_normal``.
    """
    r = np.asarray(q) - xy0
    c, s = np.cos(theta), np.sin(theta)
    a = r[..., 0] * c + r[..., 1] * s
    b = -r[..., 0] * s + r[..., 1] * c
    ka, kb = kappa * a, kappa * b
    phi = np.arctan2(ka, 1.0 - kb)
    small = np.abs(kappa) < 1e-12
    u = np.where(small, a, phi / np.where(small, 1.0, kappa))
    h = np.hypot(ka, 1.0 - kb)
    d = (2.0 * b - kappa * (a * a + b * b)) / (1.0 + h)     # (1-h)/kappa, stable form
    return u, d


def broadcast_lanes(lane_idx: np.ndarray, s: np.ndarray,
               n: int = 1) -> tuple[np.ndarray, np.ndarray]:
    lane, s = np.broadcast_arrays(np.asarray(lane_idx, np.int64), np.asarray(s, np.float64),
                                  np.empty(n))[:2]
    return np.atleast_1d(lane), np.atleast_1d(s)


