"""YAML -> validated :class:`Scenario`, with errors that name file, line and field path."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scenarios.limits import FieldError
from scenarios.schema import Scenario
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


def parse_scenario_located(text: str, source: str = "<string>") -> tuple[Scenario, SourceMap]:
    """Validate YAML text as a scenario; also return where its fields are written.

    Raises:
        ScenarioError: with one ``source:line: path: message`` line per problem.
    """
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
    where = SourceMap(source, root)
    try:
        return Scenario.model_validate(data), where
    except ValidationError as exc:
        messages = [where.message(*_problem(root, err)) for err in exc.errors()]
        raise ScenarioError(_limited(messages, source)) from None


def _problem(root: yaml.Node | None, err: Any) -> tuple[tuple[Any, ...], str]:
    """The field path and message of one pydantic error."""
    loc, msg = tuple(err["loc"]), err["msg"]
    error = (err.get("ctx") or {}).get("error")
    if isinstance(error, FieldError):       # a cross-field rule naming the field it is about
        loc, msg = loc + error.loc, error.message
    elif err["type"] == "value_error":
        msg = msg.removeprefix("Value error, ")
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


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: the file is missing or invalid; messages name file, line and field.
    """
    return load_located(path)[0]


def json_schema() -> str:
    """The JSON Schema of the scenario format, as indented JSON text."""
    return json.dumps(Scenario.model_json_schema(), indent=2)
