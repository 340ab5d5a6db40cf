"""``sweep:``: exact variants (grid order, random count and values), located errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from scenarios import ScenarioError, load, load_template, parse_template, variant_of
from tests.scenarios.test_distributions import text

PLAIN = text(SPEED="12", COUNT="4", VAN="0.5", KIND="car")


def with_sweep(body: str, sweep: str) -> str:
    return body + "sweep:\n" + "".join(f"  {line}\n" for line in sweep.splitlines())


def test_a_3x2_grid_gives_6_variants_in_product_order() -> None:
    t = parse_template(with_sweep(PLAIN, "grid:\n  ego.speed_mps: [10, 20, 30]\n"
                                         "  traffic.count: [0, 20]"), "s.yaml")
    assert t.variants == [
        {"ego.speed_mps": 10, "traffic.count": 0}, {"ego.speed_mps": 10, "traffic.count": 20},
        {"ego.speed_mps": 20, "traffic.count": 0}, {"ego.speed_mps": 20, "traffic.count": 20},
        {"ego.speed_mps": 30, "traffic.count": 0}, {"ego.speed_mps": 30, "traffic.count": 20}]
    for i, v in enumerate(t.variants):
        s = t.sample(variant=i)
        assert (s.ego.speed_mps, s.traffic.count) == (v["ego.speed_mps"], v["traffic.count"])
        assert s.sweep is None and variant_of(s) == (i, v)
    base = t.sample()
    assert (base.ego.speed_mps, base.traffic.count, base.sweep) == (12, 4, None)
    assert variant_of(base) == (None, {})


def test_grid_paths_with_indices_and_unwritten_fields() -> None:
    t = parse_template(with_sweep(PLAIN, "grid:\n  actors[0].kind: [van, truck]\n"
                                         "  ego.autopilot.cruise_speed_mps: [8, 9]"), "s.yaml")
    s = t.sample(variant=3)
    assert s.actors[0].kind == "truck" and s.ego.autopilot.cruise_speed_mps == 9


def test_random_sweep_gives_count_reproducible_variants() -> None:
    sweep = "random:\n  count: 8\n  fields:\n    ego.speed_mps: {uniform: [10, 30]}\n" \
            "    traffic.count: {uniform: [0, 5]}"
    a = parse_template(with_sweep(PLAIN, sweep), "s.yaml")
    b = parse_template(with_sweep(PLAIN, sweep), "s.yaml")
    assert len(a.variants) == 8 and a.variants == b.variants
    assert len({v["ego.speed_mps"] for v in a.variants}) == 8
    assert all(10 <= v["ego.speed_mps"] <= 30 and v["traffic.count"] in range(6)
               for v in a.variants)
    c = parse_template(with_sweep(PLAIN, sweep + "\n  seed: 99"), "s.yaml")
    assert c.variants != a.variants
    # the variants do not depend on the seed an episode is drawn at
    assert a.sample(123, variant=2).ego.speed_mps == a.variants[2]["ego.speed_mps"]


def test_a_grid_value_may_be_a_distribution() -> None:
    t = parse_template(with_sweep(PLAIN, "grid:\n  ego.speed_mps: [5, {uniform: [10, 11]}]"),
                       "s.yaml")
    assert t.has_distributions
    assert t.sample(1, variant=0).ego.speed_mps == 5
    speeds = {t.sample(seed, variant=1).ego.speed_mps for seed in range(20)}
    assert len(speeds) == 20 and all(10 <= x <= 11 for x in speeds)


@pytest.mark.parametrize("sweep, line, message", [
    ("grid:\n  ego.sped_mps: [1, 2]", 23, "sweep.grid.ego.sped_mps: ego has no field "
     "'sped_mps'"),
    ("grid:\n  actors[3].kind: [car]", 23, "sweep.grid.actors[3].kind: actors has 1 "
     "entries in the file"),
    ("grid:\n  ego.speed_mps: [10, 99]", 23, "sweep.grid.ego.speed_mps: variant 1 "
     "(ego.speed_mps=99): ego.speed_mps: Input should be less than or equal to 70"),
    ("grid: {ego.speed_mps: [1]}\nrandom: {count: 2, fields: {ego.speed_mps: "
     "{uniform: [1, 2]}}}", 21, "sweep: a sweep has exactly one of grid, random"),
    ("random: {count: 0, fields: {ego.speed_mps: {uniform: [1, 2]}}}", 22,
     "sweep.random.count: Input should be greater than or equal to 1"),
    ("random: {count: 2, fields: {ego.speed_mps: {uniform: [1]}}}", 22,
     "sweep.random.fields.ego.speed_mps: uniform takes two finite numbers [a, b] "
     "(within +-1e+15), got [1]"),
    ("grid:\n  simulation.seed: [1, 2]", 23, "sweep.grid.simulation.seed: simulation.seed "
     "cannot be swept"),
])
def test_sweep_errors_are_located(tmp_path: Path, sweep: str, line: int,
                                  message: str) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(with_sweep(PLAIN, sweep))
    with pytest.raises(ScenarioError) as exc:
        load_template(f)
    assert exc.value.messages == [f"{f}:{line}: {message}"]


def test_variant_out_of_range(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(with_sweep(PLAIN, "grid:\n  ego.speed_mps: [10, 20]"))
    t = load_template(f)
    with pytest.raises(ScenarioError) as exc:
        t.sample(variant=2)
    assert exc.value.messages == [f"{f}: variant 2 out of range: the file has 2 variants "
                                  "(0..1)"]
    assert load(f).ego.speed_mps == 12  # load: the file without its sweep


def test_a_sweep_path_through_a_written_value_is_an_error(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(with_sweep(PLAIN, "grid:\n  ego.speed_mps.x: [1, 2]"))
    with pytest.raises(ScenarioError) as exc:
        load_template(f)
    assert exc.value.messages == [f"{f}:23: sweep.grid.ego.speed_mps.x: ego.speed_mps has no "
                                  "field 'x'"]
