"""YAML -> validated :class:`Scenario`, with errors that name file, line and field path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from scenarios.schema import Scenario


class ScenarioError(Exception):
    """A scenario file is missing, is not YAML, or does not match the schema.

    ``messages`` holds one line per problem: ``file:line: field.path: message``.
    """

    def __init__(self, messages: list[str]):
        super().__init__("\n".join(messages))
        self.messages = messages


def _format_loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<root>"


def _node_for(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[yaml.Node | None, tuple]:
    """Walk the YAML node tree along a pydantic error location.

    Returns the deepest node found and the location parts that matched a YAML key or index
    (pydantic adds union tags such as ``'arc'`` that are not in the file).
    """
    node, path = root, []
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
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
            if k.value == str(loc[-1]):
                return k.start_mark.line + 1
    node, _ = _node_for(root, loc)
    return node.start_mark.line + 1 if node is not None else None


def _clean_loc(root: yaml.Node | None, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop pydantic's union tags (e.g. ``'arc'``, ``'camera'``) from a location."""
    out: list[Any] = []
    node = root
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == str(part)), None)
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


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Validate YAML text as a scenario.

    Raises:
        ScenarioError: with one ``source:line: path: message`` line per problem.
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"{mark.line + 1}" if mark is not None else "?"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError([f"{source}:{line}: invalid YAML: {problem}"]) from None
    duplicates = _duplicate_keys(root, source)
    if duplicates:
        raise ScenarioError(duplicates)
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}:1: the file must hold a mapping of scenario "
                             f"sections, got {type(data).__name__}"])
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            loc = _clean_loc(root, tuple(err["loc"]))
            line = _key_line(root, loc)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field" + _valid_keys_hint(loc)
            messages.append(f"{source}:{line if line else '?'}: {_format_loc(loc)}: {msg}")
        raise ScenarioError(messages) from None


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


def load(path: str | Path) -> Scenario:
    """Read and validate a scenario file.

    Raises:
        ScenarioError: the file is missing or invalid; messages name file, line and field.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([f"{path}: no such file"]) from None
    except (IsADirectoryError, PermissionError, UnicodeDecodeError) as exc:
        raise ScenarioError([f"{path}: cannot read: {exc.__class__.__name__}"]) from None
    return parse_scenario(text, source=str(path))


def json_schema() -> str:
    """The JSON Schema of the scenario format, as indented JSON text."""
    return json.dumps(Scenario.model_json_schema(), indent=2)
