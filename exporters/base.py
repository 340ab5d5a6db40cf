"""The exporter interface and the format registry.

An export job runs episodes (scenario + seed); each episode is captured as a sequence of
``Frame`` records and handed to one exporter instance per episode::

    exp = FORMATS["kitti"](job)       # JobInfo: out dir, scenario, calibration, episodes
    exp.open(episode, world)          # EpisodeInfo; the world for static data (map, geo)
    for frame in frames: exp.write(frame)
    exp.close()
    ...                               # after every episode, in the main process:
    FORMATS["kitti"].finalize(job)    # dataset-wide index files (ImageSets, nuScenes tables)

Episodes may run in any order, in other processes (``--workers``) or on Ray: an exporter
writes only its episode's files in ``write``/``close`` (all through ``exporters.files``, so
each file appears complete or not at all), and whatever spans episodes in ``finalize``,
from what the episodes left on disk. Everything written is a function of the scenario and
the seeds only: no wall-clock time, host names or worker ids.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from exporters.frame import Frame, SensorCalib

# Exported timestamps: episode k starts at EPOCH_US + k * EPISODE_SPACING_US (so that no two
# episodes overlap in time), simulation time 0 at its start. 2026-01-01T12:00:00Z.
EPOCH_US = 1_767_268_800_000_000
EPISODE_SPACING_US = 3_600_000_000


class ExportError(Exception):
    """A user error in an export job (bad format, non-empty output, mismatched resume)."""


@dataclass(frozen=True)
class EpisodeInfo:
    """One episode of a job.

    Attributes:
        index: k = 0, 1, ...; seed: its scenario seed; n_frames: frames it writes;
        frame_hz: frame rate [Hz]; first_frame: the job-wide number of its first frame
        (formats with one sequence number the episodes' frames one after the other).
    """

    index: int
    seed: int
    n_frames: int
    frame_hz: float
    first_frame: int

    @property
    def name(self) -> str:
        return f"episode_{self.index:04d}"

    @property
    def start_us(self) -> int:
        """Exported timestamp of simulation time 0 [us since the Unix epoch]."""
        return EPOCH_US + self.index * EPISODE_SPACING_US

    def timestamp_us(self, time_s: float) -> int:
        """Exported timestamp of a simulation time of this episode [us]."""
        return self.start_us + int(round(time_s * 1e6))


@dataclass(frozen=True)
class JobInfo:
    """What every exporter of a job knows.

    Attributes:
        out_dir: the dataset folder; scenario: the resolved ``Scenario`` (its seed is the
        job's base seed); scenario_hash: sha256 of the scenario file (or of its resolved
        JSON); calibration: the rig's sensors; episodes: all episodes of the job, in order.
    """

    out_dir: Path
    scenario: Any
    scenario_hash: str
    calibration: dict[str, SensorCalib]
    episodes: tuple[EpisodeInfo, ...]

    @property
    def total_frames(self) -> int:
        return sum(e.n_frames for e in self.episodes)


class Exporter:
    """Base class of a format. Subclasses set ``format_name`` and implement the methods."""

    format_name: ClassVar[str] = ""

    def __init__(self, job: JobInfo):
        self.job = job
        self.episode: EpisodeInfo | None = None

    def open(self, episode: EpisodeInfo, world: Any) -> None:
        """Start ``episode``; ``world`` (a ``simulator.world.World`` reset to its seed) is
        given for static data only: ``hdmap``, ``geo_origin``, ``scenario``."""
        self.episode = episode

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Finish the episode's files."""

    @classmethod
    def finalize(cls, job: JobInfo) -> None:
        """Write the dataset-wide files after every episode has closed (main process)."""


FORMATS: dict[str, type[Exporter]] = {}


def register(cls: type[Exporter]) -> type[Exporter]:
    """Class decorator: make ``--format <cls.format_name>`` use this exporter."""
    FORMATS[cls.format_name] = cls
    return cls
