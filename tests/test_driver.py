"""Playwright's driver starts from Node's compile cache (probes/driver.py): a run fills the cache
folder under ``$XDG_CACHE_HOME``, a user's own ``NODE_COMPILE_CACHE`` wins, and a folder Node
cannot create fails nothing. Real runs, real drivers, real Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.probes import driver
from orderprobe.probes.fixtures import BrowserHolder
from orderprobe.probes.record import codegen_env

PROBE = """
def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def cached(folder: Path) -> list[Path]:
    """The code Node kept: one folder per Node version and V8 flags, one file per loaded script."""
    return [p for p in folder.glob("v*/*") if p.is_file() and p.stat().st_size > 0]


@pytest.fixture
def cache_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """This process without the suite's NODE_COMPILE_CACHE, its cache home in tmp_path."""
    monkeypatch.delenv(driver.CACHE_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "orderprobe" / "node-compile-cache"


def test_a_run_keeps_its_drivers_compiled_code(cache_env: Path, tmp_path: Path) -> None:
    probe = tmp_path / "test_home.py"
    probe.write_text(PROBE, encoding="utf-8")
    argv = [sys.executable, "-m", "orderprobe", "run", str(probe), "-n", "0", "--no-progress", "--tracing", "off"]
    argv += ["--emulation", "cdp", "--results", f"sqlite:///{tmp_path / 'r.db'}"]
    argv += ["--artefacts", str(tmp_path / "art"), "--reports", str(tmp_path / "rep")]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed" in done.stdout, done.stdout
    assert cached(cache_env), sorted(map(str, cache_env.parent.rglob("*")))


def test_the_users_own_cache_folder_wins(cache_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = tmp_path / "mine"
    monkeypatch.setenv(driver.CACHE_VAR, str(mine))
    with driver.starting():
        assert os.environ[driver.CACHE_VAR] == str(mine)
        sync_playwright().start().stop()  # Node writes the cache as it exits
    assert cached(mine) and not cache_env.exists()
    assert codegen_env(tmp_path)[driver.CACHE_VAR] == str(mine)  # `orderprobe record`'s driver too


def test_recording_starts_its_driver_from_the_cache(cache_env: Path, tmp_path: Path) -> None:
    assert codegen_env(tmp_path)[driver.CACHE_VAR] == str(cache_env)
    assert driver.CACHE_VAR not in os.environ


def test_a_cache_folder_node_cannot_create_fails_nothing(cache_env: Path, tmp_path: Path) -> None:
    # As root, permission bits do not stop a write: a home under a regular file stops every user's.
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path / "a-file" / "cache")  # put back by cache_env's monkeypatch
    holder = BrowserHolder(headed=False, emulation="cdp")
    try:
        page = holder.get().new_page()
        assert page.evaluate("1 + 1") == 2
    finally:
        holder.close()
    assert driver.CACHE_VAR not in os.environ  # set for the driver only, then put back
    assert (tmp_path / "a-file").read_text(encoding="utf-8") == ""


def test_the_cache_folder_follows_xdg_then_home() -> None:
    folder = Path("orderprobe", "node-compile-cache")
    assert driver.cache_folder({"XDG_CACHE_HOME": "/x", "HOME": "/h"}) == "/x" / folder
    assert driver.cache_folder({"XDG_CACHE_HOME": "rel", "HOME": "/h"}) == "/h/.cache" / folder  # XDG: absolute only
    assert driver.cache_folder({"HOME": "relative"}) is None and driver.environment({}) == {}
    assert driver.environment({driver.CACHE_VAR: "", "HOME": "/h"}) == {}  # the user's, even empty
