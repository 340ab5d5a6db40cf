"""Running nuscenes-devkit (in its own numpy<2 venv, ``make devkit``) on our output.

``run_devkit(code, *args)`` runs a Python snippet in ``.venv-devkit`` and returns what it
printed on its last line, parsed as JSON. Without that venv the test is skipped with a loud
reason, except where ``DRIVESIM_REQUIRE_DEVKIT`` is set (``.ci/run`` sets it): there a
missing devkit fails the test instead.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEVKIT_PYTHON = ROOT / ".venv-devkit" / "bin" / "python"


def devkit_python() -> Path:
    if not DEVKIT_PYTHON.exists():
        reason = (f"nuscenes-devkit venv missing ({DEVKIT_PYTHON}): run 'make devkit' "
                  "(the README's test command builds it)")
        if os.environ.get("DRIVESIM_REQUIRE_DEVKIT"):
            pytest.fail(reason)
        pytest.skip(reason)
    return DEVKIT_PYTHON


def run_devkit(code: str, *args: str, timeout_s: float = 600) -> object:
    """Run ``code`` (sys.argv[1:] = args) in the devkit venv; its last stdout line as JSON."""
    py = devkit_python()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["MPLBACKEND"] = "Agg"
    proc = subprocess.run([str(py), "-c", code, *args], capture_output=True, text=True,
                          timeout=timeout_s, env=env, cwd=str(ROOT / "tests"))
    if proc.returncode != 0:
        raise AssertionError(f"devkit script failed ({proc.returncode}):\n"
                             f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    lines = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return json.loads(lines[-1])
