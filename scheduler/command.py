"""``orderprobe schedule``: run the monitoring service, run one job now, or list the jobs.

    orderprobe schedule [--config FILE]          foreground service (systemd / container), logs to stdout
    orderprobe schedule --once JOB [--config …]  run one job now (exit 0 passed, 1 failed, 3 run error)
    orderprobe schedule list [--config FILE]     jobs, triggers and next run times
    orderprobe schedule mute JOB --for 30m --reason …   hold JOB's alerts (probes still run); `unmute JOB` ends it
    orderprobe schedule ack INCIDENT [--by NAME] acknowledge an open incident (stops its escalation)

A bad schedule file is refused (exit 2) with file, line and field before anything starts.
SIGTERM / SIGINT: stop taking runs, let the current ones finish within ``shutdown_grace``,
then kill them; a second signal kills at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

from orderprobe.probes.verdict import Verdict

DEFAULT_CONFIG = "schedules.yaml"
EXAMPLE = Path(__file__).with_name("schedules.example.yaml")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "action",
        nargs="?",
        choices=("list", "mute", "unmute", "ack"),
        help="list: jobs and next run times; mute / unmute JOB: a maintenance window from now; ack INCIDENT",
    )
    parser.add_argument("subject", nargs="?", metavar="JOB|INCIDENT", help="the job to (un)mute, the incident to ack")
    parser.add_argument("--for", dest="duration", metavar="DURATION", help="mute: how long (e.g. 30m, 2h)")
    parser.add_argument("--reason", default="", help="mute: why (shown in held alerts and the trend report)")
    parser.add_argument("--drop", action="store_true", help="mute: drop the held alerts at its end (default: send)")
    parser.add_argument("--by", default=os.environ.get("USER", ""), help="mute / ack: who (default: $USER)")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help=f"schedule file (default: $ORDERPROBE_SCHEDULE, else ./{DEFAULT_CONFIG}, else the shipped {EXAMPLE.name})",
    )
    parser.add_argument("--once", metavar="JOB", help="run this job once, now, and exit")
    parser.add_argument("--database", metavar="URL", help="SQLAlchemy URL (overrides the file's `database`)")
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="overrides the file's metrics.port")
    parser.add_argument(
        "--location",
        metavar="NAME",
        help="the site this agent probes from, e.g. sh, hk (default: $ORDERPROBE_LOCATION, else the file's "
        "`location:`, else the host name); without `agent:` in the file it also names the agent",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        stream=sys.stdout,
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        force=True,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # its INFO lines would print webhook URLs


def config_path(given: str | None) -> tuple[Path, bool]:
    """The schedule file to use, and whether it is the shipped example (nothing else found)."""
    chosen = given or os.environ.get("ORDERPROBE_SCHEDULE")
    if chosen:
        return Path(chosen), False
    return (Path(DEFAULT_CONFIG), False) if Path(DEFAULT_CONFIG).exists() else (EXAMPLE, True)


def main(args: argparse.Namespace) -> int:
    from orderprobe.scheduler.config import ScheduleError, load

    path, example = config_path(args.config)
    args.config = str(path)
    if example:
        print(f"orderprobe schedule: no {DEFAULT_CONFIG} here; using the shipped example {path} "
              f"(copy it to {DEFAULT_CONFIG} and edit it)", file=sys.stderr)  # fmt: skip
    if not path.exists():
        print(
            f"orderprobe schedule: no schedule file {path} (copy {EXAMPLE} and edit it, or pass --config FILE)",
            file=sys.stderr,
        )
        return 2
    try:
        # Listing needs no secrets; running does, so env vars and profile names are checked up front.
        checked = args.action not in ("list", "mute", "unmute", "ack")
        config = load(path, dict(os.environ) if checked else None, _catalogue() if checked else None)
    except ScheduleError as exc:
        print(f"orderprobe schedule: refused {path}\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # the profile catalogue itself is broken: its error names its file and line
        print(f"orderprobe schedule: the profile catalogue is invalid\n{exc}", file=sys.stderr)
        return 2
    try:
        config = config.at(args.location)
    except ValueError as exc:
        print(f"orderprobe schedule: {exc}", file=sys.stderr)
        return 2
    for warning in config.warnings:  # e.g. a channel whose webhook env var is not set yet
        print(f"orderprobe schedule: warning: {warning}", file=sys.stderr)
    if args.once and args.once not in {j.id for j in config.jobs}:
        print(f"orderprobe schedule: {path}: no job {args.once!r} (jobs: {', '.join(j.id for j in config.jobs)})",
              file=sys.stderr)  # fmt: skip
        return 2
    from sqlalchemy.exc import ArgumentError, OperationalError

    try:
        if args.action == "list":
            return _list(config, args)
        if args.action in ("mute", "unmute", "ack"):
            from orderprobe.scheduler import operator

            return operator.main(config, args)
        from orderprobe.scheduler.service import Service  # APScheduler, channels, metrics: the service only (~1 s)

        _logging(args.verbose)
        service = Service(config, database=args.database, metrics_port=args.metrics_port, location=config.location)
    except (ArgumentError, OperationalError) as exc:
        print(f"orderprobe schedule: {path}: database: cannot open it: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        if stop.is_set():
            logging.getLogger("orderprobe.scheduler").warning("second signal: killing running jobs now")
            service.hurry()
        stop.set()
        service.request_stop()  # a --once run in progress gets the grace period too

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    if args.once:
        return _once(service, args.once)
    try:
        service.start()
    except OSError as exc:  # the metrics port is taken, most likely
        where = f"{config.metrics.host}:{service.metrics_port}"
        print(f"orderprobe schedule: {path}: metrics: cannot listen on {where}: {exc.strerror or exc}", file=sys.stderr)
        service.stop(grace=0)
        return 2
    while not stop.wait(1.0):
        pass
    service.stop()
    return 0


def _catalogue() -> object:
    from orderprobe.profiles.catalogue import load_catalogue  # every profile YAML: only when names are checked

    return load_catalogue()


def _once(service: object, job_id: str) -> int:
    from orderprobe.scheduler.service import Service

    assert isinstance(service, Service)
    try:
        record = service.run_job(job_id)
    finally:
        service.notifier.drain(timeout=60)
        service.stop()
    if record is None:
        return 3
    print(f"{record.verdict}: run {record.run_id}\nreport   {record.report or '-'}", flush=True)
    return {Verdict.PASSED: 0, Verdict.FLAKY: 0, Verdict.FAILED: 1}.get(record.verdict, 3)


def _list(config: object, args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from rich.console import Console
    from rich.table import Table

    from orderprobe.scheduler import timetable
    from orderprobe.scheduler.config import ScheduleConfig
    from orderprobe.scheduler.records import Records
    from orderprobe.store.store import default_url

    assert isinstance(config, ScheduleConfig)
    url = args.database or config.database or default_url()
    persisted = timetable.persisted(url, config.agent)
    records = Records(url, config.agent)
    open_incidents = [i.job for i in records.incidents(open_only=True) if i.announced]  # not those awaiting a quorum
    table = Table(title=f"orderprobe schedule · {args.config} · agent {config.agent} · location {config.location}")
    for column in (
        "任务 job",
        "运行 runs",
        "触发 trigger",
        "超时 timeout",
        "下次 next run",
        "上次 last",
        "未恢复 open",
    ):
        # A job's name is what one types next (`schedule --once NAME`): never split across lines.
        table.add_column(column, overflow="fold", no_wrap=column.endswith(" job"))
    now = datetime.now(UTC)
    for job in config.jobs:
        zone = ZoneInfo(job.timezone)
        upcoming = timetable.next_run(job, persisted.get(f"probe:{job.id}"), now)
        last = records.recent_runs(job.id, 1)
        table.add_row(
            job.id,
            f"matrix {job.matrix}" if job.matrix else " ".join(job.probes) or "command",
            f"every {job.every:g}s" if job.every else f"cron {job.cron}",
            f"{job.timeout:g}s",
            upcoming.astimezone(zone).strftime("%m-%d %H:%M:%S %Z") if upcoming else "-",
            f"{last[0].verdict} {last[0].started_at.astimezone(zone):%m-%d %H:%M}" if last else "-",
            str(open_incidents.count(job.id)),
        )
    records.close()
    Console().print(table)
    return 0
