"""Gymnasium environment benchmarks: steps per second, the peer highway-env, vector envs.

Every figure drives envs made by ``gymnasium.make`` (``drivesim/*`` ids, registered by
``import simulator``) with random actions from the action space (seeded), resetting
whenever an episode ends (terminated or truncated); resets are part of the timed work.
One process, after a warm-up (a reset and 50 steps: numba caches, lazy allocations;
highway-env 10 steps).
Figures are medians over repeated timed blocks on the same env:

- ``env_highway_steps_per_s``: ``drivesim/Highway-v0`` as it ships (kinematics
  observation, 50 NPCs, 10 Hz policy = 10 physics steps of 10 ms per env step).
- ``env_highway_speedup_vs_highway_env``: simulated seconds per wall second of ours over
  those of highway-env's ``highway-v0`` with ``vehicles_count: 50``, ``policy_frequency:
  10`` (its default ``simulation_frequency`` 15, kinematics observation, discrete
  meta-actions, ``render_mode=None``), both envs alive in the same process, timed in
  interleaved rounds; the figure is the median of the per-round ratios.
  Simulated time counts what each physics actually integrates. Ours: the world's clock
  (``info["time_s"]``) advanced over the steps, 0.1 s a step (10 x 10 ms), less in a
  step that ends early at the ego's crash. highway-env: ``AbstractEnv._simulate`` runs
  ``int(simulation_frequency // policy_frequency)`` = int(15 // 10) = 1 frame of
  ``1 / simulation_frequency`` = 1/15 s per step while its ``time`` advances by
  ``1 / policy_frequency`` = 0.1 s; we count the frames it ran (its ``steps`` counter)
  x 1/15 s, not its clock. ``env_highway_steps_ratio_vs_highway_env`` is the ratio of
  env steps per second (= the speed-up measured against highway-env's 0.1 s clock).
  ``highway_env_steps_per_s`` / ``highway_env_sim_s_per_s`` are highway-env's own
  figures, ``env_highway_sim_s_per_s`` ours, from the same rounds. highway-env renders
  nothing here: no viewer is ever made (``render()`` is never called and its automatic
  rendering needs a viewer), its Kinematics observation reads vehicle states only
  (``offscreen_rendering`` only says where a viewer would draw); checked after the run.
  Without highway-env (the ``bench`` extra) the figure is logged as skipped.
- ``env_lidar2d_steps_per_s``: the same env with ``observation={"type": "lidar2d",
  "beams": 240}``.
- ``env_camera84_steps_per_s``: with ``observation={"type": "camera", "width": 84,
  "height": 84}`` (the rig's front camera, RGB, at 84 x 84).
- ``env_vector_async_scaling``: env steps per second (sub-env steps summed) of
  ``gymnasium.make_vec("drivesim/Highway-v0", num_envs=2, vectorization_mode="async")``
  over the same with ``num_envs=1`` (also async: one worker process, the same pipes),
  both alive at once and timed in interleaved rounds (sub-envs autoreset).
  ``env_vector_async_{1,2}_steps_per_s`` are the two throughputs;
  ``env_vector_single_steps_per_s`` a plain ``gymnasium.make`` env in the benchmark's
  own process, timed in the same rounds, and ``env_vector_async_2_vs_single_env`` the
  2-env async throughput over it (what a user gains over not vectorising at all).
- ``env_reset_ms``: ``DriveEnv.reset(seed=k)`` on the highway scenario (world reset,
  observation, policies), k = 1..21 after a first reset.

Each figure can be run alone (``run_sim.py bench --only env_reset_ms``).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

HIGHWAY_ID = "drivesim/Highway-v0"
PEER_ID = "highway-v0"
PEER_CONFIG = {"vehicles_count": 50, "policy_frequency": 10}
LIDAR_OBS = {"type": "lidar2d", "beams": 240}
CAMERA_OBS = {"type": "camera", "width": 84, "height": 84}
WARMUP_STEPS = 50

TARGETS = {  # figure -> (">=" or "<=", target)
    "env_highway_steps_per_s": (">=", 2000.0),
    "env_highway_speedup_vs_highway_env": (">=", 50.0),
    "env_lidar2d_steps_per_s": (">=", 1000.0),
    "env_camera84_steps_per_s": (">=", 200.0),
    "env_vector_async_scaling": (">=", 1.7),
    "env_reset_ms": ("<=", 20.0),
}
FIGURES = ("env_highway_steps_per_s", "env_highway_speedup_vs_highway_env",
           "env_highway_steps_ratio_vs_highway_env", "env_highway_sim_s_per_s",
           "highway_env_steps_per_s", "highway_env_sim_s_per_s", "env_lidar2d_steps_per_s",
           "env_camera84_steps_per_s", "env_vector_async_scaling",
           "env_vector_async_2_vs_single_env", "env_vector_async_1_steps_per_s",
           "env_vector_async_2_steps_per_s", "env_vector_single_steps_per_s", "env_reset_ms")


def make_env(env_id: str = HIGHWAY_ID, **kwargs: Any):
    """``gymnasium.make(env_id, **kwargs)`` with the ``drivesim/*`` ids registered."""
    import gymnasium as gym

    import simulator  # noqa: F401  (registers drivesim/*)

    return gym.make(env_id, **kwargs)


class Driver:
    """Random seeded actions into one env, resetting at episode ends; counts what ran.

    ``sim_time_s`` is read after each step and after each reset: the simulated time an
    episode has integrated so far (ours: the world clock; highway-env: frames run x
    1 / simulation_frequency). Its increments over a block are the block's simulated time.
    """

    def __init__(self, env: Any, sim_time_s: Callable[[Any, dict], float], seed: int = 0):
        self.env = env
        self._sim_time = sim_time_s
        _, info = env.reset(seed=seed)
        env.action_space.seed(seed)
        self._t = sim_time_s(env, info)
        self.resets = 0

    def run(self, steps: int) -> tuple[float, float]:
        """Take ``steps`` steps; (wall s, simulated s)."""
        env, sim_time = self.env, self._sim_time
        sample = env.action_space.sample
        sim = 0.0
        t0 = time.perf_counter()
        for _ in range(steps):
            _, _, terminated, truncated, info = env.step(sample())
            t = sim_time(env, info)
            sim += t - self._t
            self._t = t
            if terminated or truncated:
                _, info = env.reset()
                self._t = sim_time(env, info)
                self.resets += 1
        return time.perf_counter() - t0, sim


def ours_sim_time(env: Any, info: dict) -> float:
    """Our episode's simulated time [s]: the world clock the physics advanced."""
    return float(info["time_s"])


def peer_sim_time(env: Any, info: dict) -> float:
    """highway-env's integrated time [s]: frames run (``steps``) x 1 / simulation_frequency,
    not its ``time`` (which advances 1 / policy_frequency per step)."""
    u = env.unwrapped
    return u.steps / float(u.config["simulation_frequency"])


def steps_per_s(env: Any, steps: int, repeats: int) -> list[float]:
    """Env steps per wall second of each of ``repeats`` blocks of ``steps`` steps."""
    drv = Driver(env, ours_sim_time)
    drv.run(WARMUP_STEPS)
    rates = [steps / drv.run(steps)[0] for _ in range(repeats)]
    logger.info("%d resets in %d timed steps", drv.resets, steps * repeats)
    return rates


def make_peer():
    """highway-env's ``highway-v0`` as compared, or None when highway-env is missing."""
    try:
        import highway_env  # noqa: F401  (registers highway-v0)
    except ImportError:
        return None
    import gymnasium as gym

    return gym.make(PEER_ID, config=dict(PEER_CONFIG), render_mode=None)


def peer_frames_per_step(env: Any) -> int:
    """Frames ``AbstractEnv._simulate`` integrates per step (its own formula)."""
    cfg = env.unwrapped.config
    return int(cfg["simulation_frequency"] // cfg["policy_frequency"])


def speedup_rounds(ours: Any, peer: Any, our_steps: int, peer_steps: int,
                   rounds: int) -> list[dict[str, float]]:
    """Interleaved rounds of ours and the peer; per round both rates and their ratios."""
    a, b = Driver(ours, ours_sim_time), Driver(peer, peer_sim_time)
    a.run(WARMUP_STEPS)
    b.run(max(5, WARMUP_STEPS // 5))
    out = []
    for r in range(rounds):
        if r % 2 == 0:                          # alternate who goes first
            wa, sa = a.run(our_steps)
            wb, sb = b.run(peer_steps)
        else:
            wb, sb = b.run(peer_steps)
            wa, sa = a.run(our_steps)
        out.append({"ours_steps_per_s": our_steps / wa, "ours_sim_s_per_s": sa / wa,
                    "peer_steps_per_s": peer_steps / wb, "peer_sim_s_per_s": sb / wb})
        out[-1]["speedup"] = out[-1]["ours_sim_s_per_s"] / out[-1]["peer_sim_s_per_s"]
        out[-1]["steps_ratio"] = out[-1]["ours_steps_per_s"] / out[-1]["peer_steps_per_s"]
    u = peer.unwrapped
    assert u.render_mode is None and u.viewer is None, "highway-env rendered"
    logger.info("highway-env: %s, %d frame(s) of 1/%g s per step (clock +%g s), "
                "offscreen_rendering=%s, viewer %s, observation %s; resets ours %d, peer %d",
                PEER_ID, peer_frames_per_step(peer), u.config["simulation_frequency"],
                1.0 / u.config["policy_frequency"], u.config["offscreen_rendering"], u.viewer,
                type(u.observation_type).__name__, a.resets, b.resets)
    return out


def vector_rounds(env_id: str, steps: int, rounds: int,
                  **kwargs: Any) -> list[tuple[float, float, float]]:
    """(1-env async, 2-env async, single in-process env) throughputs [env steps / s] of
    interleaved rounds (the order rotates round by round)."""
    import gymnasium as gym

    import simulator  # noqa: F401

    vecs = {n: gym.make_vec(env_id, num_envs=n, vectorization_mode="async", **kwargs)
            for n in (1, 2)}
    single = make_env(env_id, **kwargs)
    try:
        for n, v in vecs.items():
            v.reset(seed=list(range(n)))
            v.action_space.seed(0)
            for _ in range(WARMUP_STEPS):
                v.step(v.action_space.sample())
        drv = Driver(single, ours_sim_time)
        drv.run(WARMUP_STEPS)

        def rate(n: int) -> float:
            if n == 0:
                return steps / drv.run(steps)[0]
            v = vecs[n]
            sample = v.action_space.sample
            t0 = time.perf_counter()
            for _ in range(steps):
                v.step(sample())           # sub-envs autoreset at their episode ends
            return n * steps / (time.perf_counter() - t0)

        out = []
        for r in range(rounds):
            order = (1, 2, 0)[r % 3:] + (1, 2, 0)[:r % 3]
            got = {n: rate(n) for n in order}
            out.append((got[1], got[2], got[0]))
        return out
    finally:
        single.close()
        for v in vecs.values():
            v.close()


def reset_ms(repeats: int, **kwargs: Any) -> list[float]:
    """Wall time of ``DriveEnv.reset(seed=k)``, k = 1..repeats, on the highway [ms]."""
    from envs.drive_env import DriveEnv

    env = DriveEnv("highway", **kwargs)
    try:
        env.reset(seed=0)                   # first call: lazy allocations
        times = []
        for k in range(1, repeats + 1):
            t0 = time.perf_counter()
            env.reset(seed=k)
            times.append((time.perf_counter() - t0) * 1e3)
        return times
    finally:
        env.close()


def _median(name: str, values: Iterable[float], unit: str) -> float:
    values = list(values)
    med = float(np.median(values))
    target = TARGETS.get(name)
    goal = ""
    if target is not None:
        op, goal_v = target
        met = med >= goal_v if op == ">=" else med <= goal_v
        goal = f"; target {op} {goal_v:g} {unit}: {'met' if met else 'NOT met'}"
    logger.info("%s: median %.4g %s (%s)%s", name, med, unit,
                ", ".join(f"{v:.4g}" for v in values), goal)
    return med


def run(quick: bool = False, figures: Iterable[str] | None = None) -> dict[str, float]:
    """Benchmark figures (see the module docstring): all of them, or those in ``figures``;
    ``quick`` uses few short repeats."""
    want = set(FIGURES if figures is None else figures)
    steps, repeats = (20, 1) if quick else (1000, 7)
    out: dict[str, float] = {}

    def obs_rate(name: str, n_steps: int, n_repeats: int, **kwargs: Any) -> None:
        env = make_env(HIGHWAY_ID, **kwargs)
        try:
            out[name] = round(_median(name, steps_per_s(env, n_steps, n_repeats),
                                      "steps/s"), 1)
        finally:
            env.close()

    def highway() -> None:
        obs_rate("env_highway_steps_per_s", steps, repeats)

    def speedup() -> None:
        peer = make_peer()
        if peer is None:
            logger.warning("env_highway_speedup_vs_highway_env skipped: highway-env is not "
                           "installed (pip install -e '.[bench]')")
            return
        ours = make_env(HIGHWAY_ID)
        try:
            rounds = speedup_rounds(ours, peer, *((20, 5, 1) if quick else (500, 60, 7)))
        finally:
            ours.close()
            peer.close()
        col = {k: [r[k] for r in rounds] for k in rounds[0]}
        out["env_highway_speedup_vs_highway_env"] = round(_median(
            "env_highway_speedup_vs_highway_env", col["speedup"], "x"), 2)
        out["env_highway_steps_ratio_vs_highway_env"] = round(_median(
            "env_highway_steps_ratio_vs_highway_env", col["steps_ratio"], "x"), 2)
        out["env_highway_sim_s_per_s"] = round(_median(
            "env_highway_sim_s_per_s", col["ours_sim_s_per_s"], "sim s/s"), 2)
        out["highway_env_steps_per_s"] = round(_median(
            "highway_env_steps_per_s", col["peer_steps_per_s"], "steps/s"), 2)
        out["highway_env_sim_s_per_s"] = round(_median(
            "highway_env_sim_s_per_s", col["peer_sim_s_per_s"], "sim s/s"), 3)

    def lidar() -> None:
        obs_rate("env_lidar2d_steps_per_s", steps, repeats if quick else 5,
                 observation=dict(LIDAR_OBS))

    def camera() -> None:
        obs_rate("env_camera84_steps_per_s", 10 if quick else 300, repeats if quick else 5,
                 observation=dict(CAMERA_OBS))

    def vector() -> None:
        rounds = vector_rounds(HIGHWAY_ID, 10 if quick else 500, 1 if quick else 6)
        out["env_vector_async_scaling"] = round(_median(
            "env_vector_async_scaling", [b / a for a, b, _ in rounds], "x"), 3)
        out["env_vector_async_2_vs_single_env"] = round(_median(
            "env_vector_async_2_vs_single_env", [b / c for _, b, c in rounds], "x"), 3)
        out["env_vector_async_1_steps_per_s"] = round(_median(
            "env_vector_async_1_steps_per_s", [a for a, _, _ in rounds], "steps/s"), 1)
        out["env_vector_async_2_steps_per_s"] = round(_median(
            "env_vector_async_2_steps_per_s", [b for _, b, _ in rounds], "steps/s"), 1)
        out["env_vector_single_steps_per_s"] = round(_median(
            "env_vector_single_steps_per_s", [c for _, _, c in rounds], "steps/s"), 1)

    def reset() -> None:
        out["env_reset_ms"] = round(_median("env_reset_ms", reset_ms(5 if quick else 21),
                                            "ms"), 2)

    measures: list[tuple[tuple[str, ...], Callable[[], None]]] = [
        (("env_highway_steps_per_s",), highway),
        (("env_highway_speedup_vs_highway_env", "env_highway_steps_ratio_vs_highway_env",
          "env_highway_sim_s_per_s", "highway_env_steps_per_s", "highway_env_sim_s_per_s"),
         speedup),
        (("env_lidar2d_steps_per_s",), lidar), (("env_camera84_steps_per_s",), camera),
        (("env_vector_async_scaling", "env_vector_async_2_vs_single_env",
          "env_vector_async_1_steps_per_s", "env_vector_async_2_steps_per_s",
          "env_vector_single_steps_per_s"), vector),
        (("env_reset_ms",), reset)]
    for names, measure in measures:
        if want & set(names):
            measure()
    return out


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run()))
