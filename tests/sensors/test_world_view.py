"""``WorldView``: the real World and the tests' FakeWorld both satisfy it, and every sensor
captures through a view that offers nothing else."""

from __future__ import annotations

import inspect
from typing import Any, get_type_hints

import numpy as np
import pytest

from scenarios import parse_scenario
from scenarios.schema import GeoOrigin
from scenarios.sensor_schema import CameraConfig, GnssConfig, ImuConfig, LidarConfig
from sensors import SENSOR_TYPES, WorldView, build_sensor
from simulator.pose import Pose
from simulator.scene.mirror import SceneMirror
from simulator.scene.objects import ObjectBox
from simulator.world import World
from tests.fakes import FakeWorld

ROAD = """
simulation: {seed: 3}
map:
  roads:
    - id: r
      lanes: {forward: 1, backward: 0}
      segments: [{type: straight, length_m: 120}]
props:
  - {type: box, position: [60, 5], size: [2, 2, 2]}
ego:
  start: {lane: r/fwd/0, s_m: 20}
  speed_mps: 5
traffic: {count: 1}
"""

MEMBERS = sorted(name for name in vars(WorldView) if not name.startswith("_"))
PROPERTIES = [n for n in MEMBERS if isinstance(vars(WorldView)[n], property)]
METHODS = [n for n in MEMBERS if n not in PROPERTIES]


@pytest.fixture(scope="module")
def world() -> World:
    with World(parse_scenario(ROAD)) as w:
        for _ in range(20):   # some history, for ego_pose in the past
            w.step()
        yield w


def _fake_world() -> FakeWorld:
    fake = FakeWorld()
    fake.add_box("wall", (10.5, 0.0), (1.0, 40.0, 10.0))
    return fake


def test_the_protocol_names_what_sensors_read() -> None:
    assert set(PROPERTIES) == {"geo_origin", "ego_instance_id", "weather"}
    assert set(METHODS) == {"mirror", "ego_pose", "object_boxes"}


def test_the_real_world_satisfies_the_view(world: World) -> None:
    assert isinstance(world, WorldView)
    for name in MEMBERS:
        assert hasattr(world, name), name
    _check_members(world)
    past = world.ego_pose(world.time_s - 0.1)
    assert isinstance(past, Pose) and past.time_s == pytest.approx(world.time_s - 0.1)
    assert world.ego_instance_id in {b.instance_id for b in world.object_boxes()}


def test_the_fake_world_satisfies_the_view() -> None:
    fake = _fake_world()
    assert isinstance(fake, WorldView)
    _check_members(fake)


def test_a_partial_world_is_not_a_view() -> None:
    class NoBoxes:
        geo_origin = GeoOrigin()
        ego_instance_id = 1
        weather = None

        def mirror(self) -> None: ...

        def ego_pose(self, t_s: float | None = None) -> None: ...

    assert not isinstance(NoBoxes(), WorldView)


def _check_members(view: Any) -> None:
    """Properties have the declared type; methods take the declared parameters and return
    the declared type."""
    for name in PROPERTIES:
        declared = get_type_hints(vars(WorldView)[name].fget)["return"]
        assert isinstance(getattr(view, name), declared), name
    for name in METHODS:
        method = getattr(view, name)
        assert callable(method), name
        proto = inspect.signature(vars(WorldView)[name])
        got = inspect.signature(method)
        assert list(got.parameters) == [p for p in proto.parameters if p != "self"], name
    assert isinstance(view.mirror(), SceneMirror)
    assert isinstance(view.ego_pose(), Pose)
    boxes = view.object_boxes()
    assert isinstance(boxes, list) and boxes and all(isinstance(b, ObjectBox) for b in boxes)


class _OnlyTheView:
    """Forwards the ``WorldView`` members of a world and nothing else."""

    def __init__(self, world: Any):
        self._world = world

    def __getattr__(self, name: str) -> Any:
        if name not in MEMBERS:
            raise AttributeError(f"sensor read world.{name}, which WorldView does not offer")
        return getattr(self._world, name)


SMALL_CONFIGS = {
    "camera": CameraConfig(name="cam", type="camera", width=32, height=24),
    "lidar": LidarConfig(name="lidar", type="lidar", channels=4, vertical_fov_deg=(-5, 5),
                         columns=64),
    "gnss": GnssConfig(name="gnss", type="gnss"),
    "imu": ImuConfig(name="imu", type="imu"),
}


def test_small_configs_cover_the_registry() -> None:
    assert set(SMALL_CONFIGS) == set(SENSOR_TYPES)


@pytest.mark.parametrize("type_name", sorted(SMALL_CONFIGS))
def test_every_sensor_reads_only_the_view(type_name: str) -> None:
    sensor = build_sensor(SMALL_CONFIGS[type_name], np.random.default_rng(0))
    m = sensor.capture(_OnlyTheView(_fake_world()), 0.0)
    assert m.sensor_type == type_name and m.time_s == 0.0
