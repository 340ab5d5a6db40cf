"""`validate` builds what `run` builds: map, route, prop materials, the ego's start clear of
props, the sensors (camera distortion, GNSS geometry). Each error names the file line of
the field that caused it, and `run` stops with the same line before writing anything."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest

import run_sim
from scenarios import DEFAULT_SCENARIO, parse_scenario
from scenarios.loader import parse_loc
from simulator.checks import CheckError, as_check_error, boxes_overlap
from simulator.errors import WorldError

# Road r: 100 m east from the origin, then a 50 m arc; forward lanes fwd/0 (y = -1.75) and
# fwd/1 (y = -5.25). The ego (4.6 x 1.85 m) starts at x = 5 on fwd/0: its box spans
# x 2.7..7.3, y -2.675..-0.825.
VALID = textwrap.dedent("""\
    name: t
    simulation:
      seed: 3
      duration_s: 5
    map:
      roads:
        - id: r
          segments:
            - {type: straight, length_m: 100}
            - {type: arc, radius_m: 50, angle_deg: 90}
    props:
      - {type: box, position: [60, 20], size: [1, 1, 1]}
    ego:
      start: {lane: r/fwd/0, s_m: 5}
      destination: {lane: r/fwd/1, s_m: 50}
    traffic:
      count: 2
    """)


def _validate(tmp_path: Path, text: str, capsys) -> tuple[int, str, Path]:
    f = tmp_path / "s.yaml"
    f.write_text(text)
    code = run_sim.main(["validate", str(f)])
    return code, capsys.readouterr().err, f


def test_valid_scenario_validates(tmp_path: Path, capsys) -> None:
    code, err, _ = _validate(tmp_path, VALID, capsys)
    assert (code, err) == (0, "")


@pytest.mark.parametrize("old, new, line, message", [
    ("lane: r/fwd/0", "lane: r/fwd/3", 14,
     "ego.start.lane: unknown lane 'r/fwd/3'; did you mean r/fwd/1, r/fwd/0?"),
    ("s_m: 5}", "s_m: 500}", 14,
     "ego.start.s_m: 500 m is beyond the end of lane 'r/fwd/0' (181.3 m)"),
    ("lane: r/fwd/1, s_m: 50", "lane: r/fwd/0, s_m: 1", 15,
     "ego.destination: no route from 'r/fwd/0' (s = 5 m) to 'r/fwd/0' (s = 1 m)"),
    ("radius_m: 50, angle_deg: 90", "radius_m: 5, angle_deg: -90", 10,
     "map.roads[0].segments[1].radius_m: 5 m is not larger than the inner lanes' width 7 m"),
    ("size: [1, 1, 1]}", "size: [1, 1, 1], material: gold}", 12,
     "props[0].material: unknown material 'gold'; known: asphalt, bark, brick, car_paint, "
     "cardboard, concrete, cone_plastic, foliage, glass_facade, ground, marking_white, "
     "marking_yellow, metal, sign"),
    ("position: [60, 20], size: [1, 1, 1]", "position: [8.5, -1.75], size: [3, 1, 1]", 14,
     "ego.start: overlaps props[0] (box at (8.5, -1.75), 3 x 1 m): the ego would crash at "
     "t = 0; move the ego (s_m) or the prop"),
])
def test_map_route_and_prop_errors_carry_the_line(tmp_path: Path, capsys, old: str, new: str,
                                                  line: int, message: str) -> None:
    text = VALID.replace(old, new)
    assert text != VALID
    code, err, f = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err == f"{f}:{line}: {message}\n"


def test_roadside_generation_is_bounded(tmp_path: Path, capsys) -> None:
    # Two 2 km kerbs, a tree every 1.1 m and a pole every 2 m: 4000 * (1/1.1 + 1/2) slots.
    text = textwrap.dedent("""\
        map:
          roads:
            - id: r
              segments: [{type: straight, length_m: 2000}]
          roadside:
            trees: {spacing_m: 1.1}
            poles: {spacing_m: 2}
        ego: {start: {lane: r/fwd/0, s_m: 5}}
        """)
    code, err, f = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err == (f"{f}:5: map.roadside: 5636 roadside slots along 4.00 km of road edges; "
                   "at most 5000 (raise spacing_m or shorten the roads)\n")
    code, err, _ = _validate(tmp_path, text.replace("spacing_m: 2}", "spacing_m: 4}"), capsys)
    assert (code, err) == (0, "")


def test_materials_defined_in_the_scenario_are_known(tmp_path: Path, capsys) -> None:
    text = VALID.replace("size: [1, 1, 1]}", "size: [1, 1, 1], material: gold}")
    text += "materials:\n  gold: {color_rgb: [212, 175, 55], lidar_reflectivity: 0.9}\n"
    code, err, _ = _validate(tmp_path, text, capsys)
    assert (code, err) == (0, "")


def test_prop_next_to_the_ego_is_fine(tmp_path: Path, capsys) -> None:
    # 0.2 m in front of the ego's bumper, and a rotated box whose bounding box (but not
    # itself) overlaps the ego's corner.
    text = VALID.replace("  - {type: box, position: [60, 20], size: [1, 1, 1]}",
                         "  - {type: box, position: [9, -1.75], size: [3, 1, 1]}\n"
                         "  - {type: box, position: [7.9, -0.5], size: [1, 1, 1], yaw_deg: 45}")
    code, err, _ = _validate(tmp_path, text, capsys)
    assert (code, err) == (0, "")


def test_boxes_overlap_known_answers() -> None:
    ego, half = np.array([5.0, -1.75]), np.array([2.3, 0.925])
    centers = np.array([[9.0, -1.75], [8.5, -1.75], [7.9, -0.5], [7.7, -0.9], [5.0, 0.1],
                        [5.0, 0.2]])
    yaws = np.radians([0.0, 0.0, 45.0, 45.0, 90.0, 90.0])
    halves = np.array([[1.5, 0.5], [1.5, 0.5], [0.5, 0.5], [0.5, 0.5], [1.0, 0.5],
                       [1.0, 0.5]])
    hit = boxes_overlap(ego, 0.0, half, centers, yaws, halves)
    # Turned 90 deg, the last two reach 1 m along y: down to y = -0.9 and -0.8, on either
    # side of the ego's left edge at y = -0.825.
    assert hit.tolist() == [False, True, False, True, True, False]
    # The same answer with the ego turned by 90 deg and everything rotated with it.
    rot = np.array([[0.0, -1.0], [1.0, 0.0]])
    hit_rot = boxes_overlap(rot @ ego, math.pi / 2, half, centers @ rot.T, yaws + math.pi / 2,
                            halves)
    assert hit_rot.tolist() == hit.tolist()


def _default_text() -> str:
    return DEFAULT_SCENARIO.read_text()


def test_camera_distortion_that_cannot_be_inverted(tmp_path: Path, capsys) -> None:
    text = _default_text().replace("    fov_deg: 90\n",
                                   "    fov_deg: 90\n    distortion: [-0.9, 0, 0, 0, 0]\n")
    code, err, f = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err == (f"{f}:55: sensors[0].distortion: cannot be inverted over the 1280x720 "
                   "image at fov_deg 90 (the model folds back inside the image); use smaller "
                   "coefficients or a narrower field of view\n")


def test_gnss_constellation_that_breaks_the_solver(tmp_path: Path, capsys) -> None:
    # All satellites on the equator: from 48 deg N they sit in a line low in the south.
    text = _default_text().replace("    type: gnss\n",
                                   "    type: gnss\n    constellation: {inclination_deg: 0}\n")
    code, err, f = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err.startswith(f"{f}:63: sensors[2].constellation: no fix under open sky at t = ")
    assert err.endswith("the satellites' geometry is degenerate (inclination, planes)\n")


def test_gnss_that_never_sees_four_satellites(tmp_path: Path, capsys) -> None:
    text = _default_text().replace(
        "    type: gnss\n",
        "    type: gnss\n    constellation: {num_satellites: 4, elevation_mask_deg: 80}\n")
    code, err, f = _validate(tmp_path, text, capsys)
    assert code == 2
    assert err == (f"{f}:63: sensors[2].constellation: at most 0 satellites above the 80 deg "
                   "mask at the geo origin; a fix needs 4\n")


def test_run_stops_with_the_same_line_before_any_output(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(VALID.replace("lane: r/fwd/0", "lane: r/fwd/3"))
    out = tmp_path / "out"
    assert run_sim.main(["run", "--scenario", str(f), "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"{f}:14: ego.start.lane: unknown lane 'r/fwd/3'; did "
                                       "you mean r/fwd/1, r/fwd/0?\n")
    assert not out.exists()


def test_run_without_sensors_does_not_build_them(tmp_path: Path, capsys) -> None:
    f = tmp_path / "s.yaml"
    f.write_text(VALID + "sensors:\n  - {name: cam, type: camera, width: 64, height: 48, "
                 "distortion: [-0.9, 0, 0, 0, 0]}\n")
    assert run_sim.main(["validate", str(f)]) == 2
    assert "sensors[0].distortion: cannot be inverted over the 64x48 image" in \
        capsys.readouterr().err
    assert run_sim.main(["run", "--scenario", str(f), "--duration", "0.2", "--no-sensors",
                         "--no-video", "--out", str(tmp_path / "out")]) == 0


def test_world_errors_get_their_field_path() -> None:
    scenario = parse_scenario(VALID)
    err = as_check_error(WorldError("ego.destination.s_m: 9 m is beyond"), scenario)
    assert (err.path, err.detail) == (("ego", "destination", "s_m"), "9 m is beyond")
    err = as_check_error(WorldError("road 'r': arc radius 5 m is too small"), scenario)
    assert (err.path, err.detail) == (("map", "roads", 0), "arc radius 5 m is too small")
    err = as_check_error(WorldError("something else: entirely"), scenario)
    assert (err.path, str(err)) == ((), "something else: entirely")
    assert isinstance(err, CheckError)
    assert parse_loc("map.roads[12].segments[0].radius_m") == (
        "map", "roads", 12, "segments", 0, "radius_m")
