"""World benchmarks: throughput, construction and reset, on the scenarios as they ship.

Figures (medians over repeats; the machine is shared and noisy):

- ``world_realtime_factor``: simulated seconds per wall second of ``World.step`` on the
  default scenario (50 NPCs + ego, 100 Hz physics, 10 Hz decisions, collision checks; no
  sensors, no video), over 20 simulated seconds after a 1 s warm-up, 7 repeats.
  ``world_step_us`` is the same as wall time per 10 ms physics step.
- ``world_highway_realtime_factor``: the same on ``scenarios/highway.yaml``.
- ``world_build_s``: ``World(scenario)`` for the default scenario (map, static scene,
  mirror, pybullet bodies, traffic), in a process that has built one before (numba's
  kernels loaded); the first, cold build is logged.
- ``world_build_1000_npcs_s``: the same for the highway with ``traffic.count = 1000``.
- ``world_reset_ms``: ``World.reset(seed=k)`` on the default scenario.
- ``world_pedestrians_realtime_factor``: the real-time factor of
  ``scenarios/pedestrian_crossing.yaml`` (30 NPCs, 14 pedestrians walking and crossing,
  drivers yielding to them through dynamic lane obstacles); ``world_pedestrians_cost_ratio``
  is the same scenario without its pedestrians (and events) over with them, measured in
  alternation in the same run (1.0 = pedestrians cost nothing).
- ``world_highway_dense_realtime_factor``: ``scenarios/highway_dense.yaml`` (150 NPCs of
  four kinds).

Each figure can be run alone (``run_sim.py bench --only world_reset_ms``): ``run`` only
measures the ``figures`` asked for.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable

import numpy as np

from scenarios import BUNDLED_DIR, DEFAULT_SCENARIO, load
from scenarios.schema import Scenario
from simulator.world import World

logger = logging.getLogger(__name__)

FIGURES = ("world_realtime_factor", "world_step_us", "world_highway_realtime_factor",
           "world_build_s", "world_build_1000_npcs_s", "world_reset_ms",
           "world_pedestrians_realtime_factor", "world_pedestrians_cost_ratio",
           "world_highway_dense_realtime_factor")
HIGHWAY = BUNDLED_DIR / "highway.yaml"
CROSSING = BUNDLED_DIR / "pedestrian_crossing.yaml"
DENSE = BUNDLED_DIR / "highway_dense.yaml"


def _no_sensors(path, npcs: int | None = None) -> Scenario:
    sc = load(path).model_copy(update={"sensors": []})
    if npcs is not None:
        sc = sc.model_copy(update={"traffic": sc.traffic.model_copy(update={"count": npcs})})
    return sc


def realtime_factor(scenario: Scenario, sim_s: float, repeats: int) -> list[float]:
    """Simulated s per wall s of each repeat: a fresh world, 1 s of warm-up, ``sim_s``."""
    factors = []
    for _ in range(repeats):
        with World(scenario) as world:
            for _ in range(int(round(1.0 / world.dt_s))):  # caches, the first decisions
                world.step()
            n = int(round(sim_s / world.dt_s))
            t0 = time.perf_counter()
            for _ in range(n):
                world.step()
            wall = time.perf_counter() - t0
        factors.append(n * world.dt_s / wall)
    return factors


def build_seconds(scenario: Scenario, repeats: int) -> list[float]:
    """Wall time of each of ``repeats`` ``World(scenario)`` constructions [s]."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        world = World(scenario)
        times.append(time.perf_counter() - t0)
        world.close()
    return times


def reset_ms(scenario: Scenario, repeats: int) -> list[float] | None:
    """Wall time of ``World.reset(seed=k)`` for k = 1..repeats [ms]; None without reset."""
    with World(scenario) as world:
        if not hasattr(world, "reset"):
            logger.warning("world_reset_ms skipped: World has no reset(seed) yet")
            return None
        world.reset(seed=0)                     # first call: lazy allocations
        times = []
        for k in range(1, repeats + 1):
            t0 = time.perf_counter()
            world.reset(seed=k)
            times.append((time.perf_counter() - t0) * 1e3)
    return times


def _median(name: str, values: Iterable[float], unit: str) -> float:
    values = list(values)
    logger.info("%s: median %.4g %s (%s)", name, float(np.median(values)), unit,
                ", ".join(f"{v:.4g}" for v in values))
    return float(np.median(values))


def run(quick: bool = False, figures: Iterable[str] | None = None) -> dict[str, float]:
    """Benchmark figures (see the module docstring): all of them, or those in ``figures``;
    ``quick`` uses fewer and shorter repeats."""
    want = set(FIGURES if figures is None else figures)
    sim_s, repeats = (5.0, 1) if quick else (20.0, 7)
    out: dict[str, float] = {}

    def default_rtf() -> None:
        rtf = _median("world_realtime_factor",
                      realtime_factor(_no_sensors(DEFAULT_SCENARIO), sim_s, repeats), "x")
        out["world_realtime_factor"] = round(rtf, 2)
        out["world_step_us"] = round(1e6 / (rtf * 100.0), 2)

    def highway_rtf() -> None:
        out["world_highway_realtime_factor"] = round(_median(
            "world_highway_realtime_factor", realtime_factor(_no_sensors(HIGHWAY), sim_s,
                                                             repeats), "x"), 2)

    def build() -> None:
        sc = _no_sensors(DEFAULT_SCENARIO)
        cold = build_seconds(sc, 1)[0]
        logger.info("world_build_s: first build in this process %.3f s", cold)
        out["world_build_s"] = round(_median("world_build_s",
                                             build_seconds(sc, 2 if quick else 5), "s"), 3)

    def build_1000() -> None:
        out["world_build_1000_npcs_s"] = round(_median(
            "world_build_1000_npcs_s", build_seconds(_no_sensors(HIGHWAY, 1000),
                                                     1 if quick else 3), "s"), 3)

    def reset() -> None:
        times = reset_ms(_no_sensors(DEFAULT_SCENARIO), 5 if quick else 21)
        if times is not None:
            out["world_reset_ms"] = round(_median("world_reset_ms", times, "ms"), 2)

    def pedestrians() -> None:
        with_peds = _no_sensors(CROSSING)
        without = with_peds.model_copy(update={"pedestrians": [], "events": []})
        rtf_with, rtf_without = [], []
        for _ in range(repeats):                 # alternated: the same machine phase
            rtf_with += realtime_factor(with_peds, sim_s, 1)
            rtf_without += realtime_factor(without, sim_s, 1)
        out["world_pedestrians_realtime_factor"] = round(_median(
            "world_pedestrians_realtime_factor", rtf_with, "x"), 2)
        out["world_pedestrians_cost_ratio"] = round(_median(
            "world_pedestrians_cost_ratio", np.array(rtf_without) / np.array(rtf_with),
            "x"), 3)

    def dense() -> None:
        out["world_highway_dense_realtime_factor"] = round(_median(
            "world_highway_dense_realtime_factor", realtime_factor(_no_sensors(DENSE),
                                                                   sim_s, repeats), "x"), 2)

    measures: list[tuple[tuple[str, ...], Callable[[], None]]] = [
                (("world_realtime_factor", "world_step_us"), default_rtf),
                (("world_highway_realtime_factor",), highway_rtf),
                (("world_build_s",), build), (("world_build_1000_npcs_s",), build_1000),
                (("world_reset_ms",), reset),
                (("world_pedestrians_realtime_factor", "world_pedestrians_cost_ratio"),
                 pedestrians),
                (("world_highway_dense_realtime_factor",), dense)]
    for names, measure in measures:
        if want & set(names):
            measure()
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run()))
