"""The CLI with randomised scenarios: validate --expand, run --variant, summary.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import run_sim
from scenarios import BUNDLED_DIR
from tests.scenarios.test_distributions import text

EXAMPLE = BUNDLED_DIR / "examples" / "sweep_highway_speeds.yaml"


def test_validate_expand_lists_and_checks_every_variant(capsys) -> None:
    assert run_sim.main(["validate", "--expand", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [f"{i}: ego.autopilot.cruise_speed_mps={c}, traffic.count={n}"
                   for i, (c, n) in enumerate((c, n) for c in (22, 27, 32) for n in (5, 10))
                   ] + [f"{EXAMPLE}: ok (6 variants)"]


def test_validate_expand_of_a_file_without_sweep(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(text())
    assert run_sim.main(["validate", "--expand", str(f)]) == 0
    assert capsys.readouterr().out == f"{f}: ok (no sweep)\n"


def test_the_example_runs_and_records_what_it_drew(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert run_sim.main(["run", "--scenario", str(EXAMPLE), "--variant", "5", "--seed", "4",
                         "--duration", "0.5", "--no-sensors", "--no-video",
                         "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["seed"] == 4
    assert summary["variant"] == {"index": 5, "values": {
        "ego.autopilot.cruise_speed_mps": 32, "traffic.count": 10}}
    sampled = summary["sampled"]
    assert set(sampled) == {"ego.start.lane", "ego.start.s_m", "ego.speed_mps",
                            "traffic.kinds.van"}
    assert sampled["ego.start.lane"] in ("hw/fwd/0", "hw/fwd/1", "hw/fwd/2")
    assert 15 <= sampled["ego.speed_mps"] <= 32 and 20 <= sampled["ego.start.s_m"] <= 80
    assert summary["actors"] == 11
    other = tmp_path / "other"
    assert run_sim.main(["run", "--scenario", str(EXAMPLE), "--variant", "5", "--seed", "5",
                         "--duration", "0.2", "--no-sensors", "--no-video",
                         "--out", str(other)]) == 0
    assert json.loads((other / "summary.json").read_text())["sampled"] != sampled


def test_a_plain_run_has_no_sampled_values(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(text(SPEED="12", COUNT="2", VAN="0.5", KIND="car"))
    assert run_sim.main(["run", "--scenario", str(f), "--duration", "0.2", "--no-sensors",
                         "--no-video", "--out", str(tmp_path / "o")]) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["sampled"] == {} and summary["variant"] is None


@pytest.mark.parametrize("command", ["run", "export"])
def test_variant_out_of_range_is_one_line_exit_2(tmp_path: Path, capsys, command) -> None:
    args = [command, "--scenario", str(EXAMPLE), "--variant", "6", "--out",
            str(tmp_path / "o")] + (["--format", "native"] if command == "export" else [])
    assert run_sim.main(args) == 2
    err = capsys.readouterr().err
    assert err == f"{EXAMPLE}: variant 6 out of range: the file has 6 variants (0..5)\n"
    assert not (tmp_path / "o").exists()


def test_validate_reports_a_bad_distribution_in_one_line(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(text(SPEED="{unifrom: [1, 2]}"))
    assert run_sim.main(["validate", "--expand", str(f)]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"{f}:14: ego.speed_mps: a mapping where a "
                                               "value is expected")


def test_validate_builds_every_end_of_a_distribution(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(EXAMPLE.read_text().replace("[hw/fwd/0, hw/fwd/1, hw/fwd/2]",
                                             "[hw/fwd/0, hw/fwd/1, hw/fwd/2, hw/fwd/7]"))
    for args in (["validate", str(f)], ["validate", "--expand", str(f)],
                 ["export", "--scenario", str(f), "--format", "native", "--frames", "1",
                  "--out", str(tmp_path / "o")]):
        assert run_sim.main(args) == 2
        err = capsys.readouterr().err.splitlines()
        assert len(err) == 1 and err[0].startswith(f"{f}:33: ego.start.lane: unknown lane "
                                                   "'hw/fwd/7'")
        assert err[0].endswith("(with ego.start.lane = hw/fwd/7, an end of choice "
                               "['hw/fwd/0', 'hw/fwd/1', 'hw/fwd/2', 'hw/fwd/7'])")
    assert not (tmp_path / "o").exists()


def test_export_variant_records_the_variant_and_each_episodes_draw(tmp_path: Path) -> None:
    out = tmp_path / "ds"
    assert run_sim.main(["export", "--scenario", str(EXAMPLE), "--variant", "2",
                         "--format", "native", "--frames", "1", "--episodes", "2",
                         "--seed", "30", "--out", str(out)]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["scenario"]["variant"] == {"index": 2, "values": {
        "ego.autopilot.cruise_speed_mps": 27, "traffic.count": 5}}
    eps = manifest["episodes"]
    assert [e["seed"] for e in eps] == [30, 31] and eps[0]["sampled"] != eps[1]["sampled"]
