"""Reaction delay ring buffer and desired-speed wander (Ornstein-Uhlenbeck)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agents.human import ReactionDelay, SpeedWander

DT_S = 0.05


def child_rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


# ------------------------------------------------------------------ reaction delay
def test_quantised_delays() -> None:
    rd = ReactionDelay([0.0, 0.4, 0.42, 0.43, 1.0], DT_S)
    np.testing.assert_array_equal(rd.delay_steps, [0, 8, 8, 9, 20])
    np.testing.assert_allclose(rd.delay_s, [0.0, 0.4, 0.4, 0.45, 1.0])


def test_step_appears_exactly_after_each_drivers_delay() -> None:
    rd = ReactionDelay([0.0, 0.4, 0.43, 1.0], DT_S, initial=-1.0)
    t_step = 5
    outputs = []
    for k in range(40):
        command = np.full(4, 2.0 if k >= t_step else -1.0)
        outputs.append(rd.step(command).copy())
    out = np.array(outputs)
    for i, k_delay in enumerate([0, 8, 9, 20]):
        first = int(np.argmax(out[:, i] == 2.0))
        assert first == t_step + k_delay
        assert (out[:first, i] == -1.0).all() and (out[first:, i] == 2.0).all()


def test_delayed_sequence_is_the_input_shifted() -> None:
    rd = ReactionDelay([0.25, 0.1], DT_S)  # 5 and 2 steps
    seq = np.random.default_rng(0).normal(size=(50, 2))
    out = np.array([rd.step(c).copy() for c in seq])
    np.testing.assert_array_equal(out[5:, 0], seq[:-5, 0])
    np.testing.assert_array_equal(out[2:, 1], seq[:-2, 1])
    np.testing.assert_array_equal(out[:5, 0], 0.0)


def test_reset_forgets_one_driver() -> None:
    rd = ReactionDelay([0.1, 0.1], DT_S)
    for _ in range(3):
        rd.step([1.0, 1.0])
    rd.reset([1], value=0.5)
    np.testing.assert_array_equal(rd.step([3.0, 3.0]), [1.0, 0.5])
    out = rd.step([3.0, 3.0])
    with pytest.raises(ValueError):
        out[0] = 7.0  # the reused output buffer is read-only


def test_reaction_delay_validation() -> None:
    with pytest.raises(ValueError):
        ReactionDelay([-0.1], DT_S)
    with pytest.raises(ValueError):
        ReactionDelay([0.1], 0.0)


# ------------------------------------------------------------------ speed wander
def test_wander_long_run_std_and_correlation_time() -> None:
    n, steps, tau = 200, 20000, 10.0
    sigma = np.full(n, 0.05)
    sw = SpeedWander(sigma, child_rngs(1, n), DT_S, time_constant_s=tau)
    x = np.empty((steps, n))
    for k in range(steps):
        x[k] = sw.step() - 1.0
    assert x.std() == pytest.approx(0.05, rel=0.02)
    assert abs(x.mean()) < 0.003
    lag = int(round(tau / DT_S))  # autocorrelation at lag tau is exp(-1)
    rho = np.mean(x[lag:] * x[:-lag]) / x.var()
    assert rho == pytest.approx(math.exp(-1.0), abs=0.02)


def test_wander_is_the_exact_ou_recursion_of_each_drivers_stream() -> None:
    sigma, tau, steps = 0.03, 10.0, 40
    sw = SpeedWander([sigma, 0.1], child_rngs(5, 2), DT_S, time_constant_s=tau, block=7)
    got = np.array([sw.step()[0] for _ in range(steps)])
    eps = child_rngs(5, 2)[0].standard_normal(steps + 1)
    phi = math.exp(-DT_S / tau)
    x = sigma * eps[0]
    expected = []
    for e in eps[1:]:
        x = phi * x + sigma * math.sqrt(1 - phi * phi) * e
        expected.append(1.0 + x)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-15)


def test_wander_deterministic_and_independent_per_driver() -> None:
    def run(seed: int, n: int) -> np.ndarray:
        sw = SpeedWander(np.full(n, 0.04), child_rngs(seed, n), DT_S, block=16)
        return np.array([sw.step().copy() for _ in range(100)])

    a, b, c = run(3, 4), run(3, 4), run(4, 4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(run(3, 5)[:, :4], a)  # driver 4 changes nobody else


def test_zero_imperfection_and_floor() -> None:
    sw = SpeedWander([0.0, 5.0], child_rngs(0, 2), DT_S, min_multiplier=0.2)
    vals = np.array([sw.step().copy() for _ in range(200)])
    np.testing.assert_array_equal(vals[:, 0], 1.0)
    assert vals[:, 1].min() == 0.2
    with pytest.raises(ValueError, match="one Generator per driver"):
        SpeedWander([0.1, 0.1], child_rngs(0, 1), DT_S)
