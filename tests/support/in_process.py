"""``orderprobe`` and ``python -m pytest`` command lines in this process, through their own entry
points (``orderprobe.cli.main``, ``pytest.main``): the exit code and what the line wrote, without a
Python start-up per line (~0.7 s CPU). For lines whose own process would test nothing more: a
run's browser, shop and xdist workers start as they would from the command; tests of the process
itself (signals, its environment, packaging) run it as a process.

What a line leaves in this process is put back: the environment, the working folder, the SIGTERM
handler (a run takes SIGTERM as Ctrl-C) and the user's modules it imported (a probe file imported
from one folder is another test's file of the same module name in the next).
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from tests.support import real_parts

ROOT = Path(__file__).resolve().parents[2]
_OURS = (str(ROOT), sys.prefix, sys.base_prefix)  # the project, its packages, the standard library


def orderprobe(
    words: list[str], cwd: Path, environ: dict[str, str] | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``orderprobe WORDS`` from ``cwd``, in ``environ`` (default: this process's) with ``env`` set."""
    from orderprobe.cli import main

    return _line(["orderprobe", *words], lambda: main(words), cwd, environ, env)


def pytest(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """``python -m pytest ARGS`` from ``cwd`` with ``env`` set (plugins load from their entry points)."""
    import pytest as _pytest

    return _line(["pytest", *args], lambda: int(_pytest.main(args, plugins=[real_parts.InProcess()])), cwd, None, env)


def _line(
    argv: list[str], main: Callable[[], int], cwd: Path, environ: dict[str, str] | None, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    out, err, saved = io.StringIO(), io.StringIO(), dict(os.environ)
    modules, sigterm = set(sys.modules), signal.getsignal(signal.SIGTERM)
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    os.environ.update({"COLUMNS": "160", **env})  # as the suite's tests give a subprocess
    try:
        with contextlib.chdir(cwd), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main()
    finally:
        os.environ.clear()
        os.environ.update(saved)
        if sigterm is not None:  # None: set outside Python, nothing to put back
            signal.signal(signal.SIGTERM, sigterm)
        for name in set(sys.modules) - modules:
            if not (getattr(sys.modules[name], "__file__", None) or str(ROOT)).startswith(_OURS):
                del sys.modules[name]
    assert "Traceback (most recent call last)" not in err.getvalue(), err.getvalue()
    return subprocess.CompletedProcess(argv, code, out.getvalue(), err.getvalue())
