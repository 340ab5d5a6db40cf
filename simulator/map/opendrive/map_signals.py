"""The file's signals and simple objects as world-coordinate records (the scene's props).

:func:`map_signals` turns every ``<signal>`` into a :class:`MapSignal` and
:func:`map_objects` every ``<object>`` with a box size into a :class:`MapObject`, both in
world coordinates (file coordinates minus the network origin), from the records the
reader already parsed (no second pass over the XML).

Signals:
- position: ``road_point(s, t)`` (the road surface, with superelevation) + ``zOffset``;
  heading: the reference line's heading at ``s``, + pi for orientation ``-``, +
  ``hOffset`` (so it points the way the governed traffic drives).
- kind: ``traffic_light`` for dynamic signals and the light types 1000001, 1000002,
  1000011 (the OpenDRIVE/German codes esmini and CARLA use; 1000002 is a pedestrian
  light, governed like the vehicle lights of its approach); ``stop_sign`` for type 206
  (R1-1 in the US catalogue) or a name/subtype saying stop; ``sign`` otherwise.
  Flat signals (height < 0.1 m: the road marks esmini stores as signals, e.g. holding
  lines and crosswalks) are skipped, one log line per type.
- a traffic light governs the approach (lanes into a junction carrying a signal group,
  :mod:`.junction_lights`) of its road in its direction (orientation ``+``: the right
  lanes, which drive along s; ``-``: the left lanes; ``none``: either) whose stop line
  (``centerline[-1]``) is nearest to the signal, within ``APPROACH_RADIUS_M``. A light
  on a junction's connecting road looks among that junction's approaches heading its
  way. No such lane: ``junction``/``signal_group`` None (the scene leaves it out).
- ``<signalReference>`` records are not used: a reference restates the validity of a
  signal placed once on its own road, and the approach is found from that placement.
  They are counted in one log line.
- the controller id is the first ``<controller>`` listing the signal.

Objects: an ``<object>`` with ``length``/``width``/``height`` or ``radius``/``height``
becomes a box (a radius gives a 2r x 2r footprint) at ``road_point(s, t)`` + ``zOffset``,
heading ``hdg`` + the road heading. ``kind`` from the type: ``pole`` (pole, streetLamp,
posts), ``tree`` (tree, vegetation), ``building``, ``barrier`` (barrier, railing, fence,
wall, soundBarrier), else ``box`` (a static object). Objects without such a size (their
shape lives in ``<repeat>``/``<outline>`` children, which the reader does not read) and
flat ones (road marks, parking spaces, patches, islands) are skipped, one log line per
object type.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from simulator.map.lanes import Lane
from simulator.map.opendrive.lane_geometry import road_point
from simulator.map.opendrive.reference_line import reference_pose
from simulator.map.opendrive.xodr import XodrMap

log = logging.getLogger(__name__)

LIGHT_TYPES = frozenset({"1000001", "1000002", "1000011"})
STOP_TYPES = frozenset({"206", "R1-1"})
APPROACH_RADIUS_M = 40.0
FLAT_SIGNAL_M = 0.1            # signals lower than this are road marks
_CONNECTOR_HEADING_TOL = math.radians(60.0)
_FLAT_OBJECT_TYPES = frozenset({"crosswalk", "roadmark", "parkingspace", "patch",
                                "trafficisland", "roadsurface"})


@dataclass(frozen=True)
class MapSignal:
    """A file signal in world coordinates.

    ``x, y, z``: its position (z: the road surface + ``z_offset``), ``surface_z`` the
    road surface under it; ``heading`` [rad] the direction of the traffic it governs;
    ``height``/``width`` [m] from the file (None when absent). For traffic lights
    ``junction``, ``signal_group`` and ``lane_id`` name the approach lane it governs
    (None when none was found)."""

    id: str
    name: str
    kind: str                      # traffic_light, stop_sign, sign
    type: str
    subtype: str | None
    value: float | None
    dynamic: bool
    road_id: str
    s: float
    t: float
    x: float
    y: float
    z: float
    surface_z: float
    z_offset: float
    heading: float
    height: float | None
    width: float | None
    controller_id: str | None
    junction: str | None = None
    signal_group: int | None = None
    lane_id: str | None = None


@dataclass(frozen=True)
class MapObject:
    """A file object with a box size, in world coordinates; ``size`` (l, w, h) [m],
    ``z`` its base (the road surface + ``z_offset``), ``surface_z`` the surface under it."""

    id: str
    name: str
    type: str                      # as in the file
    kind: str                      # pole, tree, building, barrier, box
    road_id: str
    s: float
    t: float
    x: float
    y: float
    z: float
    surface_z: float
    heading: float
    size: tuple[float, float, float]


def _wrap(a: float) -> float:
    return float((a + math.pi) % (2.0 * math.pi) - math.pi)


def signal_kind(sig) -> str | None:
    """traffic_light, stop_sign or sign; None for a flat road mark."""
    if sig.dynamic or sig.type in LIGHT_TYPES:
        return "traffic_light"
    if sig.height is not None and sig.height < FLAT_SIGNAL_M:
        return None
    words = f"{sig.name} {sig.subtype or ''}".lower()
    if sig.type in STOP_TYPES or ("stop" in words and "bus" not in words):
        return "stop_sign"
    return "sign"


def _lane_side(lane: Lane) -> str:
    """"+" for a right lane (drives along s), "-" for a left lane."""
    return "+" if int(lane.id.rsplit("/", 1)[-1]) < 0 else "-"


def _approach(sig_xy: np.ndarray, heading: float, candidates: list[Lane],
              check_heading: bool) -> Lane | None:
    best, best_d = None, APPROACH_RADIUS_M
    for lane in candidates:
        if check_heading and abs(_wrap(float(lane.heading[-1]) - heading)) > \
                _CONNECTOR_HEADING_TOL:
            continue
        d = float(np.hypot(*(lane.centerline[-1] - sig_xy)))
        if d <= best_d:
            best, best_d = lane, d
    return best


def map_signals(odr: XodrMap, lanes: list[Lane], origin: np.ndarray) -> list[MapSignal]:
    """Every non-flat signal of the file, in file order (see the module doc)."""
    if not any(road.signals for road in odr.roads.values()):
        return []
    controller_of: dict[str, str] = {}
    for c in odr.controllers.values():
        for sid in c.signal_ids:
            controller_of.setdefault(sid, c.id)
    by_road: dict[tuple[str, str], list[Lane]] = {}
    by_junction: dict[str, list[Lane]] = {}
    for ln in lanes:
        if ln.kind == "road" and ln.junction is not None and ln.signal_group is not None:
            by_road.setdefault((ln.road_id, _lane_side(ln)), []).append(ln)
            by_junction.setdefault(ln.junction, []).append(ln)
    out: list[MapSignal] = []
    flat: Counter = Counter()
    unplaced = 0
    for road in odr.roads.values():
        if not road.signals:
            continue
        s = np.array([min(max(sg.s, 0.0), road.length_m) for sg in road.signals])
        t = np.array([sg.t for sg in road.signals])
        pts = road_point(road, s, t) - origin
        _, _, hdg = reference_pose(road, s)
        for k, sig in enumerate(road.signals):
            kind = signal_kind(sig)
            if kind is None:
                flat[sig.type] += 1
                continue
            heading = _wrap(float(hdg[k]) + (math.pi if sig.orientation == "-" else 0.0)
                            + sig.h_offset)
            x, y, zs = (float(v) for v in pts[k])
            junction = group = lane_id = None
            if kind == "traffic_light":
                if road.junction is None:
                    sides = ("+", "-") if sig.orientation not in ("+", "-") else \
                        (sig.orientation,)
                    cand = [ln for side in sides for ln in by_road.get((road.id, side), [])]
                    lane = _approach(pts[k, :2], heading, cand, False)
                else:
                    lane = _approach(pts[k, :2], heading, by_junction.get(road.junction, []),
                                     True)
                if lane is not None:
                    junction, group, lane_id = lane.junction, int(lane.signal_group), lane.id
                else:
                    unplaced += 1
            out.append(MapSignal(
                id=sig.id, name=sig.name, kind=kind, type=sig.type, subtype=sig.subtype,
                value=sig.value, dynamic=sig.dynamic, road_id=road.id, s=float(sig.s),
                t=float(sig.t), x=x, y=y, z=zs + sig.z_offset, surface_z=zs,
                z_offset=sig.z_offset, heading=heading, height=sig.height,
                width=sig.width, controller_id=controller_of.get(sig.id),
                junction=junction, signal_group=group, lane_id=lane_id))
    refs = sum(len(road.signal_refs) for road in odr.roads.values())
    for typ, n in sorted(flat.items()):
        log.info("%s: %d flat signal(s) of type %s (road marks) skipped", odr.path, n, typ)
    if unplaced:
        log.info("%s: %d traffic light(s) govern no signalised approach within %.0f m",
                 odr.path, unplaced, APPROACH_RADIUS_M)
    if refs:
        log.info("%s: %d signalReference(s) not used (each signal is placed once on its "
                 "own road)", odr.path, refs)
    _check_controllers(odr.path, out)
    return out


def _check_controllers(path: str, signals: list[MapSignal]) -> None:
    """Log a controller whose lights fell into different (junction, group) phases."""
    phases: dict[str, set] = {}
    for sg in signals:
        if sg.controller_id is not None and sg.junction is not None:
            phases.setdefault(sg.controller_id, set()).add((sg.junction, sg.signal_group))
    split = sorted(c for c, p in phases.items() if len(p) > 1)
    if split:
        log.info("%s: controllers %s switch lights our two-phase rule puts in different "
                 "phases (the lights follow their approach)", path, ", ".join(split))


def object_kind(obj_type: str) -> str | None:
    """pole, tree, building, barrier or box; None for a flat object."""
    t = obj_type.lower()
    if t in _FLAT_OBJECT_TYPES:
        return None
    if "pole" in t or "lamp" in t or "post" in t:
        return "pole"
    if "tree" in t or "vegetation" in t or "bush" in t:
        return "tree"
    if "building" in t:
        return "building"
    if any(w in t for w in ("barrier", "railing", "fence", "wall", "guard")):
        return "barrier"
    return "box"


def _object_size(obj) -> tuple[float, float, float] | None:
    if obj.height is None or obj.height <= 0:
        return None
    if obj.length and obj.width and obj.length > 0 and obj.width > 0:
        return (float(obj.length), float(obj.width), float(obj.height))
    if obj.radius and obj.radius > 0:
        return (2.0 * obj.radius, 2.0 * obj.radius, float(obj.height))
    return None


def map_objects(odr: XodrMap, origin: np.ndarray) -> list[MapObject]:
    """Every file object with a box size, in file order (see the module doc)."""
    if not any(road.objects for road in odr.roads.values()):
        return []
    out: list[MapObject] = []
    skipped: Counter = Counter()
    for road in odr.roads.values():
        keep = []
        for obj in road.objects:
            kind, size = object_kind(obj.type), _object_size(obj)
            if kind is None or size is None:
                skipped[(obj.type, "flat" if kind is None else "no box size")] += 1
            else:
                keep.append((obj, kind, size))
        if not keep:
            continue
        s = np.array([min(max(o.s, 0.0), road.length_m) for o, _, _ in keep])
        pts = road_point(road, s, np.array([o.t for o, _, _ in keep])) - origin
        _, _, hdg = reference_pose(road, s)
        for k, (obj, kind, size) in enumerate(keep):
            zs = float(pts[k, 2])
            out.append(MapObject(obj.id, obj.name, obj.type, kind, road.id, float(obj.s),
                                 float(obj.t), float(pts[k, 0]), float(pts[k, 1]),
                                 zs + obj.z_offset, zs, _wrap(obj.hdg + float(hdg[k])),
                                 size))
    for (typ, why), n in sorted(skipped.items()):
        log.info("%s: %d object(s) of type %r skipped (%s%s)", odr.path, n, typ, why,
                 "" if why == "flat" else ": repeats and outlines are not read")
    return out
