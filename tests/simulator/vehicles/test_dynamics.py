"""Vehicle dynamics against textbook answers: stopping distance, steady circles, energy."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.schema import VehicleSpec
from simulator.constants import GRAVITY_MPS2
from simulator.vehicles.dynamics import (
    DYNAMIC_ABOVE_MPS,
    KINEMATIC_BELOW_MPS,
    VehicleParams,
    VehicleState,
    blend_speeds,
    step,
)

DT = 0.01


def make(specs: list[VehicleSpec], speeds: list[float], yaws: list[float] | None = None
         ) -> tuple[VehicleState, VehicleParams]:
    params = VehicleParams.from_specs(specs)
    state = VehicleState(len(specs))
    for i, v in enumerate(speeds):
        state.set(i, 10.0 * i, -5.0 * i, 0.0 if yaws is None else yaws[i], v)
    return state, params


def kinetic_energy(state: VehicleState, params: VehicleParams) -> np.ndarray:
    return (0.5 * params.mass_kg * (state.vx**2 + state.vy**2)
            + 0.5 * params.yaw_inertia_kgm2 * state.yaw_rate**2)


def hold_speed_on_circle(spec: VehicleSpec, speed: float, delta: float, seconds: float = 25.0
                         ) -> VehicleState:
    """Drive with fixed steer and a P speed controller until steady state."""
    state, params = make([spec], [speed])
    for _ in range(int(seconds / DT)):
        step(state, params, 2.0 * (speed - state.vx), np.array([delta]), DT)
    return state


def understeer_gradient(spec: VehicleSpec) -> float:
    wheelbase, lf = spec.wheelbase_m, spec.cog_to_front_axle_m
    lr = wheelbase - lf
    return spec.mass_kg / wheelbase * (lr / spec.cornering_stiffness_front_n_per_rad
                                       - lf / spec.cornering_stiffness_rear_n_per_rad)


# --------------------------------------------------------------------------- longitudinal
@pytest.mark.parametrize("mu", [0.9, 0.4, 1.2])
def test_full_brake_stops_within_textbook_distance(mu: float) -> None:
    spec = VehicleSpec(mu=mu)
    v0, yaw = 20.0, 0.7
    state, params = make([spec], [v0], [yaw])
    decel = min(spec.max_decel_mps2, mu * GRAVITY_MPS2)
    steps_to_stop = 0
    while state.vx[0] > 0.0:
        step(state, params, np.array([-50.0]), np.array([0.0]), DT)
        steps_to_stop += 1
        if state.vx[0] > 0.0:  # body acceleration is the brake limit while rolling
            assert state.ax_body[0] == pytest.approx(-decel, rel=1e-9)
    stop_xy = np.array([state.x[0], state.y[0]])
    for _ in range(200):  # holding the brake keeps it stopped, no reversing
        step(state, params, np.array([-50.0]), np.array([0.0]), DT)
        assert state.vx[0] == 0.0
    assert np.array_equal(stop_xy, [state.x[0], state.y[0]])
    distance = np.hypot(state.x[0], state.y[0])
    expected = v0**2 / (2 * decel)
    assert expected - 1e-6 <= distance <= expected + v0 * DT
    assert steps_to_stop == int(np.ceil(v0 / decel / DT))
    assert np.arctan2(state.y[0], state.x[0]) == pytest.approx(yaw)  # braked straight


@pytest.mark.parametrize(("cmd", "mu", "expected"), [
    (2.0, 0.9, 2.0),                # follows the command
    (10.0, 0.9, 3.5),               # clipped at max_accel
    (10.0, 0.2, 0.2 * GRAVITY_MPS2),  # clipped at the friction limit
])
def test_free_acceleration_follows_clipped_command(cmd: float, mu: float,
                                                   expected: float) -> None:
    state, params = make([VehicleSpec(mu=mu)], [0.0])
    for k in range(1, 501):
        step(state, params, np.array([cmd]), np.array([0.0]), DT)
        t = k * DT
        assert state.vx[0] == pytest.approx(expected * t, rel=1e-9)
    assert state.x[0] == pytest.approx(0.5 * expected * 5.0**2, rel=1e-9)
    assert state.y[0] == 0.0 and state.yaw[0] == 0.0


def test_steering_is_rate_limited_and_clipped() -> None:
    spec = VehicleSpec(max_steer_deg=35.0, max_steer_rate_deg_s=90.0)
    rate, limit = np.deg2rad(90.0), np.deg2rad(35.0)
    state, params = make([spec, spec], [0.0, 10.0])
    cmd = np.array([0.5, 2.0])                # the second beyond the mechanical limit
    for k in range(1, 101):
        step(state, params, np.zeros(2), cmd, DT)
        np.testing.assert_allclose(state.steer, np.minimum(k * rate * DT, [0.5, limit]),
                                   rtol=1e-12, atol=1e-15)
    for k in range(1, 20):                    # and back towards a negative command
        step(state, params, np.zeros(2), -cmd, DT)
        np.testing.assert_allclose(state.steer, [0.5, limit] - k * rate * DT, rtol=1e-12)


def test_standing_car_steering_does_not_move() -> None:
    state, params = make([VehicleSpec()], [0.0], [0.3])
    before = state.data.copy()
    for _ in range(100):
        step(state, params, np.array([0.0]), np.array([0.4]), DT)
    assert state.steer[0] == pytest.approx(0.4)
    assert (state.x[0], state.y[0], state.yaw[0]) == (before[0, 0], before[1, 0], before[2, 0])
    assert state.vx[0] == state.vy[0] == state.yaw_rate[0] == 0.0


# --------------------------------------------------------------------------- lateral
def test_kinematic_circle_below_blend_speed() -> None:
    spec = VehicleSpec()
    delta, v = 0.4, 1.0
    assert v < KINEMATIC_BELOW_MPS
    state = hold_speed_on_circle(spec, v, delta, seconds=10.0)
    expected = state.vx[0] / spec.wheelbase_m * np.tan(delta)
    assert state.yaw_rate[0] == pytest.approx(expected, rel=1e-9)
    lr = spec.wheelbase_m - spec.cog_to_front_axle_m
    assert state.vy[0] == pytest.approx(lr * expected, rel=1e-9)


@pytest.mark.parametrize(("v", "delta"), [(3.0, 0.4), (4.0, 0.3), (5.0, 0.1)])
def test_low_speed_circle_matches_kinematic_yaw_rate(v: float, delta: float) -> None:
    spec = VehicleSpec()
    state = hold_speed_on_circle(spec, v, delta)
    expected = state.vx[0] / spec.wheelbase_m * np.tan(delta)
    assert state.yaw_rate[0] == pytest.approx(expected, rel=0.03)
    # the IMU sees the centripetal acceleration r x v
    assert state.ay_body[0] == pytest.approx(state.yaw_rate[0] * state.vx[0], rel=1e-4)
    assert state.ax_body[0] == pytest.approx(-state.yaw_rate[0] * state.vy[0], rel=1e-2)


@pytest.mark.parametrize(("v", "delta"), [(15.0, 0.02), (20.0, 0.01), (30.0, 0.005),
                                          (40.0, 0.003)])
def test_steady_state_yaw_rate_matches_linear_understeer_formula(v: float,
                                                                 delta: float) -> None:
    spec = VehicleSpec()
    k_us = understeer_gradient(spec)
    assert k_us > 0
    state = hold_speed_on_circle(spec, v, delta)
    vx = state.vx[0]
    expected = vx * delta / (spec.wheelbase_m + k_us * vx**2)
    assert state.yaw_rate[0] == pytest.approx(expected, rel=0.01)
    # and clearly not the kinematic answer: understeer is modelled
    assert state.yaw_rate[0] < 0.9 * vx / spec.wheelbase_m * np.tan(delta)


def test_lateral_acceleration_saturates_at_friction() -> None:
    mu = 0.5
    state, params = make([VehicleSpec(mu=mu)], [20.0])
    peak = 0.0
    for _ in range(200):                      # 2 s of an impossible steering demand
        step(state, params, np.array([0.0]), np.array([0.3]), DT)
        peak = max(peak, float(np.hypot(state.ax_body[0], state.ay_body[0])))
    assert 0.9 * mu * GRAVITY_MPS2 < peak < 1.02 * mu * GRAVITY_MPS2


def test_perturbation_decays_at_40_mps() -> None:
    state, params = make([VehicleSpec()], [40.0])
    state.vy[0], state.yaw_rate[0] = 1.0, 0.2
    for _ in range(300):
        step(state, params, np.array([0.0]), np.array([0.0]), DT)
        assert np.all(np.isfinite(state.data))
    assert abs(state.vy[0]) < 1e-3 and abs(state.yaw_rate[0]) < 1e-3


def test_coasting_never_gains_kinetic_energy() -> None:
    specs = [VehicleSpec(), VehicleSpec(mu=0.4), VehicleSpec(mass_kg=2500.0,
                                                             yaw_inertia_kgm2=5000.0),
             VehicleSpec(cornering_stiffness_front_n_per_rad=120000.0)]
    state, params = make(specs, [20.0, 20.0, 25.0, 35.0])
    energy = kinetic_energy(state, params)
    e0 = energy.copy()
    amplitude = np.array([0.08, 0.06, 0.05, 0.015])   # the mu=0.4 car saturates
    max_rate = 0.0
    for k in range(int(20.0 / DT)):
        steer = amplitude * np.sin(2 * np.pi * 0.5 * k * DT + np.arange(4))
        step(state, params, np.zeros(4), steer, DT)
        new = kinetic_energy(state, params)
        assert np.all(new <= energy * (1 + 1e-12)), k
        energy = new
        max_rate = max(max_rate, float(np.abs(state.yaw_rate).max()))
    assert np.all(state.vx > DYNAMIC_ABOVE_MPS)   # stayed in the dynamic regime
    assert max_rate > 0.1                          # the steering did something
    assert np.all(energy < e0)                     # tyre slip dissipates


# --------------------------------------------------------------------------- vectorisation
@pytest.mark.parametrize("n", [5, 17])
def test_vectorised_equals_scalar_bit_for_bit(n: int) -> None:
    rng = np.random.default_rng(7)
    specs = [VehicleSpec(mass_kg=float(rng.uniform(900, 2500)), mu=float(rng.uniform(0.3, 1.1)),
                         max_steer_rate_deg_s=float(rng.uniform(60, 300)))
             for _ in range(n)]
    speeds = list(rng.choice([0.0, 1.0, 2.2, 12.0, 35.0], n))
    yaws = list(rng.uniform(-3, 3, n))
    together, params = make(specs, speeds, yaws)
    alone = [make([s], [v], [y]) for s, v, y in zip(specs, speeds, yaws)]
    for st, (a, _) in zip(together.data.T, alone):
        a.data[:2, 0] = st[:2]
    accel = rng.uniform(-10, 5, (300, n))
    steer = rng.uniform(-0.7, 0.7, (300, n))
    for k in range(300):
        step(together, params, accel[k], steer[k], DT)
        for i, (st, pa) in enumerate(alone):
            step(st, pa, accel[k, i:i + 1], steer[k, i:i + 1], DT)
    for i, (st, _) in enumerate(alone):
        assert np.array_equal(together.data[:, i], st.data[:, 0]), i


# --------------------------------------------------------------------------- bookkeeping
def test_set_append_remove() -> None:
    specs = [VehicleSpec(mass_kg=1000.0 + 100 * i) for i in range(4)]
    state, params = make(specs, [5.0, 6.0, 7.0, 8.0])
    step(state, params, np.zeros(4), np.zeros(4), DT)
    new = state.append(2)
    params.append([VehicleSpec(), VehicleSpec(mass_kg=3000.0)])
    assert list(new) == [4, 5] and state.n == params.n == 6
    state.set(5, 1.0, 2.0, 4.0, 3.0)
    assert state.yaw[5] == pytest.approx(4.0 - 2 * np.pi)
    assert (state.vx_world[5], state.vy_world[5]) == pytest.approx((3 * np.cos(4.0),
                                                                    3 * np.sin(4.0)))
    step(state, params, np.zeros(6), np.zeros(6), DT)
    assert state.x[5] == pytest.approx(1.0 + 3 * np.cos(4.0) * DT)
    vx_kept = state.vx[[0, 2, 3, 4, 5]].copy()
    state.remove([1])
    params.remove([1])
    assert state.n == params.n == 5
    np.testing.assert_array_equal(state.vx, vx_kept)
    np.testing.assert_array_equal(params.mass_kg, [1000.0, 1200.0, 1300.0, 1500.0, 3000.0])
    step(state, params, np.zeros(5), np.zeros(5), DT)
    with pytest.raises(ValueError):
        step(state, VehicleParams.from_specs(specs), np.zeros(5), np.zeros(5), DT)
    with pytest.raises(ValueError):
        state.set(0, 0.0, 0.0, 0.0, -1.0)


def test_blend_speeds_default_and_stiff_light_car() -> None:
    params = VehicleParams.from_specs([
        VehicleSpec(),
        VehicleSpec(mass_kg=200.0, yaw_inertia_kgm2=100.0)])
    v_hi, v_lo = blend_speeds(params, DT)
    assert v_hi[0] == DYNAMIC_ABOVE_MPS and v_lo[0] == KINEMATIC_BELOW_MPS
    gain = DT * (80000.0 + 90000.0) / 200.0
    assert v_hi[1] >= gain and v_lo[1] == pytest.approx(v_hi[1] / 2)
