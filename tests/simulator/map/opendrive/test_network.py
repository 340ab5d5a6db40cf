"""The HD map built from the real OpenDRIVE files: lane continuity across road links and
junction connections, lane centres, widths and heights against the file's own polynomials,
topology, heights at crossings, determinism."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from scenarios.schema import MapConfig
from simulator.map.build import build_hdmap
from simulator.map.hdmap import HDMap
from simulator.map.opendrive import (
    elevation,
    elevation_slope,
    eval_cubic,
    lane_borders_t,
    read_xodr,
    reference_pose,
    superelevation,
)
from simulator.map.opendrive.network import DRIVING_TYPES, KERB_HEIGHT_M, _section_s

DATA = (Path(__file__).resolve().parents[4] / "../shared/data/opendrive").resolve()
FILES = {p.stem: p for p in sorted(DATA.glob("*/*.xodr"))}
pytestmark = pytest.mark.skipif(
    not FILES, reason=f"OpenDRIVE test files not found in {DATA} (shared data folder absent)")
NAMES = sorted(FILES) or ["none"]
# Town07's file itself leaves 4.7 cm between the reference lines of roads 802 and 32.
GAP_TOL_M = {"Town07": 0.05}
# Town04's road 735 has an elevation record at s = 0.384 m that starts 5.2 cm above where
# the previous one ends.
DZ_TOL_M = {"Town04": 0.06}


@cache
def _hdmap(name: str) -> HDMap:
    return build_hdmap(MapConfig(opendrive=str(FILES[name])))


@cache
def _odr(name: str):
    return read_xodr(FILES[name])


@pytest.mark.parametrize("name", NAMES)
def test_driving_lanes_are_continuous_across_links(name):
    hd = _hdmap(name)
    gaps = [np.linalg.norm(ln.centerline[-1] - hd.lanes[j].centerline[0])
            for ln in hd.lanes for j in ln.successors]
    dz = [abs(hd.table.heights([ln.index], [ln.length_m])[0] -
              hd.table.heights([j], [0.0])[0]) for ln in hd.lanes for j in ln.successors]
    if gaps:
        assert max(gaps) < GAP_TOL_M.get(name, 0.01)
        assert max(dz) < DZ_TOL_M.get(name, 0.01)
    # Every lane's samples are 5 cm to 0.5 m apart, start at s = 0, and never turn back or
    # kink (a millimetre section's centre a hair behind the last would flip the heading).
    for ln in hd.lanes:
        assert ln.s[0] == 0.0 and np.all(np.diff(ln.s) <= 0.55 + 1e-9)   # 0.5, an end merged
        assert np.all(np.diff(ln.s) >= 0.05 - 1e-9) or len(ln.s) == 2, ln.id
        assert np.abs(np.diff(np.unwrap(ln.heading))).max(initial=0.0) < 0.5, ln.id


@pytest.mark.parametrize("name", ["Town01", "Town04", "multi_intersections"])
def test_every_junction_lane_link_is_a_successor(name):
    odr, hd = _odr(name), _hdmap(name)
    lane_of = hd.extra["file_lanes"]
    checked = 0
    for jn in odr.junctions.values():
        for con in jn.connections:
            inc, conn = odr.roads[con.incoming_road], odr.roads[con.connecting_road]
            into_start = inc.successor is not None and inc.successor.element_id == jn.id \
                and inc.successor.element_type == "junction"
            i_sec = len(inc.sections) - 1 if into_start else 0
            c_sec = 0 if con.contact_point == "start" else len(conn.sections) - 1
            for a, b in con.lane_links:
                la, lb = inc.sections[i_sec].lane(a), conn.sections[c_sec].lane(b)
                if la is None or lb is None or la.type not in DRIVING_TYPES or \
                        lb.type not in DRIVING_TYPES:
                    continue
                ka, kb = lane_of[(inc.id, i_sec, a)], lane_of[(conn.id, c_sec, b)]
                # Traffic flows one way: incoming -> connector, or connector -> road.
                assert kb in hd.lanes[ka].successors or ka in hd.lanes[kb].successors
                assert hd.lanes[kb].kind == "connector" and hd.lanes[kb].junction == jn.id
                checked += 1
    assert checked >= {"Town01": 72, "Town04": 189, "multi_intersections": 40}[name] * 0.9


@pytest.mark.parametrize("name", ["Town01", "Town04", "curves_elevation", "velodrome",
                                  "two_plus_one", "fabriksgatan"])
def test_lane_centres_widths_heights_match_the_file(name):
    """Each lane's first section: centre points at the section's sample stations equal
    ref(s) + t_centre * normal minus the origin; the strip's width equals the width
    polynomial (along the cross-section, which superelevation rolls); heights equal
    elevation(s) + t * sin(superelevation(s))."""
    odr, hd = _odr(name), _hdmap(name)
    origin = hd.origin
    strips = {st.name: st for st in hd.strips}
    n_checked = 0
    for road in odr.roads.values():
        for i, sec in enumerate(road.sections):
            for lane in sec.left + sec.right:
                st = strips.get(f"{road.id}/{i}/{lane.id}")
                if st is None:
                    continue
                s = _section_s(sec.s0, sec.s1, len(st.left))
                inner, outer = lane_borders_t(road, i, s)[lane.id]
                x, y, hdg = reference_pose(road, s)
                roll = superelevation(road, s)
                # The strip's borders are the lane's borders.
                for t, pts in ((np.maximum(inner, outer), st.left),
                               (np.minimum(inner, outer), st.right)):
                    th = t * np.cos(roll)
                    want = np.stack([x - th * np.sin(hdg) - origin[0],
                                     y + th * np.cos(hdg) - origin[1]], 1)
                    np.testing.assert_allclose(pts[:, :2], want, atol=1e-6)
                    z = elevation(road, s) + t * np.sin(roll) + (
                        KERB_HEIGHT_M if st.kind == "sidewalk" else 0.0)   # a kerb
                    np.testing.assert_allclose(pts[:, 2], z, atol=1e-6)
                if not lane.use_border:
                    ds = s - sec.s0
                    w = eval_cubic(lane.widths, s, origin=sec.s0)
                    rec = np.array([max(r for r in lane.widths if r.s <= d) for d in ds])
                    u = ds - rec[:, 0]
                    poly = rec[:, 1] + rec[:, 2] * u + rec[:, 3] * u ** 2 + rec[:, 4] * u ** 3
                    np.testing.assert_allclose(w, poly, atol=1e-9)
                    width = np.linalg.norm(st.left - st.right, axis=1)   # along the slope
                    np.testing.assert_allclose(width, np.abs(poly), atol=1e-6)
                n_checked += 1
    assert n_checked > 0


def test_lane_heights_follow_the_elevation_profile():
    """curves_elevation climbs from -3.7 to 17.5 m: lane heights at the samples are the
    profile's; between samples the table's heights (a C1 cubic through them) and grades
    follow the file's profile to 0.1 mm and 1e-4, closer than linear interpolation."""
    odr, hd = _odr("curves_elevation"), _hdmap("curves_elevation")
    (road,) = odr.roads.values()
    z_all = np.concatenate([ln.z for ln in hd.lanes])
    assert z_all.min() == pytest.approx(-3.7, abs=0.2) and z_all.max() == pytest.approx(
        17.5, abs=0.2)
    right = hd.lane(f"{road.id}/0/-1")
    s_road = _section_s(0.0, road.length_m, len(right.s))     # the samples' road stations
    np.testing.assert_allclose(right.z, elevation(road, s_road), atol=1e-9)
    # Mid-interval: the lane station's mid maps to the road station's mid (the offset
    # curve's stretch is smooth), where the file's cubic profile is exact.
    s_mid = 0.5 * (right.s[1:] + right.s[:-1])
    z_mid = hd.table.heights(np.full(len(s_mid), right.index), s_mid)
    exact = elevation(road, 0.5 * (s_road[1:] + s_road[:-1]))
    linear = np.interp(s_mid, right.s, right.z)
    assert np.abs(z_mid - exact).max() < 1e-4
    assert np.abs(z_mid - exact).max() < np.abs(linear - exact).max()
    stretch = np.diff(s_road) / np.diff(right.s)              # d(road s) / d(lane s)
    g = hd.table.grades(np.full(len(s_mid), right.index), s_mid)
    want = elevation_slope(road, 0.5 * (s_road[1:] + s_road[:-1])) * stretch
    assert np.abs(g - want).max() < 1e-4


def test_superelevation_tilts_the_lanes():
    """The velodrome's banking: a right lane's cross slope equals tan(roll) (left side
    higher when the road rolls right, positive superelevation)."""
    odr, hd = _odr("velodrome"), _hdmap("velodrome")
    (road,) = odr.roads.values()
    lane = hd.lane(f"{road.id}/0/-1")
    s = np.linspace(0.0, road.length_m, len(lane.s))
    roll = superelevation(road, s)
    assert np.abs(roll).max() > 0.1
    np.testing.assert_allclose(lane.cross_slope, np.tan(roll), atol=1e-9)


def test_arc_lane_curvature_matches_the_record():
    """A right lane at offset t from an arc of curvature k curves at k / (1 - k t) (Town01's
    junction turns are arcs between short lines)."""
    odr, hd = _odr("Town01"), _hdmap("Town01")
    strips = {st.name: st for st in hd.strips}
    checked = 0
    for road in odr.roads.values():
        if len(road.sections) != 1 or f"{road.id}/0/-1" not in strips:
            continue
        lane = hd.lanes[hd.extra["file_lanes"][(road.id, 0, -1)]]
        s = _section_s(0.0, road.length_m, len(strips[f"{road.id}/0/-1"].left))
        if len(lane.s) != len(s) or lane.id != f"{road.id}/0/-1":
            continue
        inner, outer = lane_borders_t(road, 0, s)[-1]
        tc = 0.5 * (inner + outer)
        for g in road.geometries:
            if g.kind != "arc" or g.length_m < 3.0:
                continue
            k = g.params["curvature"]
            nxt = np.append(s[1:], np.inf)          # curvature[k]: interval k .. k + 1
            inside = np.flatnonzero((s > g.s + 1.0) & (nxt < g.s + g.length_m - 1.0))
            want = k / (1 - k * tc[inside])
            np.testing.assert_allclose(lane.curvature[inside], want, rtol=2e-3, atol=1e-5)
            checked += 1
    assert checked >= 20


def test_nearest_lane_uses_height_where_roads_cross():
    """Town04 has roads on bridges over others: at a point on two lanes stacked >= 4 m
    apart, the height picks the lane."""
    hd = _hdmap("Town04")
    t = hd.table
    rng = np.random.default_rng(0)
    found = 0
    for k in rng.permutation(len(hd.lanes)):
        ln = hd.lanes[k]
        if ln.kind != "road" or ln.z is None:
            continue
        p, z = ln.centerline[len(ln.s) // 2], float(ln.z[len(ln.s) // 2])
        d2 = t._chord_dist2(t._iv, p)
        lane_min = np.minimum.reduceat(d2, t._iv_lane_start)
        near = [j for j in np.flatnonzero(lane_min < 1.0) if j != k and
                abs(hd.table.heights([j], [hd.table.project_global(j, p)[0]])[0] - z) > 4]
        if not near:
            continue
        other = near[0]
        z_other = hd.table.heights([other], [hd.table.project_global(other, p)[0]])[0]
        assert hd.nearest_lane(p, z=z)[0] == k
        assert hd.nearest_lane(p, z=z_other)[0] == other
        assert hd.surface_height(p[None], z_hint=z)[0] == pytest.approx(z, abs=0.05)
        found += 1
        if found == 3:
            break
    assert found == 3


def test_build_is_deterministic_and_fast_enough_to_matter():
    a = build_hdmap(MapConfig(opendrive=str(FILES["Town01"])))
    b = _hdmap("Town01")
    assert [ln.id for ln in a.lanes] == [ln.id for ln in b.lanes]
    for la, lb in zip(a.lanes, b.lanes):
        assert la.centerline.tobytes() == lb.centerline.tobytes()
        assert la.successors == lb.successors and la.left == lb.left
    assert np.array_equal(a.origin, [197.0, -164.0, 0.0])


def test_town01_topology():
    """Town01: 12 junctions, all signalised by our rule; every road lane drives on (the
    town is closed); right lanes have the left lanes of their road beside them driving the
    other way, so no same-direction neighbours exist (one lane per direction)."""
    hd = _hdmap("Town01")
    assert len(hd.extra["signalised_junctions"]) == 12
    assert all(ln.successors and ln.predecessors for ln in hd.lanes)
    assert all(ln.left is None and ln.right is None for ln in hd.lanes)
    movements = {ln.movement for ln in hd.lanes if ln.kind == "connector"}
    assert movements == {"straight", "left", "right"}
    assert all(ln.signal_group in (0, 1) for ln in hd.lanes
               if ln.kind == "road" and ln.junction is not None)


@pytest.mark.parametrize("name", NAMES)
def test_neighbours_agree_both_ways(name):
    """A lane's left neighbour has it as its right neighbour (lane changes go and return),
    both drive the same way, and they lie side by side (about a lane width apart)."""
    hd = _hdmap(name)
    for ln in hd.lanes:
        for side, back in (("left", "right"), ("right", "left")):
            other = getattr(ln, side)
            if other is None:
                continue
            o = hd.lanes[other]
            assert getattr(o, back) == ln.index, (ln.id, side, o.id)
            mid = ln.centerline[len(ln.s) // 2]
            s, d = hd.table.project_global(other, mid)
            if 0 < s < o.length_m:
                assert 0.5 * ln.width_m < abs(d) < 2.0 * max(ln.width_m, o.width_m) + 0.5
                h = hd.table.headings([other], [s])[0]
                assert abs((h - ln.heading[len(ln.s) // 2] + np.pi) % (2 * np.pi) - np.pi) < 0.5
                assert (d < 0) == (side == "left")      # we are right of our left one


def test_two_plus_one_has_neighbours():
    """esmini's 2+1 road: where it has two lanes one way, they are neighbours."""
    hd = _hdmap("two_plus_one")
    assert any(ln.left is not None or ln.right is not None for ln in hd.lanes)


def test_equal_movements_merging_give_way_exactly_once():
    """Town04's interchanges merge ramps of the same movement into one lane: of each such
    pair exactly one gives way (the one with the other on its right)."""
    from simulator.map.lane_arrays import LaneArrays
    hd = _hdmap("Town04")
    la = LaneArrays(hd)
    yields = set(zip(la.yield_lane.tolist(), la.prio_lane.tolist()))
    pairs = 0
    for c in hd.conflicts:
        a, b = hd.lanes[c.lane], hd.lanes[c.other_lane]
        if a.index < b.index and a.successors and a.successors == b.successors and \
                a.movement == b.movement and a.predecessors != b.predecessors:
            ga = hd.lanes[a.predecessors[0]].signal_group if a.predecessors else None
            gb = hd.lanes[b.predecessors[0]].signal_group if b.predecessors else None
            if ga != gb:
                continue                                  # the lights keep them apart
            assert ((a.index, b.index) in yields) != ((b.index, a.index) in yields)
            pairs += 1
    assert pairs > 0


@pytest.mark.parametrize("name", ["Town01", "Town04", "Town07", "multi_intersections"])
def test_crossing_straight_movements_never_share_a_green(name):
    """Where a straight movement crosses another straight one (nobody could give way),
    their approaches are in different phases."""
    hd = _hdmap(name)
    lit = set(hd.extra["signalised_junctions"])
    checked = 0
    for c in hd.conflicts:
        a, b = hd.lanes[c.lane], hd.lanes[c.other_lane]
        if a.junction not in lit or not (a.movement == b.movement == "straight") or \
                a.successors == b.successors or not a.predecessors or not b.predecessors:
            continue
        pa, pb = hd.lanes[a.predecessors[0]], hd.lanes[b.predecessors[0]]
        if pa.road_id == pb.road_id:
            continue
        assert pa.signal_group != pb.signal_group, (a.id, b.id)
        checked += 1
    assert checked > 0 or name == "Town01"                 # Town01 has T junctions only


def test_merging_cars_follow_each_other():
    """Of two cars side by side in the shared end of two merging ramps, the one nearer the
    end leads the other (a car it can brake for)."""
    from simulator.map.lane_arrays import LaneArrays
    from simulator.traffic.logic import TrafficLogic
    hd = _hdmap("Town04")
    la = LaneArrays(hd)
    assert len(la.merge_lane)
    a, b = int(la.merge_lane[0]), int(la.merge_other[0])
    tl = TrafficLogic.__new__(TrafficLogic)
    tl.lanes = la
    tl.lane = np.array([a, b])
    tl.s = np.array([hd.lanes[a].length_m - 8.0, hd.lanes[b].length_m - 2.0])
    tl.half_length_m = np.array([2.25, 2.25])
    tl.active = np.array([True, True])
    tl.leader = np.array([-1, -1])
    tl.gap_m = np.array([np.inf, np.inf])
    tl._merge_leaders()
    assert tl.leader.tolist() == [1, -1]
    assert tl.gap_m[0] == pytest.approx(8.0 - 2.0 - 4.5)
