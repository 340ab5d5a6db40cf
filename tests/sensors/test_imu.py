"""IMU: specific force and rate in the sensor frame, noise statistics, Gauss-Markov bias."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from scenarios.sensor_schema import ImuConfig, ImuNoise, Mount
from sensors.base import build_sensor
from sensors.imu import GaussMarkov, Imu
from simulator.constants import GRAVITY_MPS2
from simulator.pose import Pose, rot_z
from tests.fakes import FakeWorld


@dataclass
class TurningWorld(FakeWorld):
    """FakeWorld whose ego turns at a constant yaw rate with constant speed."""

    speed_mps: float = 0.0
    yaw_rate_radps: float = 0.0

    def ego_pose(self, t_s: float | None = None) -> Pose:
        t = self.time_s if t_s is None else t_s
        yaw = self.ego_yaw + self.yaw_rate_radps * (t - self.time_s)
        heading = np.array([np.cos(yaw), np.sin(yaw), 0.0])
        omega = np.array([0.0, 0.0, self.yaw_rate_radps])
        vel = self.speed_mps * heading
        return Pose(position=self.ego_position.copy(), rotation=rot_z(yaw), velocity=vel,
                    angular_velocity=omega, acceleration=np.cross(omega, vel), time_s=t)


@dataclass
class TiltedWorld(FakeWorld):
    """FakeWorld with the ego standing still, rolled by ``roll`` about its x axis."""

    roll: float = 0.0

    def ego_pose(self, t_s: float | None = None) -> Pose:
        c, s = np.cos(self.roll), np.sin(self.roll)
        r = rot_z(self.ego_yaw) @ np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
        return Pose(position=self.ego_position.copy(), rotation=r,
                    time_s=self.time_s if t_s is None else t_s)


def _imu(noise: ImuNoise | None, seed: int = 0, **kw) -> Imu:
    sensor = build_sensor(ImuConfig(name="imu", type="imu", noise=noise, **kw),
                          np.random.default_rng(seed))
    assert isinstance(sensor, Imu)
    return sensor


def test_stationary_level_reads_plus_g_up_and_no_rotation():
    m = _imu(None).capture(FakeWorld(ego_yaw=1.1), 0.0)
    np.testing.assert_allclose(m.data["accel_mps2"], [0.0, 0.0, GRAVITY_MPS2],
                               atol=1e-12)
    np.testing.assert_allclose(m.data["gyro_radps"], 0.0, atol=1e-15)
    np.testing.assert_array_equal(m.data["accel_mps2"], m.gt["accel_mps2"])


def test_rolled_vehicle_sees_gravity_on_its_y_axis():
    roll = np.radians(30.0)
    m = _imu(None).capture(TiltedWorld(roll=roll), 0.0)
    g = GRAVITY_MPS2
    np.testing.assert_allclose(m.data["accel_mps2"], [0.0, g * np.sin(roll), g * np.cos(roll)],
                               atol=1e-12)


def test_turning_vehicle_lateral_accel_is_speed_times_yaw_rate():
    v, r = 12.0, 0.25
    world = TurningWorld(ego_yaw=0.7, speed_mps=v, yaw_rate_radps=r)
    m = _imu(None).capture(world, 3.0)
    np.testing.assert_allclose(m.data["accel_mps2"], [0.0, v * r, GRAVITY_MPS2],
                               atol=1e-12)
    np.testing.assert_allclose(m.data["gyro_radps"], [0.0, 0.0, r], atol=1e-15)


def test_mount_yawed_90_deg_sees_lateral_accel_on_x():
    v, r = 10.0, -0.3                                   # right turn
    world = TurningWorld(ego_yaw=-0.2, speed_mps=v, yaw_rate_radps=r)
    imu = _imu(None, mount=Mount(position=(0.0, 0.0, 1.0), rpy_deg=(0.0, 0.0, 90.0)))
    m = imu.capture(world, 0.0)
    # Sensor x = vehicle left, sensor y = vehicle backward.
    np.testing.assert_allclose(m.data["accel_mps2"], [v * r, 0.0, GRAVITY_MPS2],
                               atol=1e-12)
    np.testing.assert_allclose(m.data["gyro_radps"], [0.0, 0.0, r], atol=1e-15)


def test_mount_ahead_of_the_turn_centre_adds_centripetal_accel():
    r, lever = 0.5, 2.0
    world = TurningWorld(speed_mps=0.0, yaw_rate_radps=r)      # spinning on the spot
    m = _imu(None, mount=Mount(position=(lever, 0.0, 0.5))).capture(world, 0.0)
    np.testing.assert_allclose(m.data["accel_mps2"],
                               [-lever * r * r, 0.0, GRAVITY_MPS2], atol=1e-12)


def test_white_noise_std_is_density_times_sqrt_rate():
    noise = ImuNoise(accel_noise_density=2e-3, gyro_noise_density=1.7e-4,
                     accel_bias_instability=0.0, accel_random_walk=0.0,
                     gyro_bias_instability=0.0, gyro_random_walk=0.0)
    rate = 200.0
    imu = _imu(noise, rate_hz=rate)
    world = FakeWorld()
    ms = [imu.capture(world, k / rate) for k in range(4000)]
    acc = np.array([m.data["accel_mps2"] - m.gt["accel_mps2"] for m in ms])
    gyr = np.array([m.data["gyro_radps"] - m.gt["gyro_radps"] for m in ms])
    # 4000 samples per axis: the sample std is within ~1.1 % (1 sigma) of the truth.
    np.testing.assert_allclose(acc.std(axis=0), 2e-3 * np.sqrt(rate), rtol=0.05)
    np.testing.assert_allclose(gyr.std(axis=0), 1.7e-4 * np.sqrt(rate), rtol=0.05)
    np.testing.assert_allclose(acc.mean(axis=0), 0.0, atol=4 * 2e-3 * np.sqrt(rate / 4000))


def test_bias_random_walk_grows_with_sqrt_time():
    k_rw = 1e-3
    noise = ImuNoise(accel_noise_density=0.0, accel_bias_instability=0.0,
                     accel_random_walk=k_rw, gyro_noise_density=0.0,
                     gyro_bias_instability=0.0, gyro_random_walk=0.0)
    finals = []
    for seed in range(300):
        imu = _imu(noise, seed=seed, rate_hz=10.0)
        for t in (0.0, 1.0, 2.5, 4.0):                       # irregular steps, 4 s in all
            m = imu.capture(FakeWorld(), t)
        finals.append(m.gt["accel_bias_mps2"])
        np.testing.assert_allclose(m.data["accel_mps2"] - m.gt["accel_mps2"],
                                   m.gt["accel_bias_mps2"], atol=1e-15)
    # 900 samples of N(0, (K sqrt(4 s))^2): sample std within ~2.4 % (1 sigma).
    assert np.std(finals) == pytest.approx(k_rw * 2.0, rel=0.12)


def test_deterministic_per_seed():
    world = TurningWorld(speed_mps=5.0, yaw_rate_radps=0.1)
    a = [_imu(ImuNoise(), seed=3).capture(world, t).data["accel_mps2"] for t in (0.0,)]
    b = [_imu(ImuNoise(), seed=3).capture(world, t).data["accel_mps2"] for t in (0.0,)]
    c = [_imu(ImuNoise(), seed=4).capture(world, t).data["accel_mps2"] for t in (0.0,)]
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


# --------------------------------------------------------------------------- Gauss-Markov
def test_gauss_markov_long_run_std_and_lag_tau_autocorrelation():
    sigma, tau, dt = 2.0, 5.0, 0.25
    gm = GaussMarkov(400, sigma, tau, np.random.default_rng(0))
    lag = int(round(tau / dt))
    xs = np.array([gm.step(dt).copy() for _ in range(800)])      # (steps, processes)
    assert xs.std() == pytest.approx(sigma, rel=0.03)
    rho = np.mean(xs[:-lag] * xs[lag:]) / np.mean(xs * xs)
    assert rho == pytest.approx(np.exp(-1.0), abs=0.03)


def test_gauss_markov_irregular_steps_keep_variance_and_correlation():
    sigma, tau = 1.5, 60.0
    rng = np.random.default_rng(1)
    gm = GaussMarkov(40000, sigma, tau, rng)
    x0 = gm.value.copy()
    steps = np.diff(np.sort(np.r_[0.0, rng.uniform(0.0, tau, 6), tau]))   # 7 uneven steps
    for dt in steps:
        gm.step(float(dt))
    assert x0.std() == pytest.approx(sigma, rel=0.02)
    assert gm.value.std() == pytest.approx(sigma, rel=0.02)
    rho = np.mean(x0 * gm.value) / sigma**2
    assert rho == pytest.approx(np.exp(-1.0), abs=0.02)


def test_gauss_markov_zero_step_changes_nothing():
    gm = GaussMarkov(5, 1.0, 10.0, np.random.default_rng(2))
    before = gm.value.copy()
    np.testing.assert_array_equal(gm.step(0.0), before)
    with pytest.raises(ValueError):
        gm.step(-1.0)
