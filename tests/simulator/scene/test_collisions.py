"""Collision detection: the numpy broad phase never drops a real contact, and fast cars
cannot pass through thin props between checks."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import parse_scenario
from simulator.scene.collisions import _boxes_overlap
from simulator.world import EgoControl, World


def _brute_overlap(b: tuple[float, float, float], ea: np.ndarray, eb: np.ndarray,
                   rng: np.random.Generator) -> bool:
    """Sample box B densely and test the samples against axis-aligned box A at the origin."""
    u = rng.uniform(-1, 1, (20000, 2)) * eb
    c, s = np.cos(b[2]), np.sin(b[2])
    pts = u @ np.array([[c, s], [-s, c]]) + b[:2]
    return bool(((np.abs(pts[:, 0]) <= ea[0]) & (np.abs(pts[:, 1]) <= ea[1])).any())


def test_box_overlap_matches_brute_force() -> None:
    rng = np.random.default_rng(0)
    ea, eb = np.array([2.3, 0.95]), np.array([1.5, 0.4])
    for _ in range(300):
        b = (rng.uniform(-5, 5), rng.uniform(-3, 3), rng.uniform(-np.pi, np.pi))
        sat = _boxes_overlap(np.zeros(1), np.zeros(1), np.zeros(1), ea[None],
                             np.array([b[0]]), np.array([b[1]]), np.array([b[2]]), eb[None])[0]
        if _brute_overlap(b, ea, eb, rng):
            assert sat, b                        # never misses a contact
    # Exact edge cases: touching along x and y, separated by a hair.
    e = np.array([[2.3, 0.9]])
    z = np.zeros(1)
    assert _boxes_overlap(z, z, z, e, np.array([4.6]), z, z, e)[0]
    assert not _boxes_overlap(z, z, z, e, np.array([4.61]), z, z, e)[0]
    assert _boxes_overlap(z, z, z, e, z, np.array([1.8]), z, e)[0]
    assert not _boxes_overlap(z, z, z, e, z, np.array([1.81]), z, e)[0]


@pytest.mark.parametrize("speed_mps", [20.0, 40.0, 60.0])
def test_fast_car_cannot_skip_a_thin_pole(speed_mps: float) -> None:
    text = f"""
    map:
      roads: [{{id: r, segments: [{{type: straight, length_m: 400}}]}}]
    props:
      - {{type: pole, position: [150, -1.75], size: [0.2, 0.2, 6]}}
    ego:
      start: {{lane: r/fwd/0, s_m: 5}}
      speed_mps: {speed_mps}
      vehicle: {{max_accel_mps2: 0.1}}
    traffic: {{count: 0}}
    """
    with World(parse_scenario(text)) as w:
        for _ in range(int(300 / speed_mps / w.dt_s)):
            w.step(EgoControl(accel_mps2=0.0, steer_rad=0.0))
        assert [c.actor_b for c in w.collisions] == [w.props[0].name]
        # Front bumper (s + 2.3 m) meets the pole face (150 - 0.1 m).
        t_hit = (150 - 0.1 - 5 - 2.3) / speed_mps
        assert t_hit <= w.collisions[0].time_s <= t_hit + 0.8 * 1.85 / speed_mps + 0.01


def test_car_far_off_its_lane_still_hits_props() -> None:
    """A prop far from every lane is still hit by a car that leaves the road."""
    text = """
    map:
      roads: [{id: r, segments: [{type: straight, length_m: 300}]}]
    props:
      - {type: box, position: [33.6, -24.3], size: [2, 2, 2]}
    ego:
      start: {lane: r/fwd/0, s_m: 5}
      speed_mps: 10
    traffic: {count: 0}
    """
    with World(parse_scenario(text)) as w:
        for _ in range(1500):
            w.step(EgoControl(accel_mps2=0.0, steer_rad=-0.1))   # curve right, off road
            if w.collisions:
                break
        assert [c.actor_b for c in w.collisions] == [w.props[0].name]
        assert w.state.y[0] < -20.0
