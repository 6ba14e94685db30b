"""The ``store`` and ``html`` reporters: a run's journeys into the results store as they
land, and the run report rendered from the journeys this run saw (no read-back)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from probes.reporter import Reporter, Run
from probes.result import JourneyResult
from reports.store import RunSummary, Store, default_url


class StoreReporter(Reporter):
    def __init__(self) -> None:
        self.store: Store | None = None

    def on_run_start(self, run: Run) -> None:
        url = run.settings.results or default_url()
        run.outputs["results"] = f"{url}  (run {run.id})"
        self.store = Store(url)
        self.store.start_run(
            run.id,
            started_at=run.started_at,
            target=run.target,
            matrix=run.settings.matrix,
            labels=run.settings.labels,
            command=run.command,
        )

    def on_journey_end(self, result: JourneyResult) -> None:
        if self.store is None:
            raise RuntimeError("the store did not open at run start")
        self.store.add_journey(result)

    def on_run_end(self, run: Run, exit_code: int) -> None:
        if self.store is not None:
            try:
                self.store.finish_run(run.id, finished_at=datetime.now(UTC), exit_code=exit_code)
            finally:
                self.store.close()


class HtmlReporter(Reporter):
    def __init__(self) -> None:
        self.journeys: dict[str, JourneyResult] = {}

    def on_journey_end(self, result: JourneyResult) -> None:
        self.journeys[result.id] = result

    def on_run_end(self, run: Run, exit_code: int) -> None:
        from reports import i18n, run_report

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
        ctx = run_report.build(summary, journeys, run.settings.artefacts, lang, passes=passes)
        run.outputs["report"] = str(run_report.write_built(ctx, run.settings.reports, lang))
