"""What a run left in its results store, read back by the tests that started it."""

from __future__ import annotations

from pathlib import Path

from orderprobe.base.result import JourneyResult
from orderprobe.store.store import Store


def stored_journeys(db: str | Path) -> list[JourneyResult]:
    """The journeys of the latest run in the SQLite file ``db`` (none if it holds no run)."""
    store = Store(f"sqlite:///{db}")
    try:
        run_id = store.latest_run_id()
        return list(store.journeys(run_id)) if run_id else []
    finally:
        store.close()
