"""NPCs driven by a policy (``traffic.policy`` in the scenario) instead of their drivers.

The policy is a Python callable ``"package.module:function"`` that maps one car's
observation to one action, or a stable-baselines3 model file (``.zip``, any SB3 algorithm)
asked once per decision for all its cars together (one batched ``predict``). Which NPCs it
drives: the first ``count`` NPCs by index, or ``round(fraction * n)`` of the ``n`` NPCs an
env does not drive itself (``exclude``). Each gets the observation of
``traffic.policy.observation`` (default: the env's ``env.observation``) seen from its own
car, and its action is read as ``traffic.policy.action`` (default: ``env.action``).

A policy NPC that is parked (not on the map) or has crashed gets no control: its own
driver takes it over again (a crashed car's driver brakes it to a stop); a parked NPC that
respawns is driven by the policy again.
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import zipfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import gymnasium as gym
import numpy as np

from envs.actions import ActionType, build_action
from envs.config import ENV_SCENARIO_DIR
from envs.observations.base import ObservationType, build_observation
from scenarios import Scenario
from scenarios.env_schema import TrafficPolicy

if TYPE_CHECKING:
    from simulator.controls import Control
    from simulator.world import World

log = logging.getLogger(__name__)

# Tried in this order; the first whose policies fit the file's policy class and whose
# constructor arguments the file holds best (PPO and A2C share ActorCriticPolicy) loads it.
SB3_ALGORITHMS = ("PPO", "A2C", "SAC", "TD3", "DDPG", "DQN")
# Training-only schedules are replaced on load: pickled lambdas do not survive a change of
# Python version, and predict() never reads them.
_INFERENCE_ONLY = {"learning_rate": 0.0, "lr_schedule": lambda _: 0.0,
                   "clip_range": lambda _: 0.0, "exploration_schedule": lambda _: 0.0}
_NOT_SAVED = {"self", "policy", "env", "device", "_init_setup_model", "kwargs"}


class NpcPolicyError(ValueError):
    """``traffic.policy`` cannot be loaded or does not fit the env; the message names it."""


class Policy(Protocol):
    """Observations of several cars -> one action each (same order)."""

    def act(self, observations: list[Any]) -> list[Any]: ...


def scenario_dir(scenario: str | Path | Scenario) -> Path | None:
    """Folder of the file a scenario argument names (as ``envs.config`` finds it: a YAML
    path or a bundled env scenario name); None for a ``Scenario`` object, whose file is
    unknown. A relative ``traffic.policy.source`` model path is taken from this folder."""
    if isinstance(scenario, Scenario):
        return None
    p = Path(scenario)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p.resolve().parent
    bundled = ENV_SCENARIO_DIR / f"{scenario}.yaml"
    return bundled.parent if bundled.exists() else None


class CallablePolicy:
    """A function ``fn(observation) -> action``, called once per car."""

    def __init__(self, fn: Callable[[Any], Any]):
        self.fn = fn

    def act(self, observations: list[Any]) -> list[Any]:
        return [self.fn(o) for o in observations]


class SB3Policy:
    """A stable-baselines3 model: one batched ``predict`` for all cars."""

    def __init__(self, model: Any, deterministic: bool = True):
        self.model = model
        self.deterministic = deterministic

    def act(self, observations: list[Any]) -> list[Any]:
        if isinstance(observations[0], dict):
            batch: Any = {k: np.stack([o[k] for o in observations]) for k in observations[0]}
        else:
            batch = np.stack(observations)
        actions, _ = self.model.predict(batch, deterministic=self.deterministic)
        return list(actions)


def load_callable(source: str) -> Callable[[Any], Any]:
    """The callable named by ``"package.module:function"`` (the function may be dotted,
    ``module:Class.method``; any callable object works).

    Raises:
        NpcPolicyError: no such module or attribute, or it is not callable.
    """
    module_name, _, attr = source.partition(":")
    where = f"traffic.policy.source {source!r}"
    if not module_name or not attr:
        raise NpcPolicyError(f"{where}: expected 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name and (module_name == exc.name or module_name.startswith(exc.name + "."))
        what = f"no module named {exc.name!r}" if missing else f"importing it failed: {exc}"
        raise NpcPolicyError(f"{where}: {what}") from exc
    except Exception as exc:
        raise NpcPolicyError(f"{where}: importing {module_name} failed: {exc!r}") from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise NpcPolicyError(f"{where}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise NpcPolicyError(f"{where}: {attr!r} is not callable")
    return obj


def model_path(source: str, base_dir: Path | None) -> Path:
    """Where a ``.zip`` source is: as given if absolute, else relative to ``base_dir`` (the
    scenario file's folder) or, without one, to the working directory.

    Raises:
        NpcPolicyError: the file does not exist (the message says what it was relative to).
    """
    p = Path(source).expanduser()
    if p.is_absolute():
        path, rel = p, ""
    elif base_dir is not None:
        path, rel = Path(base_dir) / p, f" (relative to the scenario's folder {base_dir})"
    else:
        path, rel = p.resolve(), (" (relative to the working directory: the scenario was "
                                  "given as an object, so its file is unknown)")
    if not path.is_file():
        raise NpcPolicyError(f"traffic.policy.source {source!r}: no model file {path}{rel}")
    return path


def _import_sb3() -> Any:
    try:
        import stable_baselines3
    except ImportError as exc:
        raise NpcPolicyError("traffic.policy.source: a stable-baselines3 model (.zip) needs "
                             "the 'rl' extra: pip install 'drivesim[rl]'") from exc
    return stable_baselines3


def _algorithm_for(data: dict[str, Any], sb3: Any, where: str) -> Any:
    """The SB3 algorithm class that saved ``data`` (the zip's ``data`` record)."""
    policy_class = data.get("policy_class")
    fits = []
    for name in SB3_ALGORITHMS:
        algo = getattr(sb3, name, None)
        if algo is None or not isinstance(policy_class, type):
            continue
        if any(issubclass(policy_class, base) for base in algo.policy_aliases.values()):
            params = set(inspect.signature(algo.__init__).parameters) - _NOT_SAVED
            fits.append((len(params - set(data)), name, algo))
    if not fits:
        kind = policy_class.__name__ if isinstance(policy_class, type) else repr(policy_class)
        raise NpcPolicyError(f"{where}: policy class {kind} belongs to none of "
                             f"stable_baselines3.{', '.join(SB3_ALGORITHMS)}; wrap the model "
                             f"in a 'module:function' source instead")
    return min(fits, key=lambda f: f[0])[2]     # min() keeps the first of equals


def load_sb3_model(path: Path, source: str = "") -> Any:
    """A stable-baselines3 model from its ``.zip``, whichever algorithm saved it (on CPU).

    Raises:
        NpcPolicyError: stable-baselines3 is missing or the file is not an SB3 model.
    """
    where = f"traffic.policy.source {source or str(path)!r}"
    sb3 = _import_sb3()
    from stable_baselines3.common.save_util import json_to_data

    try:
        with zipfile.ZipFile(path) as zf:
            text = zf.read("data").decode()
        data = json_to_data(text, custom_objects=_INFERENCE_ONLY)
    except (zipfile.BadZipFile, KeyError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NpcPolicyError(f"{where}: {path} is not a stable-baselines3 model file "
                             f"({exc})") from exc
    algo = _algorithm_for(data, sb3, where)
    log.info("traffic.policy: loading %s as stable_baselines3.%s", path, algo.__name__)
    return algo.load(path, device="cpu", custom_objects=_INFERENCE_ONLY)


def _spaces_fit(ours: gym.Space, theirs: gym.Space) -> bool:
    if isinstance(ours, gym.spaces.Dict):
        return isinstance(theirs, gym.spaces.Dict) and set(ours) == set(theirs) and all(
            _spaces_fit(ours[k], theirs[k]) for k in ours)
    if isinstance(ours, gym.spaces.Box):
        return isinstance(theirs, gym.spaces.Box) and ours.shape == theirs.shape
    return ours == theirs


def select_npcs(policy: TrafficPolicy, n_vehicles: int, exclude: Iterable[int]) -> list[int]:
    """The vehicle indices a policy drives: the first ``count`` (or ``round(fraction * n)``
    of the ``n``) NPCs, by index, that are not in ``exclude`` (vehicle 0 is never an NPC)."""
    skip = {int(i) for i in exclude}
    candidates = [i for i in range(1, n_vehicles) if i not in skip]
    if policy.count is not None:
        k = policy.count
        if k > len(candidates):
            log.warning("traffic.policy.count is %d but only %d NPCs are available; the "
                        "policy drives all of them", k, len(candidates))
    else:
        k = round(policy.fraction * len(candidates))
    return candidates[:k]


class NpcPolicies:
    """The NPCs a ``traffic.policy`` drives, and their controls each decision.

    Args:
        vehicles: indices of the policy-driven vehicles.
        policy: observations -> actions (:class:`CallablePolicy`, :class:`SB3Policy`).
        observation_type: what each car observes; action_type: how its action is applied.
    """

    def __init__(self, vehicles: Sequence[int] = (), policy: Policy | None = None,
                 observation_type: ObservationType | None = None,
                 action_type: ActionType | None = None):
        self.vehicles = [int(i) for i in vehicles]
        if self.vehicles and (policy is None or observation_type is None
                              or action_type is None):
            raise ValueError("policy-driven vehicles need a policy, an observation type and "
                             "an action type")
        self.policy = policy
        self.observation_type = observation_type
        self.action_type = action_type

    @classmethod
    def from_scenario(cls, scenario: Scenario, world: World, exclude: Iterable[int] = (0,),
                      base_dir: Path | None = None) -> NpcPolicies:
        """The scenario's ``traffic.policy`` loaded for ``world`` (none: no NPC is driven).

        Args:
            exclude: vehicles the caller drives itself (never policy NPCs).
            base_dir: the scenario file's folder, for a relative ``.zip`` path (None: the
                working directory; a ``Scenario`` does not know its file).

        Raises:
            NpcPolicyError: the source cannot be loaded, or a model's observation / action
                space does not match the configured types.
        """
        cfg = scenario.traffic.policy
        if cfg is None:
            return cls()
        vehicles = select_npcs(cfg, world.n_vehicles, exclude)
        if not vehicles:
            log.info("traffic.policy %s drives no NPC", cfg.source)
            return cls()
        obs_type = build_observation(cfg.observation or scenario.env.observation, world)
        act_type = build_action(cfg.action or scenario.env.action, world)
        policy: Policy
        if cfg.source.endswith(".zip"):
            model = load_sb3_model(model_path(cfg.source, base_dir), cfg.source)
            for what, ours, theirs in (("observation", obs_type.space(), model.observation_space),
                                       ("action", act_type.space(), model.action_space)):
                if not _spaces_fit(ours, theirs):
                    raise NpcPolicyError(f"traffic.policy.source {cfg.source!r}: the model's "
                                         f"{what} space {theirs} does not match the "
                                         f"configured {what} {ours} (set "
                                         f"traffic.policy.{what})")
            policy = SB3Policy(model, cfg.deterministic)
        else:
            policy = CallablePolicy(load_callable(cfg.source))
        log.info("traffic.policy %s drives %d NPC(s): %s", cfg.source, len(vehicles),
                 ", ".join(world.vehicle_names[i] for i in vehicles))
        return cls(vehicles, policy, obs_type, act_type)

    def reset(self, world: World) -> None:
        """A new episode began in ``world``."""
        if self.vehicles:
            self.observation_type.reset(world)
            self.action_type.reset(world, self.vehicles)

    def driven(self, world: World) -> list[int]:
        """The policy NPCs it drives now: on the map and not crashed."""
        tr = world.traffic
        return [i for i in self.vehicles if tr.active[i] and not tr.crashed[i]]

    def controls(self, world: World) -> dict[int, Control]:
        """``{vehicle: control}`` for this decision (hold it until the next one)."""
        live = self.driven(world) if self.vehicles else []
        if not live:
            return {}
        observations = [self.observation_type.observe(world, i) for i in live]
        actions = self.policy.act(observations)
        return {i: self.action_type.control(a, world, i) for i, a in zip(live, actions)}
