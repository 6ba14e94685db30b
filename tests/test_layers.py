"""The import graph, read from the source (every ``import``, also those inside functions):
packages only import downward, and no module imports itself back through others.

One installed namespace, ``orderprobe``; layers, low to high (folder in the repository):

    orderprobe.base       base/       results model, taxonomy, expectation, YAML source, atomic writes, location
    orderprobe.profiles   profiles/   profiles as data
    orderprobe.probes     probes/     the engine (pytest plugin, journeys, browser, emulation, classifier)
    orderprobe.store      store/      the results store
    orderprobe.reports    reports/    HTML reports and the reporters that feed them
    orderprobe.scheduler  scheduler/  the monitoring service
    orderprobe            orderprobe/ the application: the command (cli), run, repeat, preflight, doctor

``orderprobe.shop`` (the demo shop) stands apart: it imports none of ours, and anyone may start it.
The command registry (``orderprobe.cli``) names each command's module by string and imports only
the one asked for: those strings are edges here, and it is the one module that may import by
name (``importlib.import_module``); ``importlib.resources`` / ``importlib.metadata`` are data
and entry points, allowed anywhere. No file of ours, tests and benchmarks included, may import
the old top-level names (``probes``, ``reports``, …): a user's own ``reports`` would collide.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {  # package → folder (pyproject.toml's [tool.setuptools.package-dir])
    "orderprobe": "orderprobe",
    "orderprobe.base": "base",
    "orderprobe.profiles": "profiles",
    "orderprobe.probes": "probes",
    "orderprobe.store": "store",
    "orderprobe.reports": "reports",
    "orderprobe.scheduler": "scheduler",
    "orderprobe.shop": "shop",
}
LAYERS = {name: rank for rank, name in enumerate(FOLDERS) if name != "orderprobe.shop"}
LAYERS["orderprobe"] = len(FOLDERS)  # the application: above everything
APART = {"orderprobe.shop"}
REGISTRY = "orderprobe.cli"
OLD_NAMES = {folder for folder in FOLDERS.values() if folder != "orderprobe"}  # probes, reports, … base, store
ALLOWED_IMPORTLIB = {"importlib.resources", "importlib.metadata"}


def package_of(module: str) -> str:
    """The layer a module belongs to: the longest package of ``FOLDERS`` it lives in."""
    return max((p for p in FOLDERS if module == p or module.startswith(p + ".")), key=len)


def sources() -> dict[str, Path]:
    """Every module of ours by its installed name (``probes/journey.py`` → ``orderprobe.probes.journey``)."""
    found = {}
    for package, folder in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            found[".".join([package, *(parts[:-1] if parts[-1] == "__init__" else parts)])] = path
    return found


def imports(source: str, module: str, *, is_package: bool = False) -> set[str]:
    """Modules of ours that ``module`` imports, anywhere in its source (functions included); for
    the command registry also the modules its strings name."""
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
        elif module == REGISTRY and isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.add(node.value)  # "orderprobe.reports.command": imported by name when asked for
    return {name for name in found if name.split(".")[0] == "orderprobe"}


def graph() -> dict[str, set[str]]:
    modules = sources()
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
        here = package_of(module)
        for target in sorted(targets):
            there = package_of(target)
            if there == here or there in APART and here not in APART:
                continue
            if here in APART or there in APART or LAYERS[there] > LAYERS[here]:
                wrong.append(f"{module} → {target}")
    order = " → ".join(LAYERS)
    assert not wrong, f"imports against the layers ({order}; shop apart):\n" + "\n".join(wrong)


def test_the_registry_is_an_edge_to_every_command() -> None:
    """The registry's strings count: a command module that moved or vanished fails here, and a
    command placed below the engine's callers is caught by the layer rule above."""
    edges = graph()[REGISTRY]
    assert {"orderprobe.runner", "orderprobe.reports.command", "orderprobe.scheduler.command"} <= edges


def allowed(name: str) -> bool:
    return any(name == a or name.startswith(a + ".") for a in ALLOWED_IMPORTLIB)


def dynamic_imports(source: str) -> list[str]:
    """``importlib`` used to import by name (not its resources / metadata), or ``__import__``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
            found += [n for n in names if n.split(".")[0] == "importlib" and not allowed(n)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "importlib":
            found += [f"{node.module}.{a.name}" for a in node.names if not allowed(f"{node.module}.{a.name}")]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            found.append("__import__")
    return found


def test_only_the_registry_imports_by_name() -> None:
    wrong = {
        name: found
        for name, path in sorted(sources().items())
        if name != REGISTRY and (found := dynamic_imports(path.read_text(encoding="utf-8")))
    }
    assert not wrong, f"imports by name outside the command registry ({REGISTRY}): {wrong}"


def old_name_uses(source: str, filename: str) -> list[str]:
    """Imports of the old top-level names (``import probes``, ``from reports.store import …``)."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        found += [f"{filename}:{node.lineno}: {n}" for n in names if n.split(".")[0] in OLD_NAMES]
    return found


def test_nothing_imports_the_old_top_level_names() -> None:
    files = [p for p in ROOT.rglob("*.py") if not {".venv", "var", ".git"} & set(p.relative_to(ROOT).parts)]
    wrong = [use for p in files for use in old_name_uses(p.read_text(encoding="utf-8"), str(p.relative_to(ROOT)))]
    assert not wrong, "old top-level names (use orderprobe.*):\n" + "\n".join(wrong)


def test_each_module_is_loaded_under_one_name() -> None:
    """Tests run from the repository root, where probes/ is importable as ``probes`` too: once the
    suite is collected and the layers' tops imported, every file of ours in sys.modules must have
    one name. Checked in a fresh process: this worker may already have run the built-in probes
    in-process, which a source checkout collects as ``probes.checkout.*`` (a known gap)."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys, tests.test_layers as t; sys.exit(t.names_of_ours())"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def names_of_ours() -> str | None:
    """Collect the suite, import the layers' tops, and say which files of ours have two names."""
    if pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", str(ROOT / "tests")]) != 0:
        return "collection failed"
    import orderprobe.cli
    import orderprobe.probes.journey_run  # the plugin imports the journey machinery only when a journey runs
    import orderprobe.probes.plugin
    import orderprobe.reports.command
    import orderprobe.scheduler.command  # noqa: F401  (the layers' tops: most of the tree loads)

    folders = [ROOT / folder for folder in FOLDERS.values()]
    names: dict[Path, list[str]] = {}
    for name, module in list(sys.modules.items()):
        file = Path(getattr(module, "__file__", None) or "/").resolve()
        if any(file.is_relative_to(folder) for folder in folders) and file.name != "conftest.py":
            names.setdefault(file, []).append(name)
    twice = {str(f.relative_to(ROOT)): n for f, n in names.items() if len(n) > 1}
    outside = sorted(n for ns in names.values() for n in ns if n.split(".")[0] != "orderprobe")
    if len(names) <= 50:
        return f"the check saw only {len(names)} modules of ours"
    return f"loaded twice: {twice}; under an old name: {outside}" if twice or outside else None


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


# -- the checks check: each finds what it is meant to find ----------------------------------------


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
        "orderprobe.probes",
        "orderprobe.probes.journey",
    }


def test_the_registry_strings_count_and_only_there() -> None:
    source = 'COMMANDS = {"report": ("orderprobe.reports.command", "help")}\n'
    assert "orderprobe.reports.command" in imports(source, REGISTRY)
    assert imports(source, "orderprobe.probes.plugin") == set()


def test_layers_are_found_by_the_longest_package() -> None:
    assert package_of("orderprobe.cli") == "orderprobe"
    assert package_of("orderprobe.store.spool") == "orderprobe.store"
    assert LAYERS["orderprobe.base"] < LAYERS["orderprobe.probes"] < LAYERS["orderprobe.store"]
    assert LAYERS["orderprobe.reports"] < LAYERS["orderprobe.scheduler"] < LAYERS["orderprobe"]


def test_the_importlib_and_old_name_checks_find_them() -> None:
    source = (
        "import importlib\nfrom importlib import import_module, resources\nimport importlib.util\n"
        "from importlib.metadata import entry_points\nfrom importlib.resources.abc import Traversable\n"
        "__import__('x')\nimport probes.plugin\nfrom reports import store\nfrom orderprobe.probes import journey\n"
    )
    assert dynamic_imports(source) == ["importlib", "importlib.import_module", "importlib.util", "__import__"]
    assert old_name_uses(source, "x.py") == ["x.py:7: probes.plugin", "x.py:8: reports"]
