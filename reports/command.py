"""``orderprobe report run [RUN_ID] | compare | trend``: render HTML reports from the results store.

Each prints the path it wrote. ``orderprobe run`` writes its run report itself, through
the ``html`` reporter (``orderprobe.reports.reporters``).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from orderprobe.probes.secrets import hide_url_passwords


def _common(parser: argparse.ArgumentParser) -> None:
    from orderprobe.probes.settings import RESULTS_ENV  # `orderprobe run --results`' too

    parser.add_argument(
        "--results",
        default=os.environ.get(RESULTS_ENV),
        metavar="URL",
        help="SQLAlchemy URL of the results store (default: $ORDERPROBE_RESULTS, else var/orderprobe.db)",
    )
    parser.add_argument("--artefacts", default="var/artefacts", metavar="DIR", help="screenshots and traces folder")
    parser.add_argument(
        "--out", "--reports", dest="out", default="var/reports", metavar="DIR", help="where reports are written"
    )  # --reports: the name `orderprobe run` uses
    parser.add_argument("--lang", choices=("zh", "en"), help="UI language (default from the locale; Chinese first)")


def configure(parser: argparse.ArgumentParser) -> None:
    kinds = parser.add_subparsers(dest="kind", metavar="KIND", required=True)
    run = kinds.add_parser("run", help="one run: verdict, probe × profile grid, waterfalls, failure panels")
    run.add_argument("run_id", nargs="?", metavar="RUN_ID", help="default: the latest run")
    compare = kinds.add_parser("compare", help="entry paths side by side (steps, taps, inputs, loads, time)")
    compare.add_argument("--run", action="append", dest="runs", metavar="ID", help="run(s) to take journeys from")
    compare.add_argument(
        "--last", type=int, default=5, metavar="N", help="without --run: the N latest runs of one matrix and target"
    )
    compare.add_argument("--probes", metavar="A,B,C", help="paths to compare (default: every path in the runs)")
    compare.add_argument("--baseline", metavar="PROBE", help="path the others are measured against")
    compare.add_argument("--profile", metavar="D/N/R/A", help="profile for the side-by-side (default: most common)")
    compare.add_argument("--name", default="compare", metavar="STEM", help="file name: STEM.<lang>.html")
    trend = kinds.add_parser("trend", help="availability, step times, causes, outages over time")
    trend.add_argument("--since", default="7d", metavar="SPAN", help="window, e.g. 90m, 24h, 7d, 2w (default 7d)")
    trend.add_argument("--probe", metavar="NAME", help="only this probe, in every section")
    trend.add_argument("--profile", metavar="D/N/R/A", help="only this profile, in every section")
    trend.add_argument("--location", metavar="LABEL", help="only runs labelled location=LABEL, in every section")
    trace = kinds.add_parser("trace", help="open a journey's Playwright trace in the trace viewer (127.0.0.1)")
    trace.add_argument("journey_id", metavar="JOURNEY_ID", help="as named in the run report")
    trace.add_argument("--print", action="store_true", help="only print the trace file's path")
    for sub in (run, compare, trend, trace):
        _common(sub)


def main(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import ArgumentError, OperationalError

    from orderprobe.base.atomic import WriteFailed
    from orderprobe.reports import compare, html, i18n, run_report, trace, trend
    from orderprobe.store.store import Store, StoreSchemaError, default_url

    lang = args.lang or i18n.default_lang()
    out, artefacts = Path(args.out), Path(args.artefacts)
    url = default_url() if args.results is None else args.results  # an empty $ORDERPROBE_RESULTS is said
    try:
        store = Store(url)
    except (ArgumentError, OperationalError, StoreSchemaError) as exc:
        reason = getattr(exc, "orig", None) or exc  # the driver's own words, without SQLAlchemy's footer
        print(f"orderprobe report: cannot open results store {url!r}: {reason}", file=sys.stderr)
        return 2
    from orderprobe.store.liveness import abandon

    abandon(store)  # a run killed without an end is reported as abandoned, not as running forever
    try:
        if args.kind == "trace":
            found = trace.find(store, args.journey_id, artefacts)
            print(found)
            return 0 if args.print else trace.show(found)
        if args.kind == "run":
            run_id = args.run_id or store.latest_run_id()
            if run_id is None:
                shown = hide_url_passwords(url)
                print(f"orderprobe report: no runs in {shown}; run `orderprobe run` first", file=sys.stderr)
                return 2
            path = run_report.write(store, run_id, artefacts, out, lang)
        elif args.kind == "compare":
            probes = [p.strip() for p in args.probes.split(",") if p.strip()] if args.probes else None
            if args.last < 1:
                raise ValueError(f"--last {args.last}: expected a number of runs, 1 or more")
            runs = [r for r in args.runs if store.run(r) is not None] if args.runs else None
            if args.runs and not runs:  # (an empty list would mean "the default runs")
                raise LookupError(f"none of the runs {', '.join(args.runs)} is in the results store")
            runs = runs or compare.default_runs(store, limit=args.last)
            path = compare.write(
                store, out, lang, runs=runs, probes=probes, baseline=args.baseline, profile=args.profile,
                name=html.safe_name(args.name),
            )  # fmt: skip
        else:
            filters = {k: getattr(args, k) for k in trend.FILTERS}
            path, ctx = trend.write(store, trend.parse_since(args.since), out, lang, **filters)
            for run_id in ctx.linked_runs:  # the trend's links must land somewhere
                if not (out / html.run_report_name(run_id, lang)).exists():
                    run_report.write(store, run_id, artefacts, out, lang)
    except (LookupError, ValueError) as exc:
        print(f"orderprobe report: {exc}", file=sys.stderr)
        return 2
    except WriteFailed as exc:  # a full or read-only --out: one line naming the file
        print(f"orderprobe report: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(path)
    return 0
