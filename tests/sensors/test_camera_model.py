"""Camera geometry: intrinsics, projection (vs the pinhole formula and cv2.projectPoints),
and the per-pixel rays (undistortion round trip)."""

import cv2
import numpy as np
import pytest

from sensors.camera_model import R_SENSOR_FROM_OPTICAL, CameraModel, DistortionError

DIST = (-0.12, 0.02, 0.001, -0.0005, -0.001)


def test_intrinsics_from_fov():
    m = CameraModel.from_fov(1280, 720, 90.0)
    assert m.fx == pytest.approx(640.0) and m.fy == pytest.approx(640.0)
    assert (m.cx, m.cy) == (640.0, 360.0)
    np.testing.assert_allclose(m.K, [[640, 0, 640], [0, 640, 360], [0, 0, 1]])
    m60 = CameraModel.from_fov(640, 480, 60.0)
    assert m60.fx == pytest.approx(320.0 / np.tan(np.radians(30.0)))


def test_pinhole_projection_matches_formula():
    m = CameraModel.from_fov(640, 480, 90.0)
    p = np.array([[1.0, -0.5, 4.0], [-3.0, 2.0, 20.0]])
    uv, front = m.project(p)
    assert front.all()
    expected = np.stack([m.fx * p[:, 0] / p[:, 2] + m.cx, m.fy * p[:, 1] / p[:, 2] + m.cy], 1)
    np.testing.assert_allclose(uv, expected, atol=1e-9)
    assert not m.project(np.array([[0.0, 0.0, -1.0]]))[1][0]


def test_distorted_projection_matches_opencv():
    m = CameraModel.from_fov(640, 480, 90.0, DIST)
    rng = np.random.default_rng(3)
    p = np.column_stack([rng.uniform(-4, 4, 200), rng.uniform(-3, 3, 200),
                         rng.uniform(4, 30, 200)])
    uv, _ = m.project(p)
    ref, _ = cv2.projectPoints(p.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), m.K,
                               m.distortion)
    assert np.abs(uv - ref.reshape(-1, 2)).max() < 0.01


@pytest.mark.parametrize("dist", [(0.0,) * 5, DIST])
def test_pixel_rays_reproject_to_pixel_centres(dist):
    m = CameraModel.from_fov(160, 120, 90.0, dist)
    dirs, zfac = m.ray_directions()
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(zfac, dirs[:, 2])
    uv, front = m.project(dirs.astype(np.float64))
    assert front.all()
    grid = m.pixel_grid().reshape(-1, 2)
    assert np.abs(uv - grid).max() < 0.01
    ref, _ = cv2.projectPoints(dirs.reshape(-1, 1, 3).astype(np.float64), np.zeros(3),
                               np.zeros(3), m.K, m.distortion)
    assert np.abs(ref.reshape(-1, 2) - grid).max() < 0.01


def test_centre_pixel_looks_along_the_optical_axis():
    m = CameraModel.from_fov(64, 48, 90.0)
    dirs, _ = m.ray_directions()
    # Pixel (row 24, column 32) is the principal point (cx, cy) = (W/2, H/2).
    np.testing.assert_allclose(dirs[24 * 64 + 32], [0.0, 0.0, 1.0], atol=1e-7)
    # Optical z (forward) is the sensor's +x, optical x (right) its -y, optical y (down) -z.
    np.testing.assert_allclose(R_SENSOR_FROM_OPTICAL @ [0, 0, 1], [1, 0, 0])
    np.testing.assert_allclose(R_SENSOR_FROM_OPTICAL @ [1, 0, 0], [0, -1, 0])
    np.testing.assert_allclose(R_SENSOR_FROM_OPTICAL @ [0, 1, 0], [0, 0, -1])


def test_border_polygon_is_the_image_rectangle_without_distortion():
    m = CameraModel.from_fov(64, 48, 90.0)
    poly = m.border_polygon() * m.fx + [m.cx, m.cy]
    assert poly[:, 0].min() == pytest.approx(-0.5) and poly[:, 0].max() == pytest.approx(63.5)
    assert poly[:, 1].min() == pytest.approx(-0.5) and poly[:, 1].max() == pytest.approx(47.5)
    assert m.monotonic_radius() == np.inf
    assert np.isfinite(CameraModel.from_fov(64, 48, 90.0, DIST).monotonic_radius())


def test_folding_distortion_is_rejected():
    # r_d(r) peaks at ~1.14 < the corner's 1.25: the image corners have no pre-image.
    m = CameraModel.from_fov(160, 120, 90.0, (-0.28, 0.09, 0.0, 0.0, -0.012))
    with pytest.raises(DistortionError):
        m.ray_directions()
