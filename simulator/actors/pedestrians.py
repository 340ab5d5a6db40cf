"""Pedestrians: people walking polylines of world points (``scenario.pedestrians``).

Motion: each pedestrian walks its path at ``speed_mps``, straight between points, facing
where it walks; at the end it stops (or, with ``loop``, walks the path back). ``waits``:
it stands at the first point until a ``cross`` event starts it (at the event's speed);
``hidden``: it is not in the world until a ``spawn`` event. State is kept as arrays (one
row per pedestrian, all paths in one flat table), so a crowd costs what one does.

Sensors see a low-poly body (two legs that swing with the gait, torso, head) in the
pedestrian's own instance id, semantic class ``pedestrian``; its GT box is the body's
extent now (the legs' stride included). Drivers stop for a pedestrian on the road: its
footprint, grown ahead by ``YIELD_AHEAD_S`` of walking (the space it is about to step
into: the next lane too), is a lane obstacle for the next decision
(``LaneArrays.set_dynamic_obstacles``). A pedestrian about to step onto the road waits
at the kerb until the gap is acceptable (``_gap_ok``: every vehicle heading for its
crossing line can stop comfortably before it, ``gap_s`` of headway included); ``gap_s:
0`` walks out regardless. A walking pedestrian stops while a vehicle body is within
``PROBE_M`` ahead of it (a car that stopped on its crossing line), looking every 0.1 s.
A vehicle whose body overlaps a pedestrian's is a collision (each contact once).

Gait: cadence from walking speed (a stride, two steps, of ``STRIDE_M`` = 1.4 m at
1.4 m/s: Grieve and Gear 1966, stride length ~ 0.8 x height); legs swing +-``SWING_M``.
"""

from __future__ import annotations

import math

import numpy as np

from simulator.actors import walk_kernel
from simulator.scene.collision_monitor import Collision
from simulator.scene.objects import ObjectBox
from simulator.scene.semantics import SEMANTIC_CLASSES, MaterialInfo

YIELD_AHEAD_S = 3.0     # a walking pedestrian claims the road it reaches in this time
GAP_DECEL_MPS2 = 3.0    # gap acceptance: a car must be able to stop braking this hard
LOOK_EVERY_S = 0.1      # a waiting pedestrian judges the gap again this often
PROBE_M = 0.6           # a walking pedestrian stops for a vehicle body this close ahead
STRIDE_M = 1.4          # one gait cycle (two steps) [m]
SWING_M = 0.22          # a foot's largest excursion from the hip, along the walk [m]
LEG_DEPTH_M, LEG_WIDTH_M = 0.16, 0.14
SEMANTIC = SEMANTIC_CLASSES["pedestrian"]
# Clothes (sRGB), drawn per pedestrian and episode; skin and cloth reflect ~0.3 at 905 nm.
_CLOTHES = np.array([(40, 40, 48), (200, 40, 40), (35, 70, 140), (230, 230, 225),
                     (70, 110, 60), (150, 120, 80), (240, 190, 30), (120, 60, 140)])
_LIDAR_REFLECTIVITY = 0.3
_GNSS_REFLECTIVITY = 0.05

# A unit box standing on z = 0, centred in x and y, and its outward-facing triangles.
_UNIT = np.array([[sx, sy, sz] for sz in (0.0, 1.0)
                  for sx, sy in ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))])
_UNIT_TRIS = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                       [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]],
                      np.int32)
_PARTS = 4                                   # left leg, right leg, torso, head
_TRIS = np.concatenate([_UNIT_TRIS + 8 * k for k in range(_PARTS)])


class PedestrianGroup:
    """All pedestrians of a scenario.

    Args:
        host: the world (its scenario, materials and vehicles).
        first_instance_id: instance id of the first pedestrian (the others follow).
    """

    kind = "pedestrians"

    def __init__(self, host, first_instance_id: int):
        self.host = host
        specs = list(host.scenario.pedestrians)
        self.specs = specs
        n = self.n = len(specs)
        self.names = [p.name for p in specs]
        self._index = {name: k for k, name in enumerate(self.names)}
        self.instance_ids = first_instance_id + np.arange(n, dtype=np.int64)
        self.height_m = np.array([p.height_m for p in specs])
        self.width_m = np.array([p.width_m for p in specs])
        self.depth_m = np.array([p.depth_m for p in specs])
        self.base_speed_mps = np.array([p.speed_mps for p in specs])
        self.loops = np.array([p.loop for p in specs])
        self.waits = np.array([p.waits for p in specs])
        self.hidden = np.array([p.hidden for p in specs])
        # One flat table of path points; per pedestrian its first row and arc lengths.
        pts = [np.asarray(p.path, np.float64) for p in specs]
        cum = [np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(q, axis=0).T))])
               for q in pts]
        self._pts = np.concatenate(pts)
        self._cum = np.concatenate(cum)
        self._first = np.cumsum([0] + [len(q) for q in pts[:-1]]).astype(np.int64)
        self._last = self._first + np.array([len(q) for q in pts]) - 1
        self.length_m = np.array([c[-1] for c in cum])
        self.gap_s = np.array([p.gap_s for p in specs])
        self.crossings = [self._road_crossings(k, host.hdmap) for k in range(n)]
        # Whose path comes near the road (sidewalk walkers never do: they claim no lane).
        self.near_road = np.array([self._near_road(k, host.hdmap) for k in range(n)], bool)
        self._looks = np.array([bool(c) for c in self.crossings], bool) & (self.gap_s > 0)
        self._hdmap = host.hdmap
        self._ground_prev: np.ndarray | None = None
        self._ground: np.ndarray | None = None
        self.reset(np.random.default_rng(0))

    def _points(self, k: int, u: np.ndarray) -> np.ndarray:
        """(len(u), 2) points at arc lengths ``u`` along pedestrian k's path."""
        lo, hi = self._first[k], self._last[k]
        cum, pts = self._cum[lo:hi + 1], self._pts[lo:hi + 1]
        return np.stack([np.interp(u, cum, pts[:, 0]), np.interp(u, cum, pts[:, 1])], 1)

    def _near_road(self, k: int, hdmap) -> bool:
        """Whether pedestrian k's path passes within 1 m of the road (its body and the
        lanes' 0.3 m margin reach that far sideways)."""
        u = np.linspace(0.0, self.length_m[k], max(2, int(self.length_m[k] / 0.25) + 1))
        return bool(hdmap.is_on_road(self._points(k, u), margin_m=1.0).any())

    def _road_crossings(self, k: int, hdmap) -> list[tuple[float, float, np.ndarray,
                                                         np.ndarray]]:
        """Where pedestrian k's path is on the road: (u_in, u_out, point in, point out),
        sampled every 0.25 m (with the 0.3 m the lanes' obstacle test adds)."""
        u = np.linspace(0.0, self.length_m[k], max(2, int(self.length_m[k] / 0.25) + 1))
        on = hdmap.is_on_road(self._points(k, u), margin_m=0.3)
        out = []
        edges = np.flatnonzero(np.diff(np.concatenate([[0], on.astype(np.int8), [0]])))
        for a, b in zip(edges[::2], edges[1::2]):
            u_in, u_out = u[max(a - 1, 0)], u[min(b, len(u) - 1)]
            out.append((float(u_in), float(u_out), *self._points(k, np.array([u_in, u_out]))))
        return out

    # ------------------------------------------------------------------ episodes
    def reset(self, rng: np.random.Generator) -> None:
        n = self.n
        self._ground_prev = None
        self._ground = None
        self.u = np.zeros(n)                         # arc length walked along the path
        self.direction = np.ones(n)                  # +1 forward, -1 back (loop)
        self.speed_mps = self.base_speed_mps.copy()
        self.visible = ~self.hidden
        self.walking = self.visible & ~self.waits
        self.held = np.zeros(n, bool)                # walking, but waiting for a gap
        self._look_again_s = np.zeros(n)
        self._probe_s = np.zeros(n)                  # next look for a vehicle in the way
        self._blocked = np.zeros(n, bool)            # ... and whether there is one
        self._gap_wait = np.zeros(n, bool)           # at the kerb, waiting for a gap
        self.phase = rng.uniform(0.0, 2.0 * np.pi, n)
        colors = _CLOTHES[rng.integers(0, len(_CLOTHES), n)]
        for iid, c in zip(self.instance_ids, colors):
            self.host.materials.set(int(iid), SEMANTIC, MaterialInfo(
                tuple(int(v) for v in c), _LIDAR_REFLECTIVITY, _GNSS_REFLECTIVITY))
        self._touching: set[tuple[int, int]] = set()
        self._pose()

    # ------------------------------------------------------------------ events
    def cross(self, name: str, speed_mps: float) -> None:
        """Start walking (a waiting pedestrian crosses) at ``speed_mps``."""
        k = self._index[name]
        self.visible[k] = True
        self.walking[k] = self.u[k] < self.length_m[k] or bool(self.loops[k])
        self.speed_mps[k] = speed_mps
        self._pose()

    def spawn(self, name: str) -> None:
        """A hidden pedestrian appears at its first point (walking unless it waits)."""
        k = self._index[name]
        if self.visible[k]:
            return
        self.visible[k] = True
        self.u[k], self.direction[k] = 0.0, 1.0
        self.walking[k] = not self.waits[k]
        self._pose()

    # ------------------------------------------------------------------ motion
    def step(self, world, dt_s: float) -> None:
        w = self.walking
        if not w.any():
            return
        t = world.time_s
        for k in np.flatnonzero(w & self._looks):       # the few whose path crosses a road
            if self._gap_wait[k] and t < self._look_again_s[k]:
                continue                                # still waiting (looks every 0.1 s)
            self._gap_wait[k] = False
            u, u_next = self.u[k], self.u[k] + self.direction[k] * self.speed_mps[k] * dt_s
            for u_in, u_out, a, b in self.crossings[k]:
                entering = (u <= u_in < u_next) if self.direction[k] > 0 \
                    else (u >= u_out > u_next)
                if entering and not self._gap_ok(world, k, a, b):
                    self._gap_wait[k] = True            # waits at the kerb
                    self._look_again_s[k] = t + LOOK_EVERY_S
        for k in np.flatnonzero(w & self.near_road):    # a car in the way: wait for it
            if t >= self._probe_s[k]:
                self._probe_s[k] = t + LOOK_EVERY_S
                self._blocked[k] = self._vehicle_ahead(world, k)
        np.logical_or(self._gap_wait, self._blocked, out=self.held)
        walk_kernel.advance(self.u, self.direction, self.walking, self.held,
                            self.speed_mps, self.phase, self.length_m, self.loops, dt_s,
                            STRIDE_M)
        self._pose()
        if not self._hdmap.flat:       # every step, so the level held does not depend on
            self._ground = self._surface_z()   # how often boxes and meshes are read
    def _pose(self) -> None:
        """x, y, yaw, velocity, leg swing and box length from the arc lengths (compiled:
        ``walk_kernel.pose``; a zero-length path: the point, facing +x)."""
        if getattr(self, "x", None) is None or len(self.x) != self.n:
            (self.x, self.y, self.yaw, self.vx, self.vy, self.swing,
             self.box_length_m) = walk_kernel.empty_outputs(self.n)
        walk_kernel.pose(self.u, self.length_m, self.direction, self.walking & ~self.held,
                         self.speed_mps, self.phase, self._pts, self._cum, self._first,
                         self._last, self.depth_m, SWING_M, LEG_DEPTH_M, self.x, self.y,
                         self.yaw, self.vx, self.vy, self.swing, self.box_length_m)

    def _vehicle_ahead(self, world, k: int) -> bool:
        """Whether a vehicle body is within ``PROBE_M`` ahead of pedestrian k's body (it
        would walk into a car that stopped across its path)."""
        st, pr, act = world.state, world.params, np.flatnonzero(world.traffic.active)
        c, s = math.cos(self.yaw[k]), math.sin(self.yaw[k])
        half_l = self.box_length_m[k] / 2 + PROBE_M / 2
        px, py = self.x[k] + c * PROBE_M / 2, self.y[k] + s * PROBE_M / 2
        d = np.hypot(st.x[act] - px, st.y[act] - py)
        reach = np.hypot(pr.length_m[act], pr.width_m[act]) / 2 + half_l + 1.0
        for i in act[d < reach]:
            if _overlap((st.x[i], st.y[i]), st.yaw[i], pr.length_m[i] / 2,
                        pr.width_m[i] / 2, (px, py), self.yaw[k], half_l,
                        self.width_m[k] / 2):
                return True
        return False

    def _gap_ok(self, world, k: int, a: np.ndarray, b: np.ndarray) -> bool:
        """Whether pedestrian k may step onto the road to cross from ``a`` to ``b``: every
        vehicle whose heading line meets the crossing (1 m past either end) is either past
        it or farther from it than ``v gap_s + v^2 / (2 GAP_DECEL_MPS2)`` + half its length
        + 2 m (it can stop comfortably behind the pedestrian)."""
        st, tr, pr = world.state, world.traffic, world.params
        act = np.flatnonzero(tr.active)
        if not len(act):
            return True
        d = b - a
        length = float(np.hypot(*d))
        if length < 1e-9:
            return True
        hx, hy = np.cos(st.yaw[act]), np.sin(st.yaw[act])
        px, py = a[0] - st.x[act], a[1] - st.y[act]
        denom = hx * d[1] - hy * d[0]
        ok = np.abs(denom) > 1e-6
        denom = np.where(ok, denom, 1.0)
        t = (px * d[1] - py * d[0]) / denom           # along the vehicle's heading [m]
        s = (px * hy - py * hx) / denom               # along the crossing (0 at a, 1 at b)
        e = 1.0 / length
        v = np.maximum(st.vx[act], 0.0)
        half = pr.length_m[act] / 2
        reach = v * self.gap_s[k] + v * v / (2 * GAP_DECEL_MPS2) + half + 2.0
        blocked = ok & (s >= -e) & (s <= 1 + e) & (t > -half - 1.0) & (t < reach)
        return not blocked.any()

    # ------------------------------------------------------------------ what others see
    def obstacles(self) -> list[np.ndarray]:
        out = []
        for k in np.flatnonzero(self.visible & self.near_road):
            c, s = math.cos(self.yaw[k]), math.sin(self.yaw[k])
            half_l, half_w = self.box_length_m[k] / 2, self.width_m[k] / 2
            ahead = half_l + (YIELD_AHEAD_S * self.speed_mps[k]
                              if self.walking[k] and not self.held[k] else 0.0)
            local = np.array([[ahead, half_w], [-half_l, half_w], [-half_l, -half_w],
                              [ahead, -half_w]])
            out.append(local @ np.array([[c, s], [-s, c]]) + [self.x[k], self.y[k]])
        return out

    def contacts(self, world) -> list[Collision]:
        """New overlaps of a vehicle body with a pedestrian's box (each contact once)."""
        vis = np.flatnonzero(self.visible)
        if not len(vis):
            if self._touching:
                self._touching = set()
            return []
        st, pr, active = world.state, world.params, world.traffic.active
        veh = np.flatnonzero(active)
        now: set[tuple[int, int]] = set()
        reach = np.hypot(pr.length_m[veh], pr.width_m[veh]) / 2 + 1.0
        for k in vis:
            d = np.hypot(st.x[veh] - self.x[k], st.y[veh] - self.y[k])
            for i in veh[d < reach]:
                if _overlap((st.x[i], st.y[i]), st.yaw[i], pr.length_m[i] / 2,
                            pr.width_m[i] / 2, (self.x[k], self.y[k]), self.yaw[k],
                            self.box_length_m[k] / 2, self.width_m[k] / 2):
                    now.add((int(i), int(k)))
        new = sorted(now - self._touching)
        self._touching = now
        return [Collision(world.time_s, world.vehicle_names[i], self.names[k], vehicle_a=i)
                for i, k in new]

    def ground_z(self) -> np.ndarray:
        """(n,) height of the surface each pedestrian stands on [m] (see ``_surface_z``)."""
        if self._hdmap.flat:
            return np.zeros(len(self.x))
        if self._ground is None:
            self._ground = self._surface_z()
        return self._ground

    def _surface_z(self) -> np.ndarray:
        """(n,) height of the surface each pedestrian stands on [m]: 0 on flat maps; on
        maps with elevation the road or sidewalk under it, or beside it (the nearest
        surface within 20 m), else the lowest road (the flat ground). Where surfaces are
        stacked (a bridge) the one nearest its last height wins, the lowest at first:
        people walk under a bridge, not on its deck, unless their path leads up to it."""
        if self._hdmap.flat:
            return np.zeros(len(self.x))
        hint = self._ground_prev if self._ground_prev is not None else -1e9
        z = self._hdmap.surface_height(np.stack([self.x, self.y], 1), z_hint=hint,
                                       reach_m=0.0 if self._hdmap.table.flat else 20.0)
        if np.isnan(z).any() and self._hdmap.table.flat:
            z = np.where(np.isnan(z), 0.0, z)               # the flat ground beside kerbs
        if np.isnan(z).any():
            low = min(float(min(s.left[:, 2].min(), s.right[:, 2].min()))
                      for s in self._hdmap.strips) if self._hdmap.strips else 0.0
            z = np.where(np.isnan(z), low, z)
        self._ground_prev = z
        return z

    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        vis = np.flatnonzero(self.visible)
        m = len(vis)
        if not m:
            return (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32),
                    np.zeros(0, np.int32))
        h, wd, dp = self.height_m[vis], self.width_m[vis], self.depth_m[vis]
        sw = self.swing[vis]
        leg_h, torso_h = 0.47 * h, 0.35 * h
        head_h = h - leg_h - torso_h
        zeros = np.zeros(m)
        # Per part: size (l, w, h) and offset (x, y, z) in the pedestrian's frame.
        sizes = np.stack([
            np.stack([np.full(m, LEG_DEPTH_M), np.full(m, LEG_WIDTH_M), leg_h], 1),
            np.stack([np.full(m, LEG_DEPTH_M), np.full(m, LEG_WIDTH_M), leg_h], 1),
            np.stack([dp, wd, torso_h], 1),
            np.stack([0.22 * np.ones(m), 0.19 * np.ones(m), head_h], 1)], 1)   # (m, 4, 3)
        offsets = np.stack([
            np.stack([sw, 0.2 * wd, zeros], 1),
            np.stack([-sw, -0.2 * wd, zeros], 1),
            np.stack([zeros, zeros, leg_h], 1),
            np.stack([zeros, zeros, leg_h + torso_h], 1)], 1)
        local = _UNIT[None, None] * sizes[:, :, None] + offsets[:, :, None]    # (m, 4, 8, 3)
        local = local.reshape(m, _PARTS * 8, 3)
        c, s = np.cos(self.yaw[vis]), np.sin(self.yaw[vis])
        verts = np.empty_like(local)
        verts[..., 0] = c[:, None] * local[..., 0] - s[:, None] * local[..., 1] + \
            self.x[vis, None]
        verts[..., 1] = s[:, None] * local[..., 0] + c[:, None] * local[..., 1] + \
            self.y[vis, None]
        verts[..., 2] = local[..., 2] + self.ground_z()[vis, None]
        tris = (_TRIS[None] + (np.arange(m) * _PARTS * 8)[:, None, None]).reshape(-1, 3)
        inst = np.repeat(self.instance_ids[vis].astype(np.int32), len(_TRIS))
        return verts.reshape(-1, 3).astype(np.float32), tris.astype(np.int32), inst

    def boxes(self) -> list[ObjectBox]:
        z = self.ground_z()
        return [ObjectBox(int(self.instance_ids[k]), SEMANTIC, self.names[k],
                          np.array([self.x[k], self.y[k], z[k] + self.height_m[k] / 2]),
                          np.array([self.box_length_m[k], self.width_m[k],
                                    self.height_m[k]]), float(self.yaw[k]))
                for k in np.flatnonzero(self.visible)]

    def velocities(self) -> dict[int, tuple[np.ndarray, float]]:
        return {int(self.instance_ids[k]): (np.array([self.vx[k], self.vy[k], 0.0]), 0.0)
                for k in np.flatnonzero(self.visible)}

    def position(self, name: str) -> tuple[float, float] | None:
        """(x, y) of a visible pedestrian, None while hidden."""
        k = self._index[name]
        return (float(self.x[k]), float(self.y[k])) if self.visible[k] else None


def _overlap(ca, yaw_a, la, wa, cb, yaw_b, lb, wb) -> bool:
    """Separating-axis test of two oriented rectangles (centres, yaws, half extents)."""
    ax = [(math.cos(yaw_a), math.sin(yaw_a)), (-math.sin(yaw_a), math.cos(yaw_a))]
    bx = [(math.cos(yaw_b), math.sin(yaw_b)), (-math.sin(yaw_b), math.cos(yaw_b))]
    dx, dy = cb[0] - ca[0], cb[1] - ca[1]
    for ux, uy in ax + bx:
        ra = la * abs(ax[0][0] * ux + ax[0][1] * uy) + wa * abs(ax[1][0] * ux + ax[1][1] * uy)
        rb = lb * abs(bx[0][0] * ux + bx[0][1] * uy) + wb * abs(bx[1][0] * ux + bx[1][1] * uy)
        if abs(dx * ux + dy * uy) >= ra + rb:
            return False
    return True
