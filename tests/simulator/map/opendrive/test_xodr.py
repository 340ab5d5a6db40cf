"""The OpenDRIVE reader and geometry on the real CARLA and esmini files (read in place)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

from simulator.map.opendrive import (
    XodrMap,
    elevation,
    eval_geometry,
    read_xodr,
    reference_pose,
    superelevation,
)

DATA = (Path(__file__).resolve().parents[4] / "../shared/data/opendrive").resolve()
FILES = sorted(DATA.glob("*/*.xodr"))
pytestmark = pytest.mark.skipif(
    not FILES, reason=f"OpenDRIVE test files not found in {DATA} (shared data folder absent)"
)
NAMES = [p.stem for p in FILES] or ["none"]
CARLA_LINE_ARC = ["Town01", "Town02", "Town04", "Town07"]


@cache
def _map(name: str) -> XodrMap:
    (path,) = [p for p in FILES if p.stem == name]
    return read_xodr(path)


def _wrap(angle):
    return (np.asarray(angle) + np.pi) % (2 * np.pi) - np.pi


def _kinds(m: XodrMap) -> dict[str, int]:
    out: dict[str, int] = {}
    for road in m.roads.values():
        for g in road.geometries:
            out[g.kind] = out.get(g.kind, 0) + 1
    return out


def test_all_twelve_files_present() -> None:
    assert len(FILES) == 12


@pytest.mark.parametrize("name", NAMES)
def test_every_file_parses(name: str) -> None:
    m = _map(name)
    assert m.roads and all(r.geometries and r.sections for r in m.roads.values())
    for road in m.roads.values():
        end = road.geometries[-1].s + road.geometries[-1].length_m
        assert end == pytest.approx(road.length_m, abs=1e-6)
        assert road.sections[0].s0 == 0.0 and road.sections[-1].s1 == road.length_m
        for section in road.sections:
            assert [ln.id for ln in section.left] == list(range(1, len(section.left) + 1))
            assert [ln.id for ln in section.right] == list(range(-1, -len(section.right) - 1, -1))


def test_counts() -> None:
    town04 = _map("Town04")
    assert len(town04.roads) == 242 and list(town04.roads)[0] == "0"
    assert len(town04.junctions) == 27
    assert sum(len(j.connections) for j in town04.junctions.values()) == 189
    assert len(_map("Town01").junctions) == 12
    multi = _map("multi_intersections")
    assert len(multi.junctions) == 5
    assert sum(len(r.signals) for r in multi.roads.values()) == 127
    assert len(multi.controllers) == 23
    controlled = {sid for c in multi.controllers.values() for sid in c.signal_ids}
    signal_ids = {s.id for r in multi.roads.values() for s in r.signals}
    assert controlled and controlled <= signal_ids
    junction_controllers = {c for j in multi.junctions.values() for c in j.controller_ids}
    assert junction_controllers == set(multi.controllers)


def test_header_and_speed() -> None:
    town01 = _map("Town01")
    geo = "+lat_0=4.9000000000000000e+1 +lon_0=8.0000000000000000e+0"
    assert town01.header.geo_reference == geo
    assert (town01.header.rev_major, town01.header.rev_minor) == (1, 4)
    assert _map("curve_r100").header.geo_reference.startswith("+proj=utm +lat_0=37.35429341239328")
    assert _map("curves_elevation").header.geo_reference is None
    road = _map("Town04").roads["0"]  # <speed max="55" unit="mph"/>
    assert road.speed_mps == pytest.approx(55 * 0.44704)
    assert road.junction is None and road.predecessor.element_type == "junction"
    assert road.predecessor.element_id == "106" and road.predecessor.contact_point is None


def test_geometry_kinds_and_profiles() -> None:
    for name in CARLA_LINE_ARC:
        assert set(_kinds(_map(name))) == {"line", "arc"}
    spirals = {name: _kinds(_map(name)).get("spiral", 0) for name in NAMES}
    assert {k: v for k, v in spirals.items() if v} == {
        "multi_intersections": 56, "curves_elevation": 7, "tunnels": 8, "velodrome": 4
    }
    for name in NAMES:
        pp = [g for r in _map(name).roads.values() for g in r.geometries if g.kind == "paramPoly3"]
        assert bool(pp) == (name in ("fabriksgatan", "e6mini"))
        assert all(g.p_range == "arcLength" for g in pp)
    both_curved = {
        name: sum(
            1 for r in _map(name).roads.values() for g in r.geometries
            if g.kind == "spiral" and g.params["curvStart"] != 0 and g.params["curvEnd"] != 0
        )
        for name in NAMES
    }
    assert {k: v for k, v in both_curved.items() if v} == {"tunnels": 2}
    rolled = {
        n for n in NAMES for r in _map(n).roads.values() for c in r.superelevation if any(c[1:])
    }
    assert rolled == {"velodrome"}
    town04_offsets = [c for r in _map("Town04").roads.values() for c in r.lane_offset]
    assert len(town04_offsets) == 782 and sum(any(c[1:]) for c in town04_offsets) == 121


@pytest.mark.parametrize(("name", "low", "high"), [("Town04", 0.0, 11.0),
                                                   ("curves_elevation", -3.6872, 17.4749)])
def test_elevation_range(name: str, low: float, high: float) -> None:
    z = np.concatenate([elevation(r, np.linspace(0, r.length_m, 20001))
                        for r in _map(name).roads.values()])
    assert z.min() == pytest.approx(low, abs=1e-4) and z.max() == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_each_geometry_end_meets_next_start(name: str) -> None:
    worst_m, worst_rad = 0.0, 0.0
    for road in _map(name).roads.values():
        for a, b in zip(road.geometries[:-1], road.geometries[1:]):
            assert b.s == pytest.approx(a.s + a.length_m, abs=1e-9)
            x, y, hdg = eval_geometry(a, np.array([a.length_m]))
            worst_m = max(worst_m, float(np.hypot(x[0] - b.x, y[0] - b.y)))
            worst_rad = max(worst_rad, float(abs(_wrap(hdg[0] - b.hdg))))
    # CARLA writes coordinates with ~1 mm slack: two consecutive *line* records of Town04
    # (road 566) are 1.46 mm apart, which no evaluation can close. esmini's data is tighter.
    limit_m = 2e-3 if name in ("Town04", "Town07") else 1e-3 if name in CARLA_LINE_ARC else 1e-4
    assert worst_m < limit_m
    assert worst_rad < 2e-4


def test_arc_curvature_matches_record() -> None:
    arcs = [g for r in _map("Town01").roads.values() for g in r.geometries
            if g.kind == "arc" and g.length_m > 1.0]
    assert len(arcs) > 50
    for g in arcs:
        ds = np.linspace(0.0, g.length_m, 201)
        x, y, hdg = eval_geometry(g, ds)
        moved = np.unwrap(np.arctan2(np.diff(y), np.diff(x)))
        curvature = np.diff(moved) / np.diff(ds)[1:]
        assert np.allclose(curvature, g.params["curvature"], rtol=1e-6, atol=1e-9)
        assert np.allclose(np.gradient(hdg, ds), g.params["curvature"], rtol=1e-9)


def _simpson_end(g, n: int = 200_001) -> tuple[float, float]:
    u = np.linspace(0.0, g.length_m, n)
    k0, k1 = g.params["curvStart"], g.params["curvEnd"]
    heading = g.hdg + k0 * u + 0.5 * (k1 - k0) / g.length_m * u * u
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    w *= (u[1] - u[0]) / 3.0
    return g.x + float(w @ np.cos(heading)), g.y + float(w @ np.sin(heading))


@pytest.mark.parametrize(
    "name", ["tunnels", "multi_intersections", "velodrome", "curves_elevation"]
)
def test_spiral_end_matches_closed_form_and_integration(name: str) -> None:
    spirals = [g for r in _map(name).roads.values() for g in r.geometries if g.kind == "spiral"]
    for g in spirals:
        k0, k1, length = g.params["curvStart"], g.params["curvEnd"], g.length_m
        x, y, hdg = eval_geometry(g, np.array([length]))
        assert hdg[0] == pytest.approx(g.hdg + k0 * length + (k1 - k0) * length / 2, abs=1e-12)
        xr, yr = _simpson_end(g)
        assert np.hypot(x[0] - xr, y[0] - yr) < 1e-9


def test_reference_pose_uses_later_record_and_clamps() -> None:
    road = _map("tunnels").roads["1"]
    x, y, hdg = reference_pose(road, np.array([50.0, 100.0, road.length_m + 1e-4]))
    assert (x[0], y[0], hdg[0]) == (50.0, 0.0, 0.0)
    assert (x[1], y[1], hdg[1]) == pytest.approx((98.76438441001723, 8.185702368785028, 0.5))
    assert np.isfinite(x[2])
    with pytest.raises(ValueError, match="outside"):
        reference_pose(road, np.array([road.length_m + 1.0]))


def test_velodrome_superelevation_tilts_the_cross_section() -> None:
    road = _map("velodrome").roads["1"]
    s = np.linspace(0.0, road.length_m, 50)
    roll = superelevation(road, s)
    assert np.abs(roll).max() > 0.1
    m = _map("velodrome")
    for lane_id in (-1, -2, -3):
        points = m.lane_center_points("1", lane_id, s)
        t = -np.cumsum([m.lane_width("1", i, s) for i in range(-1, lane_id - 1, -1)], axis=0)[-1]
        t += 0.5 * m.lane_width("1", lane_id, s)
        assert np.allclose(points[:, 2], elevation(road, s) + t * np.sin(roll))
        # The rolled cross-section: the lane centre is t cos(roll) off the reference line.
        x, y, _ = reference_pose(road, s)
        assert np.allclose(np.hypot(points[:, 0] - x, points[:, 1] - y), np.abs(t) * np.cos(roll))


def _link_gaps(m: XodrMap, lane_type: str = "driving") -> list[float]:
    """3D gaps between linked lanes' centres across every road-to-road link."""
    gaps = []
    for road in m.roads.values():
        for which in ("predecessor", "successor"):
            link = getattr(road, which)
            if link is None or link.element_type != "road" or link.contact_point is None:
                continue
            other = m.roads[link.element_id]
            here = road.sections[0] if which == "predecessor" else road.sections[-1]
            s_here = 0.0 if which == "predecessor" else road.length_m
            s_there = 0.0 if link.contact_point == "start" else other.length_m
            for lane in here.left + here.right:
                target = getattr(lane, which)
                if lane.type != lane_type or target is None:
                    continue
                p = m.lane_center_points(road.id, lane.id, np.array([s_here]))[0]
                q = m.lane_center_points(other.id, target, np.array([s_there]))[0]
                gaps.append(float(np.linalg.norm(p - q)))
    return gaps


@pytest.mark.parametrize(("name", "links"), [("Town01", 176), ("fabriksgatan", 24),
                                             ("multi_intersections", 132), ("velodrome", 6)])
def test_linked_driving_lane_centres_meet(name: str, links: int) -> None:
    gaps = _link_gaps(_map(name))
    assert len(gaps) == links
    assert max(gaps) < 1e-2


def test_junction_lane_links_meet_on_town01() -> None:
    m = _map("Town01")
    checked = 0
    for junction in m.junctions.values():
        for c in junction.connections:
            incoming, connecting = m.roads[c.incoming_road], m.roads[c.connecting_road]
            at_start = connecting.predecessor.element_id == incoming.id
            link = connecting.predecessor if at_start else connecting.successor
            s_in = 0.0 if link.contact_point == "start" else incoming.length_m
            s_conn = 0.0 if c.contact_point == "start" else connecting.length_m
            for lane_from, lane_to in c.lane_links:
                p = m.lane_center_points(incoming.id, lane_from, np.array([s_in]))[0]
                q = m.lane_center_points(connecting.id, lane_to, np.array([s_conn]))[0]
                assert np.linalg.norm(p - q) < 1e-2
                checked += 1
    assert checked == 72


def test_lane_centres_on_a_whole_map_are_finite() -> None:
    m = _map("Town04")
    for road in m.roads.values():
        s = np.linspace(0.0, road.length_m, 25)
        for section in road.sections:
            for lane in section.left + section.right:
                inside = (s >= section.s0) & (s < section.s1)
                points = m.lane_center_points(road.id, lane.id, s)
                width = m.lane_width(road.id, lane.id, s)
                assert np.isfinite(points[inside]).all() and (width[inside] >= -1e-9).all()
