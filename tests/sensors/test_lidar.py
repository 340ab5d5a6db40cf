"""Lidar: exact ranges on a wall, intensity ratios, beam tables, rolling scan, noise, GT."""

from __future__ import annotations

import numpy as np
import pytest

from scenarios.sensor_schema import LidarConfig, LidarNoise
from sensors.base import SENSOR_TYPES, build_sensor
from sensors.lidar import Lidar, deskew_points
from sensors.lidar_motion import interpolate_poses, rotation_exp
from sensors.lidar_presets import PRESETS, resolve_geometry
from simulator.pose import Pose, rot_z
from simulator.scene.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES
from tests.fakes import FakeWorld
from viz.lidar_preview import lidar_bev_image

ALPHA = 0.002          # LidarConfig's default atmospheric_attenuation_per_m
MOUNT_Z = 1.9          # default lidar mount height (roof); the ego stands at the origin


def _lidar(noise: LidarNoise | None = None, seed: int = 0, preset: str = "vlp16",
           **kw) -> Lidar:
    cfg = LidarConfig(name="lidar", type="lidar", preset=preset, noise=noise, **kw)
    sensor = build_sensor(cfg, np.random.default_rng(seed))
    assert isinstance(sensor, Lidar)
    return sensor


def _wall(world: FakeWorld, x: float, material: str | None = None, yaw: float = 0.0) -> int:
    """A 1 m thick wall, huge in y and z, whose near face passes through (x, 0)."""
    normal = np.array([np.cos(yaw), np.sin(yaw)])
    center = np.array([x, 0.0]) + 0.5 * normal
    return world.add_box("wall", (float(center[0]), float(center[1])), (1.0, 400.0, 200.0),
                         yaw=yaw, z0=-100.0, material=material)


def _azimuths(columns: int) -> np.ndarray:
    """The documented scan convention: clockwise from just left of straight back."""
    return np.pi - (np.arange(columns) + 0.5) * 2.0 * np.pi / columns


def _elevation(points: np.ndarray) -> np.ndarray:
    return np.arctan2(points[:, 2], np.hypot(points[:, 0], points[:, 1]))


def _by_ray(m) -> dict[int, int]:
    """Map ray id (column * 1000 + ring) -> point index."""
    key = m.data["column"].astype(np.int64) * 1000 + m.data["ring"]
    return {int(k): i for i, k in enumerate(key)}


def _matched(m1, m2) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the points of two sweeps that come from the same ray."""
    a, b = _by_ray(m1), _by_ray(m2)
    common = sorted(set(a) & set(b))
    return np.array([a[k] for k in common]), np.array([b[k] for k in common])


# --------------------------------------------------------------------------- registry
def test_registered_and_noise_switch():
    assert SENSOR_TYPES["lidar"] is Lidar
    assert _lidar(noise=None).noise is None
    assert _lidar(noise=LidarNoise(enabled=False)).noise is None
    assert _lidar(noise=LidarNoise()).noise is not None


# --------------------------------------------------------------------------- geometry
def test_wall_at_10m_exact_ranges():
    world = FakeWorld()
    wall = _wall(world, 10.0)
    lidar = _lidar()
    m = lidar.capture(world, 0.0)
    pts, ring, col = m.data["points"], m.data["ring"], m.data["column"]
    assert pts.dtype == np.float32 and m.data["intensity"].dtype == np.float32
    assert ring.dtype == np.uint16 and m.data["time_offset_s"].dtype == np.float32
    assert np.all(m.gt["instance_id"] == wall)

    elev = np.radians(np.arange(-15.0, 16.0, 2.0))
    az = _azimuths(1800)
    expected = 10.0 / (np.cos(elev[ring]) * np.cos(az[col]))
    assert np.abs(np.linalg.norm(pts, axis=1) - expected).max() < 0.01
    assert np.abs(m.gt["range_m"] - expected).max() < 0.01
    assert np.abs(pts[:, 0] - 10.0).max() < 1e-3                       # on the plane x = 10
    np.testing.assert_allclose(_elevation(pts), elev[ring], atol=1e-5)
    # Every ray pointing at the wall within the 100 m range returns, and no other.
    dx = np.cos(elev)[None, :] * np.cos(az)[:, None]
    assert len(pts) == int(np.count_nonzero(dx > 0.1)) and m.data["num_dropped"] == 0


def test_preset_tables_match_datasheets():
    expect = {"vlp16": (16, -15.0, 15.0), "hdl32e": (32, -30.67, 10.67),
              "hdl64e": (64, -24.33, 2.0), "os1_64": (64, -16.6, 16.6),
              "os1_128": (128, -22.5, 22.5)}
    for name, (n, lo, hi) in expect.items():
        e = PRESETS[name].elevations_deg
        assert len(e) == n and abs(e[0] - lo) < 0.01 and abs(e[-1] - hi) < 0.01, name
        assert np.all(np.diff(e) > 0), name
    np.testing.assert_allclose(PRESETS["vlp16"].elevations_deg, np.arange(-15, 16, 2))
    np.testing.assert_allclose(np.diff(PRESETS["hdl32e"].elevations_deg), 4 / 3, atol=0.011)
    hdl64 = np.array(PRESETS["hdl64e"].elevations_deg)
    np.testing.assert_allclose(np.diff(hdl64[32:]), 1 / 3, atol=1e-3)       # upper block
    np.testing.assert_allclose(np.diff(hdl64[:32]), 0.5, atol=1e-3)         # lower block
    assert abs(hdl64[31] + 8.83) < 0.01 and abs(hdl64[32] + 8.33) < 0.01
    g = resolve_geometry(LidarConfig(name="l", type="lidar", preset="hdl64e"))
    assert (g.columns, g.rotation_hz, g.range_m, g.sweep_duration_s) == (2048, 10.0, 120.0, 0.1)
    assert PRESETS["vlp16"].range_m == 100 and PRESETS["os1_128"].range_m == 120


def test_preset_overrides():
    g = resolve_geometry(LidarConfig(name="l", type="lidar", preset="hdl64e", channels=32,
                                     columns=512, rotation_hz=20, range_m=50))
    np.testing.assert_allclose(np.degrees(g.elevations_rad), np.linspace(-24.3333, 2, 32),
                               atol=1e-3)
    assert (g.columns, g.rotation_hz, g.range_m) == (512, 20.0, 50.0)
    assert g.sweep_duration_s == pytest.approx(0.05)
    g = resolve_geometry(LidarConfig(name="l", type="lidar", preset="hdl64e",
                                     vertical_fov_deg=(-10, 10)))
    np.testing.assert_allclose(np.degrees(g.elevations_rad), np.linspace(-10, 10, 64))
    g = resolve_geometry(LidarConfig(name="l", type="lidar", channels=8,
                                     vertical_fov_deg=(-4, 3), rate_hz=5))
    assert g.channels == 8 and g.rotation_hz == 5 and g.sweep_duration_s == pytest.approx(0.2)


def test_ring_zero_is_lowest_beam():
    world = FakeWorld()
    _wall(world, 10.0)
    m = _lidar(preset="hdl32e").capture(world, 0.0)
    elev = np.degrees(_elevation(m.data["points"]))
    ring = m.data["ring"]
    assert np.allclose(elev[ring == 0], -30.67, atol=0.01)
    assert np.allclose(elev[ring == 31], 10.67, atol=0.01)
    assert np.all(np.diff([elev[ring == r].mean() for r in range(32)]) > 0)


# --------------------------------------------------------------------------- intensity
def test_intensity_falls_with_range_exactly():
    ref = 5.0
    near, far = FakeWorld(), FakeWorld()
    _wall(near, 10.0)
    _wall(far, 30.0)
    lidar = _lidar(intensity_ref_range_m=ref)
    m10, m30 = lidar.capture(near, 0.0), lidar.capture(far, 0.0)
    i, j = _matched(m10, m30)
    assert len(i) > 1000
    r10, r30 = m10.gt["range_m"][i].astype(float), m30.gt["range_m"][j].astype(float)
    i10, i30 = m10.data["intensity"][i], m30.data["intensity"][j]
    np.testing.assert_allclose(i30 / i10, (r10 / r30) ** 2 * np.exp(-2 * ALPHA * (r30 - r10)),
                               rtol=1e-4)
    assert np.all(i30 < i10)
    # Absolute value: rho cos(theta) exp(-2 alpha r) min(1, (r_ref / r)^2), cos = 10 / r.
    rho = DEFAULT_MATERIALS["brick"].lidar_reflectivity
    np.testing.assert_allclose(i10, rho * (10 / r10) * np.exp(-2 * ALPHA * r10)
                               * np.minimum(1, (ref / r10) ** 2), rtol=1e-4)


def test_intensity_falls_with_incidence_angle():
    # alpha = 0 and a far reference range leave I = rho cos(theta) exactly.
    kw = dict(atmospheric_attenuation_per_m=0.0, intensity_ref_range_m=1000.0)
    yaw = np.radians(60.0)
    straight, tilted = FakeWorld(), FakeWorld()
    _wall(straight, 10.0)
    _wall(tilted, 10.0, yaw=yaw)
    m0, m60 = _lidar(**kw).capture(straight, 0.0), _lidar(**kw).capture(tilted, 0.0)
    rho = DEFAULT_MATERIALS["brick"].lidar_reflectivity
    n = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    d60 = m60.data["points"] / np.linalg.norm(m60.data["points"], axis=1, keepdims=True)
    np.testing.assert_allclose(m60.data["intensity"], rho * np.abs(d60 @ n), rtol=1e-4)
    # The beam closest to straight ahead and horizontal: I drops to cos(60 deg) of it.
    i, j = _matched(m0, m60)
    p0 = m0.data["points"][i]
    k = np.argmin(np.abs(np.arctan2(p0[:, 1], p0[:, 0])) + np.abs(_elevation(p0)))
    ratio = m60.data["intensity"][j[k]] / m0.data["intensity"][i[k]]
    assert ratio == pytest.approx(0.5, abs=0.01)


def test_intensity_rises_with_reflectivity():
    dark, bright = FakeWorld(), FakeWorld()
    _wall(dark, 10.0, material="brick")
    _wall(bright, 10.0, material="sign")
    md, mb = _lidar().capture(dark, 0.0), _lidar().capture(bright, 0.0)
    i, j = _matched(md, mb)
    assert len(i) == len(md.data["points"])
    expected = (DEFAULT_MATERIALS["sign"].lidar_reflectivity
                / DEFAULT_MATERIALS["brick"].lidar_reflectivity)
    np.testing.assert_allclose(mb.data["intensity"][j] / md.data["intensity"][i], expected,
                               rtol=1e-5)


# --------------------------------------------------------------------------- rolling scan
def _driving_world() -> tuple[FakeWorld, int, int]:
    world = FakeWorld(ego_velocity=np.array([20.0, 0.0, 0.0]), time_s=1.0)
    front = _wall(world, 30.0)
    back = _wall(world, -10.0, yaw=np.pi)
    return world, front, back


def test_rolling_scan_first_column_fired_2m_behind_last():
    world, front, back = _driving_world()
    m = _lidar().capture(world, 1.0)
    start, end = m.gt["pose_sweep_start"], m.gt["pose_sweep_end"]
    np.testing.assert_allclose(start[:3, 3] - end[:3, 3], [-2.0, 0.0, 0.0], atol=1e-9)
    np.testing.assert_allclose(end[:3, 3], [0.0, 0.0, MOUNT_Z], atol=1e-9)
    assert m.data["sweep_duration_s"] == pytest.approx(0.1)
    tof, col, x = m.data["time_offset_s"], m.data["column"], m.data["points"][:, 0]
    assert tof.min() == 0.0 and tof.max() == pytest.approx(0.1)
    on_back = m.gt["instance_id"] == back
    first, last = on_back & (col == 0), on_back & (col == col.max())
    assert first.sum() > 5 and last.sum() > 5
    assert np.abs(x[first] + 8.0).max() < 1e-3       # fired from x = -2 m: wall 8 m behind
    assert np.abs(x[last] + 10.0).max() < 1e-3       # fired from x = 0 m: wall 10 m behind


def test_deskew_recovers_static_walls():
    world, front, back = _driving_world()
    m = _lidar().capture(world, 1.0)
    inst, pts = m.gt["instance_id"], m.data["points"]
    assert np.ptp(pts[inst == front, 0]) > 0.5                 # the raw sweep is skewed
    d = deskew_points(pts, m.data["time_offset_s"], m.data["sweep_duration_s"],
                      m.gt["pose_sweep_start"], m.gt["pose_sweep_end"])
    assert np.abs(d[inst == front, 0] - 30.0).max() < 1e-3
    assert np.abs(d[inst == back, 0] + 10.0).max() < 1e-3
    np.testing.assert_allclose(m.gt["points_deskewed"], d, atol=1e-3)


class _TurningWorld(FakeWorld):
    """The fake ego, additionally turning at a constant yaw rate."""

    yaw_rate: float = 0.5

    def ego_pose(self, t_s: float | None = None) -> Pose:
        p = super().ego_pose(t_s)
        yaw = self.ego_yaw + self.yaw_rate * (p.time_s - self.time_s)
        return Pose(p.position, rot_z(yaw), p.velocity, np.array([0, 0, self.yaw_rate]),
                    time_s=p.time_s)


def test_deskew_with_turning_ego():
    world = _TurningWorld(ego_velocity=np.array([15.0, 3.0, 0.0]), time_s=2.0, ego_yaw=0.3)
    walls = {_wall(world, 30.0): (0, 30.0), _wall(world, -12.0, yaw=np.pi): (0, -12.0)}
    walls[world.add_box("wall", (0.0, 20.5), (400.0, 1.0, 200.0), z0=-100.0)] = (1, 20.0)
    m = _lidar(preset="hdl32e", mount={"position": (1.0, 0.5, 1.8),
                                       "rpy_deg": (2.0, -3.0, 10.0)}).capture(world, 2.0)
    end = m.gt["pose_sweep_end"]
    d = deskew_points(m.data["points"], m.data["time_offset_s"], m.data["sweep_duration_s"],
                      m.gt["pose_sweep_start"], end)
    w = d.astype(float) @ end[:3, :3].T + end[:3, 3]
    gt_w = m.gt["points_deskewed"].astype(float) @ end[:3, :3].T + end[:3, 3]
    for iid, (axis, coord) in walls.items():
        sel = m.gt["instance_id"] == iid
        assert sel.sum() > 100
        assert np.abs(w[sel, axis] - coord).max() < 2e-3
        assert np.abs(gt_w[sel, axis] - coord).max() < 2e-3


def test_pose_interpolation_is_slerp():
    s, e = np.eye(4), np.eye(4)
    e[:3, :3], e[:3, 3] = rot_z(0.4), [4.0, 2.0, 0.0]
    rots, pos = interpolate_poses(s, e, np.array([0.0, 0.25, 1.0]))
    np.testing.assert_allclose(rots[1], rot_z(0.1), atol=1e-12)
    np.testing.assert_allclose(rots[2], rot_z(0.4), atol=1e-12)
    np.testing.assert_allclose(pos[1], [1.0, 0.5, 0.0])
    axis = np.array([1.0, 2.0, 2.0]) / 3.0
    r1 = rotation_exp((2.0 * axis)[None])[0]
    e[:3, :3] = r1
    rots, _ = interpolate_poses(s, e, np.array([0.5]))
    np.testing.assert_allclose(rots[0] @ rots[0], r1, atol=1e-12)


# --------------------------------------------------------------------------- noise
def _quiet(**kw) -> LidarNoise:
    base = dict(range_std_m=0.0, dropout_prob=0.0, intensity_dropout=0.0,
                mixed_pixel_prob=0.0, intensity_std=0.0)
    base.update(kw)
    return LidarNoise(**base)


def test_range_noise_std():
    world = FakeWorld()
    _wall(world, 10.0)
    m = _lidar(noise=_quiet(range_std_m=0.05), preset="hdl32e").capture(world, 0.0)
    err = np.linalg.norm(m.data["points"], axis=1) - m.gt["range_m"]
    assert len(err) > 20000
    assert np.std(err) == pytest.approx(0.05, rel=0.03)
    assert abs(np.mean(err)) < 0.002
    assert m.data["num_dropped"] == 0 and not m.gt["mixed_pixel"].any()


def test_uniform_dropout_fraction():
    world = FakeWorld()
    _wall(world, 10.0)
    clean = _lidar(preset="hdl32e").capture(world, 0.0)
    m = _lidar(noise=_quiet(dropout_prob=0.3), preset="hdl32e").capture(world, 0.0)
    total = len(m.data["points"]) + m.data["num_dropped"]
    assert total == len(clean.data["points"])
    assert m.data["num_dropped"] / total == pytest.approx(0.3, abs=0.015)
    for key in ("range_m", "semantic", "instance_id", "intensity", "points_deskewed"):
        assert len(m.gt[key]) == len(m.data["points"]), key
    # Kept points are exact (no other noise) and their GT is aligned with them.
    np.testing.assert_allclose(np.linalg.norm(m.data["points"], axis=1), m.gt["range_m"],
                               rtol=1e-6)


def test_weak_returns_dropped_more_often():
    # Wall beyond r_ref: signal = reported intensity, so the keep chance is min(1, I / T).
    kw = dict(preset="hdl32e", intensity_ref_range_m=10.0)
    world = FakeWorld()
    _wall(world, 10.0, material="glass_facade")
    clean = _lidar(**kw).capture(world, 0.0)
    m = _lidar(noise=_quiet(intensity_dropout=0.5), **kw).capture(world, 0.0)
    p = np.minimum(1.0, clean.data["intensity"].astype(float) / 0.5)
    kept = len(m.data["points"])
    assert abs(kept - p.sum()) < 4.0 * np.sqrt(np.sum(p * (1 - p)))
    assert kept + m.data["num_dropped"] == len(clean.data["points"])
    i, j = _matched(clean, m)
    strong = clean.data["intensity"] > np.median(clean.data["intensity"])
    kept_strong = np.isin(np.arange(len(strong)), i) & strong
    assert kept_strong.sum() / strong.sum() > 1.5 * (len(i) - kept_strong.sum()) / (~strong).sum()


def test_mixed_pixels_only_at_depth_edges():
    world = FakeWorld()
    _wall(world, 30.0)
    pole = world.add_box("box", (10.0, 0.0), (1.0, 2.0, 100.0), z0=-50.0)
    clean = _lidar().capture(world, 0.0)
    m = _lidar(noise=_quiet(mixed_pixel_prob=1.0)).capture(world, 0.0)
    # Edge beams from the clean sweep: same ring, consecutive columns, different surface.
    ray = clean.data["column"].astype(np.int64) * 1000 + clean.data["ring"]
    owner = dict(zip(ray.tolist(), clean.gt["instance_id"].tolist()))
    edges = set()
    for key, iid in owner.items():
        nxt = key + 1000
        if nxt in owner and owner[nxt] != iid:
            edges |= {key, nxt}
    assert len(edges) == 2 * 2 * 16                  # two silhouettes x two beams x 16 rings
    mkey = m.data["column"].astype(np.int64) * 1000 + m.data["ring"]
    mixed = m.gt["mixed_pixel"]
    assert set(mkey[mixed].tolist()) == edges
    r = np.linalg.norm(m.data["points"], axis=1)
    assert np.all((r[mixed] > 9.4) & (r[mixed] < 31.1))
    assert np.all(np.abs(r[mixed] - m.gt["range_m"][mixed]) > 1e-4)
    np.testing.assert_allclose(r[~mixed], m.gt["range_m"][~mixed], rtol=1e-6)
    assert np.any(m.gt["instance_id"] == pole)


def test_same_seed_same_sweep_other_seed_differs():
    world = FakeWorld()
    _wall(world, 10.0)
    world.add_box("box", (8.0, 2.0), (1.0, 1.0, 3.0), z0=-1.5)
    a = _lidar(noise=LidarNoise(dropout_prob=0.1), seed=7).capture(world, 0.0)
    b = _lidar(noise=LidarNoise(dropout_prob=0.1), seed=7).capture(world, 0.0)
    c = _lidar(noise=LidarNoise(dropout_prob=0.1), seed=8).capture(world, 0.0)
    for key in ("points", "intensity", "ring", "time_offset_s"):
        np.testing.assert_array_equal(a.data[key], b.data[key])
    assert a.data["num_dropped"] == b.data["num_dropped"] > 0
    assert not np.array_equal(a.data["points"], c.data["points"][: len(a.data["points"])])


# --------------------------------------------------------------------------- GT and ego
def test_gt_ids_match_boxes_hit():
    world = FakeWorld()
    wall = _wall(world, 30.0)
    box = world.add_box("box", (10.0, 0.0), (1.0, 6.0, 4.0), z0=-1.0)
    m = _lidar().capture(world, 0.0)
    x, inst, sem = m.data["points"][:, 0], m.gt["instance_id"], m.gt["semantic"]
    on_box = (x > 9.49) & (x < 10.51)
    on_wall = np.abs(x - 30.0) < 1e-3
    assert on_box.sum() > 50 and on_wall.sum() > 1000 and np.all(on_box | on_wall)
    assert np.all(inst[on_box] == box) and np.all(sem[on_box] == SEMANTIC_CLASSES[
        "static_object"])
    assert np.all(inst[on_wall] == wall) and np.all(sem[on_wall] == SEMANTIC_CLASSES["wall"])


def test_ego_body_and_blind_zone_give_no_return():
    world = FakeWorld()
    wall = _wall(world, 10.0)
    world.add_box("box", (3.0, 0.0), (1.0, 1.0, 100.0), z0=-50.0,
                  instance_id=world.ego_instance_id)
    m = _lidar().capture(world, 0.0)
    p = m.data["points"]
    assert np.all(m.gt["instance_id"] == wall)
    ratio = np.abs(p[:, 1]) / p[:, 0]
    assert not np.any(ratio < 0.5 / 3.5)             # the ego's shadow stays empty
    assert np.any(ratio < 0.25)
    near = FakeWorld()
    _wall(near, 0.3)
    m = _lidar(min_range_m=0.5).capture(near, 0.0)
    assert len(m.data["points"]) > 0 and m.gt["range_m"].min() >= 0.5


# --------------------------------------------------------------------------- preview
def test_bev_preview_draws_the_wall_in_front():
    world = FakeWorld()
    _wall(world, 10.0)
    m = _lidar().capture(world, 0.0)
    img = lidar_bev_image(m, size_px=800, range_m=60)
    assert img.shape == (800, 800, 3) and img.dtype == np.uint8
    row = int(400 - 10.0 * 800 / 120)                 # x = 10 m forward
    assert img[row - 1:row + 1, 350:450].any()       # wall points
    assert img[400, 400].tolist() == [255, 255, 255]  # ego marker
    assert not img[308:312, 508:512].any()           # behind the wall, between 20/30 m rings


def test_default_mount_sits_on_the_roof_and_sees_past_the_ego():
    """A lidar declared without a mount stands above the car's roof (1.9 m > 1.5 m), so its
    beams leave the ego body and the ground around the car returns (from inside the body
    every beam first hit the ego and was dropped)."""
    from scenarios import parse_scenario
    from sensors import Rig
    from simulator.world import World

    text = """
    map: {roads: [{id: r, segments: [{type: straight, length_m: 200}]}]}
    ego: {start: {lane: r/fwd/0, s_m: 50}, speed_mps: 0}
    traffic: {count: 0}
    sensors: [{name: top, type: lidar, preset: vlp16, noise: null}]
    """
    sc = parse_scenario(text)
    assert sc.sensors[0].mount.position == (0.0, 0.0, 1.9)
    assert sc.sensors[0].mount.position[2] > sc.ego.vehicle.height_m
    with World(sc) as w:
        m = Rig(list(sc.sensors), w.sensor_seed_seq).capture(w, 0.0)["top"]
    assert len(m.data["points"]) > 5000
    assert (m.gt["instance_id"] != w.ego_instance_id).all()
