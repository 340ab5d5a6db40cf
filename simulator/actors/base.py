"""The interface between the world and a group of non-vehicle actors."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from scenarios.schema import Scenario
from simulator.scene.collision_monitor import Collision
from simulator.scene.mirror import MaterialTable
from simulator.scene.objects import ObjectBox

# Instance ids of group actors: between the vehicles' (1..n, n <= ~2300) and the static
# objects' (simulator.scene.layout.STATIC_ID_BASE = 10000).
PEDESTRIAN_ID_BASE = 5000   # + up to scenarios.actor_schema.MAX_PEDESTRIANS (512)
DEBRIS_ID_BASE = 6000       # + up to MAX_DEBRIS (256) and event-launched pieces


class ActorHost(Protocol):
    """What a group reads of the world (``simulator.world.World`` satisfies it)."""

    scenario: Scenario
    dt_s: float
    materials: MaterialTable

    @property
    def time_s(self) -> float: ...


class ActorGroup(Protocol):
    """A set of actors of one kind (e.g. all pedestrians), structure of arrays inside.

    The world calls, in this order: ``reset`` at the start of every episode (with the
    group's own seed stream); ``step`` after the vehicles moved, every physics step;
    ``obstacles`` before the drivers decide (footprints on the road they must stop for);
    ``contacts`` when the world checks collisions; ``mesh`` and ``boxes`` when a sensor
    asks for the scene. Instance ids are the group's own (disjoint from vehicles' and
    static objects'); the group registers their semantic class and material with the
    world's material table when it is built.
    """

    kind: str   # "pedestrians", "debris": World.actor_group(kind)

    def reset(self, rng: np.random.Generator) -> None: ...

    def step(self, world: ActorHost, dt_s: float) -> None: ...

    def obstacles(self) -> list[np.ndarray]:
        """(4, 2) world-frame footprints drivers must not drive into (may be empty)."""
        ...

    def contacts(self, world: ActorHost) -> list[Collision]:
        """New contacts with vehicles since the last call (each contact once)."""
        ...

    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vertices (V, 3) float32, triangles (T, 3) int32, per-triangle instance id (T,)
        of the group's actors now (empty arrays when none is visible)."""
        ...

    def boxes(self) -> list[ObjectBox]:
        """GT boxes of the group's actors now."""
        ...

    def velocities(self) -> dict[int, tuple[np.ndarray, float]]:
        """Instance id -> (world velocity (3,) [m/s], yaw rate [rad/s]) of the boxed
        actors now (for exported boxes)."""
        ...
