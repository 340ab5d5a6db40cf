"""The interface between the world and a group of non-vehicle actors."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from scenarios.schema import Scenario
from simulator.scene.collision_monitor import Collision
from simulator.scene.objects import ObjectBox


class ActorHost(Protocol):
    """What a group reads of the world (``simulator.world.World`` satisfies it)."""

    scenario: Scenario
    dt_s: float

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
