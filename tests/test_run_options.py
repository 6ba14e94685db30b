"""Every `orderprobe run` option value is checked before anything starts: a bad one exits 2
with one line naming the option and what it accepts — no traceback, no run in the store, no
journeys run (a green CI that ran nothing, or every journey failed for a typo)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.refusals import run_all


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


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every command line of this module that must end within the checks, run in one Python
    process (tests/support/refusals.py) instead of one each; by ``kind{index}``: (result, folder)."""
    root, port = tmp_path_factory.mktemp("refusals"), str(_closed_port())
    cases: dict[str, tuple[dict[str, Any], Path]] = {}

    def add(name: str, args: list[str], env: dict[str, str] | None = None) -> None:
        folder = root / name
        folder.mkdir()
        (folder / "afile").write_text("")

        def fill(text: str) -> str:
            return text.replace("{port}", port).replace("{tmp}", str(folder))

        env = {k: fill(v) for k, v in (env or {}).items()}
        cases[name] = ({"args": [fill(a) for a in args], "cwd": str(folder), "env": env}, folder)

    for i, (args, _) in enumerate(BAD):
        add(f"bad{i}", ["run", "--results", "sqlite:///{tmp}/r.db", *args, "--artefacts", "{tmp}/art",
                        "--reports", "{tmp}/rep", "-n", "0"])  # fmt: skip
    for i, (variable, value, _) in enumerate(ENVIRONMENT):
        add(f"env{i}", ["run", "--results", "sqlite:///{tmp}/r.db", "-n", "0"], {variable: value})
    for i, (value, _, _) in enumerate(RESULTS):
        add(f"results{i}", ["run", "--artefacts", "{tmp}/art", "-n", "0"], {"ORDERPROBE_RESULTS": value})
    for i, (args, _) in enumerate(WORKERS):
        add(f"workers{i}", ["run", "--results", "sqlite:///{tmp}/r.db", "--artefacts", "{tmp}/art", *args])
    for i, workers in enumerate(KNOWN_WORKERS):
        add(f"known{i}", ["run", "--results", "sqlite:///{tmp}/r.db", "-n", workers, "--list"])
    names = list(cases)
    for name, done in zip(names, run_all([cases[n][0] for n in names]), strict=True):
        cases[name] = (done, cases[name][1])
    return {"port": port, **cases}


@pytest.mark.parametrize(("index", "said"), [(i, said) for i, (_, said) in enumerate(BAD)],
                         ids=[" ".join(a) for a, _ in BAD])  # fmt: skip
def test_a_bad_option_value_is_refused_in_one_line_before_anything_starts(
    refused: dict[str, Any], index: int, said: str
) -> None:
    done, folder = refused[f"bad{index}"]
    said = said.replace("{port}", refused["port"]).replace("{tmp}", str(folder))
    assert done["code"] == 2, done["stdout"] + done["stderr"]
    assert done["stdout"] == ""
    lines = done["stderr"].splitlines()
    assert len(lines) == 1, done["stderr"]
    assert lines[0].startswith("orderprobe: refused before running: " + said), lines[0]
    assert not (folder / "r.db").exists() and not (folder / "art").exists()
    assert "s3cret" not in done["stderr"]


ENVIRONMENT = [
    ("ORDERPROBE_CPU_SLOWDOWN", "2", "argument --cpu-slowdown: expected profile or off (or $ORDERPROBE_CPU_SLOWDOWN)"),
    ("ORDERPROBE_EMULATION", "netem", "argument --emulation: expected auto, packet or cdp (or $ORDERPROBE_EMULATION)"),
]


@pytest.mark.parametrize(("index", "value", "said"), [(i, v, said) for i, (_, v, said) in enumerate(ENVIRONMENT)],
                         ids=[name for name, _, _ in ENVIRONMENT])  # fmt: skip
def test_a_bad_value_in_the_environment_is_refused_in_one_line(
    refused: dict[str, Any], index: int, value: str, said: str
) -> None:
    done, folder = refused[f"env{index}"]
    assert done["code"] == 2 and done["stdout"] == "", done["stdout"] + done["stderr"]
    assert done["stderr"] == f"orderprobe: refused before running: {said}, got {value!r}\n"
    assert not (folder / "r.db").exists()


RESULTS = [
    ("bogus://x", "an SQLAlchemy URL with an installed driver", "Can't load plugin: sqlalchemy.dialects:bogus"),
    ("not a url", "an SQLAlchemy URL with an installed driver", "Could not parse SQLAlchemy URL"),
    ("", "an SQLAlchemy URL with an installed driver", "Could not parse SQLAlchemy URL"),  # a CI secret not set
    ("sqlite:///{tmp}/afile/x/r.db", "a SQLite file in a folder", "folder '{tmp}/afile/x': Not a directory"),
]


@pytest.mark.parametrize(("index", "value", "expected", "why"), [(i, *row) for i, row in enumerate(RESULTS)],
                         ids=[v or "empty" for v, _, _ in RESULTS])  # fmt: skip
def test_a_bad_results_url_in_the_environment_is_refused_naming_the_variable(
    refused: dict[str, Any], index: int, value: str, expected: str, why: str
) -> None:
    """``$ORDERPROBE_RESULTS`` is ``--results``' default and is checked as strictly, before any journey."""
    done, folder = refused[f"results{index}"]
    value, why = value.replace("{tmp}", str(folder)), why.replace("{tmp}", str(folder))
    assert done["code"] == 2 and done["stdout"] == "", done["stdout"] + done["stderr"]
    lines = done["stderr"].splitlines()
    assert len(lines) == 1, done["stderr"]
    head = f"orderprobe: refused before running: argument --results: expected {expected}"
    assert lines[0].startswith(head) and f"got $ORDERPROBE_RESULTS={value!r} (" in lines[0], lines[0]
    assert why in lines[0], lines[0]
    assert not (folder / "art").exists() and not (folder / "var").exists()  # nothing ran, no default store


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


@pytest.mark.parametrize(("index", "said"), [(i, said) for i, (_, said) in enumerate(WORKERS)],
                         ids=[" ".join(a) for a, _ in WORKERS])  # fmt: skip
def test_a_negative_worker_count_is_refused_naming_the_option_and_the_value(
    refused: dict[str, Any], index: int, said: str
) -> None:
    """xdist itself takes ``-n -3``; the run must not start on a typo."""
    done, folder = refused[f"workers{index}"]
    assert done["code"] == 2 and done["stdout"] == "", done["stdout"] + done["stderr"]
    assert done["stderr"] == f"orderprobe: refused before running: {said}\n"
    assert not (folder / "r.db").exists() and not (folder / "art").exists()


KNOWN_WORKERS = ["auto", "logical"]  # -n 0: most tests here


@pytest.mark.parametrize("index", range(len(KNOWN_WORKERS)), ids=KNOWN_WORKERS)
def test_the_worker_counts_xdist_knows_pass_the_checks(refused: dict[str, Any], index: int) -> None:
    done, _ = refused[f"known{index}"]
    assert done["code"] == 0 and done["stderr"] == "", done["stderr"]
    assert done["stdout"].splitlines()[-1].endswith(" journeys"), done["stdout"]


def test_run_help_works_in_a_project_whose_warnings_are_errors() -> None:
    """From this repository's root (its pyproject says `filterwarnings = error`): pytest, asked for
    its help after the CLI imported the plugin, warns it cannot rewrite it — the help must still show."""
    root = Path(__file__).resolve().parents[1]
    shown = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--help"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert shown.returncode == 0 and shown.stdout.startswith("usage: orderprobe run"), shown.stderr[-2000:]
    assert "--list" in shown.stdout and "Traceback" not in shown.stderr
