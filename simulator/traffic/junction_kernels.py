"""The junction rules of ``simulator.traffic.junction_rules`` compiled with numba: the same
(conflicts x vehicles) decisions as loops over the conflicts that matter, without the
matrices. ``junction_rules`` stays the numpy reference; ``TrafficLogic.junction_stops``
uses this one, and ``tests/simulator/traffic/test_kernels.py`` checks they agree exactly.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from simulator.map.lane_arrays import LaneArrays
from simulator.traffic import junction_rules, signals
from simulator.traffic.junction_rules import WAIT_BEFORE_CONFLICT_M
from simulator.traffic.kernel_cache import track_dependencies
from simulator.traffic.signals import RED

# The kernel compiles in constants of these modules: its cache depends on them too.
track_dependencies(__file__, junction_rules, signals)


class ConflictTable(NamedTuple):
    """``LaneArrays``' conflict columns (see ``LaneArrays._conflict_tables``)."""

    yield_lane: np.ndarray
    yield_entry: np.ndarray
    yield_exit: np.ndarray
    prio_lane: np.ndarray
    prio_entry: np.ndarray
    prio_exit: np.ndarray
    prio_pred: np.ndarray
    conf_lane: np.ndarray
    conf_entry: np.ndarray
    conf_other: np.ndarray
    conf_other_entry: np.ndarray
    conf_other_exit: np.ndarray
    conf_pred: np.ndarray
    conf_same_phase: np.ndarray


def conflict_table(lanes: LaneArrays) -> ConflictTable:
    """The kernel view of a map's conflict tables."""
    return ConflictTable(*(np.ascontiguousarray(getattr(lanes, f))
                           for f in ConflictTable._fields))


@njit(cache=True, nogil=True)
def junction_stops(length, is_road, at_junction_end, horizon_m, c, lane, s, half,
                   next_lane, speed, max_accel, gap_acceptance, active, light,
                   out):  # pragma: no cover - compiled
    """``TrafficLogic.junction_stops``: ``give_way_stops`` and ``clearing_stops`` for the
    cars on connectors or within ``horizon_m`` of a junction; ``inf`` for the others."""
    n = len(s)
    n_lanes = len(length)
    sub = np.empty(n, np.int64)
    m = 0
    for i in range(n):
        out[i] = np.inf
        ln = max(lane[i], 0)
        if active[i] and (not is_road[ln] or (at_junction_end[ln]
                                              and length[ln] - s[i] < horizon_m)):
            sub[m] = i
            m += 1
    if m == 0:
        return
    sub = sub[:m]
    occ = np.zeros(n_lanes + 1, np.bool_)      # the last entry stands for "no lane"
    nxt = np.zeros(n_lanes + 1, np.bool_)
    for i in sub:
        occ[lane[i] if lane[i] >= 0 else n_lanes] = True
        nxt[next_lane[i] if next_lane[i] >= 0 else n_lanes] = True
    wait = WAIT_BEFORE_CONFLICT_M
    # --- giving way (left turns to oncoming traffic, right turns to merging straights)
    for r in range(len(c.yield_lane)):
        yl, pl, pp = c.yield_lane[r], c.prio_lane[r], c.prio_pred[r]
        if not ((occ[yl] or nxt[yl]) and (occ[pl] or occ[pp if pp >= 0 else n_lanes])):
            continue
        p_in, p_out = c.prio_entry[r], c.prio_exit[r]
        y_in, y_out = c.yield_entry[r], c.yield_exit[r]
        pred_go = pp >= 0 and light[max(pp, 0)] != RED
        threat = np.inf
        occupied = False
        for i in sub:
            on_p = lane[i] == pl and s[i] - half[i] < p_out
            approaching = lane[i] == pp and next_lane[i] == pl and pred_go
            if lane[i] == yl and s[i] + half[i] > y_in and s[i] - half[i] < y_out:
                occupied = True
            if on_p:
                d_p = p_in - s[i] - half[i]
            elif approaching:
                d_p = length[max(pp, 0)] - s[i] - half[i] + p_in
            else:
                continue
            u, a = speed[i], max_accel[i]
            t_p = (np.sqrt(u * u + 2.0 * a * max(d_p, 0.0)) - u) / a if d_p > 0 else 0.0
            threat = min(threat, t_p)
        for i in sub:
            to_end = length[max(lane[i], 0)] - s[i] - half[i] - 1.0
            wait_at = y_in - wait - half[i]
            on_y = lane[i] == yl and s[i] + half[i] < y_in - 0.3
            entering = next_lane[i] == yl and wait_at < 0.0
            stop = np.inf
            if (on_y or entering) and threat < gap_acceptance[i]:
                if on_y:
                    stop_at = wait_at if s[i] <= wait_at + 0.5 else y_in - 0.5 - half[i]
                    stop = stop_at - s[i]
                else:
                    stop = to_end
            if occupied:
                # The priority side stops before a zone that a turner occupies.
                wait_p = np.inf
                if lane[i] == pl and s[i] - half[i] < p_out and p_in - s[i] - half[i] > 1.0:
                    wait_p = p_in - s[i] - half[i] - wait
                elif lane[i] == pp and next_lane[i] == pl and pred_go:
                    wait_p = to_end
                if wait_p > -1.0:
                    stop = min(stop, wait_p)
            out[i] = min(out[i], stop)
    # --- occupied conflict zones and junction clearing between phases
    for r in range(len(c.conf_lane)):
        al, bl = c.conf_lane[r], c.conf_other[r]
        if not (occ[bl] and (occ[al] or nxt[al])):
            continue
        b_in, b_out = c.conf_other_entry[r], c.conf_other_exit[r]
        in_zone = False
        before = False
        for i in sub:
            if lane[i] == bl and s[i] - half[i] < b_out:
                before = True
                if s[i] + half[i] > b_in:
                    in_zone = True
        if not (in_zone or (before and not c.conf_same_phase[r])):
            continue
        a_in, pred = c.conf_entry[r], c.conf_pred[r]
        for i in sub:
            entering = lane[i] == pred and next_lane[i] == al
            lane_len = length[max(lane[i], 0)]
            if lane[i] == al:
                to_zone = a_in - s[i] - half[i]
            elif entering:
                to_zone = lane_len - s[i] - half[i] + a_in
            else:
                continue
            if to_zone > 0.3:
                to_end = lane_len - s[i] - half[i] - 1.0
                w = to_end if entering and to_end > -0.5 else to_zone - 0.5
                out[i] = min(out[i], w)
