"""The scenario format: pydantic models, plain data, strict (unknown keys are errors).

Units are SI inside and in field names (``_m``, ``_s``, ``_mps``, ``_hz``); angles are
given in degrees at this YAML surface (``_deg``) and converted to radians once, by the
consumers. Nothing downstream reads YAML or dicts: they get these models.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from scenarios.sensor_schema import SensorConfig

Vec2 = tuple[float, float]
Vec3 = tuple[float, float, float]
RGB = tuple[Annotated[int, Field(ge=0, le=255)], Annotated[int, Field(ge=0, le=255)],
            Annotated[int, Field(ge=0, le=255)]]


class Strict(BaseModel):
    """Base for every scenario model: unknown keys raise, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------- simulation
class Simulation(Strict):
    seed: int = Field(0, ge=0, description="Root of the RNG tree; same seed -> same output.")
    duration_s: float = Field(60.0, gt=0, description="Simulated time of a run [s].")
    physics_hz: float = Field(100.0, ge=10, le=1000, description="Fixed physics step rate.")
    control_hz: float = Field(
        10.0, gt=0, le=1000,
        description="Rate at which drivers (NPC and ego autopilot) decide [Hz]; "
        "must divide physics_hz.")
    record_hz: float = Field(10.0, gt=0, description="Rate of trajectory.csv rows and video.")

    @model_validator(mode="after")
    def _rates_divide(self) -> Simulation:
        for name in ("control_hz", "record_hz"):
            ratio = self.physics_hz / getattr(self, name)
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
                raise ValueError(f"{name} must divide physics_hz ({self.physics_hz:g})")
        return self


# --------------------------------------------------------------------------- map
class GeoOrigin(Strict):
    """WGS84 point that the world's ENU origin (x east, y north, z up) sits on."""

    lat_deg: float = Field(48.137, ge=-90, le=90)
    lon_deg: float = Field(11.575, ge=-180, le=180)
    alt_m: float = 520.0


class Pose2D(Strict):
    position: Vec2 = (0.0, 0.0)
    heading_deg: float = 0.0


class StraightSegment(Strict):
    type: Literal["straight"]
    length_m: float = Field(gt=0)


class ArcSegment(Strict):
    type: Literal["arc"]
    radius_m: float = Field(gt=0)
    angle_deg: float = Field(description="Turned angle; positive turns left.")

    @model_validator(mode="after")
    def _nonzero(self) -> ArcSegment:
        if self.angle_deg == 0:
            raise ValueError("angle_deg must not be 0")
        return self


Segment = Annotated[Union[StraightSegment, ArcSegment], Field(discriminator="type")]


class LaneLayout(Strict):
    forward: int = Field(2, ge=0, le=8, description="Lanes driving along the reference line.")
    backward: int = Field(0, ge=0, le=8, description="Lanes driving against it.")
    width_m: float = Field(3.5, gt=1.5, le=6)

    @model_validator(mode="after")
    def _some_lane(self) -> LaneLayout:
        if self.forward + self.backward == 0:
            raise ValueError("a road needs at least one lane")
        return self


class Road(Strict):
    """A road: its reference line is a chain of straight and arc segments.

    Forward lanes lie right of the reference line (right-hand traffic), backward lanes left
    of it. If the chain ends where it starts, facing the same way, the road is a closed loop.
    """

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    start: Pose2D = Pose2D()
    lanes: LaneLayout = LaneLayout()
    segments: list[Segment] = Field(min_length=1)
    speed_limit_mps: float = Field(13.9, gt=0, le=70)


class Signal(Strict):
    """Two-phase traffic light cycle: the east-west arms, then the north-south arms."""

    green_s: float = Field(20.0, gt=0)
    yellow_s: float = Field(3.0, ge=0)
    all_red_s: float = Field(2.0, ge=0)
    offset_s: float = Field(0.0, description="Shifts the cycle start [s].")


class Intersection(Strict):
    """A 4-way junction with four straight arms at right angles.

    The arms are named east/north/west/south at ``heading_deg`` 0 (east is +x). Each arm has
    ``lanes_per_direction`` incoming and outgoing lanes; the innermost incoming lane turns
    left or goes straight, the outermost turns right or goes straight, the others go straight.
    """

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    position: Vec2 = (0.0, 0.0)
    heading_deg: float = 0.0
    arm_length_m: float = Field(150.0, gt=10)
    lanes_per_direction: int = Field(2, ge=1, le=4)
    lane_width_m: float = Field(3.5, gt=1.5, le=6)
    corner_radius_m: float = Field(8.0, gt=0, description="Kerb radius of right turns.")
    speed_limit_mps: float = Field(13.9, gt=0, le=40)
    signal: Signal | None = Field(
        default_factory=Signal, description="null: no lights, priority to the right rules "
        "are not modelled, so a signal is required for traffic through the junction.")


class Range(Strict):
    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Range:
        if self.max < self.min:
            raise ValueError("max must be >= min")
        return self


class BuildingRow(Strict):
    spacing_m: float = Field(25.0, gt=1)
    setback_m: float = Field(4.0, ge=0, description="Gap between road edge and facade.")
    length_m: Range = Range(min=12, max=22)
    depth_m: Range = Range(min=10, max=18)
    height_m: Range = Range(min=8, max=30)
    probability: float = Field(0.9, ge=0, le=1, description="Chance a slot gets a building.")


class ItemRow(Strict):
    spacing_m: float = Field(30.0, gt=1)
    setback_m: float = Field(1.0, ge=0)
    probability: float = Field(1.0, ge=0, le=1)


class Roadside(Strict):
    """Props generated along every road edge (seeded from the world stream)."""

    buildings: BuildingRow | None = None
    poles: ItemRow | None = None
    trees: ItemRow | None = None
    signs: ItemRow | None = None
    keep_clear_m: float = Field(
        15.0, ge=0, description="No roadside props this close to a junction centre's arms.")


class MapConfig(Strict):
    geo_origin: GeoOrigin = GeoOrigin()
    roads: list[Road] = []
    intersections: list[Intersection] = []
    roadside: Roadside = Roadside()
    ground_size_m: float = Field(1000.0, gt=0, description="Side of the flat ground square.")

    @model_validator(mode="after")
    def _unique_ids(self) -> MapConfig:
        ids = [r.id for r in self.roads] + [x.id for x in self.intersections]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"duplicate road/intersection id(s): {', '.join(dup)}")
        if not ids:
            raise ValueError("a map needs at least one road or intersection")
        return self


# --------------------------------------------------------------------------- props
PropType = Literal["building", "wall", "box", "pole", "tree", "sign"]


class Prop(Strict):
    """A placed object; ``position`` is the footprint centre on the ground."""

    type: PropType
    position: Vec2
    size: Vec3 = Field(description="Length (along yaw), width, height [m].")
    yaw_deg: float = 0.0
    material: str | None = Field(None, description="Material name; default per type.")

    @model_validator(mode="after")
    def _positive(self) -> Prop:
        if min(self.size) <= 0:
            raise ValueError("size entries must be > 0")
        return self


class Material(Strict):
    color_rgb: RGB
    lidar_reflectivity: float = Field(0.2, ge=0, le=1)
    gnss_reflectivity: float = Field(0.5, ge=0, le=1, description="Fraction of signal a "
                                     "facade reflects; 0 never gives a multipath path.")


# --------------------------------------------------------------------------- vehicles
class VehicleSpec(Strict):
    """Geometry and dynamics of a car (dynamic bicycle model with a saturating tyre)."""

    length_m: float = Field(4.6, gt=1, le=20)
    width_m: float = Field(1.85, gt=0.5, le=4)
    height_m: float = Field(1.5, gt=0.5, le=5)
    mass_kg: float = Field(1500.0, gt=100)
    wheelbase_m: float = Field(2.7, gt=0.5)
    cog_to_front_axle_m: float = Field(1.25, gt=0)
    yaw_inertia_kgm2: float = Field(2500.0, gt=0)
    mu: float = Field(0.9, gt=0, le=2, description="Tyre-road friction coefficient.")
    cornering_stiffness_front_n_per_rad: float = Field(80000.0, gt=0)
    cornering_stiffness_rear_n_per_rad: float = Field(90000.0, gt=0)
    max_steer_deg: float = Field(35.0, gt=0, lt=80)
    max_steer_rate_deg_s: float = Field(180.0, gt=0)
    max_accel_mps2: float = Field(3.5, gt=0)
    max_decel_mps2: float = Field(9.0, gt=0)
    color_rgb: RGB | None = Field(None, description="null: drawn from a palette.")

    @model_validator(mode="after")
    def _cog_inside(self) -> VehicleSpec:
        if self.cog_to_front_axle_m >= self.wheelbase_m:
            raise ValueError("cog_to_front_axle_m must be < wheelbase_m")
        if self.wheelbase_m >= self.length_m:
            raise ValueError("wheelbase_m must be < length_m")
        return self


class LanePosition(Strict):
    lane: str = Field(description="Lane id, e.g. 'center/west/in/0' or 'main/fwd/1'.")
    s_m: float = Field(0.0, ge=0, description="Distance along the lane [m].")


class Autopilot(Strict):
    """Ego route follower: pure pursuit steering + PID speed, IDM for gaps and lights."""

    cruise_speed_mps: float = Field(12.0, gt=0, le=70)
    lookahead_s: float = Field(0.8, gt=0, description="Pure pursuit look-ahead time.")
    min_lookahead_m: float = Field(4.0, gt=0)
    speed_kp: float = Field(1.5, ge=0)
    speed_ki: float = Field(0.2, ge=0)
    speed_kd: float = Field(0.0, ge=0)
    time_headway_s: float = Field(1.5, gt=0)
    min_gap_m: float = Field(2.5, ge=0)
    comfort_decel_mps2: float = Field(2.5, gt=0)


class Ego(Strict):
    start: LanePosition
    destination: LanePosition | None = Field(
        None, description="Route end; null: keep following lanes (first successor).")
    speed_mps: float = Field(0.0, ge=0)
    vehicle: VehicleSpec = VehicleSpec(color_rgb=(220, 30, 30))
    autopilot: Autopilot = Autopilot()


# --------------------------------------------------------------------------- traffic
class Dist(Strict):
    """Truncated normal distribution."""

    mean: float
    std: float = Field(0.0, ge=0)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Dist:
        if self.min is not None and self.max is not None and self.max < self.min:
            raise ValueError("max must be >= min")
        lo = -np.inf if self.min is None else self.min
        hi = np.inf if self.max is None else self.max
        if self.std == 0 and not lo <= self.mean <= hi:
            raise ValueError("mean must lie within [min, max] when std is 0")
        return self

    def lowest(self) -> float:
        """The smallest value a draw can take."""
        if self.std == 0:
            return self.mean
        return -np.inf if self.min is None else self.min


# Smallest physically meaningful value of each driver parameter, and whether it must be
# strictly above it.
_DRIVER_BOUNDS = {
    "desired_speed_factor": (0.0, True), "time_headway_s": (0.0, False),
    "min_gap_m": (0.0, False), "max_accel_mps2": (0.0, True),
    "comfort_decel_mps2": (0.0, True), "politeness": (0.0, False),
    "lane_change_threshold_mps2": (0.0, False), "reaction_time_s": (0.0, False),
    "speed_imperfection": (0.0, False), "gap_acceptance_s": (0.0, False),
}


class DriverProfile(Strict):
    """Distributions of one kind of driver's IDM/MOBIL parameters."""

    desired_speed_factor: Dist = Dist(mean=1.0, std=0.08, min=0.7, max=1.3)
    time_headway_s: Dist = Dist(mean=1.5, std=0.2, min=0.6, max=3.0)
    min_gap_m: Dist = Dist(mean=2.0, std=0.3, min=1.0, max=5.0)
    max_accel_mps2: Dist = Dist(mean=1.5, std=0.2, min=0.5, max=4.0)
    comfort_decel_mps2: Dist = Dist(mean=2.0, std=0.3, min=1.0, max=4.0)
    politeness: Dist = Dist(mean=0.3, std=0.1, min=0.0, max=1.0)
    lane_change_threshold_mps2: Dist = Dist(mean=0.2, std=0.05, min=0.0, max=1.0)
    reaction_time_s: Dist = Dist(mean=0.4, std=0.1, min=0.0, max=1.5)
    speed_imperfection: Dist = Field(
        Dist(mean=0.03, std=0.01, min=0.0, max=0.2),
        description="Std of the slow wander of desired speed, as a fraction of it.")
    gap_acceptance_s: Dist = Field(
        Dist(mean=4.0, std=0.5, min=2.0, max=8.0),
        description="Time gap to oncoming traffic a turning driver accepts [s].")

    @model_validator(mode="after")
    def _physical(self) -> DriverProfile:
        for name, (bound, strict) in _DRIVER_BOUNDS.items():
            low = getattr(self, name).lowest()
            if low < bound or (strict and low <= bound):
                need = ">" if strict else ">="
                raise ValueError(f"{name}: every draw must be {need} {bound:g}; give a "
                                 f"'min' (or std 0 with such a mean)")
        return self


def _default_profiles() -> dict[str, DriverProfile]:
    return {
        "cautious": DriverProfile(
            desired_speed_factor=Dist(mean=0.9, std=0.05, min=0.7, max=1.05),
            time_headway_s=Dist(mean=2.0, std=0.25, min=1.2, max=3.0),
            min_gap_m=Dist(mean=3.0, std=0.4, min=2.0, max=5.0),
            max_accel_mps2=Dist(mean=1.1, std=0.15, min=0.6, max=2.0),
            comfort_decel_mps2=Dist(mean=1.6, std=0.2, min=1.0, max=2.5),
            politeness=Dist(mean=0.6, std=0.1, min=0.2, max=1.0),
            lane_change_threshold_mps2=Dist(mean=0.4, std=0.05, min=0.1, max=1.0),
            reaction_time_s=Dist(mean=0.6, std=0.1, min=0.3, max=1.2),
            gap_acceptance_s=Dist(mean=5.0, std=0.5, min=3.5, max=8.0)),
        "normal": DriverProfile(),
        "aggressive": DriverProfile(
            desired_speed_factor=Dist(mean=1.12, std=0.06, min=0.95, max=1.3),
            time_headway_s=Dist(mean=1.0, std=0.15, min=0.6, max=1.5),
            min_gap_m=Dist(mean=1.5, std=0.2, min=1.0, max=2.5),
            max_accel_mps2=Dist(mean=2.5, std=0.3, min=1.5, max=4.0),
            comfort_decel_mps2=Dist(mean=3.0, std=0.3, min=2.0, max=4.5),
            politeness=Dist(mean=0.1, std=0.05, min=0.0, max=0.3),
            lane_change_threshold_mps2=Dist(mean=0.1, std=0.03, min=0.0, max=0.3),
            reaction_time_s=Dist(mean=0.3, std=0.08, min=0.1, max=0.8),
            gap_acceptance_s=Dist(mean=3.0, std=0.4, min=2.0, max=5.0)),
    }


class Traffic(Strict):
    count: int = Field(50, ge=0, le=2000)
    profiles: dict[str, DriverProfile] = Field(default_factory=_default_profiles)
    mix: dict[str, float] = Field(
        default_factory=lambda: {"cautious": 0.25, "normal": 0.5, "aggressive": 0.25},
        description="Relative weight of each profile name.")
    vehicle: VehicleSpec = VehicleSpec()
    min_spawn_gap_m: float = Field(8.0, ge=0, description="Free road needed around a spawn.")
    ego_clearance_m: float = Field(25.0, ge=0, description="No NPC spawns this close to ego.")

    @model_validator(mode="after")
    def _mix_known(self) -> Traffic:
        unknown = sorted(set(self.mix) - set(self.profiles))
        if unknown:
            raise ValueError(f"mix names unknown profile(s) {unknown}; known: "
                             f"{sorted(self.profiles)}")
        if self.count and (not self.mix or sum(self.mix.values()) <= 0
                           or min(self.mix.values()) < 0):
            raise ValueError("mix weights must be >= 0 and not all 0")
        return self


# --------------------------------------------------------------------------- scenario
class Scenario(Strict):
    """A whole scenario: what ``scenarios.load`` returns."""

    name: str = "scenario"
    description: str = ""
    simulation: Simulation = Simulation()
    map: MapConfig
    props: list[Prop] = []
    materials: dict[str, Material] = Field(
        default_factory=dict, description="Extra or overriding materials by name.")
    ego: Ego
    traffic: Traffic = Traffic()
    sensors: list[SensorConfig] = []

    @model_validator(mode="after")
    def _names(self) -> Scenario:
        names = [s.name for s in self.sensors]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"duplicate sensor name(s): {', '.join(dup)}")
        return self
