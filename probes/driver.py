"""Playwright's Node driver, started with V8's compiled code kept on disk.

Every Playwright start spawns Node, which parses and compiles playwright-core's ~7 MB of bundled
JavaScript before its first command: most of a start's CPU, paid by every worker of every run, on
a probe host that runs every few minutes. Node (≥ 22.1) keeps that compiled code in the folder
``NODE_COMPILE_CACHE`` names and reads it back on the next start (``benchmarks/startup.py``).
Node writes entries atomically (temporary file, rename), so concurrent workers may share the
folder; one it cannot create or write (a read-only home) it skips without a word, and the start
costs what it did. A ``NODE_COMPILE_CACHE`` of the user's own wins (Node's own
``NODE_DISABLE_COMPILE_CACHE=1`` turns the cache off).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

CACHE_VAR = "NODE_COMPILE_CACHE"
NODEJS_VAR = "PLAYWRIGHT_NODEJS_PATH"  # Playwright's: the Node to run instead of its bundled one


def cache_folder(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where the driver's compiled code is kept: ``$XDG_CACHE_HOME`` (or ``~/.cache``)/orderprobe;
    None without an absolute home (a relative folder would land wherever a run is started)."""
    base = environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):
        home = environ.get("HOME", "")
        if not os.path.isabs(home):
            return None
        base = os.path.join(home, ".cache")
    return Path(base, "orderprobe", "node-compile-cache")


def environment(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The variables to add to the driver's environment (none when the user set the cache)."""
    folder = cache_folder(environ)
    return {} if CACHE_VAR in environ or folder is None else {CACHE_VAR: str(folder)}


@contextmanager
def starting(nodejs: str | None = None) -> Iterator[None]:
    """``os.environ`` as the driver should inherit it (Playwright copies it when it spawns Node),
    put back afterwards: a probe's own subprocesses are none of the driver's business.
    ``nodejs``: a Node to run instead of Playwright's (the packet-level path's namespace wrapper)."""
    added = {**environment(), **({NODEJS_VAR: nodejs} if nodejs else {})}
    saved = {name: os.environ.get(name) for name in added}
    os.environ.update(added)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
