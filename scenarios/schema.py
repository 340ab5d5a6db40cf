"""The scenario format: pydantic models, plain data, strict (unknown keys are errors).

Units are SI inside and in field names (``_m``, ``_s``, ``_mps``, ``_hz``); angles are
given in degrees at this YAML surface (``_deg``) and converted to radians once, by the
consumers. Nothing downstream reads YAML or dicts: they get these models. Every number is
finite and bounded (``scenarios.limits``); the ``map:`` models are in
``scenarios.map_schema``, the sensors in ``scenarios.sensor_schema``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from scenarios.actor_schema import MAX_DEBRIS, MAX_PEDESTRIANS, DebrisItem, Pedestrian
from scenarios.env_schema import EnvConfig, TrafficPolicy
from scenarios.event_schema import Event, check_events
from scenarios.limits import (
    MAX_CAMERA_PIXELS,
    MAX_DURATION_S,
    MAX_PROPS,
    MAX_SEGMENT_M,
    MAX_SENSORS,
    Angle,
    FieldError,
    Id,
    Size,
    Strict,
)
from scenarios.map_schema import (
    ArcSegment,
    BuildingRow,
    GeoOrigin,
    Intersection,
    ItemRow,
    LaneLayout,
    MapConfig,
    Pose2D,
    Range,
    Road,
    Roadside,
    Segment,
    Signal,
    StraightSegment,
    Vec2,
)
from scenarios.sensor_schema import CameraConfig, SensorConfig
from scenarios.sweep import Sweep
from scenarios.weather_schema import Weather

__all__ = ["ArcSegment", "Autopilot", "BuildingRow", "Dist", "DriverProfile", "Ego",
           "GeoOrigin", "Intersection", "ItemRow", "LaneLayout", "LanePosition", "MapConfig",
           "Material", "Pose2D", "Prop", "Range", "Road", "Roadside", "Scenario", "Segment",
           "Signal", "Simulation", "StraightSegment", "Strict", "Traffic", "VehicleActor",
           "VehicleKind", "VehicleSpec",
           "EnvConfig", "TrafficPolicy"]

Vec3 = tuple[Size, Size, Size]
RGB = tuple[Annotated[int, Field(ge=0, le=255)], Annotated[int, Field(ge=0, le=255)],
            Annotated[int, Field(ge=0, le=255)]]


# --------------------------------------------------------------------------- simulation
class Simulation(Strict):
    seed: int = Field(0, ge=0, le=2**64 - 1,
                      description="Root of the RNG tree; same seed -> same output.")
    duration_s: float = Field(60.0, gt=0, le=MAX_DURATION_S,
                              description="Simulated time of a run [s].")
    physics_hz: float = Field(100.0, ge=10, le=1000, description="Fixed physics step rate.")
    control_hz: float = Field(
        10.0, gt=0, le=1000,
        description="Rate at which drivers (NPC and ego autopilot) decide [Hz]; "
        "must divide physics_hz.")
    record_hz: float = Field(10.0, gt=0, le=1000,
                             description="Rate of trajectory.csv rows and video.")

    @model_validator(mode="after")
    def _rates_divide(self) -> Simulation:
        for name in ("control_hz", "record_hz"):
            ratio = self.physics_hz / getattr(self, name)
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
                raise ValueError(f"{name} must divide physics_hz ({self.physics_hz:g})")
        return self


# --------------------------------------------------------------------------- props
PropType = Literal["building", "wall", "box", "pole", "tree", "sign", "cone", "barrier",
                   "parked_car"]
PROP_DEFAULT_SIZES: dict[str, tuple[float, float, float]] = {
    "cone": (0.4, 0.4, 0.7),          # a traffic cone, base plate included
    "barrier": (3.0, 0.6, 0.8),       # one jersey (road works) barrier segment
    "parked_car": (4.5, 1.8, 1.5),    # a car standing still (a breakdown, a parked row)
}
"""Size (l, w, h) [m] of the prop types whose ``size`` may be left out."""


class Prop(Strict):
    """A placed object, or a row of ``count`` equal ones.

    ``position`` is the footprint centre of the first; the others follow every
    ``spacing_m`` along the yaw direction (a parked-car row, a cone taper). ``z_m`` lifts
    the base off the ground: a bridge deck or a tunnel roof at 5.5 m is seen by sensors,
    while vehicles (up to 4.5 m tall) pass below it.
    """

    type: PropType
    position: Vec2
    size: Vec3 | None = Field(None, description="Length (along yaw), width, height [m]; "
                              "may be left out for cone, barrier and parked_car.")
    yaw_deg: Angle = 0.0
    material: str | None = Field(None, max_length=64,
                                 description="Material name; default per type.")
    count: int = Field(1, ge=1, le=MAX_PROPS, description="Props in the row.")
    spacing_m: float = Field(0.0, ge=0, le=1000,
                             description="Centre-to-centre distance along the yaw [m].")
    z_m: float = Field(0.0, ge=0, le=1000, description="Base height above the ground [m].")

    @model_validator(mode="after")
    def _size_and_row(self) -> Prop:
        if self.size is None:
            if self.type not in PROP_DEFAULT_SIZES:
                raise FieldError(("size",), f"required for a {self.type} (defaults exist "
                                 f"for {', '.join(PROP_DEFAULT_SIZES)})")
            object.__setattr__(self, "size", PROP_DEFAULT_SIZES[self.type])
        if self.count > 1 and self.spacing_m <= 0:
            raise FieldError(("spacing_m",), f"a row of {self.count} needs spacing_m > 0")
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
    mass_kg: float = Field(1500.0, gt=30, le=100_000)
    wheelbase_m: float = Field(2.7, gt=0.5, le=20)
    cog_to_front_axle_m: float = Field(1.25, gt=0, le=20)
    yaw_inertia_kgm2: float = Field(2500.0, ge=50, le=1e7)
    mu: float = Field(0.9, gt=0, le=2, description="Tyre-road friction coefficient.")
    cornering_stiffness_front_n_per_rad: float = Field(80000.0, gt=0, le=1e7)
    cornering_stiffness_rear_n_per_rad: float = Field(90000.0, gt=0, le=1e7)
    max_steer_deg: float = Field(35.0, gt=0, lt=80)
    max_steer_rate_deg_s: float = Field(180.0, gt=0, le=3600)
    max_accel_mps2: float = Field(3.5, gt=0, le=20)
    max_decel_mps2: float = Field(9.0, gt=0, le=30)
    color_rgb: RGB | None = Field(None, description="null: drawn from a palette.")

    @model_validator(mode="after")
    def _cog_inside(self) -> VehicleSpec:
        if self.cog_to_front_axle_m >= self.wheelbase_m:
            raise ValueError("cog_to_front_axle_m must be < wheelbase_m")
        if self.wheelbase_m >= self.length_m:
            raise ValueError("wheelbase_m must be < length_m")
        return self


class LanePosition(Strict):
    lane: str = Field(max_length=200,
                      description="Lane id, e.g. 'center/west/in/0' or 'main/fwd/1'.")
    s_m: float = Field(0.0, ge=0, le=MAX_SEGMENT_M, description="Distance along the lane [m].")


class Autopilot(Strict):
    """Ego route follower: pure pursuit steering + PID speed, IDM for gaps and lights."""

    cruise_speed_mps: float = Field(12.0, gt=0, le=70)
    lookahead_s: float = Field(0.8, gt=0, le=10, description="Pure pursuit look-ahead time.")
    min_lookahead_m: float = Field(4.0, gt=0, le=100)
    speed_kp: float = Field(1.5, ge=0, le=100)
    speed_ki: float = Field(0.2, ge=0, le=100)
    speed_kd: float = Field(0.0, ge=0, le=100)
    time_headway_s: float = Field(1.5, gt=0, le=10)
    min_gap_m: float = Field(2.5, ge=0, le=100)
    comfort_decel_mps2: float = Field(2.5, gt=0, le=20)


class Ego(Strict):
    start: LanePosition
    destination: LanePosition | None = Field(
        None, description="Route end; null: keep following lanes (first successor).")
    speed_mps: float = Field(0.0, ge=0, le=70)
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

    def highest(self) -> float:
        """The largest value a draw can take (the sampler's inverse CDF reaches at most
        ``_MAX_SIGMAS`` standard deviations)."""
        if self.std == 0:
            return self.mean if self.max is None else min(self.mean, self.max)
        top = self.mean + _MAX_SIGMAS * self.std
        return top if self.max is None else min(top, self.max)


# Inverse CDF of p <= 1 - 1e-16 (agents.profiles clips there) is below 8.3 sigmas.
_MAX_SIGMAS = 8.3


# Smallest physically meaningful value of each driver parameter, whether it must be
# strictly above it, and the largest (a reaction time sizes a per-driver delay buffer).
_DRIVER_BOUNDS = {
    "desired_speed_factor": (0.0, True, 3.0), "time_headway_s": (0.0, False, 10.0),
    "min_gap_m": (0.0, False, 50.0), "max_accel_mps2": (0.0, True, 15.0),
    "comfort_decel_mps2": (0.0, True, 15.0), "politeness": (0.0, False, 5.0),
    "lane_change_threshold_mps2": (0.0, False, 10.0), "reaction_time_s": (0.0, False, 5.0),
    "speed_imperfection": (0.0, False, 2.0), "gap_acceptance_s": (0.0, False, 30.0),
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
        for name, (bound, strict, top) in _DRIVER_BOUNDS.items():
            dist = getattr(self, name)
            low = dist.lowest()
            if low < bound or (strict and low <= bound):
                need = ">" if strict else ">="
                raise FieldError((name,), f"every draw must be {need} {bound:g}; give a "
                                 f"'min' (or std 0 with such a mean)")
            if dist.highest() > top:
                raise FieldError((name,), f"draws reach {dist.highest():.4g}; every draw "
                                 f"must be <= {top:g}; give a 'max' (or a smaller mean/std)")
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


VehicleKind = Literal["car", "van", "truck", "bus", "cyclist", "motorcyclist"]
"""Kinds of road vehicle; ``simulator.vehicles.kinds`` holds each kind's size, dynamics,
mesh, semantic class and top speed."""


class Traffic(Strict):
    count: int = Field(50, ge=0, le=2000)
    kinds: dict[VehicleKind, Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: {"car": 1.0},
        description="Relative share of each vehicle kind among the NPCs; the counts are "
        "exact (largest remainder), which NPC gets which kind is drawn from the seed.")
    profiles: dict[str, DriverProfile] = Field(default_factory=_default_profiles,
                                               max_length=64)
    mix: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=lambda: {"cautious": 0.25, "normal": 0.5, "aggressive": 0.25},
        description="Relative weight of each profile name.")
    vehicle: VehicleSpec = VehicleSpec()
    min_spawn_gap_m: float = Field(8.0, ge=0, le=1000,
                                   description="Free road needed around a spawn.")
    ego_clearance_m: float = Field(25.0, ge=0, le=MAX_SEGMENT_M,
                                   description="No NPC spawns this close to ego.")
    policy: TrafficPolicy | None = Field(
        None, description="NPCs driven by a policy instead of IDM (envs and runs).")

    @model_validator(mode="after")
    def _mix_known(self) -> Traffic:
        unknown = sorted(set(self.mix) - set(self.profiles))
        if unknown:
            raise ValueError(f"mix names unknown profile(s) {unknown}; known: "
                             f"{sorted(self.profiles)}")
        if self.count and (not self.mix or sum(self.mix.values()) <= 0):
            raise FieldError(("mix",), "mix weights must be >= 0 and not all 0")
        if self.count and sum(self.kinds.values()) <= 0:
            raise FieldError(("kinds",), "kind weights must be >= 0 and not all 0")
        return self


_RESERVED_NAME = re.compile(r"^(ego|npc_\d+)$")


class VehicleActor(Strict):
    """A named vehicle placed at a lane station (events address it by name).

    It drives like an NPC (IDM, MOBIL) with a driver drawn from ``driver`` (a profile of
    ``traffic.profiles``) and does not re-enter after it leaves the map.
    """

    name: Id = Field(description="Unique; not 'ego' or 'npc_N' (the world's own names).")
    kind: VehicleKind = "car"
    start: LanePosition
    speed_mps: float = Field(0.0, ge=0, le=70, description="Speed at the start [m/s].")
    desired_speed_mps: float | None = Field(
        None, gt=0, le=70, description="Cruise speed; null: the lane's speed limit times "
        "the driver's factor (capped by the kind's top speed).")
    driver: str = Field("normal", max_length=64, description="Driver profile name.")
    destination: LanePosition | None = Field(
        None, description="Route end; null: follow lanes and change lanes like a driver.")
    vehicle: VehicleSpec | None = Field(None, description="Overrides the kind's default "
                                        "size and dynamics.")
    hidden: bool = Field(False, description="Parked off the map until an event spawns it "
                         "at its start.")

    @model_validator(mode="after")
    def _name_free(self) -> VehicleActor:
        if _RESERVED_NAME.match(self.name):
            raise FieldError(("name",), f"{self.name!r} is a name the world gives its own "
                             "vehicles; choose another")
        return self


# --------------------------------------------------------------------------- scenario
class Scenario(Strict):
    """A whole scenario: what ``scenarios.load`` returns."""

    name: str = Field("scenario", max_length=200)
    description: str = Field("", max_length=20_000)
    simulation: Simulation = Simulation()
    map: MapConfig
    props: list[Prop] = Field([], max_length=MAX_PROPS)
    materials: dict[Annotated[str, Field(max_length=64)], Material] = Field(
        default_factory=dict, max_length=256,
        description="Extra or overriding materials by name.")
    ego: Ego
    traffic: Traffic = Traffic()
    actors: list[VehicleActor] = Field(
        [], max_length=256, description="Named vehicles at given lane stations (index 1.. "
        "after the ego, before the random NPCs).")
    sensors: list[SensorConfig] = Field([], max_length=MAX_SENSORS)
    env: EnvConfig = EnvConfig()
    weather: Weather = Weather()
    pedestrians: list[Pedestrian] = Field([], max_length=MAX_PEDESTRIANS, description=
                                          "People walking paths (scenarios.actor_schema).")
    debris: list[DebrisItem] = Field([], max_length=MAX_DEBRIS, description="Light "
                                     "objects blown or falling (scenarios.actor_schema).")
    events: list[Event] = Field([], max_length=256, description="Scripted events "
                                "(scenarios.event_schema): triggers and actions.")
    sweep: Sweep | None = Field(None, description="Variants of this file (scenarios.sweep); "
                                "expanded by the loader, never set on a loaded scenario.")

    @model_validator(mode="after")
    def _policy_rate(self) -> Scenario:
        hz = self.env.policy_hz
        if hz is not None:
            ratio = self.simulation.physics_hz / hz
            if abs(ratio - round(ratio)) > 1e-9 or round(ratio) < 1:
                raise FieldError(("env", "policy_hz"), f"must divide simulation.physics_hz "
                                 f"({self.simulation.physics_hz:g})")
        return self

    @model_validator(mode="after")
    def _actors(self) -> Scenario:
        names = [a.name for a in self.actors]
        for i, a in enumerate(self.actors):
            if names.count(a.name) > 1:
                raise FieldError(("actors", i, "name"), f"duplicate actor name {a.name!r}")
            if a.driver not in self.traffic.profiles:
                raise FieldError(("actors", i, "driver"), f"unknown driver profile "
                                 f"{a.driver!r}; known: {sorted(self.traffic.profiles)}")
        # One name space for everything events can name.
        seen = set(names)
        for section in ("pedestrians", "debris"):
            for i, x in enumerate(getattr(self, section)):
                if x.name in seen or x.name == "ego":
                    raise FieldError((section, i, "name"), f"the name {x.name!r} is taken "
                                     "(actors, pedestrians and debris share one name space)")
                seen.add(x.name)
        return self

    @model_validator(mode="after")
    def _events(self) -> Scenario:
        check_events(self)
        return self

    @model_validator(mode="after")
    def _sensors(self) -> Scenario:
        names = [s.name for s in self.sensors]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise FieldError(("sensors",), f"duplicate sensor name(s): {', '.join(dup)}")
        physics_hz = self.simulation.physics_hz
        for i, s in enumerate(self.sensors):
            if s.rate_hz > physics_hz:
                raise FieldError(("sensors", i, "rate_hz"), f"{s.rate_hz:g} Hz is faster "
                                 f"than simulation.physics_hz ({physics_hz:g} Hz)")
        pixels = sum(s.width * s.height for s in self.sensors if isinstance(s, CameraConfig))
        if pixels > MAX_CAMERA_PIXELS:
            raise FieldError(("sensors",), f"the cameras have {pixels} pixels together; at "
                             f"most {MAX_CAMERA_PIXELS} (4096 x 4096)")
        return self
