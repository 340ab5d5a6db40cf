"""Scenario schema, loader and the bundled scenarios (``scenarios/*.yaml``)."""

from pathlib import Path

from scenarios.loader import (
    SampledScenario,
    ScenarioError,
    ScenarioTemplate,
    SourceMap,
    json_schema,
    load,
    load_located,
    load_template,
    parse_scenario,
    parse_scenario_located,
    parse_template,
    resample,
    sampled_values,
    variant_of,
)
from scenarios.schema import Scenario

BUNDLED_DIR = Path(__file__).resolve().parent
DEFAULT_SCENARIO = BUNDLED_DIR / "default.yaml"

__all__ = ["BUNDLED_DIR", "DEFAULT_SCENARIO", "SampledScenario", "Scenario", "ScenarioError",
           "ScenarioTemplate", "SourceMap", "json_schema", "load", "load_located",
           "load_template", "parse_scenario", "parse_scenario_located", "parse_template",
           "resample", "sampled_values", "variant_of"]
