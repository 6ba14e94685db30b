"""What each process of a run imports before its first journey: a module is imported where it is
used, so a heavy one that comes back at start-up (SQLAlchemy, httpx, Jinja2, the rules) fails here.

Each role is loaded in a fresh interpreter, as the run starts it, and the test asserts on which
modules are there, never on time (``python -m benchmarks.startup`` measures the CPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def loaded(code: str, tmp_path: Path) -> set[str]:
    """The modules in ``sys.modules`` after ``code`` ran in a fresh interpreter (in ``tmp_path``)."""
    script = textwrap.dedent(code) + "\nimport json, sys\nprint('MODULES', json.dumps(sorted(sys.modules)))\n"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def present(modules: set[str], *names: str) -> list[str]:
    """Those of ``names`` (packages included: ``sqlalchemy`` means any of it) found in ``modules``."""
    return [n for n in names if any(m == n or m.startswith(n + ".") for m in modules)]


def test_the_link_process_imports_only_what_relays_packets(tmp_path: Path) -> None:
    """The packet-mode link's own process (``LinkProcess``) starts with exactly this import."""
    modules = loaded("from orderprobe.probes.emulation.link import serve", tmp_path)
    assert "orderprobe.probes.emulation.link" in modules
    heavy = ("multiprocessing", "dataclasses", "subprocess", "pytest", "pydantic", "playwright", "orderprobe.profiles")
    assert present(modules, *heavy) == []


def test_the_plugin_alone_leaves_the_store_reports_and_rules_out(tmp_path: Path) -> None:
    """Every pytest process loads the plugin (a ``pytest11`` entry point): the controller's and the
    journeys' machinery come later, where they are used."""
    modules = loaded("import pytest, orderprobe.probes.plugin", tmp_path)
    assert "orderprobe.probes.plugin" in modules
    heavy = ("sqlalchemy", "httpx", "jinja2", "rich", "playwright", "orderprobe.store", "orderprobe.reports")
    assert present(modules, *heavy, "orderprobe.probes.classify", "orderprobe.profiles.catalogue") == []


def test_collecting_the_built_in_probes_imports_no_http_client_store_or_rules(tmp_path: Path) -> None:
    """What an xdist worker and the run's checks do before a journey: collect the probes (no
    reporter; a worker has none). httpx is for cancelling a tagged run's orders, the rules for
    classifying a failure, the shop for the first journey."""
    modules = loaded(
        """
        import pytest
        from orderprobe.runner import BUILTIN_PROBES
        code = pytest.main(["--collect-only", "-q", "-p", "no:cacheprovider", "--reporter", ",", str(BUILTIN_PROBES)])
        assert code == 0, code
        """,
        tmp_path,
    )
    assert "playwright.sync_api" in modules  # the probe files were imported
    heavy = ("httpx", "sqlalchemy", "jinja2", "rich", "orderprobe.store", "orderprobe.reports", "pyroute2")
    assert present(modules, *heavy, "orderprobe.probes.classify", "orderprobe.shop.server") == []


def test_a_journeys_machinery_reads_no_rules_until_a_failure_is_classified(tmp_path: Path) -> None:
    """What runs a journey and captures its evidence (a worker, or ``-n 0``'s one process): the
    classifier and its rules load when a failure is classified, not for every passing journey."""
    modules = loaded("import orderprobe.probes.journey_run, orderprobe.probes.recorder", tmp_path)
    assert "orderprobe.probes.first_failure" in modules  # the evidence's own code is there
    assert present(modules, "orderprobe.probes.classify", "publicsuffixlist") == []


def test_the_run_report_leaves_the_journeys_machinery_out(tmp_path: Path) -> None:
    """The controller of a run with workers renders the run report but runs no journey; nor does
    ``orderprobe report``: the report reads a failure's action from text, not through the recorder."""
    modules = loaded("from orderprobe.reports import junit, reporters, run_report", tmp_path)
    heavy = ("playwright", "orderprobe.probes.recorder", "orderprobe.probes.classify", "orderprobe.probes.journey_run")
    assert present(modules, *heavy) == []
    assert "orderprobe.reports.run_report" in modules


def test_the_runs_checks_read_no_rules_unless_given(tmp_path: Path) -> None:
    """``orderprobe run``'s checks before anything starts (``--list`` stops right after them)."""
    modules = loaded(
        """
        from orderprobe.cli import main
        assert main(["run", "--list", "--probe", "video_feed_checkout", "--device", "android-mid"]) == 0
        """,
        tmp_path,
    )
    assert "orderprobe.preflight" in modules
    heavy = ("httpx", "sqlalchemy", "jinja2", "orderprobe.store", "orderprobe.reports", "orderprobe.probes.classify")
    assert present(modules, *heavy) == []


def test_a_bad_rules_file_is_still_refused_before_anything_runs(tmp_path: Path) -> None:
    """The built-in rules are read when a failure is classified; a user's ``--rules`` still up front."""
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules:\n  - id: x\n    category: payment\n    when: {message: '('}\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", "--list", "--probe", "video_feed_checkout", "--rules", str(bad)],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    assert "refused before running" in done.stderr
    assert "rules.yaml:4" in done.stderr and "bad regular expression" in done.stderr


def test_a_second_shop_compiles_no_template(tmp_path: Path) -> None:
    """The demo shop (one per worker, and ``orderprobe shop``) loads its pages compiled by the shop
    before it; only the first on a machine compiles (Jinja2's bytecode cache in the temp dir)."""
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # a cache of this test's own
    load = "from orderprobe.shop.web import templates\nfor name in templates.env.list_templates():\n"
    load += "    templates.env.get_template(name)\n"
    first = subprocess.run([sys.executable, "-c", load], env=env, capture_output=True, text=True, timeout=600)
    assert first.returncode == 0, first.stderr[-2000:]
    assert list(tmp_path.glob("_jinja2-cache-*/__jinja2_*.cache"))  # compiled, and kept
    refuse = "import jinja2\n"  # a template compiled again ends the process
    refuse += "jinja2.Environment.compile = lambda *a, **k: (_ for _ in ()).throw(SystemExit('compiled'))\n"
    second = subprocess.run([sys.executable, "-c", refuse + load], env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr[-2000:]


def test_the_store_reporter_leaves_sqlalchemys_orm_out(tmp_path: Path) -> None:
    """Every run's controller loads the store reporter and writes to the store: its tables are
    SQLAlchemy Core, so mapping classes (the ORM, ~0.1 s of CPU per run) never load, writing included."""
    modules = loaded(
        """
        from datetime import UTC, datetime
        from orderprobe.reports.reporters import StoreReporter
        from orderprobe.store import maintenance, queries
        from orderprobe.store.store import Store
        store = Store("sqlite:///results.db")
        store.start_run("r1", started_at=datetime.now(UTC), target="", matrix=None)
        store.finish_run("r1", finished_at=datetime.now(UTC), exit_code=0)
        assert store.run("r1").exit_code == 0
        store.close()
        """,
        tmp_path,
    )
    assert "sqlalchemy.engine" in modules and "orderprobe.store.queries" in modules
    assert present(modules, "sqlalchemy.orm") == []
