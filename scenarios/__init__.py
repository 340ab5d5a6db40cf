"""Scenario schema, loader and the bundled scenarios (``scenarios/*.yaml``)."""

from pathlib import Path

from scenarios.loader import (
    ScenarioError,
    SourceMap,
    json_schema,
    load,
    load_located,
    parse_scenario,
    parse_scenario_located,
)
from scenarios.schema import Scenario

BUNDLED_DIR = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED_DIR / "default.yaml"

__all__ = ["BUNDLED_DIR", "DEFAULT_SCENARIO", "Scenario", "ScenarioError", "SourceMap",
           "json_schema", "load", "load_located", "parse_scenario", "parse_scenario_located"]
