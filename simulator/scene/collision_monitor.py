"""New contacts between vehicles and with props, found as often as needed not to miss one.

Cars stay within a few metres of their lane, so each tests only the props near its lane (a
per-lane table built once); a car far off its lane, or on none, tests every prop. The numpy
/ numba broad phase sends only touching candidates to pybullet's narrow phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.scene.collisions import CollisionWorld

LANE_CORRIDOR_M = 3.0  # cars farther than this from their lane's centre test all props


@dataclass(frozen=True)
class Collision:
    """A new contact. ``vehicle_a`` is a vehicle index; the other party is vehicle
    ``vehicle_b`` or prop ``prop`` (the other is -1). Names are for output files."""

    time_s: float
    actor_a: str
    actor_b: str
    vehicle_a: int = -1
    vehicle_b: int = -1
    prop: int = -1


def props_near_lanes(centerlines: list[np.ndarray], cw: CollisionWorld) -> np.ndarray:
    """Per lane, the props a car within ``LANE_CORRIDOR_M`` of its centreline could touch,
    as a (lanes, K) index table padded with -1."""
    reach = LANE_CORRIDOR_M + float(cw.vehicle_radius.max()) + 0.5
    rows = []
    for line in centerlines:
        if not len(cw.prop_xy):
            rows.append(np.zeros(0, np.int64))
            continue
        d = np.hypot(*(line[:, None, :] - cw.prop_xy[None, :, :]).T)
        rows.append(np.flatnonzero((d - cw.prop_radius[:, None]).min(axis=1) < reach))
    table = np.full((len(rows), max([len(r) for r in rows] + [1])), -1, np.int64)
    for k, r in enumerate(rows):
        table[k, :len(r)] = r
    return table


class CollisionMonitor:
    """Turns touching pairs into :class:`Collision` records, each contact once.

    Args:
        world: the pybullet collision client and its bodies.
        centerlines: every lane's centreline (N, 2) [m], by lane index.
        vehicle_names, prop_names: names for the records.
    """

    def __init__(self, world: CollisionWorld, centerlines: list[np.ndarray],
                 vehicle_names: list[str], prop_names: list[str]):
        self.world = world
        self.lane_props = props_near_lanes(centerlines, world)
        self.vehicle_names = vehicle_names
        self.prop_names = prop_names
        self._touching: set[tuple] = set()

    def reset(self) -> None:
        self._touching = set()

    def check(self, time_s: float, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
              active: np.ndarray, lane: np.ndarray, d: np.ndarray) -> list[Collision]:
        """Contacts that began since the last check, in a stable order.

        Args:
            x, y, yaw: vehicle poses [m, rad]; active: on the map; lane, d: current lane
                (-1: none) and lateral offset from its centre [m].
        """
        cw = self.world
        near = cw.candidates_on_lanes(x, y, yaw, active, lane, d, self.lane_props,
                                      LANE_CORRIDOR_M)
        cw.sync(x, y, yaw, near)   # also parks stale bodies
        pairs = cw.contacts() if near.any() else set()
        out = []
        t = round(time_s, 6)
        for pair in sorted(pairs - self._touching):  # sets have no stable order
            a = pair[1]
            if pair[2] == "vehicle":
                out.append(Collision(t, self.vehicle_names[a], self.vehicle_names[pair[3]],
                                     a, pair[3], -1))
            else:
                out.append(Collision(t, self.vehicle_names[a], self.prop_names[pair[3]],
                                     a, -1, pair[3]))
        self._touching = pairs
        return out
