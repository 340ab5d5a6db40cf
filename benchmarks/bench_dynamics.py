"""Vehicle dynamics benchmark: one ``simulator.vehicles.dynamics.step`` for 51 vehicles (ego + 50).

``dynamics_step_us`` is the median wall time of one 100 Hz step [us] over many steps, with
a mix of stopped, slow (kinematic blend) and fast cars whose commands change at 20 Hz, so
every part of the model is exercised. ``place_cars_us`` is the median time to rebuild the
51 car meshes for the ray-cast scene (``simulator.vehicles.mesh.place_cars``);
``place_vehicles_us`` the same for a mixed fleet of 51 (every kind in ``KINDS``, each with
its own template: ``simulator.vehicles.mesh.place_vehicles``).

Run alone: ``.venv/bin/python -m benchmarks.bench_dynamics`` (prints one JSON object).
"""

from __future__ import annotations

import json
import time

import numpy as np

from scenarios.schema import VehicleSpec
from simulator.vehicles.dynamics import VehicleParams, VehicleState, step
from simulator.vehicles.kinds import KINDS
from simulator.vehicles.mesh import mesh_index, place_cars, place_vehicles

N_VEHICLES = 51
DT_S = 0.01


def _world(rng: np.random.Generator) -> tuple[VehicleState, VehicleParams]:
    specs = [VehicleSpec(mass_kg=float(rng.uniform(1100, 2200)), mu=float(rng.uniform(0.4, 1.0)))
             for _ in range(N_VEHICLES)]
    params = VehicleParams.from_specs(specs)
    state = VehicleState(N_VEHICLES)
    for i in range(N_VEHICLES):
        state.set(i, float(rng.uniform(-200, 200)), float(rng.uniform(-200, 200)),
                  float(rng.uniform(-np.pi, np.pi)), float(rng.choice([0.0, 2.0, 10.0, 25.0])))
    return state, params


def time_dynamics(steps: int, rng: np.random.Generator) -> np.ndarray:
    """Wall time of each of ``steps`` steps [us]."""
    state, params = _world(rng)
    accel = rng.uniform(-3.0, 2.0, N_VEHICLES)
    steer = np.zeros(N_VEHICLES)
    phase = rng.uniform(0, 2 * np.pi, N_VEHICLES)
    times = np.empty(steps)
    clock = time.perf_counter
    for k in range(steps):
        if k % 5 == 0:  # drivers decide at 20 Hz
            np.multiply(np.sin(phase + 0.01 * k), 0.2, out=steer)
            accel = np.where(state.vx < 1.0, 1.5, np.where(state.vx > 20.0, -2.0, accel))
        t = clock()
        step(state, params, accel, steer, DT_S)
        times[k] = clock() - t
    if not np.isfinite(state.data).all():
        raise FloatingPointError("dynamics produced non-finite state")
    return times * 1e6


def time_place_cars(repeats: int, rng: np.random.Generator) -> np.ndarray:
    """Wall time of each of ``repeats`` mesh rebuilds of all vehicles [us]."""
    state, params = _world(rng)
    times = np.empty(repeats)
    for k in range(repeats):
        t = time.perf_counter()
        place_cars(state.x, state.y, state.yaw, params.length_m, params.width_m,
                   params.height_m)
        times[k] = time.perf_counter() - t
    return times * 1e6


def time_place_vehicles(repeats: int, rng: np.random.Generator) -> np.ndarray:
    """Wall time of each of ``repeats`` mesh rebuilds of a mixed fleet [us]."""
    state, _ = _world(rng)
    kinds = [list(KINDS)[i % len(KINDS)] for i in range(N_VEHICLES)]
    mesh_idx = np.array([mesh_index(KINDS[k].mesh) for k in kinds])
    size = np.array([[KINDS[k].spec.length_m, KINDS[k].spec.width_m, KINDS[k].spec.height_m]
                     for k in kinds])
    times = np.empty(repeats)
    for k in range(repeats):
        t = time.perf_counter()
        place_vehicles(mesh_idx, state.x, state.y, state.yaw, size[:, 0], size[:, 1],
                       size[:, 2])
        times[k] = time.perf_counter() - t
    return times * 1e6


def run(quick: bool = False) -> dict[str, float]:
    """Benchmark entry point: see the module docstring. ``quick``: fewer steps."""
    rng = np.random.default_rng(0)
    steps = 3000 if quick else 30000
    time_dynamics(500, rng)  # warm-up (builds the cached step)
    step_us = time_dynamics(steps, rng)
    mesh_us = time_place_cars(200 if quick else 2000, rng)
    kinds_us = time_place_vehicles(200 if quick else 2000, rng)
    return {
        "dynamics_step_us": round(float(np.median(step_us)), 2),
        "dynamics_step_us_p90": round(float(np.percentile(step_us, 90)), 2),
        "place_cars_us": round(float(np.median(mesh_us)), 2),
        "place_vehicles_us": round(float(np.median(kinds_us)), 2),
    }


if __name__ == "__main__":
    print(json.dumps(run()))
