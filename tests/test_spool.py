"""No silent loss: a store that will not take a run's journeys (not a URL, a folder that is not
there, a read-only database) fails the run naming the spool, and `orderprobe store import`
puts every journey where it belongs later — real Chromium, real SQLite, a real read-only mount.
The runs are pytest sessions in this process (pytester's in-process run): what is tested is the
plugin's store and spool, not a process's start-up, and a second Python start-up per run is
most of a small run's cost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderprobe.cli import main as orderprobe
from orderprobe.store.store import Store
from tests.support import mounts

PROBE = """
def test_one(journey, page):
    with journey.step("open"):
        page.set_content("<p>hello</p>")

def test_two(journey, page):
    with journey.step("open"):
        page.set_content("<p>hello again</p>")
"""


@pytest.fixture
def read_only_db(tmp_path: Path) -> Iterator[str]:
    """A real SQLite file on a read-only bind mount (root ignores file modes; a mount it cannot)."""
    source = tmp_path / "rw"
    source.mkdir()
    Store(f"sqlite:///{source / 'results.db'}").close()
    with mounts.mounted("--bind", "-o", "ro", str(source)) as mounted:
        yield f"sqlite:///{mounted / 'results.db'}"


def test_a_results_value_that_is_no_url_is_refused_before_anything_runs(pytester: pytest.Pytester) -> None:
    """Not a URL at all: refused up front (nothing ran, so nothing to spool), naming the option."""
    pytester.makepyfile(test_two=PROBE)
    art = pytester.path / "art"
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--results=notaurl", f"--artefacts={art}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "--results: expected an SQLAlchemy URL" in result.stderr.str() and "'notaurl'" in result.stderr.str()
    assert not list(art.glob("*/spool.jsonl"))


@pytest.mark.parametrize("store", ["a-folder", "read-only"])
def test_journeys_a_store_refused_are_spooled_said_and_imported_later(
    pytester: pytest.Pytester, request: pytest.FixtureRequest, store: str
) -> None:
    # (A store in a folder that does not exist is no case: the folder is made before the run.)
    (pytester.path / "folder.db").mkdir()  # SQLite cannot open a folder as its file
    url = {
        "a-folder": f"sqlite:///{pytester.path / 'folder.db'}",
        "read-only": request.getfixturevalue("read_only_db") if store == "read-only" else "",
    }[store]
    pytester.makepyfile(test_two=PROBE)
    art = pytester.path / "art"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results={url}", f"--artefacts={art}", "--reporter", "store,events"
    )
    assert result.ret == 3, result.stderr.str()  # not 0: the run's results are not where they were asked to go
    (spool,) = art.glob("*/spool.jsonl")
    err = result.stderr.str()
    assert "2 journey(s)" in err and str(spool) in err and "orderprobe store import" in err
    kinds = [json.loads(line)["kind"] for line in spool.read_text().splitlines()]
    assert kinds == ["run", "journey", "journey", "end"]

    good = f"sqlite:///{pytester.path / 'good.db'}"
    assert orderprobe(["store", "import", str(art), "--results", good]) == 0
    assert orderprobe(["store", "import", str(art), "--results", good]) == 0  # twice is harmless
    db = Store(good)
    try:
        run_id = db.latest_run_id()
        assert sorted(j.probe for j in db.journeys(run_id)) == ["one", "two"]
        summary = db.run(run_id)
        assert summary.finished_at is not None and summary.exit_code == 3
    finally:
        db.close()


def test_a_working_store_gets_every_journey_and_the_spool_is_only_a_copy(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_two=PROBE)
    db = pytester.path / "results.db"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}"
    )
    assert result.ret == 0
    store = Store(f"sqlite:///{db}")
    try:
        assert len(store.journeys(store.latest_run_id())) == 2
    finally:
        store.close()


def test_a_store_locked_by_another_writer_costs_one_wait_not_one_per_journey(pytester: pytest.Pytester) -> None:
    """Someone holds the SQLite store's write lock for the whole run (a shell, a backup): the run
    waits for it once (the URL's ``?timeout=``, else 10 s), says so, spools every journey and tries
    once more at the end — instead of a long wait per journey, per reporter (minutes for three
    journeys). The waits are counted, not timed: a 1 s wait shows the same count as a 10 s one."""
    import sqlite3
    import time

    pytester.makepyfile(test_three=PROBE + PROBE.replace("test_one", "test_three").replace("test_two", "test_four"))
    db, art = pytester.path / "results.db", pytester.path / "art"
    Store(f"sqlite:///{db}").close()
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the write lock, held until the run is over
    started = time.monotonic()
    try:
        result = pytester.runpytest_inprocess(
            "-p", "no:cacheprovider", f"--results=sqlite:///{db}?timeout=1", f"--artefacts={art}",
            "--reporter", "store,events,html,progress", "--no-progress", f"--reports={pytester.path / 'rep'}",
        )  # fmt: skip
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    print(f"a run of 4 journeys on a locked store: {time.monotonic() - started:.1f} s")  # figures, not a limit
    err = result.stderr.str()
    assert result.ret == 3, err
    assert err.count("the results store is locked by another writer (waited 1 s)") == 1, err
    assert err.count("database is locked") <= 3, err  # at the start and the end, not once per journey
    (spool,) = art.glob("*/spool.jsonl")
    assert "4 journey(s)" in err and f"they are kept in {spool}" in err
    assert orderprobe(["store", "import", str(art), "--results", f"sqlite:///{db}"]) == 0
    store = Store(f"sqlite:///{db}")
    try:
        assert len(store.journeys(store.latest_run_id())) == 4
    finally:
        store.close()


@pytest.mark.parametrize(("query", "ms"), [("", 10_000), ("?timeout=0.5", 500), ("?timeout=30", 30_000)])
def test_a_writer_waits_for_another_as_long_as_the_store_url_says(tmp_path: Path, query: str, ms: int) -> None:
    store = Store(f"sqlite:///{tmp_path / 'results.db'}{query}")
    try:
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == ms
        assert store.busy_s == ms / 1000  # what the store reporter says it waited, from the one reading of the URL
    finally:
        store.close()
