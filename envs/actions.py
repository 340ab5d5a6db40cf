"""Action types: how a policy's action becomes a world control for one vehicle.

``continuous``: ``Box(-1, 1, (2,))`` = (steering, acceleration), scaled to the vehicle's
limits and applied directly (:class:`simulator.controls.DirectControl`).
``discrete_meta``: ``Discrete(5)`` = highway-env's LANE_LEFT, IDLE, LANE_RIGHT, FASTER,
SLOWER, carried out by the autopilot's controllers
(:class:`simulator.controls.MetaAction`): lane changes when safe, a speed PID toward the
chosen target speed under IDM's braking, pure pursuit steering.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from scenarios.env_schema import ContinuousAction, DiscreteMetaAction
from simulator.controls import Control, DirectControl, MetaAction

if TYPE_CHECKING:
    from simulator.world import World

META_ACTIONS = ("LANE_LEFT", "IDLE", "LANE_RIGHT", "FASTER", "SLOWER")


class ActionType:
    def __init__(self, config: Any, world: World):
        self.config = config

    def space(self) -> gym.Space:
        raise NotImplementedError

    def reset(self, world: World, vehicles: list[int]) -> None:
        """A new episode began; ``vehicles`` are the ones this type will drive."""

    def control(self, action: Any, world: World, vehicle: int) -> Control:
        raise NotImplementedError


class Continuous(ActionType):
    def __init__(self, config: ContinuousAction, world: World):
        super().__init__(config, world)
        p = world.params
        self._steer = np.asarray(p.max_steer_rad, float)
        self._accel = np.asarray(p.max_accel_mps2, float)
        self._decel = np.asarray(p.max_decel_mps2, float)

    def space(self) -> gym.Space:
        return gym.spaces.Box(np.float32(-1.0), np.float32(1.0), (2,), np.float32)

    def control(self, action: Any, world: World, vehicle: int) -> Control:
        a = np.asarray(action, np.float64).reshape(-1)
        if a.shape != (2,) or not np.all(np.isfinite(a)):
            raise ValueError(f"a continuous action is 2 finite numbers (steer, accel) in "
                             f"[-1, 1], got {action!r}")
        steer, acc = np.clip(a, -1.0, 1.0)
        i = int(vehicle)
        accel = acc * (self._accel[i] if acc >= 0 else self._decel[i])
        return DirectControl(float(accel), float(steer * self._steer[i]))


class DiscreteMeta(ActionType):
    def __init__(self, config: DiscreteMetaAction, world: World):
        super().__init__(config, world)
        self.speeds = np.asarray(config.target_speeds_mps, float)
        self.index: dict[int, int] = {}

    def space(self) -> gym.Space:
        return gym.spaces.Discrete(len(META_ACTIONS))

    def reset(self, world: World, vehicles: list[int]) -> None:
        # Start at the target speed nearest to the vehicle's speed.
        self.index = {i: int(np.argmin(np.abs(self.speeds - world.state.vx[i])))
                      for i in vehicles}

    def control(self, action: Any, world: World, vehicle: int) -> Control:
        try:
            a = int(action)
        except (TypeError, ValueError):
            raise ValueError(f"a discrete_meta action is an integer 0-4, got "
                             f"{action!r}") from None
        if not 0 <= a < len(META_ACTIONS) or a != np.asarray(action).item():
            raise ValueError(f"a discrete_meta action is an integer 0-4, got {action!r}")
        i = int(vehicle)
        k = self.index.get(i)
        if k is None:
            k = self.index[i] = int(np.argmin(np.abs(self.speeds - world.state.vx[i])))
        name = META_ACTIONS[a]
        if name == "FASTER":
            k = min(k + 1, len(self.speeds) - 1)
        elif name == "SLOWER":
            k = max(k - 1, 0)
        self.index[i] = k
        change = {"LANE_LEFT": "left", "LANE_RIGHT": "right"}.get(name)
        return MetaAction(lane_change=change, target_speed_mps=float(self.speeds[k]))


def build_action(config: Any, world: World) -> ActionType:
    return {"continuous": Continuous, "discrete_meta": DiscreteMeta}[config.type](config, world)
