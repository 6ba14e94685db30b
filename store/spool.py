"""The spool: every journey of a run, on local disk before it goes to the store.

``<artefacts>/<run>/spool.jsonl`` holds the run's header, each journey as it lands (one
line, fsync'd, so a crash or a full store loses nothing already finished) and the run's
end. When the store cannot take them — a bad URL, a missing folder, a read-only or
locked database — the run says so, exits non-zero and names the spool; ``orderprobe store
import DIR`` replays every spool under DIR into the store later. Replaying twice is harmless.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from orderprobe.base.atomic import Appender
from orderprobe.base.result import JourneyResult
from orderprobe.probes.secrets import hide_url_passwords

NAME = "spool.jsonl"


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = Appender(path, sync=True)

    def _append(self, record: dict[str, Any]) -> None:
        """Raises ``WriteFailed`` (naming the spool) on a full or read-only disk; no half line stays."""
        self._out.write((json.dumps(record, ensure_ascii=False, default=str) + "\n").encode())

    def run(self, run_id: str, **fields: Any) -> None:
        self._append({"kind": "run", "id": run_id, **fields})

    def journey(self, result: JourneyResult) -> None:
        self._append({"kind": "journey", "result": result.model_dump(mode="json")})

    def end(self, run_id: str, finished_at: datetime, exit_code: int, shard: tuple[int, int] | None = None) -> None:
        end = {"kind": "end", "id": run_id, "finished_at": finished_at.isoformat(), "exit_code": exit_code}
        self._append({**end, "shard": list(shard)} if shard is not None else end)

    def close(self) -> None:
        self._out.close()


def read(path: Path) -> list[dict[str, Any]]:
    """Records in order; a line cut short by a crash (the last one) is skipped, not fatal."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"orderprobe: {path}:{number}: unreadable line skipped (cut short?)", file=sys.stderr)
    return records


def _shard(record: dict[str, Any]) -> tuple[int, int] | None:
    shard = record.get("shard")  # a shard's records say which (``--shard 2/3``); both write one spool
    return (int(shard[0]), int(shard[1])) if shard else None


def replay(store: Any, path: Path) -> tuple[int, int]:
    """Put a spool's run and journeys into ``store``; returns (added, already there)."""
    added = present = 0
    for record in read(path):
        kind = record.get("kind")
        if kind == "run":
            shard = _shard(record)
            if store.run(record["id"]) is None or (shard is not None and not store.has_shard(record["id"], shard[0])):
                store.start_run(
                    record["id"],
                    started_at=datetime.fromisoformat(record["started_at"]),
                    target=record.get("target", ""),
                    matrix=record.get("matrix"),
                    labels=record.get("labels") or {},
                    command=record.get("command", ""),
                    location=record.get("location", ""),
                    shard=shard,
                )
        elif kind == "journey":
            result = JourneyResult.model_validate(record["result"])
            if store.journey(result.id) is None:
                store.add_journey(result)
                added += 1
            else:
                present += 1
        elif kind == "end":
            store.finish_run(
                record["id"],
                finished_at=datetime.fromisoformat(record["finished_at"]),
                exit_code=record["exit_code"],
                shard=_shard(record),
                recorded=True,
            )
    return added, present


# -- `orderprobe store import DIR` ----------------------------------------------------------


def configure(parser: argparse.ArgumentParser) -> None:
    from orderprobe.probes.settings import RESULTS_ENV  # `orderprobe run --results`' too

    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = sub.add_parser("import", help="replay the spools under DIR (a run's folder or the artefacts folder)")
    imp.add_argument("dir", type=Path, metavar="DIR")
    imp.add_argument(
        "--results",
        default=os.environ.get(RESULTS_ENV),
        metavar="URL",
        help="results store (default: $ORDERPROBE_RESULTS, else sqlite:///var/orderprobe.db)",
    )


def main(args: argparse.Namespace) -> int:
    from orderprobe.store.store import Store, default_url

    spools = sorted(args.dir.rglob(NAME)) if args.dir.is_dir() else [args.dir] if args.dir.exists() else []
    if not spools:
        print(f"orderprobe: no {NAME} under {args.dir}", file=sys.stderr)
        return 2
    url = default_url() if args.results is None else args.results  # an empty $ORDERPROBE_RESULTS is said
    try:
        store = Store(url)
    except Exception as exc:
        print(f"orderprobe: cannot open the results store {hide_url_passwords(url)}: {exc}", file=sys.stderr)
        return 1
    failed = 0
    try:
        for path in spools:
            try:
                added, present = replay(store, path)
            except Exception as exc:
                failed += 1
                print(f"orderprobe: {path}: not imported: {exc}", file=sys.stderr)
                continue
            print(f"{path}: {added} journeys imported, {present} already stored")
    finally:
        store.close()
    return 1 if failed else 0
