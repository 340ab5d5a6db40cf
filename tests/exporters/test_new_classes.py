"""Every vehicle kind and the group actors reach the exported labels with their own class,
size and velocity: KITTI ``label_2`` rows, nuScenes annotations (read by the devkit) and
lidarseg classes, MCAP box colours; and the props with a category of their own (parked
car, cone, barrier).

The export scene: the highway with no random traffic, one named actor of each kind at a
known lane station ahead of the ego, a pedestrian walking beside the road, and on the
other side a tossed cardboard box (debris) and the three props, exported with
``run_sim.py export``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from exporters.formats.mcap_messages import CATEGORY_RGBA
from exporters.formats.nuscenes_labels import STUFF_OF_SEMANTIC, lidarseg_labels
from exporters.formats.nuscenes_tables import (
    ATTRIBUTES,
    CATEGORY_INDEX,
    CATEGORY_NAMES,
    VERSION,
    attribute_of,
)
from exporters.frame import LABEL_CLASSES, ObjectState, category_of, label_of, object_states
from simulator.scene.semantics import CLASS_NAMES, SEMANTIC_CLASSES
from simulator.vehicles.kinds import KINDS
from tests.exporters.devkit import run_devkit

ROOT = Path(__file__).resolve().parents[2]
RUN_SIM = [sys.executable, str(ROOT / "run_sim.py")]
N_FRAMES = 4
WALK_MPS = 1.4
DEBRIS_VEL = (1.0, 0.0, 0.0)     # launch velocity [m/s]

# name: (kind, lane, station [m], speed [m/s]); the ego starts on hw/fwd/1 at 50 m, 25 m/s.
ACTORS = {
    "lead_truck": ("truck", "hw/fwd/0", 80.0, 20.0),
    "city_bus": ("bus", "hw/fwd/2", 95.0, 22.0),
    "white_van": ("van", "hw/fwd/1", 85.0, 25.0),
    "bike": ("cyclist", "hw/fwd/3", 95.0, 6.0),
    "moto": ("motorcyclist", "hw/fwd/0", 62.0, 25.0),
}
# prop type: footprint centre [m]; its (category, KITTI, nuScenes class, attribute)
PROPS = {"parked_car": (-205.0, -267.0), "cone": (-222.0, -265.5), "barrier": (-215.0, -266.5)}
PROP_LABELS = {"parked_car": ("parked_car", "Car", "vehicle.car", "vehicle.parked"),
               "cone": ("traffic_cone", "Misc", "movable_object.trafficcone", None),
               "barrier": ("barrier", "Misc", "movable_object.barrier", None)}
KITTI_CLASS = {"truck": "Truck", "bus": "Misc", "van": "Van", "cyclist": "Cyclist",
               "motorcyclist": "Cyclist", "car": "Car", "pedestrian": "Pedestrian"}
NUSCENES_CLASS = {"truck": "vehicle.truck", "bus": "vehicle.bus.rigid", "van": "vehicle.car",
                  "cyclist": "vehicle.bicycle", "motorcyclist": "vehicle.motorcycle",
                  "pedestrian": "human.pedestrian.adult"}
NUSCENES_ATTRIBUTE = {"truck": "vehicle.moving", "bus": "vehicle.moving",
                      "van": "vehicle.moving", "cyclist": "cycle.with_rider",
                      "motorcyclist": "cycle.with_rider", "pedestrian": "pedestrian.moving"}


def scenario_data() -> dict:
    """The highway scenario with the named actors, a 640x360 camera and a VLP-16."""
    data = yaml.safe_load((ROOT / "scenarios" / "highway.yaml").read_text())
    data["traffic"]["count"] = 0
    data["actors"] = [{"name": n, "kind": k, "start": {"lane": lane, "s_m": s},
                       "speed_mps": v, "desired_speed_mps": v}
                      for n, (k, lane, s, v) in ACTORS.items()]
    # 1.5 m left of the road, walking east beside the traffic
    data["pedestrians"] = [{"name": "walker", "path": [[-232.0, -248.5], [-150.0, -248.5]],
                            "speed_mps": WALK_MPS}]
    # a cardboard box tossed east onto the right shoulder, before the props
    data["debris"] = [{"name": "tossed_box", "kind": "cardboard_box",
                       "position": [-226.0, -266.0, 0.3], "velocity_mps": list(DEBRIS_VEL)}]
    # right of the road (its edge at y = -264.8), ahead of the ego (x = -250)
    data["props"] = [{"type": t, "position": list(xy)} for t, xy in PROPS.items()]
    for s in data["sensors"]:
        if s["type"] == "camera":
            s.update({"width": 640, "height": 360})
        elif s["type"] == "lidar":
            s["preset"] = "vlp16"
    return data


def kind_of(name: str) -> str:
    return "pedestrian" if name == "walker" else ACTORS[name][0]


def expected_lwh(name: str) -> np.ndarray | None:
    if name == "walker":
        return None         # the walker's box is its body's extent now (legs swinging)
    spec = KINDS[kind_of(name)].spec
    return np.array([spec.length_m, spec.width_m, spec.height_m])


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> dict[str, Path]:
    """The scene exported with the CLI as KITTI and nuScenes: folder by format."""
    root = tmp_path_factory.mktemp("new_classes")
    path = root / "classes.yaml"
    path.write_text(yaml.safe_dump(scenario_data()))
    out = {}
    for fmt in ("kitti", "nuscenes"):
        out[fmt] = root / fmt
        proc = subprocess.run(RUN_SIM + ["export", "--scenario", str(path), "--out",
                                         str(out[fmt]), "--format", fmt, "--frames",
                                         str(N_FRAMES)],
                              capture_output=True, text=True, cwd=ROOT, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def world_objects():
    """The scene's world and its object states at t = 0 (no sensors: fast)."""
    from scenarios import parse_scenario
    from simulator.world import World

    data = scenario_data()
    data["sensors"] = []
    with World(parse_scenario(yaml.safe_dump(data), "classes.yaml")) as w:
        yield w, {o.name: o for o in object_states(w)}


def prop_sizes(w) -> dict[str, np.ndarray]:
    """(l, w, h) [m] of each prop type of the scene."""
    return {p.type: np.asarray(p.size, float) for p in w.props if p.type in PROPS}


# --------------------------------------------------------------------------- frame
def test_props_have_their_own_categories_and_stand_still(world_objects):
    w, objects = world_objects
    props = {p.type: objects[p.name] for p in w.props if p.type in PROPS}
    assert set(props) == set(PROPS)
    for kind, obj in props.items():
        category, kitti, nuscenes, _ = PROP_LABELS[kind]
        assert obj.category == category, kind
        assert label_of(obj, "kitti") == kitti and label_of(obj, "nuscenes") == nuscenes
        assert not obj.velocity.any() and obj.yaw_rate == 0.0


def test_debris_has_its_category_and_group_velocity(world_objects):
    w, objects = world_objects
    box = objects["tossed_box"]
    assert box.category == "debris" and box.semantic == SEMANTIC_CLASSES["debris"]
    assert label_of(box, "kitti") == "Misc"
    assert label_of(box, "nuscenes") == "movable_object.debris"
    np.testing.assert_allclose(box.velocity, DEBRIS_VEL)
    vel, rate = w.actor_velocities()[box.instance_id]
    np.testing.assert_array_equal(box.velocity, vel)
    assert box.yaw_rate == rate


def test_object_states_have_each_kind_category_and_state_velocity(world_objects):
    w, objects = world_objects
    for name, (kind, _, _, speed) in ACTORS.items():
        obj = objects[name]
        i = w.vehicle_index(name)
        assert obj.category == kind, name
        np.testing.assert_allclose(obj.size_lwh, expected_lwh(name))
        np.testing.assert_allclose(obj.velocity[:2], [w.state.vx_world[i],
                                                      w.state.vy_world[i]])
        assert np.hypot(*obj.velocity[:2]) == pytest.approx(speed, abs=1e-6), name
        assert obj.yaw_rate == pytest.approx(float(w.state.yaw_rate[i]))


def test_pedestrian_state_has_its_walking_velocity(world_objects):
    w, _ = world_objects
    for _ in range(20):
        w.step()
    walker = next(o for o in object_states(w) if o.name == "walker")
    assert walker.category == "pedestrian" and walker.semantic == SEMANTIC_CLASSES["pedestrian"]
    np.testing.assert_allclose(walker.velocity[:2], [WALK_MPS, 0.0], atol=1e-6)
    assert label_of(walker, "kitti") == "Pedestrian"
    assert label_of(walker, "nuscenes") == "human.pedestrian.adult"


def _obj(semantic: str, size_lwh, speed_mps: float = 0.0, kind: str | None = None):
    sem = SEMANTIC_CLASSES[semantic]
    size = np.asarray(size_lwh, float)
    return ObjectState(7, "x", sem, category_of(sem, float(size[0]), kind), np.zeros(3), size,
                       0.0, np.array([speed_mps, 0.0, 0.0]))


@pytest.mark.parametrize("semantic, size, kind, category, kitti, nuscenes", [
    ("vehicle", (4.6, 1.8, 1.5), "car", "car", "Car", "vehicle.car"),
    ("vehicle", (5.9, 2.0, 2.4), "van", "van", "Van", "vehicle.car"),
    ("vehicle", (5.9, 2.0, 2.4), None, "car", "Car", "vehicle.car"),   # kind not known
    ("vehicle", (7.0, 2.4, 3.0), "car", "truck", "Truck", "vehicle.truck"),  # a long car
    ("truck", (9.5, 2.5, 3.4), "truck", "truck", "Truck", "vehicle.truck"),
    ("bus", (12.0, 2.55, 3.2), "bus", "bus", "Misc", "vehicle.bus.rigid"),
    ("cyclist", (1.8, 0.6, 1.75), "cyclist", "cyclist", "Cyclist", "vehicle.bicycle"),
    ("motorcyclist", (2.2, 0.8, 1.5), "motorcyclist", "motorcyclist", "Cyclist",
     "vehicle.motorcycle"),
    ("pedestrian", (0.3, 0.55, 1.75), None, "pedestrian", "Pedestrian",
     "human.pedestrian.adult"),
    ("debris", (0.5, 0.4, 0.3), None, "debris", "Misc", "movable_object.debris"),
    ("static_object", (1.0, 1.0, 1.0), None, "static_object", "Misc",
     "movable_object.pushable_pullable"),
    ("wall", (10.0, 0.3, 2.0), None, "wall", "Misc", "movable_object.barrier"),
    ("vehicle", (4.5, 1.8, 1.5), "parked_car", "parked_car", "Car", "vehicle.car"),
    ("static_object", (0.4, 0.4, 0.7), "cone", "traffic_cone", "Misc",
     "movable_object.trafficcone"),
    ("static_object", (2.0, 0.6, 0.8), "barrier", "barrier", "Misc", "movable_object.barrier"),
    ("static_object", (1.0, 1.0, 1.0), "box", "static_object", "Misc",
     "movable_object.pushable_pullable"),
    ("building", (10.0, 10.0, 10.0), None, "building", None, None),
])
def test_category_and_labels(semantic, size, kind, category, kitti, nuscenes):
    obj = _obj(semantic, size, kind=kind)
    assert obj.category == category
    assert label_of(obj, "kitti") == kitti and label_of(obj, "nuscenes") == nuscenes


def test_every_label_is_official_and_coloured():
    kitti = {"Car", "Van", "Truck", "Pedestrian", "Person_sitting", "Cyclist", "Tram", "Misc"}
    for cat, row in LABEL_CLASSES.items():
        assert row["kitti"] in kitti and row["nuscenes"] in CATEGORY_INDEX, cat
        assert cat in CATEGORY_RGBA, cat
    assert len(CATEGORY_NAMES) == len(set(CATEGORY_NAMES)) == 32


@pytest.mark.parametrize("category, speed, attribute", [
    ("vehicle.car", 3.0, "vehicle.moving"), ("vehicle.truck", 0.1, "vehicle.stopped"),
    ("vehicle.bus.rigid", 10.0, "vehicle.moving"), ("vehicle.bus.rigid", 0.0, "vehicle.stopped"),
    ("vehicle.bicycle", 5.0, "cycle.with_rider"), ("vehicle.bicycle", 0.0, "cycle.with_rider"),
    ("vehicle.motorcycle", 0.0, "cycle.with_rider"),
    ("human.pedestrian.adult", 1.4, "pedestrian.moving"),
    ("human.pedestrian.adult", 0.0, "pedestrian.standing"),
    ("movable_object.debris", 3.0, None), ("movable_object.barrier", 0.0, None),
])
def test_attributes(category, speed, attribute):
    assert attribute_of(category, speed) == attribute
    if category.startswith("vehicle.") and attribute != "cycle.with_rider":
        assert attribute_of(category, 0.0, parked=True) == "vehicle.parked"
    assert attribute is None or attribute in ATTRIBUTES


def test_lidarseg_class_of_every_semantic():
    expected = {"pedestrian": "human.pedestrian.adult", "cyclist": "vehicle.bicycle",
                "motorcyclist": "vehicle.motorcycle", "truck": "vehicle.truck",
                "bus": "vehicle.bus.rigid", "debris": "movable_object.debris",
                "rain": "noise"}
    for name, cls in expected.items():
        assert STUFF_OF_SEMANTIC[name] == cls
    assert set(CLASS_NAMES) <= set(STUFF_OF_SEMANTIC)
    sems = np.array([SEMANTIC_CLASSES[n] for n in expected], np.uint8)
    got = lidarseg_labels(sems, np.zeros(len(sems), np.int32), [])
    assert [CATEGORY_NAMES[i] for i in got] == list(expected.values())
    # A box's category wins for its points, except for rain clutter (instance 0 anyway).
    truck = _obj("truck", (9.5, 2.5, 3.4), kind="truck")
    got = lidarseg_labels(np.array([SEMANTIC_CLASSES["truck"], SEMANTIC_CLASSES["rain"]]),
                          np.array([truck.instance_id, truck.instance_id]), [truck])
    assert [CATEGORY_NAMES[i] for i in got] == ["vehicle.truck", "noise"]


# --------------------------------------------------------------------------- KITTI
def test_kitti_rows_have_each_kind_class_and_size(exported, world_objects):
    _, objects = world_objects
    rows = []
    for p in sorted((exported["kitti"] / "training" / "label_2").glob("*.txt")):
        rows += [line.split() for line in p.read_text().splitlines()]
    assert len(sorted((exported["kitti"] / "training" / "label_2").glob("*.txt"))) == N_FRAMES
    for name in list(ACTORS) + ["walker"]:
        kind = kind_of(name)
        lwh = expected_lwh(name)
        if lwh is None:
            found = [r for r in rows if r[0] == KITTI_CLASS[kind]]
        else:
            hwl = lwh[[2, 1, 0]]
            found = [r for r in rows if r[0] == KITTI_CLASS[kind]
                     and np.allclose([float(v) for v in r[8:11]], hwl, atol=1e-4)]
        assert len(found) == N_FRAMES, (name, kind)
    debris = [r for r in rows if r[0] == "Misc"   # it tumbles: its box changes a little
              and np.allclose([float(v) for v in r[8:11]], [0.35, 0.4, 0.5], atol=0.05)]
    assert len(debris) == N_FRAMES
    for kind, lwh in prop_sizes(world_objects[0]).items():
        found = [r for r in rows if r[0] == PROP_LABELS[kind][1]
                 and np.allclose([float(v) for v in r[8:11]], lwh[[2, 1, 0]], atol=1e-4)]
        assert len(found) == N_FRAMES, kind


# --------------------------------------------------------------------------- nuScenes
DEVKIT_SCRIPT = r"""
import json, sys
import numpy as np
from nuscenes.nuscenes import NuScenes
nusc = NuScenes(version=sys.argv[2], dataroot=sys.argv[1], verbose=False)
anns = []
for a in nusc.sample_annotation:
    v = nusc.box_velocity(a["token"])
    anns.append({"category": a["category_name"], "size": a["size"],
                 "instance": a["instance_token"], "inner": bool(a["prev"] and a["next"]),
                 "attributes": [nusc.get("attribute", t)["name"] for t in a["attribute_tokens"]],
                 "velocity": [None if np.isnan(x) else float(x) for x in v]})
print(json.dumps({"anns": anns, "categories": [c["name"] for c in nusc.category],
                  "idx2name": {int(k): v for k, v in nusc.lidarseg_idx2name_mapping.items()}}))
"""


@pytest.fixture(scope="module")
def devkit(exported):
    return run_devkit(DEVKIT_SCRIPT, str(exported["nuscenes"]), VERSION)


def test_nuscenes_categories_stay_the_official_32(devkit):
    assert devkit["categories"] == list(CATEGORY_NAMES)
    assert devkit["idx2name"] == {str(i): n for i, n in enumerate(CATEGORY_NAMES)}


def test_nuscenes_annotations_have_official_categories_and_attributes(devkit, world_objects):
    anns = devkit["anns"]
    debris = [a for a in anns if a["category"] == "movable_object.debris"]
    assert len(debris) == N_FRAMES and all(a["attributes"] == [] for a in debris)
    for kind, lwh in prop_sizes(world_objects[0]).items():
        _, _, category, attribute = PROP_LABELS[kind]
        mine = [a for a in anns if a["category"] == category
                and np.allclose(a["size"], lwh[[1, 0, 2]], atol=1e-6)]
        assert len(mine) == N_FRAMES, kind
        assert all(a["attributes"] == ([] if attribute is None else [attribute])
                   for a in mine), kind
    for name in list(ACTORS) + ["walker"]:
        kind = kind_of(name)
        lwh = expected_lwh(name)
        mine = [a for a in anns if a["category"] == NUSCENES_CLASS[kind]
                and (lwh is None or np.allclose(a["size"], lwh[[1, 0, 2]], atol=1e-6))]
        assert len(mine) == N_FRAMES, (name, kind)
        assert len({a["instance"] for a in mine}) == 1
        assert all(a["attributes"] == [NUSCENES_ATTRIBUTE[kind]] for a in mine), name


def test_nuscenes_box_velocity_is_the_state_speed(devkit):
    truck = KINDS["truck"].spec
    anns = [a for a in devkit["anns"] if a["category"] == "vehicle.truck"
            and np.allclose(a["size"], [truck.width_m, truck.length_m, truck.height_m])]
    middle = [a for a in anns if a["inner"]]
    assert middle
    for a in middle:   # the truck holds 20 m/s east on the straight
        np.testing.assert_allclose(a["velocity"][:2], [ACTORS["lead_truck"][3], 0.0],
                                   atol=0.05)
    walker = [a for a in devkit["anns"] if a["category"] == "human.pedestrian.adult"
              and a["inner"]]
    assert walker
    for a in walker:
        np.testing.assert_allclose(a["velocity"][:2], [WALK_MPS, 0.0], atol=0.1)

