"""``DriveParallelEnv``: PettingZoo's API and seed tests, per-agent ends, NPC policies."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml
from pettingzoo.test import parallel_api_test, parallel_seed_test

from envs import DriveParallelEnv, parallel_env
from envs.config import EnvConfigError, resolve_scenario
from envs.npc_policy import SB3Policy

SMALL = {"traffic.count": 10}
CONTINUOUS = {"type": "continuous"}


@pytest.mark.parametrize("action", [CONTINUOUS, {"type": "discrete_meta"}])
def test_parallel_api(action):
    env = parallel_env(agents=3, scenario_overrides=SMALL, action=action)
    with warnings.catch_warnings():
        warnings.simplefilter("error")       # PettingZoo warns about API slips
        parallel_api_test(env, num_cycles=40)
    env.close()


def test_parallel_seed():
    parallel_seed_test(lambda: parallel_env(agents=3, scenario_overrides=SMALL),
                       num_cycles=30)


def test_agents_spaces_and_metadata():
    env = DriveParallelEnv(scenario_overrides=SMALL, agents=4, policy_hz=5)
    assert env.possible_agents == ["ego", "npc_000", "npc_001", "npc_002"]
    assert env.possible_agents == env.world.vehicle_names[:4]
    assert env.metadata["name"] and env.metadata["render_modes"] == ["rgb_array"]
    assert env.metadata["render_fps"] == 5.0 and env.physics_per_step == 20
    for a in env.possible_agents:
        assert env.observation_space(a) is env.observation_space(a)
        assert env.action_space(a) is env.action_space(a)
        assert env.observation_space(a) == env.observation_type.space()
    assert parallel_env().possible_agents == ["ego", "npc_000"]      # highway, 2 agents
    with pytest.raises(EnvConfigError, match="agents"):
        DriveParallelEnv(scenario_overrides=SMALL, agents=12)
    env.close()


def test_observations_are_each_agents_own_and_seeded():
    env = parallel_env(agents=3, scenario_overrides=SMALL)
    obs, infos = env.reset(seed=7)
    assert set(obs) == set(infos) == set(env.agents) == set(env.possible_agents)
    for a, o in obs.items():
        i = env.agent_index[a]
        assert env.observation_space(a).contains(o)
        np.testing.assert_array_equal(o, env.observation_type.observe(env.world, i))
        assert infos[a]["speed_mps"] == env.world.state.vx[i]
    assert not np.array_equal(obs["ego"], obs["npc_000"])
    again, _ = env.reset(seed=7)
    other, _ = env.reset(seed=8)
    assert all(np.array_equal(obs[a], again[a]) for a in obs)
    assert not all(np.array_equal(obs[a], other[a]) for a in obs)
    env.close()


def test_a_crashed_agent_leaves_and_its_driver_brakes_the_car():
    env = parallel_env(agents=2, scenario_overrides={"traffic.count": 20},
                       action=CONTINUOUS, terminate_off_road=False)
    env.reset(seed=0)
    w = env.world
    full_throttle, coast = np.array([0.0, 1.0], np.float32), np.zeros(2, np.float32)
    for _ in range(200):    # npc_000 floors it straight ahead, off the road into a pole
        acts = {a: full_throttle if a == "npc_000" else coast for a in env.agents}
        _, rewards, term, trunc, infos = env.step(acts)
        if term["npc_000"]:
            break
    assert term["npc_000"] and infos["npc_000"]["termination"] == "collision"
    assert rewards["npc_000"] <= env.config.reward.collision + 2.0
    assert env.agents == ["ego"] and not term["ego"]
    v_crash = float(w.state.vx[1])
    with pytest.raises(KeyError, match="ego"):
        env.step({"npc_000": coast})
    obs, rewards, term, trunc, infos = env.step({"ego": coast, "npc_000": full_throttle})
    assert set(obs) == {"ego"}                   # only live agents report
    assert not w.direct[1] and not w.meta[1]     # its own driver has the car again...
    for _ in range(9):
        env.step({"ego": coast})
    assert float(w.state.vx[1]) < v_crash - 5.0  # ...and brakes it (1 s later)
    env.close()


def test_truncation_ends_every_agent():
    env = parallel_env(agents=2, scenario_overrides=SMALL, max_episode_steps=3)
    env.reset(seed=0)
    for step in range(3):
        _, _, term, trunc, _ = env.step({a: 1 for a in env.agents})
        assert not any(term.values())
        assert all(trunc.values()) == (step == 2)
    assert env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({})
    env.close()


def test_render_like_drive_env():
    env = parallel_env(scenario_overrides=SMALL, render_mode="rgb_array",
                       render_size=(160, 120))
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8 and frame.std() > 1
    assert parallel_env(scenario_overrides=SMALL).render() is None
    env.close()


def test_unplaced_agents_sit_out():
    # 150 NPCs on a 958 m two-lane road: the later ones wait off the map at the start.
    env = parallel_env(scenario="lanekeep", scenario_overrides={"traffic.count": 150},
                       agents=100)
    obs, _ = env.reset(seed=0)
    active = env.world.traffic.active
    assert env.agents == [a for a in env.possible_agents if active[env.agent_index[a]]]
    assert 1 < len(env.agents) < 100 and set(obs) == set(env.agents)
    env.close()


def test_traffic_policy_drives_the_npcs_after_the_agents(tmp_path: Path):
    sb3 = pytest.importorskip("stable_baselines3")
    from envs import DriveEnv

    single = DriveEnv(scenario_overrides=SMALL, action=CONTINUOUS)
    model = sb3.PPO("MlpPolicy", single, n_steps=64, device="cpu", seed=0)
    single.close()
    (tmp_path / "models").mkdir()
    model.save(tmp_path / "models" / "npc.zip")
    sc = resolve_scenario("highway", {**SMALL, "traffic.policy": {
        "source": "models/npc.zip", "count": 2}}, action=CONTINUOUS)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(sc.model_dump(mode="json"), sort_keys=False))
    # The model path is relative to the scenario file, not to the working directory.
    env = parallel_env(scenario=str(path), agents=3)
    assert isinstance(env.npc_policies.policy, SB3Policy)
    assert env.npc_policies.vehicles == [3, 4]
    env.reset(seed=0)
    env.step({a: env.action_space(a).sample() for a in env.agents})
    assert env.world.direct[:5].all() and not env.world.direct[5:].any()
    env.close()
