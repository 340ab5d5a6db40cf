"""The World: owns all mutable simulation state and advances it at a fixed step.

``World(scenario)`` builds what stays fixed (HD map, static scene of roads, markings and
props, the ray-cast mirror, a pybullet collision client) once, then starts an episode: the
vehicles (ego = index 0) with their dynamics, drivers and routes. ``reset(seed)`` starts a
new episode in the same world in milliseconds. ``step(controls)`` advances one physics step;
drivers decide every ``physics_hz / control_hz`` steps; ``controls`` drive any vehicles
from outside (see :mod:`simulator.controls`).

Sensors read the world through ``time_s``, ``mirror()``, ``ego_pose(t)``,
``object_boxes()``, ``materials``, ``geo_origin`` and ``ego_instance_id``.

Seeds: one ``numpy.random.SeedSequence`` tree. The static layout (generated roadside props)
comes from the build seed's child (0) and is kept by ``reset``; an episode seed gives the
NPC drivers (1, i), the sensors (2, name), the colours (3, i) and the spawns (4).
"""

from __future__ import annotations

import logging

import numpy as np

from scenarios.schema import Scenario
from simulator.actors import build_actor_groups
from simulator.controls import (
    NOT_SEEN,
    Controls,
    DirectControl,
    EgoControl,
    MetaAction,
    normalise_controls,
    remember_controls,
    resolve_vehicle,
    same_controls,
)
from simulator.map.build import build_hdmap
from simulator.map.lane_arrays import LaneArrays
from simulator.map.route import plan_lane_route, plan_route
from simulator.pose import Pose
from simulator.scene.collision_monitor import Collision, CollisionMonitor
from simulator.scene.collisions import CollisionWorld
from simulator.scene.layout import STATIC_ID_BASE, build_static_scene
from simulator.scene.mirror import SceneMirror
from simulator.scene.objects import ObjectBox
from simulator.scene.semantics import SEMANTIC_CLASSES, MaterialInfo
from simulator.seeds import (
    ACTOR_KEY,
    GROUP_KEY,
    KIND_KEY,
    LAYOUT_KEY,
    NPC_KEY,
    SPAWN_KEY,
    SeedLike,
    child,
    root_seed,
    sensor_seed_seq,
)
from simulator.traffic.drivers import build_drivers
from simulator.traffic.events import EventEngine
from simulator.traffic.lane_tracking import LaneTracker
from simulator.traffic.logic import NO_LANE, TrafficLogic
from simulator.traffic.routes import RouteTable
from simulator.traffic.signals import SignalTable
from simulator.traffic.spawn import Placement, Spawner
from simulator.vehicles import dynamics
from simulator.vehicles import mesh as car_mesh
from simulator.vehicles.friction import friction_factor
from simulator.vehicles.history import PoseHistory
from simulator.vehicles.kinds import KINDS, kind_spec, npc_kinds
from simulator.vehicles.paint import vehicle_colors
from simulator.vehicles.surface import surface_pose_rows, surface_table

__all__ = ["Collision", "DirectControl", "EgoControl", "MetaAction", "World", "STATIC_ID_BASE"]

log = logging.getLogger(__name__)

EGO = 0
MOBIL_PERIOD_S = 1.0
HISTORY_S = 2.0  # how far back ego_pose(t) reaches (rolling-shutter sweeps, motion blur)
_PARK_X = 1.0e5  # inactive vehicles wait far outside the map


class World:
    """A running scenario.

    Args:
        scenario: a validated scenario.
        seed: the seed tree's root (an int or a ``numpy.random.SeedSequence``); default
            ``scenario.simulation.seed``. It fixes the static layout and the first episode.

    Raises:
        WorldError: the scenario references lanes that do not exist, or cannot spawn.
    """

    def __init__(self, scenario: Scenario, seed: SeedLike = None):
        self.scenario = scenario
        sim = scenario.simulation
        self.dt_s = 1.0 / sim.physics_hz
        self.control_every = int(round(sim.physics_hz / sim.control_hz))
        build_root = root_seed(scenario.simulation.seed if seed is None else seed)
        self.hdmap = build_hdmap(scenario.map)
        # The scenario's geo origin, else the OpenDRIVE file's geoReference, else default.
        self.geo_origin = scenario.map.geo_origin
        if not scenario.map.geo_origin_given and self.hdmap.extra.get("geo_origin"):
            self.geo_origin = self.hdmap.extra["geo_origin"]
        self.lanes = LaneArrays(self.hdmap)

        # Vehicles: the ego (0), the named actors (1..k), the random NPCs (k+1..).
        actors, traffic = scenario.actors, scenario.traffic
        self.n_named = len(actors)
        n = 1 + self.n_named + traffic.count
        self.n_vehicles = n
        npc = npc_kinds(traffic, traffic.count,
                        np.random.default_rng(child(build_root, KIND_KEY)))
        self.vehicle_kinds = ["car"] + [a.kind for a in actors] + npc
        self.specs = [scenario.ego.vehicle] + \
            [a.vehicle or kind_spec(a.kind, traffic) for a in actors] + \
            [kind_spec(k, traffic) for k in npc]
        self.params = dynamics.VehicleParams.from_specs(self.specs)
        self.weather = scenario.weather
        self.params.mu *= friction_factor(self.weather)   # a wet road (no-op when dry)
        self.vehicle_ids = np.arange(1, n + 1)
        self.ego_instance_id = int(self.vehicle_ids[EGO])
        self.vehicle_names = ["ego"] + [a.name for a in actors] + \
            [f"npc_{i:03d}" for i in range(traffic.count)]
        self.vehicle_semantic = np.array([SEMANTIC_CLASSES[KINDS[k].semantic]
                                          for k in self.vehicle_kinds], np.int64)
        self.top_speed_mps = np.array([KINDS[k].top_speed_mps for k in self.vehicle_kinds])
        # Named actors and the ego do not re-enter after leaving the map.
        self.respawnable = np.ones(n, bool)
        self.respawnable[:1 + self.n_named] = False

        # --- static scene: built once, kept by every reset
        scene = build_static_scene(scenario, self.hdmap,
                                   np.random.default_rng(child(build_root, LAYOUT_KEY)))
        self.static_objects = scene.objects
        self.props = scene.props
        self.light_groups = scene.light_groups
        self.materials = scene.materials
        self._material_info = scene.material_info
        # Props above the road (a bridge, a tunnel roof) are seen by sensors only: cars
        # neither stop for them nor touch them.
        grounded = [p for p in self.props if p.on_ground]
        self.lanes.set_obstacles([p.footprint() for p in grounded])
        self._mirror = SceneMirror(self.static_objects, self.materials)
        # Each kind its own low-poly mesh (simulator.vehicles.mesh), scaled to its spec.
        self.vehicle_mesh = np.array([car_mesh.mesh_index(KINDS[k].mesh)
                                      for k in self.vehicle_kinds], np.int64)
        hulls = [car_mesh.collision_hull_vertices(s.length_m, s.width_m, s.height_m,
                                                  mesh=KINDS[k].mesh)
                 for s, k in zip(self.specs, self.vehicle_kinds)]
        self.collision_world = CollisionWorld(
            hulls, [(p.center_xy, p.size, p.yaw) for p in grounded],
            prop_z=[p.z_m for p in grounded])
        self.collision_monitor = CollisionMonitor(self.collision_world, self.vehicle_names,
                                                  [p.name for p in grounded])
        self.signals = SignalTable(self.hdmap.lanes, {
            **{x.id: x.signal for x in scenario.map.intersections},
            **{j: scenario.map.signal for j in self.hdmap.extra.get("signalised_junctions", [])}})
        self.spawner = Spawner(self.lanes, self.params.length_m, scenario.traffic)
        # Between checks two cars close in by <= 2 * vmax * dt, which must stay below their
        # two widths; a car closes on a prop by <= vmax * dt, below its width plus the
        # prop's. Both hold when the fastest car travels less than the narrowest width
        # (80% of it, for margin).
        self._check_extent_m = 0.8 * float(self.params.width_m.min())
        # Lane-change (MOBIL) decisions every ~1 s: drivers do not re-plan lanes each decision.
        self._mobil_every = max(1, int(round(MOBIL_PERIOD_S / (self.dt_s * self.control_every))))
        # Pedestrians, debris ...: groups with their own arrays (simulator.actors).
        self.actor_groups = build_actor_groups(self)
        self._ego_route = plan_route(self.hdmap, scenario.ego)
        self._actor_routes = [plan_lane_route(
            self.hdmap, a.start.lane, a.start.s_m,
            None if a.destination is None else a.destination.lane,
            None if a.destination is None else a.destination.s_m, f"actors[{j}]")
            for j, a in enumerate(actors)]
        self._surface_key: tuple | None = None   # (LaneTable, params version) bound in
        self._surface_args: tuple = ()            # ... these kernel arguments
        self._episode = 0
        self.events: EventEngine | None = None   # scripted events (built after episode 0)
        self._start_episode(build_root)
        self.events = EventEngine(scenario, self)

    # ------------------------------------------------------------------ episodes
    def reset(self, seed: SeedLike = None) -> None:
        """Start a new episode in the same world.

        The map, the static scene (props included), the ray-cast mirror and the pybullet
        bodies are kept; traffic, drivers, colours, routes, signals, histories and collision
        state are drawn again from ``seed`` exactly as a new ``World(scenario, seed)``
        would draw them. ``seed`` None: the next seed of this world's own sequence.
        """
        self._episode += 1
        if seed is None:
            seed = np.random.SeedSequence(self.scenario.simulation.seed,
                                          spawn_key=(5, self._episode))
        self._start_episode(root_seed(seed))

    def _start_episode(self, root: np.random.SeedSequence) -> None:
        sc = self.scenario
        n = self.n_vehicles
        self.seed_seq = root
        self.sensor_seed_seq = sensor_seed_seq(root)
        self.rng = np.random.default_rng(child(root, SPAWN_KEY))
        # A named actor's driver stream is (ACTOR_KEY, j), a random NPC's (NPC_KEY, i):
        # adding a named actor does not change the random NPCs' drivers.
        npc_rngs = [np.random.default_rng(child(root, ACTOR_KEY, j))
                    for j in range(self.n_named)] + \
            [np.random.default_rng(child(root, NPC_KEY, i))
             for i in range(sc.traffic.count)]
        self.step_index = 0
        self.state = dynamics.VehicleState(n)
        self._set_colors(root)
        drv = build_drivers(sc, npc_rngs, self.params.max_accel_mps2,
                            self.params.max_decel_mps2, self.dt_s * self.control_every,
                            self.top_speed_mps)
        self.drivers, self.driver_params = drv.arrays, drv.params
        self.reaction, self.wander, self.speed_pid = drv.reaction, drv.wander, drv.speed_pid
        self.driver_models = drv
        self.traffic = TrafficLogic(self.lanes, self.drivers, self.params.wheelbase_m,
                                    self.params.length_m)
        self._crashed_view: np.ndarray | None = None
        self.signals.update(0.0)
        self.routes = RouteTable(n)
        self.routes.set(EGO, self._ego_route)
        self.routed = np.zeros(n, bool)
        self.routed[EGO] = True
        self.tracker = LaneTracker(self.hdmap, self.lanes, self.routes)
        self.tracker.successor_rngs = [None] + npc_rngs
        # A vehicle with a destination keeps to its planned lanes; the others change lanes
        # like drivers do (MOBIL), e.g. around an obstacle.
        self._mobil_allowed = np.ones(n, bool)
        self._mobil_allowed[EGO] = sc.ego.destination is None
        for j, (a, route) in enumerate(zip(sc.actors, self._actor_routes), start=1):
            if a.destination is not None:
                self.routes.set(j, route)
                self.routed[j] = True
                self._mobil_allowed[j] = False
        self.direct = np.zeros(n, bool)      # driven by DirectControl this step
        self.meta = np.zeros(n, bool)        # driven by MetaAction this step
        self._external = True                # False: nobody was driven from outside last step
        self._meta_actions: dict[int, MetaAction] = {}
        self._last_controls: object = NOT_SEEN   # see controls.remember_controls
        self._direct_cmds: list[tuple[int, float, float]] = []
        self.meta_speed_mps = np.full(n, np.nan)
        self.accel_cmd = np.zeros(n)
        self.steer_cmd = np.zeros(n)
        self.spawner.reset()
        start = self._ego_route
        first = [Placement(EGO, start.lanes[0], start.start_s, sc.ego.speed_mps)] + \
            [Placement(j, r.lanes[0], r.start_s, a.speed_mps)
             for j, (a, r) in enumerate(zip(sc.actors, self._actor_routes), start=1)]
        self._place(first)
        k = len(first)
        placements = self.spawner.initial(self.rng, self.traffic.lane[:k].copy(),
                                          self.traffic.s[:k].copy(),
                                          np.array([self.state.x[EGO], self.state.y[EGO]]),
                                          self.drivers.desired_speed_factor,
                                          self.drivers.comfort_decel_mps2)
        placed = np.zeros(n, bool)
        placed[:k] = True
        self._place(placements)
        placed[[pl.vehicle for pl in placements]] = True
        for i in np.flatnonzero(~placed):
            self._park(int(i))
        for j, a in enumerate(sc.actors, start=1):
            if a.hidden:            # off the map until a `spawn` event
                self._park(j)
        if self.events is not None:
            self.events.reset()   # nothing fired, nothing running
        self.distance_m = np.zeros(n)
        self.lane_change_count = 0
        self._decisions = 0
        self.collisions: list[Collision] = []
        self.collision_monitor.reset()
        self._since_check_m = np.inf
        self._mirror_step = -1
        self.history = PoseHistory(capacity=int(round(HISTORY_S / self.dt_s)) + 2)
        self._dynamic_key: bytes | None = None   # clear any left from the last episode
        for k, group in enumerate(self.actor_groups):
            group.reset(np.random.default_rng(child(root, GROUP_KEY, k)))
        # The road surface under each vehicle (all 0 on a flat map, see _update_surface).
        self._vehicle_z = np.zeros(n)
        self._vehicle_pitch = np.zeros(n)
        self._vehicle_roll = np.zeros(n)
        self._surface_step = -1
        self._record_history()
        self._check_collisions()

    def _set_colors(self, root: np.random.SeedSequence) -> None:
        """Vehicle colours from their own streams (3, i): they never shift a driver's draws."""
        colors = vehicle_colors(self.scenario, self.n_vehicles, root)
        self.vehicle_colors = colors
        paint = self._material_info["car_paint"]
        for iid, sem, color in zip(self.vehicle_ids, self.vehicle_semantic, colors):
            self.materials.set(int(iid), int(sem),
                               MaterialInfo(tuple(color), paint.lidar_reflectivity,
                                            paint.gnss_reflectivity))

    def _place(self, placements: list[Placement]) -> None:
        """Put vehicles at lane stations, driving along the lane at their speeds."""
        if not placements:
            return
        idx = np.array([p.vehicle for p in placements], np.int64)
        lane = np.array([p.lane for p in placements], np.int64)
        s = np.array([p.s_m for p in placements], float)
        x, y = self.lanes.positions(lane, s)
        yaw = self.lanes.headings(lane, s)
        tr = self.traffic
        cruise = self.drivers.cruise_speed_mps
        for k, pl in enumerate(placements):
            # A random NPC enters at most at its cruise speed (a cyclist on a motorway).
            speed = min(pl.speed_mps, cruise[pl.vehicle]) if self.respawnable[pl.vehicle] \
                else pl.speed_mps
            self.state.set(pl.vehicle, float(x[k]), float(y[k]), float(yaw[k]), float(speed))
        tr.lane[idx], tr.s[idx], tr.d[idx] = lane, s, 0.0
        tr.prev_lane[idx] = NO_LANE
        tr.active[idx] = True
        tr.crashed[idx] = False
        tr.change_cooldown_s[idx] = 0.0
        for pl in placements:
            tr.next_lane[pl.vehicle] = self.tracker.choose_next(pl.vehicle, pl.lane)
        self.reaction.reset(idx, 0.0)

    def _park(self, i: int) -> None:
        self.state.set(i, _PARK_X + 30.0 * i, 0.0, 0.0, 0.0)
        self.traffic.active[i] = False
        self.traffic.lane[i] = NO_LANE
        self.traffic.next_lane[i] = NO_LANE

    # ------------------------------------------------------------------ routes
    def vehicle_index(self, vehicle: int | str) -> int:
        """Index of a vehicle given by index or name (``"ego"``, ``"npc_007"``)."""
        return resolve_vehicle(vehicle, self.vehicle_names)

    def set_route(self, vehicle: int | str, destination_lane: str | None,
                  destination_s_m: float | None = None) -> None:
        """Route a vehicle from where it is to a lane station (None: drop its route; it
        follows lanes freely and changes lanes like a driver).

        Raises:
            WorldError: unknown lane or no route; ValueError: the vehicle is off the map.
        """
        i = self.vehicle_index(vehicle)
        tr = self.traffic
        if destination_lane is None:
            self.routes.set(i, None)
            self.routed[i] = False
            self._mobil_allowed[i] = True
            tr.stop_at_s[i] = np.inf
        else:
            if not tr.active[i]:
                raise ValueError(f"{self.vehicle_names[i]} is not on the map")
            route = plan_lane_route(self.hdmap, int(tr.lane[i]), float(tr.s[i]),
                                    destination_lane, destination_s_m,
                                    self.vehicle_names[i])
            self.routes.set(i, route)
            self.routed[i] = True
            self._mobil_allowed[i] = False
        if tr.active[i]:
            tr.next_lane[i] = self.tracker.choose_next(i, int(tr.lane[i]))

    def route_progress(self, vehicle: int | str = EGO) -> float | None:
        """Fraction of a vehicle's route driven (0-1); None without a destination."""
        i = self.vehicle_index(vehicle)
        return self.routes.progress(i, float(self.traffic.s[i]))

    @property
    def route(self) -> list[int]:
        """The ego's route (lane indices)."""
        return self.routes.lanes(EGO)

    @property
    def event_log(self) -> list[dict]:
        """Events fired in this episode, in order: ``{"event", "time_s", "actions"}``."""
        return self.events.log

    @property
    def crashed(self) -> np.ndarray:
        """(n,) bool: vehicles that have crashed in this episode (read-only view)."""
        v = self._crashed_view
        if v is None or v.base is not self.traffic.crashed:
            v = self._crashed_view = self.traffic.crashed.view()
            v.flags.writeable = False
        return v

    # ------------------------------------------------------------------ stepping
    @property
    def time_s(self) -> float:
        return self.step_index * self.dt_s

    def step(self, controls: Controls = None) -> None:
        """Advance one physics step.

        Args:
            controls: ``{vehicle: DirectControl | MetaAction}`` (vehicle by index or name)
                for the vehicles driven from outside in this step; a bare control is the
                ego's. Every other vehicle is driven by its own driver (the ego by its
                autopilot), resuming from its last decision.
        """
        # An env repeats one action for several physics steps: nothing to take again.
        if not same_controls(controls, self._last_controls):
            self._take_controls(controls)
        self.events.step()   # triggers at this step's start; actions advance
        if self.step_index % self.control_every == 0:
            self._decide()
        for i, accel, steer in self._direct_cmds:
            self.accel_cmd[i] = accel
            self.steer_cmd[i] = steer
        self.events.apply(self.accel_cmd)   # event braking / gap keeping, every step
        dynamics.step(self.state, self.params, self.accel_cmd, self.steer_cmd, self.dt_s)
        top_speed = dynamics.odometer(self.distance_m, self.state.vx, self.dt_s)
        self.step_index += 1
        for group in self.actor_groups:
            group.step(self, self.dt_s)
        self._record_history()
        # Two bodies can only pass through each other unseen if their relative motion
        # between checks exceeds their combined extent (>= the narrowest car plus the
        # thinnest prop); the fastest car bounds that motion.
        self._since_check_m += top_speed * self.dt_s
        # ...and at least once per decision, so slow contacts are stamped on time.
        if self._since_check_m >= self._check_extent_m or \
                self.step_index % self.control_every == 0:
            self._check_collisions()

    def _take_controls(self, controls: Controls) -> None:
        """Who is driven from outside, and how, from this step on."""
        ctl = normalise_controls(controls, self.vehicle_names)
        self._last_controls = remember_controls(controls)
        self._direct_cmds = [(i, c.accel_mps2, c.steer_rad) for i, c in ctl.items()
                             if isinstance(c, DirectControl)]
        if ctl or self._external:   # nobody driven from outside, now or before: nothing to do
            direct = np.zeros(self.n_vehicles, bool)
            meta = np.zeros(self.n_vehicles, bool)
            for i, c in ctl.items():
                (direct if isinstance(c, DirectControl) else meta)[i] = True
            # A hand-over (driver <-> outside, or between kinds): no stale integral or
            # derivative.
            changed = (direct != self.direct) | (meta != self.meta)
            if changed.any():
                self.speed_pid.reset(np.flatnonzero(changed))
                self.meta_speed_mps[changed & ~meta] = np.nan
            self.direct, self.meta = direct, meta
            self._meta_actions = {i: c for i, c in ctl.items() if isinstance(c, MetaAction)}
            self._external = bool(ctl)

    def _update_lanes(self) -> None:
        """Lane bookkeeping, dead-end exits and re-entries, route stops."""
        tr, st = self.traffic, self.state
        exits = self.tracker.update(tr, st.x, st.y, st.yaw, self.direct,
                                    self.params.length_m, self.routed)
        for i in exits:
            self._park(int(i))
        parked = np.flatnonzero(~tr.active & self.respawnable)
        if len(parked):
            ego_xy = np.array([st.x[EGO], st.y[EGO]])
            self._place(self.spawner.respawns(self.time_s, self.rng, parked, tr.active, st.x,
                                              st.y, ego_xy, self.drivers.desired_speed_factor,
                                              self.drivers.comfort_decel_mps2))
        self.tracker.route_stops(tr, self.params.length_m, self.routed)

    def _apply_meta_actions(self) -> None:
        tr, la = self.traffic, self.lanes
        for i, m in self._meta_actions.items():
            if m.target_speed_mps is not None:
                self.meta_speed_mps[i] = m.target_speed_mps
            lane = tr.lane[i]
            if lane < 0:
                continue
            want = {"left": la.left[lane], "right": la.right[lane]}.get(m.lane_change, NO_LANE)
            tr.forced_change[i] = want if want >= 0 else NO_LANE

    def _decide(self) -> None:
        """Driver decisions for all vehicles (IDM, MOBIL, lights, yielding, pure pursuit)."""
        tr = self.traffic
        st = self.state
        self._update_lanes()
        speed = np.maximum(st.vx, 0.0)
        self.signals.update(self.time_s)
        light_states = self.signals.lane_states()
        wander = np.ones(self.n_vehicles)
        if self.wander is not None:
            wander[1:] = self.wander.step()
        outside = self.direct | self.meta
        pid_rows = self.meta.copy()
        pid_rows[EGO] |= not self.direct[EGO]
        if self.meta.any():
            self._apply_meta_actions()
            v0 = tr.desired_speed(wander, np.where(self.meta, self.meta_speed_mps, np.nan))
        else:
            v0 = tr.desired_speed(wander)
        if self.actor_groups:       # pedestrians on the road: obstacles drivers stop for
            self._dynamic_obstacles()
        tr.find_leaders()
        stops = tr.stop_distance(speed, light_states, tr.junction_stops(speed, light_states))
        acc = tr.accelerations(speed, v0, stops)
        ctrl_dt = self.dt_s * self.control_every
        self.tracker.route_lane_changes(tr, np.flatnonzero(self.routed & ~outside))
        tr.lane_change_allowed[:] = self._mobil_allowed & ~outside & ~self.events.held
        self._decisions += 1
        mobil_tick = self._decisions % self._mobil_every == 0
        movers = None
        if mobil_tick or (tr.forced_change >= 0).any():
            movers = tr.lane_changes(speed, v0, ctrl_dt * self._mobil_every, mobil=mobil_tick)
        if movers is not None and movers.any():
            self.lane_change_count += int(movers.sum())
            self.tracker.after_lane_change(tr, movers)
            tr.find_leaders()       # movers follow their new leader from now on
            acc = tr.accelerations(speed, v0, stops)
        self.driver_models.accel_commands(tr, speed, acc, v0, pid_rows,
                                          self.params.max_decel_mps2, self.accel_cmd)
        self.steer_cmd[:] = tr.steering(st.x, st.y, st.yaw, speed)
        inactive = ~tr.active
        self.accel_cmd[inactive] = 0.0
        self.steer_cmd[inactive] = 0.0

    def _dynamic_obstacles(self) -> None:
        footprints = [fp for g in self.actor_groups for fp in g.obstacles()]
        key = np.concatenate(footprints).tobytes() if footprints else b""
        if key != self._dynamic_key:       # standing pedestrians: nothing to redo
            self.lanes.set_dynamic_obstacles(footprints)
            self._dynamic_key = key

    def _check_collisions(self) -> None:
        """Record the contacts that began since the last check; flag who crashed."""
        self._since_check_m = 0.0
        st, tr = self.state, self.traffic
        # On an elevated map the bodies are posed in 3D: a car on a bridge does not touch
        # the car below it.
        surface = (self.vehicle_z_m, self.vehicle_pitch_rad, self.vehicle_roll_rad) \
            if self.elevated else (None, None, None)
        for c in self.collision_monitor.check(self.time_s, st.x, st.y, st.yaw, tr.active,
                                              *surface):
            self._record_collision(c)
        for group in self.actor_groups:
            for c in group.contacts(self):
                self._record_collision(c)

    def _record_collision(self, c: Collision) -> None:
        self.traffic.crashed[c.vehicle_a] = True
        if c.vehicle_b >= 0:
            self.traffic.crashed[c.vehicle_b] = True
        self.collisions.append(c)
        log.info("collision at t=%.2f s: %s - %s", self.time_s, c.actor_a, c.actor_b)

    # ------------------------------------------------------------------ road surface
    @property
    def elevated(self) -> bool:
        """The map has road heights (``LaneTable.flat`` False): vehicles ride on them."""
        return not self.hdmap.table.flat

    @property
    def vehicle_z_m(self) -> np.ndarray:
        """(n,) height of each vehicle's body origin (the road surface below its footprint
        centre) [m]; 0 on a flat map. See ``_update_surface``."""
        if self._surface_step != self.step_index:
            self._update_surface()
        return self._vehicle_z

    @property
    def vehicle_pitch_rad(self) -> np.ndarray:
        """(n,) pitch on the road surface [rad]: ``rpy_to_matrix``'s, > 0 nose *down*, so
        a climb has pitch < 0; 0 on a flat map."""
        if self._surface_step != self.step_index:
            self._update_surface()
        return self._vehicle_pitch

    @property
    def vehicle_roll_rad(self) -> np.ndarray:
        """(n,) roll on the road surface [rad], > 0 left side up; 0 on a flat map."""
        if self._surface_step != self.step_index:
            self._update_surface()
        return self._vehicle_roll

    def _update_surface(self, rows: tuple[int, int] | None = None) -> None:
        """Height, pitch and roll of the active vehicles on a lane from the road surface
        under their wheels (``simulator.vehicles.surface``), all or ``rows`` only.

        Worked out when read (``vehicle_z_m`` ..., the mirror, the boxes, the collision
        checks) at most once per step, and for the ego at every step (its pose history).
        Vehicles off every lane (and parked ones) keep their last values. A flat map does
        no work and keeps 0.
        """
        if rows is None:
            self._surface_step = self.step_index
        table = self.hdmap.table
        if table.flat:
            return
        pr = self.params
        key = (table, pr.version)
        if self._surface_key != key:       # bound once per map and vehicle parameters
            c = np.ascontiguousarray
            self._surface_args = (self.lanes.geometry, surface_table(table),
                                  c(pr.lf_m, np.float64), c(pr.lr_m, np.float64),
                                  c(0.5 * pr.width_m, np.float64))
            self._surface_key = key
        g, heights, lf, lr, half_w = self._surface_args
        tr, st = self.traffic, self.state
        first, last = (0, self.n_vehicles) if rows is None else rows
        surface_pose_rows(g, heights, tr.lane, tr.next_lane, tr.s, st.x, st.y, tr.active,
                          lf, lr, half_w, self._vehicle_z, self._vehicle_pitch,
                          self._vehicle_roll, first, last)

    # ------------------------------------------------------------------ queries
    def _record_history(self) -> None:
        if self.elevated:
            if self._surface_step != self.step_index:
                self._update_surface((EGO, EGO + 1))
            self.history.push(self.time_s, self.state.data[:, EGO],
                              (float(self._vehicle_z[EGO]), float(self._vehicle_pitch[EGO]),
                               float(self._vehicle_roll[EGO])))
        else:
            self.history.push(self.time_s, self.state.data[:, EGO])

    def ego_pose(self, t_s: float | None = None) -> Pose:
        """The ego body pose at ``t_s`` (default now; up to ``HISTORY_S`` = 2 s back)."""
        return self.history.pose(self.time_s if t_s is None else t_s)

    def mirror(self) -> SceneMirror:
        """The ray-cast scene with every active vehicle placed at the current time."""
        if self._mirror_step != self.step_index:
            st, pr = self.state, self.params
            act = self.traffic.active
            surface = {"z": self.vehicle_z_m[act], "pitch": self.vehicle_pitch_rad[act],
                       "roll": self.vehicle_roll_rad[act]} if self.elevated else {}
            verts, tris, owner = car_mesh.place_vehicles(self.vehicle_mesh[act],
                                                         st.x[act], st.y[act], st.yaw[act],
                                                         pr.length_m[act], pr.width_m[act],
                                                         pr.height_m[act], **surface)
            tri_instance = self.vehicle_ids[act][owner]
            if self.actor_groups:
                parts = [(verts, tris, tri_instance)] + [g.mesh() for g in self.actor_groups]
                verts, tris, tri_instance = _merge_meshes(parts)
            self._mirror.set_dynamic(verts, tris, tri_instance)
            self._mirror_step = self.step_index
        return self._mirror

    def vehicle_boxes(self) -> list[ObjectBox]:
        """GT boxes of the active vehicles: centred ``height / 2`` above the road surface
        under them (``vehicle_z_m``), yaw only (pitch and roll are not boxed)."""
        st, pr = self.state, self.params
        sem = self.vehicle_semantic
        z = self.vehicle_z_m
        return [ObjectBox(int(self.vehicle_ids[i]), int(sem[i]), self.vehicle_names[i],
                          np.array([st.x[i], st.y[i], z[i] + pr.height_m[i] / 2]),
                          np.array([pr.length_m[i], pr.width_m[i], pr.height_m[i]]),
                          float(st.yaw[i]))
                for i in np.flatnonzero(self.traffic.active)]

    def object_boxes(self) -> list[ObjectBox]:
        """GT boxes of all active vehicles (ego included), other actors and props."""
        return self.vehicle_boxes() + [b for g in self.actor_groups for b in g.boxes()] + \
            [p.box() for p in self.props]

    def actor_group(self, kind: str):
        """The actor group of a kind (``"pedestrians"``, ``"debris"``), or None."""
        return next((g for g in self.actor_groups if g.kind == kind), None)

    def actor_velocities(self) -> dict[int, tuple[np.ndarray, float]]:
        """Instance id -> (world velocity (3,) [m/s], yaw rate [rad/s]) of the group
        actors (pedestrians, debris) now; vehicles are in ``state``."""
        out: dict[int, tuple[np.ndarray, float]] = {}
        for g in self.actor_groups:
            out.update(g.velocities())
        return out

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

    def close(self) -> None:
        """Release the pybullet client (and the actor groups' resources)."""
        for group in self.actor_groups:
            close = getattr(group, "close", None)
            if close is not None:
                close()
        self.collision_world.close()

    def __enter__(self) -> World:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _merge_meshes(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One mesh (vertices, triangles, per-triangle instance) from several."""
    offsets = np.cumsum([0] + [len(v) for v, _, _ in parts[:-1]])
    verts = np.concatenate([np.asarray(v, np.float32).reshape(-1, 3) for v, _, _ in parts])
    tris = np.concatenate([np.asarray(t, np.int32).reshape(-1, 3) + off
                           for (_, t, _), off in zip(parts, offsets)]).astype(np.int32)
    inst = np.concatenate([np.asarray(i, np.int32).reshape(-1) for _, _, i in parts])
    return verts, tris, inst
