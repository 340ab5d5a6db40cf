"""Junction rules as (conflicts x vehicles) matrices: giving way, occupied conflict zones,
and junction clearing between signal phases. No loops over vehicles or conflicts.

Conflict tables come from ``LaneArrays`` (zones [entry, exit] on each lane of a pair).
Functions return, per vehicle of the subset passed in, the distance its front bumper may
still travel before it must stand (``inf`` where no rule applies).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from simulator.map.lane_arrays import LaneArrays
from simulator.traffic.signals import RED

WAIT_BEFORE_CONFLICT_M = 4.0  # a giving-way car waits this far before the conflict zone


class NearJunction(NamedTuple):
    """The vehicles near a junction, as arrays (a subset of the fleet)."""

    lane: np.ndarray
    s: np.ndarray
    half: np.ndarray
    next_lane: np.ndarray
    speed: np.ndarray
    max_accel: np.ndarray
    gap_acceptance: np.ndarray


def _lane_use(lanes: LaneArrays, v: NearJunction) -> tuple[np.ndarray, np.ndarray]:
    """Per lane (plus a dummy last entry for -1): has a near vehicle on it / as next."""
    n = lanes.count + 1
    occ = np.zeros(n, bool)
    nxt = np.zeros(n, bool)
    occ[v.lane] = True
    nxt[v.next_lane] = True
    return occ, nxt

def give_way_stops(lanes: LaneArrays, v: NearJunction, light_states: np.ndarray) -> np.ndarray:
    """Distance to stop for vehicles that must give way at a conflict (else ``inf``).

    A vehicle approaching or on a connector that yields (left turns yield to oncoming
    straight and right movements, right turns to straight ones merging into their lane)
    waits before the conflict point while a priority vehicle would arrive there within
    the driver's gap-acceptance time (arrival time assumes the priority driver
    accelerates at its maximum from its current speed). And any vehicle, priority or
    not, stops before a conflict point that another vehicle occupies. Evaluated as
    (conflicts x vehicles) matrices, no loops.
    """
    la = lanes
    n = len(v.s)
    occ, nxt = _lane_use(lanes, v)
    # Only conflicts with someone on (or about to enter) the yielding connector and
    # someone on the priority connector or its approach matter.
    rows = np.flatnonzero((occ[la.yield_lane] | nxt[la.yield_lane])
                          & (occ[la.prio_lane] | occ[la.prio_pred]))
    if not len(rows):
        return np.full(n, np.inf)
    lane, s, half = v.lane[None, :], v.s[None, :], v.half[None, :]
    to_end = la.length_m[np.maximum(v.lane, 0)][None, :] - s - half - 1.0
    stop = np.full((len(rows), n), np.inf)
    prio_pred = la.prio_pred[rows]
    # --- priority side
    p_lane, p_in = la.prio_lane[rows, None], la.prio_entry[rows, None]
    p_out = la.prio_exit[rows, None]
    p_pred = prio_pred[:, None]
    on_p = (lane == p_lane) & (s - half < p_out)
    pred_go = (light_states[np.maximum(prio_pred, 0)] != RED)[:, None] & (p_pred >= 0)
    approaching = (lane == p_pred) & (v.next_lane[None, :] == p_lane) & pred_go
    d_p = np.where(on_p, p_in - s - half, np.where(
        approaching, la.length_m[np.maximum(prio_pred, 0)][:, None] - s - half + p_in,
        np.inf))
    a = v.max_accel[None, :]
    u = v.speed[None, :]
    t_p = np.where(d_p > 0, (np.sqrt(u * u + 2.0 * a * np.maximum(d_p, 0.0)) - u) / a, 0.0)
    threat = np.where(on_p | approaching, t_p, np.inf).min(axis=1)       # (conflicts,)
    # --- yielding side: wait with the front bumper just before the conflict zone
    y_lane, y_in = la.yield_lane[rows, None], la.yield_entry[rows, None]
    y_out = la.yield_exit[rows, None]
    wait_at = y_in - WAIT_BEFORE_CONFLICT_M - half      # station of the wait point
    # Past the wait point a car can still stop just short of the zone; once its front is
    # at the zone it is committed and clears it.
    on_y = (lane == y_lane) & (s + half < y_in - 0.3)
    stop_at = np.where(s <= wait_at + 0.5, wait_at, y_in - 0.5 - half)
    # Turners pull into the junction and wait at the wait point; only where that point
    # would lie before the connector starts do they wait at the stop line.
    entering = (v.next_lane[None, :] == y_lane) & (wait_at < 0.0)
    needs = (on_y | entering) & (threat[:, None] < v.gap_acceptance[None, :])
    d_y = np.where(on_y, stop_at - s, to_end)
    stop = np.where(needs, d_y, stop)
    # The priority side stops before a zone that a turner occupies.
    occupied = ((lane == y_lane) & (s + half > y_in) & (s - half < y_out)).any(axis=1)
    wait_p = np.where(on_p & (p_in - s - half > 1.0), p_in - s - half - WAIT_BEFORE_CONFLICT_M,
                      np.where(approaching, to_end, np.inf))
    stop = np.where(occupied[:, None] & (wait_p > -1.0), np.minimum(stop, wait_p), stop)
    return stop.min(axis=0)

def clearing_stops(lanes: LaneArrays, v: NearJunction) -> np.ndarray:
    """Stops for conflict points that another vehicle occupies or is about to cross.

    For every directed conflict (lane a vs lane b): a vehicle before the conflict on a,
    or about to enter a, stops while a vehicle on b is inside the conflict zone. A
    vehicle about to enter a also waits while a vehicle of the other signal phase is on
    b before the conflict (it is clearing the junction after its light turned red).
    """
    la = lanes
    occ, nxt = _lane_use(lanes, v)
    # Only conflicts with someone on lane b and someone on (or entering) lane a matter.
    rows = np.flatnonzero(occ[la.conf_other] & (occ[la.conf_lane] | nxt[la.conf_lane]))
    if not len(rows):
        return np.full(len(v.s), np.inf)
    lane, s, half = v.lane[None, :], v.s[None, :], v.half[None, :]
    a_lane, a_in = la.conf_lane[rows, None], la.conf_entry[rows, None]
    b_lane = la.conf_other[rows, None]
    b_in, b_out = la.conf_other_entry[rows, None], la.conf_other_exit[rows, None]
    on_b = lane == b_lane
    in_zone = (on_b & (s + half > b_in) & (s - half < b_out)).any(axis=1)
    before = (on_b & (s - half < b_out)).any(axis=1)
    clearing = before & ~la.conf_same_phase[rows]
    on_a = lane == a_lane
    entering = (lane == la.conf_pred[rows, None]) & (v.next_lane[None, :] == a_lane)
    lane_len = la.length_m[np.maximum(v.lane, 0)][None, :]
    to_end = lane_len - s - half - 1.0
    # Front bumper to the zone entry, on the connector or from the lane before it.
    to_zone = np.where(on_a, a_in - s - half,
                       np.where(entering, lane_len - s - half + a_in, np.inf))
    must = (in_zone | clearing)[:, None] & (to_zone > 0.3)
    # Wait at the stop line if still possible, else just short of the zone.
    wait = np.where(entering & (to_end > -0.5), to_end, to_zone - 0.5)
    wait = np.where(must, wait, np.inf)
    return wait.min(axis=0)
