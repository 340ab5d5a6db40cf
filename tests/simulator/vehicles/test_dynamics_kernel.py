"""The numba kernel and the numpy reference implement the same model, step for step."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.schema import VehicleSpec
from simulator.vehicles import dynamics
from simulator.vehicles.kernel import KERNEL
from simulator.vehicles.kernel import constants as kernel_constants

pytestmark = pytest.mark.skipif(KERNEL is None, reason="numba not installed")


def _fleet(rng: np.random.Generator, n: int = 40) -> dynamics.VehicleState:
    st = dynamics.VehicleState(n)
    for i in range(n):
        st.set(i, rng.uniform(-50, 50), rng.uniform(-50, 50), rng.uniform(-3, 3),
               rng.uniform(0, 35))
    return st


def test_kernel_matches_numpy_reference_each_step() -> None:
    rng = np.random.default_rng(3)
    specs = [VehicleSpec(mu=float(rng.uniform(0.3, 1.1)), mass_kg=float(rng.uniform(900, 2500)))
             for _ in range(40)]
    params = dynamics.VehicleParams.from_specs(specs)
    fast = _fleet(rng)
    ref = dynamics.VehicleState(0)
    for _ in range(1000):
        ref.data = fast.data.copy()
        accel = rng.uniform(-10, 4, 40)
        steer = rng.uniform(-0.6, 0.6, 40)
        dynamics.step(fast, params, accel, steer, 0.01)
        dynamics.step(ref, params, accel, steer, 0.01, use_kernel=False)
        # Same operations in the same order: equal up to the last bit of libm calls.
        np.testing.assert_allclose(fast.data, ref.data, rtol=1e-12, atol=1e-12)


def test_kernel_accepts_scalar_commands() -> None:
    rng = np.random.default_rng(4)
    params = dynamics.VehicleParams.from_specs([VehicleSpec()] * 3)
    a, b = _fleet(rng, 3), dynamics.VehicleState(0)
    b.data = a.data.copy()
    dynamics.step(a, params, -2.0, 0.1, 0.01)
    dynamics.step(b, params, np.full(3, -2.0), np.full(3, 0.1), 0.01, use_kernel=False)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-12)


def test_compiled_odometer_matches_numpy_bit_for_bit() -> None:
    rng = np.random.default_rng(4)
    for vx in (rng.uniform(0, 40, 51), np.zeros(1), np.array([3.0, np.nan, 1.0])):
        fast = rng.uniform(0, 1e4, len(vx))
        ref = fast.copy()
        top = dynamics.odometer(fast, vx, 0.01)
        np.add(ref, vx * 0.01, out=ref)
        assert np.array_equal(fast, ref, equal_nan=True)
        assert np.array_equal(top, vx.max(), equal_nan=True)


def test_cached_steering_trig_changes_nothing() -> None:
    """The kernel's cos/sin of held steering angles: the same state bit for bit as
    computing them afresh each step (commands held, changed, through zero)."""
    rng = np.random.default_rng(5)
    params = dynamics.VehicleParams.from_specs([VehicleSpec()] * 30)
    consts = kernel_constants(params, 0.01, *dynamics.blend_speeds(params, 0.01))
    cached = _fleet(rng, 30)
    fresh = cached.data.copy()
    steer = rng.uniform(-0.3, 0.3, 30)
    for k in range(400):
        if k % 10 == 0:
            steer = np.where(rng.random(30) < 0.2, rng.choice([0.0, -0.0], 30),
                             rng.uniform(-0.3, 0.3, 30))
        accel = rng.uniform(-3, 2, 30)
        dynamics.step(cached, params, accel, steer, 0.01)
        KERNEL(fresh, accel, steer, consts, 0.01, np.full((3, 30), np.nan))
        assert np.array_equal(cached.data.view(np.int64), fresh.view(np.int64))
