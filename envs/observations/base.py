"""The observation interface: one class per ``env.observation.type``.

An observation type is built once per environment from its config and the world
(``cls(config, world)``), gives its ``space()``, and ``observe(world, vehicle)`` returns the
observation of any vehicle (0 is the ego; other indices serve multi-agent envs and NPC
policies). ``reset(world)`` is called after every world reset (before the first observe)
for types that hold per-episode state, such as a camera's noise stream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import gymnasium as gym
import numpy as np

if TYPE_CHECKING:
    from simulator.world import World

OBSERVATION_TYPES: dict[str, type[ObservationType]] = {}


def register(type_name: str):
    """Class decorator: ``type: <type_name>`` in ``env.observation`` builds this class."""

    def deco(cls: type[ObservationType]) -> type[ObservationType]:
        OBSERVATION_TYPES[type_name] = cls
        cls.type_name = type_name
        return cls

    return deco


class ObservationType:
    """Base class. Subclasses set ``needs_sensors`` when they cast sensor rays per step."""

    type_name: ClassVar[str] = ""
    needs_sensors: ClassVar[bool] = False

    def __init__(self, config: Any, world: World):
        self.config = config

    def space(self) -> gym.Space:
        raise NotImplementedError

    def reset(self, world: World) -> None:
        """A new episode began in ``world`` (same map; new traffic and seeds)."""

    def observe(self, world: World, vehicle: int = 0) -> Any:
        raise NotImplementedError


def build_observation(config: Any, world: World) -> ObservationType:
    """The observation type of an ``env.observation`` config."""
    # Importing the package registers every built-in type.
    import envs.observations  # noqa: F401

    return OBSERVATION_TYPES[config.type](config, world)


def unit_box(shape: tuple[int, ...], low: float = -1.0) -> gym.spaces.Box:
    """A float32 box over [low, 1]."""
    return gym.spaces.Box(np.float32(low), np.float32(1.0), shape, np.float32)
