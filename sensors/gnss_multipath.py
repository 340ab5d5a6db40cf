"""GNSS signal paths through the ray-cast scene: line of sight and one-bounce NLOS.

A satellite is so far away that its signal arrives as a plane wave along the unit direction
``s`` (antenna -> satellite, world ENU). If the direct path is blocked, the signal may still
arrive after one specular reflection off a facade (image method): for a plane with unit
normal ``n`` facing the antenna at perpendicular distance ``d``, the wave reaches the
antenna from the mirrored direction ``r = s - 2 (s.n) n`` and travels ``2 d (s.n)`` further
than a direct wave would; for a vertical facade that is ``2 d cos(el) cos(az_rel)`` with
``az_rel`` the satellite's azimuth relative to the facade normal. The reflection is real
only if ``s.n > 0`` (the satellite is in front of the facade), the mirrored ray hits that
facade, and the path from the reflection point to the satellite is clear.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.scene.mirror import RayHits, SceneMirror

LOS_MAX_DISTANCE_M = 100_000.0
"""Far enough to clear any scene; satellites themselves are never hit."""

_SKIP_EPS_M = 1e-3
_HIT_TOLERANCE_M = 0.05
_SURFACE_OFFSET_M = 0.05


def cast_ignoring(mirror: SceneMirror, origins: np.ndarray, directions: np.ndarray,
                  ignore_id: int | None, max_range_m: float = np.inf,
                  max_skips: int = 4) -> RayHits:
    """``mirror.cast`` that looks through one instance (the ego's own body).

    Rays whose nearest hit belongs to ``ignore_id`` are re-cast from just past that hit;
    the returned distances are measured from the original origins.

    Args:
        origins: (3,) or (M, 3) ray origins [m].
        directions: (M, 3) unit directions.
        ignore_id: instance id to look through; ``None`` or 0 ignores nothing.
    """
    directions = np.asarray(directions, np.float64).reshape(-1, 3)
    origins = np.broadcast_to(np.asarray(origins, np.float64), directions.shape)
    hits = mirror.cast(origins, directions, max_range_m)
    if not ignore_id:
        return hits
    dist = hits.distance_m.astype(np.float64)
    inst, sem, normal = hits.instance_id, hits.semantic, hits.normal
    for _ in range(max_skips):
        own = np.nonzero(inst == ignore_id)[0]
        if len(own) == 0:
            break
        start = dist[own] + _SKIP_EPS_M
        sub = mirror.cast(origins[own] + directions[own] * start[:, None], directions[own])
        d = sub.distance_m + start
        far = d > max_range_m
        dist[own] = np.where(far, np.inf, d)
        inst[own] = np.where(far, 0, sub.instance_id)
        sem[own] = np.where(far, 0, sub.semantic)
        normal[own] = np.where(far[:, None], 0.0, sub.normal)
    return RayHits(dist.astype(np.float32), inst, sem, normal)


def line_of_sight(mirror: SceneMirror, origins: np.ndarray, directions: np.ndarray,
                  ignore_id: int | None, max_distance_m: float = LOS_MAX_DISTANCE_M
                  ) -> np.ndarray:
    """True where a ray reaches ``max_distance_m`` without hitting anything but ``ignore_id``.

    Args:
        origins: (3,) or (M, 3) ray origins [m].
        directions: (M, 3) unit directions.
    """
    directions = np.asarray(directions, np.float64).reshape(-1, 3)
    clear = ~mirror.occluded(origins, directions, max_distance_m)
    if ignore_id and not clear.all():
        # The cheap test cannot tell the ego's own roof from a building: re-check those.
        idx = np.nonzero(~clear)[0]
        org = np.broadcast_to(np.asarray(origins, np.float64), directions.shape)[idx]
        hits = cast_ignoring(mirror, org, directions[idx], ignore_id, max_distance_m)
        clear[idx] = ~hits.hit
    return clear


@dataclass(frozen=True)
class Facades:
    """Reflecting planes found around the antenna (F of them).

    Attributes:
        point: (F, 3) a point on each plane [m] (world).
        normal: (F, 3) unit normal facing the antenna.
        distance_m: (F,) perpendicular distance antenna -> plane [m].
        instance_id: (F,) the object each plane belongs to.
        reflectivity: (F,) its material's GNSS reflectivity (0-1).
    """

    point: np.ndarray
    normal: np.ndarray
    distance_m: np.ndarray
    instance_id: np.ndarray
    reflectivity: np.ndarray

    def __len__(self) -> int:
        return len(self.distance_m)


def find_facades(mirror: SceneMirror, antenna: np.ndarray, ignore_id: int | None,
                 num_rays: int = 72, max_range_m: float = 100.0) -> Facades:
    """Cast a horizontal fan from the antenna; each distinct plane hit is a candidate.

    Planes whose material does not reflect GNSS signals (``gnss_reflectivity`` 0) are
    dropped. Rays hitting the same plane of the same object are merged (normal quantised
    to ~1 deg, distance to 5 cm).

    Args:
        antenna: (3,) fan origin [m] (world).
        num_rays: rays evenly spread over 360 deg.
        max_range_m: facades farther than this are ignored [m].
    """
    ang = np.linspace(0.0, 2.0 * np.pi, num_rays, endpoint=False)
    dirs = np.stack([np.cos(ang), np.sin(ang), np.zeros_like(ang)], axis=1)
    hits = cast_ignoring(mirror, antenna, dirs, ignore_id, max_range_m)
    refl = mirror.materials.gnss_reflectivity[hits.instance_id]
    keep = hits.hit & (refl > 0)
    if not keep.any():
        z = np.zeros((0, 3))
        return Facades(z, z, np.zeros(0), np.zeros(0, np.int32), np.zeros(0))
    normal = hits.normal[keep].astype(np.float64)
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    point = antenna + dirs[keep] * hits.distance_m[keep, None]
    dist = np.einsum("ij,ij->i", antenna - point, normal)
    inst = hits.instance_id[keep]
    key = np.column_stack([inst, np.round(normal * 60.0), np.round(dist / 0.05)])
    _, first = np.unique(key.astype(np.int64), axis=0, return_index=True)
    first = np.sort(first)
    return Facades(point[first], normal[first], dist[first], inst[first], refl[keep][first])


@dataclass(frozen=True)
class ReflectionPaths:
    """Best one-bounce path per satellite direction (S of them).

    Attributes:
        valid: (S,) a reflected path exists.
        delay_m: (S,) extra path length of the reflected signal [m] (0 where invalid).
        point: (S, 3) reflection point [m] (NaN where invalid).
        facade: (S,) index into the ``Facades`` used (-1 where invalid).
    """

    valid: np.ndarray
    delay_m: np.ndarray
    point: np.ndarray
    facade: np.ndarray


def reflection_paths(mirror: SceneMirror, antenna: np.ndarray, sat_dirs: np.ndarray,
                     facades: Facades, ignore_id: int | None,
                     max_reflection_range_m: float = 300.0,
                     los_max_distance_m: float = LOS_MAX_DISTANCE_M) -> ReflectionPaths:
    """Find, for each satellite direction, the shortest valid one-facade reflection.

    Args:
        antenna: (3,) receiving point [m] (world).
        sat_dirs: (S, 3) unit directions antenna -> satellite (world ENU).
        facades: candidate planes from ``find_facades`` (distances relative to
            ``antenna``).
        max_reflection_range_m: reflection points farther than this are not considered.
    """
    sat_dirs = np.asarray(sat_dirs, np.float64).reshape(-1, 3)
    s_count, f_count = len(sat_dirs), len(facades)
    valid = np.zeros(s_count, bool)
    delay = np.zeros(s_count)
    point = np.full((s_count, 3), np.nan)
    which = np.full(s_count, -1)
    if s_count == 0 or f_count == 0:
        return ReflectionPaths(valid, delay, point, which)
    cos_in = sat_dirs @ facades.normal.T                            # (S, F) = s.n
    with np.errstate(divide="ignore"):
        t_hit = np.where(cos_in > 0, facades.distance_m / cos_in, np.inf)
    cand_s, cand_f = np.nonzero((cos_in > 1e-3) & (t_hit <= max_reflection_range_m))
    if len(cand_s) == 0:
        return ReflectionPaths(valid, delay, point, which)
    n = facades.normal[cand_f]
    c = cos_in[cand_s, cand_f]
    mirrored = sat_dirs[cand_s] - 2.0 * c[:, None] * n
    expected = t_hit[cand_s, cand_f]
    hits = cast_ignoring(mirror, antenna, mirrored, ignore_id, max_reflection_range_m + 1.0)
    on_facade = (hits.hit & (hits.instance_id == facades.instance_id[cand_f])
                 & (np.abs(hits.distance_m - expected) < _HIT_TOLERANCE_M + 1e-3 * expected))
    if not on_facade.any():
        return ReflectionPaths(valid, delay, point, which)
    idx = np.nonzero(on_facade)[0]
    refl_pt = antenna + mirrored[idx] * expected[idx, None]
    up = line_of_sight(mirror, refl_pt + n[idx] * _SURFACE_OFFSET_M, sat_dirs[cand_s[idx]],
                       ignore_id, los_max_distance_m)
    idx, refl_pt = idx[up], refl_pt[up]
    if len(idx) == 0:
        return ReflectionPaths(valid, delay, point, which)
    pair_delay = 2.0 * facades.distance_m[cand_f[idx]] * c[idx]
    # Shortest delay per satellite: sort by delay, keep the first of each satellite.
    order = np.lexsort((pair_delay, cand_s[idx]))
    sats = cand_s[idx][order]
    first = np.r_[True, sats[1:] != sats[:-1]]
    best = order[first]
    s_best = cand_s[idx][best]
    valid[s_best] = True
    delay[s_best] = pair_delay[best]
    point[s_best] = refl_pt[best]
    which[s_best] = cand_f[idx][best]
    return ReflectionPaths(valid, delay, point, which)
