"""HD map queries: Frenet, positions, routing, nearest lane, drivable area, batch table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.schema import MapConfig
from simulator.map.build import build_hdmap
from simulator.map.geometry import wrap_angle
from simulator.map.hdmap import HDMap, NoRouteError

W = 3.5
R = 40.0
HALF = 2 * W + 8.0          # junction half-size for 2 lanes per direction


@pytest.fixture(scope="module")
def m() -> HDMap:
    return build_hdmap(MapConfig.model_validate({
        "roads": [
            {"id": "straight", "start": {"position": [0.0, 300.0], "heading_deg": 0.0},
             "lanes": {"forward": 2, "backward": 1, "width_m": W},
             "segments": [{"type": "straight", "length_m": 100.0}]},
            {"id": "arc", "start": {"position": [0.0, -300.0], "heading_deg": 0.0},
             "lanes": {"forward": 2, "backward": 1, "width_m": W},
             "segments": [{"type": "straight", "length_m": 20.0},
                          {"type": "arc", "radius_m": R, "angle_deg": 120.0}]},
            {"id": "ring", "start": {"position": [300.0, 0.0], "heading_deg": 90.0},
             "lanes": {"forward": 2, "backward": 0, "width_m": W},
             "segments": [{"type": "arc", "radius_m": 50.0, "angle_deg": 360.0}]},
        ],
        "intersections": [{"id": "X", "lanes_per_direction": 2, "lane_width_m": W,
                           "corner_radius_m": 8.0, "arm_length_m": 80.0}],
    }))


def test_frenet_is_exact_on_a_straight_lane(m):
    lane = m.lane("straight/fwd/1")              # centre y = 300 - 1.5 W, drives east
    s, d = m.frenet(lane.index, [37.25, 300.0 - 1.5 * W + 0.8])
    assert s == pytest.approx(37.25, abs=1e-9)
    assert d == pytest.approx(0.8, abs=1e-9)
    bwd = m.lane("straight/bwd/0")               # centre y = 300 + W/2, drives west
    s, d = m.frenet(bwd.index, [37.25, 300.0 + 0.5 * W + 0.8])
    assert s == pytest.approx(100.0 - 37.25, abs=1e-9)
    assert d == pytest.approx(-0.8, abs=1e-9)


@pytest.mark.parametrize("i", [0, 1])
def test_frenet_is_exact_on_an_arc_lane(m, i):
    lane = m.lane(f"arc/fwd/{i}")
    r = R + (i + 0.5) * W
    center = np.array([20.0, -300.0 + R])
    for phi, d in [(0.3, 0.0), (1.1, 1.2), (2.0, -1.4)]:
        radius = r - d                           # left of a left-turning lane = inwards
        p = center + radius * np.array([math.sin(phi), -math.cos(phi)])
        s, dd = m.frenet(lane.index, p)
        assert s == pytest.approx(20.0 + r * phi, abs=1e-6)
        assert dd == pytest.approx(d, abs=1e-6)
        np.testing.assert_allclose(m.position(lane.index, s, dd), p, atol=1e-6)
        assert m.heading_at(lane.index, s) == pytest.approx(phi, abs=1e-9)


def test_position_round_trips_through_frenet_on_every_lane(m):
    rng = np.random.default_rng(1)
    for lane in m.lanes:
        for _ in range(3):
            s = rng.uniform(0.0, lane.length_m)
            d = rng.uniform(-1.0, 1.0)
            p = m.position(lane.index, s, d)
            s2, d2 = m.frenet(lane.index, p)
            assert s2 == pytest.approx(s, abs=1e-6), lane.id
            assert d2 == pytest.approx(d, abs=1e-6), lane.id


def test_unknown_lane_names_close_matches(m):
    with pytest.raises(KeyError, match="straight/fwd/0"):
        m.lane("straight/fw/0")


def test_route_across_intersection_takes_the_left_turn(m):
    a, b = m.lane_index("X/west/in/0"), m.lane_index("X/north/out/0")
    path = [m.lanes[i].id for i in m.route(a, b)]
    assert path == ["X/west/in/0", "X/west/in/0->north/out/0", "X/north/out/0"]


def test_route_needing_a_lane_change_includes_the_neighbour(m):
    a, b = m.lane_index("X/west/in/1"), m.lane_index("X/north/out/0")
    path = [m.lanes[i].id for i in m.route(a, b)]
    assert path == ["X/west/in/1", "X/west/in/0", "X/west/in/0->north/out/0",
                    "X/north/out/0"]
    for u, v in zip(path, path[1:]):
        lu = m.lane(u)
        assert m.lane_index(v) in lu.successors + (lu.left, lu.right)


def test_route_wraps_around_a_loop(m):
    a, b = m.lane_index("ring/fwd/0"), m.lane_index("ring/fwd/1")
    assert m.lanes[a].successors == (a,)
    assert m.route(a, b) == [a, b]
    assert m.route(a, a) == [a]


def test_unreachable_route_raises(m):
    with pytest.raises(NoRouteError, match="X/north/out/0"):
        m.route(m.lane_index("X/north/out/0"), m.lane_index("X/west/in/0"))
    with pytest.raises(NoRouteError):
        m.route(m.lane_index("straight/fwd/0"), m.lane_index("ring/fwd/0"))


def test_nearest_lane_uses_heading_between_overlapping_connectors(m):
    left = m.lane_index("X/west/in/0->north/out/0")
    straight = m.lane_index("X/east/in/0->west/out/0")
    (c,) = [c for c in m.conflicts_for(left) if c.other_lane == straight]
    p = m.position(left, c.s_m)
    lane, s, d = m.nearest_lane(p, heading=math.pi)
    assert lane == straight and s == pytest.approx(c.other_s_m, abs=0.02)
    lane, s, d = m.nearest_lane(p, heading=m.heading_at(left, c.s_m))
    assert lane == left and s == pytest.approx(c.s_m, abs=1e-6) and abs(d) < 1e-6


def test_nearest_lane_on_a_plain_road(m):
    lane, s, d = m.nearest_lane([42.0, 300.0 - 1.5 * W - 0.3])
    assert m.lanes[lane].id == "straight/fwd/1"
    assert (s, d) == pytest.approx((42.0, -0.3), abs=1e-9)


def test_is_on_road(m):
    pts = np.array([
        [50.0, 300.0 - 2 * W + 0.05],   # just inside the straight road's right edge
        [50.0, 300.0 - 2 * W - 0.05],   # just outside it
        [50.0, 300.0 + W - 0.05],        # inside the left edge
        [-0.5, 300.0],                   # before the road starts
        [0.0, 0.0],                      # junction centre
        [HALF - 0.5, HALF - 0.5],        # inside the box but on the kerb corner
        [2 * W + 1.0, 2 * W + 1.0],      # box corner area that is asphalt
        [HALF + 10.0, W],                # on the east arm
        [HALF + 10.0, 2 * W + 0.5],      # beside the east arm
        [300.0 + W, 0.0],                # on the ring (centre 250, 0, radius 50..57)
        [250.0, 0.0],                    # inside the ring
    ])
    expected = [True, False, True, False, True, False, True, True, False, True, False]
    np.testing.assert_array_equal(m.is_on_road(pts), expected)
    assert m.is_on_road(pts[1:2], margin_m=0.1)[0]


def test_road_edges_lie_on_the_road_boundary_with_outward_normals(m):
    edges = m.road_edges()
    straight = [e for e in edges if e.road_id == "straight"]
    ys = sorted(float(e.polyline[:, 1].mean()) for e in straight)
    assert ys == pytest.approx([300.0 - 2 * W, 300.0 + W], abs=1e-9)
    for e in edges:
        inner = e.polyline[1:-1] - 0.3 * e.normals[1:-1]
        outer = e.polyline[1:-1] + 0.3 * e.normals[1:-1]
        np.testing.assert_allclose(np.hypot(*e.normals.T), 1.0, atol=1e-9)
        assert m.is_on_road(inner).all(), e.road_id
        assert not m.is_on_road(outer).any(), e.road_id
    assert sum(e.road_id == "X" for e in edges) == 8 + 4     # 4 arms x 2 sides + corners


def test_lane_table_agrees_with_scalar_queries(m):
    rng = np.random.default_rng(7)
    n = 60
    lanes = rng.integers(0, len(m.lanes), n)
    s = rng.uniform(0.0, 1.0, n) * m.table.lane_length[lanes]
    d = rng.uniform(-1.5, 1.5, n)
    xy = m.table.positions(lanes, s, d)
    hd = m.table.headings(lanes, s)
    for k in range(n):
        np.testing.assert_allclose(xy[k], m.position(int(lanes[k]), s[k], d[k]), atol=1e-12)
        assert hd[k] == pytest.approx(m.heading_at(int(lanes[k]), s[k]), abs=1e-12)
    # Guesses up to ~1 m off still find the exact (s, d).
    ps, pd = m.table.project(lanes, xy, s + rng.uniform(-1.0, 1.0, n))
    np.testing.assert_allclose(ps, s, atol=1e-6)
    np.testing.assert_allclose(pd, d, atol=1e-6)
    for k in range(n):
        assert m.frenet(int(lanes[k]), xy[k]) == pytest.approx((ps[k], pd[k]), abs=1e-6)


def test_lane_table_curvature_and_extrapolation(m):
    lane = m.lane("arc/fwd/0")
    k = m.table.curvatures(np.array([lane.index] * 2), np.array([10.0, 50.0]))
    np.testing.assert_allclose(k, [0.0, 1.0 / (R + W / 2)], rtol=1e-9)
    # Past the end, positions continue along the last interval and project says so.
    p = m.table.positions(np.array([lane.index]), np.array([lane.length_m + 0.3]))
    s, _ = m.table.project(np.array([lane.index]), p, np.array([lane.length_m]))
    assert s[0] == pytest.approx(lane.length_m + 0.3, abs=1e-9)
    assert float(wrap_angle(m.heading_at(lane.index, lane.length_m) - 2 * math.pi / 3)) == (
        pytest.approx(0.0, abs=1e-9))
