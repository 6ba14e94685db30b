"""``orderprobe run PATH`` runs that probe file as pytest would — from the repo root (whose
pyproject has addopts of its own) and from any other folder — on the probe's own profile,
with no matrix filtering unless ``--matrix`` is asked for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support import real_parts
from tests.support.refusals import run_all
from tests.support.stored import stored_journeys

ROOT = Path(__file__).resolve().parents[1]

PROBES = """
import pytest

def test_named_by_no_matrix(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))

@pytest.mark.profile(region="urumqi")
def test_pinned_to_urumqi(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def orderprobe(cwd: Path, out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    argv = [sys.executable, "-m", "orderprobe", "run", *args, "-n", "0", "--no-progress", "--tracing", "off"]
    argv += ["--results", f"sqlite:///{out / 'r.db'}", "--artefacts", str(out / "art"), "--reports", str(out / "rep")]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    return done, profiles_stored(out)


def profiles_stored(out: Path) -> dict[str, str]:
    """Probe → profile of the last run's journeys in ``out/r.db``."""
    return {j.probe: j.profile for j in stored_journeys(out / "r.db")}


@pytest.mark.parametrize("where", ["repo root", "elsewhere"])
def test_a_probe_file_runs_on_its_own_profile_from_any_folder(tmp_path: Path, where: str) -> None:
    probe = tmp_path / "probes_of_mine" / "test_mine.py"
    probe.parent.mkdir()
    probe.write_text(PROBES, encoding="utf-8")
    cwd = ROOT if where == "repo root" else tmp_path
    done, profiles = orderprobe(cwd, tmp_path, str(probe))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unrecognized arguments" not in done.stderr
    assert profiles == {
        "named_by_no_matrix": "android-mid/wifi/shanghai/normal",
        "pinned_to_urumqi": "android-mid/wifi/urumqi/normal",
    }
    assert "report   " in done.stdout  # the html reporter ran and the terminal says where


def test_a_matrix_filters_only_when_asked(plain_runs: dict[str, Any]) -> None:
    real_parts.credit(set(plain_runs["parts"]))
    done, folder = plain_runs["matrix"]
    assert done["code"] == 2, done["stdout"] + done["stderr"]  # smoke names neither probe
    assert "no journeys ran" in done["stdout"] and profiles_stored(folder) == {}


WORKERS_SEEN = """
from pathlib import Path

def pytest_configure(config):
    if hasattr(config, "workerinput"):  # each xdist worker leaves its name here
        (Path(__file__).parent / "started").mkdir(exist_ok=True)
        (Path(__file__).parent / "started" / config.workerinput["workerid"]).touch()
"""

WORKER_CASES = [
    (1, [], []),  # one test and no -n: it runs in the run's own process, no worker at all
    (1, ["-n", "2"], ["gw0"]),  # one test: one worker, not one idle beside it
    (2, ["-n", "3"], ["gw0", "gw1"]),
    (2, ["-n", "3", "--maxprocesses", "1"], ["gw0"]),  # the user's own cap stays
    (1, ["-n", "2", "--dist", "each"], ["gw0", "gw1"]),  # every test on every worker: as many as asked
]
GC_WORKERS = ["0", "1"]


@pytest.fixture(scope="module")
def plain_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The runs of plain tests (no browser, no shop) below and the refused run above, one after
    another in one Python process (tests/support/refusals.py): what they test is how the run starts
    its workers and its tests, which a fresh interpreter per run (~0.6 s CPU) would not test more.
    By name: (result, folder).
    Each test that reads them counts the real parts they used (tests/support/once.py does the same)."""
    root = tmp_path_factory.mktemp("plain-runs")
    cases: dict[str, tuple[dict[str, Any], Path]] = {}
    for i, (tests, args, _) in enumerate(WORKER_CASES):
        folder = root / f"workers{i}"
        folder.mkdir()
        (folder / "conftest.py").write_text(WORKERS_SEEN, encoding="utf-8")
        # a module name of its own per case: one process imports them all
        (folder / f"test_plain{i}.py").write_text("".join(f"def test_{t}():\n    pass\n\n" for t in range(tests)))
        argv = ["run", f"test_plain{i}.py", *args, "--no-progress"]
        argv += ["--results", f"sqlite:///{folder / 'r.db'}", "--artefacts", "art", "--reports", "rep"]
        cases[f"workers{i}"] = ({"args": argv, "cwd": str(folder)}, folder)
    for workers in GC_WORKERS:
        folder = root / f"gc{workers}"
        folder.mkdir()
        (folder / f"test_gc{workers}.py").write_text(
            "import gc\n\ndef test_collector_on():\n    assert gc.isenabled()\n"
        )
        argv = ["run", f"test_gc{workers}.py", "-n", workers, "--no-progress"]
        argv += ["--results", f"sqlite:///{folder / 'r.db'}", "--artefacts", "art", "--reports", "rep"]
        cases[f"gc{workers}"] = ({"args": argv, "cwd": str(folder)}, folder)
    folder = root / "matrix"  # probes that the smoke matrix does not name: refused, nothing runs
    folder.mkdir()
    (folder / "test_mine.py").write_text(PROBES, encoding="utf-8")
    argv = ["run", "test_mine.py", "--matrix", "smoke", "-n", "0", "--no-progress", "--tracing", "off"]
    argv += ["--results", f"sqlite:///{folder / 'r.db'}", "--artefacts", "art", "--reports", "rep"]
    cases["matrix"] = ({"args": argv, "cwd": str(folder)}, folder)
    names = list(cases)
    for name, done in zip(names, run_all([cases[n][0] for n in names]), strict=True):
        cases[name] = (done, cases[name][1])
    return {"parts": sorted(real_parts.used_by(os.environ.get(real_parts.ENV_TEST, ""))), **cases}


@pytest.mark.parametrize(
    ("index", "started"), [(i, started) for i, (_, _, started) in enumerate(WORKER_CASES)],
    ids=[f"{tests}-{' '.join(args) or 'no -n'}" for tests, args, _ in WORKER_CASES],
)  # fmt: skip
def test_no_more_workers_start_than_there_are_tests(plain_runs: dict[str, Any], index: int, started: list[str]) -> None:
    """Each xdist worker costs a Python start-up, the plugin and a collection before it finds it has
    nothing to run; the collection pass knows how many tests there are. (Plain tests: no browser needed.)"""
    real_parts.credit(set(plain_runs["parts"]))
    done, folder = plain_runs[f"workers{index}"]
    assert done["code"] == 0, done["stdout"] + done["stderr"]
    workers = folder / "started"
    assert (sorted(p.name for p in workers.iterdir()) if workers.exists() else []) == started


@pytest.mark.parametrize("workers", GC_WORKERS)
def test_journeys_run_with_the_garbage_collector_on(plain_runs: dict[str, Any], workers: str) -> None:
    """A run starts without automatic garbage collection while it imports and collects (the controller
    and each xdist worker); it must be back on before any test runs."""
    real_parts.credit(set(plain_runs["parts"]))
    done, _ = plain_runs[f"gc{workers}"]
    assert done["code"] == 0, done["stdout"] + done["stderr"]
