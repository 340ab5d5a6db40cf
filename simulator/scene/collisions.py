"""pybullet as the collision checker: one DIRECT client per world, vehicles as convex hulls,
props as boxes. Vehicle poses are synced from the world's arrays only as often as needed
not to miss a crash.

Bodies are never stepped by pybullet here (the vehicles' motion comes from the vectorised
dynamics); vehicles have a nominal mass so that pybullet pairs them with static props.

On a flat map vehicles stand on z = 0 with yaw only. On a map with elevation the world
passes each vehicle's height, pitch and roll (``z``, ``pitch``, ``roll`` of ``sync`` and
``candidates``): bodies are posed in 3D and the broad phase also asks the vertical extents
to overlap, so a car on a bridge never touches the car below it.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from simulator.scene.quiet_pybullet import p

_MARGIN_M = 0.1  # the broad phase's boxes are this much larger than the hulls


def _quaternions(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(n, 4) pybullet (x, y, z, w) quaternions of ``simulator.pose.rpy_to_matrix``'s
    R = Rz(yaw) Ry(pitch) Rx(roll)."""
    cy, sy = np.cos(0.5 * yaw), np.sin(0.5 * yaw)
    cp, sp = np.cos(0.5 * pitch), np.sin(0.5 * pitch)
    cr, sr = np.cos(0.5 * roll), np.sin(0.5 * roll)
    return np.stack([sr * cp * cy - cr * sp * sy, cr * sp * cy + sr * cp * sy,
                     cr * cp * sy - sr * sp * cy, cr * cp * cy + sr * sp * sy], 1)


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
                grid_origin, cell_m, grid_shape, cell_start, cell_props,
                near):  # pragma: no cover - compiled
    """``CollisionWorld.candidates``' broad phase as loops: circles, then the box test; car
    pairs from a sweep along x, and each car tests only the props listed in its grid cell
    (``PropGrid``)."""
    n = len(x)
    r_max = 0.0
    for i in range(n):
        near[i] = False
        r_max = max(r_max, radius[i])
    # Car pairs: a sweep along x. A pair whose circles meet is less than r_i + r_max apart
    # in x, so each car looks only that far ahead in x order; NaN sorts last and meets
    # nothing. Each pair is tested as the all-pairs loop would, lower index first.
    cars = np.flatnonzero(active)
    order = cars[np.argsort(x[cars])]
    for a in range(len(order)):
        p = order[a]
        bound = radius[p] + r_max
        for b in range(a + 1, len(order)):
            q = order[b]
            if not x[q] - x[p] < bound:
                break
            i, j = min(p, q), max(p, q)
            dx = x[i] - x[j]
            dy = y[i] - y[j]
            reach = radius[i] + radius[j]
            if dx * dx + dy * dy < reach * reach and _box_pair_overlap(
                    x[i], y[i], yaw[i], half[i, 0], half[i, 1],
                    x[j], y[j], yaw[j], half[j, 0], half[j, 1]):
                near[i] = True
                near[j] = True
    nx, ny = grid_shape[0], grid_shape[1]
    for i in range(n):
        if not active[i] or near[i]:
            continue
        gx = np.floor((x[i] - grid_origin[0]) / cell_m)
        gy = np.floor((y[i] - grid_origin[1]) / cell_m)
        if not (0 <= gx < nx and 0 <= gy < ny):  # also False for NaN: off the grid, no prop
            continue
        cell = int(gx) * ny + int(gy)
        for c in range(cell_start[cell], cell_start[cell + 1]):
            if _touches_prop(i, cell_props[c], x, y, yaw, radius, half, prop_x, prop_y,
                             prop_yaw, prop_r, prop_half):
                near[i] = True
                break


class PropGrid:
    """A uniform grid over the props in CSR form: cell ``(gx, gy)`` (flat ``gx * ny + gy``)
    lists ``cell_props[cell_start[cell]:cell_start[cell + 1]]``, every prop whose bounding
    circle, widened by ``reach_m`` (the largest car radius), overlaps the cell.

    A car whose bounding circle meets a prop's has its centre within the prop's widened
    circle, so in one of that prop's cells: testing the props of the car's own cell finds
    every pair the all-props circle test would. Cars off the grid touch no prop.

    Args:
        prop_xy: (P, 2) prop centres [m]; prop_radius: (P,) their bounding radii [m].
        reach_m: the largest vehicle bounding radius [m].
    """

    CELL_M = 8.0            # cell edge [m]; widened only to keep the grid within MAX_CELLS
    MAX_CELLS = 1 << 20
    _PAD_M = 0.5            # slack on every prop's cell range against rounding

    def __init__(self, prop_xy: np.ndarray, prop_radius: np.ndarray, reach_m: float):
        grow = prop_radius + reach_m + self._PAD_M
        if len(prop_xy):
            lo = (prop_xy - grow[:, None]).min(axis=0)
            hi = (prop_xy + grow[:, None]).max(axis=0)
        else:
            lo = hi = np.zeros(2)
        span = np.maximum(hi - lo, 1.0)
        cell = max(self.CELL_M, float(np.sqrt(span[0] * span[1] / self.MAX_CELLS)))
        shape = np.maximum(np.ceil(span / cell).astype(np.int64), 1)
        self.origin = np.asarray(lo, np.float64)
        self.cell_m = cell
        self.shape = shape
        first = np.floor((prop_xy - grow[:, None] - lo) / cell).astype(np.int64)
        last = np.floor((prop_xy + grow[:, None] - lo) / cell).astype(np.int64)
        first, last = np.maximum(first, 0), np.minimum(last, shape - 1)
        cells, owners = [], []
        for k in range(len(prop_xy)):
            gx, gy = np.meshgrid(np.arange(first[k, 0], last[k, 0] + 1),
                                 np.arange(first[k, 1], last[k, 1] + 1), indexing="ij")
            cells.append((gx * shape[1] + gy).ravel())
            owners.append(np.full(gx.size, k, np.int64))
        cells_a = np.concatenate(cells) if cells else np.zeros(0, np.int64)
        owners_a = np.concatenate(owners) if owners else np.zeros(0, np.int64)
        order = np.lexsort((owners_a, cells_a))       # by cell, props ascending within one
        self.cell_props = np.ascontiguousarray(owners_a[order])
        self.cell_start = np.zeros(int(shape[0] * shape[1]) + 1, np.int64)
        np.cumsum(np.bincount(cells_a, minlength=len(self.cell_start) - 1),
                  out=self.cell_start[1:])


class CollisionWorld:
    """A pybullet DIRECT client holding the world's collision bodies.

    Args:
        hull_points: per vehicle, (V, 3) points of its convex hull in the body frame.
        props: (center_xy, size_lwh, yaw) of every static prop.
        prop_z: the base height of each prop above the ground [m] (default all 0).
    """

    def __init__(self, hull_points: list[np.ndarray],
                 props: list[tuple[tuple[float, float], tuple[float, float, float], float]],
                 prop_z: list[float] | None = None):
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
        # Vertical extent of each hull above its origin and of each prop [m] (3D checks).
        self.vehicle_z_range = np.array([(np.asarray(h)[:, 2].min(), np.asarray(h)[:, 2].max())
                                         for h in hull_points]).reshape(-1, 2)
        z_base = np.zeros(len(props)) if prop_z is None else np.asarray(prop_z, float)
        self.prop_z_range = np.stack([z_base, z_base + np.array([sz[2] for _, sz, _ in props],
                                                                float)], 1).reshape(-1, 2)
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
        z0 = [0.0] * len(props) if prop_z is None else list(prop_z)
        for ((cx, cy), (lx, ly, h), yaw), zb in zip(props, z0):
            shape = p.createCollisionShape(p.GEOM_BOX, halfExtents=[lx / 2, ly / 2, h / 2],
                                           physicsClientId=cid)
            quat = p.getQuaternionFromEuler([0, 0, yaw])
            self.prop_bodies.append(p.createMultiBody(0.0, shape,
                                                      basePosition=[cx, cy, zb + h / 2],
                                                      baseOrientation=quat,
                                                      physicsClientId=cid))
        self.body_to_prop = {b: i for i, b in enumerate(self.prop_bodies)}
        self._prop_x = np.ascontiguousarray(self.prop_xy[:, 0])
        self._prop_y = np.ascontiguousarray(self.prop_xy[:, 1])
        self.prop_radius = self.prop_radius.reshape(-1).astype(np.float64)
        self.prop_grid = PropGrid(self.prop_xy, self.prop_radius,
                                  float(self.vehicle_radius.max(initial=0.0)))
        self.use_kernel = True
        self._synced: np.ndarray | None = None
        self._placed = np.zeros(len(hull_points), bool)

    def sync(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
             which: np.ndarray | None = None, z: np.ndarray | None = None,
             pitch: np.ndarray | None = None, roll: np.ndarray | None = None) -> None:
        """Place vehicle bodies at the given poses: all, or only those in the bool mask
        ``which``; the others are moved (once) to a far parking spot, so a stale pose can
        never touch anything.

        ``z``, ``pitch``, ``roll``: (n,) height of the body origin [m] and its angles
        (``simulator.pose.rpy_to_matrix``) on a map with elevation; None: a flat pose.
        """
        if z is not None:
            self._sync_3d(x, y, yaw, which, z, pitch, roll)
            return
        cid = self.client
        n = len(x)
        want = np.ones(n, bool) if which is None else which
        if self._synced is not None and self._synced.shape == (3, n) and \
                not self._placed.any() and not want.any():
            return       # the usual case between contacts: nothing near anything
        if self._synced is None or self._synced.shape != (3, n):
            self._synced = np.full((3, n), np.inf)
            self._placed = np.zeros(n, bool)
        self._park_unwanted(want)
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

    def _park_unwanted(self, want: np.ndarray) -> None:
        """Move the placed bodies not in ``want`` (once) to far parking spots."""
        for i in np.flatnonzero(self._placed & ~want):
            p.resetBasePositionAndOrientation(self.vehicle_bodies[i], (1e5 + 50.0 * i, 0, 0),
                                              (0, 0, 0, 1), physicsClientId=self.client)
            self._synced[:, i] = np.inf
        self._placed = want.copy()

    def _sync_3d(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                 which: np.ndarray | None, z: np.ndarray, pitch: np.ndarray | None,
                 roll: np.ndarray | None) -> None:
        """``sync`` with full 3D poses (the same parking and change detection)."""
        cid = self.client
        n = len(x)
        pitch = np.zeros(n) if pitch is None else pitch
        roll = np.zeros(n) if roll is None else roll
        want = np.ones(n, bool) if which is None else which
        if self._synced is not None and self._synced.shape == (6, n) and \
                not self._placed.any() and not want.any():
            return
        if self._synced is None or self._synced.shape != (6, n):
            # A pose table of the other kind (flat sync before) is dropped: re-pose all.
            if self._placed.shape != (n,):
                self._placed = np.zeros(n, bool)
            self._synced = np.full((6, n), np.inf)
        self._park_unwanted(want)
        idx = np.flatnonzero(want)
        pose = np.stack([x[idx], y[idx], yaw[idx], z[idx], pitch[idx], roll[idx]])
        moved = np.abs(pose - self._synced[:, idx]).max(axis=0) > 1e-3
        idx, pose = idx[moved], pose[:, moved]
        self._synced[:, idx] = pose
        quat = _quaternions(pose[2], pose[4], pose[5])
        for k, i in enumerate(idx):
            p.resetBasePositionAndOrientation(self.vehicle_bodies[i],
                                              (x[i], y[i], z[i]), tuple(quat[k]),
                                              physicsClientId=cid)

    def _vertical(self, z: np.ndarray, pitch: np.ndarray | None, roll: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
        """(bottom, top) world heights [m] bounding each vehicle's body (tilt and margin
        included)."""
        tilt = np.zeros(len(z))
        if pitch is not None:
            tilt = tilt + np.abs(np.sin(pitch))
        if roll is not None:
            tilt = tilt + np.abs(np.sin(roll))
        slack = self.vehicle_radius * tilt + _MARGIN_M
        zr = self.vehicle_z_range
        return z + zr[:, 0] - slack, z + zr[:, 1] + slack

    def candidates(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                   active: np.ndarray, z: np.ndarray | None = None,
                   pitch: np.ndarray | None = None, roll: np.ndarray | None = None
                   ) -> np.ndarray:
        """Active vehicles whose footprint box (plus a margin) overlaps another active
        vehicle's or a prop's: bounding circles first, then an oriented-box separating-axis
        test.

        A numba kernel (``_candidates``: car pairs swept along x, each car testing the props
        of its ``PropGrid`` cell) unless ``use_kernel`` is False: the numpy reference
        below, all pairs and every car against every prop. Both give the same answer.

        With ``z`` (a map with elevation; ``pitch``, ``roll`` optional) a pair also needs
        its vertical extents to overlap (``_vertical``; props span their base height to
        their top): the kernel's planar candidates, if any, are re-tested so.
        """
        if z is not None:
            if not self.use_kernel:
                return self._near_numpy(x, y, yaw, active, self._vertical(z, pitch, roll))
            near = self.candidates(x, y, yaw, active)
            if not near.any():         # the usual case: nothing near anything in plan
                return near
            return self._near_numpy(x, y, yaw, near, self._vertical(z, pitch, roll))
        if self.use_kernel:
            near = np.empty(len(x), bool)
            c = np.ascontiguousarray
            g = self.prop_grid
            _candidates(c(x, np.float64), c(y, np.float64), c(yaw, np.float64), c(active, bool),
                        self.vehicle_radius, self.half_extents, self._prop_x, self._prop_y,
                        self.prop_yaw, self.prop_radius, self.prop_half, g.origin, g.cell_m,
                        g.shape, g.cell_start, g.cell_props, near)
            return near
        return self._near_numpy(x, y, yaw, active)

    def _near_numpy(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray, active: np.ndarray,
                    vert: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
        """The numpy reference of ``candidates`` over the vehicles in ``active``; with
        ``vert`` (each vehicle's bottom and top height) pairs must overlap vertically too."""
        near = np.zeros(len(x), bool)
        r = self.vehicle_radius
        act = np.flatnonzero(active)          # parked cars never take part
        xa, ya, ra = x[act], y[act], r[act]
        dx = xa[:, None] - xa[None, :]
        dy = ya[:, None] - ya[None, :]
        reach = ra[:, None] + ra[None, :]
        i, j = np.nonzero(np.triu(dx * dx + dy * dy < reach * reach, 1))
        i, j = act[i], act[j]
        if vert is not None and len(i):
            lo, hi = vert
            level = (lo[i] < hi[j]) & (lo[j] < hi[i])
            i, j = i[level], j[level]
        if len(i):
            hit = _boxes_overlap(x[i], y[i], yaw[i], self.half_extents[i],
                                 x[j], y[j], yaw[j], self.half_extents[j])
            near[i[hit]] = True
            near[j[hit]] = True
        if len(self.prop_xy):
            px = xa[:, None] - self.prop_xy[None, :, 0]
            py = ya[:, None] - self.prop_xy[None, :, 1]
            reach = ra[:, None] + self.prop_radius[None, :]
            i, k = np.nonzero(px * px + py * py < reach * reach)
            i = act[i]
            if vert is not None and len(i):
                lo, hi = vert
                pz = self.prop_z_range
                level = (lo[i] < pz[k, 1]) & (pz[k, 0] < hi[i])
                i, k = i[level], k[level]
            if len(i):
                hit = _boxes_overlap(x[i], y[i], yaw[i], self.half_extents[i],
                                     self.prop_xy[k, 0], self.prop_xy[k, 1], self.prop_yaw[k],
                                     self.prop_half[k])
                near[i[hit]] = True
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
