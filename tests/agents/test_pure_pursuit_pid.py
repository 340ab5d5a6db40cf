"""Pure pursuit steering geometry and the vectorised speed PID."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.controllers import SpeedPID, pure_pursuit_steer, pure_pursuit_steer_one
from scenarios.schema import Autopilot

L = 2.7


# ------------------------------------------------------------------ pure pursuit
def test_target_straight_ahead_gives_zero() -> None:
    yaw = np.array([0.0, 0.7, -2.0, math.pi])
    x, y = np.array([0.0, 10.0, -5.0, 3.0]), np.array([0.0, -4.0, 2.0, 1.0])
    d = np.array([1.0, 5.0, 12.0, 40.0])
    steer = pure_pursuit_steer(x, y, yaw, x + d * np.cos(yaw), y + d * np.sin(yaw), L)
    np.testing.assert_allclose(steer, 0.0, atol=1e-15)


@pytest.mark.parametrize("radius", [5.0, 20.0, 150.0])
def test_target_on_circle_gives_atan_l_over_r(radius: float) -> None:
    # Circles tangent to the heading at the rear axle, left (+) and right (-), for several
    # look-ahead angles and vehicle poses: the answer is atan(L / R) whatever the look-ahead.
    theta = np.array([0.05, 0.3, 0.9, 1.5, 2.5])
    for x0, y0, yaw in ((0.0, 0.0, 0.0), (12.0, -3.0, 1.1), (-40.0, 7.0, -2.6)):
        for side in (1.0, -1.0):
            bx = radius * np.sin(theta)  # body frame
            by = side * radius * (1.0 - np.cos(theta))
            c, s = math.cos(yaw), math.sin(yaw)
            tx, ty = x0 + c * bx - s * by, y0 + s * bx + c * by
            steer = pure_pursuit_steer(x0, y0, yaw, tx, ty, L)
            np.testing.assert_allclose(steer, side * math.atan(L / radius), rtol=1e-12)


def test_matches_geometric_formula_and_clips() -> None:
    rng = np.random.default_rng(0)
    n = 51
    x, y, yaw = rng.normal(0, 50, n), rng.normal(0, 50, n), rng.uniform(-np.pi, np.pi, n)
    tx, ty = x + rng.normal(0, 10, n), y + rng.normal(0, 10, n)
    alpha = np.arctan2(ty - y, tx - x) - yaw
    ld = np.hypot(tx - x, ty - y)
    expected = np.arctan(2 * L * np.sin(alpha) / ld)
    np.testing.assert_allclose(pure_pursuit_steer(x, y, yaw, tx, ty, L), expected, atol=1e-12)
    clipped = pure_pursuit_steer(x, y, yaw, tx, ty, L, max_steer=0.2)
    np.testing.assert_allclose(clipped, np.clip(expected, -0.2, 0.2), atol=1e-12)
    assert pure_pursuit_steer(1.0, 2.0, 0.3, 1.0, 2.0, L) == 0.0  # target at the axle


def test_closed_loop_converges_onto_lane() -> None:
    # Kinematic bicycle (rear-axle reference) starting 2 m left of the lane y = 0.
    x, y, yaw, v, dt = 0.0, 2.0, 0.0, 10.0, 0.05
    for _ in range(400):
        ld = max(4.0, v * 0.8)                  # look-ahead 0.8 s, at least 4 m
        steer = float(pure_pursuit_steer(x, y, yaw, x + ld, 0.0, L, max_steer=0.6))
        x += v * math.cos(yaw) * dt
        y += v * math.sin(yaw) * dt
        yaw += v / L * math.tan(steer) * dt
    assert abs(y) < 0.01 and abs(yaw) < 1e-3


# ------------------------------------------------------------------ speed PID
def test_p_only_and_output_clipping() -> None:
    pid = SpeedPID(kp=1.5, ki=0.0, kd=0.0, dt_s=0.05, out_min=-9.0, out_max=3.5, n=3)
    out = pid.step([10.0, 10.0, 10.0], [9.0, 0.0, 20.0])
    np.testing.assert_array_equal(out, [1.5, 3.5, -9.0])


def test_integral_and_derivative_terms() -> None:
    pid = SpeedPID(kp=0.0, ki=2.0, kd=0.5, dt_s=0.1, out_min=-10, out_max=10)
    assert pid.step(1.0, 0.0)[0] == pytest.approx(2.0 * 0.1)  # no D term on the first step
    # I: 2 * (0.1 + 0.1 * 0.5); D on the measurement: -0.5 * (0.5 - 0) / 0.1.
    assert pid.step(1.0, 0.5)[0] == pytest.approx(2.0 * 0.15 - 2.5)


def test_anti_windup_integral_frozen_while_saturated() -> None:
    pid = SpeedPID(kp=1.0, ki=0.5, kd=0.0, dt_s=0.05, out_min=-9.0, out_max=3.0)
    for _ in range(200):  # stuck (e.g. against a wall): saturated at +3 the whole time
        assert pid.step(30.0, 0.0)[0] == 3.0
    assert pid.integral[0] == 0.0
    assert pid.step(30.0, 30.0)[0] == 0.0  # at the target: no wound-up push


def test_external_upper_limit_clips_without_windup() -> None:
    # Held at 0 by a leader (IDM says 0) while below the cruise speed, then released.
    pid = SpeedPID(kp=1.0, ki=0.5, kd=0.0, dt_s=0.05, out_min=-9.0, out_max=3.0)
    for _ in range(200):
        assert pid.step(12.0, 10.0, upper_mps2=0.0)[0] == 0.0
    assert pid.integral[0] == 0.0
    assert pid.step(12.0, 10.0)[0] == pytest.approx(2.0 + 0.5 * 2.0 * 0.05)
    # A brake demand beyond out_min is clipped to out_min.
    assert pid.step(12.0, 10.0, upper_mps2=-20.0)[0] == -9.0


def test_closed_loop_removes_steady_error_against_drag() -> None:
    # Plant dv/dt = u - 0.5 (constant drag): only the integral can cancel the drag.
    pid = SpeedPID.from_autopilot(Autopilot(), dt_s=0.05, max_decel_mps2=9.0,
                                  max_accel_mps2=3.5, n=2)
    v, target = np.array([0.0, 20.0]), np.array([12.0, 12.0])
    for _ in range(2000):
        v = v + (pid.step(target, v) - 0.5) * 0.05
    np.testing.assert_allclose(v, 12.0, atol=1e-3)
    np.testing.assert_allclose(pid.ki * pid.integral, 0.5, atol=1e-3)


def test_reset_and_validation() -> None:
    pid = SpeedPID(1.0, 1.0, 0.0, 0.1, -5.0, 5.0, n=2)
    pid.step([1.0, 1.0], [0.0, 0.0])
    pid.reset([0])
    assert pid.integral[0] == 0.0 and pid.integral[1] > 0.0
    with pytest.raises(ValueError):
        SpeedPID(1.0, 0.0, 0.0, 0.1, 5.0, -5.0)
    with pytest.raises(ValueError):
        SpeedPID(1.0, 0.0, 0.0, 0.0, -5.0, 5.0)


def test_compiled_pid_matches_the_numpy_reference_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    n = 7
    kernel = SpeedPID(1.5, 0.4, 0.1, 0.1, -9.0, 3.0, n=n)
    ref = SpeedPID(1.5, 0.4, 0.1, 0.1, -9.0, 3.0, n=n)
    ref.use_kernel = False
    for k in range(300):
        target, speed = rng.uniform(0, 20, n), rng.uniform(0, 20, n)
        upper = np.where(rng.random(n) < 0.3, rng.uniform(-12, 2, n), np.inf)
        args = (target, speed) if k % 3 else (target, speed, upper)
        if k % 50 == 7:
            kernel.reset([1, 4])
            ref.reset([1, 4])
        assert np.array_equal(kernel.step(*args), ref.step(*args))
        assert np.array_equal(kernel.integral, ref.integral)
    one = SpeedPID(1.0, 0.5, 0.0, 0.05, -9.0, 3.0)     # scalar arguments broadcast
    assert one.step(12.0, 10.0, upper_mps2=0.0)[0] == 0.0


def test_compiled_pure_pursuit_matches_the_vectorised_law() -> None:
    rng = np.random.default_rng(1)
    x, y, yaw, tx, ty = (rng.uniform(-50, 50, 500) for _ in range(5))
    wb = rng.uniform(2.0, 3.5, 500)
    ref = pure_pursuit_steer(x, y, yaw, tx, ty, wb)
    one = np.array([pure_pursuit_steer_one(*a) for a in zip(x, y, yaw, tx, ty, wb)])
    assert np.abs(one - ref).max() < 1e-15      # atan2 may differ in the last bit
