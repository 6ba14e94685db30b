"""The wheel, installed into a clean venv beside a user's own packages named ``reports`` and
``scheduler``, runs a probe against the demo shop: one installed namespace (``orderprobe.*``), so
nothing of ours shadows theirs or is shadowed by it, and the package data (templates, cause
rules, profiles, device descriptors, built-in probes' pytest.ini, vendored scripts) ships.

The wheel is built from a copy of the tree (a build leaves build/ and *.egg-info behind). The
venv's dependencies are linked in once (from the suite's own venv: the same versions pip would
pick, without unpacking 300 MB again) and kept in .venv, keyed by pyproject.toml; each session
installs the freshly built wheel into it (no dependencies: they are there already), unless the
very same files are installed there already (a session on an unchanged tree)."""

from __future__ import annotations

import email
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.test_layers import FOLDERS

ROOT = Path(__file__).resolve().parents[1]

USER_PACKAGES = {  # a user's own top-level packages with our old generic names
    "reports/__init__.py": "OWNER = 'user'\n",
    "scheduler/__init__.py": "OWNER = 'user'\n",
}
PROBE = """
import reports
import scheduler

import orderprobe.probes


def test_user_checkout(journey, page, target):
    assert reports.OWNER == scheduler.OWNER == "user"  # theirs, not ours
    assert "site-packages" in orderprobe.probes.__file__  # ours from the wheel, not from a checkout
    with journey.step("home"):
        page.goto(target.url("/"))
        page.get_by_test_id("logo").wait_for()
"""


def build_wheel(out: Path) -> Path:
    source = out / "src"
    for folder in [*FOLDERS.values()]:
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(source)],
        capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    (wheel,) = out.glob("orderprobe-*.whl")
    return wheel


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def venv(wheel: Path) -> Path:
    """A venv of its own (no access to this checkout or the suite's packages), its dependencies
    installed once and kept; the wheel reinstalled into it when its files changed."""
    key = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + sys.prefix.encode()).hexdigest()[:12]
    home = Path(sys.prefix) / f"wheel-venv-{key}"
    pip = [sys.executable, "-m", "pip", "--python", str(home / "bin" / "python"), "install", "-q"]
    installed, built = home / "wheel.sha256", contents(wheel)  # the files of the wheel installed there
    with open(f"{home}.lock", "w") as lock:  # two sessions sharing this .venv build it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (home / "ready").exists():
            shutil.rmtree(home, ignore_errors=True)  # a build cut short
            subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(home)], check=True)
            link_dependencies(wheel, home)
            done = subprocess.run([*pip, "--no-deps", str(wheel)], capture_output=True, text=True)
            assert done.returncode == 0, done.stdout + done.stderr
            done = subprocess.run([*pip[:-2], "check"], capture_output=True, text=True)  # every requirement met
            assert done.returncode == 0, done.stdout + done.stderr
            installed.write_text(built)
            (home / "ready").touch()
        if installed.exists() and installed.read_text() == built:
            return home / "bin"  # this very wheel is installed there already
        installed.unlink(missing_ok=True)
        done = subprocess.run([*pip, "--no-deps", "--force-reinstall", str(wheel)], capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        installed.write_text(built)
    return home / "bin"


def link_dependencies(wheel: Path, home: Path) -> None:
    """The wheel's requirements and theirs (markers and extras evaluated), hard-linked from this
    interpreter's environment into ``home``'s site-packages file by file, as each one's RECORD
    lists them: what pip would install, without unpacking (and compiling) them again. Only
    what the wheel declares: an undeclared import still fails in ``home``."""
    with zipfile.ZipFile(wheel) as archive:
        meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        wanted = [(Requirement(r), "") for r in email.message_from_bytes(archive.read(meta)).get_all("Requires-Dist")]
    (site,) = home.glob("lib/python*/site-packages")
    seen: set[tuple[str, str]] = set()
    while wanted:
        requirement, extra = wanted.pop()
        if requirement.marker and not requirement.marker.evaluate({"extra": extra}):
            continue
        dist = metadata.distribution(requirement.name)  # PackageNotFoundError: not in the suite's venv
        name = canonicalize_name(dist.metadata["Name"])
        if (name, "") not in seen:
            for file in dist.files or []:
                source = Path(dist.locate_file(file))
                if str(file).startswith("..") or not source.is_file() or (site / file).exists():
                    continue  # a console script (not ours to run), or a file two distributions share
                (site / file).parent.mkdir(parents=True, exist_ok=True)
                os.link(source, site / file)
        for chosen in ["", *requirement.extras]:
            if (name, chosen) not in seen:
                seen.add((name, chosen))
                wanted += [(Requirement(r), chosen) for r in dist.requires or []]


def contents(wheel: Path) -> str:
    """A digest of the wheel's files (names and bytes; not the zip's timestamps, which every build changes)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(wheel) as archive:
        for name in sorted(archive.namelist()):
            digest.update(name.encode() + b"\0" + archive.read(name) + b"\0")
    return digest.hexdigest()


def test_the_wheel_holds_one_namespace_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("orderprobe-")}
    assert tops == {"orderprobe"}, tops
    for data in (
        "orderprobe/profiles/descriptors.json",
        "orderprobe/profiles/matrices/chaos.yaml",
        "orderprobe/probes/classify/causes.yaml",
        "orderprobe/probes/checkout/pytest.ini",
        "orderprobe/probes/vendor/web-vitals.iife.js",
        "orderprobe/reports/templates/run.html",
        "orderprobe/shop/templates/base.html",
        "orderprobe/__main__.py",
    ):
        assert data in names, data
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "orderprobe = orderprobe.cli:main" in text and "orderprobe = orderprobe.probes.plugin" in text


@pytest.mark.slow
def test_the_installed_wheel_runs_a_probe_beside_user_packages(venv: Path, tmp_path: Path) -> None:
    for name, text in USER_PACKAGES.items():
        (tmp_path / "user" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "user" / name).write_text(text, encoding="utf-8")
    (tmp_path / "test_user.py").write_text(PROBE, encoding="utf-8")
    # The user's packages on PYTHONPATH (first), and nothing of this checkout's: the run is in tmp_path.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    site = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p.endswith("real_parts_site")]
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path / "user"), *site])  # site: the suite counts real parts
    run = subprocess.run(
        [str(venv / "orderprobe"), "run", "test_user.py", "-n", "0", "--tracing", "off", "--no-progress",
         f"--results=sqlite:///{tmp_path / 'r.db'}", f"--artefacts={tmp_path / 'art'}",
         f"--reports={tmp_path / 'rep'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert list((tmp_path / "rep").glob("run*.html")), run.stdout[-2000:]
    # `python -m orderprobe`, and the data a catalogue reads (descriptors, profiles), from the wheel.
    listed = subprocess.run(
        [str(venv / "python"), "-m", "orderprobe", "profiles", "list", "devices"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert listed.returncode == 0 and "android-4.4" in listed.stdout, listed.stdout + listed.stderr
