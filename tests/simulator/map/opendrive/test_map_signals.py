"""The OpenDRIVE file's signals and objects as props with states (map_signals, props)."""

from __future__ import annotations

import logging
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from scenarios.loader import load
from scenarios.schema import MapConfig
from simulator.map.opendrive import read_xodr, road_point
from simulator.map.opendrive.build import build_opendrive_hdmap
from simulator.map.opendrive.map_signals import map_objects, map_signals
from simulator.scene.props import map_props, traffic_lights
from simulator.traffic.signals import STATE_NAMES

DATA = (Path(__file__).resolve().parents[4] / "../shared/data/opendrive").resolve()
MULTI = DATA / "esmini/multi_intersections.xodr"
TOWN01 = DATA / "carla/Town01.xodr"
need_multi = pytest.mark.skipif(not MULTI.exists(),
                                reason=f"{MULTI} not found (shared data folder absent)")
need_town01 = pytest.mark.skipif(not TOWN01.exists(),
                                 reason=f"{TOWN01} not found (shared data folder absent)")

SCENARIO = """name: t
simulation: {{seed: 1, duration_s: 40}}
map: {{opendrive: {path}}}
ego: {{start: {{lane: {lane}, s_m: 5}}}}
traffic: {{count: 10}}
sensors: []
"""


@cache
def _world(path: str, lane: str, tmp: str):
    from simulator.world import World

    yaml = Path(tmp) / f"{Path(path).stem}.yaml"
    yaml.write_text(SCENARIO.format(path=path, lane=lane))
    return World(load(yaml))


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    if not MULTI.exists():
        pytest.skip(f"{MULTI} not found (shared data folder absent)")
    return _world(str(MULTI), "196/0/-1", str(tmp_path_factory.mktemp("multi")))


def _lights(world):
    return [p for p in world.props if p.type == "traffic_light"]


def _file_signal(world, prop):
    by_id = {m.id: m for m in world.hdmap.extra["map_signals"]}
    return by_id[prop.name.removeprefix("traffic_light_")]


@need_multi
def test_records_of_multi_intersections() -> None:
    odr = read_xodr(MULTI)
    signals = [s for r in odr.roads.values() for s in r.signals]
    assert len(signals) == 127 and len(odr.controllers) == 23
    hd = build_opendrive_hdmap(MapConfig(opendrive=str(MULTI)))
    recs = hd.extra["map_signals"]
    # 38 flat road marks stored as signals (17 crosswalks 1000003, 17 holding lines 294,
    # 4 arrows "-1", all lower than 0.1 m) are skipped; 68 lights and 21 signs stay
    # (17 x type 306 / 205 right-of-way signs, 4 speed limits 274); no stop signs.
    assert len(recs) == 127 - 38
    assert Counter(m.kind for m in recs) == {"traffic_light": 68, "sign": 21}
    assert hd.extra["map_objects"] == []
    # Every light governs an approach of a signalised junction, and every controller's
    # lights fall into one (junction, group) phase of our two-phase rule.
    lights = [m for m in recs if m.kind == "traffic_light"]
    assert all(m.junction in hd.extra["signalised_junctions"] for m in lights)
    phases: dict[str, set] = {}
    for m in lights:
        phases.setdefault(m.controller_id, set()).add((m.junction, m.signal_group))
        lane = hd.lane(m.lane_id)
        assert lane.road_id == m.road_id and lane.signal_group == m.signal_group
        assert np.hypot(*(lane.centerline[-1] - (m.x, m.y))) < 40.0
    assert len(phases) == 23 and all(len(p) == 1 for p in phases.values())


@need_multi
def test_every_file_light_is_a_prop_at_its_file_position(multi) -> None:
    lights = _lights(multi)
    # The file has 68 dynamic signals (34 vehicle lights 1000001, 34 pedestrian lights
    # 1000002), four at s = 0 of each of the 17 roads into the 5 junctions, all facing
    # the traffic leaving the road at s = 0 (orientation "-": its left lanes): each
    # governs that approach, so all 68 are placed, and the junctions get no poles of
    # our own.
    assert len(lights) == 68
    assert len(multi.light_groups) == 68
    assert all(p.name.startswith("traffic_light_") for p in lights)
    assert len({p.name for p in multi.props}) == len(multi.props)
    odr = read_xodr(MULTI)
    origin = multi.hdmap.origin
    for p in lights:
        m = _file_signal(multi, p)
        road = odr.roads[m.road_id]
        want = road_point(road, m.s, m.t)[0] - origin
        assert np.hypot(p.center_xy[0] - want[0], p.center_xy[1] - want[1]) < 0.01
        assert p.z_m == pytest.approx(want[2], abs=0.01) and p.base_z_m == p.z_m
        assert p.on_ground
        assert multi.light_groups[p.instance_id] == (m.junction, m.signal_group)
    signs = [p for p in multi.props if p.type == "sign"]
    assert len(signs) == 21 and all(p.name.startswith("sign_") for p in signs)
    assert all(p.semantic == 8 for p in signs)                  # traffic_sign


@need_multi
def test_light_states_follow_their_approach(multi) -> None:
    if not multi.light_states():
        pytest.skip("this World runs no signals at OpenDRIVE junctions (it does not pass "
                    "hdmap.extra['signalised_junctions'] to its SignalTable)")
    lights = _lights(multi)
    governed = {}
    for p in lights:
        m = _file_signal(multi, p)
        governed[p.instance_id] = [ln.index for ln in multi.hdmap.lanes
                                   if ln.road_id == m.road_id and ln.junction == m.junction
                                   and ln.signal_group is not None]
        assert multi.hdmap.lane_index(m.lane_id) in governed[p.instance_id]
    seen = set()
    checked = 0
    while multi.time_s < 30.0:
        multi.step()
        if round(multi.time_s * 10) % 15:
            continue                                     # every 1.5 s
        states = multi.traffic_light_states()
        lane_states = multi.signals.lane_states()
        for p in lights:
            state = states[p.instance_id]
            seen.add(state)
            for lane in governed[p.instance_id]:
                assert STATE_NAMES[int(lane_states[lane])] == state, (p.name, multi.time_s)
            checked += 1
    assert checked >= 68 * 15
    assert seen == {"green", "yellow", "red"}


@need_town01
def test_town01_gets_one_generated_pole_per_approach() -> None:
    hd = build_opendrive_hdmap(MapConfig(opendrive=str(TOWN01)))
    assert hd.extra["map_signals"] == [] and hd.extra["map_objects"] == []
    props, groups = traffic_lights(hd, 100)
    approaches = {(ln.road_id, ln.junction, ln.signal_group) for ln in hd.lanes
                  if ln.signal_group is not None}
    assert len(props) == len(approaches) > 0
    assert sorted(groups.values()) == sorted((j, g) for _, j, g in approaches)
    xy = np.array([p.center_xy for p in props])
    surface = hd.surface_height(xy)
    for p, z in zip(props, surface):
        assert p.base_z_m == p.z_m and p.on_ground
        if np.isfinite(z):
            assert p.z_m == pytest.approx(z, abs=0.05)
    assert map_props(hd, 0) == []


ROAD = """<?xml version="1.0"?>
<OpenDRIVE>
  <header revMajor="1" revMinor="6" name="synthetic"/>
  <road id="7" name="r" length="100" junction="-1">
    <planView><geometry s="0" x="10" y="20" hdg="0.3" length="100"><line/></geometry>
    </planView>
    <elevationProfile><elevation s="0" a="2" b="0.05" c="0" d="0"/></elevationProfile>
    <lanes><laneSection s="0">
      <left><lane id="1" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/>
      </lane></left>
      <center><lane id="0" type="none"/></center>
      <right><lane id="-1" type="driving"><width sOffset="0" a="3.5" b="0" c="0" d="0"/>
      </lane></right>
    </laneSection></lanes>
    <objects>
      <object id="b1" name="box" type="obstacle" s="20" t="-1" zOffset="0" hdg="0.2"
        length="2" width="1" height="1.5"/>
      <object id="t1" name="oak" type="tree" s="30" t="6" zOffset="0" hdg="0"
        radius="1.5" height="6"/>
      <object id="g1" name="gantry deck" type="building" s="40" t="0" zOffset="6" hdg="0"
        length="3" width="12" height="1"/>
      <object id="p1" name="posts" type="pole" s="0" t="5" zOffset="0" hdg="0">
        <repeat s="0" length="100" distance="10" tStart="5" tEnd="5"/></object>
      <object id="c1" name="zebra" type="crosswalk" s="50" t="0" zOffset="0" hdg="0"
        length="4" width="7" height="0.01"/>
    </objects>
    <signals>
      <signal id="s1" name="Stop" s="60" t="-5" zOffset="2" orientation="+" dynamic="no"
        country="DE" type="206" subtype="-1" height="0.8" width="0.8"/>
      <signal id="s2" name="limit" s="70" t="5" zOffset="0" orientation="-" dynamic="no"
        country="DE" type="274" subtype="55" value="50" height="0.6" width="0.6"
        hOffset="0.1"/>
      <signal id="s3" name="line" s="80" t="-2" zOffset="0" orientation="+" dynamic="no"
        country="DE" type="294" height="0.02" width="3.5"/>
      <signal id="s4" name="light" s="90" t="-5" zOffset="0" orientation="+" dynamic="yes"
        country="OpenDRIVE" type="1000001" height="3.2" width="0.4"/>
    </signals>
  </road>
</OpenDRIVE>"""


def test_synthetic_objects_signs_and_lone_light(tmp_path, caplog) -> None:
    path = tmp_path / "road.xodr"
    path.write_text(ROAD)
    with caplog.at_level(logging.INFO, logger="simulator.map.opendrive.map_signals"):
        hd = build_opendrive_hdmap(MapConfig(opendrive=str(path)))
    text = caplog.text
    assert "type 294" in text and "'pole' skipped (no box size" in text
    assert "'crosswalk' skipped (flat)" in text
    assert "govern no signalised approach" in text
    odr = read_xodr(path)
    road, origin = odr.roads["7"], hd.origin
    sig = {m.id: m for m in hd.extra["map_signals"]}
    assert set(sig) == {"s1", "s2", "s4"}
    assert (sig["s1"].kind, sig["s2"].kind, sig["s4"].kind) == (
        "stop_sign", "sign", "traffic_light")
    assert sig["s4"].junction is None                   # no junction on this map
    p1 = road_point(road, 60.0, -5.0)[0] - origin
    assert (sig["s1"].x, sig["s1"].y) == pytest.approx(tuple(p1[:2]), abs=1e-9)
    assert sig["s1"].z == pytest.approx(p1[2] + 2.0) and sig["s1"].surface_z == pytest.approx(p1[2])
    assert sig["s1"].heading == pytest.approx(0.3)
    assert sig["s2"].heading == pytest.approx(0.3 + np.pi + 0.1 - 2 * np.pi)

    objs = {o.id: o for o in hd.extra["map_objects"]}
    assert set(objs) == {"b1", "t1", "g1"}
    assert (objs["b1"].kind, objs["t1"].kind, objs["g1"].kind) == ("box", "tree", "building")
    assert objs["t1"].size == (3.0, 3.0, 6.0)
    assert objs["b1"].heading == pytest.approx(0.5)
    assert objs["g1"].z == pytest.approx(objs["g1"].surface_z + 6.0)

    props = {p.name: p for p in map_props(hd, 500)}
    assert set(props) == {"sign_s1", "sign_s2", "object_b1", "object_t1", "object_g1"}
    assert [p.instance_id for p in props.values()] == list(range(500, 505))
    stop = props["sign_s1"]
    assert stop.type == "sign" and stop.size == pytest.approx((0.8, 0.06, 2.8))
    assert stop.z_m == stop.base_z_m == pytest.approx(p1[2])
    assert props["sign_s2"].size[2] == pytest.approx(1.9 + 0.6)    # no zOffset: 1.9 m post
    box = props["object_b1"]
    assert (box.type, box.size, box.semantic) == ("box", (2.0, 1.0, 1.5), 12)
    want = road_point(road, 20.0, -1.0)[0] - origin
    assert box.center_xy == pytest.approx(tuple(want[:2])) and box.z_m == pytest.approx(want[2])
    assert box.on_ground and props["object_t1"].type == "tree"
    deck = props["object_g1"]
    assert deck.type == "building" and not deck.on_ground     # 6 m above the road
    assert deck.base_z_m == pytest.approx(objs["g1"].surface_z)
    for p in props.values():
        verts = p.scene_object().vertices
        assert verts[:, 2].min() == pytest.approx(p.z_m, abs=1e-4)
    # The lone light governs no approach: no prop (it would have no state), no poles.
    lights, groups = traffic_lights(hd, 0)
    assert lights == [] and groups == {}
    assert map_signals(odr, [], origin)[2].junction is None
    assert len(map_objects(odr, origin)) == 3
