"""``orderprobe`` — one front door; each sub-command lives beside the thing it drives.

A command module exposes ``configure(parser)`` and ``main(args) -> int``, or
``passthrough(argv) -> int`` when another parser owns its arguments (``run`` hands them
to pytest). This is the one registry of commands: modules are named here by string and
imported lazily (``orderprobe run`` does not pay for the scheduler or reports) — the only
import by name in the package; ``tests/test_layers.py`` reads these names as import edges.
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import sys

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("orderprobe.runner", "run probes (pytest + xdist) and write results and a report"),
    "shop": ("orderprobe.shop.command", "serve the embedded demo shop, or switch its faults"),
    "profiles": (
        "orderprobe.profiles.command",
        "list, show or validate devices, networks, regions, accounts, matrices",
    ),
    "report": ("orderprobe.reports.command", "render run / compare / trend HTML reports from the store"),
    "store": ("orderprobe.store.spool", "import the journeys a run spooled but could not store (`store import DIR`)"),
    "schedule": ("orderprobe.scheduler.command", "run the monitoring service (APScheduler), or one job now"),
    "record": (
        "orderprobe.probes.record",
        "record a journey with Playwright's codegen under a profile, as a probe file",
    ),
    "doctor": ("orderprobe.doctor", "find (or install) Chromium and check this machine can run probes"),
}


def _command_name(argv: list[str]) -> str | None:
    return next((a for a in argv if not a.startswith("-")), None)


def main(argv: list[str] | None = None) -> int:
    if argv is None:  # this process's own command line: the process ends with it
        # The interpreter's last full collection would walk every live object (~0.1 s CPU after a
        # run) only to free memory the process gives back anyway; frozen, they are left alone.
        atexit.register(gc.freeze)
        argv = sys.argv[1:]
    parser = argparse.ArgumentParser(prog="orderprobe", description="Synthetic end-to-end checkout probes.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    wanted = _command_name(argv)
    if wanted in COMMANDS and argv.index(wanted) == 0:
        module = importlib.import_module(COMMANDS[wanted][0])
        if hasattr(module, "passthrough"):
            return int(module.passthrough(argv[1:]) or 0)
    for name, (module_name, help_text) in COMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        # Only the chosen command's module is imported; the others just list their help.
        if name == wanted:
            module = importlib.import_module(module_name)
            module.configure(sub_parser)
            sub_parser.set_defaults(_main=module.main)
    args = parser.parse_args(argv)
    return int(args._main(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
