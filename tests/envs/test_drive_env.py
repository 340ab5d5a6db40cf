"""DriveEnv: the Gymnasium contract, actions scaled to the vehicle, rewards and episode ends."""

import subprocess
import sys
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import simulator
from envs.config import ENV_SCENARIO_DIR as ENV_DIR
from envs.config import EnvConfigError
from envs.drive_env import DriveEnv
from simulator.constants import GRAVITY_MPS2

EMPTY = {"traffic.count": 0}


@pytest.fixture(scope="module")
def empty_highway():
    env = DriveEnv("highway", scenario_overrides=EMPTY, action={"type": "continuous"})
    yield env
    env.close()


@pytest.mark.parametrize("env_id", sorted(simulator.ENV_IDS))
def test_check_env_passes_without_warnings(env_id):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        env = gym.make(env_id, render_mode="rgb_array")
        check_env(env.unwrapped)
        env.close()
    assert [str(w.message) for w in caught] == []


def test_metadata_and_render():
    env = gym.make("drivesim/Highway-v0", render_mode="rgb_array", render_size=(160, 120))
    assert env.metadata["render_modes"] == ["rgb_array"]
    assert env.metadata["render_fps"] == 10
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (120, 160, 3) and frame.dtype == np.uint8
    assert frame.std() > 5   # not blank: road, markings, cars
    env.close()


def test_make_without_prior_import_of_simulator():
    code = ("import gymnasium as gym; e = gym.make('simulator:drivesim/LaneKeep-v0'); "
            "o, _ = e.reset(seed=1); print(o.shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().startswith("(")


def _episode(env, seed, actions):
    obs, info = env.reset(seed=seed)
    rows = [(obs.copy(), None, info)]
    for a in actions:
        obs, r, term, trunc, info = env.step(a)
        rows.append((obs.copy(), r, info))
        if term or trunc:
            break
    return rows


def test_same_seed_same_episode():
    a = DriveEnv("highway", max_episode_steps=60)
    b = DriveEnv("highway", max_episode_steps=60)
    acts = np.random.default_rng(0).integers(0, 5, 60)
    ea, eb = _episode(a, 7, acts), _episode(b, 7, acts)
    assert len(ea) == len(eb) == 61
    for (oa, ra, ia), (ob, rb, ib) in zip(ea, eb):
        np.testing.assert_array_equal(oa, ob)
        assert ra == rb and ia == ib
    # Another seed: other traffic.
    ec = _episode(a, 8, acts[:1])
    assert not np.array_equal(ea[0][0], ec[0][0])
    a.close()
    b.close()


def test_reset_keeps_the_world_and_reseeds_traffic():
    env = DriveEnv("highway")
    world = env.world
    o1, _ = env.reset(seed=3)
    x1 = world.state.x.copy()
    env.reset(seed=4)
    assert env.world is world
    env.reset(seed=3)
    np.testing.assert_array_equal(world.state.x, x1)
    env.close()


def test_continuous_action_scales_to_vehicle_limits(empty_highway):
    env = empty_highway
    spec = env.scenario.ego.vehicle
    env.reset(seed=0)
    v0 = float(env.world.state.vx[0])
    for _ in range(10):     # 1 s at 10 Hz, full throttle on a straight
        env.step(np.array([0.0, 1.0], np.float32))
    assert env.world.state.vx[0] == pytest.approx(v0 + spec.max_accel_mps2 * 1.0, abs=1e-9)
    v1 = float(env.world.state.vx[0])
    for _ in range(5):      # full brake: the tyres limit it to mu g
        env.step(np.array([0.0, -1.0], np.float32))
    decel = min(spec.max_decel_mps2, spec.mu * GRAVITY_MPS2)
    assert env.world.state.vx[0] == pytest.approx(v1 - decel * 0.5, abs=1e-6)
    env.reset(seed=0)
    env.step(np.array([1.0, 0.0], np.float32))
    assert env.world.state.steer[0] > 0     # +1 steers left
    for _ in range(4):
        env.step(np.array([1.0, 0.0], np.float32))
    assert env.world.state.steer[0] == pytest.approx(np.radians(spec.max_steer_deg))


def test_bad_actions_are_refused(empty_highway):
    empty_highway.reset(seed=0)
    with pytest.raises(ValueError, match="continuous action"):
        empty_highway.step(np.array([np.nan, 0.0]))
    meta = DriveEnv("highway", scenario_overrides=EMPTY, action={"type": "discrete_meta"})
    meta.reset(seed=0)
    with pytest.raises(ValueError, match="integer 0-4"):
        meta.step(7)
    meta.close()


def test_discrete_meta_changes_lane_and_speed():
    env = DriveEnv("highway", scenario_overrides=EMPTY,
                   action={"type": "discrete_meta", "target_speeds_mps": [20, 25, 30]})
    env.reset(seed=0)
    w = env.world
    lane0 = w.hdmap.lanes[int(w.traffic.lane[0])]
    assert lane0.left is not None
    env.step(0)                      # LANE_LEFT
    for _ in range(60):
        env.step(1)                  # IDLE
    assert int(w.traffic.lane[0]) == lane0.left
    assert abs(w.traffic.d[0]) < 0.3
    assert w.state.vx[0] == pytest.approx(25.0, abs=0.5)   # the start speed's target
    env.step(3)                      # FASTER -> 30
    for _ in range(80):
        env.step(1)
    assert w.state.vx[0] == pytest.approx(30.0, abs=0.5)
    env.close()


def test_off_road_terminates_with_its_penalty(empty_highway):
    env = empty_highway
    env.reset(seed=0)
    for _ in range(200):
        obs, r, term, trunc, info = env.step(np.array([1.0, 0.3], np.float32))
        if term:
            break
    assert term and not trunc and info["termination"] == "off_road"
    assert info["reward_terms"]["off_road"] == 1.0
    assert info["off_road"] is True


def test_collision_terminates():
    env = DriveEnv("highway", scenario_overrides=EMPTY, action={"type": "continuous"})
    w = env.world
    env.reset(seed=0)
    lane = int(w.traffic.lane[0])
    ahead = w.hdmap.position(lane, float(w.traffic.s[0]) + 60.0)
    env.close()
    box = {"type": "box", "position": [float(ahead[0]), float(ahead[1])],
           "size": [2.0, 2.0, 1.5]}
    env = DriveEnv("highway", scenario_overrides={**EMPTY, "props": [box]},
                   action={"type": "continuous"})
    env.reset(seed=0)
    for _ in range(100):
        obs, r, term, trunc, info = env.step(np.array([0.0, 0.2], np.float32))
        if term:
            break
    assert term and info["termination"] == "collision"
    assert info["reward_terms"]["collision"] == 1.0
    assert r <= env.config.reward.collision + 1.0
    # It hit the box 60 m ahead (less half a car and half the box), in ~2.3 s at 25-28 m/s.
    assert 1.5 < info["time_s"] < 3.0
    env.close()


def test_truncation_at_max_episode_steps():
    env = DriveEnv("highway", max_episode_steps=5)
    env.reset(seed=0)
    ends = [env.step(1)[3] for _ in range(5)]
    assert ends == [False] * 4 + [True]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(1)
    env.close()


def test_policy_rate_is_separate_from_physics():
    env = DriveEnv("highway", policy_hz=5, scenario_overrides=EMPTY)
    assert env.physics_per_step == env.scenario.simulation.physics_hz / 5
    env.reset(seed=0)
    *_, info = env.step(1)
    assert info["time_s"] == pytest.approx(0.2)
    env.close()
    with pytest.raises(EnvConfigError, match="policy_hz"):
        DriveEnv("highway", policy_hz=7)


def test_reward_terms_are_reported_and_weighted(empty_highway):
    env = empty_highway
    env.reset(seed=0)
    _, r, _, _, info = env.step(np.array([0.0, 0.0], np.float32))
    terms = info["reward_terms"]
    cfg = env.config.reward
    assert set(terms) == {"progress", "speed", "lane_centering", "collision", "off_road",
                          "comfort"}
    assert r == pytest.approx(sum(getattr(cfg, k) * v for k, v in terms.items()))
    # Straight lane, no throttle: 0.1 s at 25 m/s is 2.5 m of progress.
    assert terms["progress"] * cfg.progress_scale_m == pytest.approx(2.5, rel=1e-3)
    assert terms["lane_centering"] == pytest.approx(1.0)


def test_env_keywords_are_checked():
    with pytest.raises(EnvConfigError, match="unknown env keyword"):
        DriveEnv("highway", observaton={"type": "lidar2d"})
    with pytest.raises(EnvConfigError, match="observation"):
        DriveEnv("highway", observation={"type": "sonar"})
    with pytest.raises(EnvConfigError, match="neither a YAML file nor a bundled"):
        DriveEnv("no_such_scenario")


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_envs_seed_each_sub_env(mode):
    def run():
        vec = gym.make_vec("drivesim/Highway-v0", num_envs=2, vectorization_mode=mode)
        obs, _ = vec.reset(seed=11)
        vec.action_space.seed(0)
        out = [obs]
        for _ in range(3):
            obs, *_ = vec.step(vec.action_space.sample())
            out.append(obs)
        vec.close()
        return np.stack(out)

    a, b = run(), run()
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a[:, 0], a[:, 1])       # distinct seeds per sub-env


def test_env_section_errors_name_file_and_line(tmp_path):
    from scenarios import ScenarioError

    lines = (ENV_DIR / "highway.yaml").read_text().splitlines()
    k = lines.index("env:")
    lines.insert(k + 1, "  max_episode_stepz: 10")
    bad = tmp_path / "bad.yaml"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(ScenarioError, match=rf"bad.yaml:{k + 2}: env.max_episode_stepz"):
        DriveEnv(str(bad))
