"""Props: placed explicitly in the scenario or generated along road edges.

Each prop becomes one ``SceneObject`` (mesh for sensors) and one ``ObjectBox`` (GT); one
standing in the traffic's way (``on_ground``) also becomes a lane obstacle and a box-shaped
pybullet collision body. A scenario row (``count``, ``spacing_m``) expands to ``count``
props; ``z_m`` lifts a prop's mesh and box. Generation draws only from the world's RNG
stream.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass

import numpy as np

from scenarios.schema import Prop, Roadside
from simulator.scene.objects import ObjectBox, SceneObject, box_mesh, merge_meshes
from simulator.scene.semantics import PROP_DEFAULTS, SEMANTIC_CLASSES
from simulator.vehicles.mesh import car_template

log = logging.getLogger(__name__)

VEHICLE_CLEARANCE_M = 4.5
"""The tallest vehicle (a truck) [m]: a prop whose base is at least this high (a bridge
deck, a tunnel roof) is passed below; one lower stands in the traffic's way."""


@dataclass(frozen=True)
class PropInstance:
    """A prop in the world. ``center_xy`` is the footprint centre, ``size`` = (l, w, h) [m],
    ``z_m`` the height of its base above the ground [m]."""

    type: str
    center_xy: tuple[float, float]
    size: tuple[float, float, float]
    yaw: float
    material: str
    semantic: int
    instance_id: int
    name: str
    z_m: float = 0.0
    base_z_m: float = 0.0

    @property
    def on_ground(self) -> bool:
        """Whether the prop is in the traffic's way (cars stop for it and can hit it):
        its base is lower than the tallest vehicle, ``VEHICLE_CLEARANCE_M``, above the
        surface it stands on (``base_z_m``: the road height on maps with elevation)."""
        return self.z_m - self.base_z_m < VEHICLE_CLEARANCE_M

    def box(self) -> ObjectBox:
        return ObjectBox(self.instance_id, self.semantic, self.name,
                         np.array([self.center_xy[0], self.center_xy[1],
                                   self.z_m + self.size[2] / 2]),
                         np.array(self.size, float), self.yaw)

    def scene_object(self) -> SceneObject:
        verts, tris = _MESHERS.get(self.type, _box)(self)   # standing on z = 0
        if self.z_m:
            verts = verts.copy()
            verts[:, 2] += np.float32(self.z_m)
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


def _orient_outward(verts: np.ndarray, tris: np.ndarray, center: np.ndarray) -> np.ndarray:
    """Triangles re-wound counter-clockwise seen from outside a mesh star-shaped about
    ``center``."""
    a, b, c = verts[tris[:, 0]], verts[tris[:, 1]], verts[tris[:, 2]]
    normal = np.cross(b - a, c - a)
    inward = np.einsum("ij,ij->i", normal, (a + b + c) / 3 - center) < 0
    out = tris.copy()
    out[inward] = out[inward][:, ::-1]
    return out


def _place(p: PropInstance, local: np.ndarray) -> np.ndarray:
    """Body-frame vertices (x along the yaw) -> world, standing on z = 0."""
    c, s = np.cos(p.yaw), np.sin(p.yaw)
    out = np.empty_like(local, dtype=np.float32)
    out[:, 0] = p.center_xy[0] + c * local[:, 0] - s * local[:, 1]
    out[:, 1] = p.center_xy[1] + s * local[:, 0] + c * local[:, 1]
    out[:, 2] = local[:, 2]
    return out


CONE_PLATE_H_M = 0.03
"""Thickness of a cone's square base plate (the full footprint) [m]."""
_CONE_SIDES = 16


def _cone(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """A square base plate (the footprint, ``CONE_PLATE_H_M`` thick) under a 16-sided
    truncated cone (base diameter 0.8 x the footprint's smaller side, top 0.1 x)."""
    length, w, h = p.size
    plate = box_mesh(p.center_xy, (length, w, CONE_PLATE_H_M), p.yaw)
    n = _CONE_SIDES
    ang = np.arange(n) * 2 * np.pi / n
    r0, r1 = 0.4 * min(length, w), 0.05 * min(length, w)
    rings = [np.stack([r * np.cos(ang), r * np.sin(ang), np.full(n, z)], 1)
             for r, z in ((r0, CONE_PLATE_H_M), (r1, h))]
    local = np.vstack(rings + [[[0.0, 0.0, CONE_PLATE_H_M]], [[0.0, 0.0, h]]])
    bottom, top = 2 * n, 2 * n + 1
    tris = []
    for i in range(n):
        j = (i + 1) % n
        tris += [[i, j, n + j], [i, n + j, n + i], [j, i, bottom], [n + i, n + j, top]]
    tris = _orient_outward(local, np.array(tris, np.int32), np.array([0.0, 0.0, h / 3]))
    return merge_meshes([plate, (_place(p, local), tris)])


# A jersey barrier's cross-section: (height, half-width), as fractions of (h, w).
_JERSEY_PROFILE = np.array([[0.0, 0.5], [0.1, 0.5], [0.4, 0.3], [1.0, 0.125]])


def _barrier(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """A jersey barrier: its profile (wide foot, sloped flanks, narrow top) extruded
    along the prop's length."""
    length, w, h = p.size
    k = len(_JERSEY_PROFILE)
    z, half = _JERSEY_PROFILE[:, 0] * h, _JERSEY_PROFILE[:, 1] * w
    # Vertex (end e, level i, side s): index e * 2k + 2 i + s; s = 0 right (-y), 1 left.
    local = np.array([[x, sign * hw, zi] for x in (-length / 2, length / 2)
                      for zi, hw in zip(z, half) for sign in (-1.0, 1.0)])

    def v(e: int, i: int, side: int) -> int:
        return e * 2 * k + 2 * i + side

    tris = []
    for i in range(k - 1):
        for side in (0, 1):                         # the flanks
            a, b = v(0, i, side), v(1, i, side)
            tris += [[a, b, v(1, i + 1, side)], [a, v(1, i + 1, side), v(0, i + 1, side)]]
        for e in (0, 1):                            # the end caps, level by level
            tris += [[v(e, i, 0), v(e, i, 1), v(e, i + 1, 1)],
                     [v(e, i, 0), v(e, i + 1, 1), v(e, i + 1, 0)]]
    for i in (0, k - 1):                            # the bottom and the top
        tris += [[v(0, i, 0), v(1, i, 0), v(1, i, 1)], [v(0, i, 0), v(1, i, 1), v(0, i, 1)]]
    tris = _orient_outward(local, np.array(tris, np.int32), np.array([0.0, 0.0, 0.4 * h]))
    return _place(p, local), tris


def _parked_car(p: PropInstance) -> tuple[np.ndarray, np.ndarray]:
    """The vehicles' low-poly car scaled to the prop's box (its bounding box exactly)."""
    verts, tris = car_template()
    return _place(p, verts.astype(np.float64) * np.asarray(p.size, np.float64)), tris


_MESHERS = {"tree": _tree, "sign": _sign, "traffic_light": _traffic_light, "cone": _cone,
            "barrier": _barrier, "parked_car": _parked_car}
_LIGHT_SIZE = (0.35, 0.35, 4.5)   # footprint of the head, overall height [m]
_LIGHT_KERB_OFFSET_M = 1.2        # from the outer lane's right edge to the pole


def traffic_lights(hdmap, first_instance_id: int) -> tuple[list[PropInstance],
                                                           dict[int, tuple[str, int]]]:
    """The map file's traffic lights, and one signal pole at the right kerb of every
    other signalised approach, at its stop line.

    A file light (``hdmap.extra["map_signals"]``, :mod:`simulator.map.opendrive.
    map_signals`) that governs an approach stands where the file puts it, named
    ``traffic_light_<file id>``; one governing none is left out (it would have no state).
    A junction with file lights gets no generated poles; the others (every CARLA town)
    get one per approach.

    Returns:
        The props (file lights first), and for each its (intersection id, signal group)
        so its state can be looked up (group 0: east/west arms, 1: north/south).
    """
    props, groups = _file_traffic_lights(hdmap, first_instance_id)
    file_junctions = {jid for jid, _ in groups.values()}
    # An approach: the signalised lanes of one road into one junction, ending side by side
    # (same stop-line heading within 20 deg); its pole stands right of the rightmost lane.
    approaches: list[list] = []
    for lane in hdmap.lanes:
        if lane.signal_group is None or lane.junction in file_junctions:
            continue
        h = float(lane.heading[-1])
        for ap in approaches:
            first = ap[0]
            if (first.road_id, first.junction, first.signal_group) == (
                    lane.road_id, lane.junction, lane.signal_group) and abs(
                    (h - float(first.heading[-1]) + np.pi) % (2 * np.pi) - np.pi) < 0.35:
                ap.append(lane)
                break
        else:
            approaches.append([lane])
    # In road/arm order (``X/west`` of ``X/west/in/1``, ``12/0`` of ``12/0/-1``): the order
    # the procedural junctions always numbered their poles in.
    approaches.sort(key=lambda ap: ap[0].id.rsplit("/", 2)[0])
    semantic = SEMANTIC_CLASSES["traffic_light"]
    table = hdmap.table
    for ap in approaches:
        h0 = float(ap[0].heading[-1])
        right = np.array([np.sin(h0), -np.cos(h0)])
        lane = max(ap, key=lambda ln: float(ln.centerline[-1] @ right))
        end, heading = lane.centerline[-1], float(lane.heading[-1])
        right = np.array([np.sin(heading), -np.cos(heading)])
        xy = end + right * (lane.width_m / 2 + _LIGHT_KERB_OFFSET_M)
        z = float(table.heights(np.array([lane.index]), np.array([lane.length_m]))[0])
        if not hdmap.flat:              # on the sidewalk's kerb (or shoulder) it stands on
            here = float(hdmap.surface_height(xy[None], z_hint=z)[0])
            z = here if np.isfinite(here) and abs(here - z) < 1.0 else z
        iid = first_instance_id + len(props)
        props.append(PropInstance("traffic_light", (float(xy[0]), float(xy[1])), _LIGHT_SIZE,
                                  heading, "metal", semantic, iid, f"traffic_light_{iid}",
                                  z_m=z, base_z_m=z))
        groups[iid] = (lane.junction, int(lane.signal_group))
    return props, groups


_LIGHT_MIN_HEIGHT_M = 2.0         # a file light's pole and head at least [m]
_SIGN_THICKNESS_M = 0.06
_SIGN_DEFAULT_SIDE_M = 0.7
_SIGN_DEFAULT_BOTTOM_M = 1.9      # plate bottom when the file gives no zOffset [m]
_SIGN_MIN_BOTTOM_M = 0.3


def _unique_name(base: str, road_id: str, used: set[str]) -> str:
    """``base``, or (file ids need not be unique) ``base_r<road>[_k]`` when taken."""
    name = base
    if name in used:
        name = f"{base}_r{road_id}"
        k = 1
        while name in used:
            k += 1
            name = f"{base}_r{road_id}_{k}"
    used.add(name)
    return name


def _file_traffic_lights(hdmap, first_instance_id: int) -> tuple[
        list[PropInstance], dict[int, tuple[str, int]]]:
    """The file lights that govern an approach, at their file positions, standing on the
    road surface there; height ``zOffset + height`` (the head 1 m on top)."""
    props: list[PropInstance] = []
    groups: dict[int, tuple[str, int]] = {}
    used: set[str] = set()
    semantic = SEMANTIC_CLASSES["traffic_light"]
    for sig in hdmap.extra.get("map_signals", ()):
        if sig.kind != "traffic_light" or sig.junction is None:
            continue
        height = max(_LIGHT_MIN_HEIGHT_M, sig.z_offset + (sig.height or _LIGHT_SIZE[2]))
        side = max(_LIGHT_SIZE[0], sig.width or 0.0)
        iid = first_instance_id + len(props)
        props.append(PropInstance(
            "traffic_light", (sig.x, sig.y), (side, side, height), sig.heading, "metal",
            semantic, iid, _unique_name(f"traffic_light_{sig.id}", sig.road_id, used),
            z_m=sig.surface_z, base_z_m=sig.surface_z))
        groups[iid] = (sig.junction, int(sig.signal_group))
    return props, groups


def map_props(hdmap, first_instance_id: int) -> list[PropInstance]:
    """The map file's signs (stop signs included) and simple objects as props.

    Signs (``sign_<file id>``): a post with the plate (``max(width, height)`` square) on
    top, its bottom at the signal's ``zOffset`` (1.9 m when the file gives less than
    0.3 m), facing the traffic it governs (the prop's yaw is the signal heading + 90 deg:
    the plate spans across the lane). Objects (``object_<file id>``): props of the
    matching type (pole, tree, building, barrier, box), the file's box, lifted by
    ``zOffset`` above the road surface (``base_z_m``), so one lifted above the traffic
    is passed below."""
    out: list[PropInstance] = []
    used: set[str] = set()
    for sig in hdmap.extra.get("map_signals", ()):
        if sig.kind not in ("sign", "stop_sign"):
            continue
        side = max(sig.width or 0.0, sig.height or 0.0) or _SIGN_DEFAULT_SIDE_M
        bottom = sig.z_offset if sig.z_offset >= _SIGN_MIN_BOTTOM_M else _SIGN_DEFAULT_BOTTOM_M
        semantic_name, material = PROP_DEFAULTS["sign"]
        iid = first_instance_id + len(out)
        out.append(PropInstance(
            "sign", (sig.x, sig.y), (side, _SIGN_THICKNESS_M, bottom + side),
            sig.heading + np.pi / 2, material, SEMANTIC_CLASSES[semantic_name], iid,
            _unique_name(f"sign_{sig.id}", sig.road_id, used),
            z_m=sig.surface_z, base_z_m=sig.surface_z))
    for obj in hdmap.extra.get("map_objects", ()):
        kind = obj.kind                          # pole, tree, building, barrier, box
        semantic_name, material = PROP_DEFAULTS[kind]
        iid = first_instance_id + len(out)
        out.append(PropInstance(
            kind, (obj.x, obj.y), tuple(obj.size), obj.heading, material,
            SEMANTIC_CLASSES[semantic_name], iid,
            _unique_name(f"object_{obj.id}", obj.road_id, used),
            z_m=obj.z, base_z_m=obj.surface_z))
    return out

# Sizes of generated items (l, w, h) [m]; sign: l is the plate side, w its thickness.
_ITEM_SIZES = {"pole": (0.25, 0.25, 7.0), "tree": (3.0, 3.0, 7.0), "sign": (0.7, 0.06, 2.6)}


def row_centers(prop: Prop) -> np.ndarray:
    """Footprint centres (count, 2) [m] of a prop row: ``position + k spacing_m (cos yaw,
    sin yaw)`` for k = 0 .. count - 1."""
    yaw = np.radians(prop.yaw_deg)
    k = np.arange(prop.count, dtype=np.float64)[:, None]
    return np.asarray(prop.position, np.float64) + k * prop.spacing_m * \
        np.array([np.cos(yaw), np.sin(yaw)])


def explicit_props(props: list[Prop], first_instance_id: int) -> list[PropInstance]:
    """Props listed in the scenario, in file order, every row expanded in place."""
    out: list[PropInstance] = []
    for prop in props:
        semantic_name, material = PROP_DEFAULTS[prop.type]
        for center in row_centers(prop):
            iid = first_instance_id + len(out)
            out.append(PropInstance(prop.type, (float(center[0]), float(center[1])),
                                    tuple(prop.size), float(np.radians(prop.yaw_deg)),
                                    prop.material or material, SEMANTIC_CLASSES[semantic_name],
                                    iid, f"{prop.type}_{iid}", float(prop.z_m)))
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


def stand_on_surface(props: list[PropInstance], hdmap) -> list[PropInstance]:
    """On maps with surface heights, props whose base was written relative to the ground
    (explicit and roadside props) stand on the surface under them: the road or sidewalk
    (its kerb; the lowest one where a bridge passes over), or where the roads have
    elevation the nearest one within 30 m (a tree beside a hill road), else z = 0.
    ``z_m`` stays their lift above it (``base_z_m``). Flat maps: the props unchanged."""
    if hdmap.flat or not props:
        return props
    xy = np.array([p.center_xy for p in props], np.float64)
    base = hdmap.surface_height(xy, z_hint=-1e9, reach_m=0.0 if hdmap.table.flat else 30.0)
    base = np.where(np.isfinite(base), base, 0.0)
    return [dataclasses.replace(p, z_m=p.z_m + float(b), base_z_m=p.base_z_m + float(b))
            for p, b in zip(props, base)]
