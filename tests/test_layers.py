"""The import graph of the project: layers go one way and no module cycles.

Layers, lowest first: ``scenarios`` -> ``agents`` (driver models, pure functions) ->
``simulator`` -> ``sensors`` -> ``viz`` -> users of world + sensors (``runner``, ``envs``,
``exporters``) -> entry points (``benchmarks``, ``run_sim``). Every import counts, also the
ones inside functions or under ``TYPE_CHECKING``: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {
    "scenarios": 0, "agents": 1, "simulator": 2, "sensors": 3, "viz": 4,
    "runner": 5, "envs": 5, "exporters": 5, "benchmarks": 6, "run_sim": 6,
}
# Inside the world, folders go one way too: map -> scene -> vehicles -> traffic, actors -> world.
SIM_LAYERS = {"errors": 0, "pose": 0, "map": 1, "scene": 2, "vehicles": 2, "traffic": 3,
              "actors": 3, "world": 4, "checks": 5}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    out = {}
    for top in LAYERS:
        base = ROOT / top
        files = [ROOT / "run_sim.py"] if top == "run_sim" else sorted(base.rglob("*.py"))
        for f in files:
            out[_module_name(f)] = f
    return out


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Project modules imported anywhere in ``path`` (resolved to the deepest module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" for a in node.names] + [node.module]
        for name in names:
            parts = name.split(".")
            while parts and ".".join(parts) not in modules:
                parts.pop()
            if parts:
                found.add(".".join(parts))
    return found


def _graph() -> dict[str, set[str]]:
    mods = project_modules()
    graph = {}
    for name, path in mods.items():
        deps = imports_of(path, mods)
        # "from pkg import submodule" also names the package; the package itself is not a
        # dependency unless it is imported for a name it defines.
        graph[name] = {d for d in deps if d != name and not name.startswith(d + ".")}
    return graph


def _layer(mod: str) -> tuple[int, int]:
    parts = mod.split(".")
    sub = SIM_LAYERS.get(parts[1], 0) if parts[0] == "simulator" and len(parts) > 1 else 0
    return LAYERS[parts[0]], sub


def test_no_import_goes_up_a_layer():
    bad = []
    for mod, deps in _graph().items():
        for d in deps:
            if mod.split(".")[0] == d.split(".")[0] and mod.split(".")[0] != "simulator":
                continue
            if _layer(d) > _layer(mod):
                bad.append(f"{mod} imports {d}")
    assert not bad, "upward imports:\n" + "\n".join(sorted(bad))


def test_no_import_cycles():
    graph = _graph()
    # Tarjan's strongly connected components.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


def test_the_checker_sees_lazy_and_type_checking_imports(tmp_path):
    mods = {"simulator.world": tmp_path / "w.py", "sensors.rig": tmp_path / "r.py"}
    src = tmp_path / "w.py"
    src.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                   "    from sensors.rig import Rig\n"
                   "def f():\n    import sensors.rig\n")
    assert imports_of(src, mods) == {"sensors.rig"}
