"""The bundled env scenarios (``scenarios/envs/*.yaml``): they load and validate, and the
ego's own autopilot finishes each routed one within an episode's simulated time, without
touching anything (``World.step`` only, no env)."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios import BUNDLED_DIR, Scenario, load
from scenarios.env_schema import ContinuousAction, DiscreteMetaAction, KinematicsObservation
from simulator.checks import check_scenario
from simulator.world import World

ENV_DIR = BUNDLED_DIR / "envs"
NAMES = ("highway", "urban", "lanekeep", "merge")
ROUTE_END_TOL_M = 1.5  # as envs.rewards: the autopilot parks its centre ~1 m short


def _scenario(name: str) -> Scenario:
    return load(ENV_DIR / f"{name}.yaml")


def _episode_s(sc: Scenario) -> float:
    """Simulated time of a full episode [s]."""
    return sc.env.max_episode_steps / (sc.env.policy_hz or sc.simulation.control_hz)


def _drive(sc: Scenario, seed: int, watch=None) -> tuple[World, bool]:
    """Step the world (ego on autopilot) until the ego crashes, reaches its route's end
    or the episode's time runs out; ``watch(world)`` is called after every step. Returns
    the world (closed) and whether the route end was reached."""
    with World(sc, seed=seed) as w:
        length = w.routes.route(0).length_m
        for _ in range(int(round(_episode_s(sc) / w.dt_s))):
            w.step()
            if watch is not None:
                watch(w)
            if w.crashed[0]:
                return w, False
            progress = w.route_progress(0)
            if progress is not None and (1.0 - progress) * length <= ROUTE_END_TOL_M:
                return w, True
    return w, False


def _ego_collisions(w: World) -> list:
    return [c for c in w.collisions if 0 in (c.vehicle_a, c.vehicle_b)]


@pytest.mark.parametrize("name", NAMES)
def test_loads_and_validates(name: str) -> None:
    sc = _scenario(name)
    hdmap = check_scenario(sc)
    assert sc.env.max_episode_steps >= 1
    assert all(s.rate_hz <= sc.simulation.physics_hz for s in sc.sensors)
    if name == "highway":
        assert sc.ego.destination is None
        assert sc.traffic.count == 50
    else:
        assert sc.ego.destination is not None
        hdmap.route(hdmap.lane_index(sc.ego.start.lane),
                    hdmap.lane_index(sc.ego.destination.lane))


def test_env_sections() -> None:
    highway = _scenario("highway").env
    assert isinstance(highway.action, DiscreteMetaAction)
    assert highway.action.target_speeds_mps == [20.0, 25.0, 30.0]
    assert isinstance(highway.observation, KinematicsObservation)
    assert highway.observation.vehicles_count == 5
    assert highway.max_episode_steps == 400
    lanekeep = _scenario("lanekeep")
    assert isinstance(lanekeep.env.action, ContinuousAction)
    assert {"lat_off", "ang_off"} <= set(lanekeep.env.observation.features)
    assert lanekeep.traffic.count == 0
    for name in ("urban", "merge"):
        assert isinstance(_scenario(name).env.action, DiscreteMetaAction)


@pytest.mark.parametrize(("name", "seed"), [("lanekeep", 0), ("urban", 0), ("urban", 1)])
def test_autopilot_reaches_route_end(name: str, seed: int) -> None:
    w, done = _drive(_scenario(name), seed)
    assert not _ego_collisions(w), w.collisions
    assert done, f"route progress {w.route_progress(0):.3f} after {w.time_s:.1f} s"


def test_highway_autopilot_drives_an_episode_without_crashing() -> None:
    sc = _scenario("highway")
    w, _ = _drive(sc, 0)
    assert not _ego_collisions(w), w.collisions
    assert w.time_s == pytest.approx(_episode_s(sc))
    assert w.traffic.active[0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_merge_autopilot_merges_through_the_acceleration_lane(seed: int) -> None:
    sc = _scenario("merge")
    w0 = World(sc, seed=seed)
    hd = w0.hdmap
    w0.close()
    accel = hd.lanes[hd.lane_index("accel/fwd/2")]
    assert not accel.successors, "the acceleration lane must dead-end"
    ramp = hd.lanes[hd.lane_index("ramp/fwd/0")]
    assert ramp.successors == (accel.index,)
    # Driven inside the acceleration lane: the ego centre within a quarter lane of its
    # centreline, away from both its ends.
    inner = accel.centerline[(accel.s > 10.0) & (accel.s < accel.length_m - 10.0)]
    seen = {"accel": False}

    def watch(w: World) -> None:
        xy = np.array([w.state.x[0], w.state.y[0]])
        if np.min(np.hypot(*(inner - xy).T)) < accel.width_m / 4:
            seen["accel"] = True

    w, done = _drive(sc, seed, watch)
    assert not _ego_collisions(w), w.collisions
    assert done, f"route progress {w.route_progress(0):.3f} after {w.time_s:.1f} s"
    assert accel.index in w.route
    assert seen["accel"], "the ego never drove in the acceleration lane"
    end = hd.lanes[int(w.traffic.lane[0])]
    assert end.id == sc.ego.destination.lane
    assert end.road_id == "final"
