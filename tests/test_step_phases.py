"""Step listeners run by their declared phase (orderprobe.probes.journey.Phase), never by their place in the
list: the network's state is read, evidence captured, the step enriched, and only then published.
First with plain listeners (no browser), then through the engine in real Chromium on the demo
shop: each step a reporter receives live is the finished step the store keeps."""

from __future__ import annotations

import json

import pytest

from orderprobe.base.result import JourneyResult, StepResult
from orderprobe.probes.journey import Journey, Phase, StepListener
from orderprobe.store.store import Store
from tests.test_reporters import PROBE


class Heard(StepListener):
    """Records what it hears; an ENRICH one writes ``step.conditions``, others read it."""

    def __init__(self, phase: Phase, log: list[tuple[str, str, str | None]]) -> None:
        self.phase, self.log = phase, log  # type: ignore[misc]

    def on_step_start(self, journey: Journey, name: str) -> None:
        self.log.append(("start", self.phase.name, None))

    def on_step_failed(self, journey: Journey, name: str, error: BaseException) -> None:
        self.log.append(("failed", self.phase.name, None))

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        if self.phase is Phase.ENRICH:
            step.conditions = "enriched"
        self.log.append(("end", self.phase.name, step.conditions))


def test_every_event_reaches_the_phases_in_order_whatever_the_list_order() -> None:
    log: list[tuple[str, str, str | None]] = []
    journey = Journey("p")
    order = (Phase.PUBLISH, Phase.ENRICH, Phase.CAPTURE, Phase.NETWORK)  # the list backwards
    journey.listeners = [Heard(phase, log) for phase in order]
    with pytest.raises(TimeoutError), journey.step("pay"):
        raise TimeoutError("Locator.click: Timeout 100ms exceeded.")
    phases = [p.name for p in sorted(order)]
    for event in ("start", "failed", "end"):
        assert [who for what, who, _ in log if what == event] == phases, event
    # the publisher got the step as enriched; what ran before the enricher saw it bare
    assert [seen for what, _, seen in log if what == "end"] == [None, None, "enriched", "enriched"]


def test_a_listener_without_a_phase_is_refused_by_name() -> None:
    class Undeclared:
        def on_step_start(self, journey: Journey, name: str) -> None: ...

    journey = Journey("p")
    journey.listeners = [Undeclared()]  # type: ignore[list-item]
    refused = r"Undeclared declares no phase.*Phase\.<NETWORK\|CAPTURE\|ENRICH\|PUBLISH>"
    with pytest.raises(TypeError, match=refused), journey.step("pay"):
        pass
    assert journey.steps == []


# A reporter that keeps each step exactly as it arrived, live, in the controller's own process.
LIVE = """
import json
from orderprobe.probes.reporter import Reporter

class Live(Reporter):
    def on_step_end(self, journey, step):
        with open("live.jsonl", "a") as out:
            out.write(json.dumps(step.model_dump(mode="json")) + "\\n")

def pytest_orderprobe_reporters(reporters):
    reporters["live"] = Live
"""


@pytest.mark.slow
def test_each_step_reaches_the_reporters_finished(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(LIVE)
    pytester.makepyfile(test_visit=PROBE)
    db = pytester.path / "results.db"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--tracing=off", "--a11y", "--screenshots=on", "--reporter=store,live", "-n", "0",
    )  # fmt: skip
    result.assert_outcomes(passed=1)
    live = [json.loads(line) for line in (pytester.path / "live.jsonl").read_text().splitlines()]
    store = Store(f"sqlite:///{db}")
    try:
        (journey,) = store.journeys(store.latest_run_id() or "")
    finally:
        store.close()
    assert isinstance(journey, JourneyResult) and [s["name"] for s in live] == ["home", "subsidy"]
    for heard, kept in zip(live, journey.steps, strict=True):
        # each enricher had written its part before the reporters heard of the step…
        assert heard["vitals"] and heard["a11y"] and heard["screenshot"], heard["name"]
        # …and nothing was added after: what was published is what was stored
        assert heard == kept.model_dump(mode="json"), heard["name"]
