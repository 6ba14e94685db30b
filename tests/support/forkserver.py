"""Stand-in job runs for the scheduler tests at the cost of a fork, not of a Python start-up.

The scheduler tests' stand-in for ``orderprobe run`` is a short script (``job_runner.py``) that
writes one journey into the real results store. Started plainly, each run pays ~0.5 s of CPU
importing SQLAlchemy and pydantic for 10 ms of work, and those tests start about a hundred runs.
So one server per test process imports them once; a job's command is then a small client
(standard library only, ``python -I -S``) that hands the server its arguments, environment, working
folder and standard streams, and exits with the status of the script, which the server ran in a
fresh fork of itself: its own process, its own database connections, its own exit code.

    command: [{python}, -I, -S, .../forkserver.py, SOCKET, SCRIPT, ARG...]   (``shared().command(...)``)

What the service sees is what it sees of any command: a process it started, its output in the run
log, its exit status; killing the client (a timeout) kills the script's fork too. One difference:
the fork does not carry the run's tag in its environment (``/proc`` shows the server's), so a script
run this way must not leave processes behind; none of the stand-ins does.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import signal
import socket
import sys
from pathlib import Path

# Imported once by the server: what the stand-in scripts import (the PostgreSQL driver if installed).
PRELOAD = ("orderprobe.base.result", "orderprobe.store.store", "orderprobe.store.liveness", "psycopg")


def client(path: str, argv: list[str]) -> int:
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as conn:
        conn.connect(path)
        request = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
        socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
        answer = conn.recv(64)
    if not answer:
        print(f"forkserver {path}: no exit status (the server went away)", file=sys.stderr)
        return 1
    code = int(answer)
    if code < 0:  # the script died from a signal: so does its stand-in, for the service to see
        with contextlib.suppress(OSError, ValueError):  # (SIGKILL has no handler to reset)
            signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    return code


def _run_script(request: dict, fds: list[int]) -> None:
    """In the fork: become the client's process (streams, environment, folder, argv) and run the script."""
    import runpy
    import traceback

    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = list(request["argv"])
    sys.path[0] = str(Path(sys.argv[0]).resolve().parent)
    code: int = 0
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    except SystemExit as exc:
        if isinstance(exc.code, int) or exc.code is None:
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - reported as Python would, on the client's stderr
        traceback.print_exc()
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _handle(conn: socket.socket) -> None:
    """In a fork per request: fork the script, wait for it (or for the client to go away), answer."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # this one waits for its child itself
    message, fds, _flags, _address = socket.recv_fds(conn, 1 << 20, 3)
    request = json.loads(message)
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_script(request, fds)
    for fd in fds:
        os.close(fd)
    done = os.pidfd_open(pid)
    readable, _, _ = select.select([done, conn], [], [])
    if done not in readable:  # the client closed: killed, e.g. at its timeout; the script goes too
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    with contextlib.suppress(OSError):  # the client is gone
        conn.send(str(os.waitstatus_to_exitcode(status)).encode())
    os._exit(0)


def serve(path: str) -> None:
    import importlib

    for name in PRELOAD:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    from orderprobe.store.store import Store

    Store("sqlite://").close()  # SQLAlchemy configures the mappers once, here, not in every fork
    parent = os.getppid()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the request forks are reaped by the kernel
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as listener:
        listener.bind(path)
        listener.listen(64)
        listener.settimeout(0.5)
        print("ready", flush=True)
        while os.getppid() == parent:  # orphaned (the test process died): stop
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            if os.fork() == 0:
                listener.close()
                conn.settimeout(None)
                _handle(conn)
            conn.close()


class Forkserver:
    def __init__(self) -> None:
        import subprocess  # here, not at the top: the client (this file too) starts without them
        import tempfile

        self.folder = Path(tempfile.mkdtemp(prefix="orderprobe-fork-"))
        self.socket = str(self.folder / "socket")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "serve", self.socket],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # a Ctrl-C of the tests reaches them, which stop it
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            raise RuntimeError(f"forkserver did not start (exit {self.process.wait()})")

    def command(self, script: Path | str, *args: str) -> list[str]:
        """A job's ``command`` (for the schedule file; ``{python}``, ``{run_id}``… are filled in by the service)."""
        return ["{python}", "-I", "-S", __file__, self.socket, str(script), *args]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait()
        Path(self.socket).unlink(missing_ok=True)
        self.folder.rmdir()


_shared: Forkserver | None = None


def shared() -> Forkserver:
    """This test process's server, started on first use and stopped at exit."""
    global _shared
    if _shared is None:
        _shared = Forkserver()
        atexit.register(_shared.stop)
    return _shared


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2])
    else:
        sys.exit(client(sys.argv[1], sys.argv[2:]))
