"""The World: owns all mutable simulation state and advances it at a fixed step.

``World(scenario)`` builds the HD map, static scene (roads, markings, props), a pybullet
collision client, the vehicles (ego = index 0) with their dynamics and drivers. ``step``
advances one physics step; drivers decide every ``physics_hz / control_hz`` steps.
Sensors read the world through ``time_s``, ``mirror()``, ``ego_pose(t)``,
``object_boxes()``, ``materials``, ``geo_origin`` and ``ego_instance_id``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from agents.controllers import SpeedPID
from agents.human import ReactionDelay, SpeedWander
from agents.profiles import sample_drivers
from scenarios.schema import Scenario
from simulator.errors import WorldError
from simulator.map.build import build_hdmap
from simulator.map.lane_arrays import LaneArrays
from simulator.pose import Pose
from simulator.scene.collisions import CollisionWorld
from simulator.scene.mirror import MaterialTable, SceneMirror
from simulator.scene.objects import ObjectBox, SceneObject
from simulator.scene.props import PropInstance, explicit_props, generate_roadside, traffic_lights
from simulator.scene.road_meshes import build_road_objects
from simulator.scene.semantics import DEFAULT_MATERIALS, SEMANTIC_CLASSES, MaterialInfo
from simulator.traffic.logic import DriverArrays, TrafficLogic
from simulator.traffic.signals import SignalTable
from simulator.traffic.spawn import Spawner
from simulator.vehicles import dynamics
from simulator.vehicles import mesh as car_mesh
from simulator.vehicles.history import PoseHistory

log = logging.getLogger(__name__)

EGO = 0
MOBIL_PERIOD_S = 1.0
HISTORY_S = 2.0  # how far back ego_pose(t) reaches (rolling-shutter sweeps, motion blur)
_LANE_CORRIDOR_M = 3.0  # cars farther than this from their lane's centre test all props
STATIC_ID_BASE = 10_000  # static objects get instance ids from here; vehicles 1..n
_PALETTE = ((200, 200, 205), (30, 30, 35), (150, 155, 160), (20, 60, 140), (120, 20, 25),
            (240, 240, 240), (60, 90, 60), (170, 140, 90), (90, 40, 110), (220, 150, 30))


@dataclass(frozen=True)
class Collision:
    time_s: float
    actor_a: str
    actor_b: str


@dataclass(frozen=True)
class EgoControl:
    """Direct ego command (RL agents, external drivers): acceleration and road-wheel angle."""

    accel_mps2: float
    steer_rad: float


def _seed_seq(seed: int, *key: int) -> np.random.SeedSequence:
    """Child ``key`` of the scenario's RNG tree (stable whatever else is in the tree)."""
    return np.random.SeedSequence(seed, spawn_key=key)


class World:
    """A running scenario.

    Args:
        scenario: a validated scenario.

    Raises:
        WorldError: the scenario references lanes that do not exist, or cannot spawn.
    """

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        sim = scenario.simulation
        self.dt_s = 1.0 / sim.physics_hz
        self.control_every = int(round(sim.physics_hz / sim.control_hz))
        self.step_index = 0
        self.geo_origin = scenario.map.geo_origin
        seed = sim.seed
        self.rng = np.random.default_rng(_seed_seq(seed, 0))
        self.sensor_seed_seq = _seed_seq(seed, 2)
        self.hdmap = build_hdmap(scenario.map)
        self.lanes = LaneArrays(self.hdmap)

        # --- vehicles: ego first, then NPCs, each NPC with its own stream (1, i).
        n = 1 + scenario.traffic.count
        self.n_vehicles = n
        npc_rngs = [np.random.default_rng(_seed_seq(seed, 1, i)) for i in range(n - 1)]
        specs = [scenario.ego.vehicle] + [scenario.traffic.vehicle] * (n - 1)
        self.params = dynamics.VehicleParams.from_specs(specs)
        self.state = dynamics.VehicleState(n)
        self.vehicle_ids = np.arange(1, n + 1)
        self.ego_instance_id = int(self.vehicle_ids[EGO])
        self.vehicle_names = ["ego"] + [f"npc_{i:03d}" for i in range(n - 1)]
        # Colours come from their own streams (3, i): they never shift a driver's draws.
        colors = [scenario.ego.vehicle.color_rgb or _PALETTE[0]]
        for i in range(n - 1):
            c = scenario.traffic.vehicle.color_rgb
            pick = int(np.random.default_rng(_seed_seq(seed, 3, i)).integers(len(_PALETTE)))
            colors.append(c if c is not None else _PALETTE[pick])
        self.vehicle_colors = colors

        # --- materials and static scene
        self.materials = MaterialTable(STATIC_ID_BASE + 4096)
        self._material_info = dict(DEFAULT_MATERIALS)
        for name, m in scenario.materials.items():
            self._material_info[name] = MaterialInfo(tuple(m.color_rgb), m.lidar_reflectivity,
                                                     m.gnss_reflectivity)
        paint = self._material_info["car_paint"]
        for iid, color in zip(self.vehicle_ids, colors):
            self.materials.set(int(iid), SEMANTIC_CLASSES["vehicle"],
                               MaterialInfo(tuple(color), paint.lidar_reflectivity,
                                            paint.gnss_reflectivity))
        self.static_objects: list[SceneObject] = build_road_objects(self.hdmap, STATIC_ID_BASE)
        next_id = STATIC_ID_BASE + len(self.static_objects)
        self.props: list[PropInstance] = explicit_props(list(scenario.props), next_id)
        self._check_materials()
        next_id += len(self.props)
        junctions = [tuple(x.position) for x in scenario.map.intersections]
        self.props += generate_roadside(self.hdmap, scenario.map.roadside, self.rng, next_id,
                                        self.props, junctions)
        lights, self.light_groups = traffic_lights(self.hdmap, STATIC_ID_BASE +
                                                   len(self.static_objects) + len(self.props))
        self.props += lights
        self.static_objects += [p.scene_object() for p in self.props]
        self.lanes.set_obstacles([p.footprint() for p in self.props])
        for obj in self.static_objects:
            self.materials.set(obj.instance_id, obj.semantic, self._material_info[obj.material])
        self._mirror = SceneMirror(self.static_objects, self.materials)
        self._mirror_step = -1
        self._car_template = car_mesh.car_template()

        # --- drivers
        self.drivers = DriverArrays(n)
        self._setup_drivers(npc_rngs)
        self.signals = SignalTable(self.hdmap.lanes, {x.id: x.signal
                                                      for x in scenario.map.intersections})
        self.traffic = TrafficLogic(self.lanes, self.drivers, self.params.wheelbase_m,
                                    self.params.length_m)
        self.signals.update(0.0)
        # An ego with a destination keeps to its planned lanes; without one it changes
        # lanes like a driver (MOBIL), e.g. around an obstacle.
        self.traffic.lane_change_allowed[EGO] = scenario.ego.destination is None
        self.spawner = Spawner(self, npc_rngs)
        self.route: list[int] = []
        self.route_index = 0
        self.spawner.place_ego()   # sets route and route_index
        self.spawner.place_npcs()

        # --- collisions, bookkeeping
        hulls = [car_mesh.collision_hull_vertices(s.length_m, s.width_m, s.height_m)
                 for s in specs]
        self.collision_world = CollisionWorld(
            hulls, [(p.center_xy, p.size, p.yaw) for p in self.props])
        self._touching: set[tuple] = set()
        self._lane_props = self._props_near_lanes()
        self.collisions: list[Collision] = []
        self._since_check_m = np.inf
        # Between checks two cars close in by <= 2 * vmax * dt, which must stay below their
        # two widths; a car closes on a prop by <= vmax * dt, below its width plus the
        # prop's. Both hold when the fastest car travels less than the narrowest width
        # (80% of it, for margin).
        self._check_extent_m = 0.8 * float(self.params.width_m.min())
        self.distance_m = np.zeros(n)
        self.lane_change_count = 0
        self._decisions = 0
        # Lane-change (MOBIL) decisions every ~1 s: drivers do not re-plan lanes each decision.
        self._mobil_every = max(1, int(round(MOBIL_PERIOD_S / (self.dt_s * self.control_every))))
        self.accel_cmd = np.zeros(n)
        self.steer_cmd = np.zeros(n)
        self.ego_control: EgoControl | None = None
        self.history = PoseHistory(capacity=int(round(HISTORY_S / self.dt_s)) + 2)
        self._record_history()
        self._check_collisions()

    # ------------------------------------------------------------------ setup helpers
    def _check_materials(self) -> None:
        for p in self.props:
            if p.material not in self._material_info:
                raise WorldError(f"prop {p.name}: unknown material {p.material!r}; known: "
                                 f"{', '.join(sorted(self._material_info))}")

    def _props_near_lanes(self) -> np.ndarray:
        """Per lane, the props a car within ``_LANE_CORRIDOR_M`` of its centreline could
        touch, as a (lanes, K) index table padded with -1."""
        cw = self.collision_world
        reach = _LANE_CORRIDOR_M + float(cw.vehicle_radius.max()) + 0.5
        rows = []
        for lane in self.hdmap.lanes:
            if not len(cw.prop_xy):
                rows.append(np.zeros(0, np.int64))
                continue
            d = np.hypot(*(lane.centerline[:, None, :] - cw.prop_xy[None, :, :]).T)
            rows.append(np.flatnonzero((d - cw.prop_radius[:, None]).min(axis=1) < reach))
        table = np.full((len(rows), max([len(r) for r in rows] + [1])), -1, np.int64)
        for k, r in enumerate(rows):
            table[k, :len(r)] = r
        return table

    def _setup_drivers(self, npc_rngs: list[np.random.Generator]) -> None:
        sc = self.scenario
        ctrl_dt = self.dt_s * self.control_every
        dr = self.drivers
        if len(npc_rngs):
            params = sample_drivers(sc.traffic, npc_rngs)
            self.driver_params = params
            for name in ("desired_speed_factor", "time_headway_s", "min_gap_m",
                         "max_accel_mps2", "comfort_decel_mps2", "politeness",
                         "lane_change_threshold_mps2", "gap_acceptance_s"):
                getattr(dr, name)[1:] = getattr(params, name)
            reaction = np.concatenate([[0.0], params.reaction_time_s])
            imperfection = params.speed_imperfection
        else:
            self.driver_params = None
            reaction = np.zeros(1)
            imperfection = np.zeros(0)
        ap = sc.ego.autopilot
        dr.cruise_speed_mps[EGO] = ap.cruise_speed_mps
        dr.time_headway_s[EGO] = ap.time_headway_s
        dr.min_gap_m[EGO] = ap.min_gap_m
        dr.max_accel_mps2[EGO] = sc.ego.vehicle.max_accel_mps2
        dr.comfort_decel_mps2[EGO] = ap.comfort_decel_mps2
        dr.lookahead_s[EGO] = ap.lookahead_s
        dr.min_lookahead_m[EGO] = ap.min_lookahead_m
        dr.desired_speed_factor[EGO] = 1.0  # the ego drives at min(cruise, speed limit)
        self.reaction = ReactionDelay(reaction, ctrl_dt)
        self.wander = SpeedWander(imperfection, npc_rngs, ctrl_dt) if len(npc_rngs) else None
        self.ego_pid = SpeedPID.from_autopilot(ap, ctrl_dt, sc.ego.vehicle.max_decel_mps2,
                                               sc.ego.vehicle.max_accel_mps2)

    # ------------------------------------------------------------------ stepping
    @property
    def time_s(self) -> float:
        return self.step_index * self.dt_s

    def step(self, ego_control: EgoControl | None = None) -> None:
        """Advance one physics step.

        Args:
            ego_control: drive the ego directly for this step (an RL agent or another
                driver); None: the autopilot drives (it resumes from its last decision).
        """
        if (ego_control is None) != (self.ego_control is None):
            self.ego_pid.reset()       # a hand-over: no stale integral or derivative
        self.ego_control = ego_control
        if self.step_index % self.control_every == 0:
            self._decide()
        if self.ego_control is not None:
            self.accel_cmd[EGO] = self.ego_control.accel_mps2
            self.steer_cmd[EGO] = self.ego_control.steer_rad
        dynamics.step(self.state, self.params, self.accel_cmd, self.steer_cmd, self.dt_s)
        speed = self.state.vx
        np.add(self.distance_m, speed * self.dt_s, out=self.distance_m)
        self.step_index += 1
        self._record_history()
        # Two bodies can only pass through each other unseen if their relative motion
        # between checks exceeds their combined extent (>= the narrowest car plus the
        # thinnest prop); the fastest car bounds that motion.
        self._since_check_m += speed.max() * self.dt_s
        # ...and at least once per decision, so slow contacts are stamped on time.
        if self._since_check_m >= self._check_extent_m or \
                self.step_index % self.control_every == 0:
            self._check_collisions()

    def _decide(self) -> None:
        """Driver decisions for all vehicles (IDM, MOBIL, lights, yielding, pure pursuit)."""
        tr = self.traffic
        st = self.state
        self.spawner.update_lanes()
        speed = np.maximum(st.vx, 0.0)
        self.signals.update(self.time_s)
        light_states = self.signals.lane_states()
        wander = np.ones(self.n_vehicles)
        if self.wander is not None:
            wander[1:] = self.wander.step()
        v0 = tr.desired_speed(wander)
        tr.find_leaders()
        stops = tr.stop_distance(speed, light_states, tr.junction_stops(speed, light_states))
        acc = tr.accelerations(speed, v0, stops)
        ctrl_dt = self.dt_s * self.control_every
        if self.ego_control is None:
            self._ego_route_change()
        self._decisions += 1
        mobil_tick = self._decisions % self._mobil_every == 0
        movers = None
        if mobil_tick or tr.forced_change[EGO] >= 0:
            movers = tr.lane_changes(speed, v0, ctrl_dt * self._mobil_every, mobil=mobil_tick)
        if movers is not None and movers.any():
            self.lane_change_count += int(movers.sum())
            self.spawner.after_lane_change(movers)
            tr.find_leaders()       # movers follow their new leader from now on
            acc = tr.accelerations(speed, v0, stops)
        # Human reaction delay applies to following the car ahead; stop lines, lights and
        # give-way points are seen long in advance, so braking for them is not delayed.
        np.minimum(self.reaction.step(tr.lead_accel), tr.stop_accel, out=self.accel_cmd)
        np.minimum(self.accel_cmd, np.where(tr.gap_m < 2.0, acc, np.inf), out=self.accel_cmd)
        self.accel_cmd[tr.crashed] = acc[tr.crashed]
        # Ego: PID on the speed IDM wants in one second, with IDM's braking as an override.
        target = np.clip(speed[EGO] + acc[EGO] * 1.0, 0.0, v0[EGO])
        cap = np.array([acc[EGO] if acc[EGO] < -0.5 else np.inf])
        self.accel_cmd[EGO] = float(self.ego_pid.step(np.array([target]), speed[EGO:EGO + 1],
                                                      upper_mps2=cap)[0])
        if target <= 0.0 and speed[EGO] < 0.3:
            self.accel_cmd[EGO] = -self.params.max_decel_mps2[EGO]
        self.steer_cmd[:] = tr.steering(st.x, st.y, st.yaw, speed)
        inactive = ~tr.active
        self.accel_cmd[inactive] = 0.0
        self.steer_cmd[inactive] = 0.0

    def _ego_route_change(self) -> None:
        """Ask for a lane change when the route's next lane is a neighbour of the current."""
        tr = self.traffic
        k = self.route_index
        if k + 1 < len(self.route):
            nxt = self.route[k + 1]
            lane = tr.lane[EGO]
            if nxt in (self.lanes.left[lane], self.lanes.right[lane]):
                tr.forced_change[EGO] = nxt

    def _check_collisions(self) -> None:
        """Broad phase in numpy (bounding circles); pybullet's narrow phase where they
        overlap. New touching pairs are recorded as collisions."""
        st = self.state
        self._since_check_m = 0.0
        tr = self.traffic
        # Cars stay within a few metres of their lane: test only the props near it; the
        # rare car far off its lane tests every prop.
        props = self._lane_props[np.maximum(tr.lane, 0)]
        off_lane = tr.active & ((np.abs(tr.d) > _LANE_CORRIDOR_M) | (tr.lane < 0))
        n_props = len(self.props)
        if off_lane.any() and n_props:
            wide = np.full((len(props), max(n_props, props.shape[1])), -1, np.int64)
            wide[:, :props.shape[1]] = props
            wide[off_lane] = -1
            wide[off_lane, :n_props] = np.arange(n_props)
            props = wide
        near = self.collision_world.candidates(st.x, st.y, st.yaw, tr.active, props)
        self.collision_world.sync(st.x, st.y, st.yaw, near)   # also parks stale bodies
        pairs = self.collision_world.contacts() if near.any() else set()
        for pair in sorted(pairs - self._touching):  # sets have no stable order
            a = self.vehicle_names[pair[1]]
            b = self.vehicle_names[pair[3]] if pair[2] == "vehicle" else self.props[pair[3]].name
            self.collisions.append(Collision(round(self.time_s, 6), a, b))
            self.traffic.crashed[pair[1]] = True
            if pair[2] == "vehicle":
                self.traffic.crashed[pair[3]] = True
            log.info("collision at t=%.2f s: %s - %s", self.time_s, a, b)
        self._touching = pairs

    # ------------------------------------------------------------------ queries
    def _record_history(self) -> None:
        self.history.push(self.time_s, self.state.data[:, EGO])

    def ego_pose(self, t_s: float | None = None) -> Pose:
        """The ego body pose at ``t_s`` (default now; up to ~0.5 s in the past)."""
        return self.history.pose(self.time_s if t_s is None else t_s)

    def mirror(self) -> SceneMirror:
        """The ray-cast scene with every active vehicle placed at the current time."""
        if self._mirror_step != self.step_index:
            st, pr = self.state, self.params
            act = self.traffic.active
            verts, tris, owner = car_mesh.place_cars(st.x[act], st.y[act], st.yaw[act],
                                                     pr.length_m[act], pr.width_m[act],
                                                     pr.height_m[act])
            self._mirror.set_dynamic(verts, tris, self.vehicle_ids[act][owner], self.time_s)
            self._mirror_step = self.step_index
        return self._mirror

    def vehicle_boxes(self) -> list[ObjectBox]:
        st, pr = self.state, self.params
        sem = SEMANTIC_CLASSES["vehicle"]
        return [ObjectBox(int(self.vehicle_ids[i]), sem, self.vehicle_names[i],
                          np.array([st.x[i], st.y[i], pr.height_m[i] / 2]),
                          np.array([pr.length_m[i], pr.width_m[i], pr.height_m[i]]),
                          float(st.yaw[i]))
                for i in np.flatnonzero(self.traffic.active)]

    def object_boxes(self) -> list[ObjectBox]:
        """GT boxes of all active vehicles (ego included) and props."""
        return self.vehicle_boxes() + [p.box() for p in self.props]

    def light_states(self) -> dict[str, dict[str, str]]:
        """Light state per intersection and arm group (``east_west``, ``north_south``)."""
        return self.signals.snapshot()

    def traffic_light_states(self) -> dict[int, str]:
        """State ("red"/"yellow"/"green") of every traffic-light object by instance id,
        to join with camera boxes and lidar points (their semantic is traffic_light)."""
        snap = self.signals.snapshot()
        names = ("east_west", "north_south")
        return {iid: snap[jid][names[group]] for iid, (jid, group) in self.light_groups.items()
                if jid in snap}

    def route_progress(self) -> float | None:
        """Fraction of the ego route driven (0-1); None when the ego has no destination."""
        if self.scenario.ego.destination is None:
            return None
        total = self.spawner.route_length_m
        if total <= 0:
            return 1.0
        k = min(self.route_index, len(self.route) - 1)
        done = self.spawner.route_offsets[k] + self.traffic.s[EGO] - self.spawner.route_start_s
        return float(np.clip(done / total, 0.0, 1.0))

    def close(self) -> None:
        """Release the pybullet client."""
        self.collision_world.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
