"""Semantic classes and default materials of everything in the world.

Class ids follow the CARLA/Cityscapes habit of small integers; 0 means "nothing hit".
A material carries what each sensor needs: colour (camera), lidar reflectivity (0-1, the
Lambertian albedo at 905 nm) and GNSS reflectivity (fraction of a satellite signal a surface
re-radiates, for multipath).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

SEMANTIC_CLASSES: MappingProxyType[str, int] = MappingProxyType({
    "none": 0,
    "ground": 1,
    "road": 2,
    "lane_marking": 3,
    "sidewalk": 4,
    "building": 5,
    "wall": 6,
    "pole": 7,
    "traffic_sign": 8,
    "traffic_light": 9,
    "vegetation": 10,
    "vehicle": 11,
    "static_object": 12,
    "pedestrian": 13,
    "cyclist": 14,
    "truck": 15,
    "bus": 16,
    "debris": 17,
    "motorcyclist": 18,
    "rain": 19,          # spurious lidar returns from raindrops (sensors.weather)
})
CLASS_NAMES: tuple[str, ...] = tuple(sorted(SEMANTIC_CLASSES, key=SEMANTIC_CLASSES.get))

# RGB per class for semantic previews (Cityscapes-like palette).
CLASS_COLORS: MappingProxyType[int, tuple[int, int, int]] = MappingProxyType({
    0: (0, 0, 0), 1: (81, 0, 81), 2: (128, 64, 128), 3: (157, 234, 50),
    4: (244, 35, 232), 5: (70, 70, 70), 6: (102, 102, 156), 7: (153, 153, 153),
    8: (220, 220, 0), 9: (250, 170, 30), 10: (107, 142, 35), 11: (0, 0, 142),
    12: (110, 190, 160), 13: (220, 20, 60), 14: (119, 11, 32), 15: (0, 0, 70),
    16: (0, 60, 100), 17: (230, 150, 140), 18: (0, 0, 230), 19: (120, 200, 255),
})


@dataclass(frozen=True)
class MaterialInfo:
    """What a surface looks like to each sensor."""

    color_rgb: tuple[int, int, int]
    lidar_reflectivity: float
    gnss_reflectivity: float


DEFAULT_MATERIALS: MappingProxyType[str, MaterialInfo] = MappingProxyType({
    "ground": MaterialInfo((96, 110, 80), 0.15, 0.1),
    "asphalt": MaterialInfo((70, 70, 74), 0.10, 0.1),
    "marking_white": MaterialInfo((235, 235, 230), 0.70, 0.1),
    "marking_yellow": MaterialInfo((235, 190, 40), 0.60, 0.1),
    "concrete": MaterialInfo((165, 160, 150), 0.30, 0.6),
    "glass_facade": MaterialInfo((120, 150, 175), 0.08, 0.8),
    "brick": MaterialInfo((150, 80, 60), 0.25, 0.5),
    "metal": MaterialInfo((140, 140, 145), 0.50, 0.9),
    "sign": MaterialInfo((230, 230, 240), 0.95, 0.7),
    "foliage": MaterialInfo((60, 120, 50), 0.40, 0.05),
    "bark": MaterialInfo((90, 65, 40), 0.20, 0.05),
    "car_paint": MaterialInfo((180, 180, 185), 0.35, 0.8),
    "cardboard": MaterialInfo((170, 130, 80), 0.45, 0.1),
    # A traffic cone: orange plastic with a retro-reflective band (a bright lidar return).
    "cone_plastic": MaterialInfo((245, 110, 20), 0.90, 0.1),
})

# Default (semantic class, material) for each placeable prop type.
PROP_DEFAULTS: MappingProxyType[str, tuple[str, str]] = MappingProxyType({
    "building": ("building", "concrete"),
    "wall": ("wall", "brick"),
    "box": ("static_object", "cardboard"),
    "pole": ("pole", "metal"),
    "tree": ("vegetation", "foliage"),
    "sign": ("traffic_sign", "sign"),
    "traffic_light": ("traffic_light", "metal"),
    "cone": ("static_object", "cone_plastic"),
    "barrier": ("static_object", "concrete"),
    "parked_car": ("vehicle", "car_paint"),
})
