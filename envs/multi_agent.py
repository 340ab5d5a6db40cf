"""``DriveParallelEnv``: a PettingZoo ``ParallelEnv`` where K cars of one World are agents.

The agents are the first K vehicles, named as the world names them (``"ego"``,
``"npc_000"``, ...). Each observes and acts through the types of the scenario's ``env:``
section (the same as ``DriveEnv``'s, seen from its own car), and gets its own reward and
ends from :class:`envs.rewards.Outcome`. One ``step`` is one decision of every live agent,
held for ``physics_hz / policy_hz`` physics steps (a live agent's new crash, or its leaving
the map, ends the step early for all). The other NPCs drive by IDM/MOBIL, or by
``traffic.policy``.

An agent that terminates (crash, off road, route end, left the map) leaves ``agents``; its
car stays in the world and its own driver takes it over again: the ego's autopilot or the
NPC's IDM/MOBIL driver, which brakes a crashed car to a stop. At ``max_episode_steps`` all
live agents are truncated. An agent whose car could not be placed at reset (a crowded
road) sits out the episode.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from envs.actions import build_action
from envs.config import EnvConfigError, resolve_scenario
from envs.map_raster import MapRaster
from envs.npc_policy import NpcPolicies, scenario_dir
from envs.observations.base import build_observation
from envs.render import Renderer
from envs.rewards import Outcome, StepOutcome
from scenarios import Scenario
from simulator.world import World

_SEED_HIGH = 2**63 - 1


class DriveParallelEnv(ParallelEnv):
    """K policy-driven cars in one world (see the module docstring).

    Args:
        scenario: a bundled env scenario name, a YAML path or a ``Scenario``.
        render_mode: None or ``"rgb_array"`` (the same frames as ``DriveEnv``'s).
        scenario_overrides: ``{"dotted.path": value}`` applied to the scenario.
        agents: how many cars the agents drive (K >= 1: the ego and the first K - 1 NPCs).
        **env_overrides: fields of the scenario's ``env:`` section.

    Raises:
        EnvConfigError: a wrong keyword or override, or fewer vehicles than ``agents``.
    """

    metadata = {"name": "drivesim_parallel_v0", "render_modes": ["rgb_array"],
                "render_fps": 10}

    def __init__(self, scenario: str | Path | Scenario = "highway",
                 render_mode: str | None = None,
                 scenario_overrides: dict[str, Any] | None = None, agents: int = 2,
                 **env_overrides: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self.scenario = resolve_scenario(scenario, scenario_overrides, **env_overrides)
        k = int(agents)
        n = 1 + self.scenario.traffic.count
        if k != agents or not 1 <= k <= n:
            raise EnvConfigError(f"agents must be an integer from 1 to the number of vehicles "
                                 f"({n}: the ego and traffic.count = "
                                 f"{self.scenario.traffic.count} NPCs), got {agents!r}")
        self.config = self.scenario.env
        sim = self.scenario.simulation
        self.policy_hz = float(self.config.policy_hz or sim.control_hz)
        self.physics_per_step = int(round(sim.physics_hz / self.policy_hz))
        self.metadata = {**self.metadata, "render_fps": self.policy_hz}
        self.world = World(self.scenario)
        self.raster = MapRaster(self.world)
        self.observation_type = build_observation(self.config.observation, self.world)
        self.action_type = build_action(self.config.action, self.world)
        self.possible_agents = list(self.world.vehicle_names[:k])
        self.agent_index = {a: i for i, a in enumerate(self.possible_agents)}
        # One space object per agent, built once (PettingZoo seeds them per agent).
        self.observation_spaces = {a: self.observation_type.space()
                                   for a in self.possible_agents}
        self.action_spaces = {a: self.action_type.space() for a in self.possible_agents}
        self.outcome = Outcome(self.config, self.world, self.raster)
        self.npc_policies = NpcPolicies.from_scenario(self.scenario, self.world,
                                                      exclude=range(k),
                                                      base_dir=scenario_dir(scenario))
        self.agents: list[str] = []
        self.np_random: np.random.Generator | None = None
        self._np_random_seed: int | None = None
        self._renderer: Renderer | None = None
        self._steps = 0

    # ------------------------------------------------------------------ spaces
    def observation_space(self, agent: str) -> gym.Space:
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> gym.Space:
        return self.action_spaces[agent]

    # ------------------------------------------------------------------ pettingzoo API
    def reset(self, seed: int | None = None, options: dict | None = None):
        """A new episode; ``seed`` seeds ``np_random`` (as Gymnasium's ``Env.reset``), from
        which the world's episode seed is drawn."""
        if seed is not None or self.np_random is None:
            self.np_random, self._np_random_seed = seeding.np_random(seed)
        w = self.world
        w.reset(seed=int(self.np_random.integers(0, _SEED_HIGH)))
        self.agents = [a for a in self.possible_agents
                       if w.traffic.active[self.agent_index[a]]]
        live = [self.agent_index[a] for a in self.agents]
        self.observation_type.reset(w)
        self.action_type.reset(w, live)
        self.outcome.reset(w, live)
        self.npc_policies.reset(w)
        self._steps = 0
        obs = {a: self.observation_type.observe(w, self.agent_index[a]) for a in self.agents}
        return obs, {a: self._info(self.agent_index[a], None) for a in self.agents}

    def step(self, actions: dict[str, Any]):
        """One decision of every live agent; returns per-agent dicts for the agents that
        were live when it began (observations, rewards, terminations, truncations, infos).

        Raises:
            RuntimeError: no live agent (call ``reset()``). KeyError: a live agent has no
                action, or an action names no agent.
        """
        if not self.agents:
            raise RuntimeError("no live agents: call reset() before step() (and after an "
                               "episode ended)")
        unknown = sorted(set(actions) - set(self.possible_agents))
        missing = [a for a in self.agents if a not in actions]
        if unknown or missing:
            raise KeyError(f"step() takes an action for every live agent "
                           f"({', '.join(self.agents)}); "
                           + (f"missing: {', '.join(missing)}" if missing else
                              f"unknown: {', '.join(map(str, unknown))}"))
        w = self.world
        live = [self.agent_index[a] for a in self.agents]
        controls = self.npc_policies.controls(w)
        # Actions of agents that already ended are ignored (their drivers have the cars).
        controls.update({i: self.action_type.control(actions[a], w, i)
                         for a, i in zip(self.agents, live)})
        was_crashed = w.crashed[live].copy()
        done_physics = 0
        for _ in range(self.physics_per_step):
            w.step(controls)
            done_physics += 1
            if (w.crashed[live] & ~was_crashed).any() or not w.traffic.active[live].all():
                break
        self._steps += 1
        dt_s = done_physics * w.dt_s
        outs = {a: self.outcome.update(w, i, dt_s) for a, i in zip(self.agents, live)}
        at_limit = self._steps >= self.config.max_episode_steps
        obs = {a: self.observation_type.observe(w, i) for a, i in zip(self.agents, live)}
        rewards = {a: o.reward for a, o in outs.items()}
        terminations = {a: o.terminated for a, o in outs.items()}
        truncations = {a: at_limit and not o.terminated for a, o in outs.items()}
        infos = {a: self._info(i, outs[a]) for a, i in zip(self.agents, live)}
        self.agents = [a for a in self.agents if not (terminations[a] or truncations[a])]
        return obs, rewards, terminations, truncations, infos

    def _info(self, i: int, out: StepOutcome | None) -> dict:
        w = self.world
        info = {"time_s": w.time_s, "episode_step": self._steps,
                "termination": (out.reason if out is not None else None) or "",
                "collisions": len(w.collisions)}
        if out is None:
            active = bool(w.traffic.active[i])
            info.update({"speed_mps": float(w.state.vx[i]),
                         "route_progress": w.route_progress(i), "crashed": False,
                         "off_road": False,
                         "lane_offset_m": float(w.traffic.d[i]) if active else 0.0,
                         "reward_terms": {}})
        else:
            info.update(out.info)
            info["reward_terms"] = dict(out.terms)
        return info

    def render(self) -> np.ndarray | None:
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = Renderer(self.world, self.config)
        return self._renderer.render(self.world)

    def close(self) -> None:
        if getattr(self, "world", None) is not None:
            self.world.close()
            self.world = None


def parallel_env(**kwargs: Any) -> DriveParallelEnv:
    """``DriveParallelEnv(**kwargs)``, PettingZoo's constructor convention."""
    return DriveParallelEnv(**kwargs)
