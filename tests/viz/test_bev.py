"""The BEV video frame draws every vehicle kind at its size and the group actors
(pedestrians, debris) in their semantic palette colour."""

from __future__ import annotations

import numpy as np

from scenarios import load
from simulator.scene.semantics import CLASS_COLORS, SEMANTIC_CLASSES
from viz.bev import BevRenderer


def _world(pedestrians: bool):
    from scenarios.schema import VehicleActor
    from simulator.world import World

    sc = load("scenarios/highway.yaml")
    actors = [VehicleActor.model_validate({"name": n, "kind": k, "speed_mps": 20,
                                           "start": {"lane": lane, "s_m": s}})
              for n, k, lane, s in (("truck", "truck", "hw/fwd/0", 90),
                                    ("bike", "cyclist", "hw/fwd/3", 70))]
    update = {"sensors": [], "actors": actors,
              "traffic": sc.traffic.model_copy(update={"count": 0})}
    if pedestrians:
        from scenarios.actor_schema import DebrisItem, Pedestrian
        update["pedestrians"] = [Pedestrian.model_validate(
            {"name": "walker", "path": [[-230.0, -248.5], [-150.0, -248.5]]})]
        update["debris"] = [DebrisItem.model_validate(
            {"name": "tyre", "kind": "tyre", "position": [-220.0, -267.0, 0.4]})]
    return World(sc.model_copy(update=update))


def _pixel(renderer: BevRenderer, w, xy) -> tuple[int, int]:
    """Frame pixel (column, row) of world point ``xy`` in a frame following the ego."""
    ego = np.round(renderer.to_px(np.array([w.state.x[0], w.state.y[0]]))).astype(int)
    offset = ego - renderer.frame_size[0] // 2
    col, row = np.round(renderer.to_px(np.asarray(xy, float)) - offset).astype(int)
    return int(col), int(row)


def _near(img, col, row, rgb, radius_px: int, tol: int = 40) -> bool:
    patch = img[row - radius_px:row + radius_px + 1, col - radius_px:col + radius_px + 1]
    bgr = np.array(rgb[::-1], int)
    return bool((np.abs(patch.astype(int) - bgr).max(axis=-1) <= tol).any())


def test_trucks_and_cyclists_are_drawn_at_their_size_and_outlined_in_their_class():
    with _world(False) as w:
        r = BevRenderer.of(w)
        img = r.render(w)
        for name, sem in (("truck", "truck"), ("bike", "cyclist")):
            i = w.vehicle_index(name)
            col, row = _pixel(r, w, [w.state.x[i], w.state.y[i]])
            half_px = int(np.ceil(w.params.length_m[i] / 2 * r.px_per_m)) + 2
            assert _near(img, col, row, CLASS_COLORS[SEMANTIC_CLASSES[sem]], half_px), name
        # the truck covers its length: its paint at both ends of the box
        i = w.vehicle_index("truck")
        paint = tuple(int(v) for v in w.vehicle_colors[i])
        for end in (-0.4, 0.4):
            col, row = _pixel(r, w, [w.state.x[i] + end * w.params.length_m[i],
                                     w.state.y[i]])
            assert _near(img, col, row, paint, 0, tol=3)


def test_pedestrians_and_debris_are_drawn_in_the_palette_colour():
    with _world(True) as w, _world(False) as bare:
        r = BevRenderer.of(w)
        img = r.render(w)
        empty = BevRenderer.of(bare).render(bare)
        for name, sem in (("walker", "pedestrian"), ("tyre", "debris")):
            box = next(b for b in w.object_boxes() if b.name == name)
            col, row = _pixel(r, w, box.center[:2])
            rgb = CLASS_COLORS[SEMANTIC_CLASSES[sem]]
            assert tuple(int(v) for v in img[row, col][::-1]) == rgb, name
            assert not _near(empty, col, row, rgb, 1, tol=10), name


def test_parked_cars_are_in_the_static_layer():
    from scenarios.schema import Prop
    from simulator.world import World

    sc = load("scenarios/highway.yaml")
    parked = Prop.model_validate({"type": "parked_car", "position": [-200.0, -268.0]})
    sc = sc.model_copy(update={"sensors": [], "props": [parked],
                               "traffic": sc.traffic.model_copy(update={"count": 0})})
    with World(sc) as w:
        r = BevRenderer.of(w)
        col, row = np.round(r.to_px(np.array([-200.0, -268.0]))).astype(int)
        rgb = CLASS_COLORS[SEMANTIC_CLASSES["vehicle"]]
        assert tuple(int(v) for v in r.background[row, col][::-1]) == rgb
