"""`run_sim.py bench --json` prints one clean JSON object (smoke; speed is not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_json_is_clean_and_named() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "bench", "--json",
                           "--quick", "--only", "world_realtime_factor", "--only",
                           "world_reset_ms", "--only", "dynamics_step_us"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)          # nothing but the JSON on stdout
    # Single figures: only those, and only those measured (not the whole world group).
    assert set(figures) == {"world_realtime_factor", "world_reset_ms", "dynamics_step_us"}
    assert all(v > 0 for v in figures.values())


def test_every_world_figure_is_reachable_by_name() -> None:
    from benchmarks import BENCHMARKS, select
    from benchmarks.bench_world import FIGURES

    assert set(BENCHMARKS["world"][1]) == set(FIGURES)
    for name in FIGURES:
        assert select([name]) == ["world"]


def test_world_bench_measures_only_what_is_asked(monkeypatch) -> None:
    from benchmarks import bench_world

    calls = []
    monkeypatch.setattr(bench_world, "build_seconds", lambda sc, r: calls.append(
        sc.traffic.count) or [0.5] * r)
    out = bench_world.run(quick=True, figures=["world_build_1000_npcs_s"])
    assert out == {"world_build_1000_npcs_s": 0.5} and calls == [1000]


def test_camera_bench_uses_the_default_rig_camera_unchanged() -> None:
    from benchmarks.bench_camera import default_camera_config
    from scenarios import DEFAULT_SCENARIO, load

    cfg = default_camera_config()
    shipped = [s for s in load(DEFAULT_SCENARIO).sensors if s.type == "camera"][0]
    assert cfg == shipped
    assert cfg.noise is not None and cfg.noise.exposure_time_s == 0.005   # motion blur on


def test_bench_unknown_name_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "bench", "--only", "x"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "unknown benchmark 'x'; known:" in proc.stderr
