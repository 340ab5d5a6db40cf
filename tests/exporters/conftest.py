"""A small export job shared by the exporter tests: the default junction with 12 NPCs,
a 320x240 camera, a VLP-16, GNSS and a 100 Hz IMU; frames captured once per session."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from exporters.job import plan_job, world_for
from scenarios import parse_scenario

ROOT = Path(__file__).resolve().parents[2]


def small_scenario(**camera):
    """The default scenario, smaller: 12 NPCs, a 320x240 camera (``camera`` overrides its
    fields), a VLP-16."""
    data = yaml.safe_load((ROOT / "scenarios" / "default.yaml").read_text())
    data["traffic"]["count"] = 12
    for s in data["sensors"]:
        if s["type"] == "camera":
            s.update({"width": 320, "height": 240, **camera})
        elif s["type"] == "lidar":
            s["preset"] = "vlp16"
    return parse_scenario(yaml.safe_dump(data), "small.yaml")


@pytest.fixture(scope="session")
def small_job(tmp_path_factory):
    """``(job, frames, world)``: the 4 frames (0 - 0.3 s) of one episode, seed 7, of the
    small scenario; ``job.out_dir`` is an empty folder for the test to write into (make
    your own with ``plan_job`` if you need a fresh one)."""
    out = tmp_path_factory.mktemp("small_job")
    job = plan_job(small_scenario(), out, n_frames=4, episodes=1, seed=7)
    with world_for(job) as (world, frames):
        captured = list(frames(job.episodes[0]))
        yield job, captured, world


def export_frames(fmt: str, job, frames, world, out_dir: Path):
    """Write one episode's ``frames`` with format ``fmt`` into ``out_dir`` the way the job
    runner does (open, write each frame, close, finalize); returns the job with that
    ``out_dir``."""
    from dataclasses import replace

    from exporters.formats import exporter_class

    job = replace(job, out_dir=Path(out_dir))
    exp = exporter_class(fmt)(job)
    exp.open(job.episodes[0], world)
    for frame in frames:
        exp.write(frame)
    exp.close()
    type(exp).finalize(job)
    return job
