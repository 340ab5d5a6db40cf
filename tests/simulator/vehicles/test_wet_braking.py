"""A wet road lowers tyre friction (``simulator.vehicles.friction``) and so lengthens the
braking distance to v^2 / (2 mu_wet g), in the dynamics and in a World built from YAML."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import parse_scenario
from scenarios.schema import VehicleSpec
from scenarios.weather_schema import Weather
from simulator.constants import GRAVITY_MPS2
from simulator.vehicles.dynamics import VehicleParams, VehicleState, step
from simulator.vehicles.friction import (
    FLOODED_FRICTION_FACTOR,
    WET_FRICTION_FACTOR,
    friction_factor,
)
from simulator.world import World

DT = 0.01

ROAD = """
simulation: {seed: 3}
map:
  roads:
    - id: r
      lanes: {forward: 1, backward: 0}
      segments: [{type: straight, length_m: 300}]
ego:
  start: {lane: r/fwd/0, s_m: 20}
  vehicle: {mu: 0.9, max_decel_mps2: 12.0}
traffic: {count: 0}
"""


def braking_distance(params: VehicleParams, v0: float) -> float:
    state = VehicleState(params.n)
    state.set(0, 0.0, 0.0, 0.0, v0)
    while state.vx[0] > 0.0:
        step(state, params, np.array([-50.0]), np.array([0.0]), DT)
    return float(np.hypot(state.x[0], state.y[0]))


def test_friction_factor_values() -> None:
    assert friction_factor(Weather()) == 1.0
    assert friction_factor(Weather(wet_road=True)) == WET_FRICTION_FACTOR
    assert friction_factor(Weather(rain_rate_mm_h=2.0, wet_road=False)) == 1.0
    assert friction_factor(Weather(rain_rate_mm_h=25.0)) == pytest.approx(0.625)
    assert friction_factor(Weather(rain_rate_mm_h=200.0)) == FLOODED_FRICTION_FACTOR
    rates = [0.1, 5.0, 20.0, 50.0, 80.0]
    factors = [friction_factor(Weather(rain_rate_mm_h=r)) for r in rates]
    assert all(a >= b for a, b in zip(factors, factors[1:]))


@pytest.mark.parametrize("weather", [Weather(wet_road=True), Weather(rain_rate_mm_h=30.0)])
def test_wet_road_brakes_in_the_textbook_distance(weather: Weather) -> None:
    """Dry mu 0.9 on a car whose brakes could do 12 m/s^2: the tyres limit it, so the
    stop takes v^2 / (2 mu g), and the wet stop is longer by exactly 1 / factor."""
    v0, mu = 25.0, 0.9
    spec = VehicleSpec(mu=mu, max_decel_mps2=12.0)
    dry = VehicleParams.from_specs([spec])
    wet = VehicleParams.from_specs([spec])
    factor = friction_factor(weather)
    wet.mu *= factor
    d_dry, d_wet = braking_distance(dry, v0), braking_distance(wet, v0)
    mu_wet = mu * factor
    expected = v0**2 / (2 * mu_wet * GRAVITY_MPS2)
    assert expected - 1e-6 <= d_wet <= expected + v0 * DT
    assert d_dry == pytest.approx(v0**2 / (2 * mu * GRAVITY_MPS2), abs=v0 * DT)
    assert d_wet / d_dry == pytest.approx(1.0 / factor, rel=0.01)


def test_world_applies_the_wet_friction_to_every_vehicle() -> None:
    dry = parse_scenario(ROAD)
    wet = parse_scenario(ROAD + "weather: {rain_rate_mm_h: 10}\n")
    with World(dry) as w_dry, World(wet) as w_wet:
        assert w_dry.weather == Weather() and w_wet.weather.rain_rate_mm_h == 10.0
        np.testing.assert_array_equal(w_dry.params.mu, [0.9])
        np.testing.assert_allclose(w_wet.params.mu, 0.9 * friction_factor(w_wet.weather))
        d = {}
        for name, w in (("dry", w_dry), ("wet", w_wet)):
            w.state.set(0, 0.0, 0.0, 0.0, 20.0)
            d[name] = braking_distance(w.params, 20.0)
        assert d["wet"] == pytest.approx(20.0**2 / (2 * w_wet.params.mu[0] * GRAVITY_MPS2),
                                         abs=20.0 * DT)
        assert d["wet"] > 1.3 * d["dry"]
