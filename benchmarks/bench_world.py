"""World throughput: simulated seconds per wall second for the default scenario
(100 Hz physics, 50 NPCs, no sensors, no video)."""

from __future__ import annotations

import json
import time

import numpy as np

from scenarios import DEFAULT_SCENARIO, load
from simulator.world import World


def run(quick: bool = False) -> dict[str, float]:
    scenario = load(DEFAULT_SCENARIO)
    scenario = scenario.model_copy(update={"sensors": []})
    sim_s = 5.0 if quick else 20.0
    repeats = 1 if quick else 3
    factors = []
    for _ in range(repeats):
        with World(scenario) as world:
            for _ in range(100):  # warm up caches and the first decisions
                world.step()
            n = int(sim_s / world.dt_s)
            t0 = time.perf_counter()
            for _ in range(n):
                world.step()
            wall = time.perf_counter() - t0
        factors.append(sim_s / wall)
    factor = float(np.median(factors))
    return {"world_realtime_factor": round(factor, 2),
            "world_step_us": round(1e6 / (factor * 100.0), 2)}


if __name__ == "__main__":
    print(json.dumps(run()))
