"""Lane-level traffic logic over arrays: who follows whom, lights, yielding, lane changes.

All vehicles (index 0 is the ego) live in arrays: their lane, station ``s`` along it, the
lane chosen next. The world calls ``TrafficLogic``'s steps at the drivers' decision rate
(leaders, stop distances, IDM accelerations, MOBIL lane changes, pure-pursuit steering).
Each step runs a numba kernel (``simulator.traffic.kernels``, ``junction_kernels``) whose
numpy implementation, vectorised over vehicles, is kept here as its reference
(``use_kernels = False``); nothing here loops over vehicles in Python.
"""

from __future__ import annotations

import numpy as np

from agents.controllers import pure_pursuit_steer
from agents.idm import idm_acceleration
from agents.mobil import NO_CHANGE
from simulator.map.lane_arrays import KEY_STRIDE, LaneArrays
from simulator.traffic import junction_kernels, kernels, lane_change
from simulator.traffic.junction_rules import NearJunction, clearing_stops, give_way_stops
from simulator.traffic.signals import RED, YELLOW

NO_LANE = -1
OBSTACLE = -2  # ``leader`` value: a static obstacle (prop on the lane), speed 0
_NO_CHANGE_ZONE_M = 30.0  # no lane changes this close to a lane's end at a junction
_LANE_CHANGE_COOLDOWN_S = 4.0
_LANE_CHANGE_DONE_M = 0.8    # |d| below which a lane change no longer blocks the old lane
_NO_CHANGE_AFTER_JUNCTION_M = 15.0
_SEAM_M = 15.0               # no lane changes this close to where a lane joins another
_LATERAL_ACCEL_MPS2 = 2.0    # comfortable lateral acceleration in curves
_CURVE_LOOKAHEAD_M = np.array([0.0, 4.0, 8.0, 15.0, 25.0, 40.0, 60.0, 80.0])  # stations
_MAX_BRAKE_MPS2 = 10.0       # commands beyond this are saturated by the tyres anyway
_JUNCTION_HORIZON_M = 80.0    # junction rules are evaluated for cars this close to one
_B_SAFE_MPS2 = 4.0           # MOBIL: the hardest braking a change may impose on others


class DriverArrays:
    """Per-vehicle IDM/MOBIL parameters (ego included, row 0) as flat arrays."""

    def __init__(self, n: int):
        self.desired_speed_factor = np.ones(n)
        self.cruise_speed_mps = np.full(n, np.inf)   # ego: autopilot cruise speed
        self.time_headway_s = np.full(n, 1.5)
        self.min_gap_m = np.full(n, 2.0)
        self.max_accel_mps2 = np.full(n, 1.5)
        self.comfort_decel_mps2 = np.full(n, 2.0)
        self.politeness = np.full(n, 0.3)
        self.lane_change_threshold_mps2 = np.full(n, 0.2)
        self.gap_acceptance_s = np.full(n, 4.0)
        self.lookahead_s = np.full(n, 0.8)
        self.min_lookahead_m = np.full(n, 4.0)


class TrafficLogic:
    """Decides every vehicle's commands from lane positions.

    Args:
        lanes: lane-level arrays of the HD map.
        drivers: per-vehicle driver parameters.
        wheelbase_m, length_m: per-vehicle geometry arrays.
        keep_right_bias: MOBIL keep-right bias [m/s^2].

    Attributes:
        use_kernels: run the compiled kernels (default); False runs the numpy reference.
    """

    def __init__(self, lanes: LaneArrays, drivers: DriverArrays, wheelbase_m: np.ndarray,
                 length_m: np.ndarray, keep_right_bias: float = 0.1):
        self.lanes = lanes
        self.drivers = drivers
        self.wheelbase_m = wheelbase_m
        self.half_length_m = length_m / 2.0
        self.keep_right_bias = keep_right_bias
        n = len(length_m)
        self.lane = np.full(n, NO_LANE, np.int64)
        self.s = np.zeros(n)
        self.d = np.zeros(n)
        self.next_lane = np.full(n, NO_LANE, np.int64)
        self.prev_lane = np.full(n, NO_LANE, np.int64)  # lane being left (lane change)
        self.active = np.ones(n, bool)
        self.crashed = np.zeros(n, bool)
        self.stop_at_s = np.full(n, np.inf)        # a stop point on the vehicle's lane (route end)
        self.change_cooldown_s = np.zeros(n)
        self.lane_change_allowed = np.ones(n, bool)  # MOBIL runs for these (NPCs)
        self.forced_change = np.full(n, NO_LANE, np.int64)  # ego route: wanted neighbour lane
        self.leader = np.full(n, -1, np.int64)
        self.gap_m = np.full(n, np.inf)
        self.idm_accel = np.zeros(n)
        self.stop_accel = np.zeros(n)
        self.lead_accel = np.zeros(n)
        self.use_kernels = True
        self._conflicts = junction_kernels.conflict_table(lanes)

    # ------------------------------------------------------------------ neighbours
    def find_leaders(self) -> None:
        """Leader and bumper gap of each vehicle: in its lane, else on its next lanes.

        Connectors that leave the same lane share one "virtual lane" until they split
        (``LaneArrays.split_s``), so vehicles on them see each other. A car changing lanes
        also stands in the lane it leaves, at its projection there, until it is within
        ``_LANE_CHANGE_DONE_M`` of its new lane's centre. A prop on the lane is a leader
        that never moves (``OBSTACLE``); a car overlapping one has a gap <= 0.
        """
        la = self.lanes
        n = len(self.s)
        if self.use_kernels:
            self.leader, self.gap_m = np.empty(n, np.int64), np.empty(n)
            kernels.find_leaders(la.geometry, la.obstacles, KEY_STRIDE, la.group, la.split_s,
                                 la.only_successor, self.lane, self.s, self.d, self.prev_lane,
                                 self.active, self.next_lane, self.half_length_m,
                                 _LANE_CHANGE_DONE_M, self.leader, self.gap_m)
            self._merge_leaders()
            return
        self._find_leaders_numpy()
        self._merge_leaders()

    def _merge_leaders(self) -> None:
        """Cars on two equal connectors merging into one lane (an interchange's ramps), both
        inside their shared zone: the one nearer the lanes' common end leads the other."""
        la = self.lanes
        if not len(la.merge_lane):
            return
        lane, s, half, act = self.lane, self.s, self.half_length_m, self.active
        for a, a_in, b, b_in in zip(la.merge_lane, la.merge_entry, la.merge_other,
                                    la.merge_other_entry):
            me = np.flatnonzero(act & (lane == a) & (s + half > a_in))
            them = np.flatnonzero(act & (lane == b) & (s + half > b_in))
            if not len(me) or not len(them):
                continue
            rem_me = la.length_m[a] - s[me]
            rem_them = la.length_m[b] - s[them]
            gap = rem_me[:, None] - rem_them[None, :] - half[me][:, None] - half[them][None, :]
            gap = np.where(rem_them[None, :] < rem_me[:, None], gap, np.inf)
            k = np.argmin(gap, axis=1)
            g = gap[np.arange(len(me)), k]
            closer = g < self.gap_m[me]
            self.leader[me[closer]] = them[k[closer]]
            self.gap_m[me[closer]] = g[closer]

    def _find_leaders_numpy(self) -> None:
        la = self.lanes
        n = len(self.s)
        lane0 = np.maximum(self.lane, 0)
        grouped = self.s < la.split_s[lane0]
        vlane = np.where(grouped, la.group[lane0], self.lane)
        vlane = np.where(self.active, vlane, 2 * la.count)
        # A vehicle in the middle of a lane change still blocks its old lane: add a ghost.
        self.prev_lane[np.abs(self.d) < _LANE_CHANGE_DONE_M] = NO_LANE
        changing = np.flatnonzero(self.active & (self.prev_lane >= 0))
        prev = self.prev_lane[changing]
        ids = np.concatenate([np.arange(n), changing])
        vl = np.concatenate([vlane, prev])
        ghost_s, _ = la.stations_on(lane0[changing], self.s[changing], self.d[changing], prev)
        ss = np.concatenate([self.s, ghost_s])
        order = np.lexsort((ss, vl))
        vl_sorted, id_sorted, s_sorted = vl[order], ids[order], ss[order]
        leader = np.full(n, -1, np.int64)
        gap = np.full(n, np.inf)
        same = vl_sorted[1:] == vl_sorted[:-1]
        sel = same & (order[:-1] < n) & (id_sorted[1:] != id_sorted[:-1])
        me, ahead = id_sorted[:-1][sel], id_sorted[1:][sel]
        leader[me] = ahead
        gap[me] = s_sorted[1:][sel] - s_sorted[:-1][sel] - (
            self.half_length_m[me] + self.half_length_m[ahead])
        starts = np.flatnonzero(np.r_[True, ~same])
        first = np.full(2 * la.count + 1, -1, np.int64)
        first_s = np.zeros(2 * la.count + 1)
        first[vl_sorted[starts]] = id_sorted[starts]
        first_s[vl_sorted[starts]] = s_sorted[starts]
        first[2 * la.count] = -1
        has = leader >= 0
        idx = np.arange(n)
        # A car still in the shared start of a connector sees the first car that is
        # further along its own connector (past the split, so outside the group).
        own = np.where(grouped & ~has & self.active, first[lane0], -1)
        own = np.where(own == idx, -1, own)
        got = own >= 0
        leader[got] = own[got]
        gap[got] = first_s[lane0[got]] - self.s[got] - (
            self.half_length_m[got] + self.half_length_m[own[got]])
        has |= got
        # Look ahead along the chosen next lane and the one after it, and further while
        # the lanes looked along are short (OpenDRIVE chops roads into short pieces).
        remaining = la.length_m[lane0] - self.s
        nxt = self.next_lane
        for hop in range(kernels.LOOKAHEAD_HOPS):
            need = ~has & (nxt >= 0) & self.active
            if hop >= 2:
                need &= remaining < kernels.LOOKAHEAD_M
                if not need.any():
                    break
            safe_next = np.maximum(nxt, 0)
            cand = np.where(need, first[safe_next], -1)
            cand_s = first_s[safe_next]
            # A vehicle near the start of a sibling connector is ahead too.
            grp = la.group[safe_next]
            cand_g = np.where(need, first[grp], -1)
            use_g = (cand_g >= 0) & ((cand < 0) | (first_s[grp] < cand_s))
            cand = np.where(use_g, cand_g, cand)
            cand_s = np.where(use_g, first_s[grp], cand_s)
            cand = np.where(cand == idx, -1, cand)
            got = cand >= 0
            leader[got] = cand[got]
            gap[got] = remaining[got] + cand_s[got] - (
                self.half_length_m[got] + self.half_length_m[cand[got]])
            has |= got
            remaining = np.where(need & ~got, remaining + la.length_m[safe_next], remaining)
            nxt = np.where(need & ~got, la.only_successor[safe_next], NO_LANE)
        # A prop standing on the lane is a leader that never moves.
        obstacle = la.obstacle_gap(lane0, self.s, self.half_length_m, self.next_lane)
        closer = self.active & (obstacle < gap)
        leader[closer] = OBSTACLE
        gap[closer] = obstacle[closer]
        self.leader, self.gap_m = leader, gap

    # ------------------------------------------------------------------ commands
    def desired_speed(self, wander: np.ndarray,
                      target_mps: np.ndarray | None = None) -> np.ndarray:
        """Desired speed per vehicle: speed limit x factor x wander (the ego: its cruise
        speed), capped by curves ahead. Where ``target_mps`` is finite (a commanded target
        speed) it replaces both; the curve caps still apply."""
        dr = self.drivers
        la = self.lanes
        factor, cruise = dr.desired_speed_factor, dr.cruise_speed_mps
        if target_mps is not None:
            set_ = np.isfinite(target_mps)
            factor = np.where(set_, np.inf, factor)
            cruise = np.where(set_, target_mps, cruise)
        if self.use_kernels:
            out = np.empty(len(self.s))
            kernels.desired_speed(la.geometry, la.speed_limit_mps, la.curve_speed_mps,
                                  self.lane, self.s, self.next_lane, factor,
                                  np.ascontiguousarray(wander, np.float64), cruise,
                                  dr.comfort_decel_mps2, _CURVE_LOOKAHEAD_M, _LATERAL_ACCEL_MPS2,
                                  out)
            return out
        lane = np.maximum(self.lane, 0)
        v0 = self.lanes.speed_limit_mps[lane] * factor * wander
        v0 = np.minimum(v0, cruise)
        # Curves on this lane: the comfortable speed at stations ahead, reachable with
        # comfortable braking from here.
        ahead = np.minimum(self.s[:, None] + _CURVE_LOOKAHEAD_M[None, :],
                           self.lanes.length_m[lane][:, None])
        kappa = np.abs(self.lanes.curvatures(
            np.broadcast_to(lane[:, None], ahead.shape).ravel(), ahead.ravel()))
        v_curve2 = _LATERAL_ACCEL_MPS2 / np.maximum(kappa.reshape(ahead.shape), 1e-6)
        brake = 2.0 * self.drivers.comfort_decel_mps2[:, None] * (ahead - self.s[:, None])
        v0 = np.minimum(v0, np.sqrt((v_curve2 + brake).min(axis=1)))
        nxt = np.maximum(self.next_lane, 0)
        v_next = np.where(self.next_lane >= 0, self.lanes.curve_speed_mps[nxt], np.inf)
        dist = np.maximum(self.lanes.length_m[lane] - self.s, 0.0)
        v_approach = np.sqrt(v_next * v_next + 2.0 * self.drivers.comfort_decel_mps2 * dist)
        return np.minimum(v0, v_approach)

    def stop_distance(self, speed: np.ndarray, light_states: np.ndarray,
                      yield_stop: np.ndarray) -> np.ndarray:
        """Front-bumper distance to the nearest point where each vehicle must stop."""
        if self.use_kernels:
            out = np.empty(len(self.s))
            kernels.stop_distance(self.lanes.length_m, self.lane, self.s, self.half_length_m,
                                  np.ascontiguousarray(speed, np.float64),
                                  self.drivers.comfort_decel_mps2, light_states,
                                  self.stop_at_s, np.ascontiguousarray(yield_stop, np.float64),
                                  out)
            return out
        lane = np.maximum(self.lane, 0)
        to_end = self.lanes.length_m[lane] - self.s - self.half_length_m
        state = light_states[lane]
        # Yellow: stop if it can be done with 1.5x comfortable braking, else go on.
        can_stop = speed * speed < 3.0 * self.drivers.comfort_decel_mps2 * np.maximum(
            to_end, 0.0)
        must = (state == RED) | ((state == YELLOW) & can_stop)
        must &= to_end > -self.half_length_m  # already across the line: clear the junction
        stop = np.where(must, to_end - 1.0, np.inf)
        stop = np.minimum(stop, self.stop_at_s - self.s - self.half_length_m)
        return np.minimum(stop, yield_stop)

    def accelerations(self, speed: np.ndarray, v0: np.ndarray, stop_m: np.ndarray
                      ) -> np.ndarray:
        """IDM acceleration against the leader and the stop point (the stricter one)."""
        dr = self.drivers
        if self.use_kernels:
            n = len(self.s)
            acc, self.lead_accel, self.stop_accel = np.empty(n), np.empty(n), np.empty(n)
            kernels.accelerations(np.ascontiguousarray(speed, np.float64),
                                  np.ascontiguousarray(v0, np.float64), self.leader,
                                  self.gap_m, np.ascontiguousarray(stop_m, np.float64),
                                  self.crashed, dr.time_headway_s, dr.min_gap_m,
                                  dr.max_accel_mps2, dr.comfort_decel_mps2, _MAX_BRAKE_MPS2,
                                  acc, self.lead_accel, self.stop_accel)
            self.idm_accel = acc
            return acc
        lead_v = np.where(self.leader >= 0, speed[np.maximum(self.leader, 0)], 0.0)
        a_lead = idm_acceleration(speed, v0, self.gap_m, speed - lead_v, dr.time_headway_s,
                                  dr.min_gap_m, dr.max_accel_mps2, dr.comfort_decel_mps2)
        a_stop = idm_acceleration(speed, v0, stop_m, speed, dr.time_headway_s,
                                  np.minimum(dr.min_gap_m, 1.0), dr.max_accel_mps2,
                                  dr.comfort_decel_mps2)
        acc = np.maximum(np.minimum(a_lead, a_stop), -_MAX_BRAKE_MPS2)
        acc[self.crashed] = -_MAX_BRAKE_MPS2
        self.idm_accel = acc
        self.lead_accel = a_lead
        self.stop_accel = np.maximum(a_stop, -_MAX_BRAKE_MPS2)
        return acc

    def steering(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray, speed: np.ndarray
                 ) -> np.ndarray:
        """Pure pursuit towards the look-ahead point on each vehicle's lane (and the next)."""
        dr = self.drivers
        if self.use_kernels:
            out = np.empty(len(self.s))
            c = np.ascontiguousarray
            kernels.steering(self.lanes.geometry, self.lane, self.s, self.next_lane,
                             c(x, np.float64), c(y, np.float64), c(yaw, np.float64),
                             c(speed, np.float64), self.wheelbase_m, dr.lookahead_s,
                             dr.min_lookahead_m, out)
            return out
        look = np.maximum(dr.min_lookahead_m, dr.lookahead_s * speed)
        lane = np.maximum(self.lane, 0)
        s_t = self.s + look
        over = s_t - self.lanes.length_m[lane]
        go_next = (over > 0) & (self.next_lane >= 0)
        tgt_lane = np.where(go_next, self.next_lane, lane)
        s_t = np.where(go_next, over, s_t)
        tx, ty = self.lanes.positions(tgt_lane, s_t)
        rear_x = x - np.cos(yaw) * self.wheelbase_m / 2.0
        rear_y = y - np.sin(yaw) * self.wheelbase_m / 2.0
        return pure_pursuit_steer(rear_x, rear_y, yaw, tx, ty, self.wheelbase_m)

    # ------------------------------------------------------------------ lane changes
    def lane_changes(self, speed: np.ndarray, v0: np.ndarray, dt_s: float,
                     mobil: bool = True) -> np.ndarray:
        """Lane changes: MOBIL for the vehicles allowed to change (when ``mobil``), and the
        route-forced ones (``forced_change``, the ego) whenever they are safe, at any
        speed and position. Executes the changes (a mover's station and offset become its
        exact projection on the new lane); returns the movers."""
        self.change_cooldown_s = np.maximum(self.change_cooldown_s - dt_s, 0.0)
        la = self.lanes
        n = len(speed)
        if self.use_kernels:
            cand_lanes, available = np.empty((n, 2), np.int64), np.empty((n, 2), bool)
            by_mobil, forced = np.empty(n, bool), np.empty(n, bool)
            anything = kernels.lane_change_candidates(
                self.lane, self.s, self.active, self.crashed, self.change_cooldown_s,
                np.ascontiguousarray(speed, np.float64), self.prev_lane,
                self.lane_change_allowed, self.forced_change, bool(mobil), la.is_road,
                la.after_junction, la.is_entry, la.at_junction_end, la.length_m, la.left,
                la.right, _SEAM_M, _NO_CHANGE_AFTER_JUNCTION_M, _NO_CHANGE_ZONE_M, cand_lanes,
                available, by_mobil, forced)
        else:
            cand_lanes, available, by_mobil, forced = self._lane_change_candidates(speed, mobil)
            anything = available.any()
        if not anything:
            return np.zeros(n, bool)
        dr = self.drivers
        side = np.empty(n, np.int64)
        new_s, new_d, incentive = np.empty((n, 2)), np.empty((n, 2)), np.empty((n, 2))
        choices = kernels.lane_change_choices if self.use_kernels else \
            lane_change.lane_change_choices
        c = np.ascontiguousarray
        choices(la.geometry, la.obstacles, KEY_STRIDE, self.lane, self.s, self.d, self.active,
                self.leader, self.gap_m, c(speed, np.float64), c(v0, np.float64),
                self.half_length_m, self.idm_accel, self.stop_accel, dr.time_headway_s,
                dr.min_gap_m, dr.max_accel_mps2, dr.comfort_decel_mps2, dr.politeness,
                dr.lane_change_threshold_mps2, _B_SAFE_MPS2, self.keep_right_bias,
                c(cand_lanes), available, by_mobil, forced, self.forced_change, side, new_s,
                new_d, incentive)
        movers = side != NO_CHANGE
        if movers.any():
            rows = np.flatnonzero(movers)
            k = side[rows].astype(np.int64)
            rows, k = lane_change.without_swaps(rows, k, self.lane, self.s, self.half_length_m,
                                                cand_lanes, new_s, incentive)
            movers[:] = False
            movers[rows] = True
            self.prev_lane[rows] = self.lane[rows]
            self.lane[rows] = cand_lanes[rows, k]
            self.d[rows] = new_d[rows, k]
            self.s[rows] = new_s[rows, k]
            self.change_cooldown_s[rows] = _LANE_CHANGE_COOLDOWN_S
            self.forced_change[rows] = NO_LANE
        return movers

    def _lane_change_candidates(self, speed: np.ndarray, mobil: bool
                                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Neighbour lanes (n, 2), the sides worth testing (n, 2), who changes by MOBIL and
        who by force: the numpy reference of ``kernels.lane_change_candidates``."""
        lane = np.maximum(self.lane, 0)
        la = self.lanes
        # Near a lane's ends the neighbours across the seam are not searched: no changes
        # within a few car lengths of a start or an end (longer near junctions).
        eligible = (self.active & ~self.crashed & (self.change_cooldown_s <= 0)
                    & (speed > 3.0) & la.is_road[lane] & (self.prev_lane < 0)
                    & (self.s > np.where(la.after_junction[lane], _NO_CHANGE_AFTER_JUNCTION_M,
                                         np.where(la.is_entry[lane], 0.0, _SEAM_M)))
                    & (la.length_m[lane] - self.s > np.where(la.at_junction_end[lane],
                                                             _NO_CHANGE_ZONE_M, _SEAM_M)))
        cand_lanes = np.stack([la.left[lane], la.right[lane]], 1)  # (n, 2)
        forced = (self.forced_change >= 0) & self.active & ~self.crashed & \
            la.is_road[lane] & (self.prev_lane < 0)
        by_mobil = eligible & self.lane_change_allowed & mobil
        available = (cand_lanes >= 0) & (by_mobil | forced)[:, None]
        return cand_lanes, available, by_mobil, forced

    # ------------------------------------------------------------------ yielding

    def junction_stops(self, speed: np.ndarray, light_states: np.ndarray) -> np.ndarray:
        """Stop distances from junction rules (give way, occupied or clearing conflict zones)
        for all vehicles; only those on connectors or close to a junction are evaluated."""
        la = self.lanes
        if self.use_kernels:
            dr = self.drivers
            out = np.empty(len(self.s))
            junction_kernels.junction_stops(
                la.length_m, la.is_road, la.at_junction_end, _JUNCTION_HORIZON_M,
                self._conflicts, self.lane, self.s, self.half_length_m, self.next_lane,
                np.ascontiguousarray(speed, np.float64), dr.max_accel_mps2,
                dr.gap_acceptance_s, self.active, light_states, out)
            return out
        lane0 = np.maximum(self.lane, 0)
        near = self.active & (~la.is_road[lane0] | (la.at_junction_end[lane0] & (
            la.length_m[lane0] - self.s < _JUNCTION_HORIZON_M)))
        sub = np.flatnonzero(near)
        stop = np.full(len(speed), np.inf)
        if len(sub) == 0:
            return stop
        v = NearJunction(self.lane[sub], self.s[sub], self.half_length_m[sub], self.next_lane[sub],
                  speed[sub], self.drivers.max_accel_mps2[sub],
                  self.drivers.gap_acceptance_s[sub])
        stop[sub] = np.minimum(give_way_stops(self.lanes, v, light_states),
                               clearing_stops(self.lanes, v))
        return stop
