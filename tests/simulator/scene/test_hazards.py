"""Static hazards: cone / barrier / parked_car props, prop rows and elevated props (z_m)."""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

import run_sim
from scenarios import BUNDLED_DIR, ScenarioError, parse_scenario
from scenarios.schema import PROP_DEFAULT_SIZES, Prop
from scenarios.sensor_schema import LidarConfig
from sensors.base import build_sensor
from simulator.checks import CheckError, check_scenario
from simulator.scene.props import CONE_PLATE_H_M, VEHICLE_CLEARANCE_M, explicit_props
from simulator.scene.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES
from simulator.world import World
from tests.fakes import FakeWorld

ROAD = textwrap.dedent("""\
    simulation: {{seed: 3}}
    map:
      roads:
        - id: r
          lanes: {{forward: 1, backward: 0}}
          speed_limit_mps: 15
          segments: [{{type: straight, length_m: 400}}]
    props:
      - {prop}
    ego:
      start: {{lane: r/fwd/0, s_m: 20}}
      destination: {{lane: r/fwd/0, s_m: 380}}
      speed_mps: 12
    traffic: {{count: 0}}
    """)


def _scenario(prop: str):
    return parse_scenario(ROAD.format(prop=prop))


def _fake_world(props: list[Prop]) -> tuple[FakeWorld, list]:
    """A FakeWorld (ego at the origin) holding the props' meshes and materials."""
    world = FakeWorld()
    instances = explicit_props(props, 100)
    for p in instances:
        world.objects.append(p.scene_object())
        world.boxes.append(p.box())
        world.materials.set(p.instance_id, p.semantic, DEFAULT_MATERIALS[p.material])
    return world, instances


def _ring_lidar(height_m: float, elevation_deg: float, columns: int = 3600):
    cfg = LidarConfig(name="lidar", type="lidar", channels=1, columns=columns,
                      vertical_fov_deg=(elevation_deg, elevation_deg), noise=None,
                      mount={"position": (0.0, 0.0, height_m)})
    return build_sensor(cfg, np.random.default_rng(0))


# --------------------------------------------------------------------------- schema
def test_new_types_default_size_semantic_and_material() -> None:
    s = _scenario("{type: parked_car, position: [100, -1.75]}")
    assert s.props[0].size == (4.5, 1.8, 1.5) == PROP_DEFAULT_SIZES["parked_car"]
    (car,) = explicit_props(list(s.props), 1)
    assert car.semantic == SEMANTIC_CLASSES["vehicle"] == 11 and car.material == "car_paint"
    cone = explicit_props([Prop(type="cone", position=(0, 0))], 1)[0]
    assert cone.size == (0.4, 0.4, 0.7) and cone.semantic == SEMANTIC_CLASSES["static_object"]
    assert DEFAULT_MATERIALS[cone.material].lidar_reflectivity >= 0.9
    barrier = explicit_props([Prop(type="barrier", position=(0, 0))], 1)[0]
    assert barrier.semantic == SEMANTIC_CLASSES["static_object"]


@pytest.mark.parametrize("kind", ["cone", "barrier", "parked_car"])
def test_meshes_fill_their_box_exactly(kind: str) -> None:
    (p,) = explicit_props([Prop(type=kind, position=(7.0, -3.0), yaw_deg=0.0, z_m=0.25)], 1)
    obj = p.scene_object()
    lo, hi = obj.vertices.min(0), obj.vertices.max(0)
    b = p.box()
    np.testing.assert_allclose(lo, b.center - b.size / 2, atol=1e-5)
    np.testing.assert_allclose(hi, b.center + b.size / 2, atol=1e-5)
    assert obj.triangles.max() < len(obj.vertices)


@pytest.mark.parametrize("old, new, path, message", [
    ("position: [100, -1.75]}", "position: [100, -1.75], count: 0}", "props[0].count",
     "greater than or equal to 1"),
    ("position: [100, -1.75]}", "position: [100, -1.75], z_m: -1}", "props[0].z_m",
     "greater than or equal to 0"),
    ("position: [100, -1.75]}", "position: [100, -1.75], count: 3}", "props[0].spacing_m",
     "needs spacing_m > 0"),
    ("{type: cone, position", "{type: wall, position", "props[0].size", "required for a wall"),
])
def test_bad_values_are_file_line_errors(old: str, new: str, path: str, message: str) -> None:
    text = ROAD.format(prop="{type: cone, position: [100, -1.75]}").replace(old, new)
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(text, "s.yaml")
    first = exc.value.messages[0]
    assert first.startswith(f"s.yaml:9: {path}: "), first       # the props line
    assert message in first


# --------------------------------------------------------------------------- rows
@pytest.mark.parametrize("count, spacing, yaw_deg", [(6, 6.5, 0.0), (5, 8.0, 5.5),
                                                     (3, 2.0, -120.0)])
def test_row_of_n_gives_n_boxes_spaced_along_the_yaw(count: int, spacing: float,
                                                     yaw_deg: float) -> None:
    prop = Prop(type="parked_car", position=(10.0, -4.0), yaw_deg=yaw_deg, count=count,
                spacing_m=spacing)
    boxes = [p.box() for p in explicit_props([prop], 500)]
    assert len(boxes) == count
    yaw = np.radians(yaw_deg)
    for k, b in enumerate(boxes):
        expect = np.array([10.0, -4.0]) + k * spacing * np.array([np.cos(yaw), np.sin(yaw)])
        np.testing.assert_allclose(b.center[:2], expect, atol=1e-12)
        assert b.center[2] == pytest.approx(0.75) and b.yaw == pytest.approx(yaw)
        assert b.instance_id == 500 + k
    assert len({b.name for b in boxes}) == count


def test_rows_expand_in_the_world_and_in_the_ego_check() -> None:
    s = _scenario("{type: cone, position: [60, -1.75], count: 4, spacing_m: 3}")
    with World(s.model_copy(update={"sensors": []})) as w:
        cones = [p for p in w.props if p.type == "cone"]
        assert [p.center_xy[0] for p in cones] == [60.0, 63.0, 66.0, 69.0]
    # The ego starts at s = 20: a row reaching back over it is caught by validate.
    bad = _scenario("{type: cone, position: [0, -1.75], count: 8, spacing_m: 3}")
    with pytest.raises(CheckError, match=r"overlaps props\[0\] \(cone at \(18, -1.75\)"):
        check_scenario(bad)
    # ...but not an elevated one (a roof over the start).
    check_scenario(_scenario("{type: wall, position: [20, -1.75], size: [30, 8, 0.5], "
                             "z_m: 5.5}"))


# --------------------------------------------------------------------------- lidar
def test_cone_20m_ahead_hit_at_its_base_with_its_id_and_class() -> None:
    world, (cone,) = _fake_world([Prop(type="cone", position=(20.0, 0.0))])
    # A beam at half the plate's height meets the plate's front face at 20 - 0.2 m.
    m = _ring_lidar(CONE_PLATE_H_M / 2, 0.0).capture(world, 0.0)
    pts = m.gt["points_deskewed"]
    assert len(pts) >= 5
    assert np.all(m.gt["instance_id"] == cone.instance_id)
    assert np.all(m.gt["semantic"] == SEMANTIC_CLASSES["static_object"])
    assert np.abs(pts[:, 0] - 19.8).max() < 0.02
    assert m.gt["range_m"].min() == pytest.approx(19.8, abs=0.02)
    # Higher up the body is narrower: hits lie between the body's base radius and the axis.
    m = _ring_lidar(0.35, 0.0).capture(world, 0.0)
    assert np.all(m.gt["instance_id"] == cone.instance_id)
    assert 20.0 - 0.4 * 0.4 < m.gt["range_m"].min() < 20.0 - 0.02
    assert m.data["intensity"].max() > 0.7            # the retro-reflective material


def test_upward_beam_under_a_roof_reads_its_height() -> None:
    roof = Prop(type="wall", position=(0.0, 0.0), size=(40.0, 12.0, 0.5), z_m=5.5)
    world, (inst,) = _fake_world([roof])
    assert not inst.on_ground and inst.box().center[2] == pytest.approx(5.75)
    m = _ring_lidar(1.9, 90.0, columns=8).capture(world, 0.0)
    assert len(m.gt["range_m"]) == 8
    np.testing.assert_allclose(m.gt["range_m"], 5.5 - 1.9, atol=1e-4)
    assert np.all(m.gt["instance_id"] == inst.instance_id)


# --------------------------------------------------------------------------- traffic
def _drive(prop: str, seconds: float = 30.0) -> tuple[World, float]:
    """Run the one-lane road; returns the world and the ego's lowest speed near x = 150."""
    w = World(_scenario(prop))
    slowest = np.inf
    for _ in range(int(seconds / w.dt_s)):
        w.step()
        if 120.0 < w.state.x[0] < 170.0 or w.state.vx[0] < 0.05:
            slowest = min(slowest, float(w.state.vx[0]))
    return w, slowest


def test_car_drives_under_an_elevated_prop_at_speed() -> None:
    w, slowest = _drive("{type: wall, position: [150, -1.75], size: [8, 6, 0.5], z_m: 5.5}")
    with w:
        assert w.collisions == []
        assert w.state.x[0] > 200.0                     # went under it and on
        assert slowest > 10.0                           # without braking for it
        assert len(w.lanes.obstacle_lane) == 0


@pytest.mark.parametrize("z_m", [0.0, 3.0])
def test_car_stops_behind_a_prop_in_the_way(z_m: float) -> None:
    assert z_m < VEHICLE_CLEARANCE_M
    w, slowest = _drive(f"{{type: wall, position: [150, -1.75], size: [8, 6, 0.5], "
                        f"z_m: {z_m}}}")
    with w:
        assert w.collisions == []
        front = w.traffic.s[0] + w.params.length_m[0] / 2
        assert w.state.vx[0] < 0.05 and 0.5 < 146.0 - front < 3.5


# --------------------------------------------------------------------------- scenarios
@pytest.mark.parametrize("name", ["tunnel.yaml", "highway_breakdown.yaml"])
def test_new_scenarios_validate(name: str, capsys) -> None:
    assert run_sim.main(["validate", str(BUNDLED_DIR / name)]) == 0
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_highway_breakdown_runs_60s_without_collisions() -> None:
    from scenarios import load

    sc = load(BUNDLED_DIR / "highway_breakdown.yaml").model_copy(update={"sensors": []})
    with World(sc) as w:
        car = next(p for p in w.props if p.type == "parked_car")
        passed = set()
        while w.time_s < 60.0 - 1e-9:
            w.step()
            beyond = w.traffic.active & (np.abs(w.state.x - car.center_xy[0] - 15) < 10) & \
                (w.state.y < -200.0)
            passed |= set(np.flatnonzero(beyond).tolist())
        assert w.collisions == []
        assert len(passed) >= 10 and w.lane_change_count > 0
        # Nobody stands inside the broken-down car's lane segment.
        right = w.hdmap.lane_index("hw/fwd/3")
        assert not np.any((w.traffic.lane == right) & (np.abs(w.state.x - 100.0) < 2.5)
                          & (w.state.y < -200.0))


def test_rows_beyond_the_prop_limit_name_the_row() -> None:
    s = _scenario("{type: cone, position: [60, -1.75], count: 1000, spacing_m: 0.1}\n"
                  "  - {type: cone, position: [60, 1.75], count: 2, spacing_m: 1}")
    with pytest.raises(CheckError, match="more than 1000 props") as exc:
        check_scenario(s)
    assert exc.value.path == ("props", 1, "count")


@pytest.mark.parametrize("z_m, hits", [(0.3, True), (1.0, True), (1.6, False), (3.0, False)])
def test_a_prop_collides_at_its_height(z_m: float, hits: bool) -> None:
    """Driven straight at a 0.5 m slab from outside (drivers would stop for it), the 1.5 m
    car touches it only if the slab's base is below the car's roof."""
    from simulator.world import DirectControl
    w = World(_scenario(f"{{type: wall, position: [60, -1.75], size: [4, 6, 0.5], "
                        f"z_m: {z_m}}}"))
    with w:
        for _ in range(int(6.0 / w.dt_s)):
            w.step({"ego": DirectControl(accel_mps2=0.0, steer_rad=0.0)})
        assert bool([c for c in w.collisions if c.prop >= 0]) == hits
