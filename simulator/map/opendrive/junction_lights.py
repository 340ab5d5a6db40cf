"""Our rule for traffic lights at OpenDRIVE junctions (CARLA's towns carry none in the file).

Every junction with two or more approach roads whose movements cross (not a mere merge
or split of lanes, nor a ramp passing over another: motorway interchanges, whose ramps
merge by giving way instead) gets a two-phase fixed-time light (the scenario's
``map.signal`` timing). An approach is the set of road lanes of one incoming
road that lead into the junction's connectors; its direction is the lanes' mean heading
at the stop line. Two approaches *clash* when a straight movement of one crosses a
straight movement of the other (nobody could give way). Phases are given approach by
approach (lowest road id first, then by how nearly they lie on the first one's axis):
phase 0 unless the approach clashes with one already in phase 0, else phase 1. So at a
4-way crossing the opposite arms share a phase, at a T junction the through road runs in
phase 0 and the stem in phase 1, and at a Y the two converging arms are kept apart.
Where no straight movements cross at all (a T junction), the axis alone decides: the
approaches within 45 deg of the first one's axis in phase 0, the others in phase 1. Left
turns give way to the oncoming traffic of their phase (the traffic logic's conflict
rules).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.map.geometry import wrap_angle
from simulator.map.lanes import Conflict, Lane
from simulator.map.opendrive.lane_links import road_order

AXIS_TOL_RAD = np.radians(45.0)


def assign_signal_groups(lanes: list[Lane], conflicts: list[Conflict],
                         min_approaches: int = 2) -> tuple[list[Lane], list[str]]:
    """Lanes with ``signal_group`` set on every approach of a signalised junction, and the
    ids of the signalised junctions (sorted). See the module docstring for which are."""
    crossing = {lanes[c.lane].junction for c in conflicts
                if lanes[c.lane].successors != lanes[c.other_lane].successors}

    def approach_road(connector: int) -> str | None:
        pred = lanes[connector].predecessors
        return lanes[pred[0]].road_id if pred else None

    clash: set[tuple[str | None, str, str]] = set()     # (junction, road, road)
    for c in conflicts:
        a, b = lanes[c.lane], lanes[c.other_lane]
        if a.movement == b.movement == "straight" and a.successors != b.successors:
            ra, rb = approach_road(a.index), approach_road(b.index)
            if ra is not None and rb is not None and ra != rb:
                clash.add((a.junction, ra, rb))
                clash.add((a.junction, rb, ra))
    by_junction: dict[str, dict[str, list[Lane]]] = {}
    for ln in lanes:
        if ln.kind == "road" and ln.junction is not None:
            by_junction.setdefault(ln.junction, {}).setdefault(ln.road_id, []).append(ln)
    group: dict[int, int] = {}
    signalised = []
    for jid in sorted(by_junction, key=road_order):
        approaches = by_junction[jid]
        if len(approaches) < min_approaches or jid not in crossing:
            continue                            # a merge, a split, a flyover: none cross
        signalised.append(jid)
        roads = sorted(approaches, key=road_order)
        heading = {r: float(np.angle(np.mean(np.exp(1j * np.array(
            [ln.heading[-1] for ln in approaches[r]]))))) for r in roads}
        axis = heading[roads[0]]
        off = {r: abs(float(wrap_angle(2.0 * (heading[r] - axis)))) / 2.0 for r in roads}
        clashes = any((jid, r, q) in clash for r in roads for q in roads)
        phase0: list[str] = []
        for r in sorted(roads, key=lambda r: (off[r] >= AXIS_TOL_RAD, off[r] if r != roads[0]
                                              else -1.0, road_order(r))):
            # Where no straight movements cross (a T), the axis decides alone.
            g = int(any((jid, r, q) in clash for q in phase0)) if clashes else \
                int(off[r] >= AXIS_TOL_RAD)
            if g == 0:
                phase0.append(r)
            for ln in approaches[r]:
                group[ln.index] = g
    out = [dataclasses.replace(ln, signal_group=group[ln.index]) if ln.index in group else ln
           for ln in lanes]
    return out, signalised
