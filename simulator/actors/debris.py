"""Debris: light objects (a plastic bag, a cardboard box, a tyre) blowing or falling across
the road (``scenario.debris`` and ``debris`` events).

Each piece is a rigid body in the group's own pybullet client (gravity 9.81 m/s^2, a
flat ground (top at z = 0), the world's time step), pushed by air drag on its velocity
relative to the wind (``weather.wind_mps``: east, north; no vertical wind)::

    F = -1/2 rho Cd A |v_rel| v_rel,    rho = 1.225 kg/m^3 (ISA sea level)

A 20 g bag has k = rho Cd A / (2 m) ~ 5 /m: an explicit force step would overshoot
(k |v| dt > 1 at 20 m/s relative). The drag is integrated exactly instead: over a step
alone quadratic drag takes v_rel to ``v_rel / (1 + k |v_rel| dt)``, and the force that
gives that change is applied at the centre of mass before ``stepSimulation``. It is
evaluated at the half-step velocity (Strang splitting with gravity), so a falling piece
settles at its terminal speed ``sqrt(2 m g / (rho Cd A))`` with an O(dt^2) error.
The drag is isotropic: A is the body's orientation-averaged projected area, S / 4 for a
convex body of surface S (Cauchy's formula); drag makes no torque.

Declared items with ``waits: false`` are launched at t = 0; ``waits: true`` ones are not in
the world (no mesh, no box) until ``launch(name)``; ``launch_new`` adds a piece
(``MAX_NEW_PER_EPISODE`` per episode). A centre below half the piece's height is lifted to
rest on the road. ``reset`` rebuilds the pybullet world, so every episode with the same
seed and events runs bit for bit the same.

Sensors see each piece in its own instance id, semantic class ``debris``. Drivers stop for
a tyre or a box lying on the road (``obstacles``), never for a bag (they drive through
it). Debris never crashes a car: ``contacts`` is empty (at most 9 kg against a car of
~1.5 t; the world's collision log is for crashes that end an episode).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from scenarios.limits import MAX_COORD_M
from simulator.scene.collision_monitor import Collision
from simulator.scene.objects import ObjectBox
from simulator.scene.quiet_pybullet import p
from simulator.scene.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES, MaterialInfo

log = logging.getLogger(__name__)

GRAVITY_MPS2 = 9.81
AIR_DENSITY_KGPM3 = 1.225
MAX_NEW_PER_EPISODE = 64      # pieces ``launch_new`` may add in one episode
STOP_SPEED_MPS = 3.0          # a tyre / box slower than this (rolling across the road), ...
STOP_HEIGHT_M = 0.6           # ... its centre this low: on the road, drivers stop for
AHEAD_S = 1.5                 # where it is and where it will be this much later
REMOVE_BELOW_M = -50.0        # fell off the world
REMOVE_BEYOND_M = 2000.0      # blew this far from its launch point
CALM_SPEED_MPS = 0.02         # below this (and its spin below CALM_SPIN_RADPS) for
CALM_SPIN_RADPS = 0.05        # CALM_S a piece is at rest: not stepped while all are
CALM_S = 0.5
SEMANTIC = SEMANTIC_CLASSES["debris"]


class DebrisLimitError(RuntimeError):
    """More event-launched debris in one episode than ``MAX_NEW_PER_EPISODE``."""


@dataclass(frozen=True)
class DebrisKindSpec:
    """The physics and look of a kind of debris.

    ``size_m`` is the body's extent (length along its x, width along y, height) [m]; a
    tyre stands on its tread, axle along y. ``materials``: one is drawn per piece.
    """

    mass_kg: float
    size_m: tuple[float, float, float]
    drag_coefficient: float
    cylinder: bool
    friction: float
    restitution: float
    angular_damping: float       # Bullet's: spin *= (1 - d) ** dt [s]
    materials: tuple[MaterialInfo, ...]
    rolling_friction: float = 0.0   # Bullet's rolling resistance arm [m]

    @property
    def area_m2(self) -> float:
        """Orientation-averaged projected area S / 4 [m^2]."""
        ln, w, h = self.size_m
        if self.cylinder:
            r = ln / 2
            return (2 * math.pi * r * r + 2 * math.pi * r * w) / 4
        return (2 * (ln * w + ln * h + w * h)) / 4

    @property
    def drag_k(self) -> float:
        """k = rho Cd A / (2 m) [1/m]: dv/dt = -k |v_rel| v_rel."""
        return AIR_DENSITY_KGPM3 * self.drag_coefficient * self.area_m2 / (2 * self.mass_kg)

    @property
    def terminal_speed_mps(self) -> float:
        return math.sqrt(GRAVITY_MPS2 / self.drag_k)


# Sources / assumptions:
# plastic_bag: a filled carrier bag (~20 g of film, HDPE 15-20 um); drag as a bluff
#   body / open parachute, Cd ~1.0 on S/4 = 0.16 m^2: terminal speed 1.4 m/s (bags are
#   seen to sink at 1-2 m/s). HDPE film reflects ~0.6 at 905 nm (white or blue).
# cardboard_box: an empty moving box, 0.5 x 0.4 x 0.35 m, ~1 kg; Cd 1.05 (a cube face on,
#   Hoerner, Fluid-Dynamic Drag): terminal speed 7.7 m/s. The scene's cardboard material.
# tyre: a car tyre without rim (205/55 R16: 0.63 m, ~8-9 kg), 0.65 m x 0.2 m cylinder;
#   Cd 0.8 (a short cylinder, Hoerner). Black rubber reflects ~0.05. Its inertia is a thick
#   ring (inner radius 0.2 m: a 16" bead), not a solid disc.
KINDS: MappingProxyType[str, DebrisKindSpec] = MappingProxyType({
    "plastic_bag": DebrisKindSpec(
        0.02, (0.40, 0.35, 0.25), 1.0, False, friction=0.6, restitution=0.0,
        angular_damping=0.5, materials=(MaterialInfo((235, 235, 230), 0.6, 0.05),
                                        MaterialInfo((40, 90, 180), 0.6, 0.05))),
    "cardboard_box": DebrisKindSpec(
        1.0, (0.50, 0.40, 0.35), 1.05, False, friction=0.6, restitution=0.1,
        angular_damping=0.1, materials=(DEFAULT_MATERIALS["cardboard"],)),
    "tyre": DebrisKindSpec(
        9.0, (0.65, 0.20, 0.65), 0.8, True, friction=0.9, restitution=0.4,
        angular_damping=0.1, materials=(MaterialInfo((25, 25, 28), 0.05, 0.05),),
        rolling_friction=0.01),
})
_TYRE_INNER_M = 0.2
_GROUND_FRICTION, _GROUND_RESTITUTION = 0.8, 0.1
_GROUND_HALF_M = MAX_COORD_M + REMOVE_BEYOND_M   # under every piece still in the world
_PRISM_SIDES = 14

_BOX_TRIS = np.array([[0, 2, 1], [0, 3, 2], [4, 5, 6], [4, 6, 7], [0, 1, 5], [0, 5, 4],
                      [1, 2, 6], [1, 6, 5], [2, 3, 7], [2, 7, 6], [3, 0, 4], [3, 4, 7]],
                     np.int32)
_UNIT_CORNERS = np.array([[sx, sy, sz] for sz in (-0.5, 0.5)
                          for sx, sy in ((0.5, 0.5), (-0.5, 0.5), (-0.5, -0.5), (0.5, -0.5))])
# A bag is a squashed box gathered at the top (its handles), a little lopsided.
_BAG_SHAPE = np.array([[1.0, 1.0, 1.0], [1.0, 0.92, 1.0], [0.95, 1.0, 1.0], [1.0, 1.0, 1.0],
                       [0.7, 0.75, 1.0], [0.8, 0.7, 0.9], [0.75, 0.8, 1.0], [0.7, 0.7, 0.85]])


def _template(kind: str) -> tuple[np.ndarray, np.ndarray]:
    """Body-frame vertices (V, 3) and triangles (T, 3) of a kind's low-poly mesh."""
    spec = KINDS[kind]
    ln, w, h = spec.size_m
    if not spec.cylinder:
        v = _UNIT_CORNERS * (ln, w, h)
        return (v * _BAG_SHAPE if kind == "plastic_bag" else v), _BOX_TRIS
    n, r = _PRISM_SIDES, ln / 2
    a = 2 * np.pi * (np.arange(n) + 0.5) / n
    ring = np.stack([r * np.cos(a), np.zeros(n), r * np.sin(a)], 1)
    v = np.concatenate([ring + (0, w / 2, 0), ring - (0, w / 2, 0),
                        [[0, w / 2, 0], [0, -w / 2, 0]]])
    i, j = np.arange(n), (np.arange(n) + 1) % n
    tris = np.concatenate([np.stack([i, j, n + j], 1), np.stack([i, n + j, n + i], 1),
                           np.stack([np.full(n, 2 * n), j, i], 1),
                           np.stack([np.full(n, 2 * n + 1), n + i, n + j], 1)])
    return v, tris.astype(np.int32)


def _inertia(spec: DebrisKindSpec) -> tuple[float, float, float]:
    m, (ln, w, h) = spec.mass_kg, spec.size_m
    if spec.cylinder:
        rr = (ln / 2) ** 2 + _TYRE_INNER_M ** 2
        side = m * (3 * rr + w * w) / 12
        return side, m * rr / 2, side
    return m * (w * w + h * h) / 12, m * (ln * ln + h * h) / 12, m * (ln * ln + w * w) / 12


def _rotations(quat: np.ndarray) -> np.ndarray:
    """(N, 3, 3) rotation matrices of (N, 4) quaternions (x, y, z, w)."""
    x, y, z, w = quat.T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], -1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], -1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], -1)],
        1)


@dataclass
class _Piece:
    name: str
    kind: str
    instance_id: int
    start: tuple[float, float, float]
    velocity: tuple[float, float, float]
    body: int = -1                 # pybullet body id; -1: not in the world
    calm_steps: int = 0


class DebrisGroup:
    """All debris of a scenario, simulated by pybullet.

    Args:
        host: the world (its scenario, time step and material table).
        first_instance_id: instance id of the first declared item; the others follow, then
            the event-launched pieces.
    """

    kind = "debris"

    def __init__(self, host, first_instance_id: int):
        self.host = host
        self.dt_s = float(host.dt_s)
        self.first_instance_id = int(first_instance_id)
        self.declared = list(host.scenario.debris)
        self._index = {d.name: k for k, d in enumerate(self.declared)}
        self._templates = {k: _template(k) for k in KINDS}
        self.client: int | None = p.connect(p.DIRECT)
        self.reset(np.random.default_rng(0))

    # ------------------------------------------------------------------ episodes
    def reset(self, rng: np.random.Generator) -> None:
        """Rebuild the physics world: event pieces gone, every declared item back at its
        start (waiting ones held, unseen), colours drawn from ``rng``."""
        cid = self.client
        p.resetSimulation(physicsClientId=cid)
        p.setPhysicsEngineParameter(fixedTimeStep=self.dt_s, numSubSteps=0,
                                    deterministicOverlappingPairs=1, physicsClientId=cid)
        p.setGravity(0, 0, -GRAVITY_MPS2, physicsClientId=cid)
        # A box, not a plane: Bullet's box-box detector gives a sliding box a full
        # contact patch (box-plane: one point per step, and it sinks a few cm).
        slab = p.createCollisionShape(p.GEOM_BOX, halfExtents=[_GROUND_HALF_M, _GROUND_HALF_M,
                                                                1.0], physicsClientId=cid)
        ground = p.createMultiBody(0.0, slab, basePosition=[0.0, 0.0, -1.0],
                                   physicsClientId=cid)
        p.changeDynamics(ground, -1, lateralFriction=_GROUND_FRICTION,
                         restitution=_GROUND_RESTITUTION, physicsClientId=cid)
        self._shapes = {}
        for kind, s in KINDS.items():
            ln, w, h = s.size_m
            if s.cylinder:   # Bullet's cylinder axis is z; the tyre's axle is the body's y
                self._shapes[kind] = p.createCollisionShape(
                    p.GEOM_CYLINDER, radius=ln / 2, height=w,
                    collisionFrameOrientation=p.getQuaternionFromEuler([math.pi / 2, 0, 0]),
                    physicsClientId=cid)
            else:
                self._shapes[kind] = p.createCollisionShape(
                    p.GEOM_BOX, halfExtents=[ln / 2, w / 2, h / 2], physicsClientId=cid)
        wind = self.host.scenario.weather.wind_mps
        self.wind_mps = np.array([wind[0], wind[1], 0.0])
        self._rng = rng
        self.pieces: list[_Piece] = []
        self._init_arrays()
        for k, d in enumerate(self.declared):
            self._add(_Piece(d.name, d.kind, self.first_instance_id + k,
                             tuple(map(float, d.position)), tuple(map(float, d.velocity_mps))))
        for k, d in enumerate(self.declared):
            if not d.waits:
                self._launch(k)

    # ------------------------------------------------------------------ events
    def launch(self, name: str) -> None:
        """Launch a declared item from its position and velocity (again, if in flight)."""
        if name not in self._index:
            raise KeyError(f"no debris item {name!r}; known: {sorted(self._index)}")
        self._launch(self._index[name])

    def launch_new(self, kind: str, position: tuple[float, float, float],
                   velocity_mps: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> int:
        """Add a new piece of ``kind`` at ``position`` [m] moving at ``velocity_mps``;
        returns its instance id."""
        if kind not in KINDS:
            raise KeyError(f"unknown debris kind {kind!r}; known: {sorted(KINDS)}")
        j = len(self.pieces) - len(self.declared)
        if j >= MAX_NEW_PER_EPISODE:
            raise DebrisLimitError(f"more than {MAX_NEW_PER_EPISODE} event-launched debris "
                                   "pieces in one episode")
        iid = self.first_instance_id + len(self.pieces)
        self._add(_Piece(f"{kind}_{j}", kind, iid, tuple(map(float, position)),
                         tuple(map(float, velocity_mps))))
        self._launch(len(self.pieces) - 1)
        return iid

    def _launch(self, k: int) -> None:
        piece, cid = self.pieces[k], self.client
        spec = KINDS[piece.kind]
        x, y, z = piece.start
        z = max(z, spec.size_m[2] / 2)
        vel = piece.velocity
        yaw = math.atan2(vel[1], vel[0]) if math.hypot(vel[0], vel[1]) > 1e-9 else 0.0
        quat = (0.0, 0.0, math.sin(yaw / 2), math.cos(yaw / 2))
        if piece.body < 0:
            piece.body = p.createMultiBody(spec.mass_kg, self._shapes[piece.kind],
                                           basePosition=[x, y, z], baseOrientation=quat,
                                           physicsClientId=cid)
            p.changeDynamics(piece.body, -1, lateralFriction=spec.friction,
                             restitution=spec.restitution, linearDamping=0.0,
                             angularDamping=spec.angular_damping,
                             rollingFriction=spec.rolling_friction,
                             localInertiaDiagonal=_inertia(spec), physicsClientId=cid)
        else:
            p.resetBasePositionAndOrientation(piece.body, [x, y, z], quat,
                                              physicsClientId=cid)
        p.resetBaseVelocity(piece.body, list(vel), [0.0, 0.0, 0.0], physicsClientId=cid)
        piece.calm_steps = 0
        self._read(k)
        log.debug("debris %s (%s) launched at (%.1f, %.1f, %.1f)", piece.name, piece.kind,
                  x, y, z)

    # ------------------------------------------------------------------ motion
    def _init_arrays(self) -> None:
        """Per-piece state, one row per declared item and possible event piece."""
        n = len(self.declared) + MAX_NEW_PER_EPISODE
        self.pos, self.vel, self.spin = np.zeros((n, 3)), np.zeros((n, 3)), np.zeros((n, 3))
        self.quat = np.tile([0.0, 0.0, 0.0, 1.0], (n, 1))
        self.mass_kg, self.drag_k = np.ones(n), np.zeros(n)
        self._may_rest = np.zeros(n, bool)

    def _add(self, piece: _Piece) -> None:
        k = len(self.pieces)
        self.pieces.append(piece)
        spec = KINDS[piece.kind]
        self.mass_kg[k], self.drag_k[k] = spec.mass_kg, spec.drag_k
        # May it rest? The wind's push on it at rest stays below half its friction.
        grip = 0.5 * _GROUND_FRICTION * spec.friction * GRAVITY_MPS2
        self._may_rest[k] = spec.drag_k * float(self.wind_mps @ self.wind_mps) < grip
        mats = spec.materials
        mat = mats[int(self._rng.integers(len(mats)))] if len(mats) > 1 else mats[0]
        self.host.materials.set(piece.instance_id, SEMANTIC, mat)

    def _read(self, k: int) -> None:
        body, cid = self.pieces[k].body, self.client
        pos, quat = p.getBasePositionAndOrientation(body, physicsClientId=cid)
        vel, spin = p.getBaseVelocity(body, physicsClientId=cid)
        self.pos[k], self.quat[k], self.vel[k], self.spin[k] = pos, quat, vel, spin

    def live(self) -> np.ndarray:
        """Indices of the pieces in the world now."""
        return np.array([k for k, q in enumerate(self.pieces) if q.body >= 0], np.int64)

    def step(self, world, dt_s: float) -> None:
        """Air drag, then one pybullet step; nothing when no piece moves."""
        calm_needed = int(round(CALM_S / dt_s))
        live = [k for k, q in enumerate(self.pieces) if q.body >= 0]
        if not live or all(self.pieces[k].calm_steps >= calm_needed for k in live):
            return
        cid = self.client
        idx = np.array(live)
        g_half = np.array([0.0, 0.0, -GRAVITY_MPS2 * dt_s / 2])
        u = self.vel[idx] + g_half - self.wind_mps            # half-step relative velocity
        k = self.drag_k[idx]
        speed = np.sqrt(np.einsum("ij,ij->i", u, u))
        dv = u * (1.0 / (1.0 + k * speed * dt_s) - 1.0)[:, None]
        force = self.mass_kg[idx, None] * dv / dt_s
        for j, kk in enumerate(live):
            p.applyExternalForce(self.pieces[kk].body, -1, force[j].tolist(),
                                 self.pos[kk].tolist(), p.WORLD_FRAME, physicsClientId=cid)
        p.stepSimulation(physicsClientId=cid)
        for kk in live:
            self._read(kk)
            piece = self.pieces[kk]
            calm = self._may_rest[kk] and \
                np.linalg.norm(self.vel[kk]) < CALM_SPEED_MPS and \
                np.linalg.norm(self.spin[kk]) < CALM_SPIN_RADPS
            piece.calm_steps = piece.calm_steps + 1 if calm else 0
            dx, dy = self.pos[kk, 0] - piece.start[0], self.pos[kk, 1] - piece.start[1]
            if self.pos[kk, 2] < REMOVE_BELOW_M or math.hypot(dx, dy) > REMOVE_BEYOND_M:
                p.removeBody(piece.body, physicsClientId=cid)
                piece.body = -1
                log.info("debris %s left the world at t=%.2f s", piece.name,
                         getattr(world, "time_s", float("nan")))

    # ------------------------------------------------------------------ what others see
    def _frames(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rotations (N, 3, 3), yaws (N,) and yaw-frame box sizes (N, 3) of pieces."""
        rot = _rotations(self.quat[idx])
        x_axis, y_axis = rot[:, :, 0], rot[:, :, 1]
        # The yaw of the body's x axis; of its y axis (less 90 deg) when x points up.
        yaw = np.where(np.abs(x_axis[:, 2]) < 0.9, np.arctan2(x_axis[:, 1], x_axis[:, 0]),
                       np.arctan2(y_axis[:, 1], y_axis[:, 0]) - np.pi / 2)
        size = np.array([KINDS[self.pieces[k].kind].size_m for k in idx]).reshape(-1, 3)
        c, s = np.cos(yaw), np.sin(yaw)
        zero, one = np.zeros_like(c), np.ones_like(c)
        frame = np.stack([np.stack([c, s, zero], -1), np.stack([-s, c, zero], -1),
                          np.stack([zero, zero, one], -1)], 1)          # rows: box axes
        in_frame = np.einsum("nij,njk->nik", frame, rot)   # body axes seen in the box frame
        # Half extent along each box axis: a box's |R| |half|; a cylinder's (axle y)
        # r sqrt(1 - a^2) + w/2 |a|, a the axle's share of that axis.
        extent = np.einsum("nij,nj->ni", np.abs(in_frame), size / 2)
        cyl = np.array([KINDS[self.pieces[k].kind].cylinder for k in idx], bool)
        if cyl.any():
            a = np.abs(in_frame[cyl, :, 1])
            extent[cyl] = size[cyl, 0, None] / 2 * np.sqrt(np.clip(1 - a * a, 0, 1)) + \
                size[cyl, 1, None] / 2 * a
        yaw = (yaw + np.pi) % (2 * np.pi) - np.pi
        return rot, yaw, 2 * extent

    def obstacles(self) -> list[np.ndarray]:
        """Footprints of tyres and boxes on the road, lying or rolling slower than
        ``STOP_SPEED_MPS``: where each is and where it will be in ``AHEAD_S`` (bags are
        driven through)."""
        idx = np.array([k for k in self.live() if self.pieces[k].kind != "plastic_bag"
                        and self.pos[k, 2] < STOP_HEIGHT_M
                        and np.linalg.norm(self.vel[k]) < STOP_SPEED_MPS], np.int64)
        if not len(idx):
            return []
        _, yaw, size = self._frames(idx)
        out = []
        for j, k in enumerate(idx):
            box = ObjectBox(0, SEMANTIC, "", self.pos[k], size[j], float(yaw[j]))
            now = box.corners()[:4, :2]
            out.append(now)
            shift = np.asarray(self.vel[k][:2], np.float64) * AHEAD_S
            if np.hypot(*shift) > 0.05:
                out.append(now + shift)
        return out

    def contacts(self, world) -> list[Collision]:
        """None: debris is too light to crash a car (see the module docstring)."""
        return []

    def mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = self.live()
        if not len(idx):
            return (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32),
                    np.zeros(0, np.int32))
        rot = _rotations(self.quat[idx])
        verts, tris, inst, off = [], [], [], 0
        for j, k in enumerate(idx):
            v, t = self._templates[self.pieces[k].kind]
            verts.append(v @ rot[j].T + self.pos[k])
            tris.append(t + off)
            inst.append(np.full(len(t), self.pieces[k].instance_id, np.int32))
            off += len(v)
        return (np.concatenate(verts).astype(np.float32),
                np.concatenate(tris).astype(np.int32), np.concatenate(inst))

    def boxes(self) -> list[ObjectBox]:
        """Each piece's centre, its shape's extent in its yaw frame, the yaw of its body
        x axis (l, w, h of the shape when it lies on a face)."""
        idx = self.live()
        if not len(idx):
            return []
        _, yaw, size = self._frames(idx)
        return [ObjectBox(self.pieces[k].instance_id, SEMANTIC, self.pieces[k].name,
                          self.pos[k].copy(), size[j], float(yaw[j]))
                for j, k in enumerate(idx)]

    def velocities(self) -> dict[int, tuple[np.ndarray, float]]:
        return {self.pieces[k].instance_id: (self.vel[k].copy(), float(self.spin[k, 2]))
                for k in self.live()}

    def position(self, name: str) -> tuple[float, float, float] | None:
        """Centre of a declared item in the world, None while it waits (or left)."""
        k = self._index[name]
        return tuple(map(float, self.pos[k])) if self.pieces[k].body >= 0 else None

    def close(self) -> None:
        if self.client is not None and p.isConnected(physicsClientId=self.client):
            p.disconnect(physicsClientId=self.client)
        self.client = None
