"""The ``store`` and ``html`` reporters: a run's journeys into the results store as they
land, and the run report rendered from the journeys this run saw (no read-back)."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from orderprobe.base.result import JourneyResult
from orderprobe.probes.reporter import Reporter, Run
from orderprobe.probes.secrets import hide_url_passwords
from orderprobe.store import liveness, spool
from orderprobe.store.spool import Spool
from orderprobe.store.store import RunSummary, Store, default_url, locked


class StoreReporter(Reporter):
    """Every journey goes to the run's spool first (fsync'd), then to the store. What the store
    did not take is replayed at the end; if it still cannot, the run fails naming the spool."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self.spool: Spool | None = None
        self.unstored = 0  # journeys not (yet) in the store
        self.lost = 0  # of those, journeys the spool did not take either
        self.spool_failed = False
        self.problem = ""

    def on_run_start(self, run: Run) -> None:
        url = run.settings.results or default_url()
        run.outputs["results"] = f"{hide_url_passwords(url)}  (run {run.id})"
        header = dict(
            started_at=run.started_at,
            target=run.target,
            matrix=run.settings.matrix,
            labels=run.settings.labels,
            location=run.settings.location,
        )
        try:
            self.spool = Spool(run.settings.artefacts / run.id / spool.NAME)
            shard = _shard(run)
            self.spool.run(run.id, **header, command=run.command, **({"shard": list(shard)} if shard else {}))
        except OSError as exc:  # say it now; the store may still take everything
            self.spool = None
            print(f"orderprobe: no spool for this run: {exc}", file=sys.stderr)
        try:
            self.store = Store(url)
            liveness.abandon(self.store)
            me = liveness.Process.this()  # so a later run can tell if this one was killed unseen
            self.store.start_run(
                run.id, **header, command=run.command, shard=_shard(run), host=me.host, pid=me.pid, identity=me.identity
            )
        except Exception as exc:
            self.problem = _one_line(exc)
            if locked(exc):
                self._give_up(exc)
            self.store = None
            raise

    def on_journey_end(self, result: JourneyResult) -> None:
        spooled = self._spool(result)
        if self.store is not None:
            try:
                self.store.add_journey(result)
                return
            except Exception as exc:
                self.problem = _one_line(exc)
                if locked(exc):  # waited the busy timeout already: the next journeys would wait as long
                    self._give_up(exc)
                if not spooled:
                    raise  # neither on disk nor in the store: lost, and said at once
        self.unstored += 1
        self.lost += not spooled

    def _give_up(self, exc: Exception) -> None:
        """A store locked by someone else: stop waiting on it for every journey; the spool keeps
        them and the run's end tries the store once more."""
        waited = ""  # the store is None if opening it was what waited
        if self.store is not None:
            waited = f" (waited {self.store.busy_s:g} s)"
            self.store.close()
            self.store = None
        where = f"journeys go to the spool {self.spool.path}" if self.spool is not None else "and there is no spool"
        message = f"the results store is locked by another writer{waited}; {where} until the run's end"
        print(f"orderprobe: {message}", file=sys.stderr)

    def _spool(self, result: JourneyResult) -> bool:
        if self.spool is None:
            return False
        try:
            self.spool.journey(result)
            return True
        except OSError as exc:
            if not self.spool_failed:  # one line per file, not one per journey
                print(f"orderprobe: {exc} (journeys go to the results store only)", file=sys.stderr)
            self.spool_failed = True
            return False

    def on_run_end(self, run: Run, exit_code: int) -> None:
        finished = datetime.now(UTC)
        where = self.spool.path if self.spool is not None else None
        if self.spool is not None:
            with contextlib.suppress(OSError):  # the journeys are there; the end is in the store, or said below
                self.spool.end(run.id, finished, exit_code, _shard(run))
            self.spool.close()
        if self.store is not None and not self.unstored:
            try:
                self.store.finish_run(run.id, finished_at=finished, exit_code=exit_code, shard=_shard(run))
                return
            finally:
                self.store.close()
        if self.store is not None:
            self.store.close()
        spooled = self.unstored - self.lost
        if where is not None and spooled and self._replay(run, where):
            if not self.lost:
                return
            self.unstored = self.lost  # the spooled ones are stored now
        message = f"{self.unstored} journey(s) of run {run.id} are not in the results store ({self.problem}); "
        if where is not None and spooled:
            message += f"{'they' if not self.lost else spooled} are kept in {where}; store them later with "
            message += f"`orderprobe store import {where.parent}`" + (f"; {self.lost} are lost" if self.lost else "")
        else:
            message += "and there is no spool: they are lost"
        print(f"orderprobe: {message}", file=sys.stderr)  # said in full, whatever was said before
        raise RuntimeError(message)

    def _replay(self, run: Run, where: Path) -> bool:
        """One more try with a fresh connection (a lock that has gone, a folder created since)."""
        try:
            store = Store(run.settings.results or default_url())
        except Exception:
            return False
        try:
            spool.replay(store, where)
            return True
        except Exception as exc:
            self.problem = _one_line(exc)
            return False
        finally:
            store.close()


class HtmlReporter(Reporter):
    def __init__(self) -> None:
        self.journeys: dict[str, JourneyResult] = {}

    def on_journey_end(self, result: JourneyResult) -> None:
        self.journeys[result.id] = result

    def on_run_end(self, run: Run, exit_code: int) -> None:
        from orderprobe.reports import i18n, run_report

        finished = datetime.now(UTC)
        summary = RunSummary(
            id=run.id,
            started_at=run.started_at,
            finished_at=finished,
            target=run.target,
            matrix=run.settings.matrix,
            labels=run.settings.labels,
            command=run.command,
            counts=dict(Counter(j.status.value for j in self.journeys.values())),
            exit_code=exit_code,
            duration=finished - run.started_at,
        )
        lang = run.settings.lang or i18n.default_lang()
        journeys = list(self.journeys.values())
        passes = {}
        try:  # failures side by side with their last pass, when a store holds earlier runs
            store = Store(run.settings.results or default_url())
            try:
                passes = run_report.last_passes(store, journeys)
            finally:
                store.close()
        except Exception:  # no store or an unreadable one: the report stands without the comparison
            pass
        settings = run.settings
        ctx = run_report.build(summary, journeys, settings.artefacts, lang, passes=passes, out_dir=settings.reports)
        run.outputs["report"] = str(run_report.write_built(ctx, run.settings.reports, lang))


def _shard(run: Run) -> tuple[int, int] | None:
    shard = run.settings.shard
    return (shard.index, shard.total) if shard is not None else None


def _one_line(exc: Exception) -> str:
    """The error's first line: SQLAlchemy adds a "Background on this error" line."""
    return f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0]}"
