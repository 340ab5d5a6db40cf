"""pybullet as the collision checker: one DIRECT client per world, vehicles as convex hulls,
props as boxes. Vehicle poses are synced from the world's arrays only as often as needed
not to miss a crash.

Bodies are never stepped by pybullet here (the vehicles' motion comes from the vectorised
dynamics); vehicles have a nominal mass so that pybullet pairs them with static props.
"""

from __future__ import annotations

import numpy as np

from simulator.quiet_pybullet import p


class CollisionWorld:
    """A pybullet DIRECT client holding the world's collision bodies.

    Args:
        hull_points: per vehicle, (V, 3) points of its convex hull in the body frame.
        props: (center_xy, size_lwh, yaw) of every static prop.
    """

    def __init__(self, hull_points: list[np.ndarray],
                 props: list[tuple[tuple[float, float], tuple[float, float, float], float]]):
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
        self._synced: np.ndarray | None = None

    def sync(self, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
             which: np.ndarray | None = None) -> None:
        """Move vehicle bodies to the given poses (all, or the indices in ``which``)."""
        cid = self.client
        half = 0.5 * yaw
        qz, qw = np.sin(half), np.cos(half)
        pose = np.stack([x, y, yaw])
        if self._synced is None or self._synced.shape != pose.shape:
            self._synced = np.full_like(pose, np.inf)
        # Only bodies that moved need a new pose (many cars wait at lights).
        moved = np.abs(pose - self._synced).max(axis=0) > 1e-3
        if which is not None:
            keep = np.zeros(len(x), bool)
            keep[which] = True
            moved &= keep
        idx = np.flatnonzero(moved)
        self._synced[:, idx] = pose[:, idx]
        for i in idx:
            p.resetBasePositionAndOrientation(self.vehicle_bodies[i], (x[i], y[i], 0.0),
                                              (0.0, 0.0, qz[i], qw[i]), physicsClientId=cid)

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
