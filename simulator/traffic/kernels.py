"""The drivers' per-decision arithmetic compiled with numba: leaders, desired speeds, stop
distances, IDM accelerations, pure-pursuit steering and the drivers' acceleration commands,
one loop over vehicles each.

At 50 cars every numpy call of ``TrafficLogic`` costs more in dispatch than in arithmetic
(~1 us per call, ~600 calls per decision); these kernels do the same work in a few us.
``TrafficLogic`` keeps its numpy implementation as the reference (``use_kernels=False``),
and ``tests/simulator/traffic/test_kernels.py`` checks that both give the same leaders,
gaps, speeds and commands (bit for bit where only arithmetic and sqrt are involved; to
rounding where numba's ``atan2`` and numpy's differ in the last bit).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from agents import controllers, idm
from agents.controllers import pure_pursuit_steer_one
from agents.idm import idm_acceleration_one
from simulator.map import lane_kernels
from simulator.map.lane_kernels import curvature, lane_point, obstacle_gap, station_on
from simulator.traffic.kernel_cache import track_dependencies

# These kernels compile in functions of other modules: their cache depends on them too.
track_dependencies(__file__, controllers, idm, lane_kernels)
_OBSTACLE = -2   # logic.OBSTACLE (a leader that is a static obstacle)
_RED, _YELLOW = 0, 1


LOOKAHEAD_HOPS = 8      # at most this many lanes ahead for a leader
LOOKAHEAD_M = 80.0      # beyond the second lane, look further only while nearer than this


@njit(cache=True, nogil=True)
def find_leaders(g, obst, stride, group, split_s, only_successor, lane, s, d, prev_lane,
                 active, next_lane, half, done_m, leader, gap):  # pragma: no cover
    """``TrafficLogic.find_leaders``: see there. Clears ``prev_lane`` of cars within
    ``done_m`` of their lane's centre; writes ``leader`` and ``gap``."""
    n = len(s)
    n_lanes = len(g.length)
    length = g.length
    vlane = np.empty(n, np.int64)
    grouped = np.zeros(n, np.bool_)
    changing = 0
    for i in range(n):
        l0 = max(lane[i], 0)
        grouped[i] = s[i] < split_s[l0]
        vlane[i] = group[l0] if grouped[i] else lane[i]
        if not active[i]:
            vlane[i] = 2 * n_lanes
        if abs(d[i]) < done_m:
            prev_lane[i] = -1
        if active[i] and prev_lane[i] >= 0:
            changing += 1
    # Every car, plus a ghost in the lane a changing car is leaving (it still blocks it).
    m = n + changing
    vl = np.empty(m, np.int64)
    ss = np.empty(m)
    ids = np.empty(m, np.int64)
    k = n
    for i in range(n):
        vl[i], ss[i], ids[i] = vlane[i], s[i], i
        if active[i] and prev_lane[i] >= 0:
            vl[k] = prev_lane[i]
            ss[k], _ = station_on(g, max(lane[i], 0), s[i], d[i], prev_lane[i])
            ids[k] = i
            k += 1
    o1 = np.argsort(ss, kind="mergesort")          # two stable sorts = lexsort((ss, vl))
    order = o1[np.argsort(vl[o1], kind="mergesort")]
    for i in range(n):
        leader[i] = -1
        gap[i] = np.inf
    first = np.full(2 * n_lanes + 1, -1, np.int64)
    first_s = np.zeros(2 * n_lanes + 1)
    for k in range(m):
        a = order[k]
        if k == 0 or vl[order[k - 1]] != vl[a]:
            first[vl[a]] = ids[a]
            first_s[vl[a]] = ss[a]
        if k + 1 < m:
            b = order[k + 1]
            if vl[b] == vl[a] and a < n and ids[b] != ids[a]:
                leader[a] = ids[b]
                gap[a] = ss[b] - ss[a] - (half[a] + half[ids[b]])
    first[2 * n_lanes] = -1
    for i in range(n):
        l0 = max(lane[i], 0)
        has = leader[i] >= 0
        # In the shared start of a connector: the first car further along its own one.
        if grouped[i] and not has and active[i]:
            own = first[l0]
            if own >= 0 and own != i:
                leader[i] = own
                gap[i] = first_s[l0] - s[i] - (half[i] + half[own])
                has = True
        # Look ahead along the chosen next lane and the one after it, and further while
        # the lanes looked along are short (OpenDRIVE chops roads into short pieces).
        remaining = length[l0] - s[i]
        nxt = next_lane[i]
        for hop in range(LOOKAHEAD_HOPS):
            if hop >= 2 and remaining >= LOOKAHEAD_M:
                break
            need = not has and nxt >= 0 and active[i]
            safe = max(nxt, 0)
            cand = first[safe] if need else -1
            cand_s = first_s[safe]
            grp = group[safe]
            cand_g = first[grp] if need else -1
            if cand_g >= 0 and (cand < 0 or first_s[grp] < cand_s):
                cand, cand_s = cand_g, first_s[grp]
            if cand == i:
                cand = -1
            if cand >= 0:
                leader[i] = cand
                gap[i] = remaining + cand_s - (half[i] + half[cand])
                has = True
            elif need:
                remaining = remaining + length[safe]
            nxt = only_successor[safe] if need and cand < 0 else -1
        # A prop standing on the lane is a leader that never moves.
        nl = next_lane[i] if next_lane[i] >= 0 else n_lanes
        ob = obstacle_gap(obst, stride, l0, s[i], half[i], nl)
        if active[i] and ob < gap[i]:
            leader[i] = _OBSTACLE
            gap[i] = ob


@njit(cache=True, nogil=True)
def desired_speed(g, speed_limit, curve_speed, lane, s, next_lane, factor, wander, cruise,
                  comfort, lookahead_m, lat_accel, out):  # pragma: no cover - compiled
    """``TrafficLogic.desired_speed``: see there."""
    for i in range(len(s)):
        ln = max(lane[i], 0)
        length = g.length[ln]
        v0 = min(speed_limit[ln] * factor[i] * wander[i], cruise[i])
        two_b = 2.0 * comfort[i]
        best = np.inf
        for k in range(len(lookahead_m)):
            ahead = min(s[i] + lookahead_m[k], length)
            kappa = abs(curvature(g, ln, ahead))
            v2 = lat_accel / max(kappa, 1e-6) + two_b * (ahead - s[i])
            best = min(best, v2)
        v0 = min(v0, np.sqrt(best))
        v_next = curve_speed[next_lane[i]] if next_lane[i] >= 0 else np.inf
        dist = max(length - s[i], 0.0)
        out[i] = min(v0, np.sqrt(v_next * v_next + two_b * dist))


@njit(cache=True, nogil=True)
def stop_distance(length, lane, s, half, speed, comfort, light, stop_at_s, yield_stop,
                  out):  # pragma: no cover - compiled
    """``TrafficLogic.stop_distance``: see there."""
    for i in range(len(s)):
        ln = max(lane[i], 0)
        to_end = length[ln] - s[i] - half[i]
        state = light[ln]
        can_stop = speed[i] * speed[i] < 3.0 * comfort[i] * max(to_end, 0.0)
        must = (state == _RED or (state == _YELLOW and can_stop)) and to_end > -half[i]
        stop = to_end - 1.0 if must else np.inf
        stop = min(stop, stop_at_s[i] - s[i] - half[i])
        out[i] = min(stop, yield_stop[i])


@njit(cache=True, nogil=True)
def accelerations(speed, v0, leader, gap, stop_m, crashed, headway, min_gap, max_accel,
                  comfort, max_brake, acc, lead_acc, stop_acc):  # pragma: no cover
    """``TrafficLogic.accelerations``: IDM behind the leader and before the stop point."""
    for i in range(len(speed)):
        lead_v = speed[leader[i]] if leader[i] >= 0 else 0.0
        v = speed[i]
        a_lead = idm_acceleration_one(v, v0[i], gap[i], v - lead_v, headway[i], min_gap[i],
                                      max_accel[i], comfort[i])
        a_stop = idm_acceleration_one(v, v0[i], stop_m[i], v, headway[i],
                                      min(min_gap[i], 1.0), max_accel[i], comfort[i])
        a = max(min(a_lead, a_stop), -max_brake)
        acc[i] = -max_brake if crashed[i] else a
        lead_acc[i] = a_lead
        stop_acc[i] = max(a_stop, -max_brake)


@njit(cache=True, nogil=True)
def steering(g, lane, s, next_lane, x, y, yaw, speed, wheelbase, lookahead_s, min_lookahead,
             out):  # pragma: no cover - compiled
    """``TrafficLogic.steering``: pure pursuit towards the look-ahead point on the lane."""
    for i in range(len(s)):
        look = max(min_lookahead[i], lookahead_s[i] * speed[i])
        ln = max(lane[i], 0)
        s_t = s[i] + look
        over = s_t - g.length[ln]
        if over > 0 and next_lane[i] >= 0:
            ln, s_t = next_lane[i], over
        tx, ty = lane_point(g, ln, s_t, 0.0)
        rear_x = x[i] - np.cos(yaw[i]) * wheelbase[i] / 2.0
        rear_y = y[i] - np.sin(yaw[i]) * wheelbase[i] / 2.0
        out[i] = pure_pursuit_steer_one(rear_x, rear_y, yaw[i], tx, ty, wheelbase[i])


@njit(cache=True, nogil=True)
def _minimum(a, b):  # pragma: no cover - compiled
    """``np.minimum`` of two floats, bit for bit (NaN wins; of two zeros, ``b``)."""
    return a if (a < b or a != a) else b


@njit(cache=True, nogil=True)
def _maximum(a, b):  # pragma: no cover - compiled
    """``np.maximum`` of two floats, bit for bit (NaN wins; of two zeros, ``b``)."""
    return a if (a > b or a != a) else b


@njit(cache=True, nogil=True)
def driver_commands(delayed, stop_accel, gap, acc, crashed, speed, v0, out, target,
                    cap):  # pragma: no cover - compiled
    """``Drivers.accel_commands`` up to the autopilot's PID: the human drivers' commands
    into ``out``, the PID's target speed and upper limit into ``target`` and ``cap``."""
    for i in range(len(acc)):
        a = _minimum(delayed[i], stop_accel[i])
        a = _minimum(a, acc[i] if gap[i] < 2.0 else np.inf)
        out[i] = acc[i] if crashed[i] else a
        target[i] = _minimum(_maximum(speed[i] + acc[i] * 1.0, 0.0), v0[i])
        cap[i] = acc[i] if acc[i] < -0.5 else np.inf


@njit(cache=True, nogil=True)
def autopilot_commands(pid, target, speed, max_decel, rows, out):  # pragma: no cover
    """``Drivers.accel_commands`` after the PID: its commands into ``out`` on ``rows``,
    full braking once stopped with nowhere to go."""
    for i in range(len(out)):
        if rows[i]:
            out[i] = -max_decel[i] if (target[i] <= 0.0 and speed[i] < 0.3) else pid[i]


@njit(cache=True, nogil=True)
def lane_change_candidates(lane, s, active, crashed, cooldown, speed, prev_lane, allowed,
                           forced_change, mobil, is_road, after_junction, is_entry,
                           at_junction_end, length, left, right, seam_m, after_junction_m,
                           no_change_zone_m, cand_lanes, available, by_mobil,
                           forced):  # pragma: no cover - compiled
    """``TrafficLogic.lane_changes``' eligibility: see there. Writes the neighbour lanes,
    the sides worth testing and who changes by MOBIL or by force; returns whether any side
    is."""
    anything = False
    for i in range(len(s)):
        ln = max(lane[i], 0)
        road = is_road[ln] and active[i] and not crashed[i] and prev_lane[i] < 0
        start_m = after_junction_m if after_junction[ln] else (0.0 if is_entry[ln] else seam_m)
        end_m = no_change_zone_m if at_junction_end[ln] else seam_m
        eligible = (road and cooldown[i] <= 0 and speed[i] > 3.0 and s[i] > start_m
                    and length[ln] - s[i] > end_m)
        by_mobil[i] = eligible and allowed[i] and mobil
        forced[i] = forced_change[i] >= 0 and road
        cand_lanes[i, 0] = left[ln]
        cand_lanes[i, 1] = right[ln]
        for k in range(2):
            available[i, k] = cand_lanes[i, k] >= 0 and (by_mobil[i] or forced[i])
            anything = anything or available[i, k]
    return anything


@njit(cache=True, nogil=True)
def _sorted_by_lane(lane, s, active, n_lanes):  # pragma: no cover - compiled
    """Vehicles ordered by (lane, s), inactive ones on a dummy lane at the end, as
    ``np.lexsort((s, lane))``; returns (order, their lanes, their stations)."""
    n = len(s)
    ln = np.empty(n, np.int64)
    for i in range(n):
        ln[i] = lane[i] if active[i] else n_lanes
    o1 = np.argsort(s, kind="mergesort")
    order = o1[np.argsort(ln[o1], kind="mergesort")]
    return order, ln[order], s[order]


@njit(cache=True, nogil=True)
def _idm_of(f, speed, v0, gap, dv, headway, min_gap, max_accel, comfort):  # pragma: no cover
    return idm_acceleration_one(speed[f], v0[f], gap, dv, headway[f], min_gap[f],
                                max_accel[f], comfort[f])


@njit(cache=True, nogil=True)
def lane_change_choices(g, obst, stride, lane, s, d, active, leader, gap_m, speed, v0,
                        half, idm_accel, stop_accel, headway, min_gap, max_accel, comfort,
                        politeness, threshold, b_safe, keep_right_bias, cand_lanes, available,
                        by_mobil, forced, forced_change, side, new_s, new_d, incentive
                        ):  # pragma: no cover - compiled
    """MOBIL for every car and side (``TrafficLogic.lane_changes`` up to executing the
    changes): the car's station on each neighbour lane (its projection), the new leader
    and follower there, IDM accelerations before and after, the safety and overlap tests,
    MOBIL's incentive and the side chosen (-1: stay). ``available`` is narrowed in place
    by the overlap test; ``side``, ``new_s``, ``new_d`` and ``incentive`` are written."""
    n = len(s)
    n_lanes = len(g.length)
    order, lane_sorted, s_sorted = _sorted_by_lane(lane, s, active, n_lanes)
    keys = np.empty(n)
    pos_self = np.empty(n, np.int64)
    for k in range(n):
        keys[k] = lane_sorted[k] * stride + s_sorted[k]
        pos_self[order[k]] = k
    for i in range(n):
        side[i] = -1
        l0 = max(lane[i], 0)
        # The old follower, now and once we leave (it then follows our leader).
        p = pos_self[i] - 1
        old_f = order[p] if p >= 0 and lane_sorted[p] == lane[i] else -1
        a_o = a_o_new = 0.0
        if old_f >= 0:
            f = old_f
            gap_now = s[i] - s[f] - half[i] - half[f]
            a_o = _idm_of(f, speed, v0, gap_now, speed[f] - speed[i], headway, min_gap,
                          max_accel, comfort)
            gap_after = gap_m[i] + gap_now + 2 * half[i] if leader[i] != -1 else np.inf
            lv = speed[leader[i]] if leader[i] >= 0 else 0.0
            a_o_new = _idm_of(f, speed, v0, gap_after, speed[f] - lv, headway, min_gap,
                              max_accel, comfort)
        best = -np.inf
        forced_k = -1
        for k in range(2):
            tl = max(cand_lanes[i, k], 0)
            s_new = s[i] * g.length[tl] / g.length[l0]
            d_new = 0.0
            if available[i, k]:
                s_new, d_new = station_on(g, l0, s[i], d[i], tl)
            new_s[i, k], new_d[i, k] = s_new, d_new
            incentive[i, k] = 0.0
            if not available[i, k]:
                continue
            # New leader and follower: around our station in the target lane.
            q = tl * stride + s_new
            a, b = 0, n                     # first key >= q
            while a < b:
                c = (a + b) >> 1
                if keys[c] < q:
                    a = c + 1
                else:
                    b = c
            lead = order[a] if a < n and lane_sorted[min(a, n - 1)] == tl else -1
            fol = order[a - 1] if a > 0 and lane_sorted[a - 1] == tl else -1
            if lead == i:
                lead = -1
            if fol == i:
                fol = -1
            gap_lead = s[lead] - s_new - half[i] - half[lead] if lead >= 0 else np.inf
            ob = obstacle_gap(obst, stride, tl, s_new, half[i], n_lanes)
            if ob < gap_lead:
                lead = -1
            gap_lead = min(gap_lead, ob)
            v_lead = speed[lead] if lead >= 0 else 0.0
            a_self = idm_acceleration_one(speed[i], v0[i], gap_lead, speed[i] - v_lead,
                                          headway[i], min_gap[i], max_accel[i], comfort[i])
            a_c_new = min(a_self, stop_accel[i])
            a_n = a_n_new = 0.0
            gap_f_me = np.inf
            if fol >= 0:
                f = fol
                gap_f_lead = s[lead] - s[f] - half[f] - half[lead] if lead >= 0 else np.inf
                a_n = _idm_of(f, speed, v0, gap_f_lead, speed[f] - v_lead, headway, min_gap,
                              max_accel, comfort)
                gap_f_me = s_new - s[f] - half[i] - half[f]
                a_n_new = _idm_of(f, speed, v0, gap_f_me, speed[f] - speed[i], headway,
                                  min_gap, max_accel, comfort)
            # A physical overlap with the new follower or leader is never safe.
            if (fol >= 0 and gap_f_me < 1.0) or gap_lead < 1.0:
                available[i, k] = False
                continue
            # MOBIL (agents.mobil.mobil_decision): incentive with politeness and the
            # keep-right bias; safe when the new follower brakes no harder than b_safe.
            inc = (a_c_new - idm_accel[i]) + politeness[i] * (
                (a_n_new - a_n) + (a_o_new - a_o))
            inc = inc + keep_right_bias * (-1.0 if k == 0 else 1.0)
            incentive[i, k] = inc
            safe = a_n_new >= -b_safe
            if by_mobil[i] and inc > threshold[i] and safe and inc > best:
                best = inc
                side[i] = k
            if forced[i] and cand_lanes[i, k] == forced_change[i] and safe:
                forced_k = k
        # Route-forced changes (the ego) override MOBIL: as soon as they are safe.
        if forced_k >= 0:
            side[i] = forced_k
