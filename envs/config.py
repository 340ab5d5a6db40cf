"""From what ``gymnasium.make(id, scenario=..., **overrides)`` is given to a validated
scenario: a bundled env scenario by name, a YAML path or a ``Scenario``, with overrides of
``env:`` fields and (``scenario_overrides``) of any scenario field by dotted path."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scenarios import BUNDLED_DIR, Scenario, load
from scenarios.env_schema import EnvConfig
from scenarios.limits import FieldError

ENV_SCENARIO_DIR = BUNDLED_DIR / "envs"
ENV_FIELDS = tuple(EnvConfig.model_fields)


class EnvConfigError(ValueError):
    """An env keyword or scenario override is wrong; the message names the field."""


def _scenario_path(name: str | Path) -> Path:
    p = Path(name)
    if p.suffix in (".yaml", ".yml") or p.exists():
        return p
    bundled = ENV_SCENARIO_DIR / f"{name}.yaml"
    if bundled.exists():
        return bundled
    known = sorted(f.stem for f in ENV_SCENARIO_DIR.glob("*.yaml"))
    raise EnvConfigError(f"scenario {str(name)!r} is neither a YAML file nor a bundled env "
                         f"scenario ({', '.join(known)})")


def _set_dotted(data: dict, path: str, value: Any) -> None:
    keys = path.split(".")
    node: Any = data
    for k in keys[:-1]:
        if isinstance(node, list):
            node = node[int(k)]
        elif isinstance(node, dict) and k in node:
            node = node[k]
        else:
            raise EnvConfigError(f"scenario override {path!r}: no field {k!r}")
    last = keys[-1]
    if isinstance(node, list):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise EnvConfigError(f"scenario override {path!r}: {keys[-2]!r} is not a section")


def _merge(base: Any, update: Any) -> Any:
    """Mapping updates merge key by key, except a new ``type`` replaces the whole section."""
    if isinstance(base, dict) and isinstance(update, Mapping) and \
            update.get("type", base.get("type")) == base.get("type"):
        out = dict(base)
        for k, v in update.items():
            out[k] = _merge(base.get(k), v)
        return out
    return update


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    loc, msg = tuple(e["loc"]), e["msg"]
    inner = (e.get("ctx") or {}).get("error")
    if isinstance(inner, FieldError):       # a cross-field rule naming its field
        loc, msg = loc + inner.loc, inner.message
    msg = msg.removeprefix("Value error, ")
    # Drop pydantic's union-member tags (e.g. 'kinematics' in observation.kinematics.x).
    parts = [str(p) for p in loc if not str(p).startswith("function-")]
    return f"{'.'.join(parts) or '<scenario>'}: {msg}"


def resolve_scenario(scenario: str | Path | Scenario = "highway",
                     scenario_overrides: Mapping[str, Any] | None = None,
                     **env_overrides: Any) -> Scenario:
    """The scenario an env runs.

    Raises:
        EnvConfigError: an unknown keyword or a value the schema refuses (named by path).
        scenarios.ScenarioError: the YAML file is wrong (``file:line: field: message``).
    """
    unknown = sorted(set(env_overrides) - set(ENV_FIELDS))
    if unknown:
        raise EnvConfigError(f"unknown env keyword(s) {', '.join(unknown)}; the env fields "
                             f"are {', '.join(ENV_FIELDS)} (and scenario, "
                             f"scenario_overrides, render_mode)")
    base = scenario if isinstance(scenario, Scenario) else load(_scenario_path(scenario))
    if not env_overrides and not scenario_overrides:
        return base
    data = base.model_dump(mode="python")
    if not base.map.geo_origin_given:       # keep it unwritten: a map file's may apply
        data["map"].pop("geo_origin", None)
    for path, value in (scenario_overrides or {}).items():
        _set_dotted(data, path, value)
    data["env"] = _merge(data["env"], dict(env_overrides))
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise EnvConfigError(_first_error(err)) from None
