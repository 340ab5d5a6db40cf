"""The sensor registry and the scenario schema's sensor union name the same types.

``scenarios`` may not import ``sensors`` (layering), so the union in
``scenarios.sensor_schema`` is built from ``SENSOR_CONFIGS`` and checked here against the
registry: a new type is one config model in that tuple plus one registered class.
"""

from __future__ import annotations

import typing

import numpy as np
import pytest

from scenarios.sensor_schema import SENSOR_CONFIGS, SensorConfig
from sensors import SENSOR_TYPES, build_sensor
from sensors.base import UnknownSensorType


def _literal(config_cls: type) -> str:
    (value,) = typing.get_args(config_cls.model_fields["type"].annotation)
    return value


UNION = typing.get_args(typing.get_args(SensorConfig)[0])
BY_LITERAL = {_literal(c): c for c in UNION}


def test_the_union_is_the_config_tuple() -> None:
    assert UNION == SENSOR_CONFIGS
    assert len(BY_LITERAL) == len(UNION)  # one literal per member


def test_union_literals_are_the_registered_types() -> None:
    assert set(BY_LITERAL) == set(SENSOR_TYPES)


@pytest.mark.parametrize("type_name", sorted(SENSOR_TYPES))
def test_each_sensor_class_takes_the_union_member_of_its_type(type_name: str) -> None:
    cls = SENSOR_TYPES[type_name]
    assert cls.type_name == type_name
    assert typing.get_type_hints(cls.__init__)["config"] is BY_LITERAL[type_name]


def test_unknown_type_lists_the_known_ones() -> None:
    class Sonar:
        type = "sonar"
        name = "s"

    known = ", ".join(sorted(SENSOR_TYPES))
    with pytest.raises(UnknownSensorType, match=f"'sonar'; known: {known}$"):
        build_sensor(Sonar(), np.random.default_rng(0))
