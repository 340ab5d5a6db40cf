"""Lane records of the HD map and :class:`LaneTable`, their vectorised form.

A lane is a centreline polyline sampled at <= 0.5 m; between two samples the lane is treated
as a circular arc, so Frenet coordinates and positions round-trip to ~1e-9 m. Frenet ``d``
is positive to the left of the driving direction. Metres and radians throughout.

Hot path: :class:`LaneTable` holds all lanes' samples in concatenated arrays and answers
``positions`` / ``headings`` / ``curvatures`` / ``project`` for many vehicles at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.map.geometry import arc_advance, arc_local, broadcast_lanes, left_normals, wrap_angle


@dataclass(frozen=True, eq=False)
class Lane:
    """One lane: centreline samples and topology. See module docstring for conventions.

    Attributes:
        index: position in ``HDMap.lanes``. id: e.g. ``main/fwd/0``, ``X/west/in/0``,
            ``X/west/in/0->north/out/0``. road_id: road or intersection id.
        kind: ``"road"`` (road and arm lanes) or ``"connector"`` (inside a junction).
        centerline: (N, 2) [m]; s: (N,) cumulative arc length [m], s[0] == 0;
        heading: (N,) [rad]; curvature: (N,) [1/m], + = left, at each sample for the
            interval starting there.
        left_boundary, right_boundary: (N, 2) centreline +- width/2 along the left normal.
        successors / predecessors: lane indices; straight movements first.
        left / right: neighbour lane index with the same driving direction, or None.
        movement: ``straight``/``left``/``right`` for connectors, else None.
        junction: intersection id for connectors and arm lanes, else None.
        signal_group: 0 (east/west) or 1 (north/south) for incoming arm lanes, whose end is
            the stop line; else None.
        z: (N,) road surface height on the centreline [m], or None for a flat map (z = 0).
        cross_slope: (N,) dz/dd of the surface across the lane [m/m, + = left side higher],
            or None (flat across).
    """

    index: int
    id: str
    road_id: str
    kind: str
    centerline: np.ndarray
    s: np.ndarray
    heading: np.ndarray
    curvature: np.ndarray
    left_boundary: np.ndarray
    right_boundary: np.ndarray
    width_m: float
    speed_limit_mps: float
    successors: tuple[int, ...]
    predecessors: tuple[int, ...]
    left: int | None
    right: int | None
    movement: str | None
    junction: str | None
    signal_group: int | None
    z: np.ndarray | None = None
    cross_slope: np.ndarray | None = None

    @property
    def length_m(self) -> float:
        return float(self.s[-1])


@dataclass(frozen=True)
class Conflict:
    """Two junction connectors cross (or merge) at ``s_m`` on ``lane`` / ``other_s_m`` on
    ``other_lane``. Stored once per ordered pair, so filter on ``lane`` for your own."""

    lane: int
    s_m: float
    other_lane: int
    other_s_m: float


@dataclass(frozen=True, eq=False)
class Marking:
    """A painted line: centre polyline (N, 2) [m]; style ``solid``/``dashed`` (3 m dash,
    6 m gap from the polyline start); color ``white``/``yellow``; paint width [m]; z: (N,)
    height of the road surface under it [m], or None on flat maps."""

    polyline: np.ndarray
    style: str
    color: str
    width_m: float
    road_id: str = ""
    z: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class RoadEdge:
    """An outer kerb line (N, 2) with unit normals (N, 2) pointing away from the road."""

    polyline: np.ndarray
    normals: np.ndarray
    road_id: str


class LaneTable:
    """All lanes' samples concatenated, for vectorised per-vehicle queries.

    Attributes:
        xy (M, 2), s, heading, curvature (M,): samples of every lane, lane after lane.
        kint (M,): curvature of the interval starting at each sample (0 at a lane's last).
        lane_start (L + 1,): sample offset of each lane; lane_length (L,) [m].
    """

    def __init__(self, lanes: list[Lane]):
        self.xy = np.concatenate([ln.centerline for ln in lanes]).astype(np.float64)
        self.s = np.concatenate([ln.s for ln in lanes]).astype(np.float64)
        self.heading = np.concatenate([ln.heading for ln in lanes]).astype(np.float64)
        self.curvature = np.concatenate([ln.curvature for ln in lanes]).astype(np.float64)
        counts = np.array([len(ln.s) for ln in lanes])
        self.lane_start = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.lane_length = np.array([ln.length_m for ln in lanes])
        self.half_width = np.array([ln.width_m / 2.0 for ln in lanes])
        dh = wrap_angle(np.diff(self.heading))
        ds = np.diff(self.s)
        kint = np.where(ds > 0, dh / np.where(ds > 0, ds, 1.0), 0.0)
        last = self.lane_start[1:] - 1
        kint = np.append(kint, 0.0)
        kint[last] = 0.0
        self.kint = kint
        # Surface height: flat maps (every lane z None) skip the height queries' work.
        self.flat = all(ln.z is None and ln.cross_slope is None for ln in lanes)
        zero = [np.zeros(len(ln.s)) for ln in lanes]
        self.z = np.concatenate([z if ln.z is None else ln.z
                                 for ln, z in zip(lanes, zero)]).astype(np.float64)
        self.cross_slope = np.concatenate([z if ln.cross_slope is None else ln.cross_slope
                                           for ln, z in zip(lanes, zero)]).astype(np.float64)
        dz = np.diff(self.z)
        grade = np.where(ds > 0, dz / np.where(ds > 0, ds, 1.0), 0.0)
        grade = np.append(grade, 0.0)
        grade[last] = 0.0           # a lane's last sample starts no interval
        self.grade = grade
        # Tangents of the height profile at the samples (per lane, second order), so that
        # heights are a C1 cubic Hermite curve along the lane: a car's vertical speed is
        # continuous and its vertical acceleration (the IMU's z) has no kinks per sample.
        self.z_slope = np.zeros(len(self.z))
        if not self.flat:
            for a, b in zip(self.lane_start[:-1], self.lane_start[1:]):
                if b - a >= 2:
                    self.z_slope[a:b] = np.gradient(self.z[a:b], self.s[a:b])
        # Strictly increasing search key over all lanes: s plus a per-lane offset.
        self._key_off = np.concatenate([[0.0], np.cumsum(self.lane_length + 1.0)])[:-1]
        self._key = self.s + np.repeat(self._key_off, counts)
        first = np.ones(len(self.s), bool)
        first[last] = False
        self._iv = np.flatnonzero(first)                      # every interval start
        self._iv_lane = np.repeat(np.arange(len(lanes)), counts - 1)
        self._iv_lane_start = np.concatenate([[0], np.cumsum(counts - 1)])[:-1]

    def _bounds(self, lane: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.lane_start[lane], self.lane_start[lane + 1] - 2

    def _interval(self, lane: np.ndarray, s: np.ndarray) -> np.ndarray:
        key = self._key_off[lane] + np.clip(s, 0.0, self.lane_length[lane])
        i = np.searchsorted(self._key, key, side="right") - 1
        lo, hi = self._bounds(lane)
        return np.clip(i, lo, hi)

    def positions(self, lane_idx: np.ndarray, s: np.ndarray,
                  d: np.ndarray | float = 0.0) -> np.ndarray:
        """(n, 2) world points at arc length ``s`` [m] and left offset ``d`` [m] on lanes.

        ``s`` outside [0, length] extrapolates along the first/last interval.
        """
        lane, s = broadcast_lanes(lane_idx, s)
        i = self._interval(lane, s)
        xy, th = arc_advance(self.xy[i], self.heading[i], self.kint[i], s - self.s[i])
        return xy + np.asarray(d, np.float64)[..., None] * left_normals(th)

    def headings(self, lane_idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(n,) lane headings [rad, wrapped] at arc length ``s`` [m]."""
        lane, s = broadcast_lanes(lane_idx, s)
        i = self._interval(lane, s)
        return wrap_angle(self.heading[i] + self.kint[i] * (s - self.s[i]))

    def _profile(self, lane_idx: np.ndarray, s: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(height, dz/ds, cross slope) on the centreline: a cubic Hermite curve through
        the samples with ``z_slope`` tangents (linear beyond a lane's ends), the cross
        slope linear between samples."""
        lane, s = broadcast_lanes(lane_idx, s)
        i = self._interval(lane, s)
        return hermite_height(self.z[i], self.z[i + 1], self.z_slope[i], self.z_slope[i + 1],
                              self.s[i + 1] - self.s[i], s - self.s[i],
                              self.cross_slope[i], self.cross_slope[i + 1])

    def heights(self, lane_idx: np.ndarray, s: np.ndarray,
                d: np.ndarray | float = 0.0) -> np.ndarray:
        """(n,) road surface height [m] at arc length ``s`` and left offset ``d`` on lanes
        (C1 along the lane, see ``_profile``; planar across it). Zeros on a flat map."""
        lane, s = broadcast_lanes(lane_idx, s)
        if self.flat:
            return np.zeros(len(lane))
        z, _, cross = self._profile(lane, s)
        return z + np.asarray(d, np.float64) * cross

    def grades(self, lane_idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(n,) longitudinal slope dz/ds [m/m] of the lane centreline at ``s``."""
        lane, s = broadcast_lanes(lane_idx, s)
        if self.flat:
            return np.zeros(len(lane))
        return self._profile(lane, s)[1]

    def curvatures(self, lane_idx: np.ndarray, s: np.ndarray) -> np.ndarray:
        """(n,) lane curvature [1/m, + = left] at arc length ``s`` (per-interval value)."""
        lane, s = broadcast_lanes(lane_idx, s)
        return self.kint[self._interval(lane, s)]

    def project(self, lane_idx: np.ndarray, xy: np.ndarray, s_guess: np.ndarray,
                window: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) [m] of points on given lanes, searching ``window`` intervals
        (samples are <= 0.5 m apart) either side of ``s_guess``. s may leave [0, length]
        when the point is past a lane end: that is the caller's cue to change lane."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        lane, sg = broadcast_lanes(lane_idx, s_guess, len(q))
        lo, hi = self._bounds(lane)
        i0 = self._interval(lane, sg)
        cand = np.clip(i0[:, None] + np.arange(-window, window + 1), lo[:, None], hi[:, None])
        return self._finish(self._nearest_interval(cand, q), lo, hi, q)

    def project_near(self, lane_idx: np.ndarray, xy: np.ndarray, s_guess: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) like ``project`` but for points known to be within a few metres of
        ``s_guess``: one step along the local arc from the guess, then the exact local
        solve. Several times cheaper than the windowed search (the world's hot path)."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        lane = np.asarray(lane_idx, np.int64)
        i0 = self._interval(lane, np.asarray(s_guess, np.float64))
        u, _ = arc_local(self.xy[i0], self.heading[i0], self.kint[i0], q)
        i1 = self._interval(lane, self.s[i0] + u)
        lo, hi = self._bounds(lane)
        return self._finish(i1, lo, hi, q)

    def project_global(self, lane: int, xy: np.ndarray) -> tuple[float, float]:
        """Frenet (s, d) of one point, searching the whole lane."""
        lo, hi = self._bounds(np.array([lane]))
        cand = np.arange(lo[0], hi[0] + 1)[None, :]
        q = np.asarray(xy, np.float64).reshape(1, 2)
        s, d = self._finish(self._nearest_interval(cand, q), lo, hi, q)
        return float(s[0]), float(d[0])

    def project_global_points(self, lane: int, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frenet (s, d) of a compact cluster of points (P, 2) on one lane (a footprint's
        outline): their centre is searched on the whole lane, the points near it."""
        q = np.asarray(xy, np.float64).reshape(-1, 2)
        lo, hi = self._bounds(np.array([lane]))
        # The nearest of every 16th sample (<= 8 m apart) to the centre, then a local
        # search of +-24 intervals (>= 12 m) around it for every point.
        coarse = np.arange(lo[0], hi[0] + 1, 16)
        c = q.mean(0)
        best = coarse[np.argmin(((self.xy[coarse] - c) ** 2).sum(1))]
        return self.project(np.full(len(q), lane, np.int64), q,
                            np.full(len(q), self.s[best]), window=24)

    def _chord_dist2(self, i: np.ndarray, q: np.ndarray) -> np.ndarray:
        a = self.xy[i]
        ab = self.xy[i + 1] - a
        aq = q - a
        t = np.clip(np.sum(aq * ab, -1) / np.maximum(np.sum(ab * ab, -1), 1e-18), 0.0, 1.0)
        e = aq - t[..., None] * ab
        return np.sum(e * e, -1)

    def _nearest_interval(self, cand: np.ndarray, q: np.ndarray) -> np.ndarray:
        dist2 = self._chord_dist2(cand, q[:, None, :])
        return cand[np.arange(len(cand)), np.argmin(dist2, axis=1)]

    def _finish(self, i: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        u, d = arc_local(self.xy[i], self.heading[i], self.kint[i], q)
        ds = self.s[i + 1] - self.s[i]
        step = np.where((u < 0) & (i > lo), -1, np.where((u > ds) & (i < hi), 1, 0))
        if np.any(step):
            j = i + step
            u2, d2 = arc_local(self.xy[j], self.heading[j], self.kint[j], q)
            u, d, i = np.where(step != 0, u2, u), np.where(step != 0, d2, d), j
        return self.s[i] + u, d


def hermite_height(z0, z1, m0, m1, h, u, c0, c1):
    """Height and slope at ``u`` into an interval of length ``h`` of the cubic Hermite
    curve with ends (z0, m0), (z1, m1), linear beyond the ends; and the cross slope,
    linear from c0 to c1 (broadcasting; ``h`` may be 0)."""
    hs = np.where(h > 1e-12, h, 1.0)
    t = np.clip(u / hs, 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    z = (2 * t3 - 3 * t2 + 1) * z0 + (t3 - 2 * t2 + t) * hs * m0 + (-2 * t3 + 3 * t2) * z1 \
        + (t3 - t2) * hs * m1
    dz = ((6 * t2 - 6 * t) * z0 + (3 * t2 - 4 * t + 1) * hs * m0 + (-6 * t2 + 6 * t) * z1
          + (3 * t2 - 2 * t) * hs * m1) / hs
    z = z + np.where(u < 0, u * m0, 0.0) + np.where(u > hs, (u - hs) * m1, 0.0)
    dz = np.where(u < 0, m0, np.where(u > hs, m1, dz))
    z = np.where(h > 1e-12, z, z0 + u * m0)
    dz = np.where(h > 1e-12, dz, m0)
    return z, dz, c0 + t * (c1 - c0)
