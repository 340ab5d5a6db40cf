"""Where vehicles enter: NPC placements at the start of an episode and re-entries of NPCs
that left the map at a dead end.

The spawner reads lane geometry and decides; it returns placements ``(vehicle, lane, s,
speed)`` and the world applies them. It holds no reference to the world.
"""

from __future__ import annotations

import logging
from typing import NamedTuple

import numpy as np

from scenarios.schema import Traffic
from simulator.errors import WorldError
from simulator.map.lane_arrays import LaneArrays
from simulator.traffic.placement import (
    SpawnLanes,
    place_vehicles,
    respawn_at_entries,
    spawn_speeds,
)

log = logging.getLogger(__name__)

RESPAWN_PERIOD_S = 0.5  # how often parked NPCs try to re-enter


class Placement(NamedTuple):
    vehicle: int
    lane: int
    s_m: float
    speed_mps: float


class Spawner:
    """Placement rules of one map and traffic config.

    Args:
        lanes: lane arrays of the map.
        length_m: (n,) vehicle lengths [m], ego first.
        traffic: the scenario's traffic config (gaps, clearance).
    """

    def __init__(self, lanes: LaneArrays, length_m: np.ndarray, traffic: Traffic):
        self.lanes = lanes
        self.length_m = length_m
        self.cfg = traffic
        self.entries = np.flatnonzero(lanes.is_entry & lanes.is_road)
        self.next_respawn_s = 0.0
        self._facts = SpawnLanes.from_lanes(lanes)   # obstacles must be set already
        npc_len = float(length_m[1:].max()) if len(length_m) > 1 else 4.6
        self.entry_s = npc_len / 2 + 0.5
        if len(self.entries):
            ex, ey = lanes.positions(self.entries, np.full(len(self.entries), self.entry_s))
            self.entry_xy = np.stack([ex, ey], 1)
        else:
            self.entry_xy = np.zeros((0, 2))

    def reset(self) -> None:
        self.next_respawn_s = 0.0

    def spawn_speed(self, lane: int, s: float, speed_factor: float,
                    comfort_decel_mps2: float) -> float:
        """A speed the driver can keep: its desired speed, or less before a stop line."""
        return float(spawn_speeds(self._facts, np.array([lane]), np.array([s]),
                                  np.array([speed_factor]), np.array([comfort_decel_mps2]))[0])

    def initial(self, rng: np.random.Generator, placed_lane: np.ndarray,
                placed_s: np.ndarray, ego_xy: np.ndarray, speed_factor: np.ndarray,
                comfort_decel_mps2: np.ndarray) -> list[Placement]:
        """Spread the random NPCs over the road lanes, keeping gaps, clear of the ego, of
        the vehicles already placed (``placed_*``: vehicles ``0..k-1``, the ego and the
        named actors) and of obstacles on the lanes (:func:`place_vehicles`); NPCs that
        find no spot are left out (the world parks them)."""
        la, length, cfg = self.lanes, self.length_m, self.cfg
        n = len(length)
        first = len(placed_lane)
        road = np.flatnonzero(la.is_road)
        if n > first and not len(road):
            raise WorldError("traffic.count > 0 but the map has no road lanes to spawn on")
        if n <= first:
            return []

        def near_ego(lane: np.ndarray, s: np.ndarray) -> np.ndarray:
            x, y = la.positions(lane, s)
            return np.hypot(x - ego_xy[0], y - ego_xy[1]) < cfg.ego_clearance_m

        placed = place_vehicles(rng, self._facts, road, length[first:],
                                speed_factor[first:], comfort_decel_mps2[first:],
                                cfg.min_spawn_gap_m, np.asarray(placed_lane, np.int64),
                                np.asarray(placed_s, float), length[:first],
                                keep_out=near_ego)
        out = [Placement(i + first, int(placed.lane[i]), float(placed.s_m[i]),
                         float(placed.speed_mps[i]))
               for i in np.flatnonzero(placed.lane >= 0)]
        missing = n - first - len(out)
        if missing:
            later = "enter later through the entry lanes" if len(self.entries) else \
                "stay off the map (it has no entry lanes)"
            log.warning("%d of %d NPCs found no free spot at the start and %s; lower "
                        "traffic.count or min_spawn_gap_m", missing, n - first, later)
        return out

    def respawns(self, time_s: float, rng: np.random.Generator, parked: np.ndarray,
                 active: np.ndarray, x: np.ndarray, y: np.ndarray, ego_xy: np.ndarray,
                 speed_factor: np.ndarray, comfort_decel_mps2: np.ndarray
                 ) -> list[Placement]:
        """Parked NPCs that re-enter now at entry lanes whose start is free."""
        entries = self.entries
        if not len(parked) or not len(entries) or time_s < self.next_respawn_s:
            return []
        self.next_respawn_s = time_s + RESPAWN_PERIOD_S
        # One draw per parked NPC, as before: the same entries, the same decisions.
        entry = np.array([int(rng.integers(len(entries))) for _ in parked], np.int64)
        got = respawn_at_entries(self._facts, parked, entry, entries,
                                 self.length_m[parked] / 2 + 0.5, self.entry_xy,
                                 self.length_m, speed_factor, comfort_decel_mps2,
                                 self.cfg.min_spawn_gap_m, x, y, active, ego_xy,
                                 self.cfg.ego_clearance_m)
        out = [Placement(int(parked[j]), int(got.lane[j]), float(got.s_m[j]),
                         float(got.speed_mps[j])) for j in np.flatnonzero(got.lane >= 0)]
        return out
