"""``orderprobe run``: a thin front over pytest (+ xdist) with live progress, a summary
table and the run report. Exit code 0 only if every journey met its expectation."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

BUILTIN_PROBES = Path(__file__).parent / "checkout"
PASS_THROUGH = (
    "target",
    "matrix",
    "profile",
    "device",
    "network",
    "region",
    "account",
    "results",
    "artefacts",
    "run_id",
    "retries",
    "action_timeout",
)
REPEATED = ("profiles", "dependency", "rules", "label")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", help="probe files or folders (default: the built-in checkout probes)")
    parser.add_argument("--matrix", help="matrix name (default: smoke, unless an ad-hoc profile is given)")
    parser.add_argument("--target", help="base URL of the checkout (default: the embedded demo shop)")
    parser.add_argument("--probe", action="append", default=[], help="only this probe (repeatable)")
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument("-n", dest="workers", default=None, help="parallel workers (default: auto on ≥2 cores)")
    parser.add_argument("--profile", metavar="D/N/R/A", help="ad-hoc device/network/region/account")
    for kind in ("device", "network", "region", "account"):
        parser.add_argument(f"--{kind}", help=f"ad-hoc {kind}")
    parser.add_argument("--profiles", action="append", default=[], metavar="DIR", help="extra profile folder")
    parser.add_argument("--results", metavar="URL", help="results store (SQLAlchemy URL)")
    parser.add_argument("--artefacts", default="var/artefacts", metavar="DIR")
    parser.add_argument("--reports", default="var/reports", metavar="DIR", help="where the run report goes")
    parser.add_argument("--trace", choices=("on", "off", "retain-on-failure"), default="retain-on-failure")
    parser.add_argument("--run-id")
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--action-timeout", type=float, default=10_000, metavar="MS")
    parser.add_argument("--dependency", action="append", default=[], metavar="GLOB=NAME")
    parser.add_argument("--rules", action="append", default=[], metavar="FILE")
    parser.add_argument("--label", action="append", default=[], metavar="K=V")
    parser.add_argument("--lang", choices=("zh", "en"), help="report language (default from locale)")
    parser.add_argument("--no-progress", action="store_true", help="plain log lines instead of a live display")
    parser.add_argument("--no-report", action="store_true", help="do not render the HTML run report")
    parser.add_argument("--headed", action="store_true")


def default_workers() -> str:
    return "auto" if (os.cpu_count() or 1) >= 2 else "0"


def pytest_args(args: argparse.Namespace, run_id: str) -> list[str]:
    argv = [str(p) for p in (args.paths or [BUILTIN_PROBES])]
    if not args.paths:  # built-ins: their own config, not that of the folder we run from
        argv += ["-c", str(BUILTIN_PROBES / "pytest.ini")]
    argv += [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:terminal",
        "--junitxml",
        str(Path(args.artefacts) / run_id / "junit.xml"),
    ]
    # This package is imported before pytest starts, so it cannot rewrite its asserts: fine.
    argv += ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    workers = args.workers or default_workers()
    if workers not in ("0", "1"):
        argv += ["-n", workers]
    keyword = args.keyword
    if args.probe:
        probes = " or ".join(f"test_{p.removeprefix('test_')}" for p in args.probe)
        keyword = f"({probes}) and ({keyword})" if keyword else probes
    if keyword:
        argv += ["-k", keyword]
    values = vars(args) | {"run_id": run_id}
    for name in PASS_THROUGH:
        value = values.get(name)
        if value not in (None, False, ""):
            argv += [f"--{name.replace('_', '-')}", str(value)]
    for name in REPEATED:
        for value in values.get(name) or []:
            argv += [f"--{name}", str(value)]
    argv += ["--tracing", args.trace]  # pytest owns --trace (pdb)
    if args.headed:
        argv.append("--headed")
    return argv


def validate(args: argparse.Namespace) -> str | None:
    """Refuse bad profiles, matrices and rules before any browser starts."""
    from probes.classify import Classifier
    from profiles.catalogue import load_catalogue

    try:
        catalogue = load_catalogue([Path(p) for p in args.profiles])
        if args.matrix:
            catalogue.expand(args.matrix)
        adhoc = {k: getattr(args, k) for k in ("device", "network", "region", "account") if getattr(args, k)}
        if adhoc:
            catalogue.profile(**adhoc)
        Classifier.load([Path(p) for p in args.rules])
    except Exception as exc:
        return str(exc)
    return None


def main(args: argparse.Namespace) -> int:
    import pytest
    from rich.console import Console

    from probes.progress import Progress
    from probes.session import new_run_id

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and CI: wide enough that the summary table doesn't wrap
        console = Console(highlight=False, width=180)
    adhoc = args.profile or any(getattr(args, k) for k in ("device", "network", "region", "account"))
    if not args.matrix and not adhoc:
        args.matrix = "smoke"
    problem = validate(args)
    if problem:
        console.print(f"[bold red]orderprobe: refused before running[/]\n{problem}", highlight=False)
        return 2
    run_id = args.run_id or new_run_id()
    run_dir = Path(args.artefacts) / run_id
    progress = Progress(console, run_dir / "events.jsonl", live=not args.no_progress and console.is_terminal)
    console.print(
        f"orderprobe run [bold]{run_id}[/] · matrix {args.matrix or '(ad hoc)'} · "
        f"target {args.target or 'embedded demo shop'}"
    )
    code = int(pytest.main(pytest_args(args, run_id), plugins=[progress]))
    if not progress.results:
        console.print("[bold red]orderprobe: no journeys ran[/] (check --matrix / --probe / -k)")
        return 2 if code in (0, 5) else code
    console.print(progress.summary())
    _warn_missing_probes(console, args, {r.probe for r in progress.results})
    _print_paths(console, args, run_id, run_dir)
    ok = all(r.status.ok for r in progress.results)
    return 0 if ok and code == 0 else (1 if code in (0, 1) else code)


def _warn_missing_probes(console: Console, args: argparse.Namespace, ran: set[str]) -> None:
    """A matrix that names a probe no file defines selects nothing: say so, it is usually a typo."""
    if not args.matrix or args.probe or args.keyword:
        return
    from profiles.catalogue import load_catalogue

    named = {i.probe for i in load_catalogue([Path(p) for p in args.profiles]).expand(args.matrix)}
    if missing := sorted(named - ran):
        console.print(f"[yellow]matrix {args.matrix} names probes that no probe file defines: {', '.join(missing)}[/]")


def _print_paths(console: Console, args: argparse.Namespace, run_id: str, run_dir: Path) -> None:
    from reports.store import default_url

    results = args.results or default_url()
    lines = [
        f"results  {results}  (run {run_id})",
        f"events   {run_dir / 'events.jsonl'}",
        f"junit    {run_dir / 'junit.xml'}",
    ]
    if not args.no_report:
        try:
            from reports.command import write_run_report

            path = write_run_report(
                results, run_id, artefacts=Path(args.artefacts), out=Path(args.reports), lang=args.lang
            )
            lines.append(f"report   {path}")
        except ImportError:
            pass
        except Exception as exc:  # the results are stored; a report problem must not hide them
            print(f"orderprobe: run report failed: {exc}", file=sys.stderr)
    for line in lines:
        console.print(line)
