"""A short ring buffer of the ego's planar state, so sensors can ask for its pose at any
recent time (rolling-shutter lidar, motion blur) without the world keeping snapshots."""

from __future__ import annotations

import numpy as np

from simulator.pose import Pose, rot_z

# Columns of a history row: time, then the rows of ``dynamics.VehicleState.data``.
_T, _X, _Y, _YAW, _VX, _VY, _R, _STEER, _AX, _AY, _VXW, _VYW = range(12)


class PoseHistory:
    """The last ``capacity`` physics-step states of one vehicle (planar motion, z = 0)."""

    def __init__(self, capacity: int):
        self._buf = np.full((capacity, 12), np.nan)
        self._n = 0
        self._head = -1

    def push(self, t: float, state_column: np.ndarray) -> None:
        """Record time ``t`` and one vehicle's column of ``VehicleState.data``."""
        buf = self._buf
        head = self._head + 1
        if head == len(buf):
            head = 0
        self._head = head
        buf[head, 0] = t
        buf[head, 1:] = state_column
        if self._n < len(buf):
            self._n += 1

    def _ordered(self) -> np.ndarray:
        idx = (self._head - np.arange(self._n)[::-1]) % len(self._buf)
        return self._buf[idx]

    def pose(self, t: float) -> Pose:
        """Pose at time ``t``: interpolated between stored steps, clamped to the stored span.

        Raises:
            ValueError: if nothing was recorded yet.
        """
        if self._n == 0:
            raise ValueError("no pose recorded yet")
        rows = self._ordered()
        ts = rows[:, _T]
        if t >= ts[-1] or self._n == 1:
            row = rows[-1]
        elif t <= ts[0]:
            row = rows[0]
        else:
            k = int(np.searchsorted(ts, t)) - 1
            w = (t - ts[k]) / (ts[k + 1] - ts[k])
            a, b = rows[k], rows[k + 1]
            row = a + w * (b - a)
            dyaw = (b[_YAW] - a[_YAW] + np.pi) % (2 * np.pi) - np.pi
            row[_YAW] = a[_YAW] + w * dyaw
        yaw = row[_YAW]
        rot = rot_z(yaw)
        vel = rot @ np.array([row[_VX], row[_VY], 0.0])
        acc = rot @ np.array([row[_AX], row[_AY], 0.0])
        return Pose(position=np.array([row[_X], row[_Y], 0.0]), rotation=rot, velocity=vel,
                    angular_velocity=np.array([0.0, 0.0, row[_R]]), acceleration=acc,
                    time_s=float(t))
