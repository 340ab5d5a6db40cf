"""Lane geometry and topology built from MapConfig: answers from circle/line geometry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from scenarios.schema import MapConfig
from simulator.map.build import build_hdmap
from simulator.map.hdmap import HDMap
from simulator.map.procedural.network import RoadGeometryError, build_network

W = 3.5
R = 60.0


def _map(roads=(), intersections=()) -> HDMap:
    return build_hdmap(MapConfig.model_validate(
        {"roads": list(roads), "intersections": list(intersections)}))


def _arc_road(angle_deg: float, forward: int = 2, backward: int = 2) -> dict:
    return {"id": "arc", "start": {"position": [10.0, -5.0], "heading_deg": 30.0},
            "lanes": {"forward": forward, "backward": backward, "width_m": W},
            "segments": [{"type": "arc", "radius_m": R, "angle_deg": angle_deg}]}


def _arc_center() -> np.ndarray:
    h = math.radians(30.0)
    return np.array([10.0, -5.0]) + R * np.array([-math.sin(h), math.cos(h)])


def _cross(n: int = 2) -> dict:
    return {"id": "X", "position": [0.0, 0.0], "lanes_per_direction": n, "lane_width_m": W,
            "corner_radius_m": 8.0, "arm_length_m": 60.0}


def test_reference_of_arc_has_curvature_one_over_r_and_lies_on_circle():
    cw = build_network(MapConfig.model_validate({"roads": [_arc_road(90.0)]})).carriageways[0]
    np.testing.assert_allclose(cw.kint, 1.0 / R, rtol=1e-12)
    np.testing.assert_allclose(np.hypot(*(cw.xy - _arc_center()).T), R, atol=1e-9)
    assert cw.s[-1] == pytest.approx(math.pi / 2 * R, abs=1e-9)


@pytest.mark.parametrize("i", [0, 1])
def test_arc_lanes_have_offset_radius_curvature_and_length(i):
    m = _map([_arc_road(90.0)])
    r_fwd, r_bwd = R + (i + 0.5) * W, R - (i + 0.5) * W   # forward lanes are outside
    fwd, bwd = m.lane(f"arc/fwd/{i}"), m.lane(f"arc/bwd/{i}")
    np.testing.assert_allclose(fwd.curvature, 1.0 / r_fwd, rtol=1e-9)
    assert fwd.length_m == pytest.approx(math.pi / 2 * r_fwd, abs=1e-9)
    np.testing.assert_allclose(np.hypot(*(fwd.centerline - _arc_center()).T), r_fwd, atol=1e-9)
    # A backward lane drives clockwise around the same centre: turning right.
    np.testing.assert_allclose(bwd.curvature, -1.0 / r_bwd, rtol=1e-9)
    assert bwd.length_m == pytest.approx(math.pi / 2 * r_bwd, abs=1e-9)


def test_right_turning_arc_puts_forward_lanes_inside():
    m = _map([_arc_road(-45.0)])
    lane = m.lane("arc/fwd/1")
    r = R - 1.5 * W
    np.testing.assert_allclose(lane.curvature, -1.0 / r, rtol=1e-9)
    assert lane.length_m == pytest.approx(math.pi / 4 * r, abs=1e-9)


def test_samples_are_at_most_half_a_metre_and_ends_exact():
    m = _map([{"id": "r", "start": {"position": [3.0, 4.0], "heading_deg": 90.0},
               "lanes": {"forward": 1, "backward": 1, "width_m": W},
               "segments": [{"type": "straight", "length_m": 10.3},
                            {"type": "arc", "radius_m": 20.0, "angle_deg": 60.0}]}])
    for lane in m.lanes:
        steps = np.hypot(*np.diff(lane.centerline, axis=0).T)
        assert steps.max() <= 0.5 + 1e-9
        np.testing.assert_allclose(np.diff(lane.s), steps, rtol=1e-3)   # chord ~ arc
        assert lane.s[0] == 0.0
    fwd = m.lane("r/fwd/0")
    np.testing.assert_allclose(fwd.centerline[0], [3.0 + W / 2, 4.0], atol=1e-12)
    assert fwd.heading[0] == pytest.approx(math.pi / 2)
    bwd = m.lane("r/bwd/0")
    np.testing.assert_allclose(bwd.centerline[-1], [3.0 - W / 2, 4.0], atol=1e-12)
    assert bwd.heading[-1] == pytest.approx(-math.pi / 2)


def test_lane_boundaries_are_half_a_width_either_side():
    m = _map([_arc_road(90.0)])
    for lane in m.lanes:
        assert lane.width_m == W
        np.testing.assert_allclose(
            np.hypot(*(lane.left_boundary - lane.right_boundary).T), W, atol=1e-9)
    fwd0, fwd1 = m.lane("arc/fwd/0"), m.lane("arc/fwd/1")
    np.testing.assert_allclose(fwd0.right_boundary, fwd1.left_boundary, atol=1e-9)


def test_neighbours_only_within_a_driving_direction():
    m = _map([_arc_road(90.0, forward=3, backward=2)])
    f = [m.lane_index(f"arc/fwd/{i}") for i in range(3)]
    b = [m.lane_index(f"arc/bwd/{i}") for i in range(2)]
    assert (m.lanes[f[0]].left, m.lanes[f[0]].right) == (None, f[1])
    assert (m.lanes[f[1]].left, m.lanes[f[1]].right) == (f[0], f[2])
    assert (m.lanes[f[2]].left, m.lanes[f[2]].right) == (f[1], None)
    assert (m.lanes[b[0]].left, m.lanes[b[0]].right) == (None, b[1])


def test_closed_loop_lanes_succeed_themselves_open_road_dead_ends():
    loop = {"id": "ring", "lanes": {"forward": 2, "backward": 1},
            "segments": [{"type": "straight", "length_m": 40.0},
                         {"type": "arc", "radius_m": 30.0, "angle_deg": 180.0},
                         {"type": "straight", "length_m": 40.0},
                         {"type": "arc", "radius_m": 30.0, "angle_deg": 180.0}]}
    m = _map([loop, {"id": "open", "start": {"position": [0.0, 200.0]},
                     "segments": [{"type": "straight", "length_m": 50.0}]}])
    for lane in m.lanes:
        if lane.road_id == "ring":
            assert lane.successors == (lane.index,) and lane.predecessors == (lane.index,)
            np.testing.assert_allclose(lane.centerline[-1], lane.centerline[0], atol=1e-9)
        else:
            assert lane.successors == () and lane.predecessors == ()


def test_road_starting_on_an_arm_end_is_linked():
    arm_end = 60.0
    feeder = {"id": "feed", "start": {"position": [arm_end, 0.0], "heading_deg": 0.0},
              "lanes": {"forward": 1, "backward": 0, "width_m": W},
              "segments": [{"type": "straight", "length_m": 30.0}]}
    m = _map([feeder], [_cross(1)])
    out, road = m.lane_index("X/east/out/0"), m.lane_index("feed/fwd/0")
    assert m.lanes[out].successors == (road,)
    assert m.lanes[road].predecessors == (out,)


def test_intersection_lane_layout_and_junction_size():
    n, rc = 2, 8.0
    m = _map(intersections=[_cross(n)])
    half = n * W + rc
    assert m.junctions[0].half_size_m == half
    west_in = m.lane("X/west/in/1")        # drives east, right-hand side is south
    np.testing.assert_allclose(west_in.centerline[0], [-60.0, -1.5 * W], atol=1e-9)
    np.testing.assert_allclose(west_in.centerline[-1], [-half, -1.5 * W], atol=1e-9)
    assert west_in.heading[-1] == pytest.approx(0.0)
    north_out = m.lane("X/north/out/0")    # drives north, right-hand side is east
    np.testing.assert_allclose(north_out.centerline[0], [0.5 * W, half], atol=1e-9)
    assert north_out.heading[0] == pytest.approx(math.pi / 2)
    assert m.lane("X/west/in/0").signal_group == 0
    assert m.lane("X/east/in/1").signal_group == 0
    assert m.lane("X/north/in/0").signal_group == 1
    assert m.lane("X/south/in/1").signal_group == 1
    assert m.lane("X/south/out/1").signal_group is None
    assert m.lane("X/west/in/1").left == m.lane_index("X/west/in/0")


@pytest.mark.parametrize("n,per_arm", [(1, 3), (2, 4), (3, 5)])
def test_connector_movements(n, per_arm):
    m = _map(intersections=[_cross(n)])
    conns = [ln for ln in m.lanes if ln.kind == "connector"]
    assert len(conns) == 4 * per_arm
    ids = {ln.id: ln for ln in conns}
    assert ids["X/west/in/0->north/out/0"].movement == "left"
    assert ids[f"X/west/in/{n - 1}->south/out/{n - 1}"].movement == "right"
    for i in range(n):
        assert ids[f"X/west/in/{i}->east/out/{i}"].movement == "straight"
    # Straight first: a driver without a route goes straight on.
    first = m.lanes[m.lane("X/west/in/0").successors[0]]
    assert first.movement == "straight"
    for c in conns:
        assert c.left is None and c.right is None and c.junction == "X"


def test_connectors_are_tangent_continuous_with_plausible_curvature():
    n, rc = 2, 8.0
    half = n * W + rc
    m = _map(intersections=[_cross(n)])
    for c in (ln for ln in m.lanes if ln.kind == "connector"):
        (src,), (dst,) = c.predecessors, c.successors
        src, dst = m.lanes[src], m.lanes[dst]
        np.testing.assert_allclose(c.centerline[0], src.centerline[-1], atol=1e-12)
        np.testing.assert_allclose(c.centerline[-1], dst.centerline[0], atol=1e-12)
        assert c.heading[0] == pytest.approx(src.heading[-1], abs=1e-12)
        assert c.heading[-1] == pytest.approx(dst.heading[0], abs=1e-12)
        # Bezier headings agree with the polyline direction (no kinks).
        seg = np.arctan2(*np.diff(c.centerline, axis=0).T[::-1])
        mid = c.heading[:-1] + 0.5 * np.diff(np.unwrap(c.heading))
        assert np.abs(np.angle(np.exp(1j * (seg - mid)))).max() < 1e-3
        radius = {"straight": np.inf, "left": half + W / 2, "right": rc + W / 2}[c.movement]
        sign = {"straight": 0.0, "left": 1.0, "right": -1.0}[c.movement]
        np.testing.assert_allclose(c.curvature, sign / radius, atol=0.05 / radius + 1e-9)
        assert np.diff(c.s).max() <= 0.5


def test_left_turn_conflicts_with_oncoming_straight_at_the_crossing():
    n, rc = 2, 8.0
    half = n * W + rc
    m = _map(intersections=[_cross(n)])
    left = m.lane_index("X/west/in/0->north/out/0")
    straight = m.lane_index("X/east/in/0->west/out/0")
    hits = [c for c in m.conflicts_for(left) if c.other_lane == straight]
    assert len(hits) == 1
    # Left turn ~ circle about (-half, half) of radius half + W/2; the straight is y = W/2.
    r1 = half + W / 2
    x = -half + math.sqrt(r1**2 - (half - W / 2) ** 2)
    phi = math.acos((half - W / 2) / r1)
    assert hits[0].other_s_m == pytest.approx(half - x, abs=0.02)
    assert hits[0].s_m == pytest.approx(r1 * phi, abs=0.05)
    back = [c for c in m.conflicts_for(straight) if c.other_lane == left]
    assert back and back[0].s_m == hits[0].other_s_m


def test_conflicts_only_between_connectors_and_never_within_one_queue():
    m = _map(intersections=[_cross(1)])
    for c in m.conflicts:
        a, b = m.lanes[c.lane], m.lanes[c.other_lane]
        assert a.kind == b.kind == "connector"
        assert a.predecessors != b.predecessors
        assert 0.0 <= c.s_m <= a.length_m and 0.0 <= c.other_s_m <= b.length_m
    # One lane per direction: left, straight and right into north/out/0 all merge.
    into_north = [ln.index for ln in m.lanes
                  if ln.kind == "connector" and ln.id.endswith("->north/out/0")]
    assert len(into_north) == 3
    for a in into_north:
        others = {c.other_lane for c in m.conflicts_for(a)}
        assert set(into_north) - {a} <= others


def test_arc_tighter_than_lanes_is_rejected():
    road = _arc_road(90.0, forward=1, backward=3)
    road["segments"][0]["radius_m"] = 10.0
    with pytest.raises(RoadGeometryError, match="radius"):
        build_network(MapConfig.model_validate({"roads": [road]}))
