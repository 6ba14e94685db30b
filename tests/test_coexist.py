"""Installed beside pytest-playwright, orderprobe stops with one message naming the conflict
(both define --device/--headed/--tracing and page/context/browser) and the one-flag way
out; with either plugin switched off, the other runs. In a venv of its own with
pytest-playwright from PyPI and this checkout (editable) visible to it."""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
"""
THEIRS = "def test_theirs(page):\n    pass\n"


@pytest.fixture(scope="session")
def venv() -> Path:
    """pytest-playwright from PyPI beside this checkout in a venv of their own, built once and kept
    in .venv. The suite's packages, orderprobe (editable) among them, are visible to it through a
    .pth line, so pip fetches only pytest-playwright and its few small dependencies, and no pip
    is installed into it (the suite's pip installs there with --python)."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + sys.prefix.encode()).hexdigest()[:12]
    home = Path(sys.prefix) / f"coexist-{key}"
    with open(f"{home}.lock", "w") as lock:  # two sessions sharing this .venv build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "ready").exists():
            shutil.rmtree(home, ignore_errors=True)  # a build cut short
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
            (site_packages,) = home.glob("lib/python*/site-packages")
            ours = sysconfig.get_paths()["purelib"]
            (site_packages / "suite.pth").write_text(f"import site; site.addsitedir({ours!r})\n", encoding="utf-8")
            python = home / "bin" / "python"
            done = subprocess.run(
                [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "pytest-playwright"],
                capture_output=True, text=True,
            )  # fmt: skip
            assert done.returncode == 0, done.stdout + done.stderr
            script = home / "bin" / "orderprobe"  # what pip writes for the console script
            script.write_text(f"#!{python}\nimport sys\nfrom orderprobe.cli import main\nsys.exit(main())\n")
            script.chmod(0o755)
            (home / "ready").touch()
    return home / "bin"


@pytest.mark.slow
def test_beside_pytest_playwright_one_clear_message_and_a_way_out(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    (tmp_path / "test_theirs.py").write_text(THEIRS, encoding="utf-8")
    common = [f"--artefacts={tmp_path / 'art'}", f"--results=sqlite:///{tmp_path / 'r.db'}"]

    def pytest_(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [str(venv / "python"), "-m", "pytest", "-p", "no:cacheprovider", *args]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)

    both = pytest_(*common, "test_probe.py")
    assert both.returncode == pytest.ExitCode.USAGE_ERROR, both.stdout + both.stderr
    assert "Traceback" not in both.stderr and "already used" not in both.stderr
    (message,) = [line for line in both.stderr.splitlines() if "pytest-playwright is installed here too" in line]
    assert "--device, --headed, --tracing" in message and "page / context / browser" in message
    assert "`-p no:playwright`" in message and "`-p no:orderprobe`" in message

    run = subprocess.run(
        [str(venv / "orderprobe"), "run", "test_probe.py", "-n", "0", "--no-report", *common],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 2 and "pytest-playwright is installed here too" in run.stderr

    ours = pytest_("-p", "no:playwright", *common, "test_probe.py")
    assert ours.returncode == 0, ours.stdout + ours.stderr
    theirs = pytest_("-p", "no:orderprobe", "--collect-only", "-q", "test_theirs.py")
    assert theirs.returncode == 0 and "test_theirs.py::test_theirs[chromium]" in theirs.stdout, theirs.stdout
