"""The world on real OpenDRIVE maps: traffic through junctions without collisions, the ego
riding the elevation profile, the CLI's outputs (BEV video, map origin, geo origin)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pymap3d
import pytest

from scenarios.loader import load, parse_scenario
from simulator.map.opendrive import elevation, elevation_slope, read_xodr, reference_pose
from simulator.world import World

REPO = Path(__file__).resolve().parents[4]
DATA = (REPO / "../shared/data/opendrive").resolve()
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"OpenDRIVE test files not found in {DATA} (shared data absent)")


def _scenario(xodr: str, ego_lane: str, count: int = 50, extra: str = ""):
    return parse_scenario(f"""
name: t
simulation: {{seed: 3, duration_s: 60, physics_hz: 100, control_hz: 10}}
map: {{opendrive: {DATA / xodr}}}
ego: {{start: {{lane: "{ego_lane}", s_m: 5}}, speed_mps: 8}}
traffic: {{count: {count}}}
sensors: []
{extra}""")


def test_town04_traffic_runs_60_s_without_collisions():
    """Town04: 242 roads, 27 junctions, bridges over other roads; 50 NPCs for a minute."""
    sc = _scenario("carla/Town04.xodr", "1/0/-1")
    with World(sc) as w:
        assert w.elevated
        for _ in range(6000):
            w.step()
        assert w.collisions == [], [(c.time_s, c.actor_a, c.actor_b) for c in w.collisions]
        assert w.traffic.active.sum() >= 45
        # Cars are on the surface of their lane, also where roads pass over each other.
        act = np.flatnonzero(w.traffic.active & (w.traffic.lane >= 0))
        want = w.hdmap.table.heights(w.traffic.lane[act], w.traffic.s[act], w.traffic.d[act])
        assert np.abs(w.vehicle_z_m[act] - want).max() < 0.3


def test_town01_ego_route_crosses_junctions_and_arrives():
    sc = load(REPO / "scenarios/town01.yaml").model_copy(update={"sensors": []})
    with World(sc) as w:
        route = [w.hdmap.lanes[i] for i in w.route]
        assert sum(ln.kind == "connector" for ln in route) >= 2
        assert len(w.hdmap.extra["signalised_junctions"]) == 12
        for _ in range(int(sc.simulation.duration_s * 100)):
            w.step()
        assert w.collisions == []
        assert w.route_progress() > 0.5


def test_ego_rides_the_elevation_profile():
    """curves_elevation: the ego's height is the file's elevation at its station (within
    5 cm) and its pitch the slope (-atan(dz/ds), nose up when climbing), for 40 s."""
    sc = load(REPO / "scenarios/curves_elevation.yaml").model_copy(update={"sensors": []})
    road = read_xodr(sc.map.opendrive).roads["1"]
    s = np.linspace(0.0, road.length_m, 100_001)
    x, y, _ = reference_pose(road, s)
    with World(sc) as w:
        x, y = x - w.hdmap.origin[0], y - w.hdmap.origin[1]
        dz, dpitch, zs = [], [], []
        for _ in range(40):
            for _ in range(100):
                w.step()
            p = w.ego_pose()
            j = int(np.argmin((x - p.position[0]) ** 2 + (y - p.position[1]) ** 2))
            dz.append(p.position[2] - elevation(road, [s[j]])[0])
            dpitch.append(w.vehicle_pitch_rad[0] + np.arctan(elevation_slope(road, [s[j]])[0]))
            zs.append(p.position[2])
            # The pose's rotation carries the pitch: the body x axis climbs with the road.
            assert p.rotation[2, 0] == pytest.approx(-np.sin(w.vehicle_pitch_rad[0]), abs=1e-9)
        assert np.abs(dz).max() < 0.05
        assert np.abs(dpitch).max() < 0.005
        assert max(zs) - min(zs) > 10.0                    # it really went up the hill


def test_cli_run_on_town01_writes_video_and_map_origin(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "run_sim.py", "run", "--scenario",
                           "scenarios/town01.yaml", "--out", str(out), "--duration", "2",
                           "--no-sensors"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "bev.mp4").stat().st_size > 10_000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["map_origin"] == [197.0, -164.0, 0.0]
    assert summary["map_source"].endswith("Town01.xodr")
    # The file's geoReference (+lat_0=49 +lon_0=8) is at file (0, 0): our origin, 197 m
    # east and 164 m south of it, lies where pymap3d puts that offset.
    lat, lon, _ = pymap3d.enu2geodetic(197.0, -164.0, 0.0, 49.0, 8.0, 0.0)
    assert summary["geo_origin"]["lat_deg"] == pytest.approx(lat, abs=1e-9)
    assert summary["geo_origin"]["lon_deg"] == pytest.approx(lon, abs=1e-9)
    assert 48.998 < lat < 49.0 and 8.0 < lon < 8.003


def test_a_malformed_map_file_is_exit_2_with_one_line(tmp_path):
    bad = tmp_path / "bad.xodr"
    bad.write_text('<?xml version="1.0"?>\n<OpenDRIVE>\n<header/>\n<road id="7" length="10" '
                   'junction="-1">\n<planView><geometry s="0" x="0" y="0" hdg="0" length="10">'
                   '<line/></geometry>\n</road>\n')
    scen = tmp_path / "s.yaml"
    scen.write_text("name: t\nmap:\n  opendrive: bad.xodr\nego: {start: {lane: 7/0/-1}}\n")
    for cmd in ("validate", "run"):
        args = [str(scen)] if cmd == "validate" else ["--scenario", str(scen), "--out",
                                                      str(tmp_path / "o")]
        proc = subprocess.run([sys.executable, "run_sim.py", cmd, *args], cwd=REPO,
                              capture_output=True, text=True)
        assert proc.returncode == 2
        lines = (proc.stdout + proc.stderr).strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr
        assert f"{scen}:3: map.opendrive: {bad}:6:" in lines[0] and "malformed XML" in lines[0]
    # A bad attribute names the file, the road and the element.
    bad.write_text('<?xml version="1.0"?>\n<OpenDRIVE><header/><road id="7" length="10" '
                   'junction="-1"><planView><geometry s="0" x="abc" y="0" hdg="0" '
                   'length="10"><line/></geometry></planView><lanes><laneSection s="0">'
                   '<center><lane id="0" type="none"/></center></laneSection></lanes>'
                   '</road></OpenDRIVE>\n')
    proc = subprocess.run([sys.executable, "run_sim.py", "validate", str(scen)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{bad}: road 7: <geometry>" in proc.stdout + proc.stderr


def test_a_missing_map_file_names_the_scenario_line(tmp_path):
    scen = tmp_path / "s.yaml"
    scen.write_text("name: t\nmap:\n  opendrive: nowhere.xodr\nego: {start: {lane: 1/0/-1}}\n")
    proc = subprocess.run([sys.executable, "run_sim.py", "validate", str(scen)], cwd=REPO,
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert f"{scen}:3: map.opendrive: no OpenDRIVE file 'nowhere.xodr'" in proc.stdout + \
        proc.stderr


def test_pedestrians_stand_on_the_elevated_road():
    """A pedestrian crossing curves_elevation 12 m up the hill stands on the road: its GT
    box's bottom and its mesh's lowest point are at the lane's surface height."""
    base = load(REPO / "scenarios/curves_elevation.yaml")
    with World(base.model_copy(update={"sensors": []})) as w0:
        lane = w0.hdmap.lane("1/0/-1")
        k = int(np.argmin(np.abs(lane.z - 12.0)))
        p, h = lane.centerline[k], float(lane.heading[k])
    n = np.array([-np.sin(h), np.cos(h)])
    a, b = p - 6 * n, p + 6 * n
    sc = parse_scenario(
        (REPO / "scenarios/curves_elevation.yaml").read_text().replace(
            "../../shared", str(REPO / "../shared")) +
        f"\npedestrians:\n  - {{name: walker, path: [[{a[0]:.3f}, {a[1]:.3f}], "
        f"[{b[0]:.3f}, {b[1]:.3f}]], speed_mps: 1.2}}\n")
    with World(sc.model_copy(update={"sensors": []})) as w:
        group = w.actor_group("pedestrians")
        for _ in range(3000):                 # until it walks on the lane (it may wait)
            w.step()
            (box,) = group.boxes()
            s, d = w.hdmap.table.project_global(lane.index, box.center[:2])
            if abs(d) < 1.0:
                break
        assert abs(d) < 1.0
        want = float(w.hdmap.table.heights([lane.index], [s], [d])[0])
        assert box.center[2] - box.size[2] / 2 == pytest.approx(want, abs=0.05)
        verts, _, _ = group.mesh()
        assert verts[:, 2].min() == pytest.approx(want, abs=0.05)


def test_sensors_see_and_report_the_elevation():
    """On the climb, the lidar's road returns lie on the map's surface (within 2 cm), the
    GNSS altitude is the antenna's height above the geo origin, the IMU feels the grade."""
    base = load(REPO / "scenarios/curves_elevation.yaml")
    sensors = [s.model_copy(update={"noise": None}) if s.type in ("gnss", "imu") else s
               for s in base.sensors if s.type in ("lidar", "gnss", "imu")]
    sc = base.model_copy(update={"sensors": sensors})
    with World(sc) as w:
        from sensors import Rig
        rig = Rig(list(sc.sensors), w.sensor_seed_seq)
        for _ in range(2100):              # 21 s: on the steepest part of the climb
            w.step()
        out = rig.capture(w, w.time_s)
        lidar = out["roof_lidar"]
        pts = lidar.pose.transform_points(lidar.gt["points_deskewed"].astype(np.float64))
        road = lidar.gt["semantic"] == 2
        assert road.sum() > 1000
        z_map = w.hdmap.surface_height(pts[road, :2], z_hint=pts[road, 2])
        assert np.nanmax(np.abs(pts[road, 2] - z_map)) < 0.02
        assert np.ptp(pts[road, 2]) > 1.0                    # the road it sees is a slope
        gnss = out["gnss"]
        antenna = gnss.pose.position
        assert antenna[2] == pytest.approx(w.ego_pose().position[2] + 1.6, abs=0.05)
        assert gnss.gt["alt_m"] - w.geo_origin.alt_m == pytest.approx(antenna[2], abs=0.02)
        assert gnss.data["alt_m"] - w.geo_origin.alt_m == pytest.approx(antenna[2], abs=0.05)
        imu = out["imu"]
        pitch = w.vehicle_pitch_rad[0]
        assert abs(pitch) > 0.03
        ax_gravity = imu.gt["accel_mps2"][0] - float(w.state.ax_body[0])
        assert ax_gravity == pytest.approx(-9.80665 * np.sin(pitch), abs=0.1)


def test_same_seed_same_bytes_on_an_opendrive_map():
    sc = load(REPO / "scenarios/town01.yaml").model_copy(update={"sensors": []})
    runs = []
    for _ in range(2):
        with World(sc) as w:
            for _ in range(1000):
                w.step()
            runs.append((w.state.data.tobytes(), w.vehicle_z_m.tobytes(),
                         [b.center.tobytes() for b in w.object_boxes()]))
    assert runs[0] == runs[1]
    with World(sc, seed=99) as w:
        for _ in range(1000):
            w.step()
        assert w.state.data.tobytes() != runs[0][0]


def test_roadside_props_stand_on_the_hillside_and_the_kerb():
    """Roadside trees along the climb stand at the height of the road beside them (not at
    z = 0, 17 m under it); on Town01 a pole on the sidewalk stands on its 12 cm kerb."""
    text = (REPO / "scenarios/curves_elevation.yaml").read_text().replace(
        "../../shared", str(REPO / "../shared"))
    text = text.replace("  geo_origin:", "  roadside:\n    trees: {spacing_m: 25, setback_m: 2}\n"
                        "  geo_origin:")
    sc = parse_scenario(text).model_copy(update={"sensors": []})
    with World(sc) as w:
        trees = [p for p in w.props if p.type == "tree"]
        assert len(trees) > 40
        pts = np.concatenate([ln.centerline for ln in w.hdmap.lanes])
        zs = np.concatenate([ln.z for ln in w.hdmap.lanes])
        for p in trees:
            k = int(np.argmin(np.hypot(*(pts - np.asarray(p.center_xy)).T)))
            assert p.base_z_m == pytest.approx(zs[k], abs=1.0)
            assert p.box().center[2] == pytest.approx(p.base_z_m + p.size[2] / 2)
        assert max(p.base_z_m for p in trees) > 10.0
    sc = load(REPO / "scenarios/town01.yaml").model_copy(update={"sensors": []})
    with World(sc) as w:
        on_kerb = [p for p in w.props if p.type in ("pole", "traffic_light") and
                   np.isfinite(w.hdmap.surface_height(np.array([p.center_xy]))[0])]
        assert on_kerb and all(p.base_z_m == pytest.approx(0.12) for p in on_kerb)
        assert all(p.base_z_m == 0.0 for p in w.props if p.type == "building")


FILES = sorted(DATA.glob("*/*.xodr"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_every_bundled_map_runs_traffic_without_collisions(path):
    """All 12 files: a world with 20 NPCs drives 30 s without a collision (lanes that
    open from or close to zero width, as on the 2+1 road and in the tunnels, carry
    traffic only where a car fits)."""
    from scenarios.schema import MapConfig
    from simulator.map.build import build_hdmap
    hd = build_hdmap(MapConfig(opendrive=str(path)))
    lane = max((ln for ln in hd.lanes if ln.kind == "road"), key=lambda ln: ln.length_m)
    sc = parse_scenario(f"""
name: t
simulation: {{seed: 1, duration_s: 30}}
map: {{opendrive: {path}}}
ego: {{start: {{lane: "{lane.id}", s_m: 2}}, speed_mps: 5}}
traffic: {{count: 20}}
sensors: []
""")
    with World(sc) as w:
        for _ in range(3000):
            w.step()
        assert w.collisions == [], [(c.time_s, c.actor_a, c.actor_b) for c in w.collisions]
        assert w.traffic.active.sum() >= 10


def test_a_lane_opening_from_zero_width_starts_where_a_car_fits():
    """two_plus_one: the lane that opens at s = 125 m (width 0 -> 3.5 m over 50 m) starts
    as an HD-map lane where it is 2.2 m wide, with no predecessor (cars change into it)."""
    from scenarios.schema import MapConfig
    from simulator.map.build import build_hdmap
    from simulator.map.opendrive.network import MIN_DRIVING_WIDTH_M
    hd = build_hdmap(MapConfig(opendrive=str(DATA / "esmini/two_plus_one.xodr")))
    opened = hd.lane("1/1/-1")
    assert opened.predecessors == ()
    strip = next(st for st in hd.strips if st.name == "1/1/-1")
    width = np.linalg.norm(strip.left - strip.right, axis=1)
    first_wide = strip.left[np.argmax(width >= MIN_DRIVING_WIDTH_M)]
    mid = 0.5 * (first_wide + strip.right[np.argmax(width >= MIN_DRIVING_WIDTH_M)])
    assert np.linalg.norm(opened.centerline[0] - mid[:2]) < 1e-6
    assert hd.lanes[opened.right].id == "1/0/-1" and hd.lane("1/0/-1").left == opened.index


def test_a_written_geo_origin_wins_over_the_files():
    """A scenario's own map.geo_origin is kept; without one the file's geoReference is
    used; procedural scenarios keep the default origin object."""
    text = (REPO / "scenarios/town01.yaml").read_text().replace(
        "../../shared", str(REPO / "../shared"))
    mine = parse_scenario(text.replace("  signal:", "  geo_origin: {lat_deg: 10, lon_deg: 20, "
                                       "alt_m: 30}\n  signal:"))
    with World(mine.model_copy(update={"sensors": []})) as w:
        assert (w.geo_origin.lat_deg, w.geo_origin.lon_deg, w.geo_origin.alt_m) == (10, 20, 30)
    with World(parse_scenario(text).model_copy(update={"sensors": []})) as w:
        assert w.geo_origin.lat_deg == pytest.approx(48.9985, abs=1e-3)
    default = load(REPO / "scenarios/default.yaml")
    assert default.map.geo_origin.lat_deg == 48.137 and default.map.geo_origin_given


def test_a_prop_under_a_flyover_stays_on_the_road_below():
    """Town04: a cone written at a point under the 11 m flyover stands on the road at
    z = 0, not on the deck above it."""
    text = (REPO / "scenarios/town04.yaml").read_text().replace(
        "../../shared", str(REPO / "../shared"))
    text += "\nprops:\n  - {type: cone, position: [64.1, 13.8]}\n"
    sc = parse_scenario(text).model_copy(update={"sensors": []})
    with World(sc) as w:
        stacked = w.hdmap.surface_height(np.array([[64.1, 13.8]]), z_hint=100.0)[0]
        assert stacked > 8.0                                 # a deck is above this point
        (cone,) = [p for p in w.props if p.type == "cone"]
        assert cone.base_z_m == pytest.approx(0.0, abs=0.1)
