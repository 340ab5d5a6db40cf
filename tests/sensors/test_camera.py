"""Camera rendering against scenes with known answers (FakeWorld, noise off unless stated)."""

import cv2
import numpy as np
import pytest

from scenarios.sensor_schema import CameraConfig
from sensors import SENSOR_TYPES, build_sensor
from sensors.camera import Camera
from simulator.scene.objects import ObjectBox, SceneObject, box_mesh, merge_meshes
from simulator.scene.semantics import CLASS_COLORS, DEFAULT_MATERIALS, SEMANTIC_CLASSES
from tests.fakes import FakeWorld
from viz.camera_preview import depth_image, rgb_with_boxes, semantic_image

DIST = (-0.12, 0.02, 0.001, -0.0005, -0.001)
CAM_Z = 1.5  # default mount height; ego at the origin facing +x


def make_camera(width=640, height=480, fov=90.0, seed=0, **kw) -> Camera:
    kw.setdefault("noise", None)
    cfg = CameraConfig(type="camera", name="cam", width=width, height=height, fov_deg=fov,
                       **kw)
    return Camera(cfg, np.random.default_rng(seed))


def add_flat(world: FakeWorld, iid: int, semantic: str, material: str,
             x: tuple[float, float], y: tuple[float, float], z: float = 0.0) -> None:
    """A horizontal quad (ground, road, marking)."""
    v = np.array([[x[0], y[0], z], [x[1], y[0], z], [x[1], y[1], z], [x[0], y[1], z]],
                 np.float32)
    t = np.array([[0, 1, 2], [0, 2, 3]], np.int32)
    sem = SEMANTIC_CLASSES[semantic]
    world.objects.append(SceneObject(f"{semantic}_{iid}", sem, iid, material, v, t))
    world.materials.set(iid, sem, DEFAULT_MATERIALS[material])
    world._mirror = None


def to_pixel(cam: Camera, p_world) -> tuple[int, int]:
    """(row, col) of a world point for the camera at the origin, height CAM_Z, facing +x."""
    p = np.asarray(p_world, float)
    uv, front = cam.model.project(np.array([[-p[1], -(p[2] - CAM_Z), p[0]]]))
    assert front[0]
    return int(round(uv[0, 1])), int(round(uv[0, 0]))


def face_pixels(cam: Camera, x: float, y: tuple[float, float], z: tuple[float, float]):
    """Pixel index ranges covered by a face x = const facing the camera (pinhole formula):
    pixel centre j is covered iff u_min <= j <= u_max."""
    m = cam.model
    u = sorted(m.fx * -np.array(y) / x + m.cx)
    v = sorted(m.fy * -(np.array(z) - CAM_Z) / x + m.cy)
    return (int(np.ceil(v[0])), int(np.floor(v[1]))), (int(np.ceil(u[0])), int(np.floor(u[1])))


def test_registered_and_outputs():
    assert SENSOR_TYPES["camera"] is Camera
    cfg = CameraConfig(type="camera", name="front", width=64, height=48, noise=None)
    cam = build_sensor(cfg, np.random.default_rng(0))
    assert isinstance(cam, Camera)
    world = FakeWorld()
    world.add_box("wall", (10.5, 0.0), (1.0, 60.0, 40.0), z0=-20.0)
    m = cam.capture(world, 0.0)
    assert m.sensor == "front" and m.sensor_type == "camera" and m.time_s == 0.0
    assert m.data["rgb"].shape == (48, 64, 3) and m.data["rgb"].dtype == np.uint8
    assert m.gt["depth_m"].dtype == np.float32 and m.gt["semantic"].dtype == np.uint8
    assert m.gt["instance"].dtype == np.int32 and m.gt["instance"].shape == (48, 64)
    np.testing.assert_allclose(m.gt["intrinsics"], cam.model.K)
    assert m.gt["distortion"].shape == (5,)
    np.testing.assert_allclose(m.gt["world_from_camera"][:3, 3], [0, 0, CAM_Z])
    np.testing.assert_allclose(m.pose.position, [0, 0, CAM_Z])


def test_box_at_20m_covers_exactly_the_predicted_pixels():
    cam = make_camera()
    world = FakeWorld()
    # Front face at x = 20, y in [-2.03, 2.03], z in [0.03, 3.10] (edges between pixels).
    iid = world.add_box("box", (21.0, 0.0), (2.0, 4.06, 3.07), z0=0.03)
    m = cam.capture(world, 0.0)
    (r0, r1), (c0, c1) = face_pixels(cam, 20.0, (-2.03, 2.03), (0.03, 3.10))
    assert (r0, r1, c0, c1) == (215, 263, 288, 352)  # the formula, worked by hand
    expected = np.zeros((480, 640), bool)
    expected[r0:r1 + 1, c0:c1 + 1] = True
    np.testing.assert_array_equal(m.gt["instance"] == iid, expected)
    np.testing.assert_array_equal(m.gt["semantic"] == SEMANTIC_CLASSES["static_object"],
                                  expected)
    np.testing.assert_allclose(m.gt["depth_m"][expected], 20.0, atol=1e-3)
    assert np.isinf(m.gt["depth_m"][~expected]).all()


def test_two_objects_masks_match_projected_areas():
    cam = make_camera(320, 240, fov=70.0)
    world = FakeWorld()
    # Thin boards (1 mm): off-axis, a thick box's side face would show too.
    a = world.add_box("box", (15.0005, 2.0), (0.001, 2.37, 2.41), z0=0.13)
    b = world.add_box("sign", (30.0005, -3.0), (0.001, 3.11, 4.23), z0=0.07)
    m = cam.capture(world, 0.0)
    for iid, x, y, z, cls in ((a, 15.0, (2 - 1.185, 2 + 1.185), (0.13, 2.54), "static_object"),
                              (b, 30.0, (-3 - 1.555, -3 + 1.555), (0.07, 4.30), "traffic_sign")):
        (r0, r1), (c0, c1) = face_pixels(cam, x, y, z)
        mask = m.gt["instance"] == iid
        assert mask.sum() == (r1 - r0 + 1) * (c1 - c0 + 1)
        assert mask[r0:r1 + 1, c0:c1 + 1].all()
        assert (m.gt["semantic"][mask] == SEMANTIC_CLASSES[cls]).all()


def test_distorted_render_agrees_with_project_points():
    cam = make_camera(fov=90.0, distortion=DIST)
    world = FakeWorld()
    iid = world.add_box("box", (13.0, 3.0), (2.0, 6.0, 5.0), z0=-1.0)  # face at x = 12
    m = cam.capture(world, 0.0)
    s = np.linspace(0.0, 1.0, 200)
    y0, y1, z0, z1 = 0.0, 6.0, -1.0, 4.0
    outline = np.concatenate([
        np.column_stack([np.full_like(s, 12.0), y0 + s * (y1 - y0), np.full_like(s, z0)]),
        np.column_stack([np.full_like(s, 12.0), np.full_like(s, y1), z0 + s * (z1 - z0)]),
        np.column_stack([np.full_like(s, 12.0), y1 - s * (y1 - y0), np.full_like(s, z1)]),
        np.column_stack([np.full_like(s, 12.0), np.full_like(s, y0), z1 - s * (z1 - z0)])])
    cam_pts = np.column_stack([-outline[:, 1], -(outline[:, 2] - CAM_Z), outline[:, 0]])
    uv, _ = cv2.projectPoints(cam_pts.reshape(-1, 1, 3), np.zeros(3), np.zeros(3),
                              cam.model.K, cam.model.distortion)
    uv = uv.reshape(-1, 2)
    rows, cols = np.nonzero(m.gt["instance"] == iid)
    assert abs(cols.min() - np.ceil(uv[:, 0].min())) <= 1
    assert abs(cols.max() - np.floor(uv[:, 0].max())) <= 1
    assert abs(rows.min() - np.ceil(uv[:, 1].min())) <= 1
    assert abs(rows.max() - np.floor(uv[:, 1].max())) <= 1
    poly = np.zeros((480, 640), np.uint8)
    cv2.fillPoly(poly, [np.round(uv * 16).astype(np.int32)], 1, shift=4)
    mask = m.gt["instance"] == iid
    iou = (mask & (poly > 0)).sum() / (mask | (poly > 0)).sum()
    assert iou > 0.98


def test_wall_at_10m_reads_10m_z_depth_everywhere():
    cam = make_camera(320, 240)
    world = FakeWorld()
    iid = world.add_box("wall", (10.5, 0.0), (1.0, 60.0, 40.0), z0=-20.0)
    m = cam.capture(world, 0.0)
    assert (m.gt["instance"] == iid).all()
    assert (m.gt["semantic"] == SEMANTIC_CLASSES["wall"]).all()
    np.testing.assert_allclose(m.gt["depth_m"], 10.0, atol=1e-3)


def test_sky_where_nothing_is_hit():
    cam = make_camera(64, 48)
    m = cam.capture(FakeWorld(), 0.0)
    assert np.isinf(m.gt["depth_m"]).all()
    assert (m.gt["instance"] == 0).all() and (m.gt["semantic"] == 0).all()
    rgb = m.data["rgb"].astype(int)
    assert (rgb[..., 2] > rgb[..., 0] + 30).all()  # blue sky
    assert rgb[0].mean() < rgb[-1].mean() - 10  # darker towards the zenith
    assert m.gt["boxes"] == []


def test_max_range_cuts_hits():
    cam = make_camera(64, 48, max_range_m=15.0)
    world = FakeWorld()
    world.add_box("wall", (20.5, 0.0), (1.0, 80.0, 60.0), z0=-30.0)
    m = cam.capture(world, 0.0)
    assert np.isinf(m.gt["depth_m"]).all() and (m.gt["instance"] == 0).all()


def _shadow_world() -> FakeWorld:
    world = FakeWorld()
    add_flat(world, 5, "ground", "ground", (-50.0, 200.0), (-100.0, 100.0))
    world.add_box("building", (20.0, 5.0), (2.0, 2.0, 10.0))
    return world


@pytest.mark.parametrize("shadows", [True, False])
def test_ground_behind_a_tall_box_is_in_shadow(shadows):
    # Sun from azimuth 135 deg (towards -x, +y), 45 deg up: the box at (20, 5) shades
    # the ground at (23, 2) (its shadow ray enters the box's +x face at y = 4) but not
    # (23, -2); both are in plain view of the camera.
    cam = make_camera(sun_azimuth_deg=135.0, sun_elevation_deg=45.0, shadows=shadows)
    m = cam.capture(_shadow_world(), 0.0)
    rgb = m.data["rgb"].astype(float)
    shaded = rgb[to_pixel(cam, (23.0, 2.0, 0.0))]
    open_ = rgb[to_pixel(cam, (23.0, -2.0, 0.0))]
    assert m.gt["semantic"][to_pixel(cam, (23.0, 2.0, 0.0))] == SEMANTIC_CLASSES["ground"]
    if shadows:
        assert shaded.sum() < 0.75 * open_.sum()
    else:
        np.testing.assert_allclose(shaded, open_, atol=1)


def test_face_towards_the_sun_is_brighter():
    cam = make_camera(sun_azimuth_deg=135.0, sun_elevation_deg=30.0)
    world = FakeWorld()
    center, yaw, half = np.array([12.0, 0.0, 2.0]), np.radians(45.0), 2.0
    iid = world.add_box("box", (12.0, 0.0), (4.0, 4.0, 4.0), yaw=yaw)
    m = cam.capture(world, 0.0)
    # Visible faces: outward normals (-1, 1)/sqrt2 (towards the sun, n.l = cos 30) and
    # (-1, -1)/sqrt2 (perpendicular to the sun's azimuth: n.l = 0, ambient only).
    c, s = np.cos(yaw), np.sin(yaw)
    lit_c = center + half * np.array([-s, c, 0.0])     # local +y face
    dark_c = center + half * np.array([-c, -s, 0.0])   # local -x face
    px_lit, px_dark = to_pixel(cam, lit_c), to_pixel(cam, dark_c)
    assert m.gt["instance"][px_lit] == iid and m.gt["instance"][px_dark] == iid
    lit = m.data["rgb"][px_lit].astype(float).sum()
    dark = m.data["rgb"][px_dark].astype(float).sum()
    assert lit > 1.3 * dark


def test_lane_marking_visible_on_the_road():
    cam = make_camera(sun_elevation_deg=60.0)
    world = FakeWorld()
    add_flat(world, 5, "road", "asphalt", (-10.0, 200.0), (-7.0, 7.0))
    add_flat(world, 6, "lane_marking", "marking_white", (5.0, 60.0), (-1.9, -1.6), z=0.01)
    m = cam.capture(world, 0.0)
    px_mark, px_road = to_pixel(cam, (10.0, -1.75, 0.0)), to_pixel(cam, (10.0, 0.0, 0.0))
    assert m.gt["semantic"][px_mark] == SEMANTIC_CLASSES["lane_marking"]
    assert m.gt["semantic"][px_road] == SEMANTIC_CLASSES["road"]
    assert m.data["rgb"][px_mark].astype(int).min() > m.data["rgb"][px_road].max() + 60


def test_ego_body_is_not_rendered():
    cam = make_camera(64, 48)
    world = FakeWorld()
    world.add_box("box", (0.0, 0.0), (4.5, 1.8, 1.6), instance_id=world.ego_instance_id)
    wall = world.add_box("wall", (10.5, 0.0), (1.0, 60.0, 40.0), z0=-20.0)
    m = cam.capture(world, 0.0)  # the camera (z = 1.5) sits inside the ego's box
    assert (m.gt["instance"] == wall).all()
    assert [b["instance_id"] for b in m.gt["boxes"]] == [wall]


def test_previews():
    cam = make_camera(160, 120)
    world = _shadow_world()
    m = cam.capture(world, 0.0)
    sem = semantic_image(m)
    assert sem.shape == (120, 160, 3) and sem.dtype == np.uint8
    r, c = to_pixel(cam, (23.0, -2.0, 0.0))
    assert tuple(sem[r, c]) == tuple(reversed(CLASS_COLORS[SEMANTIC_CLASSES["ground"]]))
    depth = depth_image(m)
    assert depth.shape == (120, 160, 3) and (depth[0, 0] == 0).all()  # sky black
    near, far = to_pixel(cam, (6.0, 0.0, 0.0)), to_pixel(cam, (60.0, 0.0, 0.0))
    assert depth[near].astype(int).sum() > depth[far].astype(int).sum()
    boxed = rgb_with_boxes(m)
    assert boxed.shape == (120, 160, 3)
    x0, y0, _, _ = (int(v) for v in m.gt["boxes"][0]["box_2d"])
    assert (boxed[y0 + 1:, x0] != cv2.cvtColor(m.data["rgb"], cv2.COLOR_RGB2BGR)[y0 + 1:, x0]
            ).any()


def test_adaptive_shadow_rays_match_one_ray_per_pixel():
    cam = make_camera(321, 241, sun_azimuth_deg=135.0, sun_elevation_deg=45.0)  # odd sizes
    world = _shadow_world()
    world.add_box("pole", (15.0, -3.0), (0.3, 0.3, 6.0))
    adaptive = cam.capture(world, 0.0).data["rgb"]
    cam.shadows.adaptive = False
    exact = cam.capture(world, 0.0).data["rgb"]
    differ = (adaptive != exact).any(axis=2)
    assert differ.mean() < 0.002


def _street(dynamic: bool) -> FakeWorld:
    """Ground, a wall and two cars (+ the ego's body around the camera); the cars and the
    ego are moving geometry when ``dynamic``, plain static boxes otherwise."""
    world = FakeWorld()
    add_flat(world, 5, "ground", "ground", (-50.0, 200.0), (-100.0, 100.0))
    world.add_box("wall", (40.5, 0.0), (1.0, 60.0, 12.0))
    cars = [(2, (12.0, -2.0), 0.3), (3, (20.0, 3.0), -0.2)]
    if not dynamic:
        for iid, xy, yaw in cars:
            world.add_box("box", xy, (4.5, 1.8, 1.5), yaw=yaw, instance_id=iid)
        return world
    parts, owner = [], []
    for iid, xy, yaw in cars + [(world.ego_instance_id, (0.0, 0.0), 0.0)]:
        parts.append(box_mesh(xy, (4.5, 1.8, 1.6 if iid == 1 else 1.5), yaw))
        owner.append(np.full(12, iid))
        if iid != world.ego_instance_id:
            world.materials.set(iid, SEMANTIC_CLASSES["static_object"],
                                DEFAULT_MATERIALS["cardboard"])
            world.boxes.append(ObjectBox(iid, SEMANTIC_CLASSES["static_object"], f"box_{iid}",
                                         np.array([*xy, 0.75]), np.array([4.5, 1.8, 1.5]),
                                         yaw))
    verts, tris = merge_meshes(parts)
    world.mirror().set_dynamic(verts, tris, np.concatenate(owner))
    return world


@pytest.mark.parametrize("distortion", [(0.0,) * 5, DIST])
def test_moving_geometry_renders_like_static_geometry(distortion):
    """The split cast (static BVH + moving geometry only near its projection, moving
    shadows only where they can fall) must equal rendering everything as one scene."""
    cam = make_camera(320, 240, distortion=distortion, sun_azimuth_deg=100.0,
                      sun_elevation_deg=30.0)
    ref = cam.capture(_street(dynamic=False), 0.0)
    got = cam.capture(_street(dynamic=True), 0.0)
    for key in ("instance", "semantic"):
        np.testing.assert_array_equal(got.gt[key], ref.gt[key])
    np.testing.assert_allclose(got.gt["depth_m"], ref.gt["depth_m"], atol=1e-4)
    assert (np.abs(got.data["rgb"].astype(int) - ref.data["rgb"]) > 1).mean() < 1e-3
    assert (got.gt["instance"] == 2).sum() > 500
    if not any(distortion):
        # Car 2 shades the ground on its right (sun from the left, azimuth 100 deg).
        shaded, open_ = to_pixel(cam, (12.0, -4.2, 0.0)), to_pixel(cam, (12.0, -7.0, 0.0))
        assert got.gt["semantic"][shaded] == SEMANTIC_CLASSES["ground"]
        assert got.data["rgb"][shaded].sum() < 0.75 * got.data["rgb"][open_].sum()
    assert [b["instance_id"] for b in got.gt["boxes"]] == \
        [b["instance_id"] for b in ref.gt["boxes"]]
