"""The scenario library (``scenarios/*.yaml``): every bundled scenario validates with the
CLI, runs 60 simulated seconds without a collision that is not scripted, and its sensors
capture a frame. A new file in ``scenarios/`` is picked up by these tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios import BUNDLED_DIR, load
from sensors import Rig
from simulator.world import World

REPO = Path(__file__).resolve().parents[2]
README = (REPO / "README.md").read_text()
SHARED = (REPO / "../shared/data").resolve()


def _library() -> list:
    """The bundled files; those driving on a third-party map (``../shared/data``, beside
    the checkout, not part of the repository) are skipped with a reason when it is absent."""
    out = []
    for p in sorted(BUNDLED_DIR.glob("*.yaml")):
        if "shared/data/" in p.read_text() and not SHARED.is_dir():
            out.append(pytest.param(p, marks=pytest.mark.skip(
                reason=f"{p.name} reads a map from {SHARED}, which is absent")))
        else:
            out.append(p)
    return out


LIBRARY = _library()


def test_the_library_has_the_scenarios_users_expect() -> None:
    names = {p.stem for p in BUNDLED_DIR.glob("*.yaml")}
    assert len(names) >= 12, sorted(names)


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_bundled_scenario_validates(path: Path) -> None:
    out = subprocess.run([sys.executable, "run_sim.py", "validate", str(path)], cwd=REPO,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_bundled_scenario_runs_60_s_without_unscripted_collisions(path: Path) -> None:
    sc = load(path)
    sc = sc.model_copy(update={"sensors": []})
    with World(sc) as w:
        for _ in range(int(round(60.0 / w.dt_s))):
            w.step()
        assert w.collisions == [], [(c.time_s, c.actor_a, c.actor_b) for c in w.collisions]


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_bundled_scenario_sensors_capture(path: Path) -> None:
    sc = load(path)
    with World(sc) as w:
        rig = Rig(list(sc.sensors), w.sensor_seed_seq)
        for _ in range(10):
            w.step()
        out = rig.capture(w, w.time_s)
        assert set(out) <= {s.name for s in sc.sensors}
        assert out or not sc.sensors


@pytest.mark.parametrize("path", sorted(BUNDLED_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenario_is_documented(path: Path) -> None:
    assert f"scenarios/{path.name}" in README, f"README does not mention {path.name}"
