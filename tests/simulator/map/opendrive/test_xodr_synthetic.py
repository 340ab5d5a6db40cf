"""The OpenDRIVE reader and geometry on small xodr strings whose answers are known exactly."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from simulator.map.opendrive import (
    OpenDriveError,
    elevation,
    elevation_slope,
    eval_geometry,
    lane_borders_t,
    lane_offset,
    parse_xodr,
    read_xodr,
    reference_pose,
    road_point,
    superelevation,
)

LANES_1_1 = """
<lanes><laneSection s="0">
  <left><lane id="1" type="driving" level="false">
    <width sOffset="0" a="3" b="0" c="0" d="0"/></lane></left>
  <center><lane id="0" type="none">
    <roadMark sOffset="0" type="solid solid" color="yellow" width="0.12"/></lane></center>
  <right><lane id="-1" type="driving">
    <width sOffset="0" a="3.5" b="0" c="0" d="0"/></lane></right>
</laneSection></lanes>"""


def _xodr(body: str, length: float = 100.0, road_id: str = "7", header: str = "") -> str:
    return f"""<?xml version="1.0"?>
<OpenDRIVE>
  <header revMajor="1" revMinor="6" name="synthetic">{header}</header>
  <road id="{road_id}" name="r" length="{length}" junction="-1">
{body}
  </road>
</OpenDRIVE>"""


def _plan(geometry: str, length: float = 100.0) -> str:
    return (f'<planView><geometry s="0" x="1" y="2" hdg="0.3" length="{length}">{geometry}'
            "</geometry></planView>")


def _road(body: str, length: float = 100.0):
    return parse_xodr(_xodr(body, length)).roads["7"]


def test_param_poly3_normalized_default_and_arc_length_agree() -> None:
    length = 40.0
    norm = dict(aU=0.5, bU=38.0, cU=3.0, dU=-1.0, aV=0.2, bV=1.0, cV=4.0, dV=-2.0)
    arc = {k: v / length ** "abcd".index(k[0]) for k, v in norm.items()}

    def attrs(coeffs: dict[str, float]) -> str:
        return " ".join(f'{k}="{v!r}"' for k, v in coeffs.items())

    ds = np.linspace(0.0, length, 9)
    results = [
        eval_geometry(_road(_plan(f"<paramPoly3 {attrs(c)}{p}/>", length)).geometries[0], ds)
        for c, p in ((norm, ' pRange="normalized"'), (norm, ""), (arc, ' pRange="arcLength"'))
    ]
    for other in results[1:]:
        assert np.allclose(np.array(results[0]), np.array(other), atol=1e-12)
    p = ds / length
    u = 0.5 + 38 * p + 3 * p**2 - p**3
    v = 0.2 + p + 4 * p**2 - 2 * p**3
    x, y, hdg = results[0]
    assert np.allclose(x, 1 + np.cos(0.3) * u - np.sin(0.3) * v, atol=1e-12)
    assert np.allclose(y, 2 + np.sin(0.3) * u + np.cos(0.3) * v, atol=1e-12)
    assert np.allclose(hdg, 0.3 + np.arctan2(1 + 8 * p - 6 * p**2, 38 + 6 * p - 3 * p**2))


def test_legacy_poly3_follows_the_curve_by_arc_length() -> None:
    a, b, c, d = 0.5, 0.1, 0.01, -0.0002
    g = _road(_plan(f'<poly3 a="{a}" b="{b}" c="{c}" d="{d}"/>')).geometries[0]
    ds = np.array([0.0, 10.0, 37.5, 80.0, 100.0])
    x, y, hdg = eval_geometry(g, ds)
    du, dv = x - 1.0, y - 2.0
    u = np.cos(0.3) * du + np.sin(0.3) * dv
    v = -np.sin(0.3) * du + np.cos(0.3) * dv
    assert np.allclose(v, a + b * u + c * u**2 + d * u**3, atol=1e-9)
    slope = b + 2 * c * u + 3 * d * u**2
    assert np.allclose(hdg, 0.3 + np.arctan(slope), atol=1e-12)
    dense = np.linspace(0.0, u.max(), 400_001)
    speed = np.sqrt(1 + (b + 2 * c * dense + 3 * d * dense**2) ** 2)
    arc = np.concatenate([[0.0], np.cumsum(0.5 * (speed[1:] + speed[:-1]) * np.diff(dense))])
    assert np.allclose(np.interp(u, dense, arc), ds, atol=1e-3)


def test_spiral_from_nonzero_curvature() -> None:
    k0, k1, length = 0.05, -0.03, 60.0
    g = _road(_plan(f'<spiral curvStart="{k0}" curvEnd="{k1}"/>', length), length).geometries[0]
    ds = np.linspace(0.0, length, 7)
    x, y, hdg = eval_geometry(g, ds)
    assert np.allclose(hdg, 0.3 + k0 * ds + 0.5 * (k1 - k0) / length * ds**2, atol=1e-14)
    n = 400_001
    u = np.linspace(0.0, length, n)
    heading = 0.3 + k0 * u + 0.5 * (k1 - k0) / length * u * u
    w = np.ones(n)
    w[1:-1:2], w[2:-1:2] = 4.0, 2.0
    w *= (u[1] - u[0]) / 3.0
    assert np.hypot(x[-1] - 1 - w @ np.cos(heading), y[-1] - 2 - w @ np.sin(heading)) < 1e-9
    arc = _road(_plan('<arc curvature="0.02"/>', length), length).geometries[0]
    same = _road(_plan('<spiral curvStart="0.02" curvEnd="0.02"/>', length), length).geometries[0]
    assert np.allclose(np.array(eval_geometry(arc, ds)), np.array(eval_geometry(same, ds)))


def test_lane_width_polynomial_and_section_boundary() -> None:
    body = _plan("<line/>") + """
<lanes>
 <laneSection s="0"><center><lane id="0" type="none"/></center>
  <right><lane id="-1" type="driving">
    <width sOffset="0" a="3" b="0.01" c="0.002" d="-0.0001"/>
    <width sOffset="10" a="3.5" b="-0.02" c="0.001" d="0.00002"/>
  </lane></right></laneSection>
 <laneSection s="30"><center><lane id="0" type="none"/></center>
  <right><lane id="-1" type="driving"><width sOffset="5" a="2" b="0.1" c="0" d="0"/>
    <width sOffset="0" a="3" b="0" c="0" d="0"/></lane></right></laneSection>
</lanes>"""
    m = parse_xodr(_xodr(body))
    s = np.array([0.0, 4.0, 9.999, 10.0, 17.0, 29.9, 30.0, 33.0, 35.0, 60.0, 100.0])

    def cubic(ds, a, b, c, d):
        return a + b * ds + c * ds**2 + d * ds**3

    expected = np.where(s < 10, cubic(s, 3, 0.01, 0.002, -0.0001),
                        cubic(s - 10, 3.5, -0.02, 0.001, 0.00002))
    expected = np.where(s >= 30, np.where(s < 35, 3.0, cubic(s - 35, 2, 0.1, 0, 0)), expected)
    assert np.allclose(m.lane_width("7", -1, s), expected, atol=1e-12)
    centre = m.lane_center_points("7", -1, s)
    x, y, hdg = reference_pose(m.roads["7"], s)
    assert np.allclose(centre[:, 0], x + 0.5 * expected * np.sin(hdg))
    assert np.allclose(centre[:, 1], y - 0.5 * expected * np.cos(hdg))
    assert np.isnan(m.lane_center_points("7", 2, s)).all()


def test_border_records_and_lane_offset() -> None:
    body = _plan("<line/>") + """
<lanes><laneOffset s="0" a="0.5" b="0.01" c="0" d="0"/>
 <laneSection s="0">
  <left>
   <lane id="2" type="sidewalk"><width sOffset="0" a="2" b="0" c="0" d="0"/></lane>
   <lane id="1" type="driving"><border sOffset="0" a="3" b="0.1" c="0" d="0"/></lane>
  </left>
  <center><lane id="0" type="none"/></center>
  <right><lane id="-1" type="driving"><border sOffset="0" a="-3.5" b="0" c="0" d="0"/>
    <border sOffset="20" a="-4" b="0" c="0" d="0"/></lane></right>
 </laneSection></lanes>"""
    road = parse_xodr(_xodr(body)).roads["7"]
    assert road.sections[0].left[0].use_border and not road.sections[0].left[1].use_border
    s = np.array([0.0, 10.0, 25.0])
    offset = 0.5 + 0.01 * s
    assert np.allclose(lane_offset(road, s), offset)
    borders = lane_borders_t(road, 0, s)
    assert np.allclose(borders[0][0], offset)
    assert np.allclose(borders[1][1], offset + 3 + 0.1 * s)
    assert np.allclose(borders[2][0], borders[1][1])
    assert np.allclose(borders[2][1], offset + 5 + 0.1 * s)
    assert np.allclose(borders[-1][1], offset + np.array([-3.5, -3.5, -4.0]))


def test_elevation_and_superelevation_profiles() -> None:
    body = _plan("<line/>") + """
<elevationProfile><elevation s="0" a="1" b="0.02" c="0.001" d="0"/>
  <elevation s="50" a="6.5" b="0.12" c="0" d="-0.0001"/></elevationProfile>
<lateralProfile><superelevation s="0" a="0" b="0.001" c="0" d="0"/></lateralProfile>""" + LANES_1_1
    road = _road(body)
    s = np.array([0.0, 20.0, 50.0, 70.0])
    assert np.allclose(elevation(road, s), [1.0, 1.8, 6.5, 6.5 + 2.4 - 0.8])
    assert np.allclose(elevation_slope(road, s), [0.02, 0.06, 0.12, 0.12 - 0.12])
    assert np.allclose(superelevation(road, s), 0.001 * s)
    points = road_point(road, s, -2.0)
    assert np.allclose(points[:, 2], elevation(road, s) - 2.0 * np.sin(0.001 * s))
    x, y, hdg = reference_pose(road, s)
    assert np.allclose(points[:, 0], x + 2 * np.cos(0.001 * s) * np.sin(hdg))
    assert np.allclose(points[:, 1], y - 2 * np.cos(0.001 * s) * np.cos(hdg))


def test_records_speeds_marks_signals_objects(tmp_path) -> None:
    body = _plan("<line/>") + """
<type s="0" type="town"><speed max="50" unit="km/h"/></type>
<lanes><laneSection s="0" singleSide="true">
  <center><lane id="0" type="none"><roadMark sOffset="0" type="solid broken" color="white"
    width="0.15" weight="bold" laneChange="increase"/></lane></center>
  <right><lane id="-1" type="onRamp" level="true">
    <link><predecessor id="-2"/><successor id="-3"/></link>
    <width sOffset="0" a="3" b="0" c="0" d="0"/>
    <speed sOffset="0" max="30" unit="mph"/></lane></right>
</laneSection></lanes>
<objects><object id="o1" name="pole" type="pole" s="5" t="-4" zOffset="0" hdg="0.1"
  radius="0.2" height="3"/></objects>
<signals><signal id="s1" name="stop" s="10" t="-5" zOffset="2" orientation="+" dynamic="no"
   country="DE" type="206" subtype="-1" value="-1" height="0.8" width="0.8"/>
  <signalReference id="s9" s="12" t="3" orientation="-"/></signals>"""
    header = ('<geoReference><![CDATA[ +proj=utm +zone=32 ]]></geoReference>'
              '<offset x="10" y="20" z="1" hdg="0.5"/>')
    path = tmp_path / "rich.xodr"
    path.write_text(_xodr(body, header=header))
    m = read_xodr(path)
    assert m.path == str(path) and not m.warnings
    assert m.header.geo_reference == "+proj=utm +zone=32"
    assert m.header.offset == (10.0, 20.0, 1.0, 0.5)
    road = m.roads["7"]
    assert road.speed_mps == pytest.approx(50 / 3.6)
    section = road.sections[0]
    assert section.single_side and section.s1 == 100.0
    lane = section.right[0]
    assert (lane.type, lane.level, lane.predecessor, lane.successor) == ("onRamp", True, -2, -3)
    assert lane.speed_mps == pytest.approx(30 * 0.44704)
    mark = section.center.road_marks[0]
    assert (mark.type, mark.color, mark.width_m, mark.weight, mark.lane_change) == (
        "solid broken", "white", 0.15, "bold", "increase")
    (signal,) = road.signals
    assert (signal.id, signal.s, signal.t, signal.z_offset) == ("s1", 10, -5, 2)
    assert signal.orientation == "+"
    assert (signal.dynamic, signal.country, signal.type, signal.value) == (False, "DE", "206", -1.0)
    assert road.signal_refs[0].id == "s9" and road.signal_refs[0].orientation == "-"
    (obj,) = road.objects
    assert (obj.id, obj.type, obj.radius, obj.height, obj.length) == ("o1", "pole", 0.2, 3.0, None)


def test_unsupported_elements_warn_once_per_kind(caplog) -> None:
    geometries = """<planView>
  <geometry s="0" x="0" y="0" hdg="0" length="10"><line/></geometry>
  <geometry s="10" x="10" y="0" hdg="0" length="10"><clothoid k="1"/></geometry>
  <geometry s="20" x="20" y="0" hdg="0" length="10"><clothoid k="2"/></geometry></planView>"""
    body = geometries + LANES_1_1 + "<surface><CRG file='a.crg'/></surface><surface/><railroad/>"
    text = _xodr(body, length=30.0).replace("</OpenDRIVE>", "<railroad/><station/></OpenDRIVE>")
    with caplog.at_level(logging.WARNING, logger="simulator.map.opendrive.xodr"):
        m = parse_xodr(text, "x.xodr")
    kinds = ["<clothoid>", "<surface>", "<railroad>", "<station>"]
    assert len(m.warnings) == 4
    assert sorted(kinds) == sorted(k for k in kinds for w in m.warnings if k in w)
    assert len(caplog.records) == 4
    # An unknown geometry stands in as a line from its own start pose: the road keeps
    # its length and its records' starts.
    road = m.roads["7"]
    assert [g.kind for g in road.geometries] == ["line", "line", "line"]
    assert [g.s for g in road.geometries] == [0.0, 10.0, 20.0]
    x, y, _ = reference_pose(road, np.array([15.0, 25.0]))
    assert np.allclose(x, [15.0, 25.0]) and np.allclose(y, 0.0)
    assert "read as a line" in next(w for w in m.warnings if "<clothoid>" in w)


def test_a_road_without_geometry_is_an_error() -> None:
    text = _xodr("<planView/>" + LANES_1_1)
    with pytest.raises(OpenDriveError, match=r"road 7: <planView>: no <geometry> record"):
        parse_xodr(text, "x.xodr")


def test_malformed_xml_names_the_line() -> None:
    text = '<?xml version="1.0"?>\n<OpenDRIVE>\n  <header revMajor="1"\n  <road>\n</OpenDRIVE>'
    with pytest.raises(OpenDriveError, match=r"^broken\.xodr:4:\d+: malformed XML"):
        parse_xodr(text, "broken.xodr")


def test_not_opendrive_and_missing_file(tmp_path) -> None:
    with pytest.raises(OpenDriveError, match="not an OpenDRIVE file"):
        parse_xodr("<osm/>", "a.osm")
    with pytest.raises(OpenDriveError, match="cannot read"):
        read_xodr(tmp_path / "absent.xodr")


def test_namespaced_root_is_read() -> None:
    text = _xodr(_plan("<line/>") + LANES_1_1).replace(
        "<OpenDRIVE>", '<OpenDRIVE xmlns="http://code.asam.net/simulation/standard/opendrive_schema">')
    assert parse_xodr(text).roads["7"].geometries[0].kind == "line"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('<planView><geometry s="0" x="abc" y="0" hdg="0" length="1"><line/></geometry></planView>',
         r"^f\.xodr: road 7: <geometry>: attribute x='abc' is not a number$"),
        ('<planView><geometry s="0" x="0" y="0" hdg="0" length="1"></geometry></planView>',
         r"^f\.xodr: road 7: <geometry>: geometry without a type child"),
        (_plan('<arc curvature="1,5"/>'), r"^f\.xodr: road 7: <arc>: attribute curvature='1,5'"),
        (_plan("<line/>") + LANES_1_1.replace('id="-1"', 'id="minus one"'),
         r"^f\.xodr: road 7: <lane>: attribute id='minus one' is not a number"),
        (_plan("<line/>") + '<type s="0"><speed max="50" unit="furlong"/></type>',
         r"^f\.xodr: road 7: <speed>: unit='furlong'"),
    ],
)
def test_bad_attribute_names_road_and_element(body: str, message: str) -> None:
    with pytest.raises(OpenDriveError, match=message):
        parse_xodr(_xodr(body), "f.xodr")
