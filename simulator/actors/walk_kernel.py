"""The pedestrians' walking step and pose, compiled (one loop over all of them).

``advance(...)`` is the walk along the path (``PedestrianGroup.step`` after the gap
decisions); ``pose(...)`` is ``PedestrianGroup._pose``'s arithmetic: for each pedestrian the path
segment holding its arc length ``u`` (binary search in its rows of the flat path table),
the point on it, the heading (reversed when walking back), the velocity, the leg swing and
the box length. Every input is an argument (no module constants), so numba's on-disk
cache cannot go stale.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def pose(u, length, direction, moving, speed, phase, pts, cum, first, last, depth,
         swing_m, leg_depth_m, x, y, yaw, vx, vy, swing, box_length):  # pragma: no cover
    for k in range(len(u)):
        uk = min(max(u[k], 0.0), length[k])
        lo, hi = first[k], max(last[k] - 1, first[k])
        while lo < hi:                               # last segment start <= uk
            mid = (lo + hi + 1) // 2
            if cum[mid] <= uk:
                lo = mid
            else:
                hi = mid - 1
        a, b = lo, min(lo + 1, last[k])
        ds = cum[b] - cum[a]
        t = (uk - cum[a]) / ds if ds > 0 else 0.0
        x[k] = pts[a, 0] + (pts[b, 0] - pts[a, 0]) * t
        y[k] = pts[a, 1] + (pts[b, 1] - pts[a, 1]) * t
        h = math.atan2(pts[b, 1] - pts[a, 1], pts[b, 0] - pts[a, 0])
        if direction[k] < 0:
            h += math.pi
        h = (h + math.pi) % (2.0 * math.pi) - math.pi
        yaw[k] = h
        v = speed[k] if moving[k] else 0.0
        vx[k] = v * math.cos(h)
        vy[k] = v * math.sin(h)
        swing[k] = swing_m * math.sin(phase[k]) if moving[k] else 0.0
        box_length[k] = max(depth[k], 2.0 * abs(swing[k]) + leg_depth_m)


@njit(cache=True, nogil=True)
def advance(u, direction, walking, held, speed, phase, length, loops, dt_s,
            stride_m):  # pragma: no cover
    """One step of walking for every pedestrian walking and not held: along the path,
    back at the end of a loop, stopped at the end of a one-way path."""
    for k in range(len(u)):
        if not walking[k] or held[k]:
            continue
        u[k] += direction[k] * speed[k] * dt_s
        phase[k] += 2.0 * math.pi * speed[k] / stride_m * dt_s
        if u[k] >= length[k]:
            if loops[k]:
                u[k] = 2.0 * length[k] - u[k]
                direction[k] = -1.0
            else:
                u[k] = length[k]
                walking[k] = False
        elif u[k] <= 0.0 and direction[k] < 0:
            u[k] = -u[k]
            direction[k] = 1.0


def empty_outputs(n: int) -> tuple[np.ndarray, ...]:
    """The seven output arrays of ``pose`` for ``n`` pedestrians."""
    return tuple(np.zeros(n) for _ in range(7))
