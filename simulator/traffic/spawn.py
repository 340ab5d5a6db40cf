"""Placing vehicles on lanes: the ego on its route, NPCs at the start, lane bookkeeping as
vehicles drive from lane to lane, and respawning NPCs that leave the map at a dead end.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from simulator.errors import WorldError
from simulator.map.route import plan_route
from simulator.traffic.logic import NO_LANE

if TYPE_CHECKING:
    from simulator.world import World

log = logging.getLogger(__name__)

EGO = 0
_PARK_X = 1.0e5  # inactive vehicles wait far outside the map
_RESPAWN_PERIOD_S = 0.5  # how often parked NPCs try to re-enter


class Spawner:
    """Owns lane membership updates of a world's vehicles.

    Args:
        world: the world being built (its traffic, state, lanes and RNG are used).
        npc_rngs: NPC i's own stream (choices of next lanes come from it).
    """

    def __init__(self, world: World, npc_rngs: list[np.random.Generator]):
        self.world = world
        self.npc_rngs = npc_rngs
        self.route_length_m = 0.0
        self.route_start_s = 0.0
        self.route_offsets: list[float] = []
        self.destination_s = np.inf
        self._entries = np.flatnonzero(world.lanes.is_entry & world.lanes.is_road)
        self._next_respawn_s = 0.0
        length = world.params.length_m[1:].max() if world.n_vehicles > 1 else 4.6
        if len(self._entries):
            ex, ey = world.lanes.positions(self._entries, np.full(len(self._entries),
                                                                  length / 2 + 0.5))
            self._entry_xy = np.stack([ex, ey], 1)

    # ------------------------------------------------------------------ ego
    def place_ego(self) -> list[int]:
        """Put the ego at its start and plan its route; returns the route's lane list."""
        w = self.world
        ego = w.scenario.ego
        plan = plan_route(w.hdmap, ego)
        self.destination_s = plan.destination_s
        self.route_offsets = plan.offsets_m
        self.route_start_s = plan.start_s
        self.route_length_m = plan.length_m
        w.route, w.route_index = plan.lanes, 0
        self._place(EGO, plan.lanes[0], plan.start_s, ego.speed_mps)
        return plan.lanes

    # ------------------------------------------------------------------ NPCs
    def place_npcs(self) -> None:
        """Spread NPCs over the road lanes, keeping gaps and clear of the ego."""
        w = self.world
        tr = w.traffic
        cfg = w.scenario.traffic
        road = np.flatnonzero(w.lanes.is_road)
        if w.n_vehicles > 1 and not len(road):
            raise WorldError("traffic.count > 0 but the map has no road lanes to spawn on")
        weights = w.lanes.length_m[road] / w.lanes.length_m[road].sum()
        ego_xy = np.array([w.state.x[EGO], w.state.y[EGO]])
        length = w.params.length_m
        placed_lane = [tr.lane[EGO]]
        placed_s = [tr.s[EGO]]
        placed_len = [length[EGO]]
        for i in range(1, w.n_vehicles):
            for _attempt in range(200):
                lane = int(road[w.rng.choice(len(road), p=weights)])
                lane_len = w.lanes.length_m[lane]
                if lane_len < length[i] + 2:
                    continue
                s = float(w.rng.uniform(length[i] / 2 + 1, lane_len - length[i] / 2 - 1))
                v = self._spawn_speed(i, lane, s)
                same = np.asarray(placed_lane) == lane
                # Room for the speed difference to the neighbours: ~1.5 s at spawn speed.
                need = cfg.min_spawn_gap_m + 1.5 * v + (length[i] + np.asarray(placed_len)) / 2
                if np.any(np.abs(np.asarray(placed_s) - s)[same] < need[same]):
                    continue
                x, y = w.lanes.positions(np.array([lane]), np.array([s]))
                if np.hypot(x[0] - ego_xy[0], y[0] - ego_xy[1]) < cfg.ego_clearance_m:
                    continue
                self._place(i, lane, s, v)
                placed_lane.append(lane)
                placed_s.append(s)
                placed_len.append(length[i])
                break
            else:
                self._park(i)
        parked = int((~tr.active[1:]).sum())
        if parked:
            later = "enter later through the entry lanes" if len(self._entries) else \
                "stay off the map (it has no entry lanes)"
            log.warning("%d of %d NPCs found no free spot at the start and %s; lower "
                        "traffic.count or min_spawn_gap_m", parked, w.n_vehicles - 1, later)

    def _spawn_speed(self, i: int, lane: int, s: float) -> float:
        """A speed the driver can keep: its desired speed, or less before a stop line."""
        w = self.world
        la = w.lanes
        v = 0.8 * la.speed_limit_mps[lane] * w.drivers.desired_speed_factor[i]
        v = min(v, la.curve_speed_mps[lane])
        if la.at_junction_end[lane]:
            room = max(la.length_m[lane] - s - 10.0, 0.0)
            v = min(v, float(np.sqrt(2.0 * w.drivers.comfort_decel_mps2[i] * room)))
        return v

    def _place(self, i: int, lane: int, s: float, speed: float) -> None:
        w = self.world
        tr = w.traffic
        x, y = w.lanes.positions(np.array([lane]), np.array([s]))
        yaw = float(w.lanes.headings(np.array([lane]), np.array([s]))[0])
        w.state.set(i, float(x[0]), float(y[0]), yaw, float(speed))
        tr.lane[i], tr.s[i], tr.d[i] = lane, s, 0.0
        tr.active[i] = True
        tr.crashed[i] = False
        tr.change_cooldown_s[i] = 0.0
        tr.next_lane[i] = self._choose_next(i, lane)
        if hasattr(w, "reaction"):  # not yet during World construction
            w.reaction.reset(np.array([i]), 0.0)

    def _park(self, i: int) -> None:
        w = self.world
        w.state.set(i, _PARK_X + 30.0 * i, 0.0, 0.0, 0.0)
        w.traffic.active[i] = False
        w.traffic.lane[i] = NO_LANE
        w.traffic.next_lane[i] = NO_LANE

    def _choose_next(self, i: int, lane: int) -> int:
        """The lane vehicle i takes after ``lane``: its route (ego) or a random successor."""
        w = self.world
        succ = w.lanes.successors[lane]
        if i == EGO:
            k, route = w.route_index, w.route
            if k + 1 < len(route) and route[k + 1] in succ:
                return int(route[k + 1])
            if k + 1 < len(route) or np.isfinite(self.destination_s):
                return NO_LANE  # a lane change comes first, or the route ends here
            return int(succ[0]) if len(succ) else NO_LANE
        if not len(succ):
            return NO_LANE
        return int(succ[int(self.npc_rngs[i - 1].integers(len(succ)))])

    # ------------------------------------------------------------------ per decision
    def update_lanes(self) -> None:
        """Project vehicles onto their lanes, move them to the next lane past the end,
        respawn NPCs that reached a dead end, and keep the ego's route index."""
        w = self.world
        tr, st, la = w.traffic, w.state, w.lanes
        act = np.flatnonzero(tr.active)
        if len(act):
            s, d = la.project(tr.lane[act], st.x[act], st.y[act], tr.s[act])
            tr.s[act], tr.d[act] = s, d
        if w.ego_control is not None and abs(tr.d[EGO]) > la.width_m[tr.lane[EGO]]:
            self._relocate_ego()   # driven by hand off its lane: find the lane it is on
        over = tr.active & (tr.s > la.length_m[np.maximum(tr.lane, 0)])
        for i in np.flatnonzero(over):
            self._advance(int(i))
        # NPCs at the end of a dead-end lane leave the map.
        at_exit = tr.active & la.is_exit[np.maximum(tr.lane, 0)] & (
            tr.s > la.length_m[np.maximum(tr.lane, 0)] - w.params.length_m)
        at_exit[EGO] = False
        for i in np.flatnonzero(at_exit):
            self._park(int(i))
        self._respawn()
        self._ego_route_stop()

    def _relocate_ego(self) -> None:
        w = self.world
        tr, st = w.traffic, w.state
        lane, s, d = w.hdmap.nearest_lane(np.array([st.x[EGO], st.y[EGO]]), float(st.yaw[EGO]))
        tr.lane[EGO], tr.s[EGO], tr.d[EGO] = lane, s, d
        tr.prev_lane[EGO] = NO_LANE
        tr.next_lane[EGO] = self._choose_next(EGO, int(lane))

    def _advance(self, i: int) -> None:
        w = self.world
        tr, la = w.traffic, w.lanes
        while tr.s[i] > la.length_m[tr.lane[i]] and tr.next_lane[i] != NO_LANE:
            tr.s[i] -= la.length_m[tr.lane[i]]
            tr.lane[i] = tr.next_lane[i]
            tr.prev_lane[i] = NO_LANE  # a lane-change ghost does not follow across lanes
            if i == EGO and w.route_index + 1 < len(w.route) and \
                    w.route[w.route_index + 1] == tr.lane[i]:
                w.route_index += 1
            tr.next_lane[i] = self._choose_next(i, int(tr.lane[i]))
        if tr.s[i] > la.length_m[tr.lane[i]]:
            tr.s[i] = la.length_m[tr.lane[i]]

    def after_lane_change(self, movers: np.ndarray) -> None:
        """Re-choose the movers' next lanes (the successors differ per lane)."""
        w = self.world
        tr = w.traffic
        for i in np.flatnonzero(movers):
            lane = int(tr.lane[i])
            if tr.next_lane[i] not in w.lanes.successors[lane]:
                if i == EGO and w.route_index + 1 < len(w.route) and \
                        w.route[w.route_index + 1] == lane:
                    w.route_index += 1
                tr.next_lane[i] = self._choose_next(int(i), lane)

    def _ego_route_stop(self) -> None:
        w = self.world
        tr = w.traffic
        on_last = w.route_index == len(w.route) - 1
        # The stop point is for the front bumper (IDM stops ~1 m short of it): place it so
        # the ego's centre comes to rest at the destination.
        stop = self.destination_s + w.params.length_m[EGO] / 2 + 1.0
        tr.stop_at_s[EGO] = stop if on_last else np.inf
        if tr.next_lane[EGO] == NO_LANE and w.lanes.is_exit[tr.lane[EGO]]:
            # Without a destination the ego follows lanes: it stops at a dead end.
            tr.stop_at_s[EGO] = min(tr.stop_at_s[EGO], w.lanes.length_m[tr.lane[EGO]])
        if not on_last and tr.next_lane[EGO] == NO_LANE:
            # Waiting for a lane change the route needs: do not run off the lane's end.
            tr.stop_at_s[EGO] = w.lanes.length_m[tr.lane[EGO]] - 5.0

    def _respawn(self) -> None:
        """Bring parked NPCs back at entry lanes where the lane start is free."""
        w = self.world
        tr = w.traffic
        parked = np.flatnonzero(~tr.active)
        if not len(parked):
            return
        entries = self._entries
        if not len(entries) or w.time_s < self._next_respawn_s:
            return
        self._next_respawn_s = w.time_s + _RESPAWN_PERIOD_S
        cfg = w.scenario.traffic
        ego_xy = np.array([w.state.x[EGO], w.state.y[EGO]])
        act = tr.active.copy()
        for i in parked:
            k = int(w.rng.integers(len(entries)))
            lane = int(entries[k])
            s = w.params.length_m[i] / 2 + 0.5
            v = self._spawn_speed(int(i), lane, s)
            need = cfg.min_spawn_gap_m + w.params.length_m[i] + 2.0 * v
            x, y = self._entry_xy[k]
            if np.hypot(x - ego_xy[0], y - ego_xy[1]) < cfg.ego_clearance_m:
                continue
            # Physical clearance (a car changing lanes near the entry counts too).
            dx, dy = w.state.x - x, w.state.y - y
            if np.any(act & (dx * dx + dy * dy < need * need)):
                continue
            self._place(int(i), lane, s, v)
            act[i] = True
