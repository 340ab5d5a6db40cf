"""IMU (``type: imu``): accelerometer specific force and gyro rate in the sensor frame.

The ego body's world-frame motion (``Pose`` acceleration without gravity, angular velocity)
is moved to the mount point by rigid-body kinematics (``MountedSensor.sensor_pose``), then

- accelerometer: ``f = R^T (a - g)`` with ``g = (0, 0, -GRAVITY_MPS2)`` (standard gravity,
  9.80665 m/s^2, the value the vehicle dynamics use too), so a level IMU at rest reads
  ``+9.80665`` on z;
- gyro: ``w_s = R^T w``.

Noise per axis (``ImuNoise``): white noise of density ``N`` sampled at ``rate_hz`` has std
``N * sqrt(rate_hz)``; the bias is a first-order Gauss-Markov process (steady-state std =
bias instability, time constant ``bias_time_constant_s``, the turn-on bias drawn from its
stationary distribution) plus a random walk whose increments have std ``K * sqrt(dt)``.
"""

from __future__ import annotations

import numpy as np

from scenarios.sensor_schema import ImuConfig
from sensors.base import Measurement, MountedSensor, register
from sensors.world_view import WorldView
from simulator.constants import GRAVITY_MPS2

GRAVITY_ENU_MPS2 = np.array([0.0, 0.0, -GRAVITY_MPS2])


class GaussMarkov:
    """Independent first-order Gauss-Markov processes, exact over any time step.

    ``x(t + dt) = phi x(t) + sigma sqrt(1 - phi^2) w`` with ``phi = exp(-dt / tau)`` and
    ``w ~ N(0, 1)``: the discrete form of ``dx = -x / tau dt + sigma sqrt(2 / tau) dW``,
    so irregular steps keep the steady-state std ``sigma`` and the autocorrelation
    ``exp(-lag / tau)``.

    Args:
        size: number of independent processes.
        sigma: steady-state standard deviation (units of the process).
        time_constant_s: correlation time tau [s].
        rng: the owning sensor's generator (the initial state is drawn from it).
    """

    def __init__(self, size: int, sigma: float, time_constant_s: float,
                 rng: np.random.Generator):
        if time_constant_s <= 0:
            raise ValueError("time_constant_s must be > 0")
        self.sigma = float(sigma)
        self.time_constant_s = float(time_constant_s)
        self.rng = rng
        self.value = self.sigma * rng.standard_normal(size)

    def step(self, dt_s: float) -> np.ndarray:
        """Advance by ``dt_s`` >= 0 seconds and return the new values (a view; copy to keep)."""
        if dt_s < 0:
            raise ValueError(f"time step must be >= 0, got {dt_s}")
        phi = np.exp(-dt_s / self.time_constant_s)
        # A fresh draw every step, even at dt = 0 or sigma = 0, keeps the RNG stream's
        # position independent of the step pattern's details.
        w = self.rng.standard_normal(self.value.shape)
        self.value *= phi
        self.value += self.sigma * np.sqrt(max(0.0, 1.0 - phi * phi)) * w
        return self.value


class _AxisNoise:
    """White noise + Gauss-Markov bias + random-walk bias for a 3-axis instrument."""

    def __init__(self, density: float, instability: float, random_walk: float,
                 time_constant_s: float, rate_hz: float, rng: np.random.Generator):
        self.white_std = density * np.sqrt(rate_hz)
        self.random_walk = random_walk
        self.rng = rng
        self.markov = GaussMarkov(3, instability, time_constant_s, rng)
        self.walk = np.zeros(3)

    @property
    def bias(self) -> np.ndarray:
        return self.markov.value + self.walk

    def sample(self, truth: np.ndarray, dt_s: float) -> np.ndarray:
        self.markov.step(dt_s)
        self.walk += self.random_walk * np.sqrt(dt_s) * self.rng.standard_normal(3)
        return truth + self.bias + self.white_std * self.rng.standard_normal(3)


@register("imu")
class Imu(MountedSensor):
    """Six-axis IMU at the mount point, axes of the sensor frame (x fwd, y left, z up)."""

    config: ImuConfig

    def __init__(self, config: ImuConfig, rng: np.random.Generator):
        super().__init__(config, rng)
        self._last_t: float | None = None
        self._accel: _AxisNoise | None = None
        self._gyro: _AxisNoise | None = None
        if self.noise is not None:
            nz = self.noise
            self._accel = _AxisNoise(nz.accel_noise_density, nz.accel_bias_instability,
                                     nz.accel_random_walk, nz.bias_time_constant_s,
                                     self.rate_hz, rng)
            self._gyro = _AxisNoise(nz.gyro_noise_density, nz.gyro_bias_instability,
                                    nz.gyro_random_walk, nz.bias_time_constant_s,
                                    self.rate_hz, rng)

    def capture(self, world: WorldView, t: float) -> Measurement:
        """Specific force [m/s^2] and angular rate [rad/s] at simulation time ``t`` [s]."""
        pose = self.sensor_pose(world, t)
        r_t = pose.rotation.T
        accel = r_t @ (np.asarray(pose.acceleration, np.float64) - GRAVITY_ENU_MPS2)
        gyro = r_t @ np.asarray(pose.angular_velocity, np.float64)
        gt = {"accel_mps2": accel, "gyro_radps": gyro,
              "accel_bias_mps2": np.zeros(3), "gyro_bias_radps": np.zeros(3)}
        if self._accel is None or self._gyro is None:
            data = {"accel_mps2": accel.copy(), "gyro_radps": gyro.copy()}
        else:
            dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
            data = {"accel_mps2": self._accel.sample(accel, dt),
                    "gyro_radps": self._gyro.sample(gyro, dt)}
            gt["accel_bias_mps2"] = self._accel.bias.copy()
            gt["gyro_bias_radps"] = self._gyro.bias.copy()
        self._last_t = t
        return Measurement(self.name, self.type_name, t, pose, data, gt)
