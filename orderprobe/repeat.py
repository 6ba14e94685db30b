"""``orderprobe run --repeat N``: the same selection N times, then the compare report over them.

One run per repetition (ids ``<base>-1`` … ``<base>-N``), not one run holding N copies of each
journey. The store and the compare report already pool journeys across runs
(``report compare --run A --run B``), so nothing downstream changes; and each repetition is a
complete, independent sample: a fresh pytest session, browser and demo shop (one repetition's warm
cache or shop state does not leak into the next), test ids without a copy index (the trend's series
and incidents stay keyed as before), and a run report of its own. Repetitions run one after the
other, each as its own ``orderprobe run`` process: pytest is not re-entrant within one process.
The compare report over them is written here, in-process (``orderprobe.reports.command``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import Any

USAGE = 2  # every orderprobe command's exit code for bad input


class BadRepeat(ValueError):
    pass


def take(argv: list[str], name: str) -> tuple[str | None, list[str]]:
    """The value of ``name`` (``--name V`` or ``--name=V``; the last one wins) and argv without it."""
    value, rest, i = None, [], 0
    while i < len(argv):
        arg = argv[i]
        if arg == name:
            if i + 1 >= len(argv):
                raise BadRepeat(f"{name} expects a value")
            value, i = argv[i + 1], i + 2
            continue
        if arg.startswith(name + "="):
            value = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return value, rest


def count(text: str) -> int:
    """The number of repetitions, or one clear error (0, -1, 2.5, "x", nothing)."""
    if not text.strip().isdecimal() or int(text) < 1:
        raise BadRepeat(f"--repeat {text!r}: expected a whole number of repetitions, 1 or more (e.g. --repeat 5)")
    return int(text)


def run(argv: list[str], single: Callable[[list[str]], int], options: Callable[[list[str]], dict[str, Any]]) -> int:
    """``argv``: ``orderprobe run``'s arguments, ``--repeat`` included. ``single`` runs (or lists)
    one selection in this process, ``options`` parses run options: the runner's own, handed in."""
    try:
        text, rest = take(argv, "--repeat")
        n = count(text or "")
        base, rest = take(rest, "--run-id")
    except BadRepeat as exc:  # before any browser starts
        print(f"orderprobe: {exc}", file=sys.stderr)
        return USAGE
    if "--list" in rest:  # the plan is the same every time: list it once
        return single(rest + (["--run-id", base] if base else []))
    from orderprobe.probes.session import new_run_id

    base = base or new_run_id()
    ids, worst = [], 0
    for i in range(1, n + 1):
        run_id = f"{base}-{i}"
        print(f"orderprobe: repetition {i}/{n}: run {run_id}", flush=True)
        extra = ["--run-id", run_id, "--label", f"repeat={i}/{n}"]
        code = _child([sys.executable, "-m", "orderprobe", "run", *rest, *extra])
        ids.append(run_id)
        if code == USAGE:  # refused (the next one would be too) or interrupted: stop here
            return code
        worst = max(worst, code)
    return max(worst, _compare(options(rest), ids, base))


def _child(argv: list[str]) -> int:
    """One repetition. Ctrl-C reaches the child too (same process group) and SIGTERM is passed on:
    the child records its journeys in flight as interrupted and ends its run; we wait for that."""
    child = subprocess.Popen(argv)
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda *_: child.send_signal(signal.SIGTERM))
    try:
        while True:
            try:
                return child.wait()
            except KeyboardInterrupt:
                continue  # the child got the same SIGINT and is winding down
    finally:
        signal.signal(signal.SIGTERM, previous)


def _compare(options: dict[str, Any], ids: list[str], base: str) -> int:
    """The compare report over the repetitions' runs, written beside their run reports — by
    ``orderprobe report compare``'s own code, in this process (its output read back for the path)."""
    from orderprobe.reports import command as report

    runs = [a for i in ids for a in ("--run", i)]
    if options.get("no_report"):
        print(f"compare  orderprobe report compare {' '.join(runs)}")
        return 0
    argv = ["compare", *runs, "--name", f"compare-{base}"]
    for option in ("results", "artefacts", "reports", "lang"):
        if options.get(option):
            argv += [f"--{option}", str(options[option])]
    parser = argparse.ArgumentParser(prog="orderprobe report")
    report.configure(parser)
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = report.main(parser.parse_args(argv))
    except Exception as exc:  # the runs are stored; only the comparison is missing, and said so
        code, err = 1, io.StringIO(f"{type(exc).__name__}: {exc}")
    if code:
        print(f"orderprobe: compare report not written: {err.getvalue().strip()}", file=sys.stderr)
        return 3
    print(f"compare  {out.getvalue().strip().splitlines()[-1]}", flush=True)
    return 0
