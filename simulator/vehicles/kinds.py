"""The table of road-vehicle kinds: size and dynamics, semantic class, mesh, top speed.

Every kind drives with the same dynamic bicycle model and the same drivers (IDM + MOBIL);
what differs is in this table. Sizes follow common references: a compact car (4.6 m), a
delivery van (Mercedes Sprinter, 5.9 m x 2.0 m x 2.4 m), a rigid truck (9.5 m x 2.5 m x
3.4 m), a city bus (12 m x 2.55 m x 3.2 m), a bicycle with rider (1.8 m x 0.6 m x 1.75 m)
and a motorcycle with rider (2.2 m x 0.8 m x 1.5 m). Heavy vehicles accelerate slowly and
are capped below the limit (a truck at 25 m/s = 90 km/h, a bus 22 m/s); a cyclist rides
at ~6 m/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import get_args

import numpy as np

from scenarios.schema import Traffic, VehicleKind, VehicleSpec


@dataclass(frozen=True)
class Kind:
    """One kind of road vehicle.

    Attributes:
        spec: default size and dynamics (the scenario may override them).
        semantic: semantic class name (``simulator.scene.semantics``).
        mesh: low-poly mesh template name (``simulator.vehicles.mesh``).
        top_speed_mps: the fastest a driver of this kind wants to go [m/s].
    """

    spec: VehicleSpec
    semantic: str
    mesh: str
    top_speed_mps: float


KINDS: MappingProxyType[str, Kind] = MappingProxyType({
    "car": Kind(VehicleSpec(), "vehicle", "car", np.inf),
    "van": Kind(VehicleSpec(length_m=5.9, width_m=2.0, height_m=2.4, mass_kg=2800,
                            wheelbase_m=3.67, cog_to_front_axle_m=1.7, yaw_inertia_kgm2=6000,
                            max_accel_mps2=2.5, max_decel_mps2=8.0), "vehicle", "van",
                np.inf),
    "truck": Kind(VehicleSpec(length_m=9.5, width_m=2.5, height_m=3.4, mass_kg=12000,
                              wheelbase_m=5.5, cog_to_front_axle_m=2.6,
                              yaw_inertia_kgm2=90000,
                              cornering_stiffness_front_n_per_rad=300000,
                              cornering_stiffness_rear_n_per_rad=450000, max_steer_deg=40,
                              max_accel_mps2=1.2, max_decel_mps2=6.0), "truck", "truck",
                  25.0),
    "bus": Kind(VehicleSpec(length_m=12.0, width_m=2.55, height_m=3.2, mass_kg=13000,
                            wheelbase_m=6.0, cog_to_front_axle_m=3.2,
                            yaw_inertia_kgm2=150000,
                            cornering_stiffness_front_n_per_rad=300000,
                            cornering_stiffness_rear_n_per_rad=450000, max_steer_deg=45,
                            max_accel_mps2=1.0, max_decel_mps2=5.5), "bus", "bus", 22.0),
    "cyclist": Kind(VehicleSpec(length_m=1.8, width_m=0.6, height_m=1.75, mass_kg=95,
                                wheelbase_m=1.05, cog_to_front_axle_m=0.6,
                                yaw_inertia_kgm2=50,
                                cornering_stiffness_front_n_per_rad=3000,
                                cornering_stiffness_rear_n_per_rad=3500, max_steer_deg=45,
                                max_accel_mps2=1.0, max_decel_mps2=4.0), "cyclist",
                    "cyclist", 6.0),
    "motorcyclist": Kind(VehicleSpec(length_m=2.2, width_m=0.8, height_m=1.5, mass_kg=280,
                                     wheelbase_m=1.45, cog_to_front_axle_m=0.7,
                                     yaw_inertia_kgm2=60,
                                     cornering_stiffness_front_n_per_rad=12000,
                                     cornering_stiffness_rear_n_per_rad=14000,
                                     max_steer_deg=40, max_accel_mps2=4.0,
                                     max_decel_mps2=8.0), "motorcyclist", "motorcycle",
                         np.inf),
})
assert set(KINDS) == set(get_args(VehicleKind))


def kind_spec(kind: str, traffic: Traffic) -> VehicleSpec:
    """The spec an NPC of ``kind`` gets: ``traffic.vehicle`` for cars (the scenario's own
    car), the table's default otherwise."""
    return traffic.vehicle if kind == "car" else KINDS[kind].spec


def npc_kinds(traffic: Traffic, count: int, rng: np.random.Generator) -> list[str]:
    """Kinds of ``count`` NPCs: exact shares by largest remainder (ties in table order),
    then shuffled by ``rng`` so that which NPC gets which kind is random but the counts are
    not."""
    names = [k for k in KINDS if traffic.kinds.get(k, 0.0) > 0]
    if not count or not names:
        return ["car"] * count
    w = np.array([traffic.kinds[k] for k in names], float)
    quota = w / w.sum() * count
    got = np.floor(quota).astype(int)
    rest = count - int(got.sum())
    order = sorted(range(len(names)), key=lambda j: (-(quota[j] - got[j]), j))
    for j in order[:rest]:
        got[j] += 1
    out = [k for k, c in zip(names, got) for _ in range(c)]
    return [out[i] for i in rng.permutation(count)]
