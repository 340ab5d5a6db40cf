"""World.reset(seed): a new episode in the same world equals a fresh World with that seed."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import DEFAULT_SCENARIO, load
from simulator.world import World


def _rollout(w: World, steps: int) -> tuple[np.ndarray, list, list]:
    rows = []
    for _ in range(steps):
        w.step()
        rows.append(w.state.data.copy())
    return np.stack(rows), list(w.collisions), list(w.vehicle_colors)


@pytest.fixture(scope="module")
def scenario():
    return load(DEFAULT_SCENARIO)


def test_reset_reproduces_a_fresh_world_exactly(scenario) -> None:
    steps = 800   # 8 s: spawns, decisions, lights, MOBIL, reaction delays all in play
    with World(scenario, seed=11) as fresh:
        expected = _rollout(fresh, steps)
    with World(scenario, seed=3) as w:
        static_before = w.static_objects
        props_before = [p.name for p in w.props]
        _rollout(w, 300)                      # an episode under way...
        w.reset(seed=11)                      # ...and a new one from seed 11
        assert w.time_s == 0.0 and w.collisions == [] and w.lane_change_count == 0
        got = _rollout(w, steps)
        assert w.static_objects is static_before     # static world reused, not rebuilt
        # The roadside layout belongs to the world (its build seed), not to the episode.
        assert [p.name for p in w.props] == props_before
    assert np.array_equal(got[0], expected[0])
    assert got[1] == expected[1]
    assert got[2] == expected[2]


def test_reset_twice_with_one_seed_gives_one_episode(scenario) -> None:
    with World(scenario) as w:
        w.reset(seed=4)
        a = _rollout(w, 300)[0]
        w.reset(seed=4)
        b = _rollout(w, 300)[0]
        w.reset(seed=5)
        c = _rollout(w, 300)[0]
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_reset_without_seed_moves_to_the_next_episode(scenario) -> None:
    with World(scenario) as w:
        w.reset()
        a = w.state.data.copy()
        w.reset()
        b = w.state.data.copy()
    with World(scenario) as w2:
        w2.reset()
        assert np.array_equal(w2.state.data, a)       # the sequence is deterministic
    assert not np.array_equal(a, b)


def test_seed_sequence_from_outside_is_the_root(scenario) -> None:
    """A Gymnasium env passes a SeedSequence; an int seed is the same as SeedSequence(int)."""
    with World(scenario, seed=np.random.SeedSequence(9)) as a, World(scenario, seed=9) as b:
        assert np.array_equal(_rollout(a, 50)[0], _rollout(b, 50)[0])
        a.reset(seed=np.random.SeedSequence(21))
        b.reset(seed=21)
        assert np.array_equal(a.state.data, b.state.data)
    with pytest.raises(TypeError):
        World(scenario, seed=1.5)  # type: ignore[arg-type]


def test_scenario_seed_is_the_default(scenario) -> None:
    with World(scenario) as a, World(scenario, seed=scenario.simulation.seed) as b:
        assert np.array_equal(_rollout(a, 50)[0], _rollout(b, 50)[0])
