"""Running a scenario to an output folder: summary.json, trajectory.csv, bev.mp4, previews.

Everything written is a function of the scenario and seed only (no wall-clock values), so
two runs with the same inputs produce identical files.
"""

from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runner.outputs import OutputError, TextOutput, VideoOutput, write_image, write_json
from scenarios import sampled_values, variant_of
from scenarios.schema import Scenario
from sensors.rig import Rig
from simulator.world import World
from viz.bev import BevRenderer
from viz.preview import preview_images, series_images, wants_series

log = logging.getLogger(__name__)


@dataclass
class RunOptions:
    """What a run writes besides the summary and the trajectory."""

    video: bool = True
    sensors: bool = True
    preview_every_s: float = 1.0  # sensor preview images at most this often [s]
    progress: Callable[[float], None] | None = None  # called with simulated seconds done


def with_overrides(scenario: Scenario, seed: int | None = None,
                   duration_s: float | None = None) -> Scenario:
    """A copy of the scenario with the CLI's seed / duration overrides applied."""
    sim = scenario.simulation
    upd = {}
    if seed is not None:
        upd["seed"] = seed
    if duration_s is not None:
        upd["duration_s"] = duration_s
    if not upd:
        return scenario
    return scenario.model_copy(update={"simulation": sim.model_copy(update=upd)})


class _TrajectoryWriter:
    COLUMNS = ("time_s", "actor_id", "x", "y", "z", "yaw", "speed_mps")

    def __init__(self, path: Path):
        self._f = TextOutput(path)
        self._w = csv.writer(self._f)
        self._w.writerow(self.COLUMNS)

    def write(self, world: World) -> None:
        st = world.state
        t = f"{world.time_s:.3f}"
        active = np.flatnonzero(world.traffic.active)
        bad = active[~np.isfinite(st.x[active] + st.y[active] + st.yaw[active] + st.vx[active])]
        if len(bad):
            raise OutputError(self._f.path, f"the state of {world.vehicle_names[bad[0]]} is "
                              f"not finite at t = {t} s; no NaN is written")
        z = world.vehicle_z_m
        for i in active:
            self._w.writerow((t, world.vehicle_names[i], f"{st.x[i]:.3f}", f"{st.y[i]:.3f}",
                              f"{z[i]:.3f}", f"{st.yaw[i]:.5f}", f"{st.vx[i]:.3f}"))

    def close(self) -> None:
        self._f.close()


def run_scenario(scenario: Scenario, out_dir: Path, options: RunOptions | None = None,
                 source: str = "") -> dict:
    """Simulate ``scenario`` for its duration and write the outputs into ``out_dir``.

    Returns:
        The summary (also written to ``out_dir/summary.json``).
    """
    opts = options or RunOptions()
    out_dir.mkdir(parents=True, exist_ok=True)
    sim = scenario.simulation
    record_every = int(round(sim.physics_hz / sim.record_hz))
    n_steps = int(round(sim.duration_s * sim.physics_hz))
    with World(scenario) as world:
        npc = _npc_policies(scenario, world, source)
        controls: dict = {}
        rig = _make_rig(world, scenario) if (opts.sensors and scenario.sensors) else None
        previews = _Previews(out_dir / "preview", opts.preview_every_s) if rig else None
        traj = _TrajectoryWriter(out_dir / "trajectory.csv")
        bev = BevRenderer.of(world) if opts.video else None
        video = None
        if bev is not None:
            video = VideoOutput(out_dir / "bev.mp4", sim.record_hz, bev.frame_size)
        lane_changes = 0
        try:
            for k in range(n_steps + 1):
                if k:
                    if npc is not None and world.step_index % world.control_every == 0:
                        controls = npc.controls(world)   # held until the next decision
                    world.step(controls)
                if rig is not None:
                    for name, meas in rig.capture(world, world.time_s).items():
                        previews.add(name, meas)
                if k % record_every == 0:
                    traj.write(world)
                    if video is not None:
                        video.write(bev.render(world))
                    if opts.progress is not None:
                        opts.progress(world.time_s)
            lane_changes = int(world.lane_change_count)
            if video is not None:
                video.close()  # checks that every frame reached the file
        finally:
            traj.close()
            if video is not None:
                video.release()
        if previews is not None:
            previews.finish()
        summary = _summary(world, scenario, source, lane_changes)
    write_json(out_dir / "summary.json", summary)
    return summary


def _npc_policies(scenario: Scenario, world: World, source: str):
    """``traffic.policy``'s NPCs (None without one); a relative model path is taken from
    the scenario file's folder when ``source`` names the file."""
    if scenario.traffic.policy is None:
        return None
    from envs.npc_policy import NpcPolicies

    base = Path(source).resolve().parent if source and Path(source).is_file() else None
    npc = NpcPolicies.from_scenario(scenario, world, exclude=(0,), base_dir=base)
    npc.reset(world)
    return npc


def _summary(world: World, scenario: Scenario, source: str, lane_changes: int) -> dict:
    route = [world.hdmap.lanes[i].id for i in world.route]
    progress = world.route_progress()
    variant, variant_values = variant_of(scenario)
    return {
        "scenario": scenario.name,
        "scenario_file": source,
        "seed": scenario.simulation.seed,
        # Randomised fields (path -> value drawn from the seed) and the sweep variant.
        "sampled": sampled_values(scenario),
        "variant": None if variant is None else {"index": variant, "values": variant_values},
        "sim_time_s": round(world.time_s, 6),
        "physics_hz": scenario.simulation.physics_hz,
        "actors": len(world.vehicle_names),
        "distance_m": {name: round(float(d), 3)
                       for name, d in zip(world.vehicle_names, world.distance_m)},
        "collisions": [{"time_s": c.time_s, "actor_a": c.actor_a, "actor_b": c.actor_b}
                       for c in world.collisions],
        "lane_changes": lane_changes,
        "ego_route": {
            "lanes": route,
            "length_m": round(world.routes.route(0).length_m, 3) if progress is not None
            else None,
            "progress": None if progress is None else round(progress, 4),
            "reached": None if progress is None else bool(progress >= 0.999),
        },
        "traffic_lights": world.light_states(),
        # Where the map came from; OpenDRIVE file coordinates = ours + map_origin [m].
        "map_source": world.hdmap.source,
        "map_origin": [round(float(v), 6) for v in world.hdmap.origin],
        "geo_origin": world.geo_origin.model_dump(mode="json"),
        "props": len(world.props),
        # Scripted events that fired, in order: {"event", "time_s", "actions"}.
        "events": world.event_log,
        # How each action ended: {"event", "action", "actor", "time_s", "result"}.
        "event_results": world.events.completed,
        "pedestrians": len(world.scenario.pedestrians),
        "debris": len(world.actor_group("debris").boxes())
        if world.actor_group("debris") is not None else 0,
    }


def _make_rig(world: World, scenario: Scenario):
    return Rig(list(scenario.sensors), world.sensor_seed_seq)


class _Previews:
    """Writes sensor preview images at most every ``every_s`` per sensor, and the GNSS plot."""

    def __init__(self, folder: Path, every_s: float):
        self.folder = folder
        self.every_s = every_s
        self._last: dict[str, float] = {}
        self._series: dict[str, list] = {}
        folder.mkdir(parents=True, exist_ok=True)

    def add(self, name: str, meas) -> None:
        if wants_series(meas):
            self._series.setdefault(name, []).append(meas)
        last = self._last.get(name)
        if last is not None and meas.time_s - last < self.every_s - 1e-9:
            return
        self._last[name] = meas.time_s
        for suffix, img in preview_images(meas).items():
            write_image(self.folder / f"{name}_{meas.time_s:07.2f}s_{suffix}.png", img)

    def finish(self) -> None:
        for name, series in self._series.items():
            for suffix, img in series_images(series).items():
                write_image(self.folder / f"{name}_{suffix}.png", img)
