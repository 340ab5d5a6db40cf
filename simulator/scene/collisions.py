"""pybullet as the collision checker: one DIRECT client per world, vehicles as convex hulls,
props as boxes. Vehicle poses are synced from the world's arrays only as often as needed
not to miss a crash.

Bodies are never stepped by pybullet here (the vehicles' motion comes from the vectorised
dynamics); vehicles have a nominal mass so that pybullet pairs them with static props.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator.scene.quiet_pybullet import p

_MARGIN_M = 0.1  # the broad phase's boxes are this much larger than the hulls


def _boxes_overlap(xa, ya, yawa, ea, xb, yb, yawb, eb) -> np.ndarray:
    """Separating-axis test of oriented rectangles, one pair per entry.

    ``e*`` are (k, 2) half extents along each box's own x (yaw) and y axes. Worked in A's
    frame: B is rotated by ``yawb - yawa`` and offset by ``d``.
    """
    ca, sa = np.cos(yawa), np.sin(yawa)
    c, s = np.abs(np.cos(yawb - yawa)), np.abs(np.sin(yawb - yawa))
    cr, sr = np.cos(yawb - yawa), np.sin(yawb - yawa)
    dx, dy = xb - xa, yb - ya
    lx, ly = dx * ca + dy * sa, -dx * sa + dy * ca
    ax, ay, bx, by = ea[:, 0], ea[:, 1], eb[:, 0], eb[:, 1]
    return ((np.abs(lx) <= ax + bx * c + by * s)
            & (np.abs(ly) <= ay + bx * s + by * c)
            & (np.abs(lx * cr + ly * sr) <= ax * c + ay * s + bx)
            & (np.abs(-lx * sr + ly * cr) <= ax * s + ay * c + by))


@njit(cache=True, nogil=True)
def _box_pair_overlap(xa, ya, yawa, ax, ay, xb, yb, yawb, bx, by):  # pragma: no cover
    """``_boxes_overlap`` for one pair, compiled: the same operations in the same order."""
    ca, sa = math.cos(yawa), math.sin(yawa)
    c, s = abs(math.cos(yawb - yawa)), abs(math.sin(yawb - yawa))
    cr, sr = math.cos(yawb - yawa), math.sin(yawb - yawa)
    dx, dy = xb - xa, yb - ya
    lx, ly = dx * ca + dy * sa, -dx * sa + dy * ca
    return (abs(lx) <= ax + bx * c + by * s
            and abs(ly) <= ay + bx * s + by * c
            and abs(lx * cr + ly * sr) <= ax * c + ay * s + bx
            and abs(-lx * sr + ly * cr) <= ax * s + ay * c + by)


@njit(cache=True, nogil=True)
def _touches_prop(i, k, x, y, yaw, radius, half, prop_x, prop_y, prop_yaw, prop_r,
                  prop_half):  # pragma: no cover - compiled
    """Car i and prop k: bounding circles overlap and so do their boxes."""
    px = x[i] - prop_x[k]
    py = y[i] - prop_y[k]
    reach = radius[i] + prop_r[k]
    return px * px + py * py < reach * reach and _box_pair_overlap(
        x[i], y[i], yaw[i], half[i, 0], half[i, 1],
        prop_x[k], prop_y[k], prop_yaw[k], prop_half[k, 0], prop_half[k, 1])


@njit(cache=True, nogil=True)
def _candidates(x, y, yaw, active, radius, half, prop_x, prop_y, prop_yaw, prop_r, prop_half,
                nearby_props, near):  # pragma: no cover - compiled
    """``CollisionWorld.candidates``' broad phase as loops: circles, then the box test."""
    n = len(x)
    for i in range(n):
        near[i] = False
    for i in range(n):
        if not active[i]:
            continue
        for j in range(i + 1, n):
            if not active[j]:
                continue
            dx = x[i] - x[j]
            dy = y[i] - y[j]
            reach = radius[i] + radius[j]
            if dx * dx + dy * dy < reach * reach and _box_pair_overlap(
                    x[i], y[i], yaw[i], half[i, 0], half[i, 1],
                    x[j], y[j], yaw[j], half[j, 0], half[j, 1]):
                near[i] = True
                near[j] = True
    if len(prop_x) == 0:
        return
    for i in range(n):
        if not active[i] or near[i]:
            continue
        for c in range(nearby_props.shape[1]):
            k = nearby_props[i, c]
            if k < 0:
                continue
            if _touches_prop(i, k, x, y, yaw, radius, half, prop_x, prop_y, prop_yaw,
                             prop_r, prop_half):
                near[i] = True
                break


@njit(cache=True, nogil=True)
def _candidates_on_lanes(x, y, yaw, active, lane, d, lane_props, corridor_m, radius, half,
                         prop_x, prop_y, prop_yaw, prop_r, prop_half,
                         near):  # pragma: no cover - compiled
    """``_candidates`` with each car's props from its lane's row of ``lane_props``, or all
    props for a car off its lane (``|d| > corridor_m`` or no lane)."""
    _candidates(x, y, yaw, active, radius, half, prop_x, prop_y, prop_yaw, prop_r,
                prop_half, np.full((len(x), 0), -1, np.int64), near)
    n_props = len(prop_x)
    for i in range(len(x)):
        if not active[i] or near[i] or n_props == 0:
            continue
        off = lane[i] < 0 or abs(d[i]) > corridor_m
        row = max(lane[i], 0)
        for c in range(n_props if off else lane_props.shape[1]):
            k = c if off else lane_props[row, c]
            if k < 0:
                continue
            if _touches_prop(i, k, x, y, yaw, radius, half, prop_x, prop_y, prop_yaw,
                             prop_r, prop_half):
                near[i] = True
                break


class CollisionWorld:
    """A pybullet DIRECT client holding the world's collision bodies.

    Args:
        hull_points: per vehicle, (V, 3) points of its convex hull in the body frame.
        props: (center_xy, size_lwh, yaw) of every static prop.
    """

    def __init__(self, hull_points: list[np.ndarray],
                 props: list[tuple[tuple[float, float], tuple[float, float, float], float]]):
        # Bounding circles for a numpy broad phase: pybullet only runs when circles overlap.
        self.vehicle_radius = np.array([np.hypot(*np.ptp(np.asarray(h)[:, :2], axis=0)) / 2
                                        for h in hull_points])
        self.prop_xy = np.array([c for c, _, _ in props], float).reshape(-1, 2)
        self.prop_radius = np.array([np.hypot(sz[0], sz[1]) / 2 for _, sz, _ in props])
        self.prop_yaw = np.array([yaw for _, _, yaw in props], float)
        self.prop_half = np.array([(sz[0] / 2, sz[1] / 2) for _, sz, _ in props],
                                  float).reshape(-1, 2)
        self.half_extents = np.array([np.ptp(np.asarray(h)[:, :2], axis=0) / 2 + _MARGIN_M
                                      for h in hull_points]).reshape(-1, 2)
        self.client = p.connect(p.DIRECT)
        cid = self.client
        p.setGravity(0, 0, 0, physicsClientId=cid)
        self.vehicle_bodies: list[int] = []
        shapes: dict[bytes, int] = {}
        for k, pts in enumerate(hull_points):
            key = np.asarray(pts, np.float32).tobytes()
            if key not in shapes:
                shapes[key] = p.createCollisionShape(
                    p.GEOM_MESH, vertices=np.asarray(pts, float).tolist(), physicsClientId=cid)
            body = p.createMultiBody(1.0, shapes[key], basePosition=[1e5 + 50 * k, 0, 0],
                                     physicsClientId=cid)
            self.vehicle_bodies.append(body)
        self.body_to_vehicle = {b: i for i, b in enumerate(self.vehicle_bodies)}
        self.prop_bodies: list[int] = []
        for (cx, cy), (lx, ly, h), yaw in props:
            shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=[lx / 2, ly / 2, h / 2],
                                           physicsClientId=cid)
            quat = p.getQuaternionFromEuler([0, 0, yaw])
            self.prop_bodies.append(p.createMultiBody(0.0, shape, basePosition=[cx, cy, h / 2],
                                                      baseOrientation=quat,
                                                      physicsClientId=cid))
        self.body_to_prop = {b: i for i, b in enumerate(self.prop_bodies)}
        self._prop_x = np.ascontiguousarray(self.prop_xy[:, 0])
        self._prop_y = np.ascontiguousarray(self.prop_xy[:, 1])
        self.prop_radius = self.prop_radius.reshape(-1).astype(np.float64)
        self.use_kernel = True
        self._synced: np.ndarray | None = None
        self._placed = np.zeros(len(hull_points), bool)

    def sync(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
             which: np.ndarray | None = None) -> None:
        """Place vehicle bodies at the given poses: all, or only those in the bool mask
        ``which``; the others are moved (once) to a far parking spot, so a stale pose can
        never touch anything."""
        cid = self.client
        n = len(x)
        want = np.ones(n, bool) if which is None else which
        if self._synced is not None and self._synced.shape == (3, n) and \
                not self._placed.any() and not want.any():
            return       # the usual case between contacts: nothing near anything
        if self._synced is None or self._synced.shape != (3, n):
            self._synced = np.full((3, n), np.inf)
            self._placed = np.zeros(n, bool)
        for i in np.flatnonzero(self._placed & ~want):
            p.resetBasePositionAndOrientation(self.vehicle_bodies[i], (1e5 + 50.0 * i, 0, 0),
                                              (0, 0, 0, 1), physicsClientId=cid)
            self._synced[:, i] = np.inf
        self._placed = want.copy()
        idx = np.flatnonzero(want)
        # Only bodies that moved need a new pose (many cars wait at lights).
        pose = np.stack([x[idx], y[idx], yaw[idx]])
        idx = idx[np.abs(pose - self._synced[:, idx]).max(axis=0) > 1e-3]
        self._synced[:, idx] = np.stack([x[idx], y[idx], yaw[idx]])
        half = 0.5 * yaw[idx]
        qz, qw = np.sin(half), np.cos(half)
        for k, i in enumerate(idx):
            p.resetBasePositionAndOrientation(self.vehicle_bodies[i], (x[i], y[i], 0.0),
                                              (0.0, 0.0, qz[k], qw[k]), physicsClientId=cid)

    def candidates(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray, active: np.ndarray,
                   nearby_props: np.ndarray) -> np.ndarray:
        """Vehicles whose footprint box (plus a margin) overlaps another vehicle's or a
        prop's: bounding circles first, then an oriented-box separating-axis test.

        ``nearby_props`` (n, K) lists, per vehicle, the props worth testing (-1 pads).
        A numba kernel (``_candidates``) unless ``use_kernel`` is False (the numpy
        reference below).
        """
        if self.use_kernel:
            near = np.empty(len(x), bool)
            c = np.ascontiguousarray
            _candidates(c(x, np.float64), c(y, np.float64), c(yaw, np.float64), c(active, bool),
                        self.vehicle_radius, self.half_extents, self._prop_x, self._prop_y,
                        self.prop_yaw, self.prop_radius, self.prop_half,
                        c(nearby_props, np.int64), near)
            return near
        near = np.zeros(len(x), bool)
        r = self.vehicle_radius
        act = np.flatnonzero(active)          # parked cars never take part
        xa, ya, ra = x[act], y[act], r[act]
        dx = xa[:, None] - xa[None, :]
        dy = ya[:, None] - ya[None, :]
        reach = ra[:, None] + ra[None, :]
        i, j = np.nonzero(np.triu(dx * dx + dy * dy < reach * reach, 1))
        i, j = act[i], act[j]
        if len(i):
            hit = _boxes_overlap(x[i], y[i], yaw[i], self.half_extents[i],
                                 x[j], y[j], yaw[j], self.half_extents[j])
            near[i[hit]] = True
            near[j[hit]] = True
        if len(self.prop_xy):
            k = np.maximum(nearby_props, 0)
            px = x[:, None] - self.prop_xy[k, 0]
            py = y[:, None] - self.prop_xy[k, 1]
            reach = r[:, None] + self.prop_radius[k]
            i, c = np.nonzero((px * px + py * py < reach * reach) & (nearby_props >= 0)
                              & active[:, None])
            if len(i):
                k = k[i, c]
                hit = _boxes_overlap(x[i], y[i], yaw[i], self.half_extents[i],
                                     self.prop_xy[k, 0], self.prop_xy[k, 1], self.prop_yaw[k],
                                     self.prop_half[k])
                near[i[hit]] = True
        return near

    def candidates_on_lanes(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                            active: np.ndarray, lane: np.ndarray, d: np.ndarray,
                            lane_props: np.ndarray, corridor_m: float) -> np.ndarray:
        """``candidates`` for cars that test the props near their lane: row ``lane`` of
        ``lane_props`` (lanes x K, -1 pads), or every prop for a car more than
        ``corridor_m`` off its lane's centre (``d``) or on no lane (-1). The same answer as
        building that (n, K) table and calling ``candidates``, in one compiled pass."""
        near = np.empty(len(x), bool)
        c = np.ascontiguousarray
        _candidates_on_lanes(c(x, np.float64), c(y, np.float64), c(yaw, np.float64),
                             c(active, bool), c(lane, np.int64), c(d, np.float64),
                             c(lane_props, np.int64), float(corridor_m), self.vehicle_radius,
                             self.half_extents, self._prop_x, self._prop_y, self.prop_yaw,
                             self.prop_radius, self.prop_half, near)
        return near

    def contacts(self) -> set[tuple[str, int, str, int]]:
        """Current touching pairs as ``(kind_a, index_a, kind_b, index_b)``.

        kinds are ``vehicle`` or ``prop``; each pair is listed once, vehicle first.
        """
        cid = self.client
        p.performCollisionDetection(physicsClientId=cid)
        pairs = set()
        for c in p.getContactPoints(physicsClientId=cid):
            if c[8] > 0.0:  # contact distance > 0: not touching
                continue
            a, b = c[1], c[2]
            ka = ("vehicle", self.body_to_vehicle[a]) if a in self.body_to_vehicle else \
                ("prop", self.body_to_prop.get(a, -1))
            kb = ("vehicle", self.body_to_vehicle[b]) if b in self.body_to_vehicle else \
                ("prop", self.body_to_prop.get(b, -1))
            if ka[0] == "prop" and kb[0] == "prop":
                continue
            if ka[0] == "prop" or (kb[0] == "vehicle" and kb[1] < ka[1]):
                ka, kb = kb, ka
            pairs.add((ka[0], ka[1], kb[0], kb[1]))
        return pairs

    def close(self) -> None:
        if self.client is not None and p.isConnected(physicsClientId=self.client):
            p.disconnect(physicsClientId=self.client)
        self.client = None
