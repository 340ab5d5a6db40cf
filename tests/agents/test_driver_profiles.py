"""Driver parameter sampling: bounds, mix frequencies, determinism, per-driver streams."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from agents.profiles import PARAM_NAMES, DriverParams, sample_drivers, truncnorm_from_uniform
from scenarios.schema import Dist, DriverProfile, Traffic


def child_rngs(seed: int, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def test_param_names_match_schema() -> None:
    assert set(PARAM_NAMES) == set(DriverProfile.model_fields)
    assert len(PARAM_NAMES) == len(set(PARAM_NAMES))


def test_drawn_parameters_respect_bounds() -> None:
    # Wide std against narrow bounds: most raw normal draws would fall outside.
    wide = Dist(mean=1.0, std=5.0, min=0.5, max=1.2)
    traffic = Traffic(count=2000, profiles={"w": DriverProfile(**{k: wide for k in PARAM_NAMES})},
                      mix={"w": 1.0})
    params = sample_drivers(traffic, child_rngs(1, 2000))
    for name in PARAM_NAMES:
        vals = getattr(params, name)
        assert vals.min() >= 0.5 and vals.max() <= 1.2, name
        # Truncating N(1, 5) to [0.5, 1.2] is nearly uniform there: mean ~0.85, not clipped.
        assert vals.mean() == pytest.approx(0.85, abs=0.02), name
        assert np.mean((vals == 0.5) | (vals == 1.2)) < 0.01, name
    # Default profiles: each driver within its own profile's bounds.
    default = Traffic(count=2000)
    params = sample_drivers(default, child_rngs(2, 2000))
    for k, pname in enumerate(params.profile_names):
        mine = params.profile == k
        for name in PARAM_NAMES:
            dist = getattr(default.profiles[pname], name)
            vals = getattr(params, name)[mine]
            assert vals.min() >= dist.min and vals.max() <= dist.max, (pname, name)


def test_mix_frequencies_match_weights() -> None:
    n = 2000
    traffic = Traffic(count=n, mix={"cautious": 1.0, "normal": 2.0, "aggressive": 1.0})
    params = sample_drivers(traffic, child_rngs(3, n))
    assert params.profile_names == ("cautious", "normal", "aggressive")
    counts = np.bincount(params.profile, minlength=3)
    for count, p in zip(counts, (0.25, 0.5, 0.25)):
        sigma = math.sqrt(n * p * (1 - p))
        assert abs(count - n * p) < 4 * sigma
    # A zero weight is never drawn.
    traffic = Traffic(count=n, mix={"cautious": 0.0, "normal": 1.0, "aggressive": 0.0})
    params = sample_drivers(traffic, child_rngs(3, n))
    assert (params.profile == 1).all()


def test_same_seeds_identical_and_other_seeds_differ() -> None:
    traffic = Traffic(count=50)
    a = sample_drivers(traffic, child_rngs(7, 50))
    b = sample_drivers(traffic, child_rngs(7, 50))
    c = sample_drivers(traffic, child_rngs(8, 50))
    for name in (*PARAM_NAMES, "profile"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.time_headway_s, c.time_headway_s)


def test_adding_a_driver_does_not_change_the_others() -> None:
    traffic = Traffic(count=50)
    fifty = sample_drivers(traffic, child_rngs(11, 50))
    fifty_one = sample_drivers(traffic, child_rngs(11, 51))
    assert len(fifty_one) == 51
    for name in (*PARAM_NAMES, "profile"):
        np.testing.assert_array_equal(getattr(fifty_one, name)[:50], getattr(fifty, name))


def test_zero_std_gives_mean_and_out_of_range_mean_is_rejected() -> None:
    assert truncnorm_from_uniform(0.37, Dist(mean=1.25, std=0.0)) == 1.25
    with pytest.raises(ValidationError, match="mean must lie within"):
        Dist(mean=1.25, std=0.0, max=1.0)
    with pytest.raises(ValidationError, match="max must be >= min"):
        Dist(mean=1.0, std=0.1, min=1.5, max=0.5)
    prof = DriverProfile(**{k: Dist(mean=0.5, std=0.0) for k in PARAM_NAMES})
    params = sample_drivers(Traffic(count=3, profiles={"p": prof}, mix={"p": 1.0}),
                            child_rngs(0, 3))
    for name in PARAM_NAMES:
        np.testing.assert_array_equal(getattr(params, name), 0.5)


def test_truncated_normal_law() -> None:
    u = np.random.default_rng(5).random(20000)
    # Half-normal: mean sqrt(2/pi) std.
    half = np.array([truncnorm_from_uniform(x, Dist(mean=0.0, std=1.0, min=0.0)) for x in u])
    assert half.min() >= 0.0 and half.mean() == pytest.approx(math.sqrt(2 / math.pi), abs=0.02)
    # Untruncated: the median maps to the mean, quartiles to -/+0.6745 std.
    d = Dist(mean=3.0, std=2.0)
    assert truncnorm_from_uniform(0.5, d) == pytest.approx(3.0, abs=1e-12)
    assert truncnorm_from_uniform(0.75, d) == pytest.approx(3.0 + 2 * 0.6744897502, abs=1e-8)
    # Far in a tail (either side), still inside the bounds, mean ~ a + 1/a.
    for lo, hi, sign in ((10.0, 11.0, 1.0), (-11.0, -10.0, -1.0)):
        tail = np.array([truncnorm_from_uniform(x, Dist(mean=0.0, std=1.0, min=lo, max=hi))
                         for x in u[:2000]])
        assert tail.min() >= lo and tail.max() <= hi
        assert tail.mean() == pytest.approx(sign * (10.0 + 1 / 10.0), abs=0.01)
    # So far out that the mass underflows: the nearest bound.
    far = Dist(mean=0.0, std=1.0, min=60.0, max=61.0)
    assert truncnorm_from_uniform(0.3, far) == 60.0


def test_driver_params_take_and_validation() -> None:
    params = sample_drivers(Traffic(count=5), child_rngs(4, 5))
    sub = params.take([4, 0])
    assert len(sub) == 2 and sub.profile_names == params.profile_names
    assert sub.min_gap_m[0] == params.min_gap_m[4]
    with pytest.raises(ValueError, match="shape"):
        DriverParams(**{k: np.zeros(2) for k in PARAM_NAMES}, profile=np.zeros(3, int),
                     profile_names=("a",))


def test_empty_and_invalid_mix() -> None:
    empty = sample_drivers(Traffic(count=0, mix={}), [])
    assert len(empty) == 0 and empty.min_gap_m.shape == (0,)
    with pytest.raises(ValueError, match="positive weight"):
        sample_drivers(Traffic(count=0, mix={}), child_rngs(0, 1))
