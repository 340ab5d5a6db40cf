"""``DriveEnv``: a Gymnasium environment around one World, the ego driven by the policy.

The world is built once per env; ``reset(seed=...)`` starts a new episode in it (the
world's reset, milliseconds) seeded from the env's ``np_random``. A scenario file with
distributions (``{uniform: [a, b]}`` ...) is drawn again at every reset from the episode's
seed (domain randomisation); the world is rebuilt only when the draw differs, and the
observation and action spaces must not change with it. One ``step`` is one
policy decision: the action is held for ``physics_hz / policy_hz`` physics steps (the
ego's crash or leaving the map ends it early). Observations, actions, rewards and ends are
configured in the scenario's ``env:`` section or by keywords (``scenarios.env_schema``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import gymnasium as gym
import numpy as np

from envs.actions import build_action
from envs.config import resolve_scenario
from envs.map_raster import MapRaster
from envs.npc_policy import NpcPolicies, scenario_dir
from envs.observations.base import build_observation
from envs.render import Renderer
from envs.rewards import Outcome
from scenarios import Scenario, resample
from simulator.world import World

EGO = 0
_SEED_HIGH = 2**63 - 1


class DriveEnv(gym.Env):
    """A driving environment (see the module docstring and the README's "Gymnasium").

    Args:
        scenario: a bundled env scenario name (``highway``, ``urban``, ``lanekeep``,
            ``merge``), a YAML path or a ``Scenario``.
        render_mode: None or ``"rgb_array"``.
        scenario_overrides: ``{"dotted.path": value}`` applied to the scenario (e.g.
            ``{"traffic.count": 20}``).
        **env_overrides: fields of the scenario's ``env:`` section.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 10}

    def __init__(self, scenario: str | Path | Scenario = "highway",
                 render_mode: str | None = None,
                 scenario_overrides: dict[str, Any] | None = None, **env_overrides: Any):
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.render_mode = render_mode
        self._source = scenario
        self._overrides = (scenario_overrides, env_overrides)
        self._base = scenario if isinstance(scenario, Scenario) else \
            resolve_scenario(scenario)
        self.world = None
        self._build(resolve_scenario(self._base, scenario_overrides, **env_overrides))
        self.observation_space = self.observation_type.space()
        self.action_space = self.action_type.space()
        self._steps = 0
        self._needs_reset = True

    def _build(self, scenario: Scenario) -> None:
        """The world and everything that reads it, for ``scenario``."""
        if self.world is not None:
            self.world.close()
        self.scenario = scenario
        self.config = scenario.env
        sim = scenario.simulation
        self.policy_hz = float(self.config.policy_hz or sim.control_hz)
        self.physics_per_step = int(round(sim.physics_hz / self.policy_hz))
        self.metadata = {**self.metadata, "render_fps": self.policy_hz}
        self.world = World(scenario)
        self.raster = MapRaster(self.world)
        self.observation_type = build_observation(self.config.observation, self.world)
        self.action_type = build_action(self.config.action, self.world)
        self.outcome = Outcome(self.config, self.world, self.raster)
        self.npc_policies = NpcPolicies.from_scenario(scenario, self.world, exclude=(EGO,),
                                                      base_dir=scenario_dir(self._source))
        self._renderer: Renderer | None = None

    def _redraw(self, seed: int) -> None:
        """Draw the scenario's distributions at ``seed``; rebuild when the draw differs."""
        drawn = resample(self._base, seed)
        if drawn is self._base:
            return                                  # no distributions: one world for all
        scenario = resolve_scenario(drawn, self._overrides[0], **self._overrides[1])
        old = self.scenario.model_dump(exclude={"simulation": {"seed"}})
        if scenario.model_dump(exclude={"simulation": {"seed"}}) == old:
            return
        self._build(scenario)
        for name, space in (("observation", self.observation_type.space()),
                            ("action", self.action_type.space())):
            if space != getattr(self, f"{name}_space"):
                raise ValueError(f"a distribution in the scenario changed the {name} "
                                 f"space ({space} instead of "
                                 f"{getattr(self, name + '_space')}); keep the fields it "
                                 "depends on fixed")

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(0, _SEED_HIGH))
        self._redraw(episode_seed)
        self.world.reset(seed=episode_seed)
        self._start()
        return self.observation_type.observe(self.world, EGO), self._info(None, None)

    def _start(self) -> None:
        w = self.world
        self.observation_type.reset(w)
        self.action_type.reset(w, [EGO])
        self.outcome.reset(w, [EGO])
        self.npc_policies.reset(w)
        self._steps = 0
        self._needs_reset = False

    def step(self, action):
        if self._needs_reset:
            raise RuntimeError("call reset() before step() (and after an episode ended)")
        w = self.world
        controls = {EGO: self.action_type.control(action, w, EGO)}
        controls.update(self.npc_policies.controls(w))
        was_crashed = bool(w.crashed[EGO])
        t0 = w.time_s
        for _ in range(self.physics_per_step):
            w.step(controls)
            if (w.crashed[EGO] and not was_crashed) or not w.traffic.active[EGO]:
                break
        out = self.outcome.update(w, EGO, w.time_s - t0)
        self._steps += 1
        truncated = not out.terminated and self._steps >= self.config.max_episode_steps
        self._needs_reset = out.terminated or truncated
        obs = self.observation_type.observe(w, EGO)
        return obs, out.reward, out.terminated, truncated, self._info(out, out.reason)

    def _info(self, out, reason: str | None) -> dict:
        w = self.world
        info = {"time_s": w.time_s, "episode_step": self._steps, "termination": reason or "",
                "collisions": len(w.collisions),
                # Scripted events fired so far this episode, and whether one drives the
                # ego now (a stop / hard_brake on "ego" overrides the agent's action).
                "events": [e["event"] for e in w.event_log],
                "ego_held": bool(w.events.held[EGO])}
        if out is None:
            info.update({"speed_mps": float(w.state.vx[EGO]),
                         "route_progress": w.route_progress(EGO), "crashed": False,
                         "off_road": False, "lane_offset_m": float(w.traffic.d[EGO])})
            info["reward_terms"] = {}
        else:
            info.update(out.info)
            info["reward_terms"] = dict(out.terms)
        return info

    def render(self):
        if self.render_mode != "rgb_array":
            return None
        if self._renderer is None:
            self._renderer = Renderer(self.world, self.config)
        return self._renderer.render(self.world)

    def close(self) -> None:
        if getattr(self, "world", None) is not None:
            self.world.close()
            self.world = None


def rgb_resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """(H, W, 3) image resized to (width, height) = ``size``."""
    if (img.shape[1], img.shape[0]) == tuple(size):
        return img
    return cv2.resize(img, tuple(size), interpolation=cv2.INTER_AREA)
