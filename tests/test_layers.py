"""The import graph, read from the source (every ``import``, also those inside functions):
packages only import downward, and no module imports itself back through others.

Layers, low to high: profiles (data) → probes (the engine) → reports (store, HTML and the
reporters that feed them) → scheduler (the service). ``shop`` (the demo shop) stands
apart: it imports none of ours, and anyone may start it. ``orderprobe.cli`` is the front door
on top of all: it names each command module by string and imports only the one asked for.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"profiles": 0, "probes": 1, "reports": 2, "scheduler": 3}
APART = {"shop"}
OURS = set(LAYERS) | APART


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Modules of ours that ``module`` imports, anywhere in its source (functions included)."""
    found: set[str] = set()
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}  # `from pkg import module`
    return {name for name in found if name.split(".")[0] in OURS}


def graph() -> dict[str, set[str]]:
    files = [p for pkg in OURS for p in (ROOT / pkg).rglob("*.py")]
    modules = {module_name(p): p for p in files}
    return {
        name: {
            m
            for m in imports(path.read_text(encoding="utf-8"), name, is_package=path.name == "__init__.py")
            if m in modules and m != name
        }
        for name, path in modules.items()
    }


def test_packages_import_only_downward() -> None:
    wrong = []
    for module, targets in sorted(graph().items()):
        here = module.split(".")[0]
        for target in sorted(targets):
            there = target.split(".")[0]
            if there == here or there in APART and here not in APART:
                continue
            if here in APART or there in APART or LAYERS[there] > LAYERS[here]:
                wrong.append(f"{module} → {target}")
    assert not wrong, "imports against the layers (profiles → probes → reports → scheduler):\n" + "\n".join(wrong)


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_itself_back() -> None:
    edges = graph()
    # A package's __init__ importing its own modules is how a package presents itself, not a cycle.
    edges = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in edges.items()}
    assert cycles(edges) == []


@pytest.mark.parametrize(
    ("edges", "expected"),
    [({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}, [["a", "b", "c"]]), ({"a": {"b"}, "b": set()}, [])],
)
def test_the_cycle_finder_finds_cycles(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_imports_inside_functions_and_relative_ones_count() -> None:
    source = "import os\ndef f():\n    from orderprobe.store.store import Store\n    from . import journey\n"
    assert imports(source, "orderprobe.probes.plugin") == {
        "orderprobe.store.store",
        "orderprobe.store.store.Store",
        "probes",
        "orderprobe.probes.journey",
    }
