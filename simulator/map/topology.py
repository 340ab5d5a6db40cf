"""Lane topology shared by the map sources: where junction connectors cross or merge."""

from __future__ import annotations

import numpy as np

from simulator.map.lanes import Conflict, Lane

MERGE_GAP_M = 3.0            # connectors conflict once this close (two half cars + margin)
OVERPASS_M = 3.0             # lanes this far apart in height do not conflict where they cross


def _segment_crossings(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parameters (index + fraction) along polylines a and b of all their crossings."""
    p, r = a[:-1, None, :], (a[1:] - a[:-1])[:, None, :]
    q, sv = b[None, :-1, :], (b[1:] - b[:-1])[None, :, :]
    rxs = r[..., 0] * sv[..., 1] - r[..., 1] * sv[..., 0]
    qp = q - p
    ok = np.abs(rxs) > 1e-12
    den = np.where(ok, rxs, 1.0)
    t = (qp[..., 0] * sv[..., 1] - qp[..., 1] * sv[..., 0]) / den
    u = (qp[..., 0] * r[..., 1] - qp[..., 1] * r[..., 0]) / den
    hit = ok & (t >= 0) & (t <= 1) & (u >= 0) & (u <= 1)
    ia, ib = np.nonzero(hit)
    return ia + t[ia, ib], ib + u[ia, ib]


def _s_at(lane: Lane, param: float) -> float:
    i = min(int(param), len(lane.s) - 2)
    return float(lane.s[i] + (param - i) * (lane.s[i + 1] - lane.s[i]))


def _first_close(a: Lane, b: Lane) -> tuple[float, float] | None:
    """s on each where the two centrelines first come within MERGE_GAP_M (but never as
    close as side-by-side lanes are)."""
    d = np.hypot(*(a.centerline[:, None, :] - b.centerline[None, :, :]).transpose(2, 0, 1))
    close = d < min(MERGE_GAP_M, 0.85 * min(a.width_m, b.width_m))
    if not close.any():
        return None
    ia = int(np.argmax(close.any(axis=1)))
    ib = int(np.argmax(close.any(axis=0)))
    return float(a.s[ia]), float(b.s[ib])


def junction_conflicts(lanes: list[Lane]) -> list[Conflict]:
    """Crossings (and merges) between connectors of the same junction, both orders."""
    by_junction: dict[str, list[Lane]] = {}
    for ln in lanes:
        if ln.kind == "connector":
            by_junction.setdefault(ln.junction or "", []).append(ln)
    out = []
    for group in by_junction.values():
        for ai, a in enumerate(group):
            for b in group[ai + 1:]:
                if a.predecessors == b.predecessors:
                    continue                        # same queue, they just diverge
                hit: tuple[float, float] | None = None
                if a.successors != b.successors:
                    ta, tb = _segment_crossings(a.centerline, b.centerline)
                    if len(ta):
                        j = int(np.argmin(ta))
                        hit = (_s_at(a, ta[j]), _s_at(b, tb[j]))
                if hit is None:
                    hit = _first_close(a, b)
                if hit is not None and _stacked(a, b, hit):
                    hit = None                      # one passes over the other
                if hit is not None:
                    out.append(Conflict(a.index, hit[0], b.index, hit[1]))
                    out.append(Conflict(b.index, hit[1], a.index, hit[0]))
    return out


def _stacked(a: Lane, b: Lane, hit: tuple[float, float]) -> bool:
    """Whether two lanes meet in plan only, one passing over the other (a flyover inside
    an OpenDRIVE junction): their surfaces there are more than ``OVERPASS_M`` apart."""
    if a.z is None or b.z is None:
        return False
    za = float(np.interp(hit[0], a.s, a.z))
    zb = float(np.interp(hit[1], b.s, b.z))
    return abs(za - zb) > OVERPASS_M
