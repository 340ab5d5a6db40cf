"""Camera box GT: 2D/3D boxes, truncation, occlusion (FakeWorld, known answers)."""

import numpy as np
import pytest

from scenarios.sensor_schema import CameraConfig
from sensors.camera import Camera
from sensors.camera_gt import box_corners, clip_to_front
from simulator.scene.objects import ObjectBox
from tests.fakes import FakeWorld

CAM_Z = 1.5


def make_camera(width=640, height=480, **kw) -> Camera:
    cfg = CameraConfig(type="camera", name="cam", width=width, height=height, noise=None, **kw)
    return Camera(cfg, np.random.default_rng(0))


def world_to_optical(p):
    """Camera at (0, 0, CAM_Z) looking along +x (ego at the origin)."""
    p = np.atleast_2d(p)
    return np.column_stack([-p[:, 1], -(p[:, 2] - CAM_Z), p[:, 0]])


def boxes_by_id(m):
    return {b["instance_id"]: b for b in m.gt["boxes"]}


def test_box_corners_match_objectbox():
    b = ObjectBox(3, 11, "car", np.array([4.0, -2.0, 0.75]), np.array([4.5, 1.8, 1.5]), 0.4)
    np.testing.assert_allclose(box_corners(b.center[None], b.size[None], np.array([b.yaw]))[0],
                               b.corners())


def test_unoccluded_box_2d_is_the_projection_of_its_corners():
    cam = make_camera()
    world = FakeWorld()
    iid = world.add_box("box", (15.0, 3.0), (4.0, 2.0, 1.5), yaw=0.3)
    m = cam.capture(world, 0.0)
    gt = boxes_by_id(m)[iid]
    box = world.boxes[0]
    uv, front = cam.model.project(world_to_optical(box.corners()))
    assert front.all()
    u0, v0 = uv.min(axis=0)
    u1, v1 = uv.max(axis=0)
    np.testing.assert_allclose(gt["box_2d_projected"], [u0, v0, u1, v1], atol=1e-6)
    # Mask extremes: the first/last pixel centres inside [u0, u1] x [v0, v1].
    np.testing.assert_allclose(gt["box_2d"], [np.ceil(u0), np.ceil(v0), np.floor(u1),
                                              np.floor(v1)], atol=1.0)
    assert gt["visible_pixels"] == int((m.gt["instance"] == iid).sum())
    assert gt["truncation"] == 0.0
    assert gt["occlusion"] == pytest.approx(0.0, abs=1e-9)
    # 3D box: world and camera frame (KITTI rotation_y = -pi/2 - yaw for this camera).
    np.testing.assert_allclose(gt["center_world"], [15.0, 3.0, 0.75])
    np.testing.assert_allclose(gt["size_lwh"], [4.0, 2.0, 1.5])
    assert gt["yaw_world"] == pytest.approx(0.3)
    np.testing.assert_allclose(gt["center_cam"], [-3.0, 0.75, 15.0], atol=1e-12)
    np.testing.assert_allclose(gt["bottom_center_cam"], [-3.0, 1.5, 15.0], atol=1e-12)
    assert gt["rotation_y"] == pytest.approx(-np.pi / 2 - 0.3)
    heading_cam = np.asarray(gt["rotation_cam"])[:, 0]
    np.testing.assert_allclose(heading_cam, [-np.sin(0.3), 0.0, np.cos(0.3)], atol=1e-12)
    assert gt["class_name"] == "static_object" and gt["name"] == box.name


def test_object_half_behind_another_reports_half_occlusion():
    cam = make_camera()
    world = FakeWorld()
    # Board B at 20 m: columns 288..352 (u = 320 -+ 32.48). Board A at 10 m covers all of
    # B with y > 0, i.e. the columns left of u = 320: 32 of B's 65 columns.
    b = world.add_box("sign", (20.0005, 0.0), (0.001, 4.06, 3.07), z0=0.03)
    a = world.add_box("box", (10.0005, 0.61), (0.001, 1.2, 2.0), z0=0.5)  # u <= 319.68
    m = cam.capture(world, 0.0)
    gt = boxes_by_id(m)
    assert gt[b]["visible_pixels"] == 33 * 49
    assert gt[b]["occlusion"] == pytest.approx(32 / 65, abs=0.02)
    assert gt[b]["box_2d"] == [320.0, 215.0, 352.0, 263.0]
    assert gt[a]["occlusion"] == pytest.approx(0.0, abs=1e-9)


def test_object_cut_by_the_image_edge_reports_truncation():
    cam = make_camera()
    world = FakeWorld()
    # Board at 10 m from y = 8 to 12; the left image edge (u = -0.5) is at y = 10.0156.
    iid = world.add_box("sign", (10.0005, 10.0), (0.001, 4.0, 2.0), z0=0.5)
    m = cam.capture(world, 0.0)
    gt = boxes_by_id(m)[iid]
    y_edge = 10.0 * (cam.model.cx + 0.5) / cam.model.fx
    assert gt["truncation"] == pytest.approx(1.0 - (y_edge - 8.0) / 4.0, abs=2e-3)
    assert gt["box_2d"][0] == 0.0
    assert gt["box_2d_projected"][0] == -0.5
    assert gt["occlusion"] == pytest.approx(0.0, abs=1e-9)


def test_object_reaching_behind_the_camera():
    cam = make_camera(160, 120)
    world = FakeWorld()
    iid = world.add_box("wall", (0.0, 4.0), (30.0, 0.5, 4.0))  # a wall along the left side
    m = cam.capture(world, 0.0)
    gt = boxes_by_id(m)[iid]
    assert 0.5 < gt["truncation"] < 1.0
    assert gt["box_2d"][0] == 0.0
    assert gt["occlusion"] == pytest.approx(0.0, abs=0.02)


def test_min_box_pixels():
    world = FakeWorld()
    iid = world.add_box("box", (80.0, 0.0), (0.3, 0.3, 0.3), z0=1.35)
    tiny = make_camera(160, 120).capture(world, 0.0)
    n = int((tiny.gt["instance"] == iid).sum())
    assert 1 <= n < 20 and tiny.gt["boxes"] == []
    cam1 = make_camera(160, 120, min_box_pixels=1)
    assert [b["visible_pixels"] for b in cam1.capture(world, 0.0).gt["boxes"]] == [n]


def test_distorted_projected_box_matches_mask():
    cam = make_camera(distortion=(-0.12, 0.02, 0.001, -0.0005, -0.001))
    world = FakeWorld()
    iid = world.add_box("box", (9.0, 4.0), (3.0, 2.0, 2.0))
    gt = boxes_by_id(cam.capture(world, 0.0))[iid]
    np.testing.assert_allclose(gt["box_2d"], gt["box_2d_projected"], atol=1.5)
    assert gt["truncation"] == pytest.approx(0.0, abs=1e-6)


def test_clip_to_front_keeps_only_the_visible_part():
    corners = world_to_optical(ObjectBox(1, 5, "b", np.array([0.0, 0.0, 1.5]),
                                         np.array([4.0, 2.0, 2.0]), 0.0).corners())
    pts = clip_to_front(corners, 0.5)
    assert pts[:, 2].min() == pytest.approx(0.5) and pts[:, 2].max() == pytest.approx(2.0)
    assert len(clip_to_front(corners - [0, 0, 10.0])) == 0
