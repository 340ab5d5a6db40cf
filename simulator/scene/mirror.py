"""The ray-cast mirror of the world: one Embree scene for static geometry, one per capture
for the moving actors. Every sensor is a query against it.

A hit is described per ray by its distance, the instance id and semantic class of the
object hit, and the surface normal (unit, facing the ray origin). Material properties are
looked up per instance from dense arrays, so sensors stay vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import open3d as o3d

from simulator.scene.objects import SceneObject
from simulator.scene.semantics import MaterialInfo


@dataclass
class RayHits:
    """Result of a ray cast, one entry per ray (shape of the ray batch without the 6).

    Attributes:
        distance_m: float32, ``inf`` where nothing was hit (directions are unit vectors).
        instance_id: int32, 0 where nothing was hit.
        semantic: uint8 class id, 0 where nothing was hit.
        normal: float32 (..., 3) unit normal facing against the ray; 0 where no hit.
    """

    distance_m: np.ndarray
    instance_id: np.ndarray
    semantic: np.ndarray
    normal: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        return np.isfinite(self.distance_m)


class MaterialTable:
    """Dense per-instance arrays of semantic class and material properties."""

    def __init__(self, size: int = 1024):
        self.semantic = np.zeros(size, np.uint8)
        self.color_rgb = np.zeros((size, 3), np.float32)
        self.lidar_reflectivity = np.zeros(size, np.float32)
        self.gnss_reflectivity = np.zeros(size, np.float32)

    def set(self, instance_id: int, semantic: int, material: MaterialInfo) -> None:
        if instance_id >= len(self.semantic):
            self._grow(instance_id + 1)
        self.semantic[instance_id] = semantic
        self.color_rgb[instance_id] = np.asarray(material.color_rgb, np.float32) / 255.0
        self.lidar_reflectivity[instance_id] = material.lidar_reflectivity
        self.gnss_reflectivity[instance_id] = material.gnss_reflectivity

    def _grow(self, n: int) -> None:
        n = max(n, 2 * len(self.semantic))
        for name in ("semantic", "color_rgb", "lidar_reflectivity", "gnss_reflectivity"):
            old = getattr(self, name)
            new = np.zeros((n,) + old.shape[1:], old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)


def _build_scene(vertices: np.ndarray, triangles: np.ndarray
                 ) -> o3d.t.geometry.RaycastingScene | None:
    if len(triangles) == 0:
        return None
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.core.Tensor(np.ascontiguousarray(vertices, np.float32)),
                        o3d.core.Tensor(np.ascontiguousarray(triangles, np.uint32)))
    return scene


def _subset_scene(vertices: np.ndarray, triangles: np.ndarray, tri_instance: np.ndarray,
                  exclude_instance: int | None, drop_below_m: float | None,
                  full_scene: o3d.t.geometry.RaycastingScene | None
                  ) -> tuple[o3d.t.geometry.RaycastingScene | None, np.ndarray]:
    """A scene of the triangles kept by the filters (``full_scene`` if none is dropped),
    and their instance table with a trailing 0."""
    keep = np.ones(len(triangles), bool)
    if exclude_instance is not None:
        keep &= tri_instance != exclude_instance
    if drop_below_m is not None and len(triangles):
        keep &= vertices[:, 2][triangles].max(axis=1) >= drop_below_m
    if keep.all() and full_scene is not None:
        scene = full_scene
    else:
        triangles, tri_instance = triangles[keep], tri_instance[keep]
        scene = _build_scene(vertices, triangles)
    return scene, np.concatenate([np.asarray(tri_instance, np.int32), np.zeros(1, np.int32)])


class SceneMirror:
    """Static + dynamic Embree scenes with per-triangle instance ids.

    Args:
        static_objects: meshes that never move (ground, roads, markings, props).
        materials: the world's per-instance material table (shared, not copied).
    """

    def __init__(self, static_objects: list[SceneObject], materials: MaterialTable):
        self.materials = materials
        verts, tris, inst = self._merge(static_objects)
        self._static = _build_scene(verts, tris)
        self._static_tri_instance = inst
        self._static_vertices, self._static_triangles = verts, tris
        self._dynamic: o3d.t.geometry.RaycastingScene | None = None
        self._dynamic_tri_instance = np.zeros(0, np.int32)
        self._dynamic_mesh = (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32))
        self._static_subsets: dict[tuple, tuple] = {}
        self._dynamic_subsets: dict[int | None, tuple] = {}
        self._dynamic_subsets_key: object = None
        self._instance_cache: dict[int, o3d.t.geometry.RaycastingScene | None] = {}
        self._instance_cache_key: object = None
        self._static_groups: dict[int, np.ndarray] | None = None

    @staticmethod
    def _merge(objects: list[SceneObject]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not objects:
            return (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32),
                    np.zeros(0, np.int32))
        offsets = np.cumsum([0] + [len(o.vertices) for o in objects[:-1]])
        verts = np.concatenate([o.vertices for o in objects]).astype(np.float32)
        tris = np.concatenate([o.triangles + off for o, off in zip(objects, offsets)])
        inst = np.concatenate([np.full(len(o.triangles), o.instance_id, np.int32)
                               for o in objects])
        return verts, tris.astype(np.int32), inst

    def set_dynamic(self, vertices: np.ndarray, triangles: np.ndarray,
                    tri_instance: np.ndarray) -> None:
        """Replace the moving geometry (all actors merged into one mesh)."""
        self._dynamic = _build_scene(vertices, triangles)
        self._dynamic_tri_instance = np.asarray(tri_instance, np.int32)
        self._dynamic_mesh = (vertices, triangles)  # kept for dynamic_mesh()

    def static_scene(self, exclude_instance: int | None = None,
                     drop_below_m: float | None = None
                     ) -> tuple[o3d.t.geometry.RaycastingScene | None, np.ndarray]:
        """The static geometry, optionally without one instance or without low triangles.

        Built once per argument pair (the static geometry never changes), so a per-pixel
        sensor pays no per-frame BVH build (~6 ms for a 13k-triangle town).

        Args:
            exclude_instance: instance id left out (e.g. an ego that is part of the static
                geometry, as in unit-test worlds).
            drop_below_m: leave out triangles lying entirely below this height [m]. For
                shadow rays: flat ground-level geometry (roads, markings) cannot shade much,
                and the rays that start on it traverse it for nothing (~20 % of their cost).

        Returns:
            The scene (None if empty) and the per-triangle instance ids with one extra
            trailing 0, so ``np.take(table, primitive_ids, mode="clip")`` maps
            ``INVALID_ID`` (no hit) to instance 0.
        """
        key = (exclude_instance, drop_below_m)
        if key not in self._static_subsets:
            self._static_subsets[key] = _subset_scene(
                self._static_vertices, self._static_triangles, self._static_tri_instance,
                exclude_instance, drop_below_m, self._static)
        return self._static_subsets[key]

    def dynamic_scene(self, exclude_instance: int | None = None
                      ) -> tuple[o3d.t.geometry.RaycastingScene | None, np.ndarray]:
        """The current moving geometry without one instance (the ego), like
        ``static_scene``; cached until ``set_dynamic`` replaces the geometry."""
        if self._dynamic_subsets_key is not self._dynamic:
            self._dynamic_subsets = {}
            self._dynamic_subsets_key = self._dynamic
        if exclude_instance not in self._dynamic_subsets:
            verts, tris, inst = self.dynamic_mesh()
            self._dynamic_subsets[exclude_instance] = _subset_scene(
                verts, tris, inst, exclude_instance, None, self._dynamic)
        return self._dynamic_subsets[exclude_instance]

    def static_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned bounds (min xyz, max xyz) [m] of the static geometry (zeros if
        there is none)."""
        v = self._static_vertices
        if len(v) == 0:
            return np.zeros(3), np.zeros(3)
        return v.min(axis=0).astype(np.float64), v.max(axis=0).astype(np.float64)

    def dynamic_mesh(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The current moving geometry: (V, 3) float32 vertices, (T, 3) triangles and the
        (T,) int32 instance id of each triangle (empty arrays if none)."""
        if self._dynamic is None:
            return (np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32),
                    np.zeros(0, np.int32))
        verts, tris = self._dynamic_mesh
        return (np.asarray(verts, np.float32), np.asarray(tris),
                self._dynamic_tri_instance[: len(tris)])

    def instance_scene(self, instance_id: int) -> o3d.t.geometry.RaycastingScene | None:
        """An Embree scene with only one instance's triangles (None if it has none).

        Lets a sensor render an object as if nothing else were there (e.g. a camera's
        unoccluded footprint for the occlusion GT). Cached; the dynamic instances' scenes
        are dropped whenever ``set_dynamic`` replaces the moving geometry.
        """
        if self._instance_cache_key is not self._dynamic:
            self._instance_cache = {k: v for k, v in self._instance_cache.items()
                                    if k in self._static_index()}
            self._instance_cache_key = self._dynamic
        if instance_id in self._instance_cache:
            return self._instance_cache[instance_id]
        groups = self._static_index()
        if instance_id in groups:
            verts, tris = self._static_vertices, self._static_triangles[groups[instance_id]]
        else:
            dv, dt = self._dynamic_mesh
            sel = np.flatnonzero(self._dynamic_tri_instance[: len(dt)] == instance_id) \
                if self._dynamic is not None else np.zeros(0, np.int64)
            verts, tris = np.asarray(dv, np.float32), np.asarray(dt)[sel]
        if len(tris):
            used, local = np.unique(tris, return_inverse=True)
            scene = _build_scene(verts[used], local.reshape(-1, 3))
        else:
            scene = None
        self._instance_cache[instance_id] = scene
        return scene

    def _static_index(self) -> dict[int, np.ndarray]:
        """Static triangle indices per instance id (computed once)."""
        if self._static_groups is None:
            inst = self._static_tri_instance
            order = np.argsort(inst, kind="stable")
            ids, starts = np.unique(inst[order], return_index=True)
            self._static_groups = {int(i): g for i, g in
                                   zip(ids, np.split(order, starts[1:]))}
        return self._static_groups

    def cast(self, origins: np.ndarray, directions: np.ndarray,
             max_range_m: float = np.inf) -> RayHits:
        """Cast rays (unit ``directions``) and return the nearest hit of both scenes.

        ``origins`` may be a single (3,) point or one per ray; the batch shape is that of
        ``directions`` without its last axis. Hits beyond ``max_range_m`` count as misses.
        """
        directions = np.asarray(directions, np.float32)
        shape = directions.shape[:-1]
        rays = np.empty(shape + (6,), np.float32)
        rays[..., :3] = origins
        rays[..., 3:] = directions
        t_rays = o3d.core.Tensor(rays)
        dist = np.full(shape, np.inf, np.float32)
        inst = np.zeros(shape, np.int32)
        normal = np.zeros(shape + (3,), np.float32)
        for scene, tri_inst in ((self._static, self._static_tri_instance),
                                (self._dynamic, self._dynamic_tri_instance)):
            if scene is None:
                continue
            out = scene.cast_rays(t_rays)
            t = out["t_hit"].numpy()
            closer = t < dist
            if not closer.any():
                continue
            prim = out["primitive_ids"].numpy()
            dist = np.where(closer, t, dist)
            idx = np.where(closer, prim, 0).astype(np.int64)
            inst = np.where(closer, tri_inst[idx] if len(tri_inst) else 0, inst)
            normal = np.where(closer[..., None], out["primitive_normals"].numpy(), normal)
        if np.isfinite(max_range_m):
            far = dist > max_range_m
            dist[far] = np.inf
            inst[far] = 0
        miss = ~np.isfinite(dist)
        inst[miss] = 0
        normal[miss] = 0.0
        # Face the normal against the ray (meshes may be seen from either side).
        flip = np.einsum("...i,...i->...", normal, directions) > 0
        normal[flip] *= -1.0
        return RayHits(dist, inst, self.materials.semantic[inst], normal)

    def occluded(self, origins: np.ndarray, directions: np.ndarray,
                 max_distance_m: np.ndarray | float) -> np.ndarray:
        """True where a ray hits anything (static or dynamic) closer than the distance.

        Used for shadow rays and GNSS line of sight; cheaper than ``cast``.
        """
        directions = np.asarray(directions, np.float32)
        shape = directions.shape[:-1]
        rays = np.empty(shape + (6,), np.float32)
        rays[..., :3] = origins
        rays[..., 3:] = directions
        t_rays = o3d.core.Tensor(rays)
        tfar = float(max_distance_m) if np.isscalar(max_distance_m) else None
        blocked = np.zeros(shape, bool)
        for scene in (self._static, self._dynamic):
            if scene is None:
                continue
            if tfar is not None:
                res = scene.test_occlusions(t_rays, tnear=0.0, tfar=tfar).numpy()
            else:
                t = scene.cast_rays(t_rays)["t_hit"].numpy()
                res = t < np.asarray(max_distance_m, np.float32)
            blocked |= res.astype(bool)
        return blocked
