"""World-level behaviour: determinism, isolation, collisions, lights, the default run."""

from __future__ import annotations

import numpy as np
import pytest

from runner.run import with_overrides
from scenarios import BUNDLED_DIR, DEFAULT_SCENARIO, load, parse_scenario
from simulator.errors import WorldError
from simulator.traffic.signals import GREEN, RED, YELLOW, light_state
from simulator.world import World


def _no_sensors(path=DEFAULT_SCENARIO, **over):
    sc = load(path).model_copy(update={"sensors": []})
    return with_overrides(sc, **over)


def _run(world: World, seconds: float) -> None:
    for _ in range(int(round(seconds / world.dt_s))):
        world.step()


def test_same_seed_same_state_bit_for_bit() -> None:
    sc = _no_sensors(seed=3)
    with World(sc) as a, World(sc) as b:
        _run(a, 5.0)
        _run(b, 5.0)
        assert np.array_equal(a.state.data, b.state.data)
        assert np.array_equal(a.traffic.lane, b.traffic.lane)


def test_other_seed_other_traffic() -> None:
    with World(_no_sensors(seed=3)) as a, World(_no_sensors(seed=4)) as b:
        assert not np.allclose(a.state.x[1:], b.state.x[1:])
        # The ego starts where the scenario says, whatever the seed.
        assert a.state.x[0] == b.state.x[0] and a.state.y[0] == b.state.y[0]


def test_two_worlds_in_one_process_do_not_interfere() -> None:
    sc = _no_sensors(seed=5)
    with World(sc) as alone:
        _run(alone, 4.0)
        ref = alone.state.data.copy()
    with World(sc) as a, World(_no_sensors(seed=9)) as other:
        for _ in range(400):  # interleave the two worlds step by step
            a.step()
            other.step()
        assert a.collision_world.client != other.collision_world.client
        assert np.array_equal(a.state.data, ref)


def test_adding_a_sensor_does_not_change_traffic() -> None:
    """Capturing a rig at every step, with or without an extra lidar and camera, leaves
    every car's trajectory bit-identical to a run without sensors, and the other sensors'
    (noisy) output unchanged."""
    from scenarios.sensor_schema import CameraConfig, LidarConfig
    from sensors import Rig

    base = _no_sensors(seed=2)
    base = base.model_copy(update={"traffic": base.traffic.model_copy(update={"count": 12})})
    gnss_imu = [s for s in load(DEFAULT_SCENARIO).sensors if s.type in ("gnss", "imu")]
    roof = {"position": (0.0, 0.0, 1.9)}          # above the car body
    extra = [LidarConfig(name="extra_lidar", type="lidar", preset="vlp16", columns=360,
                         mount=roof),
             CameraConfig(name="extra_camera", type="camera", width=128, height=72,
                          mount=roof)]
    steps = 150                                   # 1.5 s at 100 Hz

    def run(sensors: list) -> tuple[np.ndarray, dict[str, list]]:
        sc = base.model_copy(update={"sensors": sensors})
        got: dict[str, list] = {s.name: [] for s in sensors}
        states = []
        with World(sc) as w:
            rig = Rig(list(sc.sensors), w.sensor_seed_seq)
            for _ in range(steps):
                w.step()
                for name, m in rig.capture(w, w.time_s).items():
                    got[name].append(m)
                states.append(w.state.data.copy())
        return np.stack(states), got

    alone, _ = run([])
    few, few_out = run(gnss_imu)
    more, more_out = run(gnss_imu + extra)
    at_10_hz = 16                                 # t = 0.01 s, then 0.1, 0.2, ..., 1.5 s
    assert len(more_out["extra_lidar"]) == len(more_out["extra_camera"]) == at_10_hz
    assert all(len(m.data["points"]) > 0 for m in more_out["extra_lidar"])
    assert len(few_out["imu"]) == steps and len(few_out["gnss"]) == at_10_hz
    assert np.abs(np.diff(alone[:, 0], axis=0)).max() > 0      # the cars do move
    np.testing.assert_array_equal(few, alone)
    np.testing.assert_array_equal(more, alone)
    for name in ("gnss", "imu"):
        for a, b in zip(few_out[name], more_out[name], strict=True):
            for key in a.data:
                np.testing.assert_array_equal(a.data[key], b.data[key])


def test_default_scenario_60_s_without_collisions() -> None:
    sc = _no_sensors()
    with World(sc) as w:
        _run(w, 60.0)
        assert w.collisions == []
        assert w.route_progress() > 0.999       # the ego completed its right turn
        assert w.lane_change_count > 0          # MOBIL was active
        assert w.traffic.active.sum() >= 45     # NPCs keep re-entering the map


@pytest.mark.parametrize("name", ["highway.yaml"])
def test_other_bundled_scenarios_run_clean(name: str) -> None:
    with World(_no_sensors(BUNDLED_DIR / name)) as w:
        _run(w, 20.0)
        assert w.collisions == []
        assert float(w.state.vx[1:].mean()) > 15.0  # free-flowing motorway traffic


def test_nobody_enters_the_junction_on_red() -> None:
    with World(_no_sensors(seed=1)) as w:
        lanes = w.hdmap.lanes
        prev = w.traffic.lane.copy()
        entries = 0
        for _ in range(3000):
            w.step()
            cur = w.traffic.lane
            moved = np.flatnonzero((cur != prev) & (prev >= 0) & (cur >= 0))
            for i in moved:
                a, b = lanes[prev[i]], lanes[cur[i]]
                if a.signal_group is not None and b.kind == "connector":
                    entries += 1
                    state = light_state(w.scenario.map.intersections[0].signal,
                                        a.signal_group, w.time_s - 0.1)
                    assert state != RED, f"{w.vehicle_names[i]} entered on red at {w.time_s}"
            prev = cur.copy()
        assert entries > 10


def test_light_cycle_timing() -> None:
    sig = load(DEFAULT_SCENARIO).map.intersections[0].signal
    g, y, r = sig.green_s, sig.yellow_s, sig.all_red_s
    assert light_state(sig, 0, 0.0) == GREEN and light_state(sig, 1, 0.0) == RED
    assert light_state(sig, 0, g + 0.01) == YELLOW
    assert light_state(sig, 0, g + y + 0.01) == RED and light_state(sig, 1, g + y + 0.01) == RED
    assert light_state(sig, 1, g + y + r + 0.01) == GREEN
    assert light_state(sig, 0, 2 * (g + y + r) + 0.01) == GREEN


def test_collision_between_cars_is_reported() -> None:
    sc = _no_sensors(seed=1)
    with World(sc) as w:
        # Teleport NPC 1 onto the ego, slightly offset: pybullet must report the contact.
        w.state.set(1, w.state.x[0] + 2.0, w.state.y[0] + 0.5, w.state.yaw[0], 0.0)
        w.step()
        w._check_collisions()
        pairs = {(c.actor_a, c.actor_b) for c in w.collisions}
        assert ("ego", "npc_000") in pairs


def test_collision_with_a_prop_is_reported() -> None:
    text = """
    map:
      roads: [{id: r, segments: [{type: straight, length_m: 200}]}]
    props:
      - {type: wall, position: [40, -1.75], size: [0.5, 6, 2], yaw_deg: 0}
    ego:
      start: {lane: r/fwd/0, s_m: 10}
      speed_mps: 15
      autopilot: {cruise_speed_mps: 15}
    traffic: {count: 0}
    """
    from simulator.world import EgoControl

    sc = parse_scenario(text)
    with World(sc) as w:
        for _ in range(400):
            w.step(EgoControl(accel_mps2=0.0, steer_rad=0.0))  # drive blindly ahead
        assert [(c.actor_a, c.actor_b) for c in w.collisions] == [("ego", w.props[0].name)]
        # Front bumper at 10 + 2.3 m reaches the wall face at 39.75 m after 27.45 m / 15 m/s;
        # collision checks run at least every 2.1 m of relative motion (0.07 s here).
        assert 27.45 / 15 <= w.collisions[0].time_s <= 27.45 / 15 + 0.08


def test_unknown_lane_is_a_clear_error() -> None:
    text = """
    map:
      roads: [{id: r, segments: [{type: straight, length_m: 100}]}]
    ego:
      start: {lane: r/fwd/7}
    traffic: {count: 0}
    """
    with pytest.raises(WorldError, match=r"ego.start.lane: unknown lane 'r/fwd/7'"):
        World(parse_scenario(text))


def test_traffic_light_objects_stand_at_each_approach_with_their_state() -> None:
    with World(_no_sensors()) as w:
        lights = [p for p in w.props if p.type == "traffic_light"]
        assert len(lights) == 4                       # one per signalised approach
        assert not w.hdmap.is_on_road(np.array([p.center_xy for p in lights])).any()
        for _ in range(2500):                         # into the north/south green phase
            w.step()
        states = w.traffic_light_states()
        snap = w.light_states()["center"]
        for p in lights:
            x, y = p.center_xy
            group = "east_west" if abs(x) > abs(y) else "north_south"
            assert states[p.instance_id] == snap[group]
        assert set(states.values()) == {"red", "green"}
