"""A short ring buffer of the ego's state, so sensors can ask for its pose at any recent
time (rolling-shutter lidar, motion blur) without the world keeping snapshots.

The planar state comes from ``dynamics.VehicleState``; on a map with elevation the world
also pushes the body's height above the map datum and its pitch and roll on the road
surface (``World.vehicle_z_m`` ...). Their rates (vertical velocity and acceleration,
pitch and roll rates) are backward differences between pushed steps, like the planar
accelerations of the dynamics. Without elevation the pose is the planar one: z = 0,
rotation ``rot_z(yaw)``.
"""

from __future__ import annotations

import numpy as np

from simulator.pose import Pose, rot_z, rpy_to_matrix

# Columns of a history row: time, then the rows of ``dynamics.VehicleState.data``, then
# the surface pose (z, pitch, roll) and its backward differences.
_T, _X, _Y, _YAW, _VX, _VY, _R, _STEER, _AX, _AY, _VXW, _VYW = range(12)
_Z, _PITCH, _ROLL, _VZ, _PITCH_RATE, _ROLL_RATE, _AZ = range(12, 19)
_COLS = 19


class PoseHistory:
    """The last ``capacity`` physics-step states of one vehicle."""

    def __init__(self, capacity: int):
        self._buf = np.full((capacity, _COLS), np.nan)
        self._buf[:, _Z:] = 0.0
        self._n = 0
        self._head = -1
        self._lifted = False       # a surface pose was ever pushed
        self._diffs = 0            # consecutive rows whose z/pitch/roll rates are known

    def push(self, t: float, state_column: np.ndarray,
             surface: tuple[float, float, float] | None = None) -> None:
        """Record time ``t`` and one vehicle's column of ``VehicleState.data``.

        Args:
            surface: (z [m], pitch [rad], roll [rad]) of the body on the road surface, or
                None on a flat map (all 0; nothing extra is computed).
        """
        buf = self._buf
        head = self._head + 1
        if head == len(buf):
            head = 0
        prev = self._head
        self._head = head
        buf[head, 0] = t
        buf[head, 1:_Z] = state_column
        if surface is not None or self._lifted:
            self._push_surface(buf, head, prev, (0.0, 0.0, 0.0) if surface is None else surface)
        if self._n < len(buf):
            self._n += 1

    def _push_surface(self, buf: np.ndarray, head: int, prev: int,
                      surface: tuple[float, float, float]) -> None:
        first = not self._lifted     # rows before hold no surface pose to difference
        self._lifted = True
        row = buf[head]
        z, pitch, roll = surface
        row[_Z], row[_PITCH], row[_ROLL] = z, pitch, roll
        t = row[_T]
        if first or self._n == 0 or not (t > buf[prev, _T]):
            row[_VZ:] = 0.0
            self._diffs = 0
            return
        last = buf[prev]
        dt = t - last[_T]
        vz = (z - last[_Z]) / dt
        rates = (vz, (pitch - last[_PITCH]) / dt, (roll - last[_ROLL]) / dt)
        row[_VZ], row[_PITCH_RATE], row[_ROLL_RATE] = rates
        if self._diffs == 0:
            # The first difference: the row before had no rate to take; give it this one
            # (no acceleration spike from a rate that jumps from an unknown 0).
            last[_VZ], last[_PITCH_RATE], last[_ROLL_RATE] = rates
            last[_AZ] = 0.0
            row[_AZ] = 0.0
        else:
            row[_AZ] = (vz - last[_VZ]) / dt
        self._diffs += 1

    def _ordered(self) -> np.ndarray:
        idx = (self._head - np.arange(self._n)[::-1]) % len(self._buf)
        return self._buf[idx]

    def pose(self, t: float) -> Pose:
        """Pose at time ``t``: interpolated between stored steps, clamped to the stored span.

        Velocity and acceleration are in the world frame: the planar parts rotated by yaw
        from the body frame, plus the vertical parts. Angular velocity is in the world
        frame too: ``yaw_rate z + pitch_rate Rz(yaw) y + roll_rate Rz(yaw) Ry(pitch) x``
        (``rpy_to_matrix``'s Z-Y-X angles; pitch > 0 is nose down, so a climb has
        pitch < 0; roll > 0 lifts the left side).

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
        rz = rot_z(yaw)
        # rot_z's last row is (0, 0, 1): the vertical parts pass through unrotated (and
        # a flat map's zeros leave the planar pose bit for bit as it was).
        vel = rz @ np.array([row[_VX], row[_VY], row[_VZ]])
        acc = rz @ np.array([row[_AX], row[_AY], row[_AZ]])
        pitch, roll = row[_PITCH], row[_ROLL]
        dp, dr = row[_PITCH_RATE], row[_ROLL_RATE]
        if pitch == 0.0 and roll == 0.0 and dp == 0.0 and dr == 0.0:
            rot = rz
            omega = np.array([0.0, 0.0, row[_R]])
        else:
            rot = rpy_to_matrix(roll, pitch, yaw)
            # Euler rates to the world frame: Rz(yaw) y for pitch, the body x axis for roll.
            c, s = rz[0, 0], rz[1, 0]
            omega = np.array([-s * dp, c * dp, row[_R]]) + dr * rot[:, 0]
        return Pose(position=np.array([row[_X], row[_Y], row[_Z]]), rotation=rot,
                    velocity=vel, angular_velocity=omega, acceleration=acc,
                    time_s=float(t))
