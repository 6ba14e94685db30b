"""What the on-call does from a shell: ``orderprobe schedule mute | unmute | ack``.

Both write the shared database, so every agent (and a running service) sees them at its next
run or tick: a mute is a maintenance window (source ``mute``) in the results store; an
acknowledgement is recorded on the incident and stops its escalation.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from orderprobe.scheduler.config import ScheduleConfig
from orderprobe.scheduler.duration import seconds


def main(config: ScheduleConfig, args: argparse.Namespace, now: datetime | None = None) -> int:
    from orderprobe.scheduler import escalation
    from orderprobe.scheduler.records import Records
    from orderprobe.store import maintenance
    from orderprobe.store.store import Store, default_url

    now = now or datetime.now(UTC)
    url = args.database or config.database or default_url()
    if not args.subject:
        print(f"orderprobe schedule {args.action}: name the {'incident' if args.action == 'ack' else 'job'}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.action == "ack":
        records = Records(url, config.agent, config.location or "")
        try:
            incident = escalation.acknowledge(records, int(args.subject), args.by or "cli", now)
        except (LookupError, ValueError) as exc:
            print(f"orderprobe schedule ack: {exc}", file=sys.stderr)
            return 2
        finally:
            records.close()
        print(f"acknowledged incident {incident.id} ({incident.job} {incident.kind}) by {incident.acknowledged_by}")
        return 0
    jobs = [j.id for j in config.jobs]
    if args.subject not in jobs:
        print(f"orderprobe schedule {args.action}: {args.config}: no job {args.subject!r} (jobs: {', '.join(jobs)})",
              file=sys.stderr)  # fmt: skip
        return 2
    store = Store(url)
    try:
        if args.action == "unmute":
            ended = maintenance.end(store, args.subject, now)
            print(f"{args.subject}: {ended} mute(s) ended" if ended else f"{args.subject}: not muted")
            return 0
        try:
            length = float(seconds(args.duration)) if args.duration else 0.0
        except ValueError as exc:
            print(f"orderprobe schedule mute: --for: {exc}", file=sys.stderr)
            return 2
        if length <= 0:
            print("orderprobe schedule mute: --for DURATION is needed (e.g. --for 30m)", file=sys.stderr)
            return 2
        period = maintenance.record(store, "mute", args.subject, now, now + timedelta(seconds=length),
                                    reason=args.reason, source="mute", after="drop" if args.drop else "release",
                                    by=args.by)  # fmt: skip
    finally:
        store.close()
    print(f"{args.subject}: muted until {period.ends.isoformat(timespec='seconds')} ({period.reason or 'no reason'}); "
          f"held alerts will be {'dropped' if args.drop else 'sent'} at its end")  # fmt: skip
    return 0
