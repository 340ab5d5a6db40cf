"""Plain records of an OpenDRIVE file, as read; geometry lives in the sibling modules.

Conventions: lengths [m], angles [rad], speeds [m/s] (converted from the file's unit),
``s`` along the road's reference line, ``t`` lateral, positive to the left. Cubic records
``(s, a, b, c, d)`` give ``a + b ds + c ds^2 + d ds^3`` with ``ds = s - s_record``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple


class OpenDriveError(ValueError):
    """A file that cannot be read: the message names the file, the road and the element."""


class Cubic(NamedTuple):
    """One cubic polynomial record starting at ``s`` (or at ``sOffset`` for lane records)."""

    s: float
    a: float
    b: float
    c: float
    d: float


@dataclass(frozen=True)
class XLink:
    """A road's predecessor or successor: ``element_type`` is "road" or "junction"."""

    element_type: str
    element_id: str
    contact_point: str | None = None


@dataclass(frozen=True)
class XGeometry:
    """One planView record; ``kind`` is line, arc, spiral, paramPoly3 or poly3.

    ``params`` holds the kind's attributes as floats (``curvature``; ``curvStart``,
    ``curvEnd``; ``a``..``d``; ``aU``..``dV``) and for paramPoly3 ``p_range`` is
    "arcLength" or "normalized" (the default) in :attr:`p_range`.
    """

    s: float
    x: float
    y: float
    hdg: float
    length_m: float
    kind: str
    params: dict[str, float] = field(default_factory=dict)
    p_range: str = "normalized"


@dataclass(frozen=True)
class XRoadMark:
    """A lane's road mark from ``s_offset`` (relative to the lane section start) on."""

    s_offset: float
    type: str
    color: str | None
    width_m: float | None
    weight: str | None
    lane_change: str | None


@dataclass(frozen=True)
class XLane:
    """One lane of a section; ``widths`` or (if ``use_border``) ``borders`` records.

    Width/border records are ``Cubic(s_offset, a, b, c, d)`` sorted by ``s_offset``;
    ``s_offset`` is relative to the section start. Border records give the signed ``t``
    of the lane's outer border relative to the lane-offset-shifted reference line.
    """

    id: int
    type: str
    level: bool
    widths: tuple[Cubic, ...]
    borders: tuple[Cubic, ...]
    road_marks: tuple[XRoadMark, ...]
    predecessor: int | None
    successor: int | None
    speed_mps: float | None

    @property
    def use_border(self) -> bool:
        """True when the lane is described by ``<border>`` records (no ``<width>``)."""
        return not self.widths and bool(self.borders)


@dataclass(frozen=True)
class XSection:
    """A lane section over ``[s0, s1)``; ``left`` ids +1, +2.. and ``right`` -1, -2.. outwards."""

    s0: float
    s1: float
    single_side: bool
    left: tuple[XLane, ...]
    center: XLane
    right: tuple[XLane, ...]

    def lane(self, lane_id: int) -> XLane | None:
        """The lane with this id in this section, or None."""
        if lane_id == 0:
            return self.center
        lanes = self.left if lane_id > 0 else self.right
        for lane in lanes:
            if lane.id == lane_id:
                return lane
        return None


@dataclass(frozen=True)
class XSignal:
    """A ``<signal>``; ``orientation`` is "+", "-" or "none"; ``h_offset`` [rad]."""

    id: str
    name: str
    s: float
    t: float
    z_offset: float
    h_offset: float
    orientation: str
    dynamic: bool
    country: str | None
    type: str
    subtype: str | None
    value: float | None
    height: float | None
    width: float | None


@dataclass(frozen=True)
class XSignalRef:
    """A ``<signalReference>`` to a signal placed on another road."""

    id: str
    s: float
    t: float
    orientation: str


@dataclass(frozen=True)
class XObject:
    """A road ``<object>``; the optional sizes are None when absent."""

    id: str
    name: str
    type: str
    s: float
    t: float
    z_offset: float
    hdg: float
    length: float | None
    width: float | None
    height: float | None
    radius: float | None


@dataclass(frozen=True)
class XRoad:
    """One ``<road>``; ``junction`` is None for "-1"; records sorted by ``s``."""

    id: str
    name: str
    length_m: float
    junction: str | None
    predecessor: XLink | None
    successor: XLink | None
    speed_mps: float | None
    geometries: tuple[XGeometry, ...]
    elevation: tuple[Cubic, ...]
    superelevation: tuple[Cubic, ...]
    lane_offset: tuple[Cubic, ...]
    sections: tuple[XSection, ...]
    signals: tuple[XSignal, ...]
    signal_refs: tuple[XSignalRef, ...]
    objects: tuple[XObject, ...]


@dataclass(frozen=True)
class XConnection:
    """A junction connection; ``lane_links`` are ``(from incoming lane, to connecting lane)``."""

    id: str
    incoming_road: str
    connecting_road: str
    contact_point: str | None
    lane_links: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class XJunction:
    """A ``<junction>`` with its connections and the ids of the controllers it references."""

    id: str
    name: str
    connections: tuple[XConnection, ...]
    controller_ids: tuple[str, ...]


@dataclass(frozen=True)
class XController:
    """A top-level ``<controller>`` and the signals it controls."""

    id: str
    name: str
    signal_ids: tuple[str, ...]


@dataclass(frozen=True)
class XHeader:
    """The ``<header>``; ``offset`` is ``(x, y, z, hdg)`` when ``<offset>`` is present."""

    name: str
    rev_major: int
    rev_minor: int
    geo_reference: str | None
    offset: tuple[float, float, float, float] | None
