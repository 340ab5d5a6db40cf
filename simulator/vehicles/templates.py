"""Low-poly unit templates of the vehicle kinds other than the car (van, truck, bus, cyclist,
motorcycle), built from a few closed convex parts.

Every part is a loft: a stack of rings of K points each, joined ring to ring by quads and
closed by a triangle fan on the first and the last ring (planar, convex). Parts never share
vertices, so each is closed on its own (every edge in exactly two triangles), and each is
wound counter-clockwise seen from outside. Parts may overlap (a wheel half inside the body):
a ray caster only needs the first hit.

Each template is designed in metres at the kind's reference size (``simulator.vehicles.kinds``)
and then mapped onto its bounding box, so that it spans exactly x, y in [-0.5, 0.5] and z in
[0, 1] (body frame: x forward, y left, z up, origin on the ground below the footprint centre)
and scaling by (length, width, height) gives a box of exactly that size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

Mesh = tuple[np.ndarray, np.ndarray]


def loft(rings: np.ndarray) -> Mesh:
    """A closed mesh through ``rings`` (S, K, 3): S >= 2 rings of K >= 3 points each.

    Ring i is joined to ring i+1 point by point; the first and last rings must be planar
    and convex (they are closed by a fan from their first point). The winding is made
    outward whichever way the rings run. Returns float64 vertices (S*K, 3), int32 triangles.
    """
    rings = np.asarray(rings, np.float64)
    n_sec, k_ring = rings.shape[:2]
    tris = []
    for i in range(n_sec - 1):
        for k in range(k_ring):
            a, b = i * k_ring + k, i * k_ring + (k + 1) % k_ring
            c, d = b + k_ring, a + k_ring
            tris += [(a, b, c), (a, c, d)]
    last = (n_sec - 1) * k_ring
    for k in range(1, k_ring - 1):
        tris.append((0, k + 1, k))
        tris.append((last, last + k, last + k + 1))
    verts = rings.reshape(-1, 3)
    tri = np.array(tris, np.int32)
    p = verts[tri]
    if np.einsum("ij,ij->", p[:, 0], np.cross(p[:, 1], p[:, 2])) < 0:
        tri = tri[:, ::-1].copy()
    return verts, tri


def box(lo: Sequence[float], hi: Sequence[float]) -> Mesh:
    """An axis-aligned box from corner ``lo`` to corner ``hi`` [m]."""
    (x0, y0, z0), (x1, y1, z1) = lo, hi
    ring = [(y0, z0), (y1, z0), (y1, z1), (y0, z1)]
    return loft([[(x, y, z) for y, z in ring] for x in (x0, x1)])


def beam(p0: Sequence[float], p1: Sequence[float], half_side: float, half_normal: float,
         side: Sequence[float] = (0.0, 1.0, 0.0)) -> Mesh:
    """A box-section bar from ``p0`` to ``p1`` [m]: ``half_side`` along (the part of)
    ``side`` across the bar, ``half_normal`` along the third axis."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    u = (p1 - p0) / np.linalg.norm(p1 - p0)
    w = np.cross(u, side)
    w /= np.linalg.norm(w)
    v = np.cross(w, u)
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    return loft([[p + a * half_side * v + b * half_normal * w for a, b in corners]
                 for p in (p0, p1)])


def wheel(x: float, radius: float, y0: float, y1: float, sides: int = 12) -> Mesh:
    """A wheel: a ``sides``-gon prism of ``radius`` [m] standing on the ground at ``x``,
    from ``y0`` to ``y1`` [m]. ``sides`` is a multiple of 4, so that the polygon reaches the
    full radius forward, backward, up and down (the ground at z = 0)."""
    ang = np.arange(sides) * (2 * np.pi / sides)
    cx, cz = x + radius * np.cos(ang), radius + radius * np.sin(ang)
    return loft([np.stack([cx, np.full(sides, y), cz], axis=1) for y in (y0, y1)])


def blob(centre: Sequence[float], rx: float, ry: float, rz: float, sides: int = 8) -> Mesh:
    """A rounded lump (a head, a helmet): four ``sides``-gon rings stacked in z, semi-axes
    ``rx``, ``ry``, ``rz`` [m] about ``centre``."""
    ang = np.arange(sides) * (2 * np.pi / sides)
    cx, cy, cz = centre
    rings = []
    for dz, r in ((-1.0, 0.55), (-0.45, 1.0), (0.45, 1.0), (1.0, 0.55)):
        rings.append(np.stack([cx + r * rx * np.cos(ang), cy + r * ry * np.sin(ang),
                               np.full(sides, cz + dz * rz)], axis=1))
    return loft(rings)


def hexagon_loft(sections: Sequence[Sequence[float]]) -> Mesh:
    """A body lofted along x through hexagon sections (x, bottom z, belt z, upper z, body
    half-width, upper half-width) [m], as the car template is."""
    s = np.asarray(sections, np.float64)
    x, zb, zbelt, zup, hw, hwu = s.T
    ring_y = np.stack([-hw, hw, hw, hwu, -hwu, -hw], axis=1)
    ring_z = np.stack([zb, zb, zbelt, zup, zup, zbelt], axis=1)
    return loft(np.stack([np.broadcast_to(x[:, None], ring_y.shape), ring_y, ring_z], axis=2))


def profile_loft(profile: Sequence[Sequence[float]], half_width: float, chamfer: float
                 ) -> Mesh:
    """A body lofted across y through a convex side profile ((x, z) points, counter-clockwise
    seen from the left) [m]: full between ``+-(half_width - chamfer)``, shrunk by
    ``chamfer`` towards the profile's centre at ``+-half_width`` (rounded edges)."""
    p = np.asarray(profile, np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    shrunk = lo + chamfer + (p - lo) * (hi - lo - 2 * chamfer) / (hi - lo)
    shrunk[:, 1] = np.where(p[:, 1] == lo[1], lo[1], shrunk[:, 1])   # flat on the bottom
    rings = []
    for y, q in ((-half_width, shrunk), (chamfer - half_width, p), (half_width - chamfer, p),
                 (half_width, shrunk)):
        rings.append(np.stack([q[:, 0], np.full(len(q), y), q[:, 1]], axis=1))
    return loft(rings)


def combine(parts: Sequence[Mesh]) -> Mesh:
    """All ``parts`` in one mesh, mapped onto the unit box [-0.5, 0.5]^2 x [0, 1] (float32
    vertices, int32 triangles). The extremes land exactly on the box faces."""
    verts, tris, offset = [], [], 0
    for v, t in parts:
        verts.append(v)
        tris.append(t + offset)
        offset += len(v)
    v = np.concatenate(verts)
    lo, hi = v.min(axis=0), v.max(axis=0)
    unit = (v - lo) / (hi - lo) - np.array([0.5, 0.5, 0.0])
    return unit.astype(np.float32), np.concatenate(tris).astype(np.int32)


def _mirror(f: Callable[[float], list[Mesh]]) -> list[Mesh]:
    """Parts ``f(side)`` for the left (side = 1) and the right (side = -1)."""
    return f(1.0) + f(-1.0)


def van() -> Mesh:
    """A delivery van (5.9 m x 2.0 m x 2.4 m): tall box body, near-vertical rear, a short
    sloped hood under a raked windshield, four wheels under the sills."""
    body = hexagon_loft([
        [-2.95, 0.42, 1.05, 2.32, 0.97, 0.90],   # rear doors
        [-2.90, 0.35, 1.10, 2.40, 1.00, 0.93],   # rear roof edge
        [1.15, 0.35, 1.15, 2.40, 1.00, 0.93],    # roof front edge
        [2.15, 0.35, 1.15, 1.28, 1.00, 0.84],    # windshield base
        [2.82, 0.35, 0.98, 1.02, 0.98, 0.80],    # hood front edge
        [2.95, 0.42, 0.78, 0.80, 0.93, 0.74],    # bumper face
    ])
    r, front, rear = 0.36, 1.97, -1.70
    wheels = _mirror(lambda s: [wheel(xa, r, s * 0.72, s * 0.98) for xa in (front, rear)])
    return combine([body] + wheels)


def truck() -> Mesh:
    """A rigid truck (9.5 m x 2.5 m x 3.4 m): a cab-over cab in front, a gap, a taller cargo
    box whose roof is the top, frame rails under both, one front and two rear axles."""
    cab = hexagon_loft([
        [2.45, 0.60, 1.65, 3.00, 1.25, 1.13],    # cab back
        [4.40, 0.60, 1.65, 3.00, 1.25, 1.13],    # roof front edge
        [4.68, 0.60, 1.65, 1.80, 1.25, 1.20],    # windshield base
        [4.75, 0.60, 1.50, 1.60, 1.20, 1.12],    # grille / bumper face
    ])
    cargo = box((-4.75, -1.25, 1.10), (2.20, 1.25, 3.40))
    rails = box((-4.40, -0.48, 0.62), (4.45, 0.48, 1.10))
    r = 0.50
    wheels = _mirror(lambda s: [wheel(3.50, r, s * 0.90, s * 1.20),
                                wheel(-1.55, r, s * 0.62, s * 1.20),
                                wheel(-2.65, r, s * 0.62, s * 1.20)])
    return combine([cab, cargo, rails] + wheels)


def bus() -> Mesh:
    """A city bus (12 m x 2.55 m x 3.2 m): a long box with rounded vertical and roof edges,
    a raked windshield over a vertical front, wheels under the skirt."""
    body = profile_loft([
        (-6.00, 0.40), (6.00, 0.40), (6.00, 1.15), (5.80, 2.90), (5.55, 3.20),
        (-5.85, 3.20), (-6.00, 2.95),
    ], half_width=1.275, chamfer=0.12)
    r = 0.50
    wheels = _mirror(lambda s: [wheel(xa, r, s * 0.92, s * 1.22) for xa in (3.3, -2.7)])
    return combine([body] + wheels)


def cyclist() -> Mesh:
    """A bicycle with its rider (1.8 m x 0.6 m x 1.75 m): two thin 0.68 m wheels, a diamond
    frame, fork, saddle and a full-width handlebar; the rider leaning forward, one pedal
    forward and one back, hands on the bar."""
    r, ax = 0.34, 0.56
    rear, front = (-ax, 0.0, r), (ax, 0.0, r)
    bb, seat = (-0.05, 0.0, 0.30), (-0.20, 0.0, 0.86)             # bottom bracket, seat
    head_top, head_low = (0.36, 0.0, 0.90), (0.42, 0.0, 0.74)      # head tube
    t = 0.02
    frame = [beam(bb, seat, t, t), beam(bb, head_low, t, t), beam(seat, head_top, t, t),
             beam(head_low, head_top, 0.025, 0.025), beam(head_low, front, 0.03, t),
             beam(seat, rear, 0.03, t), beam(bb, rear, 0.03, t),
             box((-0.31, -0.07, 0.86), (-0.09, 0.07, 0.91)),             # saddle
             beam(head_top, (0.34, 0.0, 0.98), t, t),                    # stem
             beam((0.34, -0.30, 0.98), (0.34, 0.30, 0.98), 0.02, 0.02, side=(1, 0, 0))]
    wheels = [wheel(-ax, r, -0.02, 0.02), wheel(ax, r, -0.02, 0.02)]
    hip, shoulder = (-0.18, 0.0, 0.96), (0.14, 0.0, 1.42)
    rider = [beam(hip, shoulder, 0.18, 0.10),                            # torso
             beam(shoulder, (0.21, 0.0, 1.54), 0.05, 0.05),              # neck
             blob((0.23, 0.0, 1.61), 0.11, 0.09, 0.13)]                  # head
    rider += _mirror(lambda s: [beam((0.14, s * 0.17, 1.40), (0.34, s * 0.22, 0.99),
                                     0.04, 0.04)])                        # arms
    for s, knee, foot in ((1.0, (0.17, 0.10, 0.72), (0.12, 0.10, 0.30)),
                          (-1.0, (0.08, -0.10, 0.62), (-0.22, -0.10, 0.30))):
        rider += [beam((hip[0], s * 0.10, hip[2]), knee, 0.06, 0.065),      # thigh
                  beam(knee, foot, 0.05, 0.05)]                              # shin
    return combine(wheels + frame + rider)


def motorcycle() -> Mesh:
    """A motorcycle with its rider (2.2 m x 0.8 m x 1.5 m): two 0.66 m wheels, engine block,
    tank and seat, fork, swingarm, headlight and a full-width handlebar; the rider crouched
    over the tank in a helmet, feet on the pegs."""
    r, ax = 0.33, 0.725
    wheels = [wheel(-ax, r, -0.08, 0.08), wheel(ax, r, -0.08, 0.08)]
    body = [
        box((-0.25, -0.17, 0.22), (0.35, 0.17, 0.62)),                     # engine
        loft([[(x, -hw, zb), (x, hw, zb), (x, hw, zt), (x, -hw, zt)]
              for x, zb, zt, hw in ((-0.90, 0.74, 0.86, 0.06), (-0.55, 0.62, 0.84, 0.14),
                                    (0.00, 0.58, 0.80, 0.15), (0.10, 0.56, 0.95, 0.17),
                                    (0.45, 0.60, 0.93, 0.14), (0.60, 0.70, 0.96, 0.08))]),
        beam((0.58, 0.0, 0.96), (ax, 0.0, r), 0.10, 0.03),                # fork
        beam((-0.10, 0.0, 0.42), (-ax, 0.0, r), 0.09, 0.04),               # swingarm
        box((0.60, -0.12, 0.84), (0.74, 0.12, 1.04)),                      # headlight
        beam((0.58, 0.0, 0.96), (0.50, 0.0, 1.06), 0.03, 0.03),            # stem
        beam((0.50, -0.40, 1.06), (0.50, 0.40, 1.06), 0.02, 0.02, side=(1, 0, 0)),
    ]
    hip, shoulder = (-0.28, 0.0, 0.92), (0.08, 0.0, 1.28)
    rider = [beam(hip, shoulder, 0.20, 0.12),                            # torso
             beam(shoulder, (0.15, 0.0, 1.32), 0.06, 0.06),              # neck
             blob((0.18, 0.0, 1.37), 0.15, 0.13, 0.14)]                  # helmet
    rider += _mirror(lambda s: [
        beam((0.08, s * 0.19, 1.26), (0.48, s * 0.30, 1.06), 0.045, 0.045),   # arm
        beam((hip[0], s * 0.13, hip[2]), (0.15, s * 0.21, 0.80), 0.07, 0.075),  # thigh
        beam((0.15, s * 0.21, 0.80), (-0.08, s * 0.21, 0.42), 0.055, 0.055),  # shin
    ])
    return combine(wheels + body + rider)


BUILDERS: dict[str, Callable[[], Mesh]] = {
    "van": van, "truck": truck, "bus": bus, "cyclist": cyclist, "motorcycle": motorcycle,
}
"""Template builders by mesh name (the car lives in ``simulator.vehicles.mesh``)."""
