"""How the lanes of an OpenDRIVE file connect: the file's lane links, road links and
junction lane links as contacts between lane ends, turned into driving-direction successor
links (right-hand traffic: right lanes drive along s), chains of pieces merged across a
road's sections, and left/right neighbours that agree both ways.

A *piece* is a driving lane in one lane section, its samples in driving order (built by
:mod:`simulator.map.opendrive.network`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from simulator.map.opendrive.records import XRoad
from simulator.map.opendrive.xodr import XodrMap

JOIN_TOL_M = 0.05             # pieces merged into one lane meet this closely


@dataclass
class Piece:
    """A driving lane in one lane section, in its driving direction."""

    key: tuple[str, int, int]              # (road id, section index, lane id)
    xyz: np.ndarray                        # (N, 3) centre points, driving order
    width: np.ndarray                      # (N,)
    cross_slope: np.ndarray                # (N,) dz/dd, d to the driving direction's left
    speed_mps: float
    junction: str | None
    succ: set = field(default_factory=set)
    pred: set = field(default_factory=set)
    cut_entry: bool = False                # its narrow start was cut: no predecessor
    cut_exit: bool = False                 # its narrow end was cut: no successor

    @property
    def forward(self) -> bool:
        return self.key[2] < 0


def end_of(road: XRoad, contact: str) -> tuple[int, str]:
    """(section index, "s0"/"s1") of a road's start or end."""
    return (0, "s0") if contact == "start" else (len(road.sections) - 1, "s1")


def adjacency(odr: XodrMap) -> set:
    """Undirected lane-end contacts ((road, sec, lane), end) <-> (...), from the file's
    lane links across sections, road links and junction lane links."""
    pairs: set = set()

    def add(a, b) -> None:
        pairs.add((a, b) if a <= b else (b, a))

    for road in odr.roads.values():
        n = len(road.sections)
        for i, sec in enumerate(road.sections):
            for lane in sec.left + sec.right:
                here = (road.id, i, lane.id)
                if i + 1 < n and lane.successor is not None:
                    add((here, "s1"), ((road.id, i + 1, lane.successor), "s0"))
                if i > 0 and lane.predecessor is not None:
                    add((here, "s0"), ((road.id, i - 1, lane.predecessor), "s1"))
        for link, (sec_i, end) in ((road.successor, (n - 1, "s1")),
                                   (road.predecessor, (0, "s0"))):
            if link is None or link.element_type != "road" or link.element_id not in odr.roads:
                continue
            other = odr.roads[link.element_id]
            o_sec, o_end = end_of(other, link.contact_point or "start")
            sec = road.sections[sec_i]
            for lane in sec.left + sec.right:
                target = lane.successor if end == "s1" else lane.predecessor
                if target is not None:
                    add(((road.id, sec_i, lane.id), end), ((other.id, o_sec, target), o_end))
    for jn in odr.junctions.values():
        for con in jn.connections:
            inc, conn = odr.roads.get(con.incoming_road), odr.roads.get(con.connecting_road)
            if inc is None or conn is None:
                continue
            if inc.successor is not None and inc.successor.element_type == "junction" and \
                    inc.successor.element_id == jn.id:
                i_sec, i_end = len(inc.sections) - 1, "s1"
            elif inc.predecessor is not None and inc.predecessor.element_type == "junction" \
                    and inc.predecessor.element_id == jn.id:
                i_sec, i_end = 0, "s0"
            else:
                continue
            c_sec, c_end = end_of(conn, con.contact_point or "start")
            for a, b in con.lane_links:
                add(((inc.id, i_sec, a), i_end), ((conn.id, c_sec, b), c_end))
    return pairs


def link(pieces: dict, pairs: set) -> None:
    """Directed successor links from the contacts: traffic leaves a piece at its exit end
    (s1 for right lanes, s0 for left lanes) and enters the other at its entry end."""
    for (ka, ea), (kb, eb) in pairs:
        a, b = pieces.get(ka), pieces.get(kb)
        if a is None or b is None:
            continue                                   # a ring road may link to itself
        a_exit = ea == ("s1" if a.forward else "s0")
        b_exit = eb == ("s1" if b.forward else "s0")
        if a_exit and not b_exit:
            src, dst = a, b
        elif b_exit and not a_exit:
            src, dst = b, a
        else:
            continue                                   # both exits / entries: oncoming
        if src.cut_exit or dst.cut_entry:
            continue                                   # the lane closes / opens there
        if np.hypot(*(src.xyz[-1, :2] - dst.xyz[0, :2])) > 2.0:
            continue                                   # a link the geometry contradicts
        src.succ.add(dst.key)
        dst.pred.add(src.key)


def chain_pieces(pieces: dict) -> list[list[Piece]]:
    """Pieces merged along their road while linked one-to-one (driving order)."""
    def mergeable(a: Piece, b: Piece) -> bool:
        return (len(a.succ) == 1 and len(b.pred) == 1 and a.key[0] == b.key[0]
                and abs(a.key[1] - b.key[1]) == 1
                and np.linalg.norm(a.xyz[-1] - b.xyz[0]) < JOIN_TOL_M)

    nxt = {}
    for p in pieces.values():
        if len(p.succ) == 1:
            q = pieces[next(iter(p.succ))]
            if mergeable(p, q):
                nxt[p.key] = q.key
    has_prev = set(nxt.values())
    chains, seen = [], set()
    for key in sorted(pieces, key=_sort_key):
        if key in has_prev or key in seen:
            continue
        chain = [pieces[key]]
        seen.add(key)
        while chain[-1].key in nxt and nxt[chain[-1].key] not in seen:
            k = nxt[chain[-1].key]
            chain.append(pieces[k])
            seen.add(k)
        chains.append(chain)
    for key in sorted(pieces, key=_sort_key):        # closed loops of pieces
        if key not in seen:
            chain = [pieces[key]]
            seen.add(key)
            while nxt.get(chain[-1].key) not in (None, key) and nxt[chain[-1].key] not in seen:
                chain.append(pieces[nxt[chain[-1].key]])
                seen.add(chain[-1].key)
            chains.append(chain)
    return chains


def road_order(road_id: str) -> tuple:
    """Sort key of file ids: numeric ids by value ("2" before "10"), then the others."""
    return (0, int(road_id), "") if road_id.lstrip("-").isdigit() else (1, 0, road_id)


def _sort_key(key: tuple[str, int, int]) -> tuple:
    return road_order(key[0]), key[1], key[2]


def neighbours(chains: list[list[Piece]], chain_of: dict) -> tuple[list, list]:
    """Left/right neighbour lanes (same driving direction), from each chain's longest
    piece: lane id +1/-1 towards the centre is the left neighbour of a right lane."""
    left, right = [], []
    for k, c in enumerate(chains):
        p = max(c, key=lambda q: len(q.xyz))
        road, sec, lid = p.key
        step = 1 if lid < 0 else -1                       # towards the centre line
        li, ri = lid + step, lid - step
        lk = chain_of.get((road, sec, li)) if li != 0 and (li < 0) == (lid < 0) else None
        rk = chain_of.get((road, sec, ri))
        left.append(lk if lk != k else None)
        right.append(rk if rk != k else None)
    return symmetric(left, right)


def symmetric(left: list, right: list) -> tuple[list, list]:
    """Neighbours that agree both ways: a lane's left neighbour has it as its right one.
    A one-sided claim is completed when the other side is free and nobody else claims
    it; conflicting claims (two lanes beside one, after merging sections) are dropped."""
    for a_side, b_side in ((left, right), (right, left)):
        claims: dict[int, list[int]] = {}
        for a, b in enumerate(a_side):
            if b is not None:
                claims.setdefault(b, []).append(a)
        for b, by in claims.items():
            if b_side[b] in by:
                keep = b_side[b]
            elif b_side[b] is None and len(by) == 1:
                keep = by[0]
                b_side[b] = keep
            else:
                keep = None
            for a in by:
                if a != keep:
                    a_side[a] = None
    for a, b in enumerate(left):               # a second pass may have freed a side
        if b is not None and right[b] != a:
            left[a] = None
    for a, b in enumerate(right):
        if b is not None and left[b] != a:
            right[a] = None
    return left, right
