"""Named actors and vehicle kinds: placed where the YAML says, sized by the kind table,
exact kind shares, their own cruise speed, and their class in the GT boxes."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from scenarios import load
from scenarios.loader import ScenarioError, parse_scenario
from simulator.scene.semantics import SEMANTIC_CLASSES
from simulator.vehicles.kinds import KINDS
from simulator.world import World

HIGHWAY = "scenarios/highway.yaml"


def _highway(**update):
    sc = load(HIGHWAY)
    return sc.model_copy(update={"sensors": [], **update})


def _actor(**kw):
    from scenarios.schema import VehicleActor
    return VehicleActor.model_validate(kw)


def test_named_actor_starts_at_its_lane_station_with_its_kind_size() -> None:
    truck = _actor(name="lead_truck", kind="truck", start={"lane": "hw/fwd/1", "s_m": 120},
                   speed_mps=20)
    sc = _highway(actors=[truck])
    with World(sc) as w:
        i = w.vehicle_index("lead_truck")
        assert i == 1 and w.vehicle_kinds[i] == "truck"
        lane = w.hdmap.lane_index("hw/fwd/1")
        assert w.traffic.lane[i] == lane and w.traffic.s[i] == pytest.approx(120.0)
        assert w.state.vx[i] == pytest.approx(20.0)
        box = next(b for b in w.object_boxes() if b.name == "lead_truck")
        np.testing.assert_allclose(box.size, [9.5, 2.5, 3.4])
        assert box.semantic == SEMANTIC_CLASSES["truck"]
        assert box.center[2] == pytest.approx(1.7)
        # the random NPCs are still all there, named npc_000...
        assert w.vehicle_names[2] == "npc_000" and len(w.vehicle_names) == 2 + 50


def test_named_actor_holds_its_desired_speed() -> None:
    slow = _actor(name="slow", start={"lane": "hw/fwd/3", "s_m": 300}, speed_mps=15,
                  desired_speed_mps=15)
    sc = _highway(actors=[slow], traffic=load(HIGHWAY).traffic.model_copy(
        update={"count": 0}))
    with World(sc) as w:
        for _ in range(1000):
            w.step()
        assert w.state.vx[1] == pytest.approx(15.0, abs=0.3)


def test_kind_shares_are_exact_and_seeded() -> None:
    traffic = load(HIGHWAY).traffic.model_copy(
        update={"kinds": {"car": 0.7, "truck": 0.2, "cyclist": 0.1}})
    sc = _highway(traffic=traffic)
    with World(sc) as w:
        counts = Counter(w.vehicle_kinds[1:])
        assert counts == {"car": 35, "truck": 10, "cyclist": 5}
        kinds = list(w.vehicle_kinds)
        for i, k in enumerate(kinds):
            assert w.params.length_m[i] == KINDS[k].spec.length_m or k == "car"
        # cyclists never ride faster than their kind's top speed
        for _ in range(500):
            w.step()
        cyc = [i for i, k in enumerate(kinds) if k == "cyclist"]
        assert w.state.vx[cyc].max() <= KINDS["cyclist"].top_speed_mps + 0.3
        sems = {b.semantic for b in w.vehicle_boxes()}
        assert {SEMANTIC_CLASSES["truck"], SEMANTIC_CLASSES["cyclist"]} <= sems
    with World(sc) as w2:
        assert list(w2.vehicle_kinds) == kinds


@pytest.mark.parametrize("entry, message", [
    ("{name: npc_001, start: {lane: hw/fwd/1}}", "actors[0].name: 'npc_001' is a name the "
     "world gives its own vehicles"),
    ("{name: b, driver: reckless, start: {lane: hw/fwd/1}}", "actors[0].driver: unknown "
     "driver profile 'reckless'"),
    ("{name: b, kind: tank, start: {lane: hw/fwd/1}}", "actors[0].kind:"),
])
def test_actor_errors_name_the_line(entry: str, message: str) -> None:
    text = open(HIGHWAY).read() + f"actors:\n  - {entry}\n"
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, "x.yaml")
    assert f"x.yaml:{text.count(chr(10))}: {message}" in str(err.value)


def test_unknown_actor_lane_is_a_world_error() -> None:
    from simulator.errors import WorldError
    sc = _highway(actors=[_actor(name="a", start={"lane": "hw/fwd/9"})])
    with pytest.raises(WorldError, match=r"actors\[0\]\.start\.lane: unknown lane"):
        World(sc)


def test_validate_names_the_line_of_an_unknown_actor_lane(tmp_path) -> None:
    import subprocess
    import sys
    text = open(HIGHWAY).read() + "actors:\n  - {name: a, start: {lane: hw/fwd/9}}\n"
    f = tmp_path / "s.yaml"
    f.write_text(text)
    out = subprocess.run([sys.executable, "run_sim.py", "validate", str(f)],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert f"{f}:{text.count(chr(10))}: actors[0].start.lane: unknown lane 'hw/fwd/9'" \
        in out.stdout + out.stderr


def test_a_named_actor_keeps_its_own_colour() -> None:
    from scenarios import load
    from scenarios.schema import Scenario
    from simulator.world import World
    d = load("scenarios/highway.yaml").model_dump()
    d["sensors"], d["traffic"]["count"] = [], 3
    d["actors"] = [{"name": "red", "start": {"lane": "hw/fwd/0", "s_m": 100},
                    "vehicle": {"color_rgb": [200, 30, 30]}},
                   {"name": "plain", "start": {"lane": "hw/fwd/2", "s_m": 100}}]
    with World(Scenario.model_validate(d)) as w:
        assert w.vehicle_colors[w.vehicle_index("red")] == (200, 30, 30)
        iid = int(w.vehicle_ids[w.vehicle_index("red")])
        assert tuple(np.round(w.materials.color_rgb[iid] * 255).astype(int)) == (200, 30, 30)
