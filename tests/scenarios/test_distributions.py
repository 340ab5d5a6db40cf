"""Distributions in place of values: seeded, within their bounds, one stream per field,
and every typo a ``file:line: path: message`` error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scenarios import (
    Scenario,
    ScenarioError,
    load,
    load_template,
    parse_scenario,
    parse_template,
    sampled_values,
)
from scenarios.distributions import Distribution, parse, rng_for

BASE = textwrap.dedent("""\
    name: t
    simulation:
      seed: 3
      duration_s: 5
    map:
      roads:
        - id: r
          start: {position: [0, 0], heading_deg: 0}
          lanes: {forward: 3, backward: 0}
          segments:
            - {type: straight, length_m: 300}
    ego:
      start: {lane: r/fwd/0, s_m: 5}
      speed_mps: SPEED
    traffic:
      count: COUNT
      mix: {normal: 1}
      kinds: {car: 1, van: VAN}
    actors:
      - {name: lead, kind: KIND, start: {lane: r/fwd/1, s_m: 60}}
    """)

DISTS = {"SPEED": "{uniform: [10.5, 20]}", "COUNT": "{uniform: [2, 6]}",
         "VAN": "{normal: [0.5, 2], clip: [0, 1]}", "KIND": "{choice: [car, van, truck]}"}


def text(**over: str) -> str:
    out = BASE
    for k, v in {**DISTS, **over}.items():
        out = out.replace(k, v)
    return out


def write(tmp_path: Path, body: str) -> Path:
    f = tmp_path / "s.yaml"
    f.write_text(body)
    return f


def errors(tmp_path: Path, body: str) -> list[str]:
    f = write(tmp_path, body)
    with pytest.raises(ScenarioError) as exc:
        load(f)
    return exc.value.messages


def test_same_seed_same_values_different_seed_different() -> None:
    t = parse_template(text(), "s.yaml")
    a, b = t.sample(5), t.sample(5)
    assert sampled_values(a) == sampled_values(b) and a == b
    assert sampled_values(t.sample(6)) != sampled_values(a)
    assert set(sampled_values(a)) == {"ego.speed_mps", "traffic.count", "traffic.kinds.van",
                                      "actors[0].kind"}
    assert a.simulation.seed == 5


def test_draws_stay_within_bounds_over_many_seeds() -> None:
    t = parse_template(text(), "s.yaml")
    speeds, counts, vans, kinds = set(), set(), set(), set()
    for seed in range(300):
        s = t.sample(seed)
        assert 10.5 <= s.ego.speed_mps <= 20
        assert isinstance(s.traffic.count, int) and 2 <= s.traffic.count <= 6
        assert 0 <= s.traffic.kinds["van"] <= 1
        assert s.actors[0].kind in ("car", "van", "truck")
        speeds.add(s.ego.speed_mps)
        counts.add(s.traffic.count)
        vans.add(s.traffic.kinds["van"])
        kinds.add(s.actors[0].kind)
    # uniform over an int field: every integer of [a, b], both ends included
    assert counts == {2, 3, 4, 5, 6}
    assert kinds == {"car", "van", "truck"}
    assert len(speeds) == 300  # a float field draws floats, not integers
    assert {0.0, 1.0} <= vans  # sigma 2 around 0.5: the clip is reached on both sides


def test_load_samples_at_the_files_own_seed(tmp_path: Path) -> None:
    f = write(tmp_path, text())
    s = load(f)
    assert s.simulation.seed == 3
    assert sampled_values(s) == sampled_values(load_template(f).sample(3))


def test_a_later_distribution_does_not_shift_earlier_ones() -> None:
    one = parse_template(text(COUNT="4", VAN="0.5", KIND="car"), "s.yaml").sample(9)
    more = parse_template(text(), "s.yaml").sample(9)
    assert sampled_values(one) == {"ego.speed_mps": sampled_values(more)["ego.speed_mps"]}


def test_a_plain_file_loads_as_before() -> None:
    s = parse_scenario(text(SPEED="12", COUNT="4", VAN="0.5", KIND="car"))
    assert type(s) is Scenario and sampled_values(s) == {}


def test_free_keyed_mappings_are_not_distributions() -> None:
    # traffic.mix: {normal: 1} names the profile "normal", it is not {normal: [mu, sigma]}
    s = parse_scenario(text())
    assert s.traffic.mix == {"normal": 1.0}


def test_normal_and_choice_sampling() -> None:
    d, errs = parse({"normal": [0, 1], "clip": [-0.5, 0.5]})
    assert not errs
    xs = [d.sample(rng_for(s, 1)) for s in range(200)]
    assert all(-0.5 <= x <= 0.5 for x in xs) and len(set(xs)) > 50
    c = Distribution("choice", ("a", "b"))
    assert {c.sample(rng_for(s, 1)) for s in range(50)} == {"a", "b"}


@pytest.mark.parametrize("value, message", [
    ("{uniform: [5]}", "ego.speed_mps: uniform takes two finite numbers [a, b] (within "
     "+-1e+15), got [5]"),
    ("{uniform: [5, 1]}", "ego.speed_mps: uniform [a, b] needs a <= b, got [5, 1]"),
    ("{normal: [1, -2]}", "ego.speed_mps: normal [mu, sigma] needs sigma >= 0, got [1, -2]"),
    ("{normal: [1, 2], clip: [3]}", "ego.speed_mps: clip takes two finite numbers [lo, hi] "
     "(within +-1e+15), got [3]"),
    ("{uniform: [-1.0e+308, 1.0e+308]}", "ego.speed_mps: uniform takes two finite numbers "
     "[a, b] (within +-1e+15), got [-1e+308, 1e+308]"),
    ("{uniform: [1, 2], clip: [0, 3], extra: 1}", "ego.speed_mps: unknown key(s) 'extra' in "
     "a distribution; valid: {uniform: [a, b]}, {normal: [mu, sigma]} (optionally with clip: "
     "[lo, hi]) or {choice: [option, ...]}"),
    ("{uniform: [1, 2], choice: [1]}", "ego.speed_mps: a distribution has exactly one of "
     "uniform, normal, choice; got uniform, choice"),
    ("{choice: []}", "ego.speed_mps: choice takes a non-empty list of options, e.g. "
     "{choice: [car, van]}"),
    ("{unifrom: [1, 2]}", "ego.speed_mps: a mapping where a value is expected; a "
     "distribution is written {uniform: [a, b]}, {normal: [mu, sigma]} (optionally with "
     "clip: [lo, hi]) or {choice: [option, ...]} (unknown key 'unifrom': did you mean "
     "'uniform'?)"),
])
def test_typos_are_located_errors(tmp_path: Path, value: str, message: str) -> None:
    f = tmp_path / "s.yaml"
    assert errors(tmp_path, text(SPEED=value)) == [f"{f}:14: {message}"]


def test_an_int_field_needs_int_ends(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    assert errors(tmp_path, text(COUNT="{uniform: [2.5, 6]}")) == [
        f"{f}:16: traffic.count: the field is an integer: uniform takes integer ends, "
        "got [2.5, 6]"]


@pytest.mark.parametrize("value, bad, end", [
    ("{uniform: [10, 80]}", "80", "uniform [10, 80]"),
    ("{normal: [30, 1], clip: [20, 75]}", "75", "normal [30, 1] clip [20, 75]"),
    ("{choice: [10, 20, 99]}", "99", "choice [10, 20, 99]"),
])
def test_an_end_outside_the_field_is_an_error_at_load(tmp_path: Path, value: str, bad: str,
                                                     end: str) -> None:
    f = tmp_path / "s.yaml"
    assert errors(tmp_path, text(SPEED=value)) == [
        f"{f}:14: ego.speed_mps: Input should be less than or equal to 70 (with "
        f"ego.speed_mps = {bad}, an end of {end})"]


def test_a_bad_choice_of_enum_is_an_error_at_load(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    for kind, how in [("{choice: [car, van, tank]}", "(with actors[0].kind = tank, an end of "
                       "choice ['car', 'van', 'tank'])"),
                      ("{choice: [tank]}", "(drawn at seed 3: tank)")]:
        msgs = errors(tmp_path, text(KIND=kind))
        assert len(msgs) == 1, msgs
        assert msgs[0].startswith(f"{f}:20: actors[0].kind: Input should be 'car', 'van'")
        assert msgs[0].endswith(how)


def test_the_seed_cannot_be_random(tmp_path: Path) -> None:
    f = tmp_path / "s.yaml"
    assert errors(tmp_path, text().replace("seed: 3", "seed: {uniform: [1, 9]}")) == [
        f"{f}:3: simulation.seed: simulation.seed cannot be a distribution (it is what "
        "samples them); use run --seed or export --seed"]


@pytest.mark.parametrize("value", [
    "{uniform: [-1.0e+308, 1.0e+308]}", "{normal: [1.0e+15, 1.0e+15]}", "{choice: [2001-01-01, 3]}",
    "{uniform: [0, 100000000000000000000000]}", "{uniform: [true, false]}",
    "{choice: [{uniform: [1, 2]}]}", "{uniform: [1, 2], 3: 4}", "{null: 1, choice: [1]}",
    "{choice: [[1, 2], {a: 1}]}", "{normal: [.nan, 1]}", "{uniform: '1, 2'}",
])
@pytest.mark.parametrize("field", ["SPEED", "COUNT", "KIND", "VAN"])
def test_odd_distributions_are_refused_or_drawn_never_crash(field: str, value: str) -> None:
    try:
        t = parse_template(text(**{field: value}), "s.yaml")
    except ScenarioError as exc:
        assert all(m.startswith("s.yaml:") for m in exc.messages), exc.messages
    else:
        for seed in range(5):
            try:
                t.sample(seed)
            except ScenarioError as exc:
                assert all(m.startswith("s.yaml:") for m in exc.messages)
