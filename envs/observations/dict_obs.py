"""``dict``: several observations at once, a ``gymnasium.spaces.Dict`` keyed by name.

Each entry of ``spaces`` is built from its own config like a top-level observation; the
observation of a vehicle is the dict of its entries' observations (in config order).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym

from envs.observations.base import ObservationType, build_observation, register
from scenarios.env_schema import DictObservation

if TYPE_CHECKING:
    from simulator.world import World


@register("dict")
class DictObs(ObservationType):
    """Named sub-observations; ``needs_sensors`` when any of them needs sensors."""

    def __init__(self, config: DictObservation, world: World):
        super().__init__(config, world)
        self.children: dict[str, ObservationType] = {
            name: build_observation(cfg, world) for name, cfg in config.spaces.items()}
        # An instance attribute: the class default (False) cannot know the children.
        self.needs_sensors = any(c.needs_sensors for c in self.children.values())

    def space(self) -> gym.spaces.Dict:
        return gym.spaces.Dict({name: c.space() for name, c in self.children.items()})

    def reset(self, world: World) -> None:
        for c in self.children.values():
            c.reset(world)

    def observe(self, world: World, vehicle: int = 0) -> dict[str, Any]:
        return {name: c.observe(world, vehicle) for name, c in self.children.items()}
