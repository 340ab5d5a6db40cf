"""IDM: exact formula values, edge cases, and closed-loop behaviour on a 1D lane."""

from __future__ import annotations

import numpy as np
import pytest

from agents.idm import (
    idm_acceleration,
    idm_acceleration_one,
    idm_desired_gap,
    idm_equilibrium_gap,
)

T, S0, A, B = 1.5, 2.0, 1.5, 2.0
CAR_LEN_M = 4.5
PHYSICS_DT_S = 0.01
DECIDE_EVERY = 5  # 20 Hz decisions held over 100 Hz physics, like the world


def ballistic(x: np.ndarray, v: np.ndarray, a: np.ndarray, dt: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Constant-acceleration step where a braking car stops instead of reversing."""
    v_new = v + a * dt
    stops = v_new < 0.0
    dx_stop = v * v / (2.0 * np.maximum(-a, 1e-12))
    x = x + np.where(stops, dx_stop, 0.5 * (v + v_new) * dt)
    return x, np.maximum(v_new, 0.0)


def follow(x_f: float, v_f: float, v0: float, x_l: float, v_l: float, t_end_s: float,
           stop_line_m: float | None = None) -> dict[str, np.ndarray]:
    """One IDM follower behind a leader driving at constant ``v_l`` (front-bumper positions).

    With ``stop_line_m`` the follower instead approaches a stop line at that position (and the
    leader is ignored). Returns the follower's gap and speed histories.
    """
    x, v = np.array([x_f]), np.array([v_f])
    gaps, speeds = [], []
    acc = np.zeros(1)
    for k in range(int(round(t_end_s / PHYSICS_DT_S))):
        if k % DECIDE_EVERY == 0:
            if stop_line_m is None:
                acc = idm_acceleration(v, v0, x_l - CAR_LEN_M - x, v - v_l, T, S0, A, B)
            else:
                # A stop line is a standing leader (dv = v), stopped at 1 m before it.
                acc = idm_acceleration(v, v0, stop_line_m - x, v, T, 1.0, A, B)
        x, v = ballistic(x, v, acc, PHYSICS_DT_S)
        x_l += v_l * PHYSICS_DT_S
        gaps.append((stop_line_m if stop_line_m is not None else x_l - CAR_LEN_M) - x[0])
        speeds.append(v[0])
    return {"gap": np.array(gaps), "v": np.array(speeds)}


# ------------------------------------------------------------------ the formula itself
def test_desired_gap_formula() -> None:
    v, dv = 20.0, 3.0
    expected = S0 + v * T + v * dv / (2.0 * np.sqrt(A * B))
    assert idm_desired_gap(v, dv, T, S0, A, B) == pytest.approx(expected, rel=1e-15)
    # Steady following (dv = 0): s* = s0 + v T exactly.
    assert idm_desired_gap(v, 0.0, T, S0, A, B) == S0 + v * T
    # A much faster leader cannot make s* smaller than s0.
    assert idm_desired_gap(v, -100.0, T, S0, A, B) == S0


def test_acceleration_formula_values() -> None:
    v, v0, gap, dv = 12.0, 25.0, 30.0, 2.0
    s_star = S0 + v * T + v * dv / (2.0 * np.sqrt(A * B))
    expected = A * (1.0 - (v / v0) ** 4 - (s_star / gap) ** 2)
    got = idm_acceleration(v, v0, gap, dv, T, S0, A, B)
    assert got == pytest.approx(expected, rel=1e-12)
    # Free road: only the free-road term.
    assert idm_acceleration(10.0, 20.0, np.inf, 5.0, T, S0, A, B) == A * (1 - 0.5**4)
    # Other exponents follow the same law.
    assert idm_acceleration(10.0, 20.0, np.inf, 0.0, T, S0, A, B, delta=2.0) == A * 0.75


def test_equilibrium_is_exact_and_close_to_s0_plus_vT() -> None:
    v0 = np.array([30.0, 30.0, 30.0, 1000.0])
    v = np.array([0.0, 5.0, 15.0, 15.0])
    s_e = idm_equilibrium_gap(v, v0, T, S0)
    np.testing.assert_allclose(idm_acceleration(v, v0, s_e, 0.0, T, S0, A, B), 0.0, atol=1e-12)
    np.testing.assert_allclose(s_e, (S0 + v * T) / np.sqrt(1 - (v / v0) ** 4), rtol=1e-15)
    # s0 + v T is the delta -> inf (or v << v0) limit: off by 3.3 % at v = v0/2, ~0 for v0 >> v.
    assert s_e[2] / (S0 + 15 * T) == pytest.approx(1 / np.sqrt(1 - 0.5**4), rel=1e-12)
    assert s_e[3] == pytest.approx(S0 + 15 * T, rel=1e-5)
    assert idm_equilibrium_gap(30.0, 30.0, T, S0) == np.inf


def test_edge_cases_are_finite_and_sensible() -> None:
    with np.errstate(all="raise"):  # no division by zero / invalid anywhere
        overlap = idm_acceleration([10.0, 10.0, 0.0], 30.0, [0.0, -3.0, -1.0], 0.0, T, S0, A, B)
        assert np.all(np.isfinite(overlap)) and np.all(overlap < -100.0)
        # Desired speed 0: a standing driver stays put, a moving one brakes comfortably.
        still = idm_acceleration([0.0, 8.0], 0.0, np.inf, 0.0, T, S0, A, B)
        np.testing.assert_array_equal(still, [0.0, -B])
        assert idm_acceleration(0.0, 1e-9, 50.0, 0.0, T, S0, A, B) < 0.0  # only the gap term
        # Faster than desired: braking bounded by b (no emergency stop at a lower limit).
        assert idm_acceleration(30.0, 10.0, np.inf, 0.0, T, S0, A, B) == -B
        assert idm_acceleration(10.0, 30.0, 0.0, 0.0, T, S0, A, B, max_brake=9.0) == -9.0


def test_vectorised_matches_scalar() -> None:
    rng = np.random.default_rng(3)
    n = 51
    args = [rng.uniform(0, 30, n), rng.uniform(5, 35, n), rng.uniform(0.5, 80, n),
            rng.uniform(-5, 5, n), rng.uniform(0.8, 2.5, n), rng.uniform(1, 4, n),
            rng.uniform(0.8, 3, n), rng.uniform(1, 4, n)]
    args[2][::7] = np.inf
    vec = idm_acceleration(*args)
    assert vec.shape == (n,)
    for i in range(n):
        assert vec[i] == idm_acceleration(*(a[i] for a in args))


# ------------------------------------------------------------------ closed loop on a lane
def test_stops_behind_stopped_leader_at_min_gap() -> None:
    out = follow(x_f=0.0, v_f=20.0, v0=30.0, x_l=200.0, v_l=0.0, t_end_s=120.0)
    assert out["gap"].min() > 0.0
    assert out["gap"].min() > 0.9 * S0  # never pushes deep into its safety margin
    assert out["v"][-1] < 1e-3
    assert out["gap"][-1] == pytest.approx(S0, abs=0.03)


def test_stops_at_stop_line() -> None:
    out = follow(x_f=0.0, v_f=15.0, v0=15.0, x_l=0.0, v_l=0.0, t_end_s=90.0, stop_line_m=120.0)
    assert out["gap"].min() > 0.0
    assert out["v"][-1] < 1e-3
    assert out["gap"][-1] == pytest.approx(1.0, abs=0.03)


def test_free_road_reaches_desired_speed() -> None:
    out = follow(x_f=0.0, v_f=0.0, v0=25.0, x_l=0.0, v_l=0.0, t_end_s=90.0,
                 stop_line_m=np.inf)
    assert out["v"].max() <= 25.0
    assert out["v"][-1] == pytest.approx(25.0, rel=0.01)


@pytest.mark.parametrize("v0", [30.0, 1000.0])
def test_steady_following_gap_is_idm_equilibrium(v0: float) -> None:
    v_l = 15.0
    out = follow(x_f=0.0, v_f=v_l, v0=v0, x_l=60.0, v_l=v_l, t_end_s=150.0)
    s_e = float(idm_equilibrium_gap(v_l, v0, T, S0))
    assert out["v"][-1] == pytest.approx(v_l, abs=1e-3)
    assert out["gap"][-1] == pytest.approx(s_e, abs=0.01)
    # s0 + v T: within the delta=4 correction (3.3 % at v0 = 2 v), ~exact for v0 >> v.
    assert out["gap"][-1] == pytest.approx(S0 + v_l * T, rel=0.035 if v0 < 100 else 1e-3)


def test_compiled_one_vehicle_idm_matches_the_vectorised_one_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    k = 2000
    v, v0 = rng.uniform(0, 35, k), rng.choice([0.0, 1e-4, 5.0, 30.0], k)
    gap = np.where(rng.random(k) < 0.1, np.inf, rng.uniform(-2, 150, k))
    dv = rng.uniform(-10, 10, k)
    T, s0 = rng.uniform(0.5, 2.5, k), rng.uniform(0.5, 4, k)
    a, b = rng.uniform(0.5, 3, k), rng.uniform(1, 4, k)
    ref = idm_acceleration(v, v0, gap, dv, T, s0, a, b)
    one = np.array([idm_acceleration_one(*args) for args in zip(v, v0, gap, dv, T, s0, a, b)])
    assert np.array_equal(one, ref)
