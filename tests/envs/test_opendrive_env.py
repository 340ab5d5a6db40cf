"""The Gymnasium env on an OpenDRIVE map (CARLA Town01, esmini's climbing road)."""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simulator  # noqa: F401  (registers the drivesim ids)

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not (REPO / "../shared/data/opendrive").is_dir(),
                                reason="the OpenDRIVE files of ../shared/data are absent")


@pytest.mark.parametrize("name", ["town01", "curves_elevation"])
def test_env_on_an_opendrive_scenario_passes_check_env(name):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make("drivesim/Urban-v0", scenario=str(REPO / f"scenarios/{name}.yaml"),
                       render_mode="rgb_array", render_size=(160, 120))
        check_env(env.unwrapped)
        obs, info = env.reset(seed=3)
        frame = env.render()
        env.close()
    assert [str(w.message) for w in caught] == []
    assert frame.shape == (120, 160, 3) and frame.std() > 5
    assert np.isfinite(np.asarray(obs if not isinstance(obs, dict) else
                                  np.concatenate([np.ravel(v) for v in obs.values()]))).all()


def test_same_seed_same_episode_on_town01():
    def episode():
        env = gym.make("drivesim/Urban-v0", scenario=str(REPO / "scenarios/town01.yaml"))
        obs, _ = env.reset(seed=5)
        out = [np.asarray(obs).tobytes()]
        for _ in range(30):
            obs, r, term, trunc, info = env.step(np.array([0.0, 0.2], np.float32))
            out.append((np.asarray(obs).tobytes(), r, term, trunc))
            if term or trunc:
                break
        env.close()
        return out
    assert episode() == episode()


def test_overrides_keep_the_map_files_geo_origin():
    """An env with overrides re-validates the scenario: an unwritten map.geo_origin stays
    unwritten, so Town01's geoReference (49 N 8 E at the file origin) still applies."""
    env = gym.make("drivesim/Urban-v0", scenario=str(REPO / "scenarios/town01.yaml"),
                   scenario_overrides={"simulation.seed": 4}, max_episode_steps=50)
    geo = env.unwrapped.world.geo_origin
    env.close()
    assert geo.lat_deg == pytest.approx(48.9985, abs=1e-3)
    assert geo.lon_deg == pytest.approx(8.0027, abs=1e-3)
