"""Bad input is refused at once with one located line: alias bombs, deep nesting, control
characters, invalid UTF-8, NaN and infinity, sizes beyond physical bounds."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import pytest

import run_sim
from scenarios import ScenarioError, json_schema, load, parse_scenario
from scenarios.yaml_guard import MAX_DEPTH

VALID = textwrap.dedent("""\
    name: t
    simulation:
      seed: 3
      duration_s: 5
    map:
      roads:
        - id: r
          start: {position: [0, 0], heading_deg: 0}
          segments:
            - {type: straight, length_m: 100}
            - {type: arc, radius_m: 50, angle_deg: 90}
    props:
      - {type: box, position: [60, 20], size: [1, 1, 1]}
    ego:
      start: {lane: r/fwd/0, s_m: 5}
    traffic:
      count: 2
      mix: {normal: 1}
    """)


def _write(tmp_path: Path, text: str | bytes, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def _errors(path: Path) -> list[str]:
    with pytest.raises(ScenarioError) as exc:
        load(path)
    return exc.value.messages


def _bomb(levels: int) -> str:
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for i in range(1, levels + 1):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nname: *l{levels}\n"


def test_valid_file_still_loads(tmp_path: Path) -> None:
    s = load(_write(tmp_path, VALID))
    assert s.map.roads[0].segments[1].angle_deg == 90


@pytest.mark.parametrize("levels", [7, 9])
def test_alias_bomb_is_refused_at_once(tmp_path: Path, levels: int) -> None:
    f = _write(tmp_path, _bomb(levels))
    start = time.perf_counter()
    errors = _errors(f)
    assert time.perf_counter() - start < 1.0
    # Line k + 1 expands to 1 + 9 + ... + 9**(k+1) nodes: line 6 is the first past 100000.
    assert errors == [f"{f}:6: aliases expand to more than 100000 values (a 'billion laughs' "
                      "file); write the data out instead"]


def test_a_few_aliases_are_fine(tmp_path: Path) -> None:
    text = VALID.replace("ego:\n", "ego:\n  vehicle: &car {length_m: 4.2, width_m: 1.8}\n")
    text = text.replace("traffic:\n", "traffic:\n  vehicle: *car\n")
    s = load(_write(tmp_path, text))
    assert s.ego.vehicle.length_m == 4.2 == s.traffic.vehicle.length_m


def test_self_referencing_alias(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("  count: 2\n", "  count: 2\n  extra: &x [1, *x]\n"))
    assert _errors(f) == [f"{f}:18: an alias refers to the list or mapping that contains it"]


def test_deep_nesting_is_refused_without_recursion_error(tmp_path: Path) -> None:
    f = _write(tmp_path, "name: " + "[" * 5000 + "]" * 5000 + "\n")
    assert _errors(f) == [f"{f}:1: nested deeper than {MAX_DEPTH} levels"]
    # Nesting through aliases counts too: 40 + 40 levels.
    deep = "[" * 40 + "1" + "]" * 40
    f = _write(tmp_path, f"a: &a {deep}\nname: {'[' * 40}*a{']' * 40}\n")
    assert _errors(f) == [f"{f}:2: aliases nest deeper than {MAX_DEPTH} levels"]


def test_moderate_nesting_gets_a_schema_error(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("name: t", "name: " + "[" * 50 + "]" * 50))
    assert _errors(f) == [f"{f}:1: name: Input should be a valid string"]


@pytest.mark.parametrize("char, code", [("\x07", "0007"), ("\x00", "0000"), ("\x1b", "001B")])
def test_control_character_gives_line_and_column(tmp_path: Path, char: str, code: str) -> None:
    f = _write(tmp_path, VALID.replace("  seed: 3", f"  seed: 3{char}"))
    assert _errors(f) == [f"{f}:3: invalid YAML: control character U+{code} at column 10 "
                          "(write it as an escape inside double quotes)"]


def test_invalid_utf8_gives_line_and_column(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.encode().replace(b"name: t", b"name: t\xe9st"))
    assert _errors(f) == [f"{f}:1: invalid UTF-8: byte 0xe9 at column 8 (save the file as "
                          "UTF-8)"]


def test_escaped_control_characters_stay_on_one_line(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("  count: 2", '  count: 2\n  "co\\nunt": 1'))
    assert _errors(f) == [f"{f}:18: traffic.co\\nunt: unknown field (valid: count, kinds, "
                          "profiles, mix, vehicle, min_spawn_gap_m, ego_clearance_m, policy)"]


@pytest.mark.parametrize("old, new, line, path", [
    ("duration_s: 5", "duration_s: .nan", 4, "simulation.duration_s"),
    ("duration_s: 5", "duration_s: .inf", 4, "simulation.duration_s"),
    ("duration_s: 5", "duration_s: '1e400'", 4, "simulation.duration_s"),   # a string -> inf
    ("position: [0, 0]", "position: [.nan, 0]", 8, "map.roads[0].start.position[0]"),
    ("heading_deg: 0", "heading_deg: -.inf", 8, "map.roads[0].start.heading_deg"),
    ("mix: {normal: 1}", "mix: {normal: .nan}", 18, "traffic.mix.normal"),
    ("size: [1, 1, 1]", "size: [1, .inf, 1]", 13, "props[0].size[1]"),
])
def test_nan_and_infinity_are_refused(tmp_path: Path, old: str, new: str, line: int,
                                      path: str) -> None:
    f = _write(tmp_path, VALID.replace(old, new))
    assert _errors(f) == [f"{f}:{line}: {path}: Input should be a finite number"]


def test_nan_in_a_sensor_and_a_distribution(tmp_path: Path) -> None:
    text = VALID + textwrap.dedent("""\
          profiles:
            normal:
              politeness: {mean: .nan}
        sensors:
          - {name: imu, type: imu, noise: {accel_noise_density: .inf}}
        """)
    f = _write(tmp_path, text)
    assert _errors(f) == [
        f"{f}:21: traffic.profiles.normal.politeness.mean: Input should be a finite number",
        f"{f}:23: sensors[0].noise.accel_noise_density: Input should be a finite number"]


@pytest.mark.parametrize("old, new, line, message", [
    ("length_m: 100", "length_m: 1e9", 10, "map.roads[0].segments[0].length_m: Input should "
     "be less than or equal to 10000"),
    ("angle_deg: 90", "angle_deg: 1e6", 11, "map.roads[0].segments[1].angle_deg: Input should "
     "be less than or equal to 360"),
    ("radius_m: 50", "radius_m: 1e7", 11, "map.roads[0].segments[1].radius_m: Input should "
     "be less than or equal to 10000"),
    ("  roads:", "  ground_size_m: 1e7\n  roads:", 6, "map.ground_size_m: Input should be "
     "less than or equal to 20000"),
    ("position: [60, 20]", "position: [6e7, 20]", 13, "props[0].position[0]: Input should be "
     "less than or equal to 10000"),
    ("size: [1, 1, 1]", "size: [1, 1, 1e5]", 13, "props[0].size[2]: Input should be less "
     "than or equal to 1000"),
    ("count: 2", "count: 1000000", 17, "traffic.count: Input should be less than or equal "
     "to 2000"),
    ("seed: 3", "seed: 18446744073709551616", 3, "simulation.seed: Input should be less than "
     "or equal to 18446744073709551615"),
    ("duration_s: 5", "duration_s: 1e9", 4, "simulation.duration_s: Input should be less "
     "than or equal to 86400"),
    ("mix: {normal: 1}", "mix: {normal: 1}\n  profiles:\n    normal:\n      reaction_time_s: "
     "{mean: 1, std: 100, min: 0}", 21, "traffic.profiles.normal.reaction_time_s: draws reach "
     "831; every draw must be <= 5; give a 'max' (or a smaller mean/std)"),
])
def test_physical_upper_bounds(tmp_path: Path, old: str, new: str, line: int,
                               message: str) -> None:
    f = _write(tmp_path, VALID.replace(old, new))
    assert _errors(f) == [f"{f}:{line}: {message}"]


def test_whole_network_length_is_bounded(tmp_path: Path) -> None:
    text = VALID.replace("length_m: 100}", "length_m: 9000}")
    text = text.replace("radius_m: 50, angle_deg: 90", "radius_m: 1000, angle_deg: 90")
    f = _write(tmp_path, text)
    assert _errors(f) == [f"{f}:5: map: roads and junction arms add up to 10.57 km of "
                          "reference line; at most 10 km"]


def test_sensor_rate_above_physics_rate(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID + "sensors:\n  - {name: imu, type: imu, rate_hz: 400}\n")
    assert _errors(f) == [f"{f}:20: sensors[0].rate_hz: 400 Hz is faster than "
                          "simulation.physics_hz (100 Hz)"]


def test_values_yaml_cannot_build(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID.replace("seed: 3", "seed: " + "9" * 5000))
    assert _errors(f) == [f"{f}:3: invalid YAML: an integer of 5000 digits; at most 30"]
    f = _write(tmp_path, VALID.replace("name: t", "name: 2001-13-45"))
    assert _errors(f) == [f"{f}:1: invalid YAML: cannot read the value: month must be in "
                          "1..12"]


def test_many_problems_are_capped(tmp_path: Path) -> None:
    props = "".join(f"  - {{type: box, position: [{i}, 0], size: [-1, 1, 1]}}\n"
                    for i in range(30))
    f = _write(tmp_path, VALID.replace("props:\n", "props:\n" + props))
    errors = _errors(f)
    assert len(errors) == 21
    assert errors[0] == f"{f}:13: props[0].size[0]: Input should be greater than 0"
    assert errors[-1] == f"{f}: ... and 10 more problems"


def test_huge_file_is_refused(tmp_path: Path) -> None:
    f = _write(tmp_path, VALID + "#" * 6_000_000 + "\n")
    assert _errors(f) == [f"{f}: larger than 5000000 bytes; not a scenario"]


def test_parse_scenario_text_errors_are_located() -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_scenario("name: a\x07", source="inline")
    assert exc.value.messages == ["inline:1: invalid YAML: control character U+0007 at "
                                  "column 8 (write it as an escape inside double quotes)"]


def test_json_schema_shows_the_bounds() -> None:
    defs = json.loads(json_schema())["$defs"]
    assert defs["StraightSegment"]["properties"]["length_m"]["maximum"] == 10_000
    assert defs["ArcSegment"]["properties"]["angle_deg"]["maximum"] == 360
    assert defs["MapConfig"]["properties"]["ground_size_m"]["maximum"] == 20_000
    assert defs["Simulation"]["properties"]["duration_s"]["maximum"] == 86_400


@pytest.mark.parametrize("value, message", [
    ("inf", "must be a finite number, got inf"),
    ("nan", "must be a finite number, got nan"),
    ("1e9", "must be <= 86400 s, got 1e9"),
])
def test_cli_duration_must_be_finite_and_bounded(capsys, value: str, message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        run_sim.main(["run", "--duration", value, "--no-sensors"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == f"run_sim.py run: error: argument --duration: {message}\n"


@pytest.mark.parametrize("key, shown", [
    ("null", "None"), ("true", "[1]"), ("2001-01-01", "datetime.date(2001, 1, 1)")])
def test_keys_that_are_not_strings_are_located(tmp_path: Path, key: str, shown: str) -> None:
    f = _write(tmp_path, VALID + f"{key}: x\n")
    assert _errors(f) == [f"{f}:19: {shown}: Keys should be strings"]
