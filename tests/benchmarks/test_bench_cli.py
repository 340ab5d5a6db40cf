"""`run_sim.py bench --json` prints one clean JSON object (smoke; speed is not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_bench_json_is_clean_and_named() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "bench", "--json",
                           "--quick", "--only", "world", "--only", "dynamics_step_us"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr
    figures = json.loads(proc.stdout)          # nothing but the JSON on stdout
    assert figures["world_realtime_factor"] > 0
    assert figures["dynamics_step_us"] > 0


def test_bench_unknown_name_is_a_usage_error() -> None:
    proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), "bench", "--only", "x"],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2
    assert "unknown benchmark 'x'; known:" in proc.stderr
