"""Randomised fields: distributions written in place of a value, found and sampled.

A scalar field of a scenario (a number, an enum name, anything pydantic reads from one
YAML value) may be written as a distribution::

    speed_mps: {uniform: [20, 30]}              # a <= x <= b; an integer field draws an int
    speed_mps: {normal: [25, 3], clip: [15, 35]} # mu, sigma >= 0; clip optional, [lo, hi]
    kind: {choice: [car, van, truck]}           # one option, equally likely

``clip`` is allowed with ``uniform`` and ``normal``. A mapping is a distribution only where
the schema expects a value (not where it expects a section or a free-keyed mapping such as
``traffic.mix``, whose keys may be profile names like ``normal``); there it has exactly one
of ``uniform``/``normal``/``choice``, optionally ``clip``, and nothing else.

Sampling: every distribution is drawn from its own stream, ``np.random.default_rng(
np.random.SeedSequence(seed, spawn_key=(DIST_KEY, zlib.crc32(path))))`` with ``path`` the
field path as the loader writes it (``sensors[0].fov_deg``). Adding, removing or moving
another distribution therefore never changes what this one draws; the same seed gives the
same values, on every machine (crc32, not Python's salted ``hash``).

This module works on plain data and reports problems as ``(loc, message)`` pairs; the
loader turns them into ``file:line:`` errors.
"""

from __future__ import annotations

import copy
import difflib
import math
import types
import zlib
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
from pydantic import BaseModel

DIST_KEY = 0x6469_7374
"""spawn_key tag of the field-distribution streams ("dist")."""

SWEEP_KEY = 0x7377_7070
"""spawn_key tag of the random-sweep streams ("swpp")."""

KINDS = ("uniform", "normal", "choice")
FORMS = "{uniform: [a, b]}, {normal: [mu, sigma]} (optionally with clip: [lo, hi]) or " \
        "{choice: [option, ...]}"
"""The valid forms, for error messages."""

MAX_CHOICES = 10_000
MAX_ABS = 1e15
"""Largest |number| in a distribution (far beyond any field's bound; draws stay finite)."""

Loc = tuple[Any, ...]


class DistributionError(ValueError):
    """Problems with distributions: ``problems`` is a list of ``(loc, message)``."""

    def __init__(self, problems: list[tuple[Loc, str]]):
        super().__init__("; ".join(m for _, m in problems))
        self.problems = problems


def stable_hash(path: str) -> int:
    """A hash of a field path that is the same in every process and on every machine."""
    return zlib.crc32(path.encode("utf-8"))


def format_path(loc: Loc) -> str:
    """``("sensors", 0, "fov_deg")`` -> ``sensors[0].fov_deg`` (the loader's form)."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


@dataclass(frozen=True)
class Distribution:
    """One parsed distribution. ``integer``: the field is an int (uniform draws an int in
    [a, b] inclusive, normal is rounded to the nearest int after clipping)."""

    kind: str
    args: tuple[Any, ...]
    clip: tuple[float, float] | None = None
    integer: bool = False

    def sample(self, rng: np.random.Generator) -> Any:
        if self.kind == "choice":
            return copy.deepcopy(self.args[int(rng.integers(len(self.args)))])
        if self.kind == "uniform":
            a, b = self.args
            if self.integer:
                x: Any = int(rng.integers(int(a), int(b) + 1))
            else:
                x = float(rng.uniform(a, b)) if b > a else float(a)
        else:
            mu, sigma = self.args
            x = float(rng.normal(mu, sigma)) if sigma > 0 else float(mu)
        if self.clip is not None:
            x = min(max(x, self.clip[0]), self.clip[1])
        if self.integer and math.isfinite(x):
            x = int(round(x))
        return x

    def extremes(self) -> list[Any]:
        """Values a draw can reach at its ends (each option of a choice), to validate at
        load; a normal without clip is represented by its mean."""
        if self.kind == "choice":
            return [copy.deepcopy(a) for a in self.args]
        if self.kind == "uniform":
            ends = list(self.args)
        else:
            ends = list(self.clip) if self.clip is not None else [self.args[0]]
        if self.clip is not None:
            ends = [min(max(e, self.clip[0]), self.clip[1]) for e in ends]
        if self.integer:
            ends = [int(round(e)) if math.isfinite(e) else e for e in ends]
        return list(dict.fromkeys(ends))

    def describe(self) -> str:
        text = f"{self.kind} {list(self.args)}"
        return text + (f" clip {list(self.clip)}" if self.clip else "")


def _is_number(x: Any) -> bool:
    """A finite number within +-MAX_ABS (no draw overflows)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) \
        and abs(x) <= MAX_ABS


def looks_like_distribution(value: Any) -> bool:
    """A mapping with one of the distribution keys (possibly a wrong one among others)."""
    return isinstance(value, dict) and any(k in value for k in KINDS)


def misspelt_hint(value: Any) -> str:
    """For a mapping given where a value is expected: what a distribution looks like, and
    which key was probably meant."""
    keys = [str(k) for k in value] if isinstance(value, dict) else []
    guesses = [g for k in keys for g in difflib.get_close_matches(k, KINDS + ("clip",), 1, 0.6)
               if k not in KINDS + ("clip",)]
    hint = f"a mapping where a value is expected; a distribution is written {FORMS}"
    if guesses:
        bad = next(k for k in keys if difflib.get_close_matches(k, KINDS + ("clip",), 1, 0.6)
                   and k not in KINDS + ("clip",))
        hint += f" (unknown key {bad!r}: did you mean {guesses[0]!r}?)"
    elif keys:
        hint += f" (got keys {', '.join(keys)})"
    return hint


def parse(value: dict, integer: bool = False) -> tuple[Distribution | None, list[str]]:
    """A distribution mapping -> ``Distribution``, or the problems (one line each)."""
    keys = list(value)
    kinds = [k for k in keys if k in KINDS]
    extra = [str(k) for k in keys if k not in KINDS and k != "clip"]
    problems: list[str] = []
    if extra:
        problems.append(f"unknown key(s) {', '.join(map(repr, extra))} in a distribution; "
                        f"valid: {FORMS}")
    if len(kinds) != 1:
        problems.append(f"a distribution has exactly one of uniform, normal, choice; got "
                        f"{', '.join(kinds)}")
        return None, problems
    kind = kinds[0]
    args = value[kind]
    clip = value.get("clip")
    if kind == "choice":
        if not isinstance(args, list) or not args:
            problems.append("choice takes a non-empty list of options, e.g. "
                            "{choice: [car, van]}")
        elif len(args) > MAX_CHOICES:
            problems.append(f"choice has {len(args)} options; at most {MAX_CHOICES}")
        if "clip" in value:
            problems.append("clip applies to uniform and normal, not to choice")
        if problems:
            return None, problems
        return Distribution(kind, tuple(args)), []
    form = "[a, b]" if kind == "uniform" else "[mu, sigma]"
    if not (isinstance(args, list) and len(args) == 2 and all(map(_is_number, args))):
        problems.append(f"{kind} takes two finite numbers {form} (within +-{MAX_ABS:g}), "
                        f"got {args!r}")
    elif kind == "uniform" and args[1] < args[0]:
        problems.append(f"uniform [a, b] needs a <= b, got {args!r}")
    elif kind == "normal" and args[1] < 0:
        problems.append(f"normal [mu, sigma] needs sigma >= 0, got {args!r}")
    elif kind == "uniform" and integer and not all(isinstance(a, int) for a in args):
        problems.append(f"the field is an integer: uniform takes integer ends, got {args!r}")
    if clip is not None or "clip" in value:
        if not (isinstance(clip, list) and len(clip) == 2 and all(map(_is_number, clip))):
            problems.append(f"clip takes two finite numbers [lo, hi] (within +-{MAX_ABS:g}), "
                            f"got {clip!r}")
            clip = None
        elif clip[1] < clip[0]:
            problems.append(f"clip [lo, hi] needs lo <= hi, got {clip!r}")
            clip = None
        else:
            clip = (clip[0], clip[1])
    if problems:
        return None, problems
    return Distribution(kind, tuple(args), clip, integer), []


# ----------------------------------------------------------------------- the schema walk
def _strip(annotation: Any) -> Any:
    """Drop ``Annotated`` and ``None`` from an annotation."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
        return Union[tuple(_strip(a) for a in args)]  # noqa: UP007
    return annotation


def _members(annotation: Any) -> list[Any]:
    annotation = _strip(annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        return list(get_args(annotation))
    return [annotation]


def _is_model(a: Any) -> bool:
    return isinstance(a, type) and issubclass(a, BaseModel)


def is_section(annotation: Any) -> bool:
    """Whether a mapping is expected here: a model or a dict (then it is not a value)."""
    if annotation is None:
        return False
    return any(_is_model(m) or get_origin(m) is dict or m is dict
               for m in _members(annotation))


def is_integer(annotation: Any) -> bool:
    members = _members(annotation) if annotation is not None else []
    return bool(members) and all(m is int for m in members)


def child(annotation: Any, key: Any, data: Any = None) -> tuple[bool, Any]:
    """The annotation of ``key`` below a value of type ``annotation``.

    Returns ``(known, annotation)``: ``known`` False means the key is not a field there
    (``annotation`` is then None); an annotation of None with ``known`` True means "not
    known" (e.g. ``Any``): the walk goes on without schema knowledge.
    """
    if annotation is None:
        return True, None
    fallback: tuple[bool, Any] | None = None
    for m in _members(annotation):
        if _is_model(m) and isinstance(key, str):
            fields = m.model_fields
            if key in fields:
                tag = data.get("type") if isinstance(data, dict) else None
                if tag is None or "type" not in fields or _tag_matches(fields["type"], tag):
                    return True, fields[key].annotation
                fallback = fallback or (True, fields[key].annotation)
        elif get_origin(m) is dict and isinstance(key, str | int | float | bool):
            args = get_args(m)
            return True, args[1] if len(args) == 2 else None
        elif get_origin(m) in (list, tuple) and isinstance(key, int):
            args = [a for a in get_args(m) if a is not Ellipsis]
            if get_origin(m) is tuple and len(args) > 1:
                return (True, args[key]) if key < len(args) else (False, None)
            return True, args[0] if args else None
        elif m is Any:
            return True, None
    return fallback or (False, None)


def _tag_matches(field: Any, tag: Any) -> bool:
    ann = _strip(field.annotation)
    if get_origin(ann) is Literal:
        return tag in get_args(ann)
    return True


def find(data: Any, annotation: Any, loc: Loc = (),
         skip: tuple[Loc, ...] = ()) -> tuple[dict[Loc, Distribution], list[tuple[Loc, str]]]:
    """Every distribution in ``data`` (raw YAML data of type ``annotation``), by location,
    and the problems of malformed ones. Locations in ``skip`` are left alone."""
    found: dict[Loc, Distribution] = {}
    problems: list[tuple[Loc, str]] = []

    def walk(node: Any, ann: Any, at: Loc) -> None:
        if at in skip:
            return
        if isinstance(node, dict):
            if looks_like_distribution(node) and not is_section(ann):
                dist, errs = parse(node, integer=is_integer(ann))
                if dist is not None:
                    found[at] = dist
                problems.extend((at, e) for e in errs)
                return
            for k, v in node.items():
                known, sub = child(ann, k, node)
                if known:
                    walk(v, sub, at + (k,))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                known, sub = child(ann, i, node)
                if known:
                    walk(v, sub, at + (i,))

    walk(data, annotation, loc)
    return found, problems


def get_at(data: Any, loc: Loc) -> Any:
    for part in loc:
        data = data[part]
    return data


def set_at(data: Any, loc: Loc, value: Any) -> None:
    """Set ``value`` at ``loc`` in nested dicts/lists, creating missing mappings.

    Raises:
        KeyError / IndexError / TypeError: ``loc`` cannot be reached in ``data``.
    """
    node = data
    for part in loc[:-1]:
        if isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int):
            node = node[part]
        else:
            raise TypeError(f"not a section at {part!r}")
    if isinstance(node, dict):
        node[loc[-1]] = value
    elif isinstance(node, list) and isinstance(loc[-1], int):
        node[loc[-1]] = value
    else:
        raise TypeError(f"not a section at {loc[-1]!r}")


def rng_for(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=key))


def sample(dists: dict[Loc, Distribution], seed: int) -> dict[Loc, Any]:
    """One draw of every distribution from its own stream (see the module docstring)."""
    return {loc: d.sample(rng_for(seed, DIST_KEY, stable_hash(format_path(loc))))
            for loc, d in sorted(dists.items(), key=lambda kv: format_path(kv[0]))}
