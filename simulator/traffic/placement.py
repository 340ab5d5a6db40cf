"""Where NPCs start: random spots on the road lanes with free road around them, as a pure
function of arrays and an injected RNG (``place_vehicles``).

The rules, per vehicle in order, over up to ``attempts`` random candidate spots (a lane
drawn with probability proportional to its length, a station uniform on it):

- the whole car fits on the lane with 1 m to spare at either end;
- no car already placed (or given as ``occupied``, e.g. the ego) on the same lane has its
  centre nearer than ``min_gap_m + 1.5 v + (L_new + L_other) / 2``, with ``v`` the new
  car's spawn speed (``spawn_speeds``): room for the speed difference, ~1.5 s at that speed;
- the car stands clear of every static obstacle extent on its lane, and its front is at
  least its comfortable stopping distance ``v^2 / (2 b) + min_gap_m`` before the next one;
- ``keep_out`` (e.g. the ego's clearance circle) does not reject the spot.

The first candidate passing every rule is taken; a vehicle without one gets lane -1.
Occupied spots live in one array sorted by ``(lane, s)``: each candidate is tested against
the few cars within reach (``np.searchsorted``), so placing n cars costs ~O(n log n)
(1,000 NPCs on the highway ring: ~0.1 s, where testing every placed car took 22 s).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from simulator.map.lane_arrays import KEY_STRIDE, LaneArrays

_END_CLEARANCE_M = 1.0    # a spawned car keeps this much lane before and behind it
_HEADWAY_S = 1.5          # gap to the neighbours per m/s of spawn speed
_SPAWN_SPEED_SHARE = 0.8  # of the driver's desired speed on the lane
_STOP_LINE_ROOM_M = 10.0  # a car before a stop line can stop this far before it


class SpawnLanes(NamedTuple):
    """Per-lane facts placement reads (indexed by lane), and the static obstacles.

    Attributes:
        length_m, speed_limit_mps, curve_speed_mps: per lane.
        stop_line_at_end: per lane, the lane ends at a stop line (a junction).
        obstacle_lane, obstacle_start_s, obstacle_end_s: static obstacle extents
            [start, end] along their lane [m], any order.
    """

    length_m: np.ndarray
    speed_limit_mps: np.ndarray
    curve_speed_mps: np.ndarray
    stop_line_at_end: np.ndarray
    obstacle_lane: np.ndarray
    obstacle_start_s: np.ndarray
    obstacle_end_s: np.ndarray

    @classmethod
    def from_lanes(cls, lanes: LaneArrays) -> SpawnLanes:
        """The facts of a map's ``LaneArrays`` (obstacles as ``set_obstacles`` left them)."""
        return cls(lanes.length_m, lanes.speed_limit_mps, lanes.curve_speed_mps,
                   lanes.at_junction_end, lanes.obstacle_lane, lanes.obstacle_s,
                   lanes.obstacle_end_s)


class Placed(NamedTuple):
    """Per vehicle to place: its lane (-1: no free spot), station [m], spawn speed [m/s]."""

    lane: np.ndarray
    s_m: np.ndarray
    speed_mps: np.ndarray


def spawn_speeds(lanes: SpawnLanes, lane: np.ndarray, s: np.ndarray, speed_factor: np.ndarray,
                 comfort_decel_mps2: np.ndarray) -> np.ndarray:
    """A speed each driver can keep at its spot [m/s]: 80 % of its desired speed on the lane
    (speed limit x factor), at most the lane's curve speed, and before a stop line no more
    than stopping comfortably 10 m short of it allows.

    Args:
        lanes: the lane facts. lane, s: the spots [m]. speed_factor: the drivers' desired
            speed factors [-]. comfort_decel_mps2: their comfortable deceleration [m/s^2].
    """
    lane = np.asarray(lane, np.int64)
    v = _SPAWN_SPEED_SHARE * lanes.speed_limit_mps[lane] * speed_factor
    v = np.minimum(v, lanes.curve_speed_mps[lane])
    room = np.maximum(lanes.length_m[lane] - s - _STOP_LINE_ROOM_M, 0.0)
    v_stop = np.sqrt(2.0 * comfort_decel_mps2 * room)
    return np.where(lanes.stop_line_at_end[lane], np.minimum(v, v_stop), v)


def _merged_obstacles(lanes: SpawnLanes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Obstacle extents merged per lane: (end keys sorted, lanes, starts)."""
    order = np.lexsort((lanes.obstacle_start_s, lanes.obstacle_lane))
    rows: list[list] = []
    for k in order:
        ln, a, b = int(lanes.obstacle_lane[k]), lanes.obstacle_start_s[k], \
            lanes.obstacle_end_s[k]
        if rows and rows[-1][0] == ln and a <= rows[-1][2]:
            rows[-1][2] = max(rows[-1][2], b)
        else:
            rows.append([ln, a, b])
    lane = np.array([r[0] for r in rows], np.int64)
    start = np.array([r[1] for r in rows], float)
    end = np.array([r[2] for r in rows], float)
    return lane * KEY_STRIDE + end, lane, start


def _clear_of_obstacles(obstacles: tuple[np.ndarray, np.ndarray, np.ndarray],
                        lane: np.ndarray, s: np.ndarray, half: float, ahead: np.ndarray
                        ) -> np.ndarray:
    """True where [s - half, s + half + ahead] on ``lane`` meets no obstacle extent."""
    end_key, ob_lane, ob_start = obstacles
    if not len(end_key):
        return np.ones(len(s), bool)
    # The first extent on the lane that the car's rear has not passed; extents are
    # disjoint per lane, so it is the nearest one ahead (or the one overlapping it).
    pos = np.searchsorted(end_key, lane * KEY_STRIDE + (s - half), side="right")
    hit = pos < len(end_key)
    pos = np.minimum(pos, len(end_key) - 1)
    blocked = hit & (ob_lane[pos] == lane) & (s + half + ahead > ob_start[pos])
    return ~blocked


def place_vehicles(rng: np.random.Generator, lanes: SpawnLanes, candidate_lanes: np.ndarray,
                   vehicle_length_m: np.ndarray, speed_factor: np.ndarray,
                   comfort_decel_mps2: np.ndarray, min_gap_m: float,
                   occupied_lane: np.ndarray | None = None,
                   occupied_s: np.ndarray | None = None,
                   occupied_length_m: np.ndarray | None = None,
                   keep_out: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                   attempts: int = 200) -> Placed:
    """Spots for vehicles, one after the other, with free road around each.

    Args:
        rng: the stream every random draw comes from (deterministic given its state).
        lanes: lane facts and static obstacles (``SpawnLanes.from_lanes``).
        candidate_lanes: the lanes vehicles may start on (e.g. the road lanes).
        vehicle_length_m, speed_factor, comfort_decel_mps2: (m,) per vehicle to place:
            length [m], desired speed factor [-], comfortable deceleration [m/s^2].
        min_gap_m: free road between spawned cars on top of the speed term [m]
            (``traffic.min_spawn_gap_m``), also the margin kept beyond the stopping distance
            before an obstacle.
        occupied_lane, occupied_s, occupied_length_m: cars already standing (e.g. the ego).
        keep_out: ``(lane, s) -> bool`` array, True where a spot is forbidden (e.g. within
            the ego's clearance); called with the candidates that passed the other rules.
        attempts: random candidates per vehicle.

    Returns:
        ``Placed(lane, s_m, speed_mps)``, each (m,); lane -1 where no candidate was free.
    """
    m = len(vehicle_length_m)
    out = Placed(np.full(m, -1, np.int64), np.full(m, np.nan), np.zeros(m))
    cand = np.asarray(candidate_lanes, np.int64)
    if m == 0 or not len(cand):
        return out
    cdf = np.cumsum(lanes.length_m[cand])
    cdf /= cdf[-1]
    obstacles = _merged_obstacles(lanes)
    # Occupied spots sorted by (lane, s): key, lane, station, length.
    if occupied_lane is None:
        occupied_lane, occupied_s, occupied_length_m = np.zeros(0, np.int64), np.zeros(0), \
            np.zeros(0)
    occ_lane = np.asarray(occupied_lane, np.int64)
    occ_s = np.asarray(occupied_s, float)
    occ_len = np.asarray(occupied_length_m, float)
    order = np.lexsort((occ_s, occ_lane))
    occ_lane, occ_s, occ_len = occ_lane[order], occ_s[order], occ_len[order]
    occ_key = occ_lane * KEY_STRIDE + occ_s
    max_len = float(occ_len.max()) if len(occ_len) else 0.0
    for i in range(m):
        length = float(vehicle_length_m[i])
        lane = cand[np.searchsorted(cdf, rng.random(attempts), side="right")]
        lane_len = lanes.length_m[lane]
        lo = length / 2 + _END_CLEARANCE_M
        s = lo + (lane_len - length / 2 - _END_CLEARANCE_M - lo) * rng.random(attempts)
        v = spawn_speeds(lanes, lane, s, speed_factor[i], comfort_decel_mps2[i])
        ok = lane_len >= length + 2 * _END_CLEARANCE_M
        # Stand clear of obstacles, with room to stop before the next one.
        ahead = v * v / (2.0 * comfort_decel_mps2[i]) + min_gap_m
        ok &= _clear_of_obstacles(obstacles, lane, s, length / 2, ahead)
        # Gaps to the cars on the same lane: only those within the largest need can clash.
        if len(occ_key):
            base = min_gap_m + _HEADWAY_S * v
            reach = base + (length + max_len) / 2 + 1e-3
            key = lane * KEY_STRIDE + s
            first = np.searchsorted(occ_key, key - reach, side="left")
            last = np.searchsorted(occ_key, key + reach, side="right")
            width = int((last - first).max())
            if width:
                j = first[:, None] + np.arange(width)
                inside = j < last[:, None]
                j = np.minimum(j, len(occ_key) - 1)
                need = base[:, None] + (length + occ_len[j]) / 2
                clash = inside & (occ_lane[j] == lane[:, None]) & (
                    np.abs(occ_s[j] - s[:, None]) < need)
                ok &= ~clash.any(axis=1)
        good = np.flatnonzero(ok)
        if keep_out is not None and len(good):
            good = good[~np.asarray(keep_out(lane[good], s[good]), bool)]
        if not len(good):
            continue
        k = good[0]
        out.lane[i], out.s_m[i], out.speed_mps[i] = lane[k], s[k], v[k]
        at = np.searchsorted(occ_key, lane[k] * KEY_STRIDE + s[k])
        occ_key = np.insert(occ_key, at, lane[k] * KEY_STRIDE + s[k])
        occ_lane = np.insert(occ_lane, at, lane[k])
        occ_s = np.insert(occ_s, at, s[k])
        occ_len = np.insert(occ_len, at, length)
        max_len = max(max_len, length)
    return out


def respawn_at_entries(lanes: SpawnLanes, vehicles: np.ndarray, entry: np.ndarray,
                       entry_lane: np.ndarray, entry_s: np.ndarray, entry_xy: np.ndarray,
                       vehicle_length_m: np.ndarray, speed_factor: np.ndarray,
                       comfort_decel_mps2: np.ndarray, min_gap_m: float, x: np.ndarray,
                       y: np.ndarray, active: np.ndarray, ego_xy: np.ndarray,
                       ego_clearance_m: float) -> Placed:
    """Parked vehicles re-entering at entry lanes, each where its entry's start is free.

    In order, vehicle ``vehicles[j]`` tries entry ``entry[j]`` (the caller draws these,
    e.g. ``rng.integers(len(entry_lane), size=len(vehicles))``) at station ``entry_s[j]``
    and its spawn speed ``v`` there; it enters unless the entry point ``entry_xy`` is within
    ``ego_clearance_m`` of the ego, or an active vehicle, or one that entered before it in
    this call, has its centre within ``min_gap_m + L + 2 v`` of it. The same decisions as
    testing the vehicles one by one, with the tests against the traffic as one matrix.

    Args:
        lanes: lane facts (spawn speeds). vehicles: (m,) the parked vehicles, in order.
        entry: (m,) index into the entries per vehicle. entry_lane, entry_xy: per entry,
            its lane and the point (E, 2) where cars enter [m]. entry_s: (m,) station of
            each vehicle's entry point [m].
        vehicle_length_m, speed_factor, comfort_decel_mps2: per vehicle of the world, (n,).
        min_gap_m: free road beyond the car's length and two seconds at its speed [m].
        x, y, active: every vehicle's position [m] and whether it is on the map.
        ego_xy, ego_clearance_m: no entry within this distance of the ego [m].

    Returns:
        ``Placed`` per vehicle of ``vehicles``: its lane (-1: stays parked), station, speed.
    """
    vehicles = np.asarray(vehicles, np.int64)
    m = len(vehicles)
    out = Placed(np.full(m, -1, np.int64), np.full(m, np.nan), np.zeros(m))
    if m == 0:
        return out
    lane = np.asarray(entry_lane, np.int64)[entry]
    pts = np.asarray(entry_xy, float)[entry]
    v = spawn_speeds(lanes, lane, entry_s, speed_factor[vehicles],
                     comfort_decel_mps2[vehicles])
    need = min_gap_m + vehicle_length_m[vehicles] + 2.0 * v
    free = np.hypot(pts[:, 0] - ego_xy[0], pts[:, 1] - ego_xy[1]) >= ego_clearance_m
    act = np.flatnonzero(active)
    dx = x[act][None, :] - pts[:, 0:1]
    dy = y[act][None, :] - pts[:, 1:2]
    free &= ~(dx * dx + dy * dy < (need * need)[:, None]).any(axis=1)
    # Vehicles entering in this call block the ones after them (a short loop: few enter).
    entered: list[int] = []
    for j in np.flatnonzero(free):
        ex, ey = pts[entered, 0] - pts[j, 0], pts[entered, 1] - pts[j, 1]
        if np.any(ex * ex + ey * ey < need[j] * need[j]):
            continue
        entered.append(int(j))
        out.lane[j], out.s_m[j], out.speed_mps[j] = lane[j], entry_s[j], v[j]
    return out
