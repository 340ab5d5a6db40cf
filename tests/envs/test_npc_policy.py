"""``traffic.policy``: which NPCs a policy drives, and that its actions reach the world.

A callable policy that brakes at half the car's limit must slow exactly those NPCs as the
dynamics say (v = v0 - a t on a straight, no reversing) while the others drive as their
IDM drivers would; a stable-baselines3 model's controls must be its own predictions.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np
import pytest

from envs.actions import build_action
from envs.config import resolve_scenario
from envs.npc_policy import (
    CallablePolicy,
    NpcPolicies,
    NpcPolicyError,
    SB3Policy,
    load_callable,
    select_npcs,
)
from envs.observations.base import build_observation
from runner.run import RunOptions, run_scenario, with_overrides
from scenarios.env_schema import TrafficPolicy
from simulator.controls import DirectControl
from simulator.world import World

BRAKE = 0.5  # fraction of max_decel_mps2 the braking policy asks for
SELF = f"{__name__}:brake"  # this module, under whatever name pytest imported it
CONTINUOUS = {"type": "continuous"}


def brake(observation: np.ndarray) -> np.ndarray:
    """Straight ahead, braking at BRAKE of the car's limit."""
    return np.array([0.0, -BRAKE], np.float32)


def _scenario(policy: dict | None, count: int = 10, name: str = "highway"):
    over = {"traffic.count": count}
    if policy is not None:
        over["traffic.policy"] = policy
    return resolve_scenario(name, over)


def _run(world: World, npc: NpcPolicies | None, decisions: int) -> None:
    """``decisions`` decision periods, the policy asked at each and held in between."""
    for _ in range(decisions):
        controls = npc.controls(world) if npc is not None else {}
        for _ in range(world.control_every):
            world.step(controls)


# ----------------------------------------------------------------------- selection
@pytest.mark.parametrize("kw, exclude, expect", [
    ({"count": 3}, (0,), [1, 2, 3]),
    ({"count": 3}, range(3), [3, 4, 5]),
    ({"count": 0}, (0,), []),
    ({"count": 50}, (0,), list(range(1, 11))),
    ({"fraction": 0.5}, (0,), [1, 2, 3, 4, 5]),
    ({"fraction": 0.25}, range(3), [3, 4]),     # round(0.25 * 8)
    ({"fraction": 1.0}, (0, 4), [1, 2, 3, 5, 6, 7, 8, 9, 10]),
])
def test_the_first_npcs_by_index_not_excluded(kw, exclude, expect):
    policy = TrafficPolicy(source="m:f", **kw)
    assert select_npcs(policy, 11, exclude) == expect


def test_no_policy_drives_nobody():
    sc = _scenario(None)
    world = World(sc)
    npc = NpcPolicies.from_scenario(sc, world)
    npc.reset(world)
    assert npc.vehicles == [] and npc.controls(world) == {}
    world.close()


# ----------------------------------------------------------------------- callables
def test_policy_npcs_brake_as_physics_says_and_the_others_drive_by_idm():
    sc = _scenario({"source": SELF, "count": 2, "action": CONTINUOUS})
    world, baseline = World(sc), World(_scenario(None))
    npc = NpcPolicies.from_scenario(sc, world)
    assert npc.vehicles == [1, 2] and isinstance(npc.policy, CallablePolicy)
    for w in (world, baseline):
        w.reset(seed=3)
    npc.reset(world)
    v0 = world.state.vx.copy()
    assert np.array_equal(v0, baseline.state.vx)
    _run(world, npc, 10)
    _run(baseline, None, 10)
    t = world.time_s
    assert t == pytest.approx(1.0)
    p = world.params
    decel = BRAKE * p.max_decel_mps2[[1, 2]]
    assert np.all(decel < p.mu[[1, 2]] * 9.81)       # under the friction limit
    expected = v0[[1, 2]] - decel * t
    assert np.all(expected > 5.0)                     # still rolling: no clamp at 0
    np.testing.assert_allclose(world.state.vx[[1, 2]], expected, atol=1e-3)
    assert np.all(baseline.state.vx[[1, 2]] > expected + 3.0)   # IDM would not have braked
    others = np.arange(3, world.n_vehicles)
    # The others drive as without the policy (IDM's far-leader term: millimetres/s).
    np.testing.assert_allclose(world.state.vx[others], baseline.state.vx[others], atol=0.02)
    for w in (world, baseline):
        w.close()


def test_parked_npcs_get_no_control():
    # 150 NPCs on a 958 m two-lane road: most wait off the map at the start.
    sc = _scenario({"source": SELF, "fraction": 1.0, "action": CONTINUOUS}, count=150,
                   name="lanekeep")
    world = World(sc)
    npc = NpcPolicies.from_scenario(sc, world)
    world.reset(seed=0)
    npc.reset(world)
    active = set(np.flatnonzero(world.traffic.active).tolist()) - {0}
    assert len(npc.vehicles) == 150 and 0 < len(active) < 150
    controls = npc.controls(world)
    assert set(controls) == active
    assert all(isinstance(c, DirectControl) for c in controls.values())
    world.close()


def test_runner_honours_the_policy(tmp_path: Path):
    sc = with_overrides(_scenario({"source": SELF, "count": 1, "action": CONTINUOUS}),
                        duration_s=1.0).model_copy(update={"sensors": []})
    run_scenario(sc, tmp_path, RunOptions(video=False, sensors=False))
    with (tmp_path / "trajectory.csv").open() as f:
        speeds = {(r["time_s"], r["actor_id"]): float(r["speed_mps"]) for r in csv.DictReader(f)}
    v0 = speeds[("0.000", "npc_000")]
    decel = BRAKE * sc.traffic.vehicle.max_decel_mps2
    assert speeds[("1.000", "npc_000")] == pytest.approx(v0 - decel, abs=2e-3)
    assert speeds[("1.000", "npc_001")] > speeds[("0.000", "npc_001")] - 1.0


@pytest.mark.parametrize("source, message", [
    ("no_such_module_xyz:f", "no module named 'no_such_module_xyz'"),
    (f"{__name__}:no_such_function", "has no attribute 'no_such_function'"),
    (f"{__name__}:BRAKE", "is not callable"),
])
def test_a_bad_callable_source_is_named(source, message):
    with pytest.raises(NpcPolicyError, match="traffic.policy.source") as err:
        load_callable(source)
    assert message in str(err.value) and source in str(err.value)


def test_a_missing_model_file_says_where_it_looked(tmp_path: Path):
    sc = _scenario({"source": "nowhere/npc.zip", "count": 1})
    world = World(sc)
    with pytest.raises(NpcPolicyError, match="working directory"):
        NpcPolicies.from_scenario(sc, world)
    with pytest.raises(NpcPolicyError, match=f"{tmp_path / 'nowhere' / 'npc.zip'}.*scenario"):
        NpcPolicies.from_scenario(sc, world, base_dir=tmp_path)
    world.close()


def test_a_model_without_stable_baselines3_asks_for_the_rl_extra(tmp_path, monkeypatch):
    (tmp_path / "npc.zip").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)   # import fails
    sc = _scenario({"source": "npc.zip", "count": 1})
    world = World(sc)
    with pytest.raises(NpcPolicyError, match=r"drivesim\[rl\]"):
        NpcPolicies.from_scenario(sc, world, base_dir=tmp_path)
    world.close()


# ----------------------------------------------------------------------- stable-baselines3
SB3_TRAFFIC = 6


@pytest.fixture(scope="module")
def drive_env():
    """A DriveEnv with continuous actions: the models are built on it, and its world (same
    map and vehicle count) serves the policy scenarios below."""
    pytest.importorskip("stable_baselines3")
    from envs import DriveEnv

    env = DriveEnv("highway", scenario_overrides={"traffic.count": SB3_TRAFFIC},
                   action=CONTINUOUS)
    yield env
    env.close()


def _model(algo_name: str, env, tmp_path: Path):
    """An untrained model on ``env``, saved to tmp_path/npc.zip."""
    sb3 = pytest.importorskip("stable_baselines3")
    kw = {"n_steps": 64} if algo_name in ("PPO", "A2C") else {"buffer_size": 64}
    model = getattr(sb3, algo_name)("MlpPolicy", env, device="cpu", seed=0, **kw)
    model.save(tmp_path / "npc.zip")
    return model


def _policy_scenario(policy: dict, **env_overrides):
    return resolve_scenario("highway", {"traffic.count": SB3_TRAFFIC,
                                        "traffic.policy": policy}, **env_overrides)


@pytest.mark.parametrize("algo_name", ["PPO", "A2C", "SAC"])
def test_npc_controls_are_the_models_batched_predictions(algo_name, drive_env, tmp_path):
    model = _model(algo_name, drive_env, tmp_path)
    sc = _policy_scenario({"source": "npc.zip", "count": 3}, action=CONTINUOUS)
    world = drive_env.world
    npc = NpcPolicies.from_scenario(sc, world, base_dir=tmp_path)
    assert isinstance(npc.policy, SB3Policy)
    assert type(npc.policy.model).__name__ == algo_name    # the algorithm that saved it
    world.reset(seed=1)
    npc.reset(world)
    obs_type = build_observation(sc.env.observation, world)
    act_type = build_action(sc.env.action, world)
    for _ in range(3):
        controls = npc.controls(world)
        assert sorted(controls) == [1, 2, 3]
        for i, c in controls.items():
            action, _ = model.predict(obs_type.observe(world, i), deterministic=True)
            want = act_type.control(action, world, i)
            assert c.accel_mps2 == pytest.approx(want.accel_mps2, abs=1e-6)
            assert c.steer_rad == pytest.approx(want.steer_rad, abs=1e-6)
        _run(world, None, 1)


def test_drive_env_steps_the_model_npcs(drive_env, tmp_path: Path):
    model = _model("PPO", drive_env, tmp_path)
    from envs import DriveEnv

    env = DriveEnv("highway", scenario_overrides={
        "traffic.count": SB3_TRAFFIC,
        "traffic.policy": {"source": str(tmp_path / "npc.zip"), "count": 2}},
        action=CONTINUOUS)
    env.reset(seed=2)
    w = env.world
    obs_type = env.npc_policies.observation_type
    want = {}
    for i in (1, 2):
        action, _ = model.predict(obs_type.observe(w, i), deterministic=True)
        want[i] = env.action_type.control(action, w, i).accel_mps2
    env.step(np.zeros(2, np.float32))
    # The last physics step commanded what the model answered (held for the decision).
    for i in (1, 2):
        assert w.accel_cmd[i] == pytest.approx(want[i], abs=1e-6)
    env.close()


def test_a_model_for_other_spaces_is_refused(drive_env, tmp_path: Path):
    _model("PPO", drive_env, tmp_path)   # continuous actions
    sc = _policy_scenario({"source": "npc.zip", "count": 1,
                           "action": {"type": "discrete_meta"}})
    with pytest.raises(NpcPolicyError, match="action space"):
        NpcPolicies.from_scenario(sc, drive_env.world, base_dir=tmp_path)
