"""Drivable surfaces of a map: carriageways (strips of asphalt along a reference line) and
junction boxes. Map sources build them; the HD map, road meshes and markings read them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.map.geometry import left_normals
from simulator.map.lanes import RoadEdge


def rot_rows(angle: float) -> np.ndarray:
    """Matrix rotating row vectors (``v @ M``) counter-clockwise by ``angle`` [rad]."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s], [-s, c]])


@dataclass(frozen=True, eq=False)
class Carriageway:
    """A strip of asphalt along a reference polyline (a road, or an intersection arm).

    ``n_right`` lanes lie right of the reference and drive along it, ``n_left`` lie left
    and drive against it. Arrays: xy (N, 2), heading (N,), s (N,) along the reference;
    kint (N-1,) curvature of each interval. For arms the reference starts at the junction
    box edge and points outwards, so the left lanes are the incoming ones.
    """

    road_id: str
    name: str
    xy: np.ndarray
    heading: np.ndarray
    s: np.ndarray
    kint: np.ndarray
    n_right: int
    n_left: int
    lane_width_m: float
    closed: bool
    is_arm: bool = False

    @property
    def right_width_m(self) -> float:
        return self.n_right * self.lane_width_m

    @property
    def left_width_m(self) -> float:
        return self.n_left * self.lane_width_m

    def offset(self, d: float) -> np.ndarray:
        """(N, 2) points at left offset ``d`` [m] from every reference sample."""
        return self.xy + d * left_normals(self.heading)


@dataclass(frozen=True, eq=False)
class Junction:
    """A junction box (see module docstring): centre (2,), heading [rad], sizes [m]."""

    id: str
    center: np.ndarray
    heading: float
    half_size_m: float
    corner_radius_m: float
    lanes_per_direction: int
    lane_width_m: float

    def _to_world(self, local: np.ndarray) -> np.ndarray:
        return local @ rot_rows(self.heading) + self.center

    def _corner_arc(self, n_pts: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """North-east kerb arc in the local frame (from the east arm to the north arm) and
        its normals pointing away from the asphalt."""
        h, r = self.half_size_m, self.corner_radius_m
        a = np.linspace(-np.pi / 2, -np.pi, n_pts)
        dirs = np.stack([np.cos(a), np.sin(a)], axis=1)
        return h + r * dirs, -dirs

    def outline(self) -> np.ndarray:
        """(K, 2) counter-clockwise outline, star-shaped around the centre."""
        hw = self.lanes_per_direction * self.lane_width_m
        arc, _ = self._corner_arc()
        quarter = np.vstack([[[self.half_size_m, -hw]], arc[:-1]])
        pts = [quarter @ rot_rows(k * np.pi / 2) for k in range(4)]
        return self._to_world(np.vstack(pts))

    def kerbs(self) -> list[RoadEdge]:
        """The four corner kerb arcs as road edges."""
        arc, nrm = self._corner_arc()
        out = []
        for k in range(4):
            rot = rot_rows(k * np.pi / 2)
            out.append(RoadEdge(self._to_world(arc @ rot), nrm @ rot @ rot_rows(self.heading),
                                self.id))
        return out

    def contains(self, xy: np.ndarray, margin_m: float = 0.0) -> np.ndarray:
        """(N,) bool: points inside the box minus its kerb corners, grown by margin_m."""
        c, s = math.cos(self.heading), math.sin(self.heading)
        r = np.asarray(xy, np.float64).reshape(-1, 2) - self.center
        ax = np.abs(r[:, 0] * c + r[:, 1] * s)
        ay = np.abs(-r[:, 0] * s + r[:, 1] * c)
        h = self.half_size_m
        return (ax <= h + margin_m) & (ay <= h + margin_m) & (
            np.hypot(h - ax, h - ay) >= self.corner_radius_m - margin_m)


