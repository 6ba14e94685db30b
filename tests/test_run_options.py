"""Every `orderprobe run` option value is checked before anything starts: a bad one exits 2
with one line naming the option and what it accepts — no traceback, no run in the store, no
journeys run (a green CI that ran nothing, or every journey failed for a typo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again: nothing listens there


BAD = [
    (["--retries", "-1"], "argument --retries: expected a whole number ≥ 0, got '-1'"),
    (["--retries", "two"], "argument --retries: expected a whole number ≥ 0, got 'two'"),
    (["--action-timeout", "-1"], "argument --action-timeout: expected a number > 0, got '-1'"),
    (["--journey-timeout", "-5"], "argument --journey-timeout: expected a number > 0, got '-5'"),
    (["--journey-timeout", "nan"], "argument --journey-timeout: expected a number > 0, got 'nan'"),
    (["--lang", "fr"], "argument --lang: invalid choice: 'fr' (choose from 'zh', 'en')"),
    (["--screenshots", "maybe"], "argument --screenshots: invalid choice: 'maybe'"),
    (["--tracing", "sometimes"], "argument --tracing: invalid choice: 'sometimes'"),
    (
        ["--emulation", "bogus"],
        "argument --emulation: expected auto, packet or cdp (or $ORDERPROBE_EMULATION), got 'bogus'",
    ),
    (
        ["--cpu-slowdown", "half"],
        "argument --cpu-slowdown: expected profile or off (or $ORDERPROBE_CPU_SLOWDOWN), got 'half'",
    ),
    (["--profiles", "/nonexistent"], "argument --profiles: expected an existing folder, got '/nonexistent'"),
    (["--browser-endpoint", "ftp://grid"], "argument --browser-endpoint: expected ws://"),
    (["--browser-endpoint", "ws://127.0.0.1:{port}"], "--browser-endpoint ws://127.0.0.1:{port}: cannot connect"),
    (["--otel-endpoint", "127.0.0.1:4318"], "--otel-endpoint '127.0.0.1:4318': expected an OTLP/HTTP URL, e.g. http"),
    (["--profile", "a/b"], "--profile expects DEVICE/NETWORK/REGION/ACCOUNT"),
    (["--label", "noequals"], "argument --label: expected KEY=VALUE, e.g. team=checkout, got 'noequals'"),
    (["--synthetic-header", "a b"], "argument --synthetic-header: expected an HTTP header name"),
    (["--user-agent-suffix", "probe\r\nX-Evil: 1"], "argument --user-agent-suffix: expected one line of text"),
    (["--results", "bogus://x"], "argument --results: expected an SQLAlchemy URL with an installed driver"),
    # a driver that is not installed; the password is not printed
    (["--results", "postgresql+nodriver://u:s3cret@db/x"], "argument --results: expected an SQLAlchemy URL"),
    (
        ["--results", "sqlite:///{tmp}/r.db?timeout=abc"],
        "argument --results: expected a SQLite URL whose ?arguments pysqlite takes, e.g. ?timeout=30, "
        "got 'sqlite:///{tmp}/r.db?timeout=abc' (could not convert string to float: 'abc')",
    ),
    (  # a typo pysqlite would ignore (a warning), leaving the store's default wait
        ["--results", "sqlite:///{tmp}/r.db?timout=1"],
        "argument --results: expected a SQLite URL whose ?arguments pysqlite takes, e.g. ?timeout=30, "
        "got 'sqlite:///{tmp}/r.db?timout=1' (Query string argument(s) 'timout' are not accepted",
    ),
    # below a file: the folder cannot be made (root may write anywhere, so no read-only folder here)
    (
        ["--results", "sqlite:///{tmp}/afile/r.db"],
        "argument --results: expected a SQLite file in a folder that exists or can be made, "
        "got 'sqlite:///{tmp}/afile/r.db' (cannot make the folder '{tmp}/afile': it is a file)",
    ),
]


@pytest.mark.parametrize(("args", "said"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_a_bad_option_value_is_refused_in_one_line_before_anything_starts(
    tmp_path: Path, args: list[str], said: str
) -> None:
    port = str(_closed_port())
    (tmp_path / "afile").write_text("")
    args = [a.replace("{port}", port).replace("{tmp}", str(tmp_path)) for a in args]
    said = said.replace("{port}", port).replace("{tmp}", str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--results", f"sqlite:///{tmp_path / 'r.db'}", *args,
         "--artefacts", str(tmp_path / "art"), "--reports", str(tmp_path / "rep"), "-n", "0"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("orderprobe: refused before running: " + said), lines[0]
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "art").exists()
    assert "s3cret" not in done.stderr


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        (
            "ORDERPROBE_CPU_SLOWDOWN",
            "2",
            "argument --cpu-slowdown: expected profile or off (or $ORDERPROBE_CPU_SLOWDOWN)",
        ),
        (
            "ORDERPROBE_EMULATION",
            "netem",
            "argument --emulation: expected auto, packet or cdp (or $ORDERPROBE_EMULATION)",
        ),
    ],
)
def test_a_bad_value_in_the_environment_is_refused_in_one_line(
    tmp_path: Path, variable: str, value: str, said: str
) -> None:
    env = {**os.environ, variable: value}
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--results", f"sqlite:///{tmp_path / 'r.db'}", "-n", "0"],
        capture_output=True, text=True, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr == f"orderprobe: refused before running: {said}, got {value!r}\n"
    assert not (tmp_path / "r.db").exists()


RESULTS = [
    ("bogus://x", "an SQLAlchemy URL with an installed driver", "Can't load plugin: sqlalchemy.dialects:bogus"),
    ("not a url", "an SQLAlchemy URL with an installed driver", "Could not parse SQLAlchemy URL"),
    ("", "an SQLAlchemy URL with an installed driver", "Could not parse SQLAlchemy URL"),  # a CI secret not set
    ("sqlite:///{tmp}/afile/x/r.db", "a SQLite file in a folder", "folder '{tmp}/afile/x': Not a directory"),
]


@pytest.mark.parametrize(("value", "expected", "why"), RESULTS, ids=[v or "empty" for v, _, _ in RESULTS])
def test_a_bad_results_url_in_the_environment_is_refused_naming_the_variable(
    tmp_path: Path, value: str, expected: str, why: str
) -> None:
    """``$ORDERPROBE_RESULTS`` is ``--results``' default and is checked as strictly, before any journey."""
    (tmp_path / "afile").write_text("")
    value, why = value.replace("{tmp}", str(tmp_path)), why.replace("{tmp}", str(tmp_path))
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--artefacts", str(tmp_path / "art"), "-n", "0"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "ORDERPROBE_RESULTS": value},
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    head = f"orderprobe: refused before running: argument --results: expected {expected}"
    assert lines[0].startswith(head) and f"got $ORDERPROBE_RESULTS={value!r} (" in lines[0], lines[0]
    assert why in lines[0], lines[0]
    assert not (tmp_path / "art").exists() and not (tmp_path / "var").exists()  # nothing ran, no default store


def test_the_results_url_in_the_environment_is_where_the_run_stores(tmp_path: Path) -> None:
    """A plain test is enough: the run's row goes to the store as the run starts. Its folder is made."""
    from orderprobe.store.store import Store

    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    url = f"sqlite:///{tmp_path / 'results' / 'r.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "test_plain.py", "--reporter", "store", "-n", "0"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "ORDERPROBE_RESULTS": url},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "var" / "orderprobe.db").exists()
    store = Store(url)
    try:
        assert store.latest_run_id() is not None
    finally:
        store.close()


WORKERS = [
    (["-n", "-3"], "argument -n/--numprocesses: expected a whole number ≥ 0, auto or logical, got '-3'"),
    (["--numprocesses=-1"], "argument -n/--numprocesses: expected a whole number ≥ 0, auto or logical, got '-1'"),
    (["--maxprocesses", "-2"], "argument --maxprocesses: expected a whole number ≥ 0, got '-2'"),
]


@pytest.mark.parametrize(("args", "said"), WORKERS, ids=[" ".join(a) for a, _ in WORKERS])
def test_a_negative_worker_count_is_refused_naming_the_option_and_the_value(
    tmp_path: Path, args: list[str], said: str
) -> None:
    """xdist itself takes ``-n -3``; the run must not start on a typo."""
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--results", f"sqlite:///{tmp_path / 'r.db'}",
         "--artefacts", str(tmp_path / "art"), *args],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2 and done.stdout == "", done.stdout + done.stderr
    assert done.stderr == f"orderprobe: refused before running: {said}\n"
    assert not (tmp_path / "r.db").exists() and not (tmp_path / "art").exists()


@pytest.mark.parametrize("workers", ["auto", "logical"])  # -n 0: most tests here
def test_the_worker_counts_xdist_knows_pass_the_checks(tmp_path: Path, workers: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--results", f"sqlite:///{tmp_path / 'r.db'}", "-n", workers,
         "--list"],
        capture_output=True, text=True, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert done.stdout.splitlines()[-1].endswith(" journeys"), done.stdout
