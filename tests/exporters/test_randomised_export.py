"""Exporting a randomised scenario: each episode is drawn at its own seed, its world is
built from its own draw, and the manifest records what each episode drew."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from exporters.base import ExportError
from exporters.episode import episode_scenario, world_for
from exporters.job import plan_job, run_job
from scenarios import parse_scenario, sampled_values
from tests.exporters.conftest import ROOT


def randomised_text(sensors: str = "gnss imu") -> str:
    """The default scenario with 2-6 NPCs and a random ego speed; GNSS and IMU only."""
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    data["traffic"]["count"] = {"uniform": [2, 6]}
    data["ego"]["speed_mps"] = {"uniform": [4.0, 9.0]}
    data["sensors"] = [s for s in data["sensors"] if s["type"] in sensors.split()]
    return yaml.safe_dump(data)


def test_two_episodes_draw_and_record_different_values(tmp_path: Path) -> None:
    sc = parse_scenario(randomised_text(), "random.yaml")
    job = plan_job(sc, tmp_path / "out", n_frames=2, episodes=2, seed=3)
    manifest = run_job(job, "native")
    eps = manifest["episodes"]
    assert [e["seed"] for e in eps] == [3, 4]
    drawn = [e["sampled"] for e in eps]
    assert drawn[0] != drawn[1]
    for e in eps:
        assert set(e["sampled"]) == {"traffic.count", "ego.speed_mps"}
        assert 2 <= e["sampled"]["traffic.count"] <= 6
        assert 4.0 <= e["sampled"]["ego.speed_mps"] <= 9.0
        assert e["sampled"] == sampled_values(episode_scenario(job, job.episodes[e["index"]]))
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["episodes"] == eps


def test_each_episode_runs_in_a_world_of_its_own_draw(tmp_path: Path) -> None:
    sc = parse_scenario(randomised_text(), "random.yaml")
    job = plan_job(sc, tmp_path / "out", n_frames=2, episodes=3, seed=10)
    with world_for(job) as (_world, frames):
        for e in job.episodes:
            world = frames.prepare(e)
            want = episode_scenario(job, e)
            assert world.scenario.traffic.count == want.traffic.count
            assert world.scenario.ego.speed_mps == want.ego.speed_mps
            assert len(world.vehicle_names) == 1 + want.traffic.count


def test_random_sensor_fields_are_refused_in_an_export(tmp_path: Path) -> None:
    data = yaml.safe_load(randomised_text("gnss imu"))
    data["sensors"][0]["rate_hz"] = {"choice": [5, 10]}
    sc = parse_scenario(yaml.safe_dump(data), "random.yaml")
    with pytest.raises(ExportError, match="sensors\\[0\\].rate_hz: a dataset has one sensor"):
        plan_job(sc, tmp_path / "out", n_frames=2, episodes=2)


def test_workers_1_and_2_write_the_same_randomised_dataset(tmp_path: Path) -> None:
    from tests.exporters.test_job import folder_bytes

    sc = parse_scenario(randomised_text(), "random.yaml")
    m1 = run_job(plan_job(sc, tmp_path / "a", n_frames=2, episodes=2, seed=3), "native")
    m2 = run_job(plan_job(sc, tmp_path / "b", n_frames=2, episodes=2, seed=3), "native",
                 workers=2)
    assert m1 == m2
    assert folder_bytes(tmp_path / "a") == folder_bytes(tmp_path / "b")
