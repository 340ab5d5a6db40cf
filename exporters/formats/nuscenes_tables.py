"""nuScenes table vocabulary: tokens, the fixed tables, quaternions, visibility, attributes.

Conventions (nuScenes'): quaternions are ``[w, x, y, z]``; box sizes ``[w, l, h]`` [m];
translations are box centres [m]; timestamps are microseconds since the Unix epoch.
Tokens are the first 32 hex digits of the sha256 of a stable key (``token("episode 0
sample 3")``), so they depend on nothing but the scenario and the seeds.
"""

from __future__ import annotations

import hashlib

import numpy as np

VERSION = "v1.0-drivesim"
EVAL_SPLIT = "all"  # the custom split of every scene (in v1.0-drivesim/splits.json)

# nuScenes-lidarseg's 32 classes; the position is the class ``index`` (category.json).
CATEGORY_NAMES: tuple[str, ...] = (
    "noise", "animal", "human.pedestrian.adult", "human.pedestrian.child",
    "human.pedestrian.construction_worker", "human.pedestrian.personal_mobility",
    "human.pedestrian.police_officer", "human.pedestrian.stroller",
    "human.pedestrian.wheelchair", "movable_object.barrier", "movable_object.debris",
    "movable_object.pushable_pullable", "movable_object.trafficcone",
    "static_object.bicycle_rack", "vehicle.bicycle", "vehicle.bus.bendy", "vehicle.bus.rigid",
    "vehicle.car", "vehicle.construction", "vehicle.emergency.ambulance",
    "vehicle.emergency.police", "vehicle.motorcycle", "vehicle.trailer", "vehicle.truck",
    "flat.driveable_surface", "flat.other", "flat.sidewalk", "flat.terrain", "static.manmade",
    "static.other", "static.vegetation", "vehicle.ego",
)
CATEGORY_INDEX: dict[str, int] = {n: i for i, n in enumerate(CATEGORY_NAMES)}
STUFF_START_INDEX = 24  # classes from flat.driveable_surface on are "stuff" (no instances)

ATTRIBUTES: dict[str, str] = {
    "vehicle.moving": "Vehicle is moving.",
    "vehicle.stopped": "Vehicle, with a driver/rider in/on it, is currently stationary but "
                       "has an intent to move.",
    "vehicle.parked": "Vehicle is stationary (usually for longer duration) with no immediate "
                      "intent to move.",
    "cycle.with_rider": "There is a rider on the bicycle or motorcycle.",
    "cycle.without_rider": "There is NO rider on the bicycle or motorcycle.",
    "pedestrian.sitting_lying_down": "The human is sitting or lying down.",
    "pedestrian.standing": "The human is standing.",
    "pedestrian.moving": "The human is moving.",
}
MOVING_MIN_SPEED_MPS = 0.5  # a vehicle at least this fast is vehicle.moving, else stopped
PEDESTRIAN_MOVING_MIN_SPEED_MPS = 0.2  # a person this fast is walking (slow walk ~0.5 m/s)
CYCLE_CATEGORIES = ("vehicle.bicycle", "vehicle.motorcycle")  # attribute cycle.with_rider

# nuScenes' visibility bins: token, level, upper bound of the visible fraction.
VISIBILITY_BINS: tuple[tuple[str, str, float], ...] = (
    ("1", "v0-40", 0.4), ("2", "v40-60", 0.6), ("3", "v60-80", 0.8), ("4", "v80-100", 1.0))


def token(key: str) -> str:
    """The 32-hex token of a stable key."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def quaternion_wxyz(rotation: np.ndarray) -> list[float]:
    """Unit quaternion ``[w, x, y, z]`` (w >= 0) of a 3x3 rotation matrix."""
    m = np.asarray(rotation, np.float64)
    t = np.trace(m)
    if t > 0.0:
        s = 2.0 * np.sqrt(t + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    qa = np.asarray(q)
    qa /= np.linalg.norm(qa)
    if qa[0] < 0.0:
        qa = -qa
    return [float(v) for v in qa]


def yaw_quaternion(yaw_rad: float) -> list[float]:
    """``[w, x, y, z]`` of a rotation by ``yaw_rad`` about z."""
    return [float(np.cos(yaw_rad / 2.0)), 0.0, 0.0, float(np.sin(yaw_rad / 2.0))]


def visibility_token(visible_fraction: float) -> str:
    """The visibility bin (token "1".."4") of a visible fraction 0-1."""
    for tok, _, upper in VISIBILITY_BINS:
        if visible_fraction <= upper:
            return tok
    return VISIBILITY_BINS[-1][0]


def attribute_of(category_name: str, speed_mps: float, parked: bool = False) -> str | None:
    """The one attribute of an annotation (of a category in ``CATEGORY_NAMES``).

    Bicycles and motorcycles always carry their rider (``cycle.with_rider``); a parked
    vehicle (a prop: no driver) is ``vehicle.parked``; other vehicles are
    ``vehicle.moving`` from ``MOVING_MIN_SPEED_MPS`` on, else ``vehicle.stopped`` (every
    simulated vehicle has a driver); people are
    ``pedestrian.moving`` from ``PEDESTRIAN_MOVING_MIN_SPEED_MPS`` on, else
    ``pedestrian.standing``; other categories (barriers, debris, pushable objects) get none.

    Args:
        category_name: the annotation's nuScenes category.
        speed_mps: its ground speed [m/s].
        parked: the object is a parked vehicle (``exporters.frame.PARKED_CATEGORIES``).
    """
    if category_name in CYCLE_CATEGORIES:
        return "cycle.with_rider"
    if category_name.startswith("vehicle.") and parked:
        return "vehicle.parked"
    if category_name.startswith("vehicle."):
        return "vehicle.moving" if speed_mps >= MOVING_MIN_SPEED_MPS else "vehicle.stopped"
    if category_name.startswith("human.pedestrian."):
        return ("pedestrian.moving" if speed_mps >= PEDESTRIAN_MOVING_MIN_SPEED_MPS
                else "pedestrian.standing")
    return None


def fixed_tables() -> dict[str, list[dict]]:
    """The dataset-independent tables: category (with lidarseg ``index``), attribute,
    visibility."""
    return {
        "category": [{"token": token(f"category {n}"), "name": n, "description": n,
                      "index": i} for i, n in enumerate(CATEGORY_NAMES)],
        "attribute": [{"token": token(f"attribute {n}"), "name": n, "description": d}
                      for n, d in ATTRIBUTES.items()],
        "visibility": [{"token": tok, "level": level,
                        "description": f"visibility of whole object is between "
                                       f"{level[1:].replace('-', ' and ')} %"}
                       for tok, level, _ in VISIBILITY_BINS],
    }
