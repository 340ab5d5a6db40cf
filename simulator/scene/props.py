"""Props: placed explicitly in the scenario or generated along road edges.

Each prop becomes one ``SceneObject`` (mesh for sensors), one ``ObjectBox`` (GT) and one
box-shaped pybullet collision body. Generation draws only from the world's RNG stream.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from scenarios.schema import Prop, Roadside
from simulator.scene.objects import ObjectBox, SceneObject, box_mesh, merge_meshes
from simulator.scene.semantics import PROP_DEFAULTS, SEMANTIC_CLASSES

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PropInstance:
    """A prop in the world. ``center_xy`` is the footprint centre, ``size`` = (l, w, h) [m]."""

    type: str
    center_xy: tuple[float, float]
    size: tuple[float, float, float]
    yaw: float
    material: str
    semantic: int
    instance_id: int
    name: str

    @property
    def on_ground(self) -> bool:
        """Whether the prop stands on the ground (cars stop for it and can hit it)."""
        return True

    def box(self) -> ObjectBox:
        return ObjectBox(self.instance_id, self.semantic, self.name,
                         np.array([self.center_xy[0], self.center_xy[1], self.size[2] / 2]),
                         np.array(self.size, float), self.yaw)

    def scene_object(self) -> SceneObject:
        verts, tris = _MESHERS.get(self.type, _box)(self)
        return SceneObject(self.name, self.semantic, self.instance_id, self.material,
                           verts, tris)

    def footprint(self) -> np.ndarray:
        """The 4 footprint corners (4, 2) [m]."""
        return self.box().corners()[:4, :2]


def _box(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    return box_mesh(p.center_xy, p.size, p.yaw)


def _tree(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """A trunk and a low-poly crown (an octagonal double pyramid) inside the prop's box."""
    length, w, h = p.size
    trunk_w = min(0.35, 0.2 * min(length, w))
    trunk_h = 0.4 * h
    trunk = box_mesh(p.center_xy, (trunk_w, trunk_w, trunk_h), p.yaw)
    n = 8
    ang = np.arange(n) * 2 * np.pi / n + p.yaw
    cx, cy = p.center_xy
    z_mid = trunk_h + 0.45 * (h - trunk_h)
    ring = np.stack([cx + length / 2 * np.cos(ang), cy + w / 2 * np.sin(ang), np.full(n, z_mid)], 1)
    verts = np.vstack([ring, [[cx, cy, trunk_h * 0.9]], [[cx, cy, h]]]).astype(np.float32)
    bottom, top = n, n + 1
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris.append([i, j, top])
        tris.append([j, i, bottom])
    return merge_meshes([trunk, (verts, np.array(tris, np.int32))])


def _sign(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """A post with a square plate on top."""
    side, w, h = p.size
    post = box_mesh(p.center_xy, (0.08, 0.08, h - side), p.yaw)
    plate = box_mesh(p.center_xy, (w, side, side), p.yaw + np.pi / 2, z0=h - side)
    return merge_meshes([post, plate])


def _traffic_light(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """A pole with a signal head (0.35 x 0.35 x 1.0 m) on top, facing the traffic."""
    _, _, h = p.size
    pole = box_mesh(p.center_xy, (0.15, 0.15, h - 1.0), p.yaw)
    head = box_mesh(p.center_xy, (0.35, 0.35, 1.0), p.yaw, z0=h - 1.0)
    return merge_meshes([pole, head])


_MESHERS = {"tree": _tree, "sign": _sign, "traffic_light": _traffic_light}
_LIGHT_SIZE = (0.35, 0.35, 4.5)   # footprint of the head, overall height [m]
_LIGHT_KERB_OFFSET_M = 1.2        # from the outer lane's right edge to the pole


def traffic_lights(hdmap, first_instance_id: int) -> tuple[list[PropInstance],
                                                           dict[int, tuple[str, int]]]:
    """One signal pole at the right kerb of every signalised approach, at its stop line.

    Returns:
        The props, and for each its (intersection id, signal group) so its state can be
        looked up (group 0: east/west arms, 1: north/south).
    """
    props: list[PropInstance] = []
    groups: dict[int, tuple[str, int]] = {}
    outermost: dict[tuple[str, str], object] = {}
    for lane in hdmap.lanes:
        if lane.signal_group is None:
            continue
        arm = lane.id.rsplit("/", 2)[0]               # "X/west" of "X/west/in/1"
        if arm not in outermost or int(lane.id.rsplit("/", 1)[1]) > \
                int(outermost[arm].id.rsplit("/", 1)[1]):
            outermost[arm] = lane
    semantic = SEMANTIC_CLASSES["traffic_light"]
    for arm in sorted(outermost):
        lane = outermost[arm]
        end, heading = lane.centerline[-1], float(lane.heading[-1])
        right = np.array([np.sin(heading), -np.cos(heading)])
        xy = end + right * (lane.width_m / 2 + _LIGHT_KERB_OFFSET_M)
        iid = first_instance_id + len(props)
        props.append(PropInstance("traffic_light", (float(xy[0]), float(xy[1])), _LIGHT_SIZE,
                                  heading, "metal", semantic, iid, f"traffic_light_{iid}"))
        groups[iid] = (lane.junction, int(lane.signal_group))
    return props, groups

# Sizes of generated items (l, w, h) [m]; sign: l is the plate side, w its thickness.
_ITEM_SIZES = {"pole": (0.25, 0.25, 7.0), "tree": (3.0, 3.0, 7.0), "sign": (0.7, 0.06, 2.6)}


def explicit_props(props: list[Prop], first_instance_id: int) -> list[PropInstance]:
    """Props listed in the scenario, in file order."""
    out = []
    for k, prop in enumerate(props):
        semantic_name, material = PROP_DEFAULTS[prop.type]
        iid = first_instance_id + k
        out.append(PropInstance(prop.type, tuple(prop.position), tuple(prop.size),
                                float(np.radians(prop.yaw_deg)), prop.material or material,
                                SEMANTIC_CLASSES[semantic_name], iid, f"{prop.type}_{iid}"))
    return out


def _overlaps(a: np.ndarray, b: np.ndarray) -> bool:
    """Separating-axis test of two convex quads (4, 2)."""
    for poly in (a, b):
        for i in range(4):
            edge = poly[(i + 1) % 4] - poly[i]
            axis = np.array([-edge[1], edge[0]])
            pa, pb = a @ axis, b @ axis
            if pa.max() <= pb.min() or pb.max() <= pa.min():
                return False
    return True


def generate_roadside(hdmap, roadside: Roadside, rng: np.random.Generator,
                      first_instance_id: int, blocked: list[PropInstance],
                      keep_clear_xy: list[tuple[float, float]]) -> list[PropInstance]:
    """Buildings, poles, trees and signs along every road edge.

    Args:
        hdmap: the world's ``HDMap`` (``road_edges()`` and ``is_on_road``).
        roadside: the scenario's generation settings.
        rng: the world stream (one draw sequence, so output is deterministic).
        first_instance_id: instance id of the first generated prop.
        blocked: props already placed (explicit ones); generated props avoid them.
        keep_clear_xy: junction centres; nothing is generated within
            ``roadside.keep_clear_m`` of the junction box around them.
    """
    placed: list[PropInstance] = []
    footprints = [p.footprint() for p in blocked]
    centers = [fp.mean(0) for fp in footprints]
    radii = [float(np.hypot(*(p.size[:2])) / 2) for p in blocked]
    next_id = first_instance_id
    rows = [("building", roadside.buildings), ("tree", roadside.trees),
            ("pole", roadside.poles), ("sign", roadside.signs)]
    for edge in hdmap.road_edges():
        pts, normals = edge.polyline, edge.normals
        seg = np.diff(pts, axis=0)
        s = np.concatenate([[0.0], np.cumsum(np.hypot(seg[:, 0], seg[:, 1]))])
        for kind, row in rows:
            if row is None:
                continue
            for s_k in np.arange(row.spacing_m / 2, s[-1], row.spacing_m):
                if rng.random() > row.probability:
                    continue
                i = int(np.clip(np.searchsorted(s, s_k) - 1, 0, len(seg) - 1))
                frac = (s_k - s[i]) / max(s[i + 1] - s[i], 1e-9)
                base = pts[i] + frac * seg[i]
                normal = normals[i]
                tangent_yaw = float(np.arctan2(seg[i, 1], seg[i, 0]))
                if kind == "building":
                    length = rng.uniform(row.length_m.min, row.length_m.max)
                    depth = rng.uniform(row.depth_m.min, row.depth_m.max)
                    height = rng.uniform(row.height_m.min, row.height_m.max)
                    size = (length, depth, height)
                    offset = row.setback_m + depth / 2
                else:
                    size = _ITEM_SIZES[kind]
                    offset = row.setback_m + size[1] / 2
                center = base + normal * offset
                if any(np.hypot(*(center - np.asarray(c))) < roadside.keep_clear_m + size[0]
                       for c in keep_clear_xy):
                    continue
                semantic_name, material = PROP_DEFAULTS[kind]
                if kind == "building":
                    material = ("concrete", "glass_facade", "brick")[int(rng.integers(3))]
                cand = PropInstance(kind, (float(center[0]), float(center[1])), size,
                                    tangent_yaw, material, SEMANTIC_CLASSES[semantic_name],
                                    next_id, f"{kind}_{next_id}")
                fp = cand.footprint()
                probe = np.vstack([fp, fp.mean(0, keepdims=True)])
                if hdmap.is_on_road(probe).any():
                    continue
                radius = float(np.hypot(size[0], size[1]) / 2)
                if centers:
                    dist = np.hypot(*(np.asarray(centers) - center).T)
                    near = np.flatnonzero(dist < np.asarray(radii) + radius)
                    if any(_overlaps(fp, footprints[j]) for j in near):
                        continue
                placed.append(cand)
                footprints.append(fp)
                centers.append(center)
                radii.append(radius)
                next_id += 1
    log.debug("generated %d roadside props", len(placed))
    return placed
