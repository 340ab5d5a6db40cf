"""Debris falls, blows and is seen as physics says.

Known answers: a tyre dropped in still air follows the quadratic-drag fall
``z0 - ln(cosh(t sqrt(g k))) / k`` (free fall while slow); a plastic bag sinks at its
terminal speed ``sqrt(2 m g / (rho Cd A))``; a bag let go in a 6 m/s wind moves at 6 m/s;
a waiting item appears at its ``debris`` event, is reset to waiting, and runs bit for bit
the same with the same seed; a lidar sees a box on the road at its range.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from scenarios import load
from scenarios.schema import Scenario
from sensors import Rig
from simulator.actors.base import DEBRIS_ID_BASE
from simulator.actors.debris import KINDS, MAX_NEW_PER_EPISODE, DebrisGroup, DebrisLimitError
from simulator.scene.mirror import MaterialTable
from simulator.scene.semantics import SEMANTIC_CLASSES
from simulator.world import World

HIGHWAY = "scenarios/highway.yaml"
LANE1_Y = -250.0 - 1.5 * 3.7          # hw/fwd/1's centre line; the ego starts at x = -250
G = 9.81
DEBRIS = SEMANTIC_CLASSES["debris"]


def _scenario(debris, events=(), wind=(0.0, 0.0), sensors=(), ego_speed=0.0) -> Scenario:
    d = load(HIGHWAY).model_dump()
    d["sensors"] = list(sensors)
    d["traffic"]["count"] = 0
    d["ego"]["speed_mps"] = ego_speed
    d["ego"]["start"]["s_m"] = 50.0
    d["debris"] = debris
    d["events"] = list(events)
    d["weather"]["wind_mps"] = list(wind)
    return Scenario.model_validate(d)


def _group(debris, wind=(0.0, 0.0)) -> tuple[DebrisGroup, SimpleNamespace]:
    """A group on its own: a host with just what it reads."""
    sc = _scenario(debris, wind=wind)
    host = SimpleNamespace(scenario=sc, dt_s=1.0 / sc.simulation.physics_hz,
                           materials=MaterialTable(), time_s=0.0)
    return DebrisGroup(host, DEBRIS_ID_BASE), host


def _run(w: World, seconds: float, controls=None) -> None:
    for _ in range(int(round(seconds / w.dt_s))):
        w.step(controls)


def test_a_tyre_falls_as_the_drag_ode_says() -> None:
    g, host = _group([{"name": "t", "kind": "tyre", "position": [0.0, 0.0, 10.0]}])
    dt, k = host.dt_s, KINDS["tyre"].drag_k
    rate = math.sqrt(G * k)
    worst_ode, worst_free = 0.0, 0.0
    t = 0.0
    while g.pos[0, 2] > 1.0:                 # until near the ground (0.325 m: its radius)
        g.step(host, dt)
        t += dt
        # pybullet's semi-implicit Euler lags the continuous motion by half a step
        # (and drops g dt^2 / 8 less); errors relative to the drop from 0.1 s on.
        te = t + dt / 2
        drop = 10.0 - g.pos[0, 2]
        if t > 0.1:
            worst_ode = max(worst_ode, abs(drop - math.log(math.cosh(te * rate)) / k) / drop)
        if 0.1 < te < 0.5:                    # drag still < 1 % of the drop
            worst_free = max(worst_free, abs(drop - G * te * te / 2) / drop)
        assert abs(g.pos[0, 0]) < 1e-9 and abs(g.pos[0, 1]) < 1e-9
    assert worst_ode < 0.01 and worst_free < 0.01, (worst_ode, worst_free)
    assert t == pytest.approx(1.38, abs=0.03)     # free fall would land at 1.36 s
    g.close()


def test_a_bag_sinks_at_its_terminal_speed() -> None:
    spec = KINDS["plastic_bag"]
    v_t = math.sqrt(2 * spec.mass_kg * G / (1.225 * spec.drag_coefficient * spec.area_m2))
    assert 1.0 < v_t < 2.0
    g, host = _group([{"name": "b", "kind": "plastic_bag", "position": [0.0, 0.0, 20.0]}])
    for _ in range(int(3.0 / host.dt_s)):
        g.step(host, host.dt_s)
    assert -g.vel[0, 2] == pytest.approx(v_t, rel=0.03)
    assert g.pos[0, 2] > 10.0                 # still in the air
    g.close()


def test_a_fast_bag_is_slowed_without_blowing_up() -> None:
    # 40 m/s relative: k |v| dt = 2 at 100 Hz; an explicit drag step would reverse it.
    g, host = _group([{"name": "b", "kind": "plastic_bag", "position": [0.0, 0.0, 50.0],
                       "velocity_mps": [40.0, 0.0, 0.0]}])
    vx = [40.0]
    for _ in range(100):
        g.step(host, host.dt_s)
        vx.append(g.vel[0, 0])
    assert np.all(np.diff(vx) < 0) and np.all(np.array(vx) > 0)
    assert vx[-1] < 0.5
    g.close()


def test_the_wind_carries_a_bag_at_its_speed() -> None:
    g, host = _group([{"name": "b", "kind": "plastic_bag", "position": [0.0, 0.0, 30.0]}],
                     wind=(6.0, 0.0))
    for _ in range(int(3.0 / host.dt_s)):
        g.step(host, host.dt_s)
    assert g.vel[0, 0] == pytest.approx(6.0, rel=0.05)
    assert abs(g.vel[0, 1]) < 1e-9 and g.pos[0, 2] > 20.0
    g.close()


def test_resting_pieces_cost_nothing_and_only_boxes_and_tyres_stop_cars() -> None:
    g, host = _group([{"name": "bag", "kind": "plastic_bag", "position": [0.0, 0.0, 0.0]},
                      {"name": "box", "kind": "cardboard_box", "position": [5.0, 0.0, 0.0]},
                      {"name": "tyre", "kind": "tyre", "position": [10.0, 0.0, 0.0]}])
    for _ in range(100):
        g.step(host, host.dt_s)
    before = g.pos.copy()
    g.step(host, host.dt_s)                   # all at rest: pybullet is not stepped
    np.testing.assert_array_equal(g.pos, before)
    boxes = {b.name: b for b in g.boxes()}
    for name, kind in (("bag", "plastic_bag"), ("box", "cardboard_box"), ("tyre", "tyre")):
        np.testing.assert_allclose(boxes[name].size, KINDS[kind].size_m, atol=1e-3)
        assert boxes[name].center[2] == pytest.approx(KINDS[kind].size_m[2] / 2, abs=5e-3)
        assert boxes[name].semantic == DEBRIS
    foot = g.obstacles()
    assert len(foot) == 2 and all(f.shape == (4, 2) for f in foot)
    assert sorted(round(float(f[:, 0].mean())) for f in foot) == [5, 10]
    assert g.contacts(host) == []
    g.close()


def test_launch_new_adds_pieces_up_to_the_cap() -> None:
    g, host = _group([{"name": "bag", "kind": "plastic_bag", "position": [0, 0, 1],
                       "waits": True}])
    assert g.boxes() == [] and len(g.mesh()[1]) == 0
    iid = g.launch_new("tyre", (0.0, 0.0, 2.0), (1.0, 0.0, 0.0))
    assert iid == DEBRIS_ID_BASE + 1
    assert host.materials.semantic[iid] == DEBRIS
    assert [b.instance_id for b in g.boxes()] == [iid]
    verts, tris, inst = g.mesh()
    assert set(inst.tolist()) == {iid} and len(tris) == 56 and verts.dtype == np.float32
    assert tris.dtype == np.int32 and len(inst) == len(tris)
    g.launch("bag")
    for _ in range(50):
        g.step(host, host.dt_s)
    assert g.position("bag")[2] < 1.0
    g.launch("bag")                           # in flight: launched again from its start
    assert g.position("bag") == pytest.approx((0.0, 0.0, 1.0))
    for _ in range(MAX_NEW_PER_EPISODE - 1):
        g.launch_new("plastic_bag", (0.0, 0.0, 5.0), (0.0, 0.0, 0.0))
    with pytest.raises(DebrisLimitError):
        g.launch_new("plastic_bag", (0.0, 0.0, 5.0), (0.0, 0.0, 0.0))
    g.reset(np.random.default_rng(1))         # event pieces gone, the bag waits again
    assert g.boxes() == [] and len(g.pieces) == 1
    g.close()


def _gust_scenario(**kw) -> Scenario:
    bag = {"name": "bag", "kind": "plastic_bag", "position": [-235.0, LANE1_Y + 4.0, 1.5],
           "velocity_mps": [0.0, -3.0, 0.0], "waits": True}
    gust = {"name": "gust", "trigger": {"type": "at_time", "time_s": 1.0},
            "actions": [{"type": "debris", "item": "bag"}]}
    return _scenario([bag], events=[gust], wind=(0.0, -4.0), **kw)


def _debris_boxes(w: World):
    return [b for b in w.object_boxes() if b.semantic == DEBRIS]


def test_a_waiting_bag_blows_across_the_lane_at_its_event() -> None:
    def run(w: World) -> np.ndarray:
        track = []
        for _ in range(int(round(3.0 / w.dt_s))):
            w.step()
            pos = w.actor_group("debris").position("bag")
            track.append(pos if pos is not None else (np.nan,) * 3)
        return np.array(track)

    with World(_gust_scenario()) as w:
        _run(w, 0.99)
        assert _debris_boxes(w) == []
        assert DEBRIS_ID_BASE not in w.mirror().dynamic_mesh()[2]
        _run(w, 0.03)
        boxes = _debris_boxes(w)
        assert [b.instance_id for b in boxes] == [DEBRIS_ID_BASE]
        assert [e["event"] for e in w.event_log] == ["gust"]
        assert w.event_log[0]["time_s"] == pytest.approx(1.0, abs=0.011)
        # the mirror holds its triangles: a ray cast straight down onto it hits it
        assert (w.mirror().dynamic_mesh()[2] == DEBRIS_ID_BASE).sum() == 12
        c = boxes[0].center
        hit = w.mirror().cast(np.array([c[0], c[1], 10.0]), np.array([[0.0, 0.0, -1.0]]))
        assert hit.instance_id[0] == DEBRIS_ID_BASE and hit.semantic[0] == DEBRIS
        assert DEBRIS_ID_BASE in w.actor_velocities()
        _run(w, 2.0)
        y = w.actor_group("debris").position("bag")[1]
        assert y < LANE1_Y + 4.0 - 5.0          # blown south, across the lane

        w.reset(7)
        assert _debris_boxes(w) == []
        a = run(w)
        w.reset(7)
        b = run(w)
    with World(_gust_scenario(), seed=7) as w2:
        c2 = run(w2)
    assert np.isnan(a[:90]).all() and not np.isnan(a[110:]).any()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c2)


def test_a_lidar_sees_a_box_on_the_road_at_its_range() -> None:
    lidar = {"name": "top", "type": "lidar", "preset": "vlp16", "noise": None,
             "mount": {"position": [0.0, 0.0, 1.9]}}
    box = {"name": "box", "kind": "cardboard_box", "position": [-235.0, LANE1_Y, 0.0]}
    sc = _scenario([box], sensors=[lidar])
    with World(sc) as w:
        m = Rig(list(sc.sensors), w.sensor_seed_seq).capture(w, 0.0)["top"]
    mine = m.gt["instance_id"] == DEBRIS_ID_BASE
    assert mine.sum() >= 3
    assert (m.gt["semantic"][mine] == DEBRIS).all()
    pts = m.data["points"][mine]
    # lidar frame: x forward from the ego centre; the box's near face 15 - 0.25 m ahead
    assert pts[:, 0].min() == pytest.approx(15.0 - 0.25, abs=0.02)
    assert pts[:, 0].max() <= 15.0 + 0.25 + 0.01
    assert np.abs(pts[:, 1]).max() <= 0.2 + 0.01


def test_the_ego_stops_for_a_box_but_drives_through_a_bag() -> None:
    # The ego keeps to its lane (a destination), at 10 m/s from x = -250; the piece lies
    # in its lane at x = -215.
    def lane_keeping(debris) -> Scenario:
        sc = _scenario(debris, ego_speed=10.0)
        return sc.model_copy(update={"ego": sc.ego.model_copy(update={
            "destination": sc.ego.start.model_copy(update={"s_m": 590.0})})})

    box = {"name": "box", "kind": "cardboard_box", "position": [-215.0, LANE1_Y, 0.0]}
    with World(lane_keeping([box])) as w:
        _run(w, 12.0)
        assert w.state.vx[0] < 0.05
        gap = -215.0 - 0.25 - (w.state.x[0] + w.params.length_m[0] / 2)
        assert 1.0 < gap < 8.0, gap                 # stopped short of it
    bag = {"name": "bag", "kind": "plastic_bag", "position": [-215.0, LANE1_Y, 0.0]}
    with World(lane_keeping([bag])) as w:
        _run(w, 12.0)
        assert w.state.x[0] > -215.0 + 20.0 and w.lane_change_count == 0
        assert not w.collisions                     # and it ran it over unharmed
