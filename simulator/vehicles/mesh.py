"""The low-poly car: one closed template mesh, scaled and placed per vehicle in one go.

The template is lofted through eight cross-sections along the car (rear bumper, trunk
edge, rear-window base, roof rear, roof front, windshield base, hood front, front bumper).
Every section is the same convex hexagon: the lower body's bottom and belt-line corners
and two upper corners, which form the (narrower) roof over the cabin and lie flat on the
hood/trunk elsewhere, so the car reads as a car from the side and from above. Closed
(every edge shared by two triangles), wound counter-clockwise seen from outside.

Body frame: x forward, y left, z up, origin on the ground below the footprint centre. The
template spans exactly x, y in [-0.5, 0.5] and z in [0, 1]; scaling by (length, width,
height) therefore gives an axis-aligned bounding box of exactly that size.

The other kinds' templates (van, truck, bus, cyclist, motorcycle) are built from closed
convex parts in ``simulator.vehicles.templates`` to the same contract; ``place_vehicles``
places a mixed fleet, one numpy pass per template present.
"""

from __future__ import annotations

import numpy as np

from simulator.vehicles.templates import BUILDERS

# Sections: x, bottom z, belt-line z, upper z, body half-width, upper half-width (unit car).
_SECTIONS = np.array([
    [-0.50, 0.10, 0.46, 0.46, 0.46, 0.36],   # rear bumper face
    [-0.46, 0.00, 0.53, 0.53, 0.50, 0.38],   # trunk edge
    [-0.30, 0.00, 0.55, 0.55, 0.50, 0.38],   # rear-window base
    [-0.16, 0.00, 0.56, 1.00, 0.50, 0.36],   # roof, rear edge
    [0.10, 0.00, 0.57, 1.00, 0.50, 0.36],    # roof, front edge
    [0.26, 0.00, 0.57, 0.57, 0.50, 0.40],    # windshield base
    [0.46, 0.00, 0.47, 0.47, 0.50, 0.40],    # hood front edge
    [0.50, 0.10, 0.36, 0.36, 0.46, 0.36],    # front bumper face
])
_RING = 6  # bottom-right, belt-right, upper-right, upper-left, belt-left, bottom-left


def _build_template() -> tuple[np.ndarray, np.ndarray]:
    s = _SECTIONS
    n_sec = len(s)
    x, zb, zbelt, zup, hw, hwu = s.T
    # Ring order is counter-clockwise seen from +x (screen right = +y): normals of the
    # section polygons point forward.
    ring_y = np.stack([-hw, hw, hw, hwu, -hwu, -hw], axis=1)
    ring_z = np.stack([zb, zb, zbelt, zup, zup, zbelt], axis=1)
    verts = np.zeros((n_sec, _RING, 3))
    verts[:, :, 0] = x[:, None]
    verts[:, :, 1] = ring_y
    verts[:, :, 2] = ring_z
    verts = verts.reshape(-1, 3)

    tris = []
    for i in range(n_sec - 1):
        for k in range(_RING):
            a, b = i * _RING + k, i * _RING + (k + 1) % _RING
            c, d = b + _RING, a + _RING
            tris += [(a, b, c), (a, c, d)]
    front, rear = (n_sec - 1) * _RING, 0
    for k in range(1, _RING - 1):
        tris.append((front, front + k, front + k + 1))   # faces +x
        tris.append((rear, rear + k + 1, rear + k))      # faces -x
    return verts.astype(np.float32), np.array(tris, np.int32)


_TEMPLATE_V, _TEMPLATE_T = _build_template()
_TEMPLATE_V.setflags(write=False)
_TEMPLATE_T.setflags(write=False)


MESHES: tuple[str, ...] = ("car", "van", "truck", "bus", "cyclist", "motorcycle")
"""Template names; ``mesh_index`` gives a name's position, the ``mesh_idx`` of
``place_vehicles``."""

_TEMPLATES: tuple[tuple[np.ndarray, np.ndarray], ...] = tuple(
    (_TEMPLATE_V, _TEMPLATE_T) if name == "car" else BUILDERS[name]() for name in MESHES)
for _v, _t in _TEMPLATES:
    _v.setflags(write=False)
    _t.setflags(write=False)
_N_VERTS = np.array([len(v) for v, _ in _TEMPLATES])
_N_TRIS = np.array([len(t) for _, t in _TEMPLATES])


def mesh_index(name: str) -> int:
    """Position of template ``name`` in ``MESHES``; ValueError listing the known names."""
    try:
        return MESHES.index(name)
    except ValueError:
        raise ValueError(f"unknown vehicle mesh {name!r}; known: {', '.join(MESHES)}") from None


def template(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Unit template ``name`` (one of ``MESHES``): (V, 3) float32 vertices spanning exactly
    [-0.5, 0.5]^2 x [0, 1], (T, 3) int32 triangles, closed part by part, wound outward.
    Copies."""
    v, t = _TEMPLATES[mesh_index(name)]
    return v.copy(), t.copy()


def car_template() -> tuple[np.ndarray, np.ndarray]:
    """The unit car: (V, 3) float32 vertices in [-0.5, 0.5]^2 x [0, 1], (T, 3) int32 triangles."""
    return _TEMPLATE_V.copy(), _TEMPLATE_T.copy()


def collision_hull_vertices(length: float, width: float, height: float, mesh: str = "car"
                            ) -> np.ndarray:
    """Template ``mesh`` vertices scaled to (length, width, height) [m], (V, 3) float64,
    body frame.

    Meant for a pybullet ``GEOM_MESH`` collision shape, which takes their convex hull (the
    cabin's shoulders and the gaps between a bicycle's wheels are filled in; the outline and
    height match the mesh exactly).
    """
    v, _ = _TEMPLATES[mesh_index(mesh)]
    return v.astype(np.float64) * np.array([length, width, height])


def _homogeneous(v: np.ndarray) -> np.ndarray:
    out = np.ones((len(v), 4))
    out[:, :3] = v
    out.setflags(write=False)
    return out


_HOMOGENEOUS = tuple(_homogeneous(v) for v, _ in _TEMPLATES)


def _place(idx: np.ndarray, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
           length: np.ndarray, width: np.ndarray, height: np.ndarray, z: np.ndarray | None,
           pitch: np.ndarray | None = None, roll: np.ndarray | None = None
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Vehicles with templates ``idx`` (n,) scaled and posed; float64 (n,) inputs.

    Per template present, one batched product of the homogeneous template (V, 4) with each
    of its vehicles' 4x3 pose matrices [R diag(l, w, h); x y z], written in place:
    vertex k of vehicle i is ``R_i (v_k * size_i) + (x_i, y_i, z_i)``, R = R(yaw), or
    ``rpy_to_matrix(roll, pitch, yaw)`` when pitch or roll is given.
    """
    n = len(idx)
    pose = np.zeros((n, 4, 3))
    if pitch is None and roll is None:
        c, s = np.cos(yaw), np.sin(yaw)
        pose[:, 0, 0], pose[:, 0, 1] = c * length, s * length
        pose[:, 1, 0], pose[:, 1, 1] = -s * width, c * width
        pose[:, 2, 2] = height
    else:
        rot = _rotations(yaw, np.zeros(n) if pitch is None else pitch,
                         np.zeros(n) if roll is None else roll)
        # Row j of the pose is the body axis j (column j of R) scaled by the size.
        pose[:, :3, :] = np.swapaxes(rot, 1, 2) * np.stack([length, width, height], 1)[..., None]
    pose[:, 3, 0], pose[:, 3, 1] = x, y
    if z is not None:
        pose[:, 3, 2] = z
    counts = np.bincount(idx, minlength=len(MESHES))
    present = np.flatnonzero(counts)
    verts = np.empty((int(counts @ _N_VERTS), 3))
    tris = np.empty((int(counts @ _N_TRIS), 3), np.int32)
    owner = np.empty(len(tris), np.int32)
    order = np.argsort(idx, kind="stable").astype(np.int32) if len(present) > 1 else \
        np.arange(n, dtype=np.int32)
    first, v0, t0 = 0, 0, 0
    for m in present:
        k = int(counts[m])
        sel = order[first:first + k]
        th, tt = _HOMOGENEOUS[m], _TEMPLATES[m][1]
        nv, nt = len(th), len(tt)
        np.matmul(th, pose[sel], out=verts[v0:v0 + k * nv].reshape(k, nv, 3))
        base = v0 + nv * np.arange(k, dtype=np.int32)
        np.add(tt[None], base[:, None, None], out=tris[t0:t0 + k * nt].reshape(k, nt, 3))
        owner[t0:t0 + k * nt] = np.repeat(sel, nt)
        first, v0, t0 = first + k, v0 + k * nv, t0 + k * nt
    return verts.astype(np.float32), tris, owner


def _rotations(yaw: np.ndarray, pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """(n, 3, 3) ``simulator.pose.rpy_to_matrix`` of each vehicle, vectorised."""
    cr, sr = np.cos(roll), np.sin(roll)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    return np.stack([
        np.stack([cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr], -1),
        np.stack([sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr], -1),
        np.stack([-sp, cp * sr, cp * cr], -1)], 1)


def _as_f64(*arrays: np.ndarray | None) -> list[np.ndarray | None]:
    return [None if a is None else np.asarray(a, np.float64) for a in arrays]


def place_cars(x: np.ndarray, y: np.ndarray, yaw: np.ndarray, length: np.ndarray,
               width: np.ndarray, height: np.ndarray, z: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One mesh holding every car, each scaled to its size and posed in the world frame.

    Args:
        x, y: (n,) footprint centres, world frame [m].
        yaw: (n,) headings [rad].
        length, width, height: (n,) body sizes [m].
        z: (n,) ground height under each car [m]; None: 0.

    Returns:
        vertices (n*V, 3) float32 [m], triangles (n*T, 3) int32 indexing them, and
        tri_vehicle (n*T,) int32: index (0..n-1) of the car owning each triangle. Car k
        owns vertices ``k*V .. (k+1)*V - 1`` and triangles ``k*T .. (k+1)*T - 1``.
    """
    x, y, yaw, length, width, height, z = _as_f64(x, y, yaw, length, width, height, z)
    return _place(np.zeros(len(x), np.int64), x, y, yaw, length, width, height, z)


def place_vehicles(mesh_idx: np.ndarray, x: np.ndarray, y: np.ndarray, yaw: np.ndarray,
                   length: np.ndarray, width: np.ndarray, height: np.ndarray,
                   z: np.ndarray | None = None, pitch: np.ndarray | None = None,
                   roll: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One mesh holding every vehicle, each its own kind's template scaled to its size and
    posed in the world frame (one vectorised pass per template present).

    Args:
        mesh_idx: (n,) int template of each vehicle (``mesh_index``; position in ``MESHES``).
        x, y: (n,) footprint centres, world frame [m].
        yaw: (n,) headings [rad].
        length, width, height: (n,) body sizes [m] (the bounding box of the placed mesh).
        z: (n,) ground height under each vehicle [m]; None: 0.
        pitch, roll: (n,) body angles on the road surface [rad] (``simulator.pose.
            rpy_to_matrix``: pitch > 0 nose down, roll > 0 left side up); None: 0. The
            body rotates about its origin on the ground below the footprint centre.

    Returns:
        vertices (N, 3) float32 [m], triangles (M, 3) int32 indexing them, and tri_vehicle
        (M,) int32: the input index (0..n-1) of the vehicle owning each triangle. Vertices
        and triangles are grouped by template in ``MESHES`` order, vehicles in input order
        within a group; with only cars this is exactly ``place_cars``.
    """
    idx = np.asarray(mesh_idx, np.int64).reshape(-1)
    x, y, yaw, length, width, height, z, pitch, roll = _as_f64(x, y, yaw, length, width,
                                                               height, z, pitch, roll)
    if len(idx) and (idx.min() < 0 or idx.max() >= len(MESHES)):
        raise ValueError(f"mesh_idx outside 0..{len(MESHES) - 1}: {np.unique(idx)}")
    return _place(idx, x, y, yaw, length, width, height, z, pitch, roll)
