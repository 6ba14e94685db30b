"""Shared test set-up. Integration tests run probe files through pytest itself (pytester,
in a subprocess) against the embedded demo shop on ephemeral ports, in real headless
Chromium. Store tests run against a real SQLite file and a real throwaway PostgreSQL."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return (
        Path(found[-1]).parent if found else (Path(shutil.which("initdb")).parent if shutil.which("initdb") else None)
    )


def _as_server_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: hand them to the postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A real PostgreSQL on 127.0.0.1 (an ephemeral port), in a temp folder, for this worker."""
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    pytest.importorskip("psycopg", reason="psycopg not installed (pip install 'orderprobe[postgres]')")
    home = Path(tempfile.mkdtemp(prefix="orderprobe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": True}
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), **quiet)
    options = f"-k {home} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]), **quiet
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), **quiet)
        shutil.rmtree(home, ignore_errors=True)


_databases = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """One empty database per test, on each backend the store must support."""
    return _new_database(request, lambda: tmp_path / "results.db")


def _new_database(request: pytest.FixtureRequest, sqlite_path: Callable[[], Path]) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{sqlite_path()}"
    import psycopg

    server = request.getfixturevalue("postgres_server")
    name = f"t{os.getpid()}_{next(_databases)}"
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _new_database(request, lambda: tmp_path_factory.mktemp("db") / "results.db")
