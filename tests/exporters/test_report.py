"""The dataset report: per-episode stats, report.html sections, images, counts, bytes."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest

from exporters.base import EpisodeInfo
from exporters.frame import LABEL_CLASSES, Frame, ObjectState
from exporters.report import (
    DISTANCE_BIN_M,
    REPORT_FILE,
    STATS_DIR,
    EpisodeStats,
    write_report,
)
from sensors.base import Measurement
from simulator.pose import Pose

SECTIONS = ("episodes", "sensors", "classes", "distances", "gnss", "samples")
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')


def make_report(job, frames, out: Path) -> Path:
    job = dataclasses.replace(job, out_dir=out)
    stats = EpisodeStats(job.episodes[0])
    for f in frames:
        stats.add(f)
    stats.save(out / STATS_DIR)
    return write_report(out, job)


@pytest.fixture(scope="module")
def report(small_job, tmp_path_factory):
    job, frames, _ = small_job
    out = tmp_path_factory.mktemp("report")
    return make_report(job, frames, out)


def test_sections_and_images(small_job, report):
    job = small_job[0]
    text = report.read_text()
    assert report.name == REPORT_FILE
    for sec in SECTIONS:
        assert f'<h2 id="{sec}">' in text, sec
    images = [base64.b64decode(m) for m in IMG.findall(text)]
    types = [c.sensor_type for c in job.calibration.values()]
    # class counts, distances, GNSS error + per sample episode one per camera and lidar
    assert len(images) == 3 + types.count("camera") + types.count("lidar") == 5
    for png in images:
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert b"tIME" not in png and b"Software" not in png
    assert "src=\"http" not in text and "<script" not in text   # self-contained
    assert re.search(r"<td>episode_0000</td><td>7</td><td>4</td>", text)


def _counts_in(text: str, column: int) -> dict[str, int]:
    rows = re.findall(r'<tr data-category="([a-z_]+)">((?:<td>[^<]*</td>)+)</tr>', text)
    return {cat: int(re.findall(r"<td>([^<]*)</td>", cells)[column]) for cat, cells in rows}


def test_class_counts_equal_the_frames(small_job, report):
    _, frames, _ = small_job
    expected = {c: 0 for c in LABEL_CLASSES}
    for f in frames:
        for o in f.objects:
            if not o.is_ego and o.category in expected:
                expected[o.category] += 1
    text = report.read_text()
    assert _counts_in(text, 1) == expected
    # The small scenario has 12 NPC cars, all in every frame.
    assert expected["car"] == 12 * len(frames)
    seen = _counts_in(text, 2)
    assert 0 < seen["car"] <= expected["car"]
    stats = json.loads((report.parent / STATS_DIR / "episode_0000.json").read_text())
    assert sum(stats["distance_counts"]) == sum(expected.values())
    n_gnss = sum(len(f.samples["gnss"]) for f in frames)
    assert len(stats["gnss_error_m"]["gnss"]) == n_gnss == 4


def test_same_input_same_bytes(small_job, report, tmp_path):
    job, frames, _ = small_job
    again = make_report(job, frames, tmp_path)
    assert again.read_bytes() == report.read_bytes()
    a = sorted((report.parent / STATS_DIR).iterdir())
    b = sorted((tmp_path / STATS_DIR).iterdir())
    assert [p.name for p in a] == [p.name for p in b]
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))


def test_episode_without_stats_is_listed(small_job, tmp_path):
    job, frames, _ = small_job
    missing = EpisodeInfo(1, 8, 4, job.episodes[0].frame_hz, 4)
    job2 = dataclasses.replace(job, out_dir=tmp_path, episodes=(job.episodes[0], missing))
    stats = EpisodeStats(job2.episodes[0])
    for f in frames[:2]:
        stats.add(f)
    stats.save(tmp_path / STATS_DIR)
    text = write_report(tmp_path, job2).read_text()
    assert "1 of 2 episodes with statistics" in text
    assert "<td>episode_0001</td><td>8</td><td>no statistics</td>" in text


def _obj(iid: int, x: float, category: str = "car", is_ego: bool = False) -> ObjectState:
    return ObjectState(iid, f"o{iid}", 11, category, np.array([x, 0.0, 0.75]),
                       np.array([4.6, 1.85, 1.5]), 0.0, np.zeros(3), 0.0, is_ego)


def test_known_counts_distances_and_gnss_errors():
    pose = Pose(np.array([10.0, 0.0, 0.0]), np.eye(3))
    fix = Measurement("g", "gnss", 0.05, pose, data={"fix_quality": 1},
                      gt={"horizontal_error_m": 2.5})
    no_fix = Measurement("g", "gnss", 0.1, pose, data={"fix_quality": 0},
                         gt={"horizontal_error_m": float("nan")})
    objects = [_obj(1, 10.0, is_ego=True), _obj(2, 13.0), _obj(3, 22.0, "truck"),
               _obj(4, 510.0, "wall"), _obj(5, 11.0, "building")]
    frame = Frame(0, 0, 0, 0.1, pose, {"g": no_fix}, {"g": [fix, no_fix]}, objects, {})
    stats = EpisodeStats(EpisodeInfo(0, 0, 1, 10.0, 0))
    stats.add(frame)
    assert stats.class_counts == {**dict.fromkeys(LABEL_CLASSES, 0),
                                  "car": 1, "truck": 1, "wall": 1}
    # 3 m and 12 m from the ego; 500 m lands in the last (overflow) bin.
    assert stats.distance_counts[0] == 1 and stats.distance_counts[int(12 // DISTANCE_BIN_M)] == 1
    assert stats.distance_counts[-1] == 1 and sum(stats.distance_counts) == 3
    assert stats.gnss_error_m["g"][0] == [0.05, 2.5]
    assert np.isnan(stats.gnss_error_m["g"][1][1])
