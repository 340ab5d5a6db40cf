"""Lane changes on ``TrafficLogic`` directly: the station a change assigns is the car's
exact projection on the new lane, and a prop beside a car blocks a change into it."""

from __future__ import annotations

import numpy as np

from scenarios import BUNDLED_DIR, load, parse_scenario
from simulator.map.build import build_hdmap
from simulator.map.lane_arrays import LaneArrays
from simulator.traffic.logic import OBSTACLE, DriverArrays, TrafficLogic
from simulator.traffic.signals import GREEN

CAR_M = 4.6


def _logic(lanes: LaneArrays, lane: list[int], s: list[float], speed: list[float]
           ) -> tuple[TrafficLogic, np.ndarray]:
    n = len(lane)
    tr = TrafficLogic(lanes, DriverArrays(n), np.full(n, 2.8), np.full(n, CAR_M))
    tr.lane[:] = lane
    tr.s[:] = s
    tr.d[:] = 0.0
    tr.next_lane[:] = lanes.only_successor[tr.lane]
    return tr, np.array(speed, float)


def _decide(tr: TrafficLogic, speed: np.ndarray, mobil: bool) -> np.ndarray:
    """One decision up to the lane changes (all lights green, no give-way stops)."""
    v0 = tr.desired_speed(np.ones(len(speed)))
    tr.find_leaders()
    green = np.full(tr.lanes.count, GREEN)
    stops = tr.stop_distance(speed, green, np.full(len(speed), np.inf))
    tr.accelerations(speed, v0, stops)
    return tr.lane_changes(speed, v0, 1.0, mobil=mobil)


def test_a_lane_change_on_the_ring_lands_on_the_exact_projection() -> None:
    """Where the first curve starts (s = 600 m) the inner and outer lanes' proportional
    stations are 5 m apart from the true ones; the change must land within cm."""
    la = LaneArrays(build_hdmap(load(BUNDLED_DIR / "highway.yaml").map))
    hd = la.hdmap
    for use_kernels in (True, False):
        inner, outer = hd.lane_index("hw/fwd/0"), hd.lane_index("hw/fwd/1")
        stations = [600.0, 900.0, 1500.0, 2100.0]
        tr, speed = _logic(la, [inner] * 4, stations, [25.0] * 4)
        tr.use_kernels = use_kernels
        tr.d[:] = [0.3, -0.2, 0.0, 0.1]
        x, y = la.positions(tr.lane.copy(), tr.s.copy(), tr.d.copy())
        tr.forced_change[:] = outer          # the route wants the lane to the right
        movers = _decide(tr, speed, mobil=False)
        assert movers.all() and (tr.lane == outer).all()
        for i in range(4):
            s_exact, d_exact = hd.table.project_global(outer, np.array([x[i], y[i]]))
            assert abs(tr.s[i] - s_exact) < 0.02
            assert abs(tr.d[i] - d_exact) < 0.02
        assert abs(tr.s[0] - 600.0 * la.length_m[outer] / la.length_m[inner]) > 4.0


ROAD = """
map:
  roads:
    - id: r
      lanes: {forward: 2, backward: 0}
      speed_limit_mps: 15
      segments: [{type: straight, length_m: 500}]
ego: {start: {lane: r/fwd/0, s_m: 20}}
traffic: {count: 0}
"""


def _road(box: bool) -> tuple[LaneArrays, int, int]:
    la = LaneArrays(build_hdmap(parse_scenario(ROAD).map))
    if box:   # a 1.5 m box on lane 0 (centre y = -1.75), x 149.25 .. 150.75
        la.set_obstacles([np.array([[149.25, -2.5], [150.75, -2.5], [150.75, -1.0],
                                    [149.25, -1.0]])])
    hd = la.hdmap
    return la, hd.lane_index("r/fwd/0"), hd.lane_index("r/fwd/1")


def test_mobil_never_merges_into_a_prop_beside_the_car() -> None:
    """A car on lane 1 stuck behind a stopped car wants out to the left, where a box
    stands beside it (its centre is past the box's start): the change is not available.
    Without the box (or with the box far behind) the same car changes."""
    for use_kernels in (True, False):
        for box, s_car, changes in ((True, 150.0, False), (True, 153.0, False),
                                    (False, 150.0, True), (True, 165.0, True)):
            la, lane0, lane1 = _road(box)
            tr, speed = _logic(la, [lane1, lane1], [s_car, s_car + 8.0], [12.0, 0.0])
            tr.use_kernels = use_kernels
            tr.lane_change_allowed[1] = False
            movers = _decide(tr, speed, mobil=True)
            assert bool(movers[0]) == changes, (use_kernels, box, s_car)
            assert tr.lane[0] == (lane0 if changes else lane1)


def test_a_car_overlapping_a_prop_has_it_as_its_leader() -> None:
    for use_kernels in (True, False):
        la, lane0, _ = _road(box=True)
        # Beside the box (centre past its start), and clear past it.
        tr, _ = _logic(la, [lane0, lane0], [150.5, 153.1], [5.0, 5.0])
        tr.use_kernels = use_kernels
        tr.find_leaders()
        assert tr.leader[0] == OBSTACLE and tr.gap_m[0] <= 0.0     # blocked by the box
        assert tr.leader[1] == -1 and tr.gap_m[1] == np.inf
        # Before it: a stopped leader at its start.
        tr, _ = _logic(la, [lane0], [40.0], [5.0])
        tr.use_kernels = use_kernels
        tr.find_leaders()
        assert tr.leader[0] == OBSTACLE
        assert np.isclose(tr.gap_m[0], 149.25 - 40.0 - CAR_M / 2)
