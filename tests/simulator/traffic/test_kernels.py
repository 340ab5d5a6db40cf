"""The compiled traffic kernels against their numpy references, on real traffic states:
leaders, desired speeds, junction rules, stop distances, IDM, MOBIL lane changes and
pure pursuit give the same answers (bit for bit, steering to rounding), and the numba
cache goes stale with the modules a kernel compiles in."""

from __future__ import annotations

import copy
import importlib
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from scenarios import BUNDLED_DIR, DEFAULT_SCENARIO, load
from simulator.traffic import kernels, logic
from simulator.traffic.logic import TrafficLogic
from simulator.traffic.signals import GREEN
from simulator.world import World

_ARRAYS = ("lane", "s", "d", "prev_lane", "leader", "gap_m", "idm_accel", "stop_accel",
           "lead_accel", "change_cooldown_s", "forced_change")


def _snapshots(path: Path, seconds: float, every_s: float) -> list[tuple[TrafficLogic, dict]]:
    """Traffic logic and vehicle state, copied every ``every_s`` of a run."""
    out = []
    with World(load(path).model_copy(update={"sensors": []})) as w:
        steps = int(round(every_s / w.dt_s))
        for _ in range(int(seconds / every_s)):
            for _ in range(steps):
                w.step()
            st = w.state
            out.append((copy.deepcopy(w.traffic),
                        {"x": st.x.copy(), "y": st.y.copy(), "yaw": st.yaw.copy(),
                         "speed": np.maximum(st.vx, 0.0)}))
    return out


@pytest.fixture(scope="module")
def states() -> list[tuple[TrafficLogic, dict]]:
    rng = np.random.default_rng(0)
    snaps = _snapshots(DEFAULT_SCENARIO, 40.0, 2.0) + \
        _snapshots(BUNDLED_DIR / "highway.yaml", 12.0, 2.0)
    for k, (tr, _) in enumerate(snaps):
        if k % 2:   # lane-change ghosts, crashes and route-forced changes, at random
            la = tr.lanes
            n = len(tr.s)
            lane = np.maximum(tr.lane, 0)
            pick = rng.random(n) < 0.3
            nb = np.where(rng.random(n) < 0.5, la.left[lane], la.right[lane])
            tr.prev_lane = np.where(pick & (nb >= 0) & tr.active, nb, tr.prev_lane)
            tr.d = np.where(tr.prev_lane >= 0, rng.uniform(-3.0, 3.0, n), tr.d)
            tr.crashed = rng.random(n) < 0.05
            tr.forced_change = np.where(rng.random(n) < 0.2, nb, tr.forced_change)
    return snaps


def _both(tr: TrafficLogic, method: str, *args, **kwargs):
    """(numpy result, kernel result, numpy logic after, kernel logic after)."""
    ref, ker = copy.deepcopy(tr), copy.deepcopy(tr)
    ref.use_kernels, ker.use_kernels = False, True
    a = getattr(ref, method)(*args, **kwargs)
    b = getattr(ker, method)(*args, **kwargs)
    return a, b, ref, ker


def _same_state(ref: TrafficLogic, ker: TrafficLogic) -> None:
    for name in _ARRAYS:
        assert np.array_equal(getattr(ref, name), getattr(ker, name)), name


def _inputs(tr: TrafficLogic, st: dict, rng: np.random.Generator):
    speed = st["speed"]
    wander = rng.uniform(0.9, 1.1, len(speed))
    lights = rng.integers(0, 3, tr.lanes.count)
    tr.use_kernels = False
    v0 = tr.desired_speed(wander)
    tr.find_leaders()
    stops = tr.stop_distance(speed, lights, tr.junction_stops(speed, lights))
    tr.accelerations(speed, v0, stops)
    return speed, wander, lights, v0, stops


def test_leaders_speeds_stops_and_accelerations_match_the_numpy_reference(states) -> None:
    rng = np.random.default_rng(1)
    for tr, st in states:
        speed, wander, lights, v0, stops = _inputs(tr, st, rng)
        a, b, ref, ker = _both(tr, "find_leaders")
        _same_state(ref, ker)
        a, b, _, _ = _both(tr, "desired_speed", wander)
        assert np.array_equal(a, b)
        a, b, _, _ = _both(tr, "junction_stops", speed, lights)
        assert np.array_equal(a, b)
        yield_stop = np.where(rng.random(len(speed)) < 0.2, rng.uniform(-1, 50), np.inf)
        a, b, _, _ = _both(tr, "stop_distance", speed, lights, yield_stop)
        assert np.array_equal(a, b)
        a, b, ref, ker = _both(tr, "accelerations", speed, v0, stops)
        assert np.array_equal(a, b)
        _same_state(ref, ker)


def test_junction_rules_are_exercised(states) -> None:
    """The snapshots hold cars that give way or wait (else the comparison proves little)."""
    rng = np.random.default_rng(2)
    stopped = 0
    for tr, st in states:
        speed, *_ = _inputs(tr, st, rng)
        green = np.full(tr.lanes.count, GREEN)
        stopped += int(np.isfinite(tr.junction_stops(speed, green)).sum())
    assert stopped >= 10


def test_lane_changes_match_the_numpy_reference(states) -> None:
    rng = np.random.default_rng(3)
    moved = 0
    for tr, st in states:
        speed, _, _, v0, _ = _inputs(tr, st, rng)
        a, b, ref, ker = _both(tr, "lane_changes", speed, v0, 1.0, mobil=True)
        assert np.array_equal(a, b)
        _same_state(ref, ker)
        moved += int(a.sum())
    assert moved >= 5


def test_lane_change_candidates_match_the_numpy_reference(states) -> None:
    rng = np.random.default_rng(4)
    for tr, st in states:
        speed = st["speed"]
        n, la = len(speed), tr.lanes
        tr = copy.deepcopy(tr)
        tr.change_cooldown_s = np.where(rng.random(n) < 0.3, rng.uniform(0, 4, n), 0.0)
        tr.lane_change_allowed = rng.random(n) < 0.8
        for mobil in (True, False):
            want = tr._lane_change_candidates(speed, mobil)
            got = (np.empty((n, 2), np.int64), np.empty((n, 2), bool), np.empty(n, bool),
                   np.empty(n, bool))
            anything = kernels.lane_change_candidates(
                tr.lane, tr.s, tr.active, tr.crashed, tr.change_cooldown_s, speed,
                tr.prev_lane, tr.lane_change_allowed, tr.forced_change, mobil, la.is_road,
                la.after_junction, la.is_entry, la.at_junction_end, la.length_m, la.left,
                la.right, logic._SEAM_M, logic._NO_CHANGE_AFTER_JUNCTION_M,
                logic._NO_CHANGE_ZONE_M, *got)
            for a, b in zip(want, got):
                assert np.array_equal(a, b)
            assert anything == want[1].any()


def test_steering_matches_the_numpy_reference_to_rounding(states) -> None:
    for tr, st in states:
        a, b, _, _ = _both(tr, "steering", st["x"], st["y"], st["yaw"], st["speed"])
        assert np.abs(a - b).max() < 1e-12


def test_a_kernel_cache_goes_stale_with_the_modules_it_compiles_in(tmp_path, monkeypatch
                                                                   ) -> None:
    (tmp_path / "dep_mod.py").write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                                         "def f(x):\n    return x + 1.0\n")
    (tmp_path / "kernel_mod.py").write_text(textwrap.dedent("""
        from numba import njit

        import dep_mod
        from simulator.traffic.kernel_cache import track_dependencies

        track_dependencies(__file__, dep_mod)


        @njit(cache=True)
        def g(x):
            return dep_mod.f(x) * 2.0
        """))
    monkeypatch.syspath_prepend(str(tmp_path))
    kernel_mod = importlib.import_module("kernel_mod")
    assert kernel_mod.g(1.0) == 4.0
    locator = kernel_mod.g._cache._impl.locator
    before = locator.get_source_stamp()
    (tmp_path / "dep_mod.py").write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                                         "def f(x):\n    return x + 2.0\n")
    assert locator.get_source_stamp() != before      # the cached g would be reloaded
    for name in ("kernel_mod", "dep_mod"):
        sys.modules.pop(name, None)


def test_driver_commands_match_the_numpy_reference_bit_for_bit(states) -> None:
    """Accel commands (reaction delay, autopilot PID, stopped braking) from both paths,
    with signed zeros, crashes, short gaps and stopped cars mixed in."""
    rng = np.random.default_rng(2)
    with World(load(BUNDLED_DIR / "highway.yaml").model_copy(update={"sensors": []})) as w:
        drivers, max_decel = w.driver_models, w.params.max_decel_mps2
        n = w.n_vehicles
        checked = 0
        for tr, st in states:
            if len(tr.s) != n:
                continue
            checked += 1
            speed, _, _, v0, _ = _inputs(tr, st, rng)
            acc = np.where(rng.random(n) < 0.2, rng.choice([0.0, -0.0, -0.5, -3.0], n),
                           tr.idm_accel)
            speed = np.where(rng.random(n) < 0.2, rng.choice([0.0, 0.1, 0.29], n), speed)
            v0 = np.where(rng.random(n) < 0.1, 0.0, v0)
            tr.gap_m = np.where(rng.random(n) < 0.2, rng.uniform(-1.0, 2.5, n), tr.gap_m)
            pid_rows = rng.random(n) < 0.3
            outs = []
            for use_kernels in (False, True):
                d, t = copy.deepcopy(drivers), copy.deepcopy(tr)
                t.use_kernels = use_kernels
                out = np.full(n, np.nan)
                d.accel_commands(t, speed, acc, v0, pid_rows, max_decel, out)
                outs.append((out, d.speed_pid.integral.copy()))
            assert np.array_equal(outs[0][0].view(np.int64), outs[1][0].view(np.int64))
            assert np.array_equal(outs[0][1], outs[1][1])
            drivers.accel_commands(tr, speed, acc, v0, pid_rows, max_decel, np.empty(n))
        assert checked >= 5
