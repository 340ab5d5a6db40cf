"""Domain randomisation in the env: a scenario with distributions is drawn again at every
reset from the episode's seed; same seed, same draw; the spaces stay fixed."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.drive_env import DriveEnv
from scenarios import BUNDLED_DIR

LANEKEEP = BUNDLED_DIR / "envs" / "lanekeep.yaml"


def _randomised(tmp_path: Path, field: str = "  speed_mps: 9",
                new: str = "  speed_mps: {uniform: [4, 14]}") -> Path:
    text = LANEKEEP.read_text()
    assert field in text
    path = tmp_path / "lanekeep_random.yaml"
    path.write_text(text.replace(field, new))
    return path


def test_each_reset_draws_the_scenario_from_the_episode_seed(tmp_path: Path) -> None:
    env = DriveEnv(_randomised(tmp_path))
    try:
        speeds = []
        for seed in (1, 2, 3, 1):
            env.reset(seed=seed)
            speeds.append(float(env.world.state.vx[0]))
            assert 4.0 <= speeds[-1] <= 14.0
            assert env.scenario.ego.speed_mps == pytest.approx(speeds[-1])
        assert len({round(v, 9) for v in speeds[:3]}) == 3     # each episode its own draw
        assert speeds[3] == speeds[0]                          # same seed, same draw
    finally:
        env.close()


def test_a_fixed_scenario_keeps_its_world(tmp_path: Path) -> None:
    env = DriveEnv(LANEKEEP)
    try:
        world = env.world
        env.reset(seed=1)
        env.reset(seed=2)
        assert env.world is world
    finally:
        env.close()


def test_randomised_env_passes_check_env(tmp_path: Path) -> None:
    env = DriveEnv(_randomised(tmp_path))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=5)
        assert env.observation_space.contains(obs)
    finally:
        env.close()


def test_a_draw_that_changes_the_spaces_is_refused(tmp_path: Path) -> None:
    path = _randomised(tmp_path, "    vehicles_count: 1",
                       "    vehicles_count: {choice: [1, 3]}")
    env = DriveEnv(path)
    try:
        with pytest.raises(ValueError, match="changed the observation space"):
            for seed in range(20):
                env.reset(seed=seed)
    finally:
        env.close()


def test_make_with_a_randomised_file(tmp_path: Path) -> None:
    import simulator  # noqa: F401  (registers the ids)
    env = gym.make("drivesim/LaneKeep-v0", scenario=str(_randomised(tmp_path)))
    try:
        a, _ = env.reset(seed=7)
        b, _ = env.reset(seed=7)
        np.testing.assert_array_equal(a, b)
    finally:
        env.close()


def test_info_lists_the_events_fired_and_whether_one_holds_the_ego(tmp_path: Path) -> None:
    path = tmp_path / "lanekeep_events.yaml"
    path.write_text(LANEKEEP.read_text() + """
events:
  - name: halt
    trigger: {type: at_time, time_s: 0.5}
    actions:
      - {type: stop, actor: ego}
""")
    env = DriveEnv(path)
    try:
        _, info = env.reset(seed=3)
        assert info["events"] == [] and info["ego_held"] is False
        for _ in range(20):
            _, _, term, trunc, info = env.step(env.action_space.sample())
            if term or trunc:
                break
        assert info["events"] == ["halt"] and info["ego_held"] is True
        _, info = env.reset(seed=4)                   # re-armed in a new episode
        assert info["events"] == [] and info["ego_held"] is False
    finally:
        env.close()
