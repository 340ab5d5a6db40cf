"""One-bounce NLOS paths: facade detection and the image-method delay."""

from __future__ import annotations

import numpy as np
import pytest

from sensors.gnss_multipath import find_facades, line_of_sight, reflection_paths
from tests.fakes import FakeWorld

D_M = 8.0
ANTENNA = np.array([0.0, 0.0, 1.5])


def _direction(az_deg: float, el_deg: float) -> np.ndarray:
    """Unit ENU vector for a compass azimuth (from north, clockwise) and elevation."""
    az, el = np.radians(az_deg), np.radians(el_deg)
    return np.array([np.cos(el) * np.sin(az), np.cos(el) * np.cos(az), np.sin(el)])


def _facade_world(height_m: float = 30.0) -> tuple[FakeWorld, int]:
    """One building whose west facade (normal pointing west, azimuth 270) is at x = D_M."""
    w = FakeWorld()
    iid = w.add_box("building", (D_M + 10.0, 0.0), (20.0, 100.0, height_m))
    return w, iid


def test_find_facades_gives_the_plane_distance_and_normal():
    world, iid = _facade_world()
    facades = find_facades(world.mirror(), ANTENNA, world.ego_instance_id)
    assert len(facades) == 1
    assert facades.distance_m[0] == pytest.approx(D_M, abs=1e-4)
    np.testing.assert_allclose(facades.normal[0], [-1.0, 0.0, 0.0], atol=1e-6)
    assert facades.instance_id[0] == iid
    assert facades.reflectivity[0] == pytest.approx(0.6)          # concrete


@pytest.mark.parametrize("az_deg,el_deg", [(250.0, 30.0), (300.0, 45.0), (270.0, 15.0),
                                           (200.0, 20.0)])
def test_nlos_delay_is_two_d_cos_el_cos_relative_azimuth(az_deg, el_deg):
    world, iid = _facade_world()
    mirror = world.mirror()
    facades = find_facades(mirror, ANTENNA, world.ego_instance_id)
    paths = reflection_paths(mirror, ANTENNA, _direction(az_deg, el_deg)[None], facades,
                             world.ego_instance_id)
    az_rel = np.radians(az_deg - 270.0)
    expected = 2.0 * D_M * np.cos(np.radians(el_deg)) * np.cos(az_rel)
    assert paths.valid[0]
    # The facade comes from a float32 ray cast (Embree): its plane is exact to ~1e-6 of
    # the range, which machines' SIMD paths round differently (1.8e-6 m seen): 1e-4 m.
    assert paths.delay_m[0] == pytest.approx(expected, abs=1e-4)
    # The reflection point lies on the facade plane, along the mirrored direction.
    assert paths.point[0, 0] == pytest.approx(D_M, abs=1e-4)
    assert paths.point[0, 2] > ANTENNA[2]


def test_satellite_behind_the_facade_gives_no_reflection():
    world, _ = _facade_world()
    mirror = world.mirror()
    facades = find_facades(mirror, ANTENNA, world.ego_instance_id)
    paths = reflection_paths(mirror, ANTENNA, _direction(90.0, 30.0)[None], facades,
                             world.ego_instance_id)
    assert not paths.valid[0] and paths.delay_m[0] == 0.0


def test_reflection_point_must_be_on_the_facade():
    # A 5 m high wall: a satellite at 60 deg elevation would reflect at ~15 m height.
    world, _ = _facade_world(height_m=5.0)
    mirror = world.mirror()
    facades = find_facades(mirror, ANTENNA, world.ego_instance_id)
    dirs = np.stack([_direction(270.0, 60.0), _direction(270.0, 15.0)])
    paths = reflection_paths(mirror, ANTENNA, dirs, facades, world.ego_instance_id)
    assert not paths.valid[0]
    assert paths.valid[1]                 # 1.5 + 8 tan(15 deg) = 3.6 m < 5 m


def test_blocked_path_from_reflection_point_to_satellite_gives_no_reflection():
    world, _ = _facade_world()
    # A tall wall west of the antenna blocks the way from the facade back up to the west.
    world.add_box("wall", (-3.0, 0.0), (0.5, 100.0, 60.0))
    mirror = world.mirror()
    facades = find_facades(mirror, ANTENNA, world.ego_instance_id)
    assert len(facades) == 2
    paths = reflection_paths(mirror, ANTENNA, _direction(270.0, 30.0)[None], facades,
                             world.ego_instance_id)
    assert not paths.valid[0]


def test_non_reflective_material_is_ignored():
    world, iid = _facade_world()
    world.materials.gnss_reflectivity[iid] = 0.0
    facades = find_facades(world.mirror(), ANTENNA, world.ego_instance_id)
    assert len(facades) == 0


def test_line_of_sight_looks_through_the_ego_body():
    world = FakeWorld()
    ego = world.add_box("box", (0.0, 0.0), (4.0, 2.0, 3.0), instance_id=1)   # around antenna
    assert ego == world.ego_instance_id
    dirs = np.stack([_direction(0.0, 45.0), _direction(90.0, 45.0)])
    assert not line_of_sight(world.mirror(), ANTENNA, dirs, None).any()
    assert line_of_sight(world.mirror(), ANTENNA, dirs, world.ego_instance_id).all()
