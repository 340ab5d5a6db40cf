"""Attribute reading, error messages and once-per-kind warnings shared by the xodr parser."""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET

from simulator.map.opendrive.records import Cubic, OpenDriveError

logger = logging.getLogger("simulator.map.opendrive.xodr")

_REQUIRED = object()
_SPEED_TO_MPS = {"m/s": 1.0, "km/h": 1.0 / 3.6, "kmh": 1.0 / 3.6, "mph": 0.44704}
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}


class Context:
    """Where the parser is (file and scope, e.g. ``road 12``) and the warnings so far."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.scope = "file"
        self.warnings: list[str] = []
        self._warned: set[str] = set()

    def error(self, el: ET.Element, problem: str) -> OpenDriveError:
        """An :class:`OpenDriveError` ``file: scope: <element>: problem``."""
        return OpenDriveError(f"{self.file}: {self.scope}: <{el.tag}>: {problem}")

    def unsupported(self, el: ET.Element, parent: str, what: str = "element",
                    done: str = "skipped") -> None:
        """Record (once per kind) that an element kind is skipped (or what was ``done``)."""
        kind = el.tag
        if kind in self._warned:
            return
        self._warned.add(kind)
        message = (
            f"{self.file}: unsupported {what} <{kind}> {done} "
            f"(first seen in <{parent}> of {self.scope}; further ones {done} silently)"
        )
        self.warnings.append(message)
        logger.warning(message)

    def check_children(self, el: ET.Element, known: frozenset[str]) -> None:
        """Warn about children of ``el`` outside ``known`` (``userData`` is always fine)."""
        for child in el:
            if child.tag not in known and child.tag != "userData":
                self.unsupported(child, el.tag)

    def num(self, el: ET.Element, name: str, default=_REQUIRED) -> float:
        """Attribute ``name`` of ``el`` as a float; missing -> ``default`` or an error."""
        raw = el.get(name)
        if raw is None:
            if default is _REQUIRED:
                raise self.error(el, f"missing attribute {name!r}")
            return default
        try:
            return float(raw)
        except ValueError:
            raise self.error(el, f"attribute {name}={raw!r} is not a number") from None

    def integer(self, el: ET.Element, name: str, default=_REQUIRED) -> int:
        """Attribute ``name`` as an int (``"2"`` or ``"2.0"``)."""
        value = self.num(el, name, default)
        if value is None:
            return None
        if value != int(value):
            raise self.error(el, f"attribute {name}={el.get(name)!r} is not an integer")
        return int(value)

    def text(self, el: ET.Element, name: str, default=_REQUIRED) -> str:
        """Attribute ``name`` as a string; missing -> ``default`` or an error."""
        raw = el.get(name)
        if raw is None:
            if default is _REQUIRED:
                raise self.error(el, f"missing attribute {name!r}")
            return default
        return raw

    def flag(self, el: ET.Element, name: str, default: bool = False) -> bool:
        """Attribute ``name`` as a bool (true/false, yes/no, 1/0)."""
        raw = el.get(name)
        if raw is None:
            return default
        if raw.strip().lower() in _TRUE:
            return True
        if raw.strip().lower() in _FALSE:
            return False
        raise self.error(el, f"attribute {name}={raw!r} is not a boolean")

    def cubic(self, el: ET.Element, s_name: str = "s") -> Cubic:
        """A ``(s, a, b, c, d)`` record; missing coefficients are 0."""
        return Cubic(
            self.num(el, s_name, 0.0),
            self.num(el, "a", 0.0),
            self.num(el, "b", 0.0),
            self.num(el, "c", 0.0),
            self.num(el, "d", 0.0),
        )

    def speed_mps(self, el: ET.Element) -> float:
        """A ``<speed max unit>`` as m/s (unit default m/s; km/h and mph converted)."""
        unit = el.get("unit", "m/s").strip()
        if unit not in _SPEED_TO_MPS:
            raise self.error(el, f"unit={unit!r} is not one of {sorted(_SPEED_TO_MPS)}")
        raw = el.get("max")
        if raw is not None and raw.strip().lower() in {"no limit", "undefined"}:
            return float("inf")
        return self.num(el, "max") * _SPEED_TO_MPS[unit]
