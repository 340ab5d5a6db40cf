"""The static scene of a scenario: road meshes, explicit, map-file and generated props,
traffic-light poles and the material table, built once per world and reused by every episode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scenarios.limits import MAX_PROPS
from scenarios.schema import Scenario
from simulator.errors import WorldError
from simulator.map.hdmap import HDMap
from simulator.scene.mirror import MaterialTable
from simulator.scene.objects import SceneObject
from simulator.scene.props import (
    PropInstance,
    explicit_props,
    generate_roadside,
    map_props,
    stand_on_surface,
    traffic_lights,
)
from simulator.scene.road_meshes import build_road_objects
from simulator.scene.semantics import DEFAULT_MATERIALS, PROP_DEFAULTS, MaterialInfo

STATIC_ID_BASE = 10_000  # static objects get instance ids from here; vehicles 1..n
MAX_STATIC_OBJECTS = 4096


@dataclass
class StaticScene:
    """What :func:`build_static_scene` returns.

    Attributes:
        objects: every static scene object (roads, markings, props) with its instance id.
        props: the props among them (explicit, the map file's signs and objects,
            roadside, traffic lights), in that order.
        light_groups: traffic-light instance id -> (intersection id, signal group).
        materials: instance id -> semantic class and material (vehicles set by the world).
        material_info: material name -> colour and reflectivities.
    """

    objects: list[SceneObject]
    props: list[PropInstance]
    light_groups: dict[int, tuple[str, int]]
    materials: MaterialTable
    material_info: dict[str, MaterialInfo]


def material_info(scenario: Scenario) -> dict[str, MaterialInfo]:
    """The built-in materials with the scenario's additions and overrides."""
    info = dict(DEFAULT_MATERIALS)
    for name, m in scenario.materials.items():
        info[name] = MaterialInfo(tuple(m.color_rgb), m.lidar_reflectivity, m.gnss_reflectivity)
    return info


def build_static_scene(scenario: Scenario, hdmap: HDMap,
                       rng: np.random.Generator) -> StaticScene:
    """Road objects, props (roadside ones drawn from ``rng``) and their materials.

    Raises:
        WorldError: a prop names an unknown material.
    """
    info = material_info(scenario)
    objects = build_road_objects(hdmap, STATIC_ID_BASE)
    next_id = STATIC_ID_BASE + len(objects)
    for k, prop in enumerate(scenario.props):
        name = prop.material or PROP_DEFAULTS[prop.type][1]
        if name not in info:
            raise WorldError(f"props[{k}].material: unknown material {name!r}; known: "
                             f"{', '.join(sorted(info))}")
    total = sum(prop.count for prop in scenario.props)
    if total > MAX_PROPS:
        raise WorldError(f"props: the rows expand to {total} props; at most {MAX_PROPS}")
    # Explicit and roadside props stand on the surface under them on maps with elevation.
    props = stand_on_surface(explicit_props(list(scenario.props), next_id), hdmap)
    next_id += len(props)
    props += map_props(hdmap, next_id)        # the map file's signs and objects
    next_id = STATIC_ID_BASE + len(objects) + len(props)
    junctions = [tuple(x.position) for x in scenario.map.intersections]
    props += stand_on_surface(
        generate_roadside(hdmap, scenario.map.roadside, rng, next_id, props, junctions), hdmap)
    lights, light_groups = traffic_lights(hdmap, STATIC_ID_BASE + len(objects) + len(props))
    props += lights
    objects += [p.scene_object() for p in props]
    materials = MaterialTable(STATIC_ID_BASE + MAX_STATIC_OBJECTS)
    for obj in objects:
        materials.set(obj.instance_id, obj.semantic, info[obj.material])
    return StaticScene(objects, props, light_groups, materials, info)
