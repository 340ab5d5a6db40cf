"""Bird's-eye-view drawing of a world: roads, markings, props, lights, labelled vehicles and
the other actors.

The static layer is rasterised once; each frame copies it and draws the vehicles (every
kind at its own size, in its paint colour; trucks, buses and two-wheelers outlined in their
semantic class colour) and the pedestrians and debris (their GT boxes in the semantic
palette, ``CLASS_COLORS``). Images are BGR uint8 (OpenCV), x east to the right, y north up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import cv2
import numpy as np

from simulator.scene.objects import SceneObject
from simulator.scene.semantics import CLASS_COLORS, SEMANTIC_CLASSES
from simulator.traffic.signals import GREEN, RED

if TYPE_CHECKING:
    from simulator.world import World

_BG = (70, 95, 70)
_MAX_FULL_MAP_M = 420.0
_FOLLOW_WINDOW_M = 220.0
_DRAW_ORDER = ("road", "sidewalk", "lane_marking", "vegetation", "building", "wall",
               "static_object", "pole", "traffic_sign", "traffic_light",
               "vehicle")   # vehicle: parked cars
_CAR = SEMANTIC_CLASSES["vehicle"]   # cars and vans keep a dark outline
_MIN_ACTOR_PX = 5                    # pedestrians and debris: at least this wide a dot


def _bgr(rgb: tuple[int, int, int]) -> tuple[int, int, int]:
    return int(rgb[2]), int(rgb[1]), int(rgb[0])


class BevRenderer:
    """Renders frames of a world from above.

    The static layer (``static_objects`` coloured by ``color_rgb``) is drawn once; each
    ``render(world)`` reads the vehicles, lights and time it draws from the world given.

    Args:
        static_objects: the world's static scene objects.
        color_rgb: (instances, 3) material colours in 0-1 by instance id.
        signal_stops: (lane index, stop-line point (2,)) of every signalised lane.
        px_per_m: resolution.
        window_m: side of the square view; None: the whole map if it is small, else a
            window of ~220 m following the ego.
    """

    def __init__(self, static_objects: list[SceneObject], color_rgb: np.ndarray,
                 signal_stops: list[tuple[int, np.ndarray]], px_per_m: float = 3.0,
                 window_m: float | None = None):
        self.px_per_m = px_per_m
        self._signal_stops = signal_stops
        pts = np.concatenate([o.vertices[:, :2] for o in static_objects
                              if o.semantic != SEMANTIC_CLASSES["ground"]])
        lo, hi = pts.min(0) - 10.0, pts.max(0) + 10.0
        self.origin = lo
        size = np.ceil((hi - lo) * px_per_m).astype(int)
        self.full_size = (int(size[0]), int(size[1]))
        if window_m is None:
            window_m = None if (hi - lo).max() <= _MAX_FULL_MAP_M else _FOLLOW_WINDOW_M
        self.window_px = None if window_m is None else int(window_m * px_per_m) // 2 * 2
        self.background = self._draw_static(static_objects, color_rgb)
        self._offset = np.zeros(2)

    @classmethod
    def of(cls, world: World, **kwargs) -> BevRenderer:
        """A renderer for ``world``'s map (keyword arguments as for the constructor)."""
        stops = [(lane.index, lane.centerline[-1]) for lane in world.hdmap.lanes
                 if lane.signal_group is not None]
        return cls(world.static_objects, world.materials.color_rgb, stops, **kwargs)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the frames ``render`` returns."""
        if self.window_px is None:
            return self.full_size
        return self.window_px, self.window_px

    def to_px(self, xy: np.ndarray) -> np.ndarray:
        """World (..., 2) metres -> full-image pixel coordinates (float)."""
        out = (np.asarray(xy, float) - self.origin) * self.px_per_m
        out[..., 1] = self.full_size[1] - out[..., 1]
        return out

    def _frame_px(self, xy: np.ndarray) -> np.ndarray:
        return self.to_px(xy) - self._offset

    def _draw_static(self, static_objects: list[SceneObject],
                     color_rgb: np.ndarray) -> np.ndarray:
        img = np.empty((self.full_size[1], self.full_size[0], 3), np.uint8)
        img[:] = _BG
        by_class: dict[int, list] = {}
        for obj in static_objects:
            by_class.setdefault(obj.semantic, []).append(obj)
        for name in _DRAW_ORDER:
            sem = SEMANTIC_CLASSES[name]
            for obj in by_class.get(sem, []):
                color = _bgr(np.asarray(color_rgb[obj.instance_id]) * 255) \
                    if name in ("road", "sidewalk", "lane_marking") else _bgr(CLASS_COLORS[sem])
                tri3 = obj.vertices[obj.triangles]
                # Only faces seen from above: overlapping side/bottom faces would cancel out
                # under fillPoly's even-odd rule.
                nz = np.cross(tri3[:, 1] - tri3[:, 0], tri3[:, 2] - tri3[:, 0])[:, 2]
                tris = self.to_px(tri3[nz > 1e-9][..., :2])
                polys = np.round(tris * 16).astype(np.int32)
                for poly in polys:
                    cv2.fillConvexPoly(img, poly, color, lineType=cv2.LINE_AA, shift=4)
        return img

    def render(self, w: World, time_s: float | None = None) -> np.ndarray:
        """The world's current frame: background, traffic lights, vehicles with their names,
        pedestrians and debris."""
        img, self._offset = self._window(w.state.x[0], w.state.y[0])
        self._draw_lights(img, w.signals.lane_states())
        st, pr, tr = w.state, w.params, w.traffic
        sem = w.vehicle_semantic
        for i in np.flatnonzero(tr.active):
            c, s = np.cos(st.yaw[i]), np.sin(st.yaw[i])
            hl, hw = pr.length_m[i] / 2, pr.width_m[i] / 2
            local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
            xy = local @ np.array([[c, s], [-s, c]]) + (st.x[i], st.y[i])
            poly = np.round(self._frame_px(xy) * 16).astype(np.int32)
            color = _bgr(w.vehicle_colors[i])
            cv2.fillPoly(img, [poly], color, lineType=cv2.LINE_AA, shift=4)
            if tr.crashed[i] or i == 0 or sem[i] == _CAR:
                edge = (0, 0, 255) if tr.crashed[i] else \
                    ((0, 255, 255) if i == 0 else (20, 20, 20))
            else:   # trucks, buses, two-wheelers: outlined in their class colour
                edge = _bgr(CLASS_COLORS[int(sem[i])])
            thick = 1 if i and sem[i] == _CAR else 2
            cv2.polylines(img, [poly], True, edge, thick, cv2.LINE_AA, shift=4)
            nose = self._frame_px(np.array([st.x[i] + c * hl, st.y[i] + s * hl]))
            cv2.circle(img, tuple(np.round(nose).astype(int)), 1, (255, 255, 255), -1)
            label = w.vehicle_names[i].replace("npc_", "")
            pos = self._frame_px(np.array([st.x[i], st.y[i]])) + (4, -4)
            cv2.putText(img, label, tuple(np.round(pos).astype(int)),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.33, (255, 255, 255), 1, cv2.LINE_AA)
        self._draw_actors(img, w)
        t = w.time_s if time_s is None else time_s
        cv2.putText(img, f"t = {t:6.1f} s", (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (255, 255, 255), 1, cv2.LINE_AA)
        return img

    def _draw_actors(self, img: np.ndarray, w: World) -> None:
        """Pedestrians and debris (the world's group actors): their GT boxes filled with
        their semantic class colour on a white ring; a box smaller than
        ``_MIN_ACTOR_PX`` across (a person is ~2 px at 3 px/m) is drawn as a dot of that
        size, so that it shows."""
        for group in w.actor_groups:
            for b in group.boxes():
                color = _bgr(CLASS_COLORS.get(int(b.semantic), (255, 255, 255)))
                centre = self._frame_px(np.asarray(b.center[:2], float))
                cv2.circle(img, tuple(np.round(centre).astype(int)), _MIN_ACTOR_PX // 2 + 1,
                           (255, 255, 255), -1, cv2.LINE_AA)
                cv2.circle(img, tuple(np.round(centre).astype(int)), _MIN_ACTOR_PX // 2,
                           color, -1, cv2.LINE_AA)
                c, s = np.cos(b.yaw), np.sin(b.yaw)
                hl, hw = b.size[0] / 2, b.size[1] / 2
                local = np.array([[hl, hw], [-hl, hw], [-hl, -hw], [hl, -hw]])
                xy = local @ np.array([[c, s], [-s, c]]) + np.asarray(b.center[:2])
                poly = np.round(self._frame_px(xy) * 16).astype(np.int32)
                cv2.fillPoly(img, [poly], color, lineType=cv2.LINE_AA, shift=4)

    def _draw_lights(self, img: np.ndarray, states: np.ndarray) -> None:
        for lane, stop_xy in self._signal_stops:
            st = states[lane]
            color = (0, 200, 0) if st == GREEN else ((0, 0, 230) if st == RED else (0, 200, 230))
            end = self._frame_px(stop_xy)
            cv2.circle(img, tuple(np.round(end).astype(int)), 3, color, -1, cv2.LINE_AA)

    def _window(self, ego_x: float, ego_y: float) -> tuple[np.ndarray, np.ndarray]:
        """A copy of the background under the view centred on the ego, and its offset."""
        if self.window_px is None:
            return self.background.copy(), np.zeros(2)
        cx, cy = np.round(self.to_px(np.array([ego_x, ego_y]))).astype(int)
        half = self.window_px // 2
        x0, y0 = cx - half, cy - half
        out = np.empty((2 * half, 2 * half, 3), np.uint8)
        out[:] = _BG
        h, wd = self.background.shape[:2]
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x0 + 2 * half, wd), min(y0 + 2 * half, h)
        if sx1 > sx0 and sy1 > sy0:
            out[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = self.background[sy0:sy1, sx0:sx1]
        return out, np.array([x0, y0], float)
