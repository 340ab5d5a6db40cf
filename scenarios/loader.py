"""YAML -> validated :class:`Scenario`, with errors that name file, line and field path."""

from __future__ import annotations

import copy
import functools
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import PrivateAttr, ValidationError

from scenarios import distributions as dist
from scenarios.limits import FieldError
from scenarios.schema import Scenario
from scenarios.sweep import Sweep
from scenarios.yaml_guard import MAX_BYTES, YamlInputError, compose_and_load


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``), so that
    one problem is always one line on the terminal."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ScenarioError(Exception):
    """A scenario file is missing, is not YAML, or does not match the schema.

    ``messages`` holds one line per problem: ``file:line: field.path: message`` (or
    ``file: message`` for problems of the whole file).
    """

    def __init__(self, messages: list[str]):
        messages = [one_line(m) for m in messages]
        super().__init__("\n".join(messages))
        self.messages = messages


def format_loc(loc: tuple[Any, ...]) -> str:
    """``("map", "roads", 0, "segments")`` -> ``map.roads[0].segments``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def parse_loc(text: str) -> tuple[Any, ...]:
    """The inverse of :func:`format_loc` (for keys without dots or brackets)."""
    return tuple(int(p[1:-1]) if p.startswith("[") else p
                 for p in re.findall(r"\[\d+\]|[^.\[\]]+", text))


def _is_key(node: yaml.Node, part: Any) -> bool:
    """Whether a mapping key node is the key ``part`` of the data (``null``, ``true`` and
    ``2001-01-01`` are written differently from how pydantic names them)."""
    if node.value == str(part):
        return True
    if not isinstance(node, yaml.ScalarNode):
        return False
    try:
        value = yaml.SafeLoader("").construct_object(node)
    except (yaml.YAMLError, ValueError, OverflowError):
        return False
    return value == part or str(part) in (str(value), repr(value))


def _node_for(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, tuple]:
    """Walk the YAML node tree along a pydantic error location.

    Returns the deepest node found and the location parts that matched a YAML key or index
    (pydantic adds union tags such as ``'arc'`` that are not in the file).
    """
    node, path = root, []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if _is_key(k, part)), None)
            if child is None:
                continue  # a union tag or a missing key: stay on the parent
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if part >= len(node.value):
                break
            node = node.value[part]
        else:
            continue
        path.append(part)
    return node, tuple(path)


def _key_line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the key that holds the value at ``loc`` (or its nearest parent)."""
    parent, _ = _node_for(root, loc[:-1]) if loc else (root, ())
    if isinstance(parent, yaml.MappingNode) and loc:
        for k, _v in parent.value:
            if _is_key(k, loc[-1]):
                return k.start_mark.line + 1
    node, _ = _node_for(root, loc)
    return node.start_mark.line + 1 if node is not None else None


def _clean_loc(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (e.g. ``'arc'``, ``'camera'``) from a location."""
    out: list[Any] = []
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if _is_key(k, part)), None)
            if child is None:
                # A key that is missing from the file (e.g. a required field) is kept;
                # a discriminator tag is not a key of the data at all.
                if isinstance(part, str) and _is_union_tag(node, part):
                    continue
                out.append(part)
                node = None
                continue
            node = child
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        out.append(part)
    return tuple(out)


def _is_union_tag(node: yaml.MappingNode, part: str) -> bool:
    type_node = next((v for k, v in node.value if k.value == "type"), None)
    return type_node is not None and getattr(type_node, "value", None) == part


def _duplicate_keys(node: yaml.Node | None, source: str, path: str = "") -> list[str]:
    """YAML silently keeps the last of two equal keys; a scenario must not."""
    out: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for k, v in node.value:
            key = str(k.value)
            where = f"{path}.{key}" if path else key
            if key in seen:
                out.append(f"{source}:{k.start_mark.line + 1}: {where}: duplicate key")
            seen.add(key)
            out += _duplicate_keys(v, source, where)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _duplicate_keys(v, source, f"{path}[{i}]")
    return out


MAX_MESSAGES = 20
"""Problems listed per file; the rest are counted."""


@dataclass(frozen=True)
class SourceMap:
    """Where a scenario's fields are written: the file name and its YAML node tree.

    Turns a field path (``("ego", "start", "lane")``) into ``file:line: path: message``,
    also for problems found after the schema (map, route, sensors).
    """

    source: str
    root: yaml.Node | None = None

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """1-based line of the key holding ``loc`` (or of its nearest written parent)."""
        return _key_line(self.root, tuple(loc)) if self.root is not None else None

    def message(self, loc: tuple[Any, ...], text: str) -> str:
        """``file:line: field.path: text``; ``file: text`` when ``loc`` is empty."""
        loc = tuple(loc)
        if not loc:
            return one_line(f"{self.source}: {text}")
        line = self.line_of(loc)
        where = f"{self.source}:{line}" if line else self.source
        return one_line(f"{where}: {format_loc(loc)}: {text}")


def _limited(messages: list[str], source: str) -> list[str]:
    if len(messages) <= MAX_MESSAGES:
        return messages
    return messages[:MAX_MESSAGES] + [f"{source}: ... and {len(messages) - MAX_MESSAGES} "
                                      "more problems"]


def _compose(text: str, source: str) -> tuple[yaml.Node | None, dict]:
    """The YAML node tree and data of a scenario text (a mapping, no duplicate keys)."""
    try:
        root, data = compose_and_load(text)
    except YamlInputError as exc:
        where = f"{source}:{exc.line}" if exc.line else source
        raise ScenarioError([f"{where}: {exc.message}"]) from None
    duplicates = _duplicate_keys(root, source)
    if duplicates:
        raise ScenarioError(_limited(duplicates, source))
    if not isinstance(data, dict):
        got = "an empty file" if data is None else type(data).__name__
        raise ScenarioError([f"{source}:1: the file must hold a mapping of scenario "
                             f"sections, got {got}"])
    return root, data


def parse_scenario_located(text: str, source: str = "<string>") -> tuple[Scenario, SourceMap]:
    """Validate YAML text as a scenario; also return where its fields are written.

    A file with distributions is sampled at its own ``simulation.seed`` (and checked at
    the ends of every distribution); a ``sweep:`` is not expanded (``parse_template``).

    Raises:
        ScenarioError: with one ``source:line: path: message`` line per problem.
    """
    template = parse_template(text, source)
    return template.sample(), template.where

def _problem(root: yaml.Node | None, err: Any) -> tuple[tuple[Any, ...], str]:
    """The field path and message of one pydantic error."""
    loc, msg = tuple(err["loc"]), err["msg"]
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, FieldError):       # a cross-field rule naming the field it is about
        loc, msg = loc + error.loc, error.message
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
    elif isinstance(err.get("input"), dict) and (
            err["type"].endswith(("_type", "_parsing")) or err["type"] == "literal_error") \
            and err["type"] not in ("model_type", "dict_type", "model_attributes_type"):
        msg = dist.misspelt_hint(err["input"])
    loc = _clean_loc(root, loc)
    if err["type"] == "extra_forbidden":
        msg = "unknown field" + _valid_keys_hint(loc)
    return loc or ("<root>",), msg


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate YAML text as a scenario.

    Raises:
        ScenarioError: with one ``source:line: path: message`` line per problem.
    """
    return parse_scenario_located(text, source)[0]


def _valid_keys_hint(loc: tuple[Any, ...]) -> str:
    """List the valid keys at the parent of an unknown key, MetaDrive-style."""
    model: Any = Scenario
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        model = _model_of(field.annotation)
        if model is None:
            return ""
    fields = getattr(model, "model_fields", None)
    return f" (valid: {', '.join(fields)})" if fields else ""


def _model_of(annotation: Any) -> Any:
    from typing import get_args

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def read_text(path: str | Path) -> str:
    """A scenario file's text (UTF-8).

    Raises:
        ScenarioError: missing, unreadable, too large or not UTF-8 (with the position).
    """
    path = Path(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except OSError as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if len(raw) > MAX_BYTES:
        raise ScenarioError([f"{path}: larger than {MAX_BYTES} bytes; not a scenario"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ScenarioError([f"{path}:{line}: invalid UTF-8: byte 0x{raw[exc.start]:02x} at "
                             f"column {col} (save the file as UTF-8)"]) from None


def load_located(path: str | Path) -> tuple[Scenario, SourceMap]:
    """Read and validate a scenario file; also return where its fields are written.

    Raises:
        ScenarioError: the file is missing or invalid; messages name file, line and field.
    """
    return parse_scenario_located(read_text(path), source=str(path))


def load_template(path: str | Path) -> ScenarioTemplate:
    """Read a scenario file with its distributions and sweep (see ``ScenarioTemplate``).

    Raises:
        ScenarioError: the file is missing or invalid, or a variant or a distribution's
            end is; messages name file, line and field.
    """
    return parse_template(read_text(path), source=str(path))


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: the file is missing or invalid; messages name file, line and field.
    """
    return load_located(path)[0]


def json_schema() -> str:
    """The JSON Schema of the scenario format, as indented JSON text."""
    return json.dumps(Scenario.model_json_schema(), indent=2)


# ----------------------------------------------------------------- distributions, sweeps
MAX_CHECKS = 2_000
"""Validations a template runs at load (every variant at the file's seed, then the ends of
its distributions) before it stops checking ends."""

_SEED_LOC = ("simulation", "seed")


class SampledScenario(Scenario):
    """A ``Scenario`` drawn from a file with distributions or a sweep: the same fields,
    plus what was drawn (``sampled_values``, ``variant_of``) and the file it came from (so
    ``resample`` can draw another episode)."""

    _sampled: dict[str, Any] = PrivateAttr(default_factory=dict)
    _variant: int | None = PrivateAttr(None)
    _variant_values: dict[str, Any] = PrivateAttr(default_factory=dict)
    _origin: tuple[str, str] | None = PrivateAttr(None)  # (source, text)


def sampled_values(scenario: Scenario) -> dict[str, Any]:
    """Field path -> the value drawn for it ({} for a scenario without distributions)."""
    return dict(getattr(scenario, "_sampled", None) or {})


def variant_of(scenario: Scenario) -> tuple[int | None, dict[str, Any]]:
    """The sweep variant a scenario was expanded from and its field values
    (``(None, {})``: none)."""
    if not isinstance(scenario, SampledScenario):
        return None, {}
    return scenario._variant, dict(scenario._variant_values)


def resample(scenario: Scenario, seed: int) -> Scenario:
    """The same file and variant drawn at another seed (export episode k: seed S + k); the
    scenario itself when it has no distributions. Its ``simulation.seed`` is ``seed``."""
    origin = getattr(scenario, "_origin", None) if isinstance(scenario, SampledScenario) \
        else None
    if origin is None:
        return scenario
    return _resampled(origin[0], origin[1], int(seed), scenario._variant) or scenario


@functools.lru_cache(maxsize=8)
def _cached_template(source: str, text: str) -> ScenarioTemplate:
    return parse_template(text, source)


@functools.lru_cache(maxsize=4096)
def _resampled(source: str, text: str, seed: int, variant: int | None) -> Scenario | None:
    """Drawn scenarios are immutable, so one draw serves every caller (the exporter asks
    for each episode's scenario per episode and for every manifest update)."""
    template = _cached_template(source, text)
    if not template.distributions_of(variant):
        return None
    return template.sample(seed, variant)


def _value_text(value: Any) -> str:
    return json.dumps(value, default=str) if not isinstance(value, str) else value


class ScenarioTemplate:
    """A scenario file before sampling: its distributions and its sweep variants.

    Attributes:
        source: the file name; where: its ``SourceMap``; seed: ``simulation.seed`` as
        written (0 when not); variants: per sweep variant, field path -> value, in the
        documented order (``scenarios.sweep``); has_distributions: whether any field (of the
        file or of a variant) is a distribution.
    """

    def __init__(self, text: str, source: str):
        self.source = source
        self._text = text
        root, data = _compose(text, source)
        self.where = SourceMap(source, root)
        self._root = root
        raw_sweep = data.pop("sweep", None) if "sweep" in data else None
        self._has_sweep_key = raw_sweep is not None
        self._data = data
        sim = data.get("simulation")
        seed = sim.get("seed", 0) if isinstance(sim, dict) else 0
        self.seed = seed if isinstance(seed, int) and not isinstance(seed, bool) \
            and 0 <= seed < 2**64 else 0
        problems: list[tuple[tuple, str]] = []
        self._sweep_locs: dict[tuple, tuple] = {}  # field loc -> loc of its sweep key
        self.variants: list[dict[str, Any]] = []
        self._variant_locs: list[dict[tuple, Any]] = []
        if raw_sweep is not None:
            self._expand(raw_sweep, problems)
        found, bad = dist.find(data, Scenario)
        problems += bad
        problems += [(loc, "simulation.seed cannot be a distribution (it is what samples "
                      "them); use run --seed or export --seed") for loc in found
                     if loc == _SEED_LOC]
        self._dists = found
        if problems:
            raise ScenarioError(_limited([self.where.message(loc, m) for loc, m in problems],
                                         source))
        self.has_distributions = bool(found) or any(
            self.distributions_of(i) for i in range(len(self.variants)))
        self._base: Scenario | None = None
        self._check()

    # -------------------------------------------------------------------- sweep
    def _expand(self, raw: Any, problems: list) -> None:
        try:
            sweep = Sweep.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                err = dict(err, loc=("sweep",) + tuple(err["loc"]))
                problems.append(_problem(self._root, err))
            return
        if sweep.grid is not None:
            paths = list(sweep.grid)
            keys = {p: ("sweep", "grid", p) for p in paths}
        else:
            paths = list(sweep.random.fields)
            keys = {p: ("sweep", "random", "fields", p) for p in paths}
        locs = {}
        for p in paths:
            loc, why = self._field_loc(p)
            if why:
                problems.append((keys[p], why))
            else:
                locs[p] = loc
                self._sweep_locs[loc] = keys[p]
        if len(locs) < len(paths):
            return
        if sweep.grid is not None:
            for combo in itertools.product(*(sweep.grid[p] for p in paths)):
                self.variants.append(dict(zip(paths, combo)))
        else:
            rnd = sweep.random
            parsed = {}
            for p in paths:
                spec = rnd.fields[p]
                if not isinstance(spec, dict):
                    problems.append((keys[p], f"a random sweep field is a distribution: "
                                     f"{dist.FORMS}"))
                    continue
                d, errs = dist.parse(spec, integer=dist.is_integer(self._annotation(locs[p])))
                problems += [(keys[p], e) for e in errs]
                parsed[p] = d
            if problems:
                return
            seed = self.seed if rnd.seed is None else rnd.seed
            for i in range(rnd.count):
                self.variants.append({p: parsed[p].sample(dist.rng_for(
                    seed, dist.SWEEP_KEY, i, dist.stable_hash(p))) for p in paths})
        self._variant_locs = [{locs[p]: v for p, v in var.items()} for var in self.variants]

    def _field_loc(self, path: str) -> tuple[tuple, str]:
        """The location of a sweep path, or why it names no field of the scenario."""
        loc = parse_loc(path)
        if not loc or format_loc(loc) != path:
            return loc, f"{path!r} is not a field path (write it like sensors[0].fov_deg)"
        if loc == _SEED_LOC or loc[0] == "sweep":
            return loc, f"{path} cannot be swept"
        ann: Any = Scenario
        node: Any = self._data
        for i, part in enumerate(loc):
            known, sub = dist.child(ann, part, node)
            where = format_loc(loc[:i]) or "the scenario"
            if not known:
                return loc, f"{where} has no field {part!r}"
            if node is not None and not isinstance(node, dict | list):
                return loc, f"{where} is a value in the file, not a section"
            if isinstance(part, int):
                if not isinstance(node, list) or part >= len(node):
                    n = len(node) if isinstance(node, list) else 0
                    return loc, f"{where} has {n} entries in the file"
                node = node[part]
            else:
                node = node.get(part) if isinstance(node, dict) else None
            ann = sub
        return loc, ""

    @staticmethod
    def _annotation(loc: tuple) -> Any:
        ann: Any = Scenario
        for part in loc:
            _, ann = dist.child(ann, part)
        return ann

    # -------------------------------------------------------------------- sampling
    def _data_of(self, variant: int | None) -> dict:
        data = copy.deepcopy(self._data)
        if variant is not None:
            for loc, value in self._variant_locs[variant].items():
                dist.set_at(data, loc, copy.deepcopy(value))
        return data

    def distributions_of(self, variant: int | None) -> dict[tuple, dist.Distribution]:
        """The distributions of the file with ``variant`` applied, by field location."""
        if variant is None:
            return self._dists
        found, _ = dist.find(self._data_of(variant), Scenario)
        return found

    def _check_variant(self, variant: int | None) -> None:
        if variant is None:
            return
        n = len(self.variants)
        if isinstance(variant, bool) or not isinstance(variant, int) or not 0 <= variant < n:
            have = f"{n} variants (0..{n - 1})" if n else "no sweep"
            raise ScenarioError([f"{self.source}: variant {variant} out of range: the file "
                                 f"has {have}"])

    def sample(self, seed: int | None = None, variant: int | None = None) -> Scenario:
        """The scenario of ``variant`` (None: the file without its sweep) with every
        distribution drawn from ``seed`` (None: the file's ``simulation.seed``); its
        ``simulation.seed`` is ``seed``.

        Raises:
            ScenarioError: ``variant`` is out of range, or a drawn value is invalid.
        """
        self._check_variant(variant)
        seed = self.seed if seed is None else int(seed)
        if seed == self.seed and variant is None and self._base is not None:
            return self._base
        return self._sample(seed, variant)

    def _sample(self, seed: int, variant: int | None,
                override: tuple[tuple, Any] | None = None) -> Scenario:
        data = self._data_of(variant)
        dists = self._dists if variant is None else dist.find(data, Scenario)[0]
        drawn = dist.sample(dists, seed)
        for loc, value in drawn.items():
            dist.set_at(data, loc, value)
        if override is not None:
            dist.set_at(data, *override)
        if seed != self.seed:
            dist.set_at(data, _SEED_LOC, seed)
        plain = not dists and variant is None and not self._has_sweep_key
        cls = Scenario if plain else SampledScenario
        try:
            scenario = cls.model_validate(data, context={"base_dir": self._base_dir()})
        except ValidationError as exc:
            raise ScenarioError(_limited(
                [self._message(err, variant, override, drawn, seed) for err in exc.errors()],
                self.source)) from None
        if not plain:
            scenario._sampled = {format_loc(k): v for k, v in drawn.items()}
            scenario._variant = variant
            scenario._variant_values = dict(self.variants[variant]) if variant is not None \
                else {}
            scenario._origin = (self.source, self._text)
        return scenario

    def _base_dir(self) -> Path | None:
        """The scenario file's folder (files it names are relative to it), or None for
        text that did not come from a file."""
        path = Path(self.source)
        return path.resolve().parent if path.is_file() else None

    def _message(self, err: Any, variant: int | None, override: tuple[tuple, Any] | None,
                 drawn: dict[tuple, Any], seed: int) -> str:
        loc, msg = _problem(self._root, err)
        if override is not None:
            o_loc, value = override
            d = self.distributions_of(variant).get(o_loc)
            what = f"an end of {d.describe()}" if d is not None else "an end"
            msg += f" (with {format_loc(o_loc)} = {_value_text(value)}, {what})"
        elif loc in drawn:
            msg += f" (drawn at seed {seed}: {_value_text(drawn[loc])})"
        if variant is not None:
            values = ", ".join(f"{p}={_value_text(v)}" for p, v in self.variants[variant].items())
            key = next((k for f, k in self._sweep_locs.items() if loc[:len(f)] == f), None)
            if key is not None:
                return self.where.message(key, f"variant {variant} ({values}): "
                                          f"{format_loc(loc)}: {msg}")
            msg += f" (sweep variant {variant}: {values})"
        return self.where.message(loc, msg)

    def ends(self, variant: int | None = None,
             limit: int = 64) -> list[tuple[str, str, Scenario]]:
        """Each end of each distribution (see ``Distribution.extremes``) as a scenario,
        the others drawn at the file's seed: ``(field path, description, scenario)``, at
        most ``limit`` of them. For checks beyond the schema (lanes, the route, props)."""
        self._check_variant(variant)
        out: list[tuple[str, str, Scenario]] = []
        dists = self.distributions_of(variant)
        for loc, d in sorted(dists.items(), key=lambda kv: format_loc(kv[0])):
            for value in d.extremes():
                if len(out) >= limit:
                    return out
                desc = f"with {format_loc(loc)} = {_value_text(value)}, an end of " \
                       f"{d.describe()}"
                out.append((format_loc(loc), desc,
                            self._sample(self.seed, variant, override=(loc, value))))
        return out

    def _check(self) -> None:
        """Validate the file at its seed, every variant, and the ends of the
        distributions (as far as ``MAX_CHECKS`` goes)."""
        self._base = self._sample(self.seed, None)
        budget = MAX_CHECKS
        for variant in [None] + list(range(len(self.variants))):
            if variant is not None:
                self._sample(self.seed, variant)
                budget -= 1
            dists = self.distributions_of(variant)
            for loc, d in sorted(dists.items(), key=lambda kv: format_loc(kv[0])):
                for value in d.extremes():
                    if budget <= 0:
                        return
                    budget -= 1
                    self._sample(self.seed, variant, override=(loc, value))


def parse_template(text: str, source: str = "<string>") -> ScenarioTemplate:
    """A scenario text as a ``ScenarioTemplate`` (validated; see ``load_template``)."""
    return ScenarioTemplate(text, source)
