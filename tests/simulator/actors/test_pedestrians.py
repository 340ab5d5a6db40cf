"""Pedestrians walk their paths exactly, cross on events, stop cars, are hit, and are seen.

Known answers: position after t is the point at arc length v t along the polyline; a
waiting pedestrian starts at the ``cross`` event; the ego's autopilot stops behind a
pedestrian standing in its lane; a car driven into one records one collision; a lidar
facing one reads the range to its body with its instance id and class.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios import load, parse_scenario
from scenarios.schema import Scenario
from sensors import Rig
from simulator.actors.base import PEDESTRIAN_ID_BASE
from simulator.scene.semantics import SEMANTIC_CLASSES
from simulator.world import DirectControl, World

HIGHWAY = "scenarios/highway.yaml"
LANE1_Y = -250.0 - 1.5 * 3.7          # hw/fwd/1's centre line (the road starts at y=-250)


def _scenario(pedestrians, events=(), ego_speed=0.0, ego_s=50.0, sensors=()) -> Scenario:
    d = load(HIGHWAY).model_dump()
    d["sensors"] = list(sensors)
    d["traffic"]["count"] = 0
    d["ego"]["speed_mps"] = ego_speed
    d["ego"]["start"]["s_m"] = ego_s
    d["pedestrians"] = pedestrians
    d["events"] = list(events)
    return Scenario.model_validate(d)


def _ped(w: World, name: str):
    g = w.actor_group("pedestrians")
    k = g.names.index(name)
    return g, k


def _run(w: World, seconds: float, controls=None) -> None:
    for _ in range(int(round(seconds / w.dt_s))):
        w.step(controls)


def test_walks_the_polyline_at_its_speed_and_stops_at_the_end() -> None:
    # Off the road (south of it): 5 m then 6 m, 11 m at 1.4 m/s.
    path = [[0.0, -300.0], [3.0, -296.0], [3.0, -290.0]]
    with World(_scenario([{"name": "p", "path": path, "speed_mps": 1.4}])) as w:
        g, k = _ped(w, "p")
        _run(w, 2.0)                                   # 2.8 m along the first segment
        assert (g.x[k], g.y[k]) == pytest.approx((0.6 * 2.8, -300.0 + 0.8 * 2.8), abs=1e-9)
        assert g.yaw[k] == pytest.approx(math.atan2(4.0, 3.0))
        _run(w, 3.0)                                   # 7.0 m: 2 m up the second
        assert (g.x[k], g.y[k]) == pytest.approx((3.0, -294.0), abs=1e-9)
        assert g.yaw[k] == pytest.approx(math.pi / 2)
        vel = w.actor_velocities()[PEDESTRIAN_ID_BASE]
        assert vel[0] == pytest.approx([0.0, 1.4, 0.0], abs=1e-9)
        _run(w, 5.0)                                   # past 11 m / 1.4 = 7.86 s
        assert (g.x[k], g.y[k]) == pytest.approx((3.0, -290.0), abs=1e-12)
        assert not g.walking[k]
        assert w.actor_velocities()[PEDESTRIAN_ID_BASE][0] == pytest.approx([0, 0, 0])


def test_a_loop_walks_back() -> None:
    path = [[0.0, -300.0], [10.0, -300.0]]
    with World(_scenario([{"name": "p", "path": path, "speed_mps": 2.0, "loop": True}])) as w:
        g, k = _ped(w, "p")
        _run(w, 7.0)                                   # 14 m: at the end and 4 m back
        assert g.x[k] == pytest.approx(6.0, abs=1e-9)
        assert abs(g.yaw[k]) == pytest.approx(math.pi)
        _run(w, 5.0)                                   # 24 m: back at the start and 4 m out
        assert g.x[k] == pytest.approx(4.0, abs=1e-9)
        assert abs(g.yaw[k]) < 1e-9


def test_waits_until_the_cross_event_then_walks_at_its_speed() -> None:
    path = [[-150.0, -266.0], [-150.0, -246.0]]
    ev = {"name": "go", "trigger": {"type": "at_time", "time_s": 2.0},
          "actions": [{"type": "cross", "pedestrian": "p", "speed_mps": 2.0}]}
    with World(_scenario([{"name": "p", "path": path, "waits": True}], [ev])) as w:
        g, k = _ped(w, "p")
        _run(w, 2.0)
        assert g.y[k] == -266.0 and not g.walking[k]
        _run(w, 3.0)          # fired on the step starting at 2.0 s, walked 3 s since
        assert g.y[k] == pytest.approx(-266.0 + 2.0 * 3.0, abs=1e-9)
        assert w.event_log[0]["event"] == "go"
        _run(w, 8.0)                                    # 20 m at 2 m/s: across, and stays
        assert g.y[k] == -246.0 and not g.walking[k]
        w.reset(5)                                      # waiting again
        g, k = _ped(w, "p")
        assert g.y[k] == -266.0 and not g.walking[k] and not w.event_log


def test_hidden_until_spawned() -> None:
    path = [[0.0, -300.0], [10.0, -300.0]]
    ev = {"name": "in", "trigger": {"type": "at_time", "time_s": 1.0},
          "actions": [{"type": "spawn", "actor": "p"}]}
    with World(_scenario([{"name": "p", "path": path, "hidden": True}], [ev])) as w:
        assert "p" not in [b.name for b in w.object_boxes()]
        assert len(w.actor_group("pedestrians").mesh()[1]) == 0     # nothing to see
        _run(w, 2.0)
        box = next(b for b in w.object_boxes() if b.name == "p")
        assert box.semantic == SEMANTIC_CLASSES["pedestrian"]
        assert box.center[0] == pytest.approx(1.4 * 1.0, abs=1e-9)


def test_the_box_holds_the_whole_body_while_walking() -> None:
    path = [[0.0, -300.0], [20.0, -290.0]]
    with World(_scenario([{"name": "p", "path": path, "speed_mps": 1.6}])) as w:
        g = w.actor_group("pedestrians")
        longest = 0.0
        for _ in range(40):
            _run(w, 0.05)
            verts, _, inst = g.mesh()
            box = g.boxes()[0]
            c, s = math.cos(box.yaw), math.sin(box.yaw)
            rel = verts[:, :2] - box.center[:2]
            along, across = rel @ [c, s], rel @ [-s, c]
            assert np.all(np.abs(along) <= box.size[0] / 2 + 1e-4)
            assert np.all(np.abs(across) <= box.size[1] / 2 + 1e-4)
            assert verts[:, 2].min() >= 0 and verts[:, 2].max() == pytest.approx(box.size[2])
            longest = max(longest, float(box.size[0]))
        assert (inst == PEDESTRIAN_ID_BASE).all()
        # the legs swing: over 2 s of stride the box reaches 2 x 0.22 + 0.16 = 0.6 m long,
        # twice the 0.3 m body
        assert longest == pytest.approx(0.6, abs=0.02)


def test_the_ego_stops_behind_a_pedestrian_in_its_lane() -> None:
    # The ego starts at x = -250 at 20 m/s and keeps to its lane (a destination); a
    # pedestrian stands in its lane at x = -100.
    ped = {"name": "p", "path": [[-100.0, LANE1_Y], [-100.0, -240.0]], "waits": True}
    sc = _scenario([ped], ego_speed=20.0)
    sc = sc.model_copy(update={"ego": sc.ego.model_copy(update={
        "destination": sc.ego.start.model_copy(update={"s_m": 590.0})})})
    with World(sc) as w:
        _run(w, 25.0)
        assert not w.collisions
        assert w.state.vx[0] < 0.05
        front = w.state.x[0] + w.params.length_m[0] / 2
        gap = -100.0 - 0.15 - front
        assert 1.0 < gap < 8.0, gap                 # stopped short, at about the min gap


def test_a_driver_changes_lanes_around_a_pedestrian_standing_in_its_lane() -> None:
    ped = {"name": "p", "path": [[-100.0, LANE1_Y], [-100.0, -240.0]], "waits": True}
    with World(_scenario([ped], ego_speed=20.0)) as w:
        _run(w, 15.0)
        assert not w.collisions
        assert w.state.x[0] > -100.0 and w.lane_change_count >= 1


def test_a_car_driven_into_a_pedestrian_is_one_collision() -> None:
    ped = {"name": "p", "path": [[-230.0, LANE1_Y], [-230.0, -240.0]], "waits": True}
    push = {"ego": DirectControl(accel_mps2=2.0, steer_rad=0.0)}
    with World(_scenario([ped], ego_speed=5.0)) as w:
        _run(w, 6.0, push)
        hits = [c for c in w.collisions if c.actor_b == "p"]
        assert len(hits) == 1 and hits[0].actor_a == "ego" and hits[0].vehicle_a == 0
        # the ego's front reached the pedestrian's back at the contact (within a step)
        t_hit = hits[0].time_s
        assert 0.0 < t_hit < 6.0
        assert w.crashed[0]


def test_a_lidar_sees_the_pedestrian_at_its_range() -> None:
    lidar = {"name": "top", "type": "lidar", "preset": "vlp16", "noise": None,
             "mount": {"position": [0.0, 0.0, 1.9]}}
    # The ego at x = -250 (s 50) faces +x; the pedestrian 15 m ahead, facing the ego.
    ped = {"name": "p", "path": [[-235.0, LANE1_Y], [-240.0, LANE1_Y]], "waits": True}
    sc = _scenario([ped], sensors=[lidar])
    with World(sc) as w:
        m = Rig(list(sc.sensors), w.sensor_seed_seq).capture(w, 0.0)["top"]
    mine = m.gt["instance_id"] == PEDESTRIAN_ID_BASE
    assert mine.sum() > 5
    assert (m.gt["semantic"][mine] == SEMANTIC_CLASSES["pedestrian"]).all()
    pts = m.data["points"][mine]
    # points in the lidar frame: x forward; the torso's front face is 15 - 0.15 m ahead
    # of the ego centre; the legs' too (standing: no swing).
    assert pts[:, 0].min() == pytest.approx(15.0 - 0.15, abs=0.02)
    assert np.abs(pts[:, 1]).max() <= 0.55 / 2 + 0.01


def test_pedestrians_are_deterministic() -> None:
    ped = [{"name": f"p{i}", "path": [[-200.0 + 7 * i, -270.0], [-200.0 + 7 * i, -244.0]],
            "speed_mps": 1.2 + 0.1 * i, "loop": True} for i in range(6)]

    def run():
        with World(_scenario(ped, ego_speed=15.0)) as w:
            _run(w, 20.0)
            g = w.actor_group("pedestrians")
            return g.x.copy(), g.y.copy(), w.state.data.copy(), \
                [(c.time_s, c.actor_a, c.actor_b) for c in w.collisions]
    a, b = run(), run()
    for x, y in zip(a[:3], b[:3]):
        np.testing.assert_array_equal(x, y)
    assert a[3] == b[3]


def test_bad_pedestrian_fields_are_located_errors() -> None:
    from scenarios.loader import ScenarioError
    text = """
map: {roads: [{id: r, segments: [{type: straight, length_m: 200}]}]}
ego: {start: {lane: r/fwd/0, s_m: 50}}
traffic: {count: 0}
pedestrians:
  - name: p
    path: [[0, 5]]
"""
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text, "p.yaml")
    assert "p.yaml:7:" in str(e.value) and "path" in str(e.value)
    with pytest.raises(ScenarioError) as e:
        parse_scenario(text.replace("[[0, 5]]", "[[0, 5], [1, 5]]\n    speed_mps: -1"),
                       "p.yaml")
    assert "p.yaml:8:" in str(e.value) and "speed_mps" in str(e.value)
    dup = text.replace("[[0, 5]]", "[[0, 5], [1, 5]]") + "  - {name: p, path: [[0, 1], [1, 1]]}\n"
    with pytest.raises(ScenarioError) as e:
        parse_scenario(dup, "p.yaml")
    assert "p.yaml:8:" in str(e.value) and "taken" in str(e.value)


def test_a_pedestrian_waits_at_the_kerb_for_a_gap_then_crosses() -> None:
    # The ego comes at 15 m/s from 60 m before the crossing (x = -150): nearer than
    # 15 x 2 + 15^2 / 6 + 4.6 / 2 + 2 = 71.8 m, so the pedestrian (at the kerb, 0.5 m off
    # the road) waits, the ego passes at speed, then the pedestrian walks. With gap_s 0
    # it walks out in front of the ego at once.
    ped = {"name": "p", "path": [[-150.0, -265.3], [-150.0, -246.0]], "speed_mps": 1.4}
    sc = _scenario([ped], ego_speed=15.0, ego_s=90.0)
    sc = sc.model_copy(update={"ego": sc.ego.model_copy(update={
        "autopilot": sc.ego.autopilot.model_copy(update={"cruise_speed_mps": 15.0})})})
    with World(sc) as w:
        g, k = _ped(w, "p")
        y0 = g.y[k]
        waited = []
        for _ in range(int(12 / w.dt_s)):
            w.step()
            if w.state.x[0] - w.params.length_m[0] / 2 < -150.0:
                waited.append(g.y[k])
                assert w.state.vx[0] > 14.5           # the ego never had to brake
        assert not w.collisions
        assert max(waited) < -265.3 + 0.2              # on the kerb until the ego passed
        assert g.y[k] > y0 + 3.0                       # and then on its way across
    jay = dict(ped, gap_s=0.0)
    with World(_scenario([jay], ego_speed=15.0, ego_s=90.0)) as w:
        g, k = _ped(w, "p")
        _run(w, 1.0)
        assert g.y[k] == pytest.approx(-265.3 + 1.4, abs=1e-6)   # walked out at once


def test_a_walking_pedestrian_waits_for_a_car_standing_across_its_path() -> None:
    # The ego stands on the crossing line (x = -150); a pedestrian who does not look
    # (gap_s 0) walks toward its side, stops short of it, and goes on once it has left.
    ped = {"name": "p", "path": [[-150.0, -266.0], [-150.0, -246.0]], "gap_s": 0.0}
    hold = {"ego": DirectControl(accel_mps2=0.0, steer_rad=0.0)}
    go = {"ego": DirectControl(accel_mps2=3.0, steer_rad=0.0)}
    with World(_scenario([ped], ego_speed=0.0, ego_s=150.0)) as w:
        g, k = _ped(w, "p")
        _run(w, 15.0, hold)
        side = LANE1_Y - w.params.width_m[0] / 2          # the ego's right side
        assert not w.collisions
        assert side - 0.9 < g.y[k] + g.width_m[k] / 2 < side   # stopped just short
        _run(w, 4.0, go)
        _run(w, 6.0, hold)
        assert not w.collisions and g.y[k] > LANE1_Y + 2.0        # and went on across
