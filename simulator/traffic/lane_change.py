"""MOBIL lane changes over vehicle arrays: the numpy reference of
``simulator.traffic.kernels.lane_change_choices`` (same arguments, same results), and the
rule that two movers never land side by side.

Per car and side (``agents.mobil.LEFT`` / ``RIGHT``): the car's station on the neighbour
lane is its exact projection there (mapping it in proportion to the lane lengths is
metres off on curves); the new leader and follower are the cars around that station; IDM
gives everyone's acceleration before and after; a change that overlaps the new leader, the
new follower or a static obstacle (by less than 1 m) is never available.
"""

from __future__ import annotations

import numpy as np

from agents.idm import idm_acceleration
from agents.mobil import LEFT, RIGHT, choose_side, mobil_decision
from simulator.map.lane_kernels import LaneGeometry, ObstacleTable, stations_on


def _obstacle_gaps(o: ObstacleTable, stride: float, lane: np.ndarray, s: np.ndarray,
                   to_front: np.ndarray) -> np.ndarray:
    """``LaneArrays.obstacle_gap`` on the lane only (no next lane), from the table."""
    if not len(o.end_key):
        return np.full(len(s), np.inf)
    pos = np.searchsorted(o.end_key, lane * stride + (s - to_front), side="right")
    hit = pos < len(o.end_key)
    pos = np.minimum(pos, len(o.end_key) - 1)
    same = hit & (o.lane[pos] == lane)
    gap = np.where(same, o.start_s[pos] - s - to_front, np.inf)
    return np.where(same, gap, o.length[lane] - s - to_front + o.first_s[-1])


def _idm(f, speed, v0, gap, dv, headway, min_gap, max_accel, comfort) -> np.ndarray:
    return idm_acceleration(speed[f], v0[f], gap, dv, headway[f], min_gap[f], max_accel[f],
                            comfort[f])


def lane_change_choices(g: LaneGeometry, obst: ObstacleTable, stride: float,
                        lane: np.ndarray, s: np.ndarray, d: np.ndarray, active: np.ndarray,
                        leader: np.ndarray, gap_m: np.ndarray, speed: np.ndarray,
                        v0: np.ndarray, half: np.ndarray, idm_accel: np.ndarray,
                        stop_accel: np.ndarray, headway: np.ndarray, min_gap: np.ndarray,
                        max_accel: np.ndarray, comfort: np.ndarray, politeness: np.ndarray,
                        threshold: np.ndarray, b_safe: float, keep_right_bias: float,
                        cand_lanes: np.ndarray, available: np.ndarray, by_mobil: np.ndarray,
                        forced: np.ndarray, forced_change: np.ndarray, side: np.ndarray,
                        new_s: np.ndarray, new_d: np.ndarray, incentive: np.ndarray) -> None:
    """MOBIL for every car and side, up to executing the changes.

    Args:
        g, obst, stride: lane geometry, static obstacles and the (lane, s) key stride.
        lane, s, d, active, leader, gap_m: the cars' lane state and current leaders.
        speed, v0: speeds and desired speeds [m/s]. half: half lengths [m].
        idm_accel, stop_accel: IDM accelerations now, overall and for stops [m/s^2].
        headway .. threshold: per-driver IDM and MOBIL parameters.
        b_safe: the hardest braking a change may impose on the new follower [m/s^2].
        keep_right_bias: MOBIL's keep-right bias [m/s^2].
        cand_lanes: (n, 2) left and right neighbour lanes (-1: none).
        available: (n, 2) the side may be considered; narrowed in place by the overlap test.
        by_mobil, forced: cars deciding by MOBIL; cars with a route-forced change to
            ``forced_change`` (taken as soon as it is safe, overriding MOBIL).
        side: (n,) out, the chosen side or -1. new_s, new_d: (n, 2) out, the car's Frenet
            coordinates on each neighbour lane. incentive: (n, 2) out, MOBIL's incentive.
    """
    n = len(s)
    n_lanes = len(g.length)
    lane0 = np.maximum(lane, 0)
    sort_lane = np.where(active, lane, n_lanes)
    order = np.lexsort((s, sort_lane))
    lane_sorted, s_sorted = sort_lane[order], s[order]
    keys = lane_sorted * stride + s_sorted
    idx = np.arange(n)
    # Old follower: the vehicle right behind in the current lane, now and once we leave.
    pos_self = np.empty(n, np.int64)
    pos_self[order] = idx
    prev = pos_self - 1
    old_f = np.where((prev >= 0) & (lane_sorted[np.maximum(prev, 0)] == lane),
                     order[np.maximum(prev, 0)], -1)
    f = np.maximum(old_f, 0)
    drv = (headway, min_gap, max_accel, comfort)
    gap_now = s - s[f] - half - half[f]
    a_o = np.where(old_f >= 0, _idm(f, speed, v0, gap_now, speed[f] - speed, *drv), 0.0)
    gap_after = np.where(leader != -1, gap_m + gap_now + 2 * half, np.inf)
    lead_v = np.where(leader >= 0, speed[np.maximum(leader, 0)], 0.0)
    a_o_new = np.where(old_f >= 0, _idm(f, speed, v0, gap_after, speed[f] - lead_v, *drv), 0.0)
    a_c_new, a_n, a_n_new = np.zeros((n, 2)), np.zeros((n, 2)), np.zeros((n, 2))
    for k in (LEFT, RIGHT):
        tl = np.maximum(cand_lanes[:, k], 0)
        s_new = s * g.length[tl] / g.length[lane0]
        d_new = np.zeros(n)
        ok = np.flatnonzero(available[:, k])
        if len(ok):
            s_ok, d_ok = np.empty(len(ok)), np.empty(len(ok))
            stations_on(g, lane0[ok], s[ok], d[ok], tl[ok], s_ok, d_ok)
            s_new[ok], d_new[ok] = s_ok, d_ok
        new_s[:, k], new_d[:, k] = s_new, d_new
        pos = np.searchsorted(keys, tl * stride + s_new)
        p_lead = np.minimum(pos, n - 1)
        lead = np.where((pos < n) & (lane_sorted[p_lead] == tl), order[p_lead], -1)
        p_fol = np.maximum(pos - 1, 0)
        fol = np.where((pos > 0) & (lane_sorted[p_fol] == tl), order[p_fol], -1)
        lead = np.where(lead == idx, -1, lead)
        fol = np.where(fol == idx, -1, fol)
        ld = np.maximum(lead, 0)
        gap_lead = np.where(lead >= 0, s[ld] - s_new - half - half[ld], np.inf)
        obstacle = _obstacle_gaps(obst, stride, tl, s_new, half)
        lead = np.where(obstacle < gap_lead, -1, lead)   # speed 0 below
        gap_lead = np.minimum(gap_lead, obstacle)
        v_lead = np.where(lead >= 0, speed[np.maximum(lead, 0)], 0.0)
        a_self = idm_acceleration(speed, v0, gap_lead, speed - v_lead, *drv)
        a_c_new[:, k] = np.minimum(a_self, stop_accel)
        # New follower, before (behind the new leader) and after (behind us).
        f = np.maximum(fol, 0)
        gap_f_lead = np.where(lead >= 0, s[ld] - s[f] - half[f] - half[ld], np.inf)
        before = _idm(f, speed, v0, gap_f_lead, speed[f] - v_lead, *drv)
        gap_f_me = s_new - s[f] - half - half[f]
        after = _idm(f, speed, v0, gap_f_me, speed[f] - speed, *drv)
        a_n[:, k] = np.where(fol >= 0, before, 0.0)
        a_n_new[:, k] = np.where(fol >= 0, after, 0.0)
        # A physical overlap with the new follower or leader is never safe.
        overlap = (gap_f_me < 1.0) & (fol >= 0) | (gap_lead < 1.0)
        available[:, k] &= ~overlap
    res = mobil_decision(idm_accel[:, None], a_c_new, a_n, a_n_new, a_o[:, None],
                         a_o_new[:, None], politeness, threshold, b_safe, keep_right_bias,
                         available & by_mobil[:, None])
    chosen = choose_side(res).astype(np.int64)
    # Route-forced changes (the ego) override MOBIL: as soon as they are safe.
    for k in (LEFT, RIGHT):
        want = forced & (cand_lanes[:, k] == forced_change) & available[:, k] & \
            res.is_safe[:, k]
        chosen = np.where(want, k, chosen)
    side[:] = chosen
    incentive[:] = np.where(available, res.incentive, 0.0)


def without_swaps(rows: np.ndarray, k: np.ndarray, lane: np.ndarray, s: np.ndarray,
                  half: np.ndarray, cand_lanes: np.ndarray, new_s: np.ndarray,
                  incentive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop changes that would put two movers side by side in the same lane (two cars
    swapping lanes, or two merging into the lane between them); the larger incentive
    wins (the lower index on a tie).

    Args:
        rows, k: the movers and their sides. lane, s, half: every car's lane, station and
            half length. cand_lanes, new_s, incentive: (n, 2) from ``lane_change_choices``.

    Returns:
        The movers and sides that remain.
    """
    if len(rows) < 2:
        return rows, k
    target = cand_lanes[rows, k]
    s_t = new_s[rows, k]
    gain = incentive[rows, k]
    src_s = s[rows]
    src = lane[rows]
    reach = 2.0 * half[rows] + 6.0
    # i conflicts with j if i lands in j's lane or j's target lane near j.
    near_src = (target[:, None] == src[None, :]) & (np.abs(s_t[:, None] - src_s[None, :])
                                                    < reach[:, None])
    near_tgt = (target[:, None] == target[None, :]) & (np.abs(s_t[:, None] - s_t[None, :])
                                                       < reach[:, None])
    clash = (near_src | near_tgt) & ~np.eye(len(rows), dtype=bool)
    loses = (clash & (gain[None, :] > gain[:, None])).any(axis=1) | (
        clash & (gain[None, :] == gain[:, None]) & (rows[None, :] < rows[:, None])).any(1)
    return rows[~loses], k[~loses]
