"""A throwaway PostgreSQL cluster (initdb + pg_ctl in a temp folder, an ephemeral port): the
``postgres_server`` fixture of tests/conftest.py, and benchmarks run outside pytest."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = found[-1] if found else shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_server_user(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: hand them to the postgres user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def cluster(*, fsync: bool = True) -> Iterator[str]:
    """Yields ``postgresql+psycopg://postgres@127.0.0.1:PORT``; the cluster is gone afterwards.
    ``fsync=False`` for tests: nothing there needs to survive a power cut, and it is much faster."""
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    home = Path(tempfile.mkdtemp(prefix="orderprobe-pg-"))
    if os.geteuid() == 0:
        shutil.chown(home, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = home / "data"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.STDOUT, "check": True}
    subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]), **quiet)
    options = f"-k {home} -p {port} -c listen_addresses=127.0.0.1" + ("" if fsync else " -c fsync=off")
    pg_ctl = str(bindir / "pg_ctl")
    subprocess.run(
        _as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(home / "log"), "-w", "start"]), **quiet
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "stop"]), **quiet)
        shutil.rmtree(home, ignore_errors=True)
