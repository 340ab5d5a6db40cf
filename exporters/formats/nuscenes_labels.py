"""Per-point labels (nuScenes-lidarseg / -panoptic) and the points-in-box count.

Lidarseg class of a point, from our exact lidar GT ``semantic`` / ``instance_id``: objects
with a nuScenes box label (``label_of(obj, "nuscenes")``: vehicles of every kind,
pedestrians, debris, pushable objects, barriers) take that category; everything else maps by
semantic class (``STUFF_OF_SEMANTIC``; rain returns are ``noise``, which no box overrides).
Panoptic label = 1000 * class index + instance number for "thing" classes (index < 24), the
instance numbered 1, 2, ... per scene in order of first appearance in the LIDAR_TOP key frames
(ties by world instance id); stuff and noise points have instance number 0.
"""

from __future__ import annotations

import numpy as np

from exporters.formats.nuscenes_tables import CATEGORY_INDEX, STUFF_START_INDEX
from exporters.frame import ObjectState, label_of
from simulator.scene.semantics import CLASS_NAMES, SEMANTIC_CLASSES

STUFF_OF_SEMANTIC: dict[str, str] = {
    "none": "noise",
    "ground": "flat.terrain",
    "road": "flat.driveable_surface",
    "lane_marking": "flat.driveable_surface",
    "sidewalk": "flat.sidewalk",
    "building": "static.manmade",
    "wall": "movable_object.barrier",
    "pole": "static.manmade",
    "traffic_sign": "static.manmade",
    "traffic_light": "static.manmade",
    "vegetation": "static.vegetation",
    "vehicle": "vehicle.car",
    "static_object": "movable_object.pushable_pullable",
    "pedestrian": "human.pedestrian.adult",
    "cyclist": "vehicle.bicycle",
    "truck": "vehicle.truck",
    "bus": "vehicle.bus.rigid",
    "debris": "movable_object.debris",
    "motorcyclist": "vehicle.motorcycle",
    "rain": "noise",        # raindrop returns: lidarseg's class for spurious points
}
MAX_INSTANCES_PER_SCENE = 999  # panoptic labels hold the instance number in 3 digits


def lidarseg_labels(semantic: np.ndarray, instance_id: np.ndarray,
                    objects: list[ObjectState]) -> np.ndarray:
    """(M,) uint8 nuScenes-lidarseg class indices of M points."""
    by_semantic = np.array([CATEGORY_INDEX[STUFF_OF_SEMANTIC.get(n, "static.other")]
                            for n in CLASS_NAMES], np.uint8)
    sem = np.asarray(semantic, np.int64)
    out = by_semantic[np.clip(sem, 0, len(by_semantic) - 1)]
    boxed = {o.instance_id: CATEGORY_INDEX[n] for o in objects
             if (n := label_of(o, "nuscenes")) is not None}
    if boxed:
        ids = np.array(sorted(boxed), np.int64)
        classes = np.array([boxed[i] for i in ids.tolist()], np.uint8)
        inst = np.asarray(instance_id, np.int64)
        pos = np.minimum(np.searchsorted(ids, inst), len(ids) - 1)
        hit = (ids[pos] == inst) & (sem != SEMANTIC_CLASSES["rain"])
        out[hit] = classes[pos[hit]]
    return out


class PanopticNumbering:
    """Per-scene instance numbers (1, 2, ...) for thing points, by first appearance."""

    def __init__(self) -> None:
        self.number_of: dict[int, int] = {}

    def labels(self, classes: np.ndarray, instance_id: np.ndarray) -> np.ndarray:
        """(M,) uint16 panoptic labels of points with lidarseg ``classes``."""
        classes = np.asarray(classes, np.int64)
        inst = np.asarray(instance_id, np.int64)
        thing = (classes > 0) & (classes < STUFF_START_INDEX)
        for iid in np.unique(inst[thing]).tolist():
            if iid not in self.number_of:
                if len(self.number_of) >= MAX_INSTANCES_PER_SCENE:
                    raise ValueError(f"more than {MAX_INSTANCES_PER_SCENE} object instances "
                                     "in one scene: nuScenes-panoptic cannot number them")
                self.number_of[iid] = len(self.number_of) + 1
        numbers = np.zeros(len(inst), np.int64)
        if thing.any():
            keys = np.array(sorted(self.number_of), np.int64)
            vals = np.array([self.number_of[k] for k in keys.tolist()], np.int64)
            numbers[thing] = vals[np.searchsorted(keys, inst[thing])]
        return (classes * 1000 + numbers).astype(np.uint16)


def points_in_box_count(points: np.ndarray, sensor_from_world: np.ndarray,
                        obj: ObjectState) -> int:
    """How many of ``points`` (M, 3) in a sensor frame (``sensor_from_world``: 4x4) lie in
    ``obj``'s box, faces included, as the devkit's ``points_in_box`` counts them."""
    corners = obj.corners() @ sensor_from_world[:3, :3].T + sensor_from_world[:3, 3]
    # ObjectBox corner order: bottom face (+x+y, -x+y, -x-y, +x-y), then the top face.
    p1 = corners[2]                        # -x -y bottom
    i, j, k = corners[3] - p1, corners[1] - p1, corners[6] - p1
    v = np.asarray(points, np.float64) - p1
    iv, jv, kv = v @ i, v @ j, v @ k
    inside = ((iv >= 0) & (iv <= i @ i) & (jv >= 0) & (jv <= j @ j)
              & (kv >= 0) & (kv <= k @ k))
    return int(np.count_nonzero(inside))
