#!/usr/bin/env python3
"""DriveSim command line: run | export | validate | schema | bench.

User errors (bad scenario, bad flag, missing file) print one line and exit 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.loader import SourceMap
    from scenarios.schema import Scenario

# Small matrix products (sensor poses, per-point rotations) are much slower with OpenBLAS
# threads on a 2-core machine; Embree and OpenCV keep their own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
    return value


def _duration(text: str) -> float:
    from scenarios.limits import MAX_DURATION_S

    value = _positive_float(text)
    if value > MAX_DURATION_S:
        raise argparse.ArgumentTypeError(f"must be <= {MAX_DURATION_S:g} s, got {text}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if not 0 <= value < 2**64:
        raise argparse.ArgumentTypeError(f"must be in [0, 2**64), got {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    from scenarios import DEFAULT_SCENARIO

    parser = _Parser(prog="run_sim.py", description="DriveSim: driving sensor simulator and "
                     "synthetic dataset generator.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="simulate a scenario and write summary, trajectory, "
                         "bird's-eye video and sensor previews")
    run.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario YAML "
                     "(default: scenarios/default.yaml)")
    run.add_argument("--duration", type=_duration, help="simulated seconds "
                     "(overrides simulation.duration_s)")
    run.add_argument("--seed", type=_seed, help="RNG seed (overrides simulation.seed; "
                     "also draws the scenario's distributions)")
    run.add_argument("--variant", type=_index, metavar="I",
                     help="run variant I of the scenario's sweep (see validate --expand)")
    run.add_argument("--out", default="out/run", help="output folder (default: out/run)")
    run.add_argument("--no-video", action="store_true", help="skip bev.mp4")
    run.add_argument("--no-sensors", action="store_true", help="do not simulate the sensors")
    run.add_argument("--preview-every", type=_positive_float, default=1.0, metavar="S",
                     help="write sensor preview images every S simulated seconds (default 1)")

    exp = sub.add_parser("export", help="export a synthetic dataset (KITTI, KITTI raw, "
                         "nuScenes, MCAP or the lossless native format)")
    exp.add_argument("--scenario", default=str(DEFAULT_SCENARIO), help="scenario YAML "
                     "(default: scenarios/default.yaml)")
    exp.add_argument("--out", required=True, help="dataset folder (new or empty, or the "
                     "folder of an interrupted export with --resume)")
    exp.add_argument("--format", required=True,
                     choices=["kitti", "kitti-raw", "nuscenes", "mcap", "native"])
    length = exp.add_mutually_exclusive_group()
    length.add_argument("--frames", type=_positive_int, metavar="N",
                        help="frames per episode (default: the scenario's duration)")
    length.add_argument("--duration", type=_duration, metavar="S",
                        help="simulated seconds per episode")
    exp.add_argument("--episodes", type=_positive_int, default=1, metavar="K",
                     help="episodes; episode k uses seed S + k (default 1)")
    exp.add_argument("--seed", type=_seed, metavar="S",
                     help="seed of episode 0 (default: simulation.seed)")
    exp.add_argument("--variant", type=_index, metavar="I",
                     help="export variant I of the scenario's sweep (see validate --expand)")
    exp.add_argument("--workers", type=_positive_int, default=1, metavar="W",
                     help="episodes exported in parallel (default 1)")
    exp.add_argument("--backend", choices=["local", "ray"], default="local",
                     help="local processes, or Ray tasks (RAY_ADDRESS picks the cluster)")
    exp.add_argument("--resume", action="store_true",
                     help="finish an interrupted export in --out")

    val = sub.add_parser("validate", help="check scenario files (schema, map geometry, lanes, "
                         "the ego route, props and sensors); exit 2 on any error")
    val.add_argument("files", nargs="+", help="scenario YAML files")
    val.add_argument("--expand", action="store_true", help="list the variants of each "
                     "file's sweep (index: path=value, ...) and check each one")

    sub.add_parser("schema", help="print the JSON Schema of the scenario format")

    bench = sub.add_parser("bench", help="measure throughput figures")
    bench.add_argument("--json", action="store_true", help="print one JSON object")
    bench.add_argument("--only", action="append", metavar="NAME",
                       help="run only this figure or group (repeatable)")
    bench.add_argument("--quick", action="store_true", help="fewer repeats (smoke test)")
    return parser


class _CheckFailed(Exception):
    """A built-scenario check failed; ``line`` is ``file:line: path: message``."""


def _checked(scenario: Scenario, where: SourceMap, sensors: bool = True) -> None:
    """Run what ``run`` builds (map, route, props, sensors) without simulating.

    Raises:
        _CheckFailed: with the problem located in the file.
    """
    from runner.checks import check_runnable
    from simulator.checks import as_check_error
    from simulator.errors import WorldError

    try:
        check_runnable(scenario, sensors=sensors)
    except WorldError as exc:
        err = as_check_error(exc, scenario)
        raise _CheckFailed(where.message(err.path, err.detail)) from None


def cmd_validate(args: argparse.Namespace) -> int:
    from scenarios import ScenarioError
    from scenarios.loader import load_template

    bad = False
    for f in args.files:
        try:
            template = load_template(f)
            if args.expand and template.variants:
                _checked_ends(template)
                for i, values in enumerate(template.variants):
                    print(f"{i}: {_values_text(values)}")
                    _checked(template.sample(variant=i), template.where)
                print(f"{f}: ok ({len(template.variants)} variants)")
                continue
            _checked(template.sample(), template.where)
            _checked_ends(template)
        except ScenarioError as exc:
            bad = True
            for line in exc.messages:
                print(line, file=sys.stderr)
        except _CheckFailed as exc:
            bad = True
            print(exc, file=sys.stderr)
        else:
            print(f"{f}: ok" + (" (no sweep)" if args.expand else ""))
    return EXIT_USAGE if bad else 0


def _checked_ends(template, variant: int | None = None) -> None:
    """``_checked`` at every end of every distribution (a lane id among the choices that
    the map does not have, a start station past the lane's end), the sensors only when
    the distribution is a sensor field.

    Raises:
        _CheckFailed: naming the end that fails.
    """
    for path, desc, scenario in template.ends(variant):
        try:
            _checked(scenario, template.where, sensors=path.startswith("sensors"))
        except _CheckFailed as exc:
            raise _CheckFailed(f"{exc} ({desc})") from None


def _values_text(values: dict) -> str:
    return ", ".join(f"{p}={v if isinstance(v, str) else json.dumps(v)}"
                     for p, v in values.items())


def _sampled(path: str, seed: int | None, variant: int | None) -> tuple[Scenario, SourceMap]:
    """The scenario of ``path`` (``variant`` of its sweep) drawn at ``seed`` (None: its
    own ``simulation.seed``), and where its fields are written."""
    from scenarios.loader import load_template

    template = load_template(path)
    return template.sample(seed, variant), template.where


def cmd_schema(_args: argparse.Namespace) -> int:
    from scenarios import json_schema

    print(json_schema())
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from runner.run import RunOptions, run_scenario, with_overrides
    from simulator.checks import as_check_error
    from simulator.errors import WorldError

    loaded, where = _sampled(args.scenario, args.seed, args.variant)
    scenario = with_overrides(loaded, args.seed, args.duration)
    # Map, route, prop and sensor errors before any output or progress bar.
    _checked(scenario, where, sensors=not args.no_sensors)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    total = scenario.simulation.duration_s
    start = time.perf_counter()
    bar_format = "{l_bar}{bar}| {n:.1f}/{total:.1f} sim s [{elapsed}<{remaining}]"
    with tqdm(total=total, unit="sim s", mininterval=1.0, bar_format=bar_format,
              file=sys.stderr) as bar:
        def progress(t: float) -> None:
            bar.update(t - bar.n)

        try:
            summary = run_scenario(scenario, out, RunOptions(
                video=not args.no_video, sensors=not args.no_sensors,
                preview_every_s=args.preview_every, progress=progress), source=args.scenario)
        except WorldError as exc:
            err = as_check_error(exc, scenario)
            raise _CheckFailed(where.message(err.path, err.detail)) from None
    wall = time.perf_counter() - start
    progress = summary["ego_route"]["progress"]
    route = "no destination" if progress is None else f"ego route {100 * progress:.0f}%"
    print(f"{scenario.name}: {summary['sim_time_s']:.1f} sim s in {wall:.1f} s wall, "
          f"{len(summary['collisions'])} collision(s), {route}, "
          f"{summary['lane_changes']} lane changes -> {out}/")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import hashlib

    from tqdm import tqdm

    from exporters.job import plan_job, run_job
    from scenarios.loader import load_template

    # Episode 0 is drawn at the base seed; episode k at base + k (exporters.episode).
    scenario, where = _sampled(args.scenario, args.seed, args.variant)
    _checked(scenario, where)
    _checked_ends(load_template(args.scenario), args.variant)  # not in episode 7
    job = plan_job(scenario, Path(args.out), n_frames=args.frames, duration_s=args.duration,
                   episodes=args.episodes, seed=args.seed,
                   scenario_hash=hashlib.sha256(Path(args.scenario).read_bytes()).hexdigest())
    start = time.perf_counter()
    with tqdm(total=job.total_frames, unit="frame", mininterval=1.0, file=sys.stderr,
              desc=f"{args.format} {scenario.name}") as bar:
        manifest = run_job(job, args.format, workers=args.workers, backend=args.backend,
                           resume=args.resume, on_frames=bar.update)
    wall = time.perf_counter() - start
    print(f"{scenario.name}: {manifest['frames']} frames in {len(job.episodes)} episode(s), "
          f"{args.format}, {wall:.1f} s wall -> {args.out}/ (manifest.json, report.html)")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from benchmarks import UnknownBenchmark, run_benchmarks

    try:
        figures = run_benchmarks(args.only, quick=args.quick)
    except UnknownBenchmark as exc:
        print(f"run_sim.py bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(figures))
    else:
        for k, v in figures.items():
            print(f"{k:40s} {v:12.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    from envs.npc_policy import NpcPolicyError
    from exporters.base import ExportError
    from runner.outputs import OutputError
    from scenarios import ScenarioError
    from scenarios.loader import one_line
    from simulator.errors import WorldError

    commands = {"run": cmd_run, "export": cmd_export, "validate": cmd_validate,
                "schema": cmd_schema, "bench": cmd_bench}
    try:
        return commands[args.command](args)
    except ScenarioError as exc:
        for line in exc.messages:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except _CheckFailed as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    except WorldError as exc:
        print(one_line(f"{getattr(args, 'scenario', '')}: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except OutputError as exc:
        print(one_line(f"run_sim.py: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except ExportError as exc:
        print(one_line(f"run_sim.py export: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except NpcPolicyError as exc:
        print(one_line(f"{getattr(args, 'scenario', '')}: {exc}"),
              file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        print(one_line(f"run_sim.py: {exc.strerror or exc}: {exc.filename or ''}"),
              file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
