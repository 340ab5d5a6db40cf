"""The env benchmarks run and report their figures (smoke; speed is not asserted)."""

from __future__ import annotations

import importlib.util
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PEER_FIGURES = {"env_highway_speedup_vs_highway_env", "env_highway_steps_ratio_vs_highway_env",
                "env_highway_sim_s_per_s", "highway_env_steps_per_s", "highway_env_sim_s_per_s"}


def test_every_env_figure_is_reachable_by_name() -> None:
    from benchmarks import BENCHMARKS, select
    from benchmarks.bench_env import FIGURES, TARGETS

    assert set(BENCHMARKS["env"][1]) == set(FIGURES)
    assert set(TARGETS) <= set(FIGURES)
    for name in FIGURES:
        assert select([name]) == ["env"]


def test_env_bench_quick_json_has_every_figure() -> None:
    from benchmarks.bench_env import FIGURES

    proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "bench", "--json",
                           "--quick", "--only", "env"],
                          capture_output=True, text=True, cwd=REPO, timeout=600)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)          # nothing but the JSON on stdout
    expected = set(FIGURES)
    if importlib.util.find_spec("highway_env") is None:
        expected -= PEER_FIGURES
    assert set(figures) == expected
    assert all(v > 0 for v in figures.values())


def test_peer_time_counts_the_frames_highway_env_integrates() -> None:
    pytest.importorskip("highway_env")
    from benchmarks.bench_env import Driver, make_peer, peer_frames_per_step, peer_sim_time

    peer = make_peer()
    try:
        assert peer_frames_per_step(peer) == 1             # int(15 // 10)
        wall, sim = Driver(peer, peer_sim_time).run(6)
        assert wall > 0 and sim == pytest.approx(6 / 15)   # not its 0.1 s clock
        assert peer.unwrapped.viewer is None and peer.unwrapped.render_mode is None
    finally:
        peer.close()


def test_speedup_is_skipped_without_highway_env(monkeypatch, caplog) -> None:
    from benchmarks import bench_env

    monkeypatch.setitem(sys.modules, "highway_env", None)      # import raises ImportError
    with caplog.at_level(logging.WARNING, logger="benchmarks.bench_env"):
        out = bench_env.run(quick=True, figures=["env_highway_speedup_vs_highway_env"])
    assert out == {}
    assert "skipped: highway-env is not installed" in caplog.text
