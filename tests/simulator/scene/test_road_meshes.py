"""Road, junction, ground and marking meshes: placement, orientation, naming."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.schema import MapConfig
from simulator.map.build import build_hdmap
from simulator.map.hdmap import HDMap
from simulator.map.markings import (
    DASH_M,
    EDGE_W_M,
    GAP_M,
    LINE_W_M,
    SOLID_BEFORE_STOP_M,
    bev_polylines,
    painted_pieces,
)
from simulator.scene.road_meshes import build_road_objects
from simulator.scene.semantics import SEMANTIC_CLASSES

W = 3.5
R = 50.0
HALF = 2 * W + 8.0


@pytest.fixture(scope="module")
def m() -> HDMap:
    return build_hdmap(MapConfig.model_validate({
        "ground_size_m": 600.0,
        "roads": [
            {"id": "main", "start": {"position": [-100.0, 200.0], "heading_deg": 0.0},
             "lanes": {"forward": 2, "backward": 2, "width_m": W},
             "segments": [{"type": "straight", "length_m": 100.0}]},
            {"id": "bend", "start": {"position": [0.0, -200.0], "heading_deg": 0.0},
             "lanes": {"forward": 2, "backward": 0, "width_m": W},
             "segments": [{"type": "arc", "radius_m": R, "angle_deg": 90.0}]},
        ],
        "intersections": [{"id": "center", "lanes_per_direction": 2, "lane_width_m": W,
                           "corner_radius_m": 8.0, "arm_length_m": 100.0}],
    }))


@pytest.fixture(scope="module")
def objects(m):
    return build_road_objects(m, first_instance_id=40)


def _by_name(objects):
    return {o.name: o for o in objects}


def test_names_ids_classes_and_materials(objects):
    assert [o.instance_id for o in objects] == list(range(40, 40 + len(objects)))
    names = _by_name(objects)
    assert set(names) == {
        "ground", "road/main", "road/bend", "road/center/east", "road/center/north",
        "road/center/west", "road/center/south", "junction/center",
        "marking/main/white", "marking/main/yellow", "marking/bend/white",
        "marking/center/white", "marking/center/yellow"}
    assert (names["ground"].semantic, names["ground"].material) == (
        SEMANTIC_CLASSES["ground"], "ground")
    for name in ("road/main", "junction/center", "road/center/west"):
        assert (names[name].semantic, names[name].material) == (
            SEMANTIC_CLASSES["road"], "asphalt")
    assert names["marking/main/yellow"].material == "marking_yellow"
    assert names["marking/main/white"].semantic == SEMANTIC_CLASSES["lane_marking"]


def test_every_triangle_faces_up_at_its_height(objects):
    heights = {"ground": -0.02, "road": 0.0, "junction": 0.0, "marking": 0.01}
    for o in objects:
        assert o.vertices.dtype == np.float32 and o.triangles.dtype == np.int32
        v = o.vertices[o.triangles].astype(np.float64)
        nz = np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])[:, 2]
        assert (nz > 0).all(), o.name
        np.testing.assert_allclose(o.vertices[:, 2], heights[o.name.split("/")[0]], atol=1e-7)


def test_ground_covers_the_configured_square(objects):
    g = _by_name(objects)["ground"]
    np.testing.assert_allclose(g.vertices[:, :2].min(0), [-300.0, -300.0])
    np.testing.assert_allclose(g.vertices[:, :2].max(0), [300.0, 300.0])
    v = g.vertices[g.triangles].astype(np.float64)
    area = 0.5 * np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])[:, 2].sum()
    assert area == pytest.approx(600.0**2)


def test_road_surface_spans_its_lanes(objects):
    road = _by_name(objects)["road/main"]
    np.testing.assert_allclose(road.vertices[:, 1].min(), 200.0 - 2 * W, atol=1e-5)
    np.testing.assert_allclose(road.vertices[:, 1].max(), 200.0 + 2 * W, atol=1e-5)
    v = road.vertices[road.triangles].astype(np.float64)
    area = 0.5 * np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])[:, 2].sum()
    assert area == pytest.approx(100.0 * 4 * W, rel=1e-6)


def test_junction_surface_is_box_minus_kerb_corners(objects):
    j = _by_name(objects)["junction/center"]
    v = j.vertices[j.triangles].astype(np.float64)
    area = 0.5 * np.cross(v[:, 1] - v[:, 0], v[:, 2] - v[:, 0])[:, 2].sum()
    # A polygonal kerb arc cuts slightly less than the quarter disc.
    assert area == pytest.approx((2 * HALF) ** 2 - math.pi * 8.0**2, rel=2e-3)


def test_marking_offsets_on_a_straight_road(m):
    main = [mk for mk in m.markings if mk.road_id == "main"]
    ys = {(mk.style, mk.color): sorted({round(float(y), 9) for y in mk.polyline[:, 1]})
          for mk in main}
    assert ys[("solid", "yellow")] == [200.0]
    dashed = sorted(float(mk.polyline[0, 1]) for mk in main if mk.style == "dashed")
    assert dashed == pytest.approx([200.0 - W, 200.0 + W], abs=1e-9)
    edges = sorted(float(mk.polyline[0, 1]) for mk in main
                   if mk.style == "solid" and mk.color == "white")
    assert edges == pytest.approx([200.0 - 2 * W + EDGE_W_M / 2, 200.0 + 2 * W - EDGE_W_M / 2])
    for mk in main:
        edge = mk.color == "white" and mk.style == "solid"
        assert mk.width_m == (EDGE_W_M if edge else LINE_W_M)


def test_dashed_divider_on_an_arc_lies_at_lane_width_offset(m):
    (dashed,) = [mk for mk in m.markings if mk.road_id == "bend" and mk.style == "dashed"]
    center = np.array([0.0, -200.0 + R])
    np.testing.assert_allclose(np.hypot(*(dashed.polyline - center).T), R + W, atol=1e-9)


def test_dash_pattern_is_three_on_six_off(m):
    (dashed,) = [mk for mk in m.markings if mk.road_id == "bend" and mk.style == "dashed"]
    pieces = painted_pieces(dashed)
    total = math.pi / 2 * (R + W)
    assert len(pieces) == math.ceil(total / (DASH_M + GAP_M))
    for k, p in enumerate(pieces[:-1]):
        length = np.hypot(*np.diff(p, axis=0).T).sum()
        assert length == pytest.approx(DASH_M, abs=1e-3)
        gap = np.hypot(*(pieces[k + 1][0] - p[-1]))
        assert gap == pytest.approx(GAP_M, abs=5e-3)


def test_stop_lines_and_solid_dividers_before_them(m):
    arm = [mk for mk in m.markings if mk.road_id == "center"]
    # West arm: incoming lanes lie south of the axis, driving east to x = -HALF.
    stops = [mk for mk in arm if mk.width_m > EDGE_W_M]
    assert len(stops) == 4
    (west_stop,) = [mk for mk in stops if mk.polyline[:, 0].max() < 0 and
                    abs(mk.polyline[:, 1]).max() < HALF]
    np.testing.assert_allclose(west_stop.polyline[:, 0], -HALF - west_stop.width_m / 2)
    assert sorted(west_stop.polyline[:, 1]) == pytest.approx(
        [-2 * W + EDGE_W_M, -LINE_W_M / 2])
    # Divider between west/in/0 and west/in/1 (y = -W): solid for the last 30 m.
    divs = [mk for mk in arm if mk.color == "white" and mk.width_m == LINE_W_M
            and np.allclose(mk.polyline[:, 1], -W) and mk.polyline[:, 0].max() < 0]
    solid = [mk for mk in divs if mk.style == "solid"]
    dashed = [mk for mk in divs if mk.style == "dashed"]
    assert len(solid) == len(dashed) == 1
    assert sorted(solid[0].polyline[[0, -1], 0]) == pytest.approx(
        [-HALF - SOLID_BEFORE_STOP_M, -HALF])
    assert sorted(dashed[0].polyline[[0, -1], 0]) == pytest.approx(
        [-100.0, -HALF - SOLID_BEFORE_STOP_M])
    # Outgoing dividers (y = +W on the west arm) are dashed all the way.
    out_div = [mk for mk in arm if np.allclose(mk.polyline[:, 1], W)
               and mk.polyline[:, 0].max() < 0]
    assert [mk.style for mk in out_div] == ["dashed"]


def test_bev_polylines_are_the_painted_pieces(m):
    lines = bev_polylines(m)
    expected = sum(len(painted_pieces(mk)) for mk in m.markings)
    assert len(lines) == expected
    assert {c for _, c, _ in lines} == {"white", "yellow"}
