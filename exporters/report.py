"""The dataset report (``DIR/report.html``) every export writes, whatever the format.

Two steps, so that episodes can run in other processes::

    stats = EpisodeStats(episode)            # in the worker, per episode
    for frame in frames: stats.add(frame)    # cheap: counts, distances, GNSS errors
    stats.save(DIR / ".drivesim" / "report") # episode_0000.json (+ small PNGs), atomically
    ...
    write_report(DIR, job)                   # main process: DIR/report.html

``report.html`` is self-contained (plots embedded as base64 PNGs): a summary table
(episodes, seeds, frames, sensors), labelled-object counts per category, the distance
histogram of labelled objects from the ego, the GNSS horizontal error over time and, for
the first ``MAX_SAMPLE_EPISODES`` episodes, a camera image with its GT 2D boxes and a lidar
bird's-eye view from the episode's middle frame.

Conventions: a *labelled* object is a non-ego object whose category has box labels in the
exported formats (``exporters.frame.LABEL_CLASSES``: the vehicle kinds, pedestrian, debris,
static_object, wall); counts are per frame, summed (one per object per frame: the number of
3D box labels).
Distances are horizontal, ego origin to box centre [m]. GNSS error is the horizontal
distance fix - truth [m] of every GNSS sample (between frames too); no fix: a gap.
Everything is a function of the frames only (fixed plot sizes, no dates in the PNGs), so
the same job gives the same bytes.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from exporters.base import EpisodeInfo, JobInfo
from exporters.files import encode_png, write_bytes, write_json, write_text
from exporters.frame import LABEL_CLASSES, Frame
from simulator.scene.semantics import CLASS_COLORS, CLASS_NAMES

REPORT_FILE = "report.html"
STATS_DIR = Path(".drivesim") / "report"
DISTANCE_BIN_M = 5.0
DISTANCE_MAX_M = 200.0            # last bin: this far or farther
SAMPLE_IMAGE_MAX_WIDTH = 640      # sample camera images are scaled down to this [px]
BEV_RANGE_M = 60.0                # lidar BEV half-size [m]
BEV_MAX_POINTS = 30_000
MAX_SAMPLE_EPISODES = 4
PLOT_DPI = 100
CATEGORY_COLORS = {"car": (0, 200, 255), "van": (0, 200, 255), "truck": (255, 140, 0),
                   "bus": (255, 140, 0), "cyclist": (255, 255, 0), "motorcyclist": (255, 255, 0),
                   "pedestrian": (255, 40, 40), "debris": (60, 230, 60),
                   "parked_car": (0, 200, 255), "traffic_cone": (60, 230, 60),
                   "barrier": (230, 60, 230),
                   "static_object": (60, 230, 60), "wall": (230, 60, 230)}
_N_BINS = int(round(DISTANCE_MAX_M / DISTANCE_BIN_M)) + 1


def stats_name(episode: EpisodeInfo) -> str:
    return f"{episode.name}.json"


class EpisodeStats:
    """What the report needs from one episode, collected frame by frame.

    Args:
        episode: the episode; its sample images come from frame ``n_frames // 2`` (or the
            last frame seen if the episode ends earlier).
    """

    def __init__(self, episode: EpisodeInfo):
        self.episode = episode
        self.sample_index = episode.n_frames // 2
        self.n_frames = 0
        self.duration_s = 0.0
        self.sensors: dict[str, str] = {}
        self.class_counts: dict[str, int] = {c: 0 for c in LABEL_CLASSES}
        self.in_camera_counts: dict[str, int] = {c: 0 for c in LABEL_CLASSES}
        self.distance_counts = [0] * _N_BINS
        self.gnss_error_m: dict[str, list[list[float]]] = {}   # sensor -> [[t_s, error_m]]
        self.lidar_points: dict[str, int] = {}
        self._sample: Frame | None = None

    # ------------------------------------------------------------ per frame
    def add(self, frame: Frame) -> None:
        """Count one frame (call in frame order)."""
        self.n_frames += 1
        self.duration_s = float(frame.time_s)
        for name, m in frame.measurements.items():
            self.sensors.setdefault(name, m.sensor_type)
        labelled = [o for o in frame.labelled_objects() if o.category in LABEL_CLASSES]
        seen = {int(b["instance_id"]) for m in frame.of_type("camera").values()
                for b in m.gt.get("boxes", ())}
        for o in labelled:
            self.class_counts[o.category] += 1
            self.in_camera_counts[o.category] += int(o.instance_id in seen)
        if labelled:
            xy = np.array([o.center[:2] for o in labelled], np.float64)
            dist = np.hypot(*(xy - np.asarray(frame.ego_pose.position[:2])).T)
            bins = np.minimum((dist // DISTANCE_BIN_M).astype(np.int64), _N_BINS - 1)
            for b, n in zip(*np.unique(bins, return_counts=True), strict=True):
                self.distance_counts[int(b)] += int(n)
        for name, ms in frame.samples.items():
            for m in ms:
                if m.sensor_type == "gnss":
                    self.gnss_error_m.setdefault(name, []).append(
                        [float(m.time_s), gnss_horizontal_error_m(m)])
        for name, m in frame.of_type("lidar").items():
            self.lidar_points[name] = self.lidar_points.get(name, 0) + len(m.data["points"])
        if self._sample is None or frame.index <= self.sample_index:
            self._sample = frame

    # ------------------------------------------------------------ saving
    def save(self, folder: Path | str) -> Path:
        """Write ``<episode>.json`` and the sample PNGs into ``folder``; the JSON last."""
        folder = Path(folder)
        images: dict[str, str] = {}
        frame = self._sample
        if frame is not None:
            for name, png in sample_images(frame).items():
                file = f"{self.episode.name}_{name}.png"
                write_bytes(folder / file, png)
                images[name] = file
        rec = {"episode": self.episode.index, "seed": self.episode.seed,
               "n_frames_planned": self.episode.n_frames, "n_frames": self.n_frames,
               "frame_hz": self.episode.frame_hz, "duration_s": self.duration_s,
               "sample_frame": None if frame is None else frame.index,
               "sensors": self.sensors, "class_counts": self.class_counts,
               "in_camera_counts": self.in_camera_counts,
               "distance_bin_m": DISTANCE_BIN_M, "distance_counts": self.distance_counts,
               "gnss_error_m": self.gnss_error_m, "lidar_points": self.lidar_points,
               "images": images}
        path = folder / stats_name(self.episode)
        write_json(path, rec, indent=None)
        return path


def gnss_horizontal_error_m(m: Any) -> float:
    """Horizontal fix error [m] of a GNSS measurement; NaN without a fix."""
    if int(m.data.get("fix_quality", 1)) == 0:
        return float("nan")
    if "horizontal_error_m" in m.gt:
        return float(m.gt["horizontal_error_m"])
    err = np.asarray(m.gt.get("error_enu_m", [np.nan, np.nan]), np.float64)
    return float(np.hypot(err[0], err[1]))


# ---------------------------------------------------------------- images
def sample_images(frame: Frame) -> dict[str, bytes]:
    """PNG bytes per sensor: each camera's image with the labelled objects' GT 2D boxes,
    each lidar's bird's-eye view."""
    category = {o.instance_id: o.category for o in frame.labelled_objects()
                if o.category in LABEL_CLASSES}
    out: dict[str, bytes] = {}
    for name, m in frame.of_type("camera").items():
        out[name] = encode_png(boxed_image(m.data["rgb"], m.gt.get("boxes", ()), category))
    for name, m in frame.of_type("lidar").items():
        calib = frame.calibration.get(name)
        ego_from_sensor = np.eye(4) if calib is None else calib.ego_from_sensor
        out[name] = lidar_bev_png(m.data["points"], m.gt.get("semantic"),
                                  m.data.get("intensity"), ego_from_sensor)
    return out


def boxed_image(rgb: np.ndarray, boxes: Any, category: dict[int, str]) -> np.ndarray:
    """The image (scaled to at most ``SAMPLE_IMAGE_MAX_WIDTH``) with a rectangle per box of
    a labelled object, coloured by category."""
    scale = min(1.0, SAMPLE_IMAGE_MAX_WIDTH / rgb.shape[1])
    img = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale,
                                              interpolation=cv2.INTER_AREA)
    img = np.ascontiguousarray(img).copy()
    for b in boxes:
        cat = category.get(int(b["instance_id"]))
        if cat is None or b.get("box_2d") is None:
            continue
        x0, y0, x1, y1 = (int(round(v * scale)) for v in b["box_2d"])
        cv2.rectangle(img, (x0, y0), (x1, y1), CATEGORY_COLORS.get(cat, (255, 255, 255)), 1)
    return img


def _figure(width_in: float = 7.0, height_in: float = 3.2) -> tuple[Figure, Any]:
    fig = Figure(figsize=(width_in, height_in), dpi=PLOT_DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots()


def figure_png(fig: Figure) -> bytes:
    """PNG bytes of a figure, without the Software key (no version or date in the file)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=PLOT_DPI, metadata={"Software": None})
    return buf.getvalue()


def lidar_bev_png(points: np.ndarray, semantic: np.ndarray | None,
                  intensity: np.ndarray | None, ego_from_sensor: np.ndarray) -> bytes:
    """Bird's-eye view in the ego frame (forward up), coloured by semantic class (by
    intensity 0-1 without semantic GT)."""
    step = max(1, -(-len(points) // BEV_MAX_POINTS))
    p = np.asarray(points[::step], np.float64) @ ego_from_sensor[:3, :3].T + ego_from_sensor[:3, 3]
    fig, ax = _figure(5.0, 5.0)
    if semantic is not None:
        sem = np.asarray(semantic[::step])
        palette = np.array([CLASS_COLORS.get(i, (255, 255, 255)) for i in range(256)]) / 255
        ax.scatter(-p[:, 1], p[:, 0], s=0.5, c=palette[sem], linewidths=0)
        for k in np.unique(sem):
            ax.scatter([], [], s=12, color=palette[k], label=_class_name(int(k)))
        ax.legend(loc="upper right", fontsize=6, markerscale=1.0)
    elif intensity is not None:
        ax.scatter(-p[:, 1], p[:, 0], s=0.5, c=np.asarray(intensity[::step]), cmap="viridis",
                   vmin=0.0, vmax=1.0, linewidths=0)
    else:
        ax.scatter(-p[:, 1], p[:, 0], s=0.5, c="k", linewidths=0)
    ax.set_xlim(-BEV_RANGE_M, BEV_RANGE_M)
    ax.set_ylim(-BEV_RANGE_M, BEV_RANGE_M)
    ax.set_aspect("equal")
    ax.set_xlabel("right [m]")
    ax.set_ylabel("forward [m]")
    fig.tight_layout()
    return figure_png(fig)


def _class_name(k: int) -> str:
    return CLASS_NAMES[k] if k < len(CLASS_NAMES) else str(k)


# ---------------------------------------------------------------- report
def load_stats(out_dir: Path | str, job: JobInfo) -> list[dict[str, Any]]:
    """The saved stats of every episode of ``job`` that has them, in episode order."""
    folder = Path(out_dir) / STATS_DIR
    out = []
    for ep in job.episodes:
        path = folder / stats_name(ep)
        if path.exists():
            rec = json.loads(path.read_text())
            rec["name"] = ep.name
            rec["folder"] = folder
            out.append(rec)
    return out


def png_data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def write_report(out_dir: Path | str, job: JobInfo) -> Path:
    """Build ``out_dir/report.html`` from the stats every episode saved."""
    out_dir = Path(out_dir)
    path = out_dir / REPORT_FILE
    write_text(path, render_report(job, load_stats(out_dir, job)))
    return path


def render_report(job: JobInfo, stats: list[dict[str, Any]]) -> str:
    """The report's HTML text."""
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>DriveSim dataset report</title><style>{_CSS}</style></head><body>",
             "<h1>DriveSim dataset report</h1>",
             f"<p>Scenario sha256 <code>{esc(job.scenario_hash)}</code>; "
             f"{len(stats)} of {len(job.episodes)} episodes with statistics, "
             f"{sum(s['n_frames'] for s in stats)} frames.</p>",
             _summary_section(job, stats), _sensor_section(job), _class_section(stats),
             _distance_section(stats), _gnss_section(stats), _sample_section(stats),
             "</body></html>"]
    return "\n".join(parts) + "\n"


_CSS = ("body{font-family:sans-serif;margin:2em;max-width:1100px}"
        "table{border-collapse:collapse;margin:0.5em 0}"
        "td,th{border:1px solid #bbb;padding:2px 8px;text-align:right}"
        "th{background:#eee}img{max-width:100%;margin:4px}")


def _img(png: bytes, alt: str) -> str:
    return f"<img src=\"{png_data_uri(png)}\" alt=\"{esc(alt)}\">"


def _table(header: list[str], rows: list[str]) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "</table>"


def _row(cells: list[Any], attrs: str = "") -> str:
    return f"<tr{attrs}>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>"


def _errors(s: dict[str, Any]) -> np.ndarray:
    e = [v for series in s["gnss_error_m"].values() for _, v in series]
    return np.array([np.nan if v is None else v for v in e], np.float64)


def _summary_section(job: JobInfo, stats: list[dict[str, Any]]) -> str:
    rows = []
    for s in stats:
        n = max(s["n_frames"], 1)
        err = _errors(s)
        ok = err[np.isfinite(err)]
        gnss = (f"{np.median(ok):.2f} / {np.percentile(ok, 95):.2f}" if len(ok) else "-")
        rows.append(_row([s["name"], s["seed"], s["n_frames"], f"{s['duration_s']:.2f}",
                          f"{sum(s['class_counts'].values()) / n:.1f}",
                          f"{sum(s['lidar_points'].values()) / n:.0f}", gnss]))
    done = {s["episode"] for s in stats}
    rows += [_row([e.name, e.seed, "no statistics", "", "", "", ""])
             for e in job.episodes if e.index not in done]
    return ("<h2 id=\"episodes\">Episodes</h2>" + _table(
        ["episode", "seed", "frames", "last frame time [s]", "labelled objects / frame",
         "lidar points / frame", "GNSS error median / p95 [m]"], rows))


def _sensor_section(job: JobInfo) -> str:
    rows = []
    for name, c in job.calibration.items():
        detail = f"{c.width}x{c.height} px" if c.width else ""
        preset = getattr(c.config, "preset", None)
        detail = detail or (f"preset {preset}" if preset else "")
        pos = ", ".join(f"{v:.2f}" for v in c.ego_from_sensor[:3, 3])
        rows.append(_row([name, c.sensor_type, f"{c.rate_hz:g}", detail, pos]))
    return ("<h2 id=\"sensors\">Sensors</h2>" + _table(
        ["sensor", "type", "rate [Hz]", "details", "mount x, y, z [m]"], rows))


def _class_section(stats: list[dict[str, Any]]) -> str:
    cats = list(LABEL_CLASSES)
    total = [sum(s["class_counts"].get(c, 0) for s in stats) for c in cats]
    seen = [sum(s["in_camera_counts"].get(c, 0) for s in stats) for c in cats]
    fig, ax = _figure()
    x = np.arange(len(cats))
    ax.bar(x - 0.2, total, 0.4, label="all labelled")
    ax.bar(x + 0.2, seen, 0.4, label="with a camera box")
    ax.set_xticks(x, cats)
    ax.set_ylabel("object labels (per frame, summed)")
    ax.legend()
    fig.tight_layout()
    rows = [_row([c, t, v], f" data-category=\"{esc(c)}\"")
            for c, t, v in zip(cats, total, seen, strict=True)]
    return ("<h2 id=\"classes\">Labelled objects per category</h2>"
            "<p>Non-ego objects of the labelled categories, once per frame they exist in; "
            "\"with a camera box\": visible in some camera's GT boxes.</p>"
            + _img(figure_png(fig), "class counts")
            + _table(["category", "labels", "with a camera box"], rows))


def _distance_section(stats: list[dict[str, Any]]) -> str:
    counts = np.zeros(_N_BINS, np.int64)
    for s in stats:
        counts += np.asarray(s["distance_counts"], np.int64)
    fig, ax = _figure()
    edges = np.arange(_N_BINS) * DISTANCE_BIN_M
    ax.bar(edges, counts, DISTANCE_BIN_M, align="edge")
    ax.set_xlabel(f"horizontal distance from the ego [m] (last bin: >= {DISTANCE_MAX_M:g})")
    ax.set_ylabel("object labels")
    fig.tight_layout()
    return ("<h2 id=\"distances\">Distance of labelled objects from the ego</h2>"
            + _img(figure_png(fig), "distance histogram"))


def _gnss_section(stats: list[dict[str, Any]]) -> str:
    head = "<h2 id=\"gnss\">GNSS horizontal error</h2>"
    if not any(s["gnss_error_m"] for s in stats):
        return head + "<p>No GNSS samples.</p>"
    fig, ax = _figure()
    for s in stats:
        for name, series in s["gnss_error_m"].items():
            a = np.array([[t, np.nan if e is None else e] for t, e in series], np.float64)
            ax.plot(a[:, 0], a[:, 1], ".-", lw=0.8, ms=3, label=f"{s['name']} {name}")
    ax.set_xlabel("simulation time [s]")
    ax.set_ylabel("|fix - truth| horizontal [m]")
    if sum(len(s["gnss_error_m"]) for s in stats) <= 10:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return (head + "<p>Every GNSS sample (also between frames); gaps: no fix.</p>"
            + _img(figure_png(fig), "GNSS error over time"))


def _sample_section(stats: list[dict[str, Any]]) -> str:
    parts = ["<h2 id=\"samples\">Sample frames</h2>",
             "<p>Camera images with the labelled objects' GT 2D boxes (cars and vans cyan, "
             "trucks and buses orange, cyclists and motorcyclists yellow, pedestrians red, "
             "debris, cones and static objects green, walls and barriers magenta); lidar "
             "bird's-eye views in the ego "
             f"frame coloured by semantic class. First {MAX_SAMPLE_EPISODES} episodes.</p>"]
    for s in stats[:MAX_SAMPLE_EPISODES]:
        parts.append(f"<h3>{esc(s['name'])}, frame {esc(s['sample_frame'])}</h3><div>")
        for name, file in s["images"].items():
            parts.append(_img((s["folder"] / file).read_bytes(), f"{s['name']} {name}"))
        parts.append("</div>")
    return "\n".join(parts)
