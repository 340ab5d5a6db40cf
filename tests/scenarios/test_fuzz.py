"""Fuzzing the bundled scenarios: a mutated file validates (exit 0) or fails with located
one-line messages (exit 2), never a traceback or a hang; whatever validates also runs.

Mutations (hypothesis, derandomized so CI sees the same cases every time): numbers made
huge, tiny, negative, NaN or infinite; keys deleted; values swapped for other types;
lines duplicated (duplicate keys) or dropped; garbage inserted into the text.
"""

from __future__ import annotations

import copy
import math
import re
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import run_sim
from scenarios import BUNDLED_DIR

SCENARIOS = sorted(BUNDLED_DIR.glob("*.yaml"))
TEXTS = {p.name: p.read_text() for p in SCENARIOS}
DATA = {name: yaml.safe_load(text) for name, text in TEXTS.items()}

NUMBERS = [0, -1, 0.5, 3, 1e-3, 1e-300, 89.9, 359.9, 999.0, 2000, 9999.0, 1e9, -1e9, 1e30,
           1e308, -1e308, 10**20, math.nan, math.inf, -math.inf]
OTHER_VALUES = [None, "", "x", "1e400", [], {}, [1, 2], {"a": 1}, True, "center/east/in/1",
                "\x07"]
GARBAGE = ["\x00", "\x07", "\udcff", "{", "]", ": :", "&a", "*nope", "!!python/object:x ",
           "\t", "\n  - ", "? ", "'", '"', "\u2028", "<<: *a", "---\n"]

VALIDATE_TIMEOUT_S = 20.0
RUN_TIMEOUT_S = 60.0


# ------------------------------------------------------------------ the mutator
def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    """Every path into nested dicts/lists (the root excluded)."""
    if isinstance(node, dict):
        items = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return
    for k, v in items:
        yield prefix + (k,)
        yield from _paths(v, prefix + (k,))


def _parent(data: Any, path: tuple) -> Any:
    for k in path[:-1]:
        data = data[k]
    return data


@st.composite
def mutated_scenario(draw: st.DrawFn, max_mutations: int = 3) -> tuple[str, str]:
    """(file name, mutated YAML text)."""
    name = draw(st.sampled_from(sorted(TEXTS)))
    data = copy.deepcopy(DATA[name])
    text_edits = []
    for _ in range(draw(st.integers(1, max_mutations))):
        kind = draw(st.sampled_from(["number", "number", "number", "delete", "swap",
                                     "text"]))
        if kind == "text":
            text_edits.append(draw(st.tuples(st.sampled_from(["dup_line", "drop_line",
                                                             "garbage"]),
                                             st.integers(0, 10**6),
                                             st.sampled_from(GARBAGE))))
            continue
        paths = list(_paths(data))
        if kind == "number":
            paths = [p for p in paths if isinstance(_parent(data, p)[p[-1]], (int, float))
                     and not isinstance(_parent(data, p)[p[-1]], bool)]
        path = paths[draw(st.integers(0, len(paths) - 1))]
        parent = _parent(data, path)
        if kind == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(st.sampled_from(NUMBERS if kind == "number"
                                                    else NUMBERS + OTHER_VALUES))
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    for op, where, garbage in text_edits:
        lines = text.splitlines(keepends=True)
        i = where % max(len(lines), 1)
        if op == "dup_line" and lines:
            lines.insert(i, lines[i])
        elif op == "drop_line" and lines:
            del lines[i]
        else:
            pos = where % (len(text) + 1)
            lines = [text[:pos] + garbage + text[pos:]]
        text = "".join(lines)
    return name, text


# ------------------------------------------------------------------ the checks
@contextmanager
def _time_limit(seconds: float, what: str) -> Iterator[None]:
    def on_alarm(_signum, _frame):
        raise TimeoutError(f"{what} took more than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _check(name: str, text: str, capsys: pytest.CaptureFixture) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        capsys.readouterr()
        with _time_limit(VALIDATE_TIMEOUT_S, "validate"):
            code = run_sim.main(["validate", str(path)])
        out = capsys.readouterr()
        assert code in (0, 2), (code, out.err)
        if code == 2:
            lines = out.err.splitlines()
            assert lines, "exit 2 without a message"
            located = re.compile(re.escape(str(path)) + r"(:\d+)?: \S")
            for line in lines:
                assert located.match(line), line
            return
        assert out.out.strip() == f"{path}: ok"
        with _time_limit(RUN_TIMEOUT_S, "run"):
            code = run_sim.main(["run", "--scenario", str(path), "--duration", "0.5",
                                 "--no-sensors", "--no-video", "--out", str(Path(tmp) / "out")])
        out = capsys.readouterr()
        assert code == 0, f"validated but run failed: {out.err}"
        assert (Path(tmp) / "out" / "summary.json").is_file()


_SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=True,
                 suppress_health_check=[HealthCheck.function_scoped_fixture,
                                        HealthCheck.too_slow])


@settings(max_examples=40, **_SETTINGS)
@given(case=mutated_scenario())
def test_mutated_scenarios_fail_cleanly_or_run(case: tuple[str, str], capsys) -> None:
    _check(*case, capsys)


@pytest.mark.slow
@settings(max_examples=150, **_SETTINGS)
@given(case=mutated_scenario(max_mutations=5))
def test_mutated_scenarios_fail_cleanly_or_run_many(case: tuple[str, str], capsys) -> None:
    _check(*case, capsys)
