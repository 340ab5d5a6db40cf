"""Vehicles ride on the road surface: z, pitch and roll from the lanes' heights, seen by the
ego pose (and so the IMU and every mounted sensor), the GT boxes, the ray-cast mirror and
the collision checks; a flat map stays bit for bit as it was."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from scenarios import DEFAULT_SCENARIO, load, parse_scenario
from sensors.base import build_sensor
from simulator.constants import GRAVITY_MPS2
from simulator.map.lanes import LaneTable
from simulator.pose import rot_z, rpy_to_matrix
from simulator.scene.collisions import CollisionWorld
from simulator.vehicles import mesh as car_mesh
from simulator.world import DirectControl, World

GRADE = 0.05       # dz/dx: a 5 % climb eastwards
CROSS = 0.03       # dz/dy: the left (north) side 3 % higher

# A straight 2-lane road heading east; vehicle 1 starts 60 m ahead of the ego.
ROAD = """
simulation: {{seed: 2}}
map:
  roads:
    - id: r
      start: {{position: [0, 0], heading_deg: 0}}
      lanes: {{forward: 2, backward: 0, width_m: 3.5}}
      speed_limit_mps: 20
      segments: [{{type: straight, length_m: 1500}}]
ego:
  start: {{lane: r/fwd/0, s_m: 40}}
  speed_mps: {speed}
  autopilot: {{cruise_speed_mps: {speed}}}
traffic: {{count: {count}, ego_clearance_m: 50}}
sensors:
  - {{name: imu, type: imu, mount: {{position: [0.3, 0.0, 0.5]}}, noise: null}}
  - {{name: lidar, type: lidar, preset: vlp16, mount: {{position: [0.0, 0.0, 1.9]}}}}
  - {{name: cam, type: camera, width: 64, height: 48,
      mount: {{position: [1.6, 0.0, 1.5], rpy_deg: [0, 2, 0]}}}}
"""


def _plane(xy: np.ndarray) -> np.ndarray:
    return GRADE * xy[..., 0] + CROSS * xy[..., 1]


def _tilt(world: World) -> None:
    """Put every lane on the plane z = GRADE x + CROSS y (lanes head east, so their grade
    is GRADE and their cross-slope CROSS) and start a new episode on it."""
    hd = world.hdmap
    lanes = [dataclasses.replace(ln, z=_plane(ln.centerline),
                                 cross_slope=np.full(len(ln.s), CROSS)) for ln in hd.lanes]
    hd.lanes[:] = lanes
    hd.table = LaneTable(lanes)
    world.lanes.table = hd.table
    world.reset(seed=1)


def _world(count: int = 0, speed: float = 15.0) -> World:
    return World(parse_scenario(ROAD.format(count=count, speed=speed)))


def _sensor(world: World, name: str):
    cfg = next(c for c in world.scenario.sensors if c.name == name)
    return build_sensor(cfg, np.random.default_rng(0))


def _run(world: World, seconds: float, controls=None) -> None:
    for _ in range(int(round(seconds / world.dt_s))):
        world.step(controls)


def test_the_ego_pose_follows_the_ramp() -> None:
    with _world() as w:
        _tilt(w)
        assert w.elevated
        _run(w, 3.0)
        pose = w.ego_pose()
        x, y = pose.position[:2]
        assert pose.position[2] == pytest.approx(_plane(np.array([x, y])), abs=0.01)
        assert w.vehicle_pitch_rad[0] == pytest.approx(-math.atan(GRADE), abs=2e-4)
        assert w.vehicle_roll_rad[0] == pytest.approx(math.atan(CROSS), abs=2e-4)
        yaw = float(w.state.yaw[0])
        want = rpy_to_matrix(math.atan(CROSS), -math.atan(GRADE), yaw)
        assert np.allclose(pose.rotation, want, atol=3e-4)
        # Nose up, left side up (pitch > 0 would be nose down, see rpy_to_matrix).
        assert pose.rotation[2, 0] > 0 and pose.rotation[2, 1] > 0
        # Climbing: the vertical velocity is the grade times the speed (straight ahead).
        v = float(w.state.vx[0])
        assert pose.velocity[2] == pytest.approx(GRADE * v, rel=0.02, abs=0.01)
        assert abs(pose.acceleration[2]) < 0.05
        assert np.allclose(pose.angular_velocity[:2], 0.0, atol=1e-3)
        # Between steps and into the past too.
        past = w.ego_pose(w.time_s - 0.555)
        assert past.position[2] == pytest.approx(_plane(past.position[:2]), abs=0.01)


def test_imu_reads_gravity_along_the_slope_at_steady_speed() -> None:
    """On a steady climb the accelerometer's x reads +g sin(grade angle): the specific
    force is gravity's reaction (0, 0, g) seen in the tilted body frame."""
    with _world() as w:
        _tilt(w)
        imu = _sensor(w, "imu")
        _run(w, 6.0)               # the autopilot holds its cruise speed
        v0 = float(w.state.vx[0])
        _run(w, 1.0)
        assert abs(float(w.state.vx[0]) - v0) < 0.05      # steady
        m = imu.capture(w, w.time_s)
        theta = math.atan(GRADE)
        assert m.gt["accel_mps2"][0] == pytest.approx(GRAVITY_MPS2 * math.sin(theta), abs=0.05)
        rot = m.pose.rotation
        assert np.allclose(m.gt["accel_mps2"], rot.T @ np.array([0, 0, GRAVITY_MPS2]),
                           atol=0.05)
        assert np.allclose(m.gt["gyro_radps"], 0.0, atol=2e-3)


def test_imu_exact_at_constant_speed_under_direct_control() -> None:
    with _world() as w:
        _tilt(w)
        imu = _sensor(w, "imu")
        hold = DirectControl(accel_mps2=0.0, steer_rad=0.0)
        _run(w, 2.0, hold)
        m = imu.capture(w, w.time_s)
        theta = math.atan(GRADE)
        assert m.gt["accel_mps2"][0] == pytest.approx(GRAVITY_MPS2 * math.sin(theta), abs=1e-3)


def test_boxes_and_mounted_sensors_ride_on_the_surface() -> None:
    with _world() as w:
        _tilt(w)
        _run(w, 1.0)
        pose = w.ego_pose()
        z = pose.position[2]
        box = next(b for b in w.vehicle_boxes() if b.instance_id == w.ego_instance_id)
        h = w.params.height_m[0]
        assert box.center[2] == pytest.approx(z + h / 2, abs=1e-9)
        assert z == pytest.approx(w.vehicle_z_m[0], abs=1e-9)
        for name, offset in (("lidar", [0.0, 0.0, 1.9]), ("cam", [1.6, 0.0, 1.5])):
            sp = _sensor(w, name).sensor_pose(w)
            assert np.allclose(sp.position, pose.position + pose.rotation @ offset)
            # The mount height above the road at the mount's own spot (within the tilt).
            ground = _plane(sp.position[:2])
            assert sp.position[2] - ground == pytest.approx(offset[2], abs=0.01)
        # The ray-cast mirror holds the ego's mesh on the ramp, tilted with it.
        verts, _, inst = w.mirror().dynamic_mesh()
        tris = w.mirror().dynamic_mesh()[1][inst == w.ego_instance_id]
        ego = verts[np.unique(tris)].astype(np.float64)
        body = pose.inverse_transform_points(ego)
        assert body[:, 2].min() == pytest.approx(0.0, abs=1e-3)
        assert body[:, 2].max() == pytest.approx(h, abs=1e-3)
        assert ego[:, 2].min() > z - 0.15 and ego[:, 2].max() < z + h + 0.15


def test_place_vehicles_rotates_by_pitch_and_roll() -> None:
    rng = np.random.default_rng(0)
    n = 4
    x, y, z = rng.normal(size=(3, n)) * 10
    yaw, pitch, roll = rng.uniform(-0.3, 0.3, size=(3, n))
    size = np.array([[4.5, 1.8, 1.5]] * n)
    idx = np.zeros(n, np.int64)
    flat, _, _ = car_mesh.place_vehicles(idx, x, y, yaw, *size.T)
    verts, tris, owner = car_mesh.place_vehicles(idx, x, y, yaw, *size.T, z=z, pitch=pitch,
                                                 roll=roll)
    unit, _ = car_mesh.template("car")
    nv = len(unit)
    for i in range(n):
        rot = rpy_to_matrix(roll[i], pitch[i], yaw[i])
        want = (unit.astype(np.float64) * size[i]) @ rot.T + [x[i], y[i], z[i]]
        assert np.allclose(verts[i * nv:(i + 1) * nv], want, atol=1e-4)
    # Without pitch and roll: the planar placement, unchanged.
    again, _, _ = car_mesh.place_vehicles(idx, x, y, yaw, *size.T)
    assert np.array_equal(flat, again)


def test_cars_on_a_bridge_over_each_other_do_not_collide() -> None:
    with _world(count=1) as w:
        _tilt(w)
        st, tr = w.state, w.traffic
        assert tr.active[1]
        # Put car 1 right on top of the ego in plan.
        st.set(1, float(st.x[0]), float(st.y[0]) + 0.3, float(st.yaw[0]), 0.0)
        w.vehicle_z_m[1] = w.vehicle_z_m[0] + 6.0
        w._check_collisions()
        assert w.collisions == []
        w.vehicle_z_m[1] = w.vehicle_z_m[0] + 0.2
        w._check_collisions()
        assert [(c.vehicle_a, c.vehicle_b) for c in w.collisions] == [(0, 1)]


def test_collision_candidates_in_3d_agree_with_the_numpy_reference() -> None:
    hull = car_mesh.collision_hull_vertices(4.5, 1.8, 1.5)
    cw = CollisionWorld([hull] * 4, [((10.0, 0.0), (1.0, 1.0, 2.0), 0.0),
                                     ((30.0, 0.0), (1.0, 1.0, 1.0), 0.0)], prop_z=[0.0, 8.0])
    try:
        x = np.array([0.0, 1.0, 10.5, 30.0])
        y = np.zeros(4)
        yaw = np.zeros(4)
        active = np.ones(4, bool)
        z = np.array([0.0, 6.0, 0.0, 0.0])       # 1 is on a bridge over 0; 3 passes under
        pitch = np.full(4, -0.05)
        got = []
        for use_kernel in (True, False):
            cw.use_kernel = use_kernel
            got.append(cw.candidates(x, y, yaw, active, z, pitch).tolist())
        assert got[0] == got[1] == [False, False, True, False]
        z[1] = 0.5
        z[3] = 7.5
        for use_kernel in (True, False):
            cw.use_kernel = use_kernel
            assert cw.candidates(x, y, yaw, active, z, pitch).tolist() == [True, True, True,
                                                                           True]
        # pybullet agrees: posed in 3D, stacked cars do not touch, level ones do.
        z = np.array([0.0, 6.0, 50.0, 80.0])
        cw.sync(x, y, yaw, np.array([True, True, False, False]), z, pitch)
        assert cw.contacts() == set()
        z[1] = 0.3
        cw.sync(x, y, yaw, np.array([True, True, False, False]), z, pitch)
        assert cw.contacts() == {("vehicle", 0, "vehicle", 1)}
    finally:
        cw.close()


def test_a_flat_map_keeps_the_planar_pose_bit_for_bit() -> None:
    sc = load(DEFAULT_SCENARIO).model_copy(update={"sensors": []})
    with World(sc) as w:
        assert not w.elevated
        for _ in range(150):
            w.step()
        col = w.state.data[:, 0]
        pose = w.ego_pose()
        rot = rot_z(col[2])
        assert pose.position.tobytes() == np.array([col[0], col[1], 0.0]).tobytes()
        assert pose.rotation.tobytes() == rot.tobytes()
        assert pose.velocity.tobytes() == (rot @ np.array([col[3], col[4], 0.0])).tobytes()
        assert pose.acceleration.tobytes() == (rot @ np.array([col[7], col[8], 0.0])).tobytes()
        assert pose.angular_velocity.tobytes() == np.array([0.0, 0.0, col[5]]).tobytes()
        assert not w.vehicle_z_m.any() and not w.vehicle_pitch_rad.any() \
            and not w.vehicle_roll_rad.any()
        h = w.params.height_m
        for b in w.vehicle_boxes():
            i = int(b.instance_id) - 1
            assert b.center[2] == h[i] / 2


def test_surface_kernel_matches_the_numpy_reference() -> None:
    from simulator.vehicles.surface import surface_pose, surface_pose_numpy, surface_table

    with _world(count=6) as w:
        hd = w.hdmap
        # A bumpy, twisted surface: heights vary along and across every lane.
        lanes = [dataclasses.replace(ln, z=2.0 * np.sin(ln.s / 40.0) + 0.01 * ln.s,
                                     cross_slope=0.04 * np.cos(ln.s / 25.0))
                 for ln in hd.lanes]
        hd.lanes[:] = lanes
        hd.table = LaneTable(lanes)
        w.lanes.table = hd.table
        w.reset(seed=3)
        _run(w, 2.0)
        tr, st, pr = w.traffic, w.state, w.params
        s = tr.s.copy()
        s[1] = w.lanes.length_m[tr.lane[1]] - 0.5     # front axle on the next lane
        out = [np.full((3, w.n_vehicles), -9.0) for _ in range(2)]
        args = (tr.lane, tr.next_lane, s, st.x, st.y, tr.active, pr.lf_m, pr.lr_m, pr.width_m)
        surface_pose(w.lanes, surface_table(hd.table), *args, *out[0])
        surface_pose_numpy(w.lanes, hd.table, *args, *out[1])
        assert np.allclose(out[0], out[1], atol=1e-9)
        assert (out[0][:, ~tr.active] == -9.0).all()
        assert np.ptp(out[0][0, tr.active]) > 0.5       # the cars are at various heights
