"""Surface strips: lanes of a road network as bands of 3D surface between two border
polylines (an OpenDRIVE lane in one lane section), and a grid index answering "which points
lie on which strip" for many points at once.

A strip's ``left`` and ``right`` borders (N, 3) [m] run the same way; sample k of both is
the same station, so quad k spans samples k and k + 1. Kinds: ``driving`` (asphalt that
traffic uses), ``road`` (other asphalt: shoulders, parking, biking ...), ``sidewalk``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CELL_M = 8.0                 # grid cell of the index [m]
_POINT_PAIRS = 4_000_000     # max (point, quad) candidate pairs per block


@dataclass(frozen=True, eq=False)
class SurfaceStrip:
    """One band of surface (see module docstring). ``road_id`` / ``name`` identify it."""

    road_id: str
    name: str
    kind: str
    left: np.ndarray
    right: np.ndarray

    @property
    def drivable(self) -> bool:
        return self.kind in ("driving", "road")


class StripIndex:
    """Quads of many strips bucketed in a ``CELL_M`` grid (for ``contains`` and ``height``).

    A quad is tested as the convex polygon of its four corners; a margin grows it by
    moving every edge outwards (exact for the sides, square at the corners).
    """

    def __init__(self, strips: list[SurfaceStrip]):
        quads = []
        for st in strips:
            if len(st.left) < 2:
                continue
            a, b = st.right[:-1], st.right[1:]
            c, d = st.left[1:], st.left[:-1]
            quads.append(np.stack([a, b, c, d], axis=1))          # counter-clockwise
        self.quads = np.concatenate(quads) if quads else np.zeros((0, 4, 3))
        q2 = self.quads[..., :2]
        self._bb_lo, self._bb_hi = q2.min(1), q2.max(1)
        lo = np.floor(self._bb_lo / CELL_M).astype(np.int64)
        hi = np.floor(self._bb_hi / CELL_M).astype(np.int64)
        span = hi - lo + 1
        reps = span[:, 0] * span[:, 1]
        quad_id = np.repeat(np.arange(len(q2)), reps)
        k = np.arange(len(quad_id)) - np.repeat(np.cumsum(reps) - reps, reps)
        sx = np.repeat(span[:, 0], reps)
        cx = np.repeat(lo[:, 0], reps) + k % sx
        cy = np.repeat(lo[:, 1], reps) + k // sx
        key = self._key(cx, cy)
        order = np.argsort(key, kind="stable")
        self._cell_key = key[order]
        self._cell_quad = quad_id[order]
        self._uniq, self._first = np.unique(self._cell_key, return_index=True)
        self._last = np.append(self._first[1:], len(self._cell_key))
        # Edge lines of each quad: inward unit normals n and offsets, inside: n.p >= c.
        e0 = q2
        e1 = np.roll(q2, -1, axis=1)
        t = e1 - e0
        ln = np.hypot(t[..., 0], t[..., 1])
        self._degenerate_edge = ln < 1e-9
        ln = np.where(self._degenerate_edge, 1.0, ln)
        self._n = np.stack([-t[..., 1], t[..., 0]], -1) / ln[..., None]
        self._c = np.sum(self._n * e0, -1)

    @staticmethod
    def _key(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
        return (cx + (1 << 20)) * (1 << 21) + (cy + (1 << 20))

    def _pairs(self, q: np.ndarray, margin_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(point, quad) candidates: quads registered in the cells around each point."""
        reach = int(np.ceil(margin_m / CELL_M))
        cx0 = np.floor(q[:, 0] / CELL_M).astype(np.int64)
        cy0 = np.floor(q[:, 1] / CELL_M).astype(np.int64)
        pts, quads = [], []
        for dx in range(-reach, reach + 1):
            for dy in range(-reach, reach + 1):
                key = self._key(cx0 + dx, cy0 + dy)
                pos = np.searchsorted(self._uniq, key)
                pos = np.minimum(pos, len(self._uniq) - 1)
                ok = self._uniq[pos] == key
                ip = np.flatnonzero(ok)
                if not len(ip):
                    continue
                a, b = self._first[pos[ip]], self._last[pos[ip]]
                cnt = b - a
                pts.append(np.repeat(ip, cnt))
                off = np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
                quads.append(self._cell_quad[np.repeat(a, cnt) + off])
        if not pts:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        return np.concatenate(pts), np.concatenate(quads)

    def _inside(self, q: np.ndarray, ip: np.ndarray, iq: np.ndarray,
                margin_m: float) -> np.ndarray:
        # Cheap first: the point within the quad's bounding box grown by the margin.
        p = q[ip]
        near = np.all((p >= self._bb_lo[iq] - margin_m) & (p <= self._bb_hi[iq] + margin_m), 1)
        out = np.zeros(len(ip), bool)
        k = np.flatnonzero(near)
        if len(k):
            out[k] = self._inside_exact(q, ip[k], iq[k], margin_m)
        return out

    def _inside_exact(self, q: np.ndarray, ip: np.ndarray, iq: np.ndarray,
                      margin_m: float) -> np.ndarray:
        side = np.einsum("pkj,pj->pk", self._n[iq], q[ip]) - self._c[iq]
        side = np.where(self._degenerate_edge[iq], np.inf, side)
        return np.all(side >= -margin_m - 1e-9, axis=1)

    def contains(self, xy: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """(N,) bool: which points lie on any quad grown by ``margin_m`` [m]."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        out = np.zeros(len(q), bool)
        if not len(self.quads):
            return out
        step = max(1, _POINT_PAIRS // 64)
        for a in range(0, len(q), step):
            qc = q[a:a + step]
            ip, iq = self._pairs(qc, margin_m)
            if len(ip):
                hit = self._inside(qc, ip, iq, margin_m)
                out[a + ip[hit]] = True
        return out

    def heights(self, xy: np.ndarray, z_hint: np.ndarray | float | None = None,
                reach_m: float = 0.0) -> np.ndarray:
        """(N,) surface height [m] under each point, planar on the two triangles of each
        quad ((a, b, c) and (a, c, d), as the road mesh is drawn). Where strips overlap in
        plan (a bridge over a road) the one nearest ``z_hint`` wins (default: the highest).
        Off every strip: the height of the nearest strip corner within ``reach_m`` [m],
        else NaN."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        out = np.full(len(q), np.nan)
        if not len(self.quads):
            return out
        ip, iq = self._pairs(q, 0.0)
        hit = self._inside(q, ip, iq, 0.0)
        ip, iq = ip[hit], iq[hit]
        if len(ip):
            z = self._planar_z(self.quads[iq], q[ip])
            if z_hint is None:
                score = -z
            else:
                zh = np.broadcast_to(np.asarray(z_hint, np.float64), (len(q),))[ip]
                score = np.abs(z - zh)
            order = np.lexsort((score, ip))
            ip, z = ip[order], z[order]
            first = np.ones(len(ip), bool)
            first[1:] = ip[1:] != ip[:-1]
            out[ip[first]] = z[first]
        miss = np.flatnonzero(np.isnan(out))
        if reach_m > 0 and len(miss):
            jp, jq = self._pairs(q[miss], reach_m)
            if len(jp):
                corners = self.quads[jq]                                   # (P, 4, 3)
                d2 = np.sum((corners[..., :2] - q[miss][jp][:, None, :]) ** 2, -1)
                k = np.argmin(d2, 1)
                best_d2 = d2[np.arange(len(jp)), k]
                zc = corners[np.arange(len(jp)), k, 2]
                order = np.lexsort((best_d2, jp))
                jp, zc, best_d2 = jp[order], zc[order], best_d2[order]
                first = np.ones(len(jp), bool)
                first[1:] = jp[1:] != jp[:-1]
                ok = first & (best_d2 <= reach_m ** 2)
                out[miss[jp[ok]]] = zc[ok]
        return out

    @staticmethod
    def _planar_z(quads: np.ndarray, p: np.ndarray) -> np.ndarray:
        """z at points p (P, 2) on their quads (P, 4, 3): barycentric on triangle (a, b, c)
        when p is on its side of the diagonal a-c, else on (a, c, d)."""
        a, b, c, d = (quads[:, k] for k in range(4))
        ac = c[:, :2] - a[:, :2]
        ap = p - a[:, :2]
        side = ac[:, 0] * ap[:, 1] - ac[:, 1] * ap[:, 0]       # > 0: left of a->c (d's side)
        other = np.where((side > 0)[:, None], d, b)

        def bary(u, v, w):
            m = np.stack([v[:, :2] - u[:, :2], w[:, :2] - u[:, :2]], -1)       # (P, 2, 2)
            det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
            ok = np.abs(det) > 1e-12
            det = np.where(ok, det, 1.0)
            r = p - u[:, :2]
            l1 = (r[:, 0] * m[:, 1, 1] - r[:, 1] * m[:, 0, 1]) / det
            l2 = (m[:, 0, 0] * r[:, 1] - m[:, 1, 0] * r[:, 0]) / det
            z = u[:, 2] + l1 * (v[:, 2] - u[:, 2]) + l2 * (w[:, 2] - u[:, 2])
            return np.where(ok, z, (u[:, 2] + v[:, 2] + w[:, 2]) / 3.0)

        return bary(a, c, other)
