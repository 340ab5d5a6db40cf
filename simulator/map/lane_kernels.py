"""Lane geometry for the traffic hot path, compiled with numba: station lookup, positions,
curvatures and Frenet projection over ``LaneTable``'s concatenated samples, one loop over
vehicles instead of ~40 numpy calls on 50-element arrays.

The functions follow ``simulator.map.lanes.LaneTable`` operation by operation (same sample
interval, same arc formulas), so positions and curvatures agree bit for bit and
projections to rounding (numpy's ``arctan2`` and numba's differ in the last bit);
``tests/simulator/map/test_lanes.py`` checks both against the numpy reference. The
scalar helpers (``interval``, ``arc_local``, ``arc_point``, ``project_one``) are
``njit`` functions other kernels call directly (``simulator.traffic.kernels``).

``LaneGeometry`` bundles the arrays every function takes, built once per map.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from simulator.map.lanes import LaneTable

X, Y, HEADING, COS_H, SIN_H, S, KINT = range(7)   # columns of LaneGeometry.pt
_SMALL_KAPPA = 1e-12
_EPS = float(np.finfo(np.float64).eps)  # np.sinc's stand-in for 0


class LaneGeometry(NamedTuple):
    """``LaneTable``'s samples as the kernels read them (all float64 / int64, contiguous).

    Attributes:
        pt: (M, 8) per sample, one cache line each: x, y, heading, cos and sin of the
            heading (the same values the trig functions give, computed once), s, kint
            (see ``LaneTable``), padding. Columns ``X`` .. ``KINT``.
        key: strictly increasing search key, ``s`` plus a per-lane offset.
        key_off: per lane, the offset of its keys. lane_start: (L + 1,) sample offsets.
        length: per lane [m].
        bucket, bucket_start: per lane and whole metre m of it, the last sample at or
            before m (``bucket[bucket_start[lane] + m]``): a station lookup reads a couple
            of cache lines instead of a binary search's dozen.
    """

    pt: np.ndarray
    key: np.ndarray
    key_off: np.ndarray
    lane_start: np.ndarray
    length: np.ndarray
    bucket: np.ndarray
    bucket_start: np.ndarray


def lane_geometry(table: LaneTable) -> LaneGeometry:
    """The kernel view of a ``LaneTable`` (keys rebuilt exactly as the table builds them)."""
    counts = np.diff(table.lane_start)
    key_off = np.concatenate([[0.0], np.cumsum(table.lane_length + 1.0)])[:-1]
    key = table.s + np.repeat(key_off, counts)
    metres = np.floor(table.lane_length).astype(np.int64) + 1
    bucket_start = np.concatenate([[0], np.cumsum(metres)]).astype(np.int64)
    lane = np.repeat(np.arange(len(metres)), metres)
    m = np.arange(bucket_start[-1]) - bucket_start[lane]
    # The same key a lookup of station m computes; the last sample whose key is <= it.
    bucket = np.searchsorted(key, key_off[lane] + m.astype(np.float64), side="right") - 1
    # 64-byte aligned rows: a sample is one cache line.
    buf = np.zeros(len(table.s) * 8 + 8)
    skip = (-buf.ctypes.data % 64) // 8
    pt = buf[skip:skip + len(table.s) * 8].reshape(-1, 8)
    pt[:, X], pt[:, Y], pt[:, HEADING] = table.xy[:, 0], table.xy[:, 1], table.heading
    pt[:, COS_H], pt[:, SIN_H] = np.cos(table.heading), np.sin(table.heading)
    pt[:, S], pt[:, KINT] = table.s, table.kint
    c = np.ascontiguousarray
    return LaneGeometry(pt, c(key), c(key_off), c(table.lane_start, np.int64),
                        c(table.lane_length), c(bucket, np.int64), bucket_start)


# --------------------------------------------------------------------------- scalar helpers
@njit(cache=True, nogil=True)
def interval(g, lane, s):  # pragma: no cover - compiled
    """Sample index starting the interval that holds station ``s`` of ``lane`` (``s``
    clamped to the lane), as ``LaneTable._interval``: the last key <= the query key."""
    sc = min(max(s, 0.0), g.length[lane])
    k = g.key_off[lane] + sc
    lo = g.lane_start[lane]
    hi = g.lane_start[lane + 1] - 2
    end = g.lane_start[lane + 1]
    # From the last sample at or before the whole metre below, on to the last key <= k.
    a = g.bucket[g.bucket_start[lane] + int(sc)]
    while a + 1 < end and g.key[a + 1] <= k:
        a += 1
    return min(max(a, lo), hi)


@njit(cache=True, nogil=True)
def arc_point(g, i, u, d):  # pragma: no cover - compiled
    """(x, y, heading) ``u`` metres along the arc of interval ``i`` and ``d`` to its left
    (``geometry.arc_advance`` plus the lateral offset, numpy's ``sinc`` included)."""
    theta = g.pt[i, HEADING]
    kappa = g.pt[i, KINT]
    if kappa == 0.0:     # a straight interval: the same bits without the trig calls
        return (g.pt[i, X] + u * g.pt[i, COS_H] + d * -g.pt[i, SIN_H],
                g.pt[i, Y] + u * g.pt[i, SIN_H] + d * g.pt[i, COS_H], theta)
    phi = kappa * u
    xs = phi / (2.0 * math.pi)
    y = math.pi * xs
    if y == 0.0:
        y = _EPS
    chord = u * (math.sin(y) / y)
    mid = theta + 0.5 * phi
    th = theta + phi
    px = g.pt[i, X] + chord * math.cos(mid)
    py = g.pt[i, Y] + chord * math.sin(mid)
    if d == 0.0:
        return px, py, th
    return px + d * -math.sin(th), py + d * math.cos(th), th


@njit(cache=True, nogil=True)
def arc_local(g, i, qx, qy):  # pragma: no cover - compiled
    """Exact (u along, d left) of point q relative to the arc of interval ``i``."""
    rx = qx - g.pt[i, X]
    ry = qy - g.pt[i, Y]
    kappa = g.pt[i, KINT]
    c, s = g.pt[i, COS_H], g.pt[i, SIN_H]
    a = rx * c + ry * s
    b = -rx * s + ry * c
    if kappa == 0.0:     # exactly what the general formulas give for kappa = 0
        return a, (2.0 * b) / 2.0
    ka, kb = kappa * a, kappa * b
    if abs(kappa) < _SMALL_KAPPA:
        u = a
    else:
        u = math.atan2(ka, 1.0 - kb) / kappa
    h = math.hypot(ka, 1.0 - kb)
    d = (2.0 * b - kappa * (a * a + b * b)) / (1.0 + h)
    return u, d


@njit(cache=True, nogil=True)
def _finish(g, lane, i, qx, qy):  # pragma: no cover - compiled
    lo = g.lane_start[lane]
    hi = g.lane_start[lane + 1] - 2
    u, d = arc_local(g, i, qx, qy)
    ds = g.pt[i + 1, S] - g.pt[i, S]
    step = 0
    if u < 0 and i > lo:
        step = -1
    elif u > ds and i < hi:
        step = 1
    if step != 0:
        i = i + step
        u, d = arc_local(g, i, qx, qy)
    return g.pt[i, S] + u, d


@njit(cache=True, nogil=True)
def project_one(g, lane, qx, qy, s_guess):  # pragma: no cover - compiled
    """Frenet (s, d) of point q on ``lane`` near ``s_guess`` (``LaneTable.project_near``:
    one step along the local arc from the guess, then the exact local solve)."""
    i0 = interval(g, lane, s_guess)
    u, _ = arc_local(g, i0, qx, qy)
    i1 = interval(g, lane, g.pt[i0, S] + u)
    return _finish(g, lane, i1, qx, qy)


@njit(cache=True, nogil=True)
def project_far(g, lane, qx, qy, s_guess):  # pragma: no cover - compiled
    """Like ``project_one`` for a guess up to tens of metres off (e.g. a station mapped
    from a neighbour lane): arc steps from the guess until the interval settles."""
    i = interval(g, lane, s_guess)
    for _ in range(8):
        u, _ = arc_local(g, i, qx, qy)
        j = interval(g, lane, g.pt[i, S] + u)
        if j == i:
            break
        i = j
    return _finish(g, lane, i, qx, qy)


@njit(cache=True, nogil=True)
def curvature(g, lane, s):  # pragma: no cover - compiled
    """Curvature of the interval holding station ``s`` of ``lane`` [1/m]."""
    return g.pt[interval(g, lane, s), KINT]


@njit(cache=True, nogil=True)
def lane_point(g, lane, s, d):  # pragma: no cover - compiled
    """World (x, y) of station ``s`` and left offset ``d`` on ``lane``."""
    i = interval(g, lane, s)
    x, y, _ = arc_point(g, i, s - g.pt[i, S], d)
    return x, y


@njit(cache=True, nogil=True)
def station_on(g, lane, s, d, other):  # pragma: no cover - compiled
    """Frenet (s, d) on lane ``other`` of the point at (``s``, ``d``) of ``lane``: a
    neighbour lane, whose proportional station is the first guess."""
    x, y = lane_point(g, lane, s, d)
    return project_far(g, other, x, y, s * g.length[other] / g.length[lane])


# --------------------------------------------------------------------------- array kernels
@njit(cache=True, nogil=True)
def stations_on(g, lane, s, d, other, s_out, d_out):  # pragma: no cover - compiled
    """``station_on`` for every vehicle, into ``s_out`` / ``d_out``."""
    for k in range(len(lane)):
        s_out[k], d_out[k] = station_on(g, lane[k], s[k], d[k], other[k])


@njit(cache=True, nogil=True)
def project_near(g, lane, x, y, s_guess, s_out, d_out):  # pragma: no cover - compiled
    """``project_one`` for every vehicle, into ``s_out`` / ``d_out``."""
    for k in range(len(lane)):
        s_out[k], d_out[k] = project_one(g, lane[k], x[k], y[k], s_guess[k])


@njit(cache=True, nogil=True)
def project_active(g, lane, x, y, s, d, active):  # pragma: no cover - compiled
    """``project_one`` in place for the active vehicles, their station as the guess."""
    for k in range(len(lane)):
        if active[k]:
            s[k], d[k] = project_one(g, lane[k], x[k], y[k], s[k])


@njit(cache=True, nogil=True)
def positions(g, lane, s, d, x_out, y_out):  # pragma: no cover - compiled
    """World points at stations ``s`` and left offsets ``d`` (``LaneTable.positions``)."""
    for k in range(len(lane)):
        i = interval(g, lane[k], s[k])
        x_out[k], y_out[k], _ = arc_point(g, i, s[k] - g.pt[i, S], d[k])


@njit(cache=True, nogil=True)
def curvatures(g, lane, s, out):  # pragma: no cover - compiled
    """Curvature of the interval holding each station (``LaneTable.curvatures``)."""
    for k in range(len(lane)):
        out[k] = curvature(g, lane[k], s[k])


# --------------------------------------------------------------------------- obstacles
class ObstacleTable(NamedTuple):
    """``LaneArrays``' static obstacles as the kernels read them.

    Attributes:
        end_key: per extent, ``lane * KEY_STRIDE + s_out`` (sorted). lane, start_s: per
            extent. first_s: per lane (+ a trailing inf for "no lane"), the first start.
        length: per lane [m].
    """

    end_key: np.ndarray
    lane: np.ndarray
    start_s: np.ndarray
    first_s: np.ndarray
    length: np.ndarray


@njit(cache=True, nogil=True)
def obstacle_gap(o, stride, lane, s, to_front, next_lane):  # pragma: no cover - compiled
    """``LaneArrays.obstacle_gap`` for one car: front bumper to the first obstacle extent
    the car has not passed (<= 0 when it overlaps one), else to the next lane's first."""
    m = len(o.end_key)
    if m == 0:
        return np.inf
    q = lane * stride + (s - to_front)
    a, b = 0, m                       # first extent with end_key > q (side="right")
    while a < b:
        c = (a + b) >> 1
        if o.end_key[c] <= q:
            a = c + 1
        else:
            b = c
    if a < m and o.lane[a] == lane:
        return o.start_s[a] - s - to_front
    return o.length[lane] - s - to_front + o.first_s[next_lane]
