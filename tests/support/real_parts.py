"""Which tests drive the real parts: Chromium, the demo shop, a database (SQLite file or PostgreSQL).

A speed-up must not buy its time by testing less, so ``make test`` counts, per test, whether
real Chromium opened a context or a page, the demo shop served a request, and SQLAlchemy
connected to a database — during that test, in the test's process or in any process it
started (``pytester`` runs, ``orderprobe run``, a served shop). The count is read where the
parts are used, not where they are launched, so a browser or shop shared by many tests
still counts for each of them.

How: ``tests/conftest.py`` names the running test in ``ENV_TEST`` and puts
``real_parts_site/`` on ``PYTHONPATH``; every Python process of the session (xdist workers and
their children) then loads ``install()`` from its ``sitecustomize``, which wraps a few entry
points as their modules are imported, and appends ``part<TAB>test id`` lines to ``ENV_DIR``.
Processes started with a scrubbed environment (the scheduler's isolated runs) are not seen:
the count is a floor, the same floor before and after a change.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ENV_DIR = "ORDERPROBE_REAL_PARTS_DIR"
ENV_TEST = "ORDERPROBE_REAL_PARTS_TEST"
PARTS = ("chromium", "shop", "database")
SITE = Path(__file__).with_name("real_parts_site")

_seen: set[tuple[str, str]] = set()


def record(part: str) -> None:
    folder, test = os.environ.get(ENV_DIR), os.environ.get(ENV_TEST)
    if not folder or not test or (part, test) in _seen:
        return
    _seen.add((part, test))
    try:
        with open(Path(folder) / f"{os.getpid()}.tsv", "a", encoding="utf-8") as out:
            out.write(f"{part}\t{test}\n")
    except OSError:  # a test that fills or locks the disk must not fail because we count
        pass


def _wrap(owner: type, name: str, part: str) -> None:
    original = getattr(owner, name)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        record(part)
        return original(*args, **kwargs)

    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _playwright(module: ModuleType) -> None:
    for cls, names in (
        ("BrowserType", ("launch", "launch_persistent_context", "connect", "connect_over_cdp")),
        ("Browser", ("new_context", "new_page")),
        ("BrowserContext", ("new_page",)),
        ("Page", ("goto", "set_content", "evaluate")),  # evaluate: a test's own script in a shared page
        ("Frame", ("goto", "set_content", "evaluate")),
    ):
        for name in names:
            _wrap(getattr(module, cls), name, "chromium")


def _shop(module: ModuleType) -> None:
    middleware = module.FaultMiddleware  # every request to the shop or its payment origin passes here
    original = middleware.__call__

    async def call(self: Any, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") == "http":
            record("shop")
        await original(self, scope, receive, send)

    middleware.__call__ = call


def _sqlalchemy(module: ModuleType) -> None:
    from sqlalchemy import event
    from sqlalchemy.engine.base import Engine  # its events are defined by now

    event.listen(Engine, "engine_connect", lambda *_: record("database"))


AFTER_IMPORT: dict[str, Callable[[ModuleType], None]] = {
    "playwright.sync_api._generated": _playwright,
    "orderprobe.shop.web": _shop,
    "sqlalchemy.engine.events": _sqlalchemy,
}


def _watch(module: ModuleType, then: Callable[[ModuleType], None]) -> None:
    if getattr(module, "_real_parts_watched", False):
        return
    try:
        then(module)
        module._real_parts_watched = True  # type: ignore[attr-defined]
    except Exception as exc:  # counting must never break an import
        print(f"real_parts: cannot watch {module.__name__}: {exc}", file=sys.stderr)


class _Loader(importlib.abc.Loader):
    def __init__(self, loader: Any, then: Callable[[ModuleType], None]) -> None:
        self.loader, self.then = loader, then

    def create_module(self, spec: Any) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        _watch(module, self.then)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, get_data, …
        return getattr(self.loader, name)


class RealPartsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        then = AFTER_IMPORT.get(name)
        if then is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _Loader(spec.loader, then)
                return spec
        return None


class InProcess:
    """A plugin for in-process pytester runs: their session puts its own assertion-rewriting import
    hook in front of every finder (see ``install``)."""

    def pytest_configure(self, config: Any) -> None:
        install()


def install() -> None:
    """Watch the parts in this process: the modules imported already are wrapped at once, and the
    finder goes (back) in front of the others. pytest's assertion rewriter, put in front when a
    session starts, imports our packages (those of a pytest11 plugin) itself: an xdist worker
    whose shop module it imported served the shop unseen (tests of the shop counted only after
    an in-process run happened to re-watch it on the same worker)."""
    mine = [f for f in sys.meta_path if type(f).__name__ == RealPartsFinder.__name__] or [RealPartsFinder()]
    sys.meta_path[:] = mine + [f for f in sys.meta_path if f not in mine]
    for name, then in AFTER_IMPORT.items():
        if name in sys.modules:
            _watch(sys.modules[name], then)


def tally(folder: Path) -> dict[str, set[str]]:
    """Test ids per part, from every process's lines."""
    found: dict[str, set[str]] = defaultdict(set)
    for file in folder.glob("*.tsv"):
        for line in file.read_text(encoding="utf-8").splitlines():
            part, _, test = line.partition("\t")
            found[part].add(test)
    return found


def summary(found: dict[str, set[str]], ran: int) -> str:
    every = set.intersection(*(found.get(p, set()) for p in PARTS))
    counts = ", ".join(f"{p} {len(found.get(p, ()))}" for p in PARTS)
    return f"real parts: of {ran} tests run, {counts}; all three {len(every)}"


def used_by(test: str) -> set[str]:
    """The parts counted for ``test`` so far in this session (nothing when the suite does not count)."""
    folder = os.environ.get(ENV_DIR)
    return {part for part, tests in tally(Path(folder)).items() if test in tests} if folder else set()


def credit(parts: set[str]) -> None:
    """Count ``parts`` for the running test: it asserts on a run that another test of its module
    paid for (a module's shared run), and that run used them."""
    for part in sorted(parts):
        record(part)
