"""Low-level controllers, vectorised over vehicles: pure pursuit steering and a speed PID."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from numba import njit

from scenarios.schema import Autopilot


def pure_pursuit_steer(x: npt.ArrayLike, y: npt.ArrayLike, yaw: npt.ArrayLike,
                       target_x: npt.ArrayLike, target_y: npt.ArrayLike,
                       wheelbase: npt.ArrayLike,
                       max_steer: npt.ArrayLike | None = None) -> np.ndarray:
    """Road-wheel angle of the circle through the rear axle and the look-ahead point.

    ``delta = atan(2 L sin(alpha) / l_d)``, alpha the bearing of the target from the heading
    and ``l_d`` its distance: the geometric pure pursuit law (Coulter 1992). Positive steers
    left (counter-clockwise). A target at the axle itself gives 0.

    Args:
        x: rear-axle centre x [m] (world frame).
        y: rear-axle centre y [m].
        yaw: heading [rad], counter-clockwise from +x.
        target_x: look-ahead point x [m].
        target_y: look-ahead point y [m].
        wheelbase: L [m].
        max_steer: if given, the result is clipped to ``[-max_steer, max_steer]`` [rad].

    Returns:
        Steering angle [rad].
    """
    dx = np.subtract(target_x, x)
    dy = np.subtract(target_y, y)
    c, s = np.cos(yaw), np.sin(yaw)
    # Target in the body frame: lateral offset y_b = l_d sin(alpha), so
    # 2 L sin(alpha) / l_d = 2 L y_b / l_d^2.
    y_b = c * dy - s * dx
    ld2 = dx * dx + dy * dy
    delta = np.arctan2(2.0 * np.multiply(wheelbase, y_b), ld2)
    if max_steer is not None:
        delta = np.clip(delta, np.negative(max_steer), max_steer)
    return delta


@njit(cache=True, nogil=True)
def pure_pursuit_steer_one(x: float, y: float, yaw: float, target_x: float, target_y: float,
                           wheelbase: float) -> float:
    """``pure_pursuit_steer`` (no ``max_steer``) for one vehicle, compiled for the traffic
    kernels: the same operations in the same order."""
    dx = target_x - x
    dy = target_y - y
    c, s = math.cos(yaw), math.sin(yaw)
    y_b = c * dy - s * dx
    ld2 = dx * dx + dy * dy
    return math.atan2(2.0 * (wheelbase * y_b), ld2)


@njit(cache=True, nogil=True)
def _pid_step(target, speed, upper, kp, ki, kd, dt, out_min, out_max, i_min, i_max, integral,
              prev, out):  # pragma: no cover - compiled
    """``SpeedPID.step`` as one loop (the same operations in the same order)."""
    for i in range(len(out)):
        hi = max(min(out_max[i], upper[i]), out_min[i])
        err = target[i] - speed[i]
        d_meas = (speed[i] - prev[i]) / dt
        if d_meas != d_meas:       # no history yet: no D term
            d_meas = 0.0
        pd = kp[i] * err - kd[i] * d_meas
        trial = min(max(integral[i] + err * dt, i_min[i]), i_max[i])
        raw = pd + ki[i] * trial
        if not ((raw > hi and err > 0) or (raw < out_min[i] and err < 0)):
            integral[i] = trial
        prev[i] = speed[i]
        out[i] = min(max(pd + ki[i] * integral[i], out_min[i]), hi)


class SpeedPID:
    """PID on speed error, vectorised over ``n`` vehicles, output an acceleration command.

    ``step`` runs a compiled loop (``use_kernel``; False: the numpy reference, the same
    operations, so the same bits).

    The derivative acts on the measured speed (no kick when the target jumps). Anti-windup
    by conditional integration: the integral does not grow while the output is saturated in
    the direction of the error, and is bounded so ``ki * integral`` alone stays inside the
    output range.
    """

    def __init__(self, kp: npt.ArrayLike, ki: npt.ArrayLike, kd: npt.ArrayLike, dt_s: float,
                 out_min: npt.ArrayLike, out_max: npt.ArrayLike, n: int = 1) -> None:
        """Create the controller with zero state.

        Args:
            kp: proportional gain [1/s] ((m/s^2) per (m/s)), scalar or ``(n,)``.
            ki: integral gain [1/s^2], scalar or ``(n,)``.
            kd: derivative gain [-], scalar or ``(n,)``.
            dt_s: control period [s], > 0.
            out_min: lowest command [m/s^2] (e.g. -max_decel), scalar or ``(n,)``.
            out_max: highest command [m/s^2], scalar or ``(n,)``.
            n: number of vehicles.

        Raises:
            ValueError: non-positive period or ``out_min > out_max``.
        """
        if dt_s <= 0.0:
            raise ValueError("dt_s must be > 0")
        self.kp = np.broadcast_to(np.asarray(kp, dtype=np.float64), (n,)).copy()
        self.ki = np.broadcast_to(np.asarray(ki, dtype=np.float64), (n,)).copy()
        self.kd = np.broadcast_to(np.asarray(kd, dtype=np.float64), (n,)).copy()
        self.out_min = np.broadcast_to(np.asarray(out_min, dtype=np.float64), (n,)).copy()
        self.out_max = np.broadcast_to(np.asarray(out_max, dtype=np.float64), (n,)).copy()
        if np.any(self.out_min > self.out_max):
            raise ValueError("out_min must be <= out_max")
        self.dt_s = float(dt_s)
        self.n = n
        with np.errstate(divide="ignore"):
            self._i_max = np.where(self.ki > 0, self.out_max / self.ki, np.inf)
            self._i_min = np.where(self.ki > 0, self.out_min / self.ki, -np.inf)
        self.integral = np.zeros(n)
        self._prev = np.full(n, np.nan)
        self.use_kernel = True   # False: the numpy reference implementation below

    @classmethod
    def from_autopilot(cls, autopilot: Autopilot, dt_s: float, max_decel_mps2: float,
                       max_accel_mps2: float, n: int = 1) -> SpeedPID:
        """The ego autopilot's speed loop: gains from the config, limits from the vehicle.

        Args:
            autopilot: the scenario's ``Autopilot`` config.
            dt_s: control period [s].
            max_decel_mps2: braking limit, positive [m/s^2].
            max_accel_mps2: acceleration limit [m/s^2].
            n: number of vehicles.
        """
        return cls(autopilot.speed_kp, autopilot.speed_ki, autopilot.speed_kd, dt_s,
                   -max_decel_mps2, max_accel_mps2, n)

    def _per_vehicle(self, value: npt.ArrayLike) -> np.ndarray:
        a = np.asarray(value, np.float64)
        return a if a.shape == (self.n,) else np.broadcast_to(a, (self.n,))

    def reset(self, index: npt.ArrayLike | None = None) -> None:
        """Zero the integral and derivative memory (all vehicles, or those at ``index``)."""
        sel = slice(None) if index is None else index
        self.integral[sel] = 0.0
        self._prev[sel] = np.nan

    def step(self, target_mps: npt.ArrayLike, speed_mps: npt.ArrayLike,
             upper_mps2: npt.ArrayLike | None = None) -> np.ndarray:
        """One control period.

        Args:
            target_mps: desired speed per vehicle [m/s].
            speed_mps: measured speed per vehicle [m/s].
            upper_mps2: optional tighter upper limit for this step [m/s^2], e.g. the IDM
                acceleration for the gap ahead or a stop line. The output never exceeds it
                (nor goes below ``out_min``) and the integral does not wind up against it.

        Returns:
            Acceleration command [m/s^2], shape ``(n,)``.
        """
        if self.use_kernel:
            upper = self.out_max if upper_mps2 is None else self._per_vehicle(upper_mps2)
            out = np.empty(self.n)
            _pid_step(self._per_vehicle(target_mps), self._per_vehicle(speed_mps), upper,
                      self.kp, self.ki, self.kd, self.dt_s,
                      self.out_min, self.out_max, self._i_min, self._i_max, self.integral,
                      self._prev, out)
            return out
        hi = self.out_max
        if upper_mps2 is not None:
            hi = np.maximum(np.minimum(hi, upper_mps2), self.out_min)
        speed = np.asarray(speed_mps, dtype=np.float64)
        err = np.subtract(target_mps, speed)
        d_meas = (speed - self._prev) / self.dt_s
        d_meas = np.where(np.isnan(d_meas), 0.0, d_meas)  # no history yet: no D term
        pd = self.kp * err - self.kd * d_meas
        trial = np.clip(self.integral + err * self.dt_s, self._i_min, self._i_max)
        raw = pd + self.ki * trial
        # Integrate unless that pushes an already saturated output further out.
        windup = ((raw > hi) & (err > 0)) | ((raw < self.out_min) & (err < 0))
        self.integral = np.where(windup, self.integral, trial)
        self._prev[...] = speed
        return np.clip(pd + self.ki * self.integral, self.out_min, hi)
