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
"""

from __future__ import annotations

import numpy as np

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


def car_template() -> tuple[np.ndarray, np.ndarray]:
    """The unit car: (V, 3) float32 vertices in [-0.5, 0.5]^2 x [0, 1], (T, 3) int32 triangles."""
    return _TEMPLATE_V.copy(), _TEMPLATE_T.copy()


def collision_hull_vertices(length: float, width: float, height: float) -> np.ndarray:
    """Template vertices scaled to (length, width, height) [m], (V, 3) float64, body frame.

    Meant for a pybullet ``GEOM_MESH`` collision shape, which takes their convex hull (the
    cabin's shoulders are filled in; the outline and height match the mesh exactly).
    """
    return _TEMPLATE_V.astype(np.float64) * np.array([length, width, height])


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
    x = np.asarray(x, np.float64)
    n = x.shape[0]
    nv, nt = len(_TEMPLATE_V), len(_TEMPLATE_T)
    tv = _TEMPLATE_V
    c, s = np.cos(yaw), np.sin(yaw)
    lx = tv[None, :, 0] * np.asarray(length, np.float64)[:, None]    # (n, V)
    ly = tv[None, :, 1] * np.asarray(width, np.float64)[:, None]
    verts = np.empty((n, nv, 3), np.float32)
    verts[:, :, 0] = x[:, None] + c[:, None] * lx - s[:, None] * ly
    verts[:, :, 1] = np.asarray(y, np.float64)[:, None] + s[:, None] * lx + c[:, None] * ly
    lz = tv[None, :, 2] * np.asarray(height, np.float64)[:, None]
    verts[:, :, 2] = lz if z is None else lz + np.asarray(z, np.float64)[:, None]
    tris = _TEMPLATE_T[None] + (np.arange(n, dtype=np.int32) * nv)[:, None, None]
    tri_vehicle = np.repeat(np.arange(n, dtype=np.int32), nt)
    return verts.reshape(-1, 3), tris.reshape(-1, 3), tri_vehicle
