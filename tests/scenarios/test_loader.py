"""Scenario loading: valid files load; each kind of mistake names file, line and field."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import run_sim
from scenarios import BUNDLED_DIR, ScenarioError, json_schema, load

REPO = Path(__file__).resolve().parents[2]

VALID = textwrap.dedent("""\
    name: t
    simulation:
      seed: 3
      duration_s: 5
    map:
      roads:
        - id: r
          segments:
            - {type: straight, length_m: 100}
    ego:
      start: {lane: r/fwd/0, s_m: 5}
    traffic:
      count: 2
    """)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", sorted(BUNDLED_DIR.glob("*.yaml")), ids=lambda p: p.name)
def test_bundled_scenarios_load(path: Path) -> None:
    shared = (REPO / "../shared/data").resolve()
    if "shared/data/" in path.read_text() and not shared.is_dir():
        pytest.skip(f"{path.name} reads a map from {shared}, which is absent")
    scenario = load(path)
    assert scenario.name and scenario.description
    assert scenario.map.roads or scenario.map.intersections or scenario.map.opendrive


def test_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    s = load(_write(tmp_path, VALID))
    assert s.simulation.seed == 3
    assert s.simulation.physics_hz == 100.0
    assert s.map.roads[0].segments[0].length_m == 100


@pytest.mark.parametrize("old, new, line, path, message", [
    ("  count: 2", "  count: -1", 13, "traffic.count", "greater than or equal to 0"),
    ("  count: 2", "  count: many", 13, "traffic.count", "valid integer"),
    ("  count: 2", "  count: 2\n  colour: red", 14, "traffic.colour", "unknown field"),
    ("        - {type: straight, length_m: 100}",
     "        - {type: arc, radius_m: 0, angle_deg: 10}", 9,
     "map.roads[0].segments[0].radius_m", "greater than 0"),
    ("        - {type: straight, length_m: 100}",
     "        - {type: spiral, length_m: 100}", 9,
     "map.roads[0].segments[0]", "does not match any of the expected tags"),
    ("  duration_s: 5", "  duration_s: 5\n  physics_hz: 100\n  control_hz: 30", 2,
     "simulation", "control_hz must divide physics_hz"),
])
def test_mistakes_name_line_and_field(tmp_path: Path, old: str, new: str, line: int,
                                      path: str, message: str) -> None:
    text = VALID.replace(old, new)
    assert text != VALID
    f = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as exc:
        load(f)
    first = exc.value.messages[0]
    assert first.startswith(f"{f}:{line}: {path}: "), first
    assert message in first


def test_missing_required_section(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("ego:\n  start: {lane: r/fwd/0, s_m: 5}\n", ""))
    with pytest.raises(ScenarioError) as exc:
        load(f)
    assert any(": ego: Field required" in m for m in exc.value.messages)


def test_bad_yaml_syntax_names_line(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("  count: 2", "  count: [2"))
    with pytest.raises(ScenarioError) as exc:
        load(f)
    assert exc.value.messages[0].startswith(f"{f}:")
    assert "invalid YAML" in exc.value.messages[0]


def test_unknown_key_lists_valid_keys(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("  seed: 3", "  sead: 3"))
    with pytest.raises(ScenarioError) as exc:
        load(f)
    msg = exc.value.messages[0]
    assert f"{f}:3: simulation.sead: unknown field" in msg
    assert "seed" in msg and "physics_hz" in msg


def test_validate_cli_exit_codes(tmp_path: Path, capsys) -> None:
    good = _write(tmp_path, VALID)
    assert run_sim.main(["validate", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(VALID.replace("  count: 2", "  count: -4"))
    assert run_sim.main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"{bad}:13: traffic.count: Input should be greater than or equal to 0"]
    assert run_sim.main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_cli_user_errors_have_no_traceback(tmp_path: Path) -> None:
    bad = _write(tmp_path, VALID.replace("  count: 2", "  count: -4"))
    lost = tmp_path / "lost.yaml"      # valid schema, but the lane does not exist
    lost.write_text(VALID.replace("lane: r/fwd/0", "lane: r/fwd/3"))
    for args in (["validate", str(bad)], ["run", "--scenario", str(bad), "--out",
                                          str(tmp_path / "o")],
                 ["validate", str(lost)], ["run", "--scenario", str(lost), "--out",
                                           str(tmp_path / "o")],
                 ["run", "--duration", "-3"], ["bench", "--only", "nope"]):
        proc = subprocess.run([sys.executable, str(REPO / "run_sim.py"), *args],
                              capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        if "lost" in " ".join(args):
            assert "ego.start.lane: unknown lane 'r/fwd/3'" in proc.stderr


def test_schema_is_json_schema() -> None:
    import json

    schema = json.loads(json_schema())
    assert schema["title"] == "Scenario"
    assert {"map", "ego"} <= set(schema["required"])
