"""Scene objects: triangle meshes with a semantic class, an instance id and a material.

Everything a sensor can see is a ``SceneObject``; everything that has a 3D box in the GT
(vehicles, props) is also described by an ``ObjectBox``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SceneObject:
    """A static mesh in the world frame.

    Attributes:
        name: human-readable, e.g. ``building_12`` or ``road/main``.
        semantic: class id from ``simulator.scene.semantics.SEMANTIC_CLASSES``.
        instance_id: unique per object in a world (> 0; vehicles use their own ids too).
        material: key of the world's material table.
        vertices: (V, 3) float32 [m], world frame.
        triangles: (T, 3) int32 vertex indices, counter-clockwise seen from outside.
    """

    name: str
    semantic: int
    instance_id: int
    material: str
    vertices: np.ndarray
    triangles: np.ndarray


@dataclass(frozen=True)
class ObjectBox:
    """An oriented 3D box: the GT shape of a vehicle or prop.

    ``center`` is the box centre (not its footprint) in the world frame [m]; ``size`` is
    length (along yaw), width, height [m]; ``yaw`` [rad] about +z.
    """

    instance_id: int
    semantic: int
    name: str
    center: np.ndarray
    size: np.ndarray
    yaw: float

    def corners(self) -> np.ndarray:
        """The 8 corners (8, 3) in the world frame; bottom face first, counter-clockwise."""
        lx, ly, lz = np.asarray(self.size) / 2.0
        c, s = np.cos(self.yaw), np.sin(self.yaw)
        local = np.array([[sx * lx, sy * ly, sz * lz] for sz in (-1, 1)
                          for sx, sy in ((1, 1), (-1, 1), (-1, -1), (1, -1))])
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        return local @ rot.T + np.asarray(self.center)


def box_mesh(center_xy: tuple[float, float], size: tuple[float, float, float], yaw: float,
             z0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A closed box standing on z0: (8, 3) float32 vertices and (12, 3) int32 triangles."""
    lx, ly, h = size
    c, s = np.cos(yaw), np.sin(yaw)
    xy = np.array([[lx / 2, ly / 2], [-lx / 2, ly / 2], [-lx / 2, -ly / 2], [lx / 2, -ly / 2]])
    xy = xy @ np.array([[c, s], [-s, c]]) + np.asarray(center_xy)
    v = np.zeros((8, 3), np.float32)
    v[:4, :2] = xy
    v[4:, :2] = xy
    v[:4, 2] = z0
    v[4:, 2] = z0 + h
    t = np.array([
        [0, 2, 1], [0, 3, 2],          # bottom (faces -z)
        [4, 5, 6], [4, 6, 7],          # top
        [0, 1, 5], [0, 5, 4],          # +y side... ordered for outward normals
        [1, 2, 6], [1, 6, 5],
        [2, 3, 7], [2, 7, 6],
        [3, 0, 4], [3, 4, 7],
    ], np.int32)
    return v, t


def merge_meshes(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate meshes into one (vertices, triangles) pair with re-based indices."""
    if not parts:
        return np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32)
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    verts = np.concatenate([v for v, _ in parts]).astype(np.float32)
    tris = np.concatenate([t + o for (_, t), o in zip(parts, offsets)]).astype(np.int32)
    return verts, tris
