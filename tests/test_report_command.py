"""``orderprobe report run | compare | trend`` through the real CLI front door."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from orderprobe.cli import main
from orderprobe.reports import html
from orderprobe.store.store import Store
from tests.support import sample


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One store for the module: the commands only read it."""
    url = f"sqlite:///{tmp_path_factory.mktemp('cmd') / 'results.db'}"
    store = Store(url)
    now = datetime.now(UTC)
    outage = (now - timedelta(hours=3), now - timedelta(hours=2), sample.CAUSES[0], None)
    runs = sample.history(
        random.Random(2),
        start=now - timedelta(hours=6),
        runs=24,
        every=timedelta(minutes=15),
        outages=[outage],
        noise=0,
    )
    sample.fill(store, runs)
    store.close()
    return url


def _report(tmp_path: Path, url: str, *argv: str) -> list[str]:
    return ["report", *argv, "--results", url, "--out", str(tmp_path / "out"), "--artefacts", str(tmp_path / "a")]


def test_report_run_defaults_to_the_latest_run(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_report(tmp_path, url, "run", "--lang", "en")) == 0
    printed = Path(capsys.readouterr().out.strip())
    latest = Store(url).latest_run_id()
    assert printed == (tmp_path / "out" / html.run_report_name(latest, "en")).resolve()
    assert "Checkout probe run" in printed.read_text(encoding="utf-8")


def test_report_compare_and_trend_write_their_files(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_report(tmp_path, url, "compare", "--probes", "path_live,path_video", "--baseline", "path_video")) == 0
    assert capsys.readouterr().out.strip().endswith(("compare.zh.html", "compare.en.html"))
    assert main(_report(tmp_path, url, "trend", "--since", "1d")) == 0
    trend_path = Path(capsys.readouterr().out.strip())
    page = trend_path.read_text(encoding="utf-8")
    # The trend links to run reports; the command wrote each one it links to.
    linked = {part.split('"')[0].split("#")[0] for part in page.split('href="')[1:]}
    assert linked and all((trend_path.parent / name).is_file() for name in linked)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("run", "no-such-run"), "no run 'no-such-run'"),
        (("trend", "--since", "seven days"), "--since 'seven days': expected a number and a unit"),
        (("compare", "--probes", "path_cart"), "no successful journeys of path_cart"),
    ],
)
def test_bad_input_is_a_clear_error_not_a_traceback(
    tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    assert main(_report(tmp_path, url, *argv)) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_report_trace_finds_the_journeys_trace(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str]) -> None:
    store = Store(url)
    failed = next(j for r in store.runs(limit=50) for j in store.journeys(r.id) if j.failure and j.failure.trace)
    store.close()
    assert main([*_report(tmp_path, url, "trace", failed.id), "--print"]) == 2  # the file is not there yet
    assert "is gone" in capsys.readouterr().err
    trace = tmp_path / "a" / failed.failure.trace
    trace.parent.mkdir(parents=True)
    trace.write_bytes(b"PK")
    assert main([*_report(tmp_path, url, "trace", failed.id), "--print"]) == 0
    assert capsys.readouterr().out.strip() == str(trace.resolve())
    assert main([*_report(tmp_path, url, "trace", "nope"), "--print"]) == 2
    assert "no journey 'nope'" in capsys.readouterr().err


def test_empty_or_unreachable_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_report(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", "run")) == 2
    assert "no runs in" in capsys.readouterr().err
    assert main(_report(tmp_path, f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.db'}", "run")) == 2
    assert "cannot open results store" in capsys.readouterr().err
    assert main(_report(tmp_path, "nosuchdb://x", "run")) == 2
    assert "cannot open results store 'nosuchdb://x'" in capsys.readouterr().err


def test_the_store_in_the_environment_is_read_as_the_run_wrote_it(
    tmp_path: Path, url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``$ORDERPROBE_RESULTS`` is ``--results``' default for `orderprobe run`, so for the reports of its runs too."""
    monkeypatch.chdir(tmp_path)  # no var/orderprobe.db here: the default store would have no run
    monkeypatch.setenv("ORDERPROBE_RESULTS", url)
    assert main(["report", "run", "--lang", "en", "--out", str(tmp_path / "out"), "--artefacts", "a"]) == 0
    assert Path(capsys.readouterr().out.strip()).name == html.run_report_name(Store(url).latest_run_id(), "en")
    monkeypatch.setenv("ORDERPROBE_RESULTS", "")  # a CI secret not set: said, not the default store instead
    assert main(["report", "run", "--out", str(tmp_path / "out")]) == 2
    assert "cannot open results store ''" in capsys.readouterr().err
    assert not (tmp_path / "var" / "orderprobe.db").exists()
