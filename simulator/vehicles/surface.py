"""Vehicles on the road surface: height, pitch and roll from the lanes' heights.

The surface height (``LaneTable.heights``: a C1 cubic Hermite curve along the lane
through its samples, planar across it) is sampled under the four wheel contact points
of each vehicle on a lane: front and rear axle (``lf`` ahead of and ``lr`` behind the
footprint centre, along its lane; a front axle past its lane's end stands on the next
lane), left and right side (``+-width / 2``). Then

* ``z``: the height of the plane through them at the centre (the body origin, on the
  ground below the footprint centre): ``(lr z_front + lf z_rear) / wheelbase``;
* ``pitch = atan((z_rear - z_front) / wheelbase)`` and
  ``roll = atan((z_left - z_right) / width)``: the angles of
  ``simulator.pose.rpy_to_matrix`` (R = Rz(yaw) Ry(pitch) Rx(roll)), where a positive
  pitch puts the nose *down*, so a climb has pitch < 0, and a positive roll lifts the
  left side.

``surface_pose`` (kernel ``surface_pose_rows``) does it in one compiled pass (the Frenet
projection of the current position included, the lanes' stations being refreshed at
decisions only);
``surface_pose_numpy`` is its numpy reference on ``LaneTable`` / ``LaneArrays``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from simulator.map.lane_arrays import LaneArrays
from simulator.map.lane_kernels import S, interval, project_one
from simulator.map.lanes import LaneTable


class SurfaceTable(NamedTuple):
    """A ``LaneTable``'s per-sample surface arrays (contiguous float64, sample order)."""

    z: np.ndarray
    grade: np.ndarray
    cross_slope: np.ndarray
    z_slope: np.ndarray


def surface_table(table: LaneTable) -> SurfaceTable:
    c = np.ascontiguousarray
    return SurfaceTable(c(table.z, np.float64), c(table.grade, np.float64),
                        c(table.cross_slope, np.float64), c(table.z_slope, np.float64))


@njit(cache=True, nogil=True)
def _height(g, h, lane, s, d):  # pragma: no cover - compiled
    """``LaneTable.heights`` for one point (``lanes.hermite_height``)."""
    i = interval(g, lane, s)
    ln = g.pt[i + 1, S] - g.pt[i, S]
    u = s - g.pt[i, S]
    z0, z1, m0, m1 = h.z[i], h.z[i + 1], h.z_slope[i], h.z_slope[i + 1]
    if ln <= 1e-12:
        return z0 + u * m0 + d * h.cross_slope[i]
    t = min(max(u / ln, 0.0), 1.0)
    t2 = t * t
    t3 = t2 * t
    z = (2 * t3 - 3 * t2 + 1) * z0 + (t3 - 2 * t2 + t) * ln * m0 + \
        (-2 * t3 + 3 * t2) * z1 + (t3 - t2) * ln * m1
    if u < 0:
        z += u * m0
    elif u > ln:
        z += (u - ln) * m1
    cross = h.cross_slope[i] + t * (h.cross_slope[i + 1] - h.cross_slope[i])
    return z + d * cross


@njit(cache=True, nogil=True)
def surface_pose_rows(g, h, lane, next_lane, s_guess, x, y, active, lf, lr, half_w,
                      z_out, pitch_out, roll_out, first, last):  # pragma: no cover
    """``surface_pose``'s kernel on contiguous arrays (``half_w``: half the width) for
    vehicles ``first .. last - 1``: the hot path calls it directly."""
    for k in range(first, last):
        ln = lane[k]
        if not active[k] or ln < 0:
            continue
        s, d = project_one(g, ln, x[k], y[k], s_guess[k])
        front, rear = s + lf[k], s - lr[k]
        front_lane = ln
        if front > g.length[ln] and next_lane[k] >= 0:
            front = front - g.length[ln]
            front_lane = next_lane[k]
        hw = half_w[k]
        fl = _height(g, h, front_lane, front, d + hw)
        fr = _height(g, h, front_lane, front, d - hw)
        rl = _height(g, h, ln, rear, d + hw)
        rr = _height(g, h, ln, rear, d - hw)
        z_front, z_rear = 0.5 * (fl + fr), 0.5 * (rl + rr)
        wheelbase = lf[k] + lr[k]
        z_out[k] = (lr[k] * z_front + lf[k] * z_rear) / wheelbase
        pitch_out[k] = math.atan((z_rear - z_front) / wheelbase)
        roll_out[k] = math.atan(0.5 * ((fl + rl) - (fr + rr)) / (2.0 * hw))


def surface_pose(lanes: LaneArrays, heights: SurfaceTable, lane: np.ndarray,
                 next_lane: np.ndarray, s: np.ndarray, x: np.ndarray, y: np.ndarray,
                 active: np.ndarray, lf: np.ndarray, lr: np.ndarray, width: np.ndarray,
                 z: np.ndarray, pitch: np.ndarray, roll: np.ndarray,
                 rows: tuple[int, int] | None = None) -> None:
    """Height [m], pitch and roll [rad] of every active vehicle on a lane (``lane >= 0``)
    into ``z``, ``pitch``, ``roll`` in place; the other rows keep their values.

    Args:
        lanes: the lane arrays (their kernel geometry); heights: ``surface_table`` of the
            same lanes' ``LaneTable``.
        lane, next_lane, s: (n,) the vehicles' lanes, next lanes and stations (the guess
            for the projection of the current position ``x``, ``y``).
        lf, lr, width: (n,) CoG to front / rear axle and body width [m].
        rows: only the vehicles ``rows[0] .. rows[1] - 1`` (default all).
    """
    c = np.ascontiguousarray
    first, last = (0, len(lane)) if rows is None else rows
    surface_pose_rows(lanes.geometry, heights, c(lane, np.int64), c(next_lane, np.int64),
                      c(s, np.float64), c(x, np.float64), c(y, np.float64), c(active, bool),
                      c(lf, np.float64), c(lr, np.float64),
                      c(0.5 * np.asarray(width, np.float64)), z, pitch, roll,
                      int(first), int(last))


def surface_pose_numpy(lanes: LaneArrays, table: LaneTable, lane: np.ndarray,
                       next_lane: np.ndarray, s: np.ndarray, x: np.ndarray, y: np.ndarray,
                       active: np.ndarray, lf: np.ndarray, lr: np.ndarray, width: np.ndarray,
                       z: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> None:
    """The numpy reference of ``surface_pose`` (``LaneTable.heights``)."""
    idx = np.flatnonzero(active & (lane >= 0))
    if not len(idx):
        return
    ln = lane[idx]
    s, d = lanes.project(ln, x[idx], y[idx], s[idx])
    lf, lr, hw = lf[idx], lr[idx], 0.5 * width[idx]
    front, rear = s + lf, s - lr
    nxt = next_lane[idx]
    length = lanes.length_m[ln]
    over = (front > length) & (nxt >= 0)
    front_lane = np.where(over, nxt, ln)
    front = np.where(over, front - length, front)
    lanes4 = np.concatenate([front_lane, front_lane, ln, ln])
    s4 = np.concatenate([front, front, rear, rear])
    d4 = np.concatenate([d + hw, d - hw, d + hw, d - hw])
    fl, fr, rl, rr = table.heights(lanes4, s4, d4).reshape(4, -1)
    z_front, z_rear = 0.5 * (fl + fr), 0.5 * (rl + rr)
    wheelbase = lf + lr
    z[idx] = (lr * z_front + lf * z_rear) / wheelbase
    pitch[idx] = np.arctan((z_rear - z_front) / wheelbase)
    roll[idx] = np.arctan(0.5 * ((fl + rl) - (fr + rr)) / (2.0 * hw))
