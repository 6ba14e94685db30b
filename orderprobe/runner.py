"""``orderprobe run [pytest arguments]``: pytest (+ xdist) with the run's defaults.

Every option is pytest's or the plugin's (``orderprobe.probes.plugin``); this front only fills in
defaults the user did not give: the built-in probes on the smoke matrix when no path is
given, parallel workers, and the reporters (store, events, junit, html, progress). Paths
given ⇒ those probes, each on its own profile, no matrix unless ``--matrix`` is asked for.
Exit code 0 only if every journey met its expectation and every reporter did its job.
``--repeat N`` is this front's own option (``orderprobe.repeat``): N runs, then their compare report.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Any

import orderprobe.probes

BUILTIN_PROBES = Path(orderprobe.probes.__file__).parent / "checkout"  # the engine's package: probes/checkout
REPORTERS = "progress,store,events,junit,html"
ADHOC = ("matrix", "profile_spec", "device", "network", "region", "account")
USAGE_ERROR, NO_TESTS, INTERRUPTED = 4, 5, 2  # pytest's exit codes


def default_workers() -> str:
    return "auto" if (os.cpu_count() or 1) >= 2 else "0"


def given(argv: list[str]) -> tuple[list[str], dict[str, object]]:
    """The paths and option values in ``argv``, read by pytest's own parser (with every installed
    plugin's options, so an option's value is never mistaken for a path)."""
    from orderprobe.probes.compat.pytest import known_options

    options = known_options(argv, autoload=not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"))
    paths = [a for a in options.pop("file_or_dir", None) or [] if Path(a.split("::")[0]).exists()]
    return paths, options


def pytest_args(argv: list[str], paths: list[str], options: dict[str, object], workers: str | None = None) -> list[str]:
    """``workers``: instead of ``default_workers()`` when the user gave no ``-n``."""
    defaults = ["-p", "no:cacheprovider"]
    if not paths:  # built-ins, with their own config rather than the one of the folder we run from
        defaults += [str(BUILTIN_PROBES)] + (
            [] if options.get("inifilename") else ["-c", str(BUILTIN_PROBES / "pytest.ini")]
        )
        if not any(options.get(k) for k in ADHOC):  # --journeys alone: a sweep of the field population
            defaults += ["--matrix", "field" if options.get("journeys") else "smoke"]
    if options.get("numprocesses") is None and "no:xdist" not in argv and default_workers() != "0":
        defaults += ["-n", workers or default_workers()]
    if not options.get("reporter"):
        defaults += ["--reporter", REPORTERS]
    # This package is imported before pytest starts, so it cannot rewrite its asserts: fine.
    defaults += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return defaults + argv


def worker_cap(options: dict[str, object], tests: int) -> list[str]:
    """No more xdist workers than tests: each costs a Python start-up, the plugin and a collection
    (~0.6 s CPU) before it finds nothing to run. (``--dist each`` runs every test on every worker.)"""
    if not tests or "maxprocesses" not in options or options.get("dist") == "each":
        return []  # nothing to run, or no xdist
    asked = options.get("maxprocesses")
    return ["--maxprocesses", str(min(tests, asked) if isinstance(asked, int) else tests)]


def passthrough(argv: list[str]) -> int:
    if any(a in ("-h", "--help") for a in argv):
        print(run_help())
        return 0
    if any(a == "--repeat" or a.startswith("--repeat=") for a in argv):
        from orderprobe import repeat

        return repeat.run(argv, passthrough, lambda args: given(args)[1])
    # Until the journeys start, a run mostly imports (pytest, the plugin, the probes, the reporters):
    # objects that live as long as it does. The collector would walk them again and again as they
    # pile up (~0.1 s CPU); it starts with the session, with them frozen out of its sight, so the
    # full collections pytest runs as the session ends see only what is new.
    collecting = gc.isenabled()
    gc.disable()
    gc.freeze()
    try:
        return _checked_run(argv)
    finally:
        if collecting:
            gc.enable()
        gc.unfreeze()  # a caller that goes on (a test, --repeat) gets its garbage collected again


def _checked_run(argv: list[str]) -> int:
    import pytest

    listing = "--list" in argv
    from orderprobe.preflight import Refused, check_run, check_workers
    from orderprobe.probes import interrupt

    interrupt.install()  # from here a SIGTERM is said in one line, never a traceback

    try:  # before any worker or browser starts: option values, target, names, secrets, probe files
        argv = [a for a in argv if a != "--list"]
        paths, options = given(argv)
        check_workers(options)
        args = pytest_args(argv, paths, options)
        plan = check_run(args)
    except pytest.UsageError as exc:  # argparse's "usage: …" lines, then "prog: error: argument --x: …"
        print(
            f"orderprobe: refused before running: {str(exc).splitlines()[-1].split(' error: ', 1)[-1]}", file=sys.stderr
        )
        return 2
    except Refused as exc:
        print(f"orderprobe: refused before running: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # SIGTERM / Ctrl-C while checking: nothing started, nothing recorded
        said = str(exc) or "Ctrl-C"
        print(f"orderprobe: stopped ({said}) before the run started; nothing was recorded", file=sys.stderr)
        return INTERRUPTED
    if listing:  # the plan, checked, without a browser (Playwright Test's --list)
        print(plan_listing(plan.journeys))
        return 0
    if plan.tests == 1:  # one journey, no -n given: run it here; a worker would only repeat our start-up (~0.3 s CPU)
        args = pytest_args(argv, paths, options, workers="0")
    args += worker_cap(options, plan.tests)
    try:
        code = int(pytest.main(args, plugins=[_Planned(len(plan.journeys))]))
    except KeyboardInterrupt as exc:  # outside pytest's session (starting or unwinding): it said the rest
        print(f"orderprobe: stopped ({str(exc) or 'Ctrl-C'})", file=sys.stderr)
        return INTERRUPTED
    # A bad profile, matrix or rules file is refused before any browser starts: exit 2, as
    # every orderprobe command does for bad input; so is a run that selected no journey.
    return 2 if code in (USAGE_ERROR, NO_TESTS) else code


def plan_listing(planned: list) -> str:
    """One line per journey as the run will name it (switches included); a line planned twice is
    shown once with its count."""
    from collections import Counter

    lines = Counter()
    for item in planned:
        expect = f"  expect {item.expectation.outcome}" if item.expectation.outcome != "pass" else ""
        lines[f"{item.probe}  [{item.profile.run_name}]{expect}"] += 1
    out = [line + (f"  ×{n}" if n > 1 else "") for line, n in lines.items()]
    return "\n".join([*out, f"{len(planned)} journey{'s' if len(planned) != 1 else ''}"])


def run_help() -> str:
    """orderprobe's own options first; pytest's 500 lines of help would bury them."""
    import contextlib
    import io

    import pytest

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        # The CLI has imported orderprobe (the plugin) already: nothing to rewrite, and no warning to raise
        # where a project (this one) makes warnings errors.
        pytest.main(["--help", "-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning"])
    lines = out.getvalue().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("orderprobe ")), len(lines))
    end = next((i for i in range(start + 1, len(lines)) if lines[i] and not lines[i][0].isspace()), len(lines))
    return "\n".join(
        [
            "usage: orderprobe run [options] [probe files or folders]",
            "",
            "Runs the built-in probes on the embedded demo shop unless --target and probe paths are given;",
            "validates everything first (exit 2 on bad input), then runs, stores and reports.",
            "",
            *lines[start:end],
            "",
            "  --list                list the planned journeys after every up-front check; run nothing",
            "  --repeat N            run the selection N times (runs RUN-1 … RUN-N), then write the compare",
            "                        report over them (medians, spread, significance) and print its path",
            "",
            "Every pytest and pytest-xdist option works too (-n, -k, -x, --maxfail, ...): see `pytest --help`.",
        ]
    )


class _Planned:
    """The preflight already counted the journeys: progress shows ``0/N`` from the first second
    instead of ``0/?`` until xdist's workers have collected."""

    def __init__(self, count: int) -> None:
        self.count = count

    def pytest_configure(self, config: Any) -> None:
        controller = config.pluginmanager.get_plugin("orderprobe-controller")
        if controller is not None and self.count:
            controller.run.planned = self.count

    def pytest_sessionstart(self) -> None:
        gc.freeze()  # what the run's configuration imported (the reporters: SQLAlchemy, Jinja2)
        gc.enable()
