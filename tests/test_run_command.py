"""``orderprobe run PATH`` runs that probe file as pytest would — from the repo root (whose
pyproject has addopts of its own) and from any other folder — on the probe's own profile,
with no matrix filtering unless ``--matrix`` is asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orderprobe.store.store import Store

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
    store = Store(f"sqlite:///{out / 'r.db'}")
    try:
        run_id = store.latest_run_id()
        profiles = {j.probe: j.profile for j in store.journeys(run_id)} if run_id else {}
    finally:
        store.close()
    return done, profiles


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


def test_a_matrix_filters_only_when_asked(tmp_path: Path) -> None:
    probe = tmp_path / "test_mine.py"
    probe.write_text(PROBES, encoding="utf-8")
    done, profiles = orderprobe(tmp_path, tmp_path, str(probe), "--matrix", "smoke")
    assert done.returncode == 2, done.stdout + done.stderr  # smoke names neither probe
    assert "no journeys ran" in done.stdout and profiles == {}


WORKERS_SEEN = """
from pathlib import Path

def pytest_configure(config):
    if hasattr(config, "workerinput"):  # each xdist worker leaves its name here
        (Path(__file__).parent / "started").mkdir(exist_ok=True)
        (Path(__file__).parent / "started" / config.workerinput["workerid"]).touch()
"""


@pytest.mark.parametrize(
    ("tests", "args", "started"),
    [
        (1, [], []),  # one test and no -n: it runs in the run's own process, no worker at all
        (1, ["-n", "2"], ["gw0"]),  # one test: one worker, not one idle beside it
        (2, ["-n", "3"], ["gw0", "gw1"]),
        (2, ["-n", "3", "--maxprocesses", "1"], ["gw0"]),  # the user's own cap stays
        (1, ["-n", "2", "--dist", "each"], ["gw0", "gw1"]),  # every test on every worker: as many as asked
    ],
)
def test_no_more_workers_start_than_there_are_tests(
    tmp_path: Path, tests: int, args: list[str], started: list[str]
) -> None:
    """Each xdist worker costs a Python start-up, the plugin and a collection before it finds it has
    nothing to run; the collection pass knows how many tests there are. (Plain tests: no browser needed.)"""
    (tmp_path / "conftest.py").write_text(WORKERS_SEEN, encoding="utf-8")
    (tmp_path / "test_plain.py").write_text("".join(f"def test_{i}():\n    pass\n\n" for i in range(tests)))
    argv = [sys.executable, "-m", "orderprobe", "run", "test_plain.py", *args, "--no-progress"]
    argv += ["--results", f"sqlite:///{tmp_path / 'r.db'}", "--artefacts", "art", "--reports", "rep"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    workers = tmp_path / "started"
    assert (sorted(p.name for p in workers.iterdir()) if workers.exists() else []) == started


@pytest.mark.parametrize("workers", ["0", "1"])
def test_journeys_run_with_the_garbage_collector_on(tmp_path: Path, workers: str) -> None:
    """A run starts without automatic garbage collection while it imports and collects (the controller
    and each xdist worker); it must be back on before any test runs."""
    (tmp_path / "test_gc.py").write_text("import gc\n\ndef test_collector_on():\n    assert gc.isenabled()\n")
    argv = [sys.executable, "-m", "orderprobe", "run", "test_gc.py", "-n", workers, "--no-progress"]
    argv += ["--results", f"sqlite:///{tmp_path / 'r.db'}", "--artefacts", "art", "--reports", "rep"]
    done = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
