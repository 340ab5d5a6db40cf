"""``manifest.json``: what a dataset folder holds and how it was made.

Written when the job starts (``complete: false``), after every finished episode
(``finished_episodes``), and last when the job is done: then with every file's sha256
(the ``.drivesim/`` job state and the manifest itself left out). Nothing in it depends on
the machine or the clock, so an interrupted-and-resumed job and an uninterrupted one
write the same manifest.
"""

from __future__ import annotations

import hashlib
from importlib import metadata
from pathlib import Path

from exporters.base import JobInfo
from exporters.files import write_json
from scenarios import SampledScenario, sampled_values, variant_of

MANIFEST = "manifest.json"


def tool_version() -> str:
    try:
        return metadata.version("drivesim")
    except metadata.PackageNotFoundError:
        return "unknown"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def dataset_files(out_dir: Path) -> list[Path]:
    """Every file of the dataset, sorted, without the job state and the manifest."""
    from exporters.episode import STATE_DIR

    files = []
    for p in out_dir.rglob("*"):
        rel = p.relative_to(out_dir)
        if p.is_file() and rel.parts[0] != STATE_DIR and str(rel) != MANIFEST:
            files.append(rel)
    return sorted(files, key=lambda r: r.as_posix())


def write_manifest(job: JobInfo, fmt: str, finished: set[int] | None = None) -> dict:
    """Write the manifest; ``finished`` None: the job is complete (file hashes included)."""
    complete = finished is None
    eps = job.episodes
    episodes = [{"index": e.index, "seed": e.seed, "frames": e.n_frames,
                 "first_frame": e.first_frame} for e in eps]
    if isinstance(job.scenario, SampledScenario):  # distributions or a sweep variant
        from exporters.episode import episode_scenario

        for entry, e in zip(episodes, eps):
            entry["sampled"] = sampled_values(episode_scenario(job, e))
    manifest = {
        "tool": "drivesim",
        "version": tool_version(),
        "format": fmt,
        "complete": complete,
        "scenario": {"name": job.scenario.name, "sha256": job.scenario_hash,
                     "resolved": job.scenario.model_dump(mode="json")},
        "seeds": [e.seed for e in eps],
        "episodes": episodes,
        "frame_hz": eps[0].frame_hz,
        "frames": job.total_frames,
        "finished_episodes": sorted(e.index for e in eps) if complete else sorted(finished),
        "sensors": {n: c.sensor_type for n, c in job.calibration.items()},
    }
    variant, values = variant_of(job.scenario)
    if variant is not None:
        manifest["scenario"]["variant"] = {"index": variant, "values": values}
    if complete:
        manifest["files"] = {r.as_posix(): sha256_of(job.out_dir / r)
                             for r in dataset_files(job.out_dir)}
    write_json(job.out_dir / MANIFEST, manifest)
    return manifest
