"""Observation types on tiny scenes whose answer is known exactly: the lidar ring, the
occupancy grid (and the map raster window under it), the camera and the dict of several."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from envs.config import EnvConfigError
from envs.drive_env import DriveEnv
from envs.map_raster import MapRaster
from envs.observations import OBSERVATION_TYPES, build_observation
from envs.observations.lidar2d import ray_rectangle_distance, ring_rectangle_distance
from envs.observations.occupancy import grid_shape
from scenarios import parse_scenario
from scenarios.env_schema import (
    CameraObservation,
    DictObservation,
    Lidar2DObservation,
    OccupancyGridObservation,
)
from simulator.scene.semantics import SEMANTIC_CLASSES
from simulator.world import World

# A straight 3-lane road along +x from the origin (lanes to the right of the reference
# line, y in [-10.5, 0]); the ego at x = 20 in the middle lane.
ROAD = """
simulation: {{seed: 3}}
map:
  roads:
    - id: r
      lanes: {{forward: 3, backward: 0, width_m: 3.5}}
      segments: [{{type: straight, length_m: 400}}]
props: [{props}]
ego:
  start: {{lane: r/fwd/1, s_m: 20}}
  speed_mps: 0
traffic: {{count: {count}, ego_clearance_m: 30}}
sensors: [{sensors}]
"""
# Walls whose faces are 30 m ahead of the ego centre (x = 50) and 12 m left of the road's
# reference line (y = 12).
WALLS = ("{type: wall, position: [50.5, -5.0], size: [1.0, 60.0, 40.0]}, "
         "{type: wall, position: [20.0, 12.5], size: [60.0, 1.0, 40.0]}")
CAMERA = ("{name: cam, type: camera, width: 64, height: 48, fov_deg: 90, "
          "mount: {position: [0.0, 0.0, 1.5]}}")


def _world(count: int = 0, props: str = "", sensors: str = "") -> World:
    return World(parse_scenario(ROAD.format(count=count, props=props, sensors=sensors)))


def _place_ahead(w: World, j: int, fwd: float, left: float, rel_yaw: float = 0.0,
                 of: int = 0) -> None:
    """Teleport vehicle ``j`` to (fwd, left) [m] in vehicle ``of``'s frame."""
    st = w.state
    x, y, yaw = float(st.x[of]), float(st.y[of]), float(st.yaw[of])
    c, s = np.cos(yaw), np.sin(yaw)
    st.set(j, x + c * fwd - s * left, y + s * fwd + c * left, yaw + rel_yaw)


# --------------------------------------------------------------------------- registry
def test_every_observation_type_is_registered() -> None:
    assert {"kinematics", "lidar2d", "occupancy_grid", "camera", "dict"} <= \
        set(OBSERVATION_TYPES)


# --------------------------------------------------------------------------- lidar2d
def test_ray_rectangle_distance_matches_edge_intersections() -> None:
    rng = np.random.default_rng(0)
    n = 40
    centers = rng.uniform(-20, 20, (n, 2))
    yaws = rng.uniform(-np.pi, np.pi, n)
    half = rng.uniform(0.3, 3.0, (n, 2))
    origin = np.array([0.3, -0.2])
    ang = rng.uniform(-np.pi, np.pi, 300)
    dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
    got = ray_rectangle_distance(origin, dirs, centers, yaws, half)
    # Independent answer: the nearest crossing of the ray with any of the 4n edges.
    best = np.full(len(dirs), np.inf)
    for ctr, yaw, (hx, hy) in zip(centers, yaws, half):
        rot = np.array([[np.cos(yaw), -np.sin(yaw)], [np.sin(yaw), np.cos(yaw)]])
        corners = ctr + np.array([[hx, hy], [-hx, hy], [-hx, -hy], [hx, -hy]]) @ rot.T
        for a, b in zip(corners, np.roll(corners, -1, axis=0)):
            e = b - a
            den = dirs[:, 0] * e[1] - dirs[:, 1] * e[0]
            with np.errstate(divide="ignore", invalid="ignore"):
                t = ((a[0] - origin[0]) * e[1] - (a[1] - origin[1]) * e[0]) / den
                u = ((a[0] - origin[0]) * dirs[:, 1] - (a[1] - origin[1]) * dirs[:, 0]) / den
            ok = (t >= 0) & (u >= 0) & (u <= 1)
            best = np.where(ok, np.minimum(best, t), best)
    np.testing.assert_allclose(got, best, rtol=0, atol=1e-9)
    assert np.isfinite(got).sum() > 20


@pytest.mark.parametrize("beams", [240, 7])
def test_ring_sector_culling_gives_the_all_pairs_answer(beams: int) -> None:
    rng = np.random.default_rng(2)
    for trial in range(20):
        n = 50
        origin = rng.uniform(-5, 5, 2)
        yaw = rng.uniform(-4, 4)
        centers = origin + rng.uniform(-40, 40, (n, 2))
        centers[0] = origin + rng.uniform(-1, 1, 2)            # the origin inside a car
        centers[1] = origin + [-9.0, 1e-9]                    # across the +-pi bearing
        yaws = rng.uniform(-np.pi, np.pi, n)
        half = np.tile([2.3, 0.925], (n, 1))
        if trial % 2:
            centers, yaws, half = centers[1:], yaws[1:], half[1:]
        ang = yaw + 2 * np.pi * np.arange(beams) / beams
        dirs = np.stack([np.cos(ang), np.sin(ang)], axis=1)
        ref = ray_rectangle_distance(origin, dirs, centers, yaws, half)
        for cull in (True, False, None):
            got = ring_rectangle_distance(origin, yaw, beams, centers, yaws, half, cull)
            np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9)


def test_lidar_reads_walls_on_the_beams_pointing_at_them() -> None:
    cfg = Lidar2DObservation(beams=240, max_range_m=50.0)
    with _world(props=WALLS) as w:
        obs = build_observation(cfg, w)
        x0, y0 = float(w.state.x[0]), float(w.state.y[0])
        assert x0 == pytest.approx(20.0)
        o = obs.observe(w, 0)
        assert obs.space().contains(o)
        assert o[0] * 50 == pytest.approx(50.0 - x0, abs=1e-3)       # ahead
        assert o[60] * 50 == pytest.approx(12.0 - y0, abs=1e-3)      # 90 deg CCW: left
        assert o[120] == 1.0 and o[180] == 1.0                        # behind, right: none
        # Turned left by 90 deg, beam 0 meets the left wall and beam 180 (its right) the
        # wall ahead of the road.
        w.state.set(0, x0, y0, np.pi / 2)
        o = obs.observe(w, 0)
        assert o[0] * 50 == pytest.approx(12.0 - y0, abs=1e-3)
        assert o[180] * 50 == pytest.approx(50.0 - x0, abs=1e-3)


@pytest.mark.parametrize("rel_yaw, half_depth", [(0.0, "length_m"), (np.pi / 2, "width_m")])
def test_lidar_reads_an_npc_ahead_to_its_near_face(rel_yaw: float, half_depth: str) -> None:
    with _world(count=1) as w:
        obs = build_observation(Lidar2DObservation(beams=240, max_range_m=50.0), w)
        gap = 17.3
        _place_ahead(w, 1, gap, 0.0, rel_yaw)
        o = obs.observe(w, 0)
        near_face = gap - 0.5 * float(getattr(w.params, half_depth)[1])
        assert o[0] * 50 == pytest.approx(near_face, abs=0.01)
        # The NPC looks back at the ego: its beam pointing backwards (it faces the ego's
        # heading when rel_yaw = 0) meets the ego's front face; it never sees itself.
        if rel_yaw == 0.0:
            o1 = obs.observe(w, 1)
            assert o1[120] * 50 == pytest.approx(gap - 0.5 * w.params.length_m[0], abs=0.01)
            assert o1.min() > 0.2


def test_lidar_does_not_see_the_observers_own_car() -> None:
    with _world(count=0) as w:
        o = build_observation(Lidar2DObservation(), w).observe(w, 0)
        assert o.dtype == np.float32 and o.shape == (240,)
        assert (o == 1.0).all()


# --------------------------------------------------------------------------- map raster
def test_map_raster_window_samples_the_raster_at_each_cells_centre() -> None:
    with _world() as w:
        mr = MapRaster(w, 0.25)
        rng = np.random.default_rng(1)
        rows, cols = 64, 48
        for _ in range(6):
            center = np.array([rng.uniform(0, 400), rng.uniform(-20, 10)])
            yaw = rng.uniform(-np.pi, np.pi)
            cell = float(rng.choice([0.25, 0.5, 0.4]))
            for layer in ("drivable", "lane_lines"):
                win = mr.window(layer, center, yaw, (rows, cols), cell)
                v, u = np.mgrid[0:rows, 0:cols]
                fwd, left = ((rows - 1) / 2 - v) * cell, ((cols - 1) / 2 - u) * cell
                c, s = np.cos(yaw), np.sin(yaw)
                xy = np.stack([center[0] + c * fwd - s * left,
                               center[1] + s * fwd + c * left], axis=-1)
                ref = mr.lookup(layer, xy)
                # Centres within a hair of a raster cell border may round either way.
                q = (xy - mr.origin) / mr.resolution_m
                clear = np.abs(q - np.round(q)).min(axis=-1) > 1e-3
                np.testing.assert_array_equal(win[clear], ref[clear])
        assert mr.layers["drivable"].any() and mr.layers["lane_lines"].any()


def test_map_raster_drivable_cells_are_the_road_surface() -> None:
    with _world() as w:
        road = SEMANTIC_CLASSES["road"]
        y = np.concatenate([o.vertices[:, 1] for o in w.static_objects if o.semantic == road])
        y_lo, y_hi = float(y.min()), float(y.max())
        assert (y_lo, y_hi) == pytest.approx((-10.5, 0.0))
        for res in (0.25, 1.0):
            mr = MapRaster(w, res)
            ys = np.arange(-16.0, 6.0, 0.01)
            on = mr.lookup("drivable", np.stack([np.full_like(ys, 100.3), ys], axis=1)) > 0
            # Set: cells overlapping the road (no half-cell shift either way).
            assert ys[on].min() >= y_lo - res - 1e-6 and ys[on].max() <= y_hi + res + 1e-6
            assert on[(ys > y_lo) & (ys < y_hi)].all()


# --------------------------------------------------------------------------- occupancy
def _cells_overlapping(rows: int, cols: int, r: float, fwd: tuple[float, float],
                       left: tuple[float, float]) -> np.ndarray:
    """Cells whose square overlaps fwd in (lo, hi) and left in (lo, hi) (module formula)."""
    v, u = np.mgrid[0:rows, 0:cols]
    f0, f1 = (rows / 2 - 1 - v) * r, (rows / 2 - v) * r
    l0, l1 = (cols / 2 - 1 - u) * r, (cols / 2 - u) * r
    return (f1 > fwd[0]) & (f0 < fwd[1]) & (l1 > left[0]) & (l0 < left[1])


@pytest.mark.parametrize("ego_yaw", [0.0, np.pi / 2, -2.4])
def test_occupancy_npc_fills_the_cells_of_its_footprint(ego_yaw: float) -> None:
    cfg = OccupancyGridObservation(size_m=(64.0, 48.0), resolution_m=0.5,
                                   channels=["vehicles"])
    with _world(count=1) as w:
        obs = build_observation(cfg, w)
        assert grid_shape(cfg) == (128, 96)
        w.state.set(0, 100.3, -5.1, ego_yaw)
        a, b = 10.1, 3.6                    # NPC centre ahead and to the left [m]
        _place_ahead(w, 1, a, b)
        o = obs.observe(w, 0)
        assert o.shape == (1, 128, 96) and o.dtype == np.float32
        assert obs.space().contains(o)
        hl, hw = 0.5 * w.params.length_m[1], 0.5 * w.params.width_m[1]
        expected = _cells_overlapping(128, 96, 0.5, (a - hl, a + hl), (b - hw, b + hw))
        np.testing.assert_array_equal(o[0] > 0, expected)
        # From the NPC: the ego behind it, to its right; never the NPC itself.
        o1 = obs.observe(w, 1)
        hl0, hw0 = 0.5 * w.params.length_m[0], 0.5 * w.params.width_m[0]
        expected = _cells_overlapping(128, 96, 0.5, (-a - hl0, -a + hl0), (-b - hw0, -b + hw0))
        np.testing.assert_array_equal(o1[0] > 0, expected)


def test_occupancy_turned_npc_covers_its_footprint_and_nothing_far() -> None:
    cfg = OccupancyGridObservation(size_m=(40.0, 40.0), resolution_m=0.25,
                                   channels=["vehicles"])
    with _world(count=1) as w:
        obs = build_observation(cfg, w)
        w.state.set(0, 100.0, -5.25, 0.3)
        a, b, rel = 6.0, -2.0, 0.6
        _place_ahead(w, 1, a, b, rel)
        grid = obs.observe(w, 0)[0] > 0
        rows, cols = grid.shape
        v, u = np.mgrid[0:rows, 0:cols]
        fwd, left = ((rows - 1) / 2 - v) * 0.25, ((cols - 1) / 2 - u) * 0.25
        c, s = np.cos(rel), np.sin(rel)     # cell centres in the NPC's frame
        px, py = c * (fwd - a) + s * (left - b), -s * (fwd - a) + c * (left - b)
        hl, hw = 0.5 * w.params.length_m[1], 0.5 * w.params.width_m[1]
        # Outside by: the larger of the two overshoots (0 inside).
        out = np.maximum(np.abs(px) - hl, np.abs(py) - hw)
        assert grid[out < -0.01].all()
        assert not grid[out > 0.25 * np.sqrt(2)].any()


def test_occupancy_static_channels_are_ego_aligned() -> None:
    cfg = OccupancyGridObservation(size_m=(48.0, 48.0), resolution_m=0.5)
    r = cfg.resolution_m
    with _world(count=0) as w:
        obs = build_observation(cfg, w)
        ego_x, ego_y = 100.37, -5.13
        v, u = np.mgrid[0:96, 0:96]
        fwd, left = (47.5 - v) * r, (47.5 - u) * r
        for yaw in (0.0, np.pi / 2):
            w.state.set(0, ego_x, ego_y, yaw)
            o = obs.observe(w, 0)
            assert o.shape == (3, 96, 96) and obs.space().contains(o)
            assert not o[0].any()                      # no other vehicle, not the ego
            drivable = o[1] > 0
            # World y of each cell centre (the road spans y in [-10.5, 0] for all x here).
            y = ego_y + np.sin(yaw) * fwd + np.cos(yaw) * left
            assert drivable[(y > -10.5 + r) & (y < -r)].all()
            assert not drivable[(y < -10.5 - r) | (y > r)].any()
            # Lane lines at y = -3.5 and -7 (dashed) and the edges; none along the ego.
            lines = o[2] > 0
            assert lines[np.abs(y + 3.5) < r].any() and lines[np.abs(y + 7.0) < r].any()
            assert not lines[np.abs(y - ego_y) < 1.0].any()
        # The two headings give the same road, turned by 90 deg.
        w.state.set(0, ego_x, ego_y, 0.0)
        a = obs.observe(w, 0)[1]
        assert a[:, 40:56].all() and not a[:, :20].any()      # a vertical band
        w.state.set(0, ego_x, ego_y, np.pi / 2)
        b = obs.observe(w, 0)[1]
        assert b[40:56, :].all() and not b[:20, :].any()      # now a horizontal band


# --------------------------------------------------------------------------- camera
@pytest.mark.parametrize("channel, shape, dtype", [("rgb", (48, 64, 3), np.uint8),
                                                   ("depth", (48, 64, 1), np.float32),
                                                   ("semantic", (48, 64, 1), np.uint8)])
def test_camera_channels_have_their_shapes(channel: str, shape: tuple, dtype) -> None:
    with _world(props=WALLS, sensors=CAMERA) as w:
        obs = build_observation(CameraObservation(channel=channel), w)
        assert obs.needs_sensors
        obs.reset(w)
        o = obs.observe(w, 0)
        assert o.shape == shape and o.dtype == dtype
        assert obs.space().shape == shape and obs.space().contains(o)


def test_camera_depth_at_the_centre_is_the_wall_distance() -> None:
    with _world(count=1, props=WALLS, sensors=CAMERA) as w:
        w.state.set(1, 35.0, float(w.state.y[0]) + 7.0, 0.0)   # out of the way, left
        obs = build_observation(CameraObservation(channel="depth", width=32, height=24), w)
        obs.reset(w)
        d = obs.observe(w, 0)[..., 0]
        assert d.shape == (24, 32)
        np.testing.assert_allclose(d[11:13, 15:17], 30.0, atol=1e-3)
        # From the NPC, 15 m before the wall (its own body is not in its view).
        d1 = obs.observe(w, 1)[..., 0]
        np.testing.assert_allclose(d1[11:13, 15:17], 15.0, atol=1e-3)
        sem = build_observation(CameraObservation(channel="semantic"), w).observe(w, 0)
        assert sem[23, 32, 0] == SEMANTIC_CLASSES["wall"]
        # Farther than max_depth_m (the wall ahead) reads max_depth_m; so does the sky.
        far = build_observation(CameraObservation(channel="depth", max_depth_m=20.0), w)
        d = far.observe(w, 0)
        assert d.max() == np.float32(20.0) and far.space().contains(d)
        assert (d[:24, 28:36] == np.float32(20.0)).all()   # above the horizon
    with _world(sensors=CAMERA) as w:                       # open road: sky above
        far = build_observation(CameraObservation(channel="depth", max_depth_m=20.0), w)
        d = far.observe(w, 0)
        assert (d[:20] == np.float32(20.0)).all() and far.space().contains(d)


def test_camera_same_seed_gives_the_same_noisy_image() -> None:
    with _world(props=WALLS, sensors=CAMERA) as w:
        obs = build_observation(CameraObservation(width=32, height=24), w)

        def episode(seed: int) -> np.ndarray:
            w.reset(seed=seed)
            obs.reset(w)
            return obs.observe(w, 0)

        a, b, c = episode(7), episode(7), episode(8)
        np.testing.assert_array_equal(a, b)
        assert (a != c).any()                   # the noise differs with the seed


def test_camera_needs_a_camera_in_the_scenario() -> None:
    with _world() as w:
        with pytest.raises(EnvConfigError, match="camera"):
            build_observation(CameraObservation(), w)
    with _world(sensors=CAMERA) as w:
        with pytest.raises(EnvConfigError, match="cam"):
            build_observation(CameraObservation(sensor="rear"), w)


# --------------------------------------------------------------------------- dict
def test_dict_observation_combines_its_children() -> None:
    cfg = DictObservation(spaces={
        "lidar": Lidar2DObservation(beams=36),
        "grid": OccupancyGridObservation(size_m=(20.0, 10.0), resolution_m=1.0),
        "cam": CameraObservation(width=16, height=16)})
    with _world(count=2, props=WALLS, sensors=CAMERA) as w:
        obs = build_observation(cfg, w)
        assert obs.needs_sensors
        obs.reset(w)
        space = obs.space()
        o = obs.observe(w, 1)
        assert set(o) == {"lidar", "grid", "cam"} and space.contains(o)
        assert o["grid"].shape == (3, 20, 10) and o["cam"].shape == (16, 16, 3)
        plain = build_observation(DictObservation(spaces={"l": Lidar2DObservation()}), w)
        assert not plain.needs_sensors


# --------------------------------------------------------------------------- in the env
@pytest.mark.parametrize("observation", [
    {"type": "lidar2d", "beams": 72},
    {"type": "occupancy_grid", "size_m": [32, 16], "resolution_m": 1.0},
    {"type": "camera", "width": 16, "height": 16, "channel": "depth"},
    {"type": "dict", "spaces": {"l": {"type": "lidar2d"},
                                "c": {"type": "camera", "width": 16, "height": 16}}}])
def test_drive_env_passes_check_env(observation: dict) -> None:
    scenario = parse_scenario(ROAD.format(count=3, props=WALLS, sensors=CAMERA))
    env = DriveEnv(scenario, observation=observation, max_episode_steps=5)
    try:
        check_env(env, skip_render_check=True)
        obs, _ = env.reset(seed=1)
        assert env.observation_space.contains(obs)
        for _ in range(3):
            obs, *_ = env.step(env.action_space.sample())
            assert env.observation_space.contains(obs)
    finally:
        env.close()
