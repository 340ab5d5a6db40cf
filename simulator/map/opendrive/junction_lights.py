"""Our rule for traffic lights at OpenDRIVE junctions (CARLA's towns carry none in the file).

Every junction with two or more approach roads whose movements cross (not a mere merge
or split of lanes, nor a ramp passing over another: motorway interchanges, whose ramps
merge by giving way instead) gets a two-phase fixed-time light (the scenario's
``map.signal`` timing). An approach is the set of road lanes of one incoming
road that lead into the junction's connectors; its direction is the lanes' mean heading
at the stop line. Phase 0 holds the first approach (lowest road id) and every approach
within 45 deg of its axis (the same or the opposite direction); phase 1 the others. So
at a 4-way crossing the opposite arms share a phase, and at a T junction the through road
runs in phase 0 and the stem in phase 1. Left turns give way to the oncoming traffic of
their phase (the traffic logic's conflict rules).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simulator.map.geometry import wrap_angle
from simulator.map.lanes import Conflict, Lane
from simulator.map.opendrive.network import road_order

AXIS_TOL_RAD = np.radians(45.0)


def assign_signal_groups(lanes: list[Lane], conflicts: list[Conflict],
                         min_approaches: int = 2) -> tuple[list[Lane], list[str]]:
    """Lanes with ``signal_group`` set on every approach of a signalised junction, and the
    ids of the signalised junctions (sorted). See the module docstring for which are."""
    crossing = {lanes[c.lane].junction for c in conflicts
                if lanes[c.lane].successors != lanes[c.other_lane].successors}
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
        for r in roads:
            off = abs(float(wrap_angle(2.0 * (heading[r] - axis)))) / 2.0
            g = 0 if off < AXIS_TOL_RAD else 1
            for ln in approaches[r]:
                group[ln.index] = g
    out = [dataclasses.replace(ln, signal_group=group[ln.index]) if ln.index in group else ln
           for ln in lanes]
    return out, signalised
