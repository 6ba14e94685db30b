"""``--browser-endpoint``: journeys in a browser that runs elsewhere — a real ``playwright
run-server`` subprocess here — with the same emulation and results; an endpoint that is gone
is a probe error, never a failed checkout."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import playwright
import pytest

from orderprobe.base.result import Status
from orderprobe.probes.browser import find_chromium
from orderprobe.store.store import Store


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def playwright_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # The server launches the browser itself, from its own browsers folder. Playwright's download
    # is not reachable on this machine, so that folder holds the same Chromium we launch locally
    # under the name the server looks for (a real server and a real browser; only the path is bent).
    browsers = tmp_path_factory.mktemp("pw-browsers")
    spec = json.loads((Path(playwright.__file__).parent / "driver/package/browsers.json").read_text())
    revision = next(b["revision"] for b in spec["browsers"] if b["name"] == "chromium-headless-shell")
    shell = browsers / f"chromium_headless_shell-{revision}" / "chrome-headless-shell-linux64" / "chrome-headless-shell"
    shell.parent.mkdir(parents=True)
    shell.symlink_to(find_chromium(headless=True).path)
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "playwright", "run-server", "--port", str(port), "--host", "127.0.0.1"],
        env={**os.environ, "PLAYWRIGHT_BROWSERS_PATH": str(browsers)},
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,  # `python -m playwright` runs node as a child: stop the whole group
    )
    try:
        assert "Listening on" in (server.stdout.readline() if server.stdout else "")
        yield f"ws://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


PROBE = """
def test_remote(journey, page, target, browser):
    with journey.step("home"):
        page.goto(target.url("/"))
    with journey.step("ua"):
        page.evaluate("navigator.userAgent")
"""


def _run(pytester: pytest.Pytester, tmp_path: Path, endpoint: str) -> tuple[pytest.RunResult, list]:
    pytester.makepyfile(test_remote=PROBE)
    url = f"sqlite:///{tmp_path / 'r.db'}"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        f"--results={url}",
        f"--artefacts={tmp_path / 'art'}",
        f"--browser-endpoint={endpoint}",
    )
    store = Store(url)
    try:
        run_id = store.latest_run_id()
        return result, store.journeys(run_id) if run_id else []
    finally:
        store.close()


def test_a_probe_runs_in_a_playwright_server_browser(
    pytester: pytest.Pytester, tmp_path: Path, playwright_server: str
) -> None:
    result, journeys = _run(pytester, tmp_path, playwright_server)
    result.assert_outcomes(passed=1)
    (journey,) = journeys
    assert journey.status is Status.PASSED and [s.name for s in journey.steps] == ["home", "ua"]
    assert journey.interactions.page_loads >= 1  # the recorder's in-browser counters work remotely


def test_a_browser_endpoint_that_is_gone_is_a_probe_error_not_a_broken_checkout(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    result, journeys = _run(pytester, tmp_path, f"ws://127.0.0.1:{_free_port()}/")
    assert result.ret != 0
    (journey,) = journeys
    assert journey.status is Status.ERROR and journey.cause.category == "probe_broken"


def test_a_bad_endpoint_is_refused_before_anything_runs(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_remote=PROBE)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--browser-endpoint=localhost:9222")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # One line naming the option and what it accepts (an argparse type: refused while parsing).
    assert "argument --browser-endpoint: expected ws://… (Playwright server) or http://… (CDP)" in result.stderr.str()
