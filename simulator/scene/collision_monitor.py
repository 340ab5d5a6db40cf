"""New contacts between vehicles and with props, found as often as needed not to miss one.

The compiled broad phase (each car against the other cars and the props of its grid cell,
see ``CollisionWorld.candidates``) sends only touching candidates to pybullet's narrow
phase.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.scene.collisions import CollisionWorld


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


class CollisionMonitor:
    """Turns touching pairs into :class:`Collision` records, each contact once.

    Args:
        world: the pybullet collision client and its bodies.
        vehicle_names, prop_names: names for the records.
    """

    def __init__(self, world: CollisionWorld, vehicle_names: list[str], prop_names: list[str]):
        self.world = world
        self.vehicle_names = vehicle_names
        self.prop_names = prop_names
        self._touching: set[tuple] = set()

    def reset(self) -> None:
        self._touching = set()

    def check(self, time_s: float, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
              active: np.ndarray, z: np.ndarray | None = None,
              pitch: np.ndarray | None = None, roll: np.ndarray | None = None
              ) -> list[Collision]:
        """Contacts that began since the last check, in a stable order.

        Args:
            x, y, yaw: vehicle poses [m, rad]; active: on the map.
            z, pitch, roll: on a map with elevation, each body's height [m] and angles
                [rad] (``simulator.pose.rpy_to_matrix``); None: flat poses.
        """
        cw = self.world
        if z is None:
            near = cw.candidates(x, y, yaw, active)
            cw.sync(x, y, yaw, near)   # also parks stale bodies
        else:
            near = cw.candidates(x, y, yaw, active, z, pitch, roll)
            cw.sync(x, y, yaw, near, z, pitch, roll)
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
