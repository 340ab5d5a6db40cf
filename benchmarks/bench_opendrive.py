"""OpenDRIVE map benchmarks (issue 10): loading a real road network and driving on one.

Figures (medians over repeats in one process; the machine is shared and noisy):

- ``opendrive_town04_load_s``: ``build_hdmap(MapConfig(opendrive=Town04.xodr))``, the
  whole call (parse + lanes, strips, markings, lights) on CARLA Town04 (2 MB, 242 roads),
  5 repeats after a first one; ``opendrive_town04_first_load_s`` is that first call of
  the process (cold: imports, numba kernels, caches). Target < 2 s.
- ``opendrive_town04_parse_s``: ``read_xodr`` alone (read + XML parse into records).
- ``world_town04_build_s``: ``World(scenario)`` on Town04 with 50 NPCs and no sensors
  (``scenarios/town01.yaml``'s settings, roadside town included, on the Town04 file; the
  ego on road 1), in a process that has built one before; 3 repeats.
- ``world_town01_realtime_factor``: simulated s per wall s of ``World.step`` on
  ``scenarios/town01.yaml`` (50 NPCs + ego, 12 signalised T-junctions) without its
  sensors, a fresh world per repeat, 1 s of warm-up, then 20 simulated s; 7 repeats after
  a discarded warm-up world. Target >= 150.
- ``world_town01_default_realtime_factor``: the default (procedural) scenario measured
  the same way, alternated with town01 round by round (same machine phase), and
  ``world_town01_vs_default_ratio`` the per-round ratio town01 / default.

The maps are the shared data in ``../shared/data/opendrive`` (relative to the repo root);
without it these figures are not measured and a warning says why (no zeros).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from benchmarks.bench_world import _median, _no_sensors, build_seconds, realtime_factor
from scenarios import BUNDLED_DIR, DEFAULT_SCENARIO
from scenarios.map_schema import MapConfig
from scenarios.schema import Scenario

logger = logging.getLogger(__name__)

FIGURES = ("opendrive_town04_load_s", "opendrive_town04_first_load_s",
           "opendrive_town04_parse_s", "world_town04_build_s",
           "world_town01_realtime_factor", "world_town01_default_realtime_factor",
           "world_town01_vs_default_ratio")
REPO = Path(__file__).resolve().parents[1]
DATA = (REPO / "../shared/data/opendrive").resolve()
TOWN04 = DATA / "carla" / "Town04.xodr"
TOWN01_SCENARIO = BUNDLED_DIR / "town01.yaml"


def _missing_data() -> str | None:
    """Why the OpenDRIVE figures cannot be measured here, or None."""
    for need in (TOWN04, DATA / "carla" / "Town01.xodr"):
        if not need.is_file():
            return f"{need} not found (shared data ../shared/data/opendrive absent)"
    return None


def load_seconds(path: Path, repeats: int) -> tuple[list[float], list[float]]:
    """Wall times of ``read_xodr(path)`` and of the whole ``build_hdmap`` on it [s],
    ``repeats`` of each, alternated."""
    from simulator.map.build import build_hdmap
    from simulator.map.opendrive import read_xodr

    cfg = MapConfig(opendrive=str(path))
    parse, load_ = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        read_xodr(path)
        parse.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        build_hdmap(cfg)
        load_.append(time.perf_counter() - t0)
    return parse, load_


def town04_scenario() -> Scenario:
    """town01.yaml's settings (50 NPCs, signals, roadside town) on Town04, no sensors."""
    sc = _no_sensors(TOWN01_SCENARIO)
    ego = sc.ego.model_copy(update={
        "start": sc.ego.start.model_copy(update={"lane": "1/0/-1", "s_m": 5.0}),
        "destination": None})
    return sc.model_copy(update={
        "name": "town04", "ego": ego,
        "map": sc.map.model_copy(update={"opendrive": str(TOWN04)})})


def run(quick: bool = False, figures: Iterable[str] | None = None) -> dict[str, float]:
    """Benchmark figures (see the module docstring): all of them, or those in ``figures``;
    ``quick`` uses fewer and shorter repeats."""
    want = set(FIGURES if figures is None else figures)
    why = _missing_data()
    if why is not None:
        logger.warning("OpenDRIVE benchmarks SKIPPED, not measured: %s (figures %s)",
                       why, ", ".join(sorted(want & set(FIGURES))))
        return {}
    sim_s, repeats = (5.0, 1) if quick else (20.0, 7)
    out: dict[str, float] = {}

    def loading() -> None:
        from simulator.map.build import build_hdmap

        t0 = time.perf_counter()
        hd = build_hdmap(MapConfig(opendrive=str(TOWN04)))
        first = time.perf_counter() - t0
        logger.info("opendrive_town04_first_load_s: %.3f s (%d lanes)", first, len(hd.lanes))
        parse, load_ = load_seconds(TOWN04, 2 if quick else 5)
        out["opendrive_town04_first_load_s"] = round(first, 3)
        out["opendrive_town04_parse_s"] = round(_median("opendrive_town04_parse_s", parse,
                                                        "s"), 3)
        out["opendrive_town04_load_s"] = round(_median("opendrive_town04_load_s", load_,
                                                       "s"), 3)

    def town04_build() -> None:
        sc = town04_scenario()
        cold = build_seconds(sc, 1)[0]
        logger.info("world_town04_build_s: first Town04 World in this process %.3f s", cold)
        out["world_town04_build_s"] = round(_median(
            "world_town04_build_s", build_seconds(sc, 1 if quick else 3), "s"), 3)

    def town01_rtf() -> None:
        town01 = _no_sensors(TOWN01_SCENARIO)
        default = _no_sensors(DEFAULT_SCENARIO)
        if not quick:                            # numba kernels, first-world costs
            realtime_factor(town01, 2.0, 1)
            realtime_factor(default, 2.0, 1)
        rtf_town, rtf_default = [], []
        for _ in range(repeats):                 # alternated: the same machine phase
            rtf_town += realtime_factor(town01, sim_s, 1)
            rtf_default += realtime_factor(default, sim_s, 1)
        out["world_town01_realtime_factor"] = round(_median(
            "world_town01_realtime_factor", rtf_town, "x"), 2)
        out["world_town01_default_realtime_factor"] = round(_median(
            "world_town01_default_realtime_factor", rtf_default, "x"), 2)
        out["world_town01_vs_default_ratio"] = round(_median(
            "world_town01_vs_default_ratio", np.array(rtf_town) / np.array(rtf_default),
            "x"), 3)

    measures: list[tuple[tuple[str, ...], Callable[[], None]]] = [
        (("opendrive_town04_load_s", "opendrive_town04_first_load_s",
          "opendrive_town04_parse_s"), loading),
        (("world_town04_build_s",), town04_build),
        (("world_town01_realtime_factor", "world_town01_default_realtime_factor",
          "world_town01_vs_default_ratio"), town01_rtf)]
    for names, measure in measures:
        if want & set(names):
            measure()
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run()))
