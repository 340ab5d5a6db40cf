"""Reading untrusted YAML: bounded size, nesting and alias expansion, one-line errors.

PyYAML shares the object behind an alias, so ``safe_load`` of a "billion laughs" file is
quick, but everything that walks the result afterwards (the duplicate-key check, pydantic)
visits every expansion: seven nested levels of ten aliases took 13 s, nine never end. Deep
nesting (``[[[[...]]]]``) overflows the composer's recursion. Both are refused here before
anything walks the document, with the line where the limit was crossed.
"""

from __future__ import annotations

import re

import yaml

MAX_BYTES = 5_000_000
"""Largest scenario text [characters]; real scenarios are a few kB."""

MAX_NODES = 100_000
"""Most YAML nodes (scalars, lists, mappings) with every alias expanded."""

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings, also counting what aliases bring in."""

MAX_INT_DIGITS = 30
"""Digits of an integer (a seed below 2**64 has 20)."""

_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")


class YamlInputError(Exception):
    """The text is not acceptable YAML. ``line`` is 1-based (None: the whole file)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line = line
        self.message = message


def line_and_column(text: str, index: int) -> tuple[int, int]:
    """1-based line and column of character ``index``, with YAML's line breaks."""
    breaks = list(_LINE_BREAK.finditer(text, 0, index))
    start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, index - start + 1


class _GuardedLoader(yaml.SafeLoader):
    """A SafeLoader that refuses deep nesting while composing and reports values that the
    constructors cannot build (a 5000-digit integer, the 13th month) as YAML errors."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # noqa: ANN001, ANN201  (PyYAML's signature)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark
                raise YamlInputError(mark.line + 1, f"nested deeper than {MAX_DEPTH} levels")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_yaml_int(self, node):  # noqa: ANN001, ANN201
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_INT_DIGITS:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of {digits} digits; at most {MAX_INT_DIGITS}",
                node.start_mark)
        return super().construct_yaml_int(node)

    def construct_object(self, node, deep=False):  # noqa: ANN001, ANN201
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:  # e.g. a date with month 13
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value: {exc}", node.start_mark) from None


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def check_expansion(root: yaml.Node | None) -> None:
    """Refuse alias graphs that expand beyond ``MAX_NODES`` / ``MAX_DEPTH`` or loop.

    Linear in the number of distinct nodes: sizes and depths are memoised per node (an
    alias is the very node object it refers to), and the walk is iterative.

    Raises:
        YamlInputError: with the line of the first node past a limit.
    """
    if root is None:
        return
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            depth[key] = 1 + max((depth[id(k)] for k in kids), default=0)
            open_nodes.discard(key)
            line = node.start_mark.line + 1
            if size[key] > MAX_NODES:
                raise YamlInputError(line, f"aliases expand to more than {MAX_NODES} values "
                                     "(a 'billion laughs' file); write the data out instead")
            if depth[key] > MAX_DEPTH:
                raise YamlInputError(line, f"aliases nest deeper than {MAX_DEPTH} levels")
            continue
        if key in size:
            continue
        if key in open_nodes:
            raise YamlInputError(node.start_mark.line + 1,
                                 "an alias refers to the list or mapping that contains it")
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((k, False) for k in _children(node) if id(k) not in size)


def _reader_error(text: str, exc: yaml.reader.ReaderError) -> YamlInputError:
    line, col = line_and_column(text, exc.position)
    char = exc.character if isinstance(exc.character, str) else chr(exc.character)
    return YamlInputError(line, f"invalid YAML: control character U+{ord(char):04X} at "
                          f"column {col} (write it as an escape inside double quotes)")


def _yaml_error(text: str, exc: yaml.YAMLError) -> YamlInputError:
    if isinstance(exc, yaml.reader.ReaderError):
        return _reader_error(text, exc)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return YamlInputError(mark.line + 1 if mark is not None else None,
                          f"invalid YAML: {problem}")


def compose_and_load(text: str) -> tuple[yaml.Node | None, object]:
    """The node tree (for line numbers) and the plain data of one YAML document.

    Raises:
        YamlInputError: bad syntax, a control character, a value that cannot be built,
            or a document past the limits above.
    """
    if len(text) > MAX_BYTES:
        raise YamlInputError(None, f"{len(text)} characters; a scenario may have at most "
                             f"{MAX_BYTES}")
    try:
        loader = _GuardedLoader(text)
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
        check_expansion(root)
        # A second parse for the data: constructing merges ``<<`` keys into the nodes,
        # and the line table and the duplicate-key check need them as written.
        loader = _GuardedLoader(text)
        try:
            data = loader.get_single_data()
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _yaml_error(text, exc) from None
    except RecursionError:  # a safety net: nesting is bounded above
        raise YamlInputError(None, f"nested deeper than {MAX_DEPTH} levels") from None
    return root, data


_GuardedLoader.add_constructor("tag:yaml.org,2002:int", _GuardedLoader.construct_yaml_int)
