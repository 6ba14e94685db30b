"""The ``junit`` reporter: ``<artefacts>/<run-id>/junit.xml`` for CI systems — one test case
per journey (class = probe, name = profile), a failed journey's cause as its message."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from orderprobe.base.atomic import write_bytes
from orderprobe.base.result import JourneyResult, Status
from orderprobe.probes.reporter import Reporter, Run


class JunitReporter(Reporter):
    def __init__(self) -> None:
        self.journeys: list[JourneyResult] = []

    def on_journey_end(self, result: JourneyResult) -> None:
        self.journeys.append(result)

    def on_run_end(self, run: Run, exit_code: int) -> None:
        path = run.settings.artefacts / run.id / "junit.xml"
        # Whole or not at all: a CI system must never parse a 0-byte or cut-off file as the run's.
        write_bytes(path, ET.tostring(suite(run.id, self.journeys), encoding="utf-8", xml_declaration=True))
        run.outputs["junit"] = str(path)


def suite(run_id: str, journeys: list[JourneyResult]) -> ET.Element:
    failures = sum(j.status is Status.FAILED for j in journeys)
    errors = sum(j.status is Status.ERROR for j in journeys)
    root = ET.Element(
        "testsuite",
        name=f"orderprobe {run_id}",
        tests=str(len(journeys)),
        failures=str(failures),
        errors=str(errors),
        skipped=str(sum(j.status is Status.NOT_EXERCISED for j in journeys)),
        time=f"{sum(j.duration_ms for j in journeys) / 1000:.3f}",
    )
    for j in journeys:
        case = ET.SubElement(root, "testcase", classname=j.probe, name=j.profile, time=f"{j.duration_ms / 1000:.3f}")
        ET.SubElement(case, "properties").extend(
            [ET.Element("property", name="status", value=j.status.value)]
            + [ET.Element("property", name="nodeid", value=j.nodeid)]
        )
        if j.status is Status.NOT_EXERCISED:  # what CI systems know as a skip, with why
            ET.SubElement(case, "skipped", message="; ".join(j.not_exercised))
        if not j.status.ok:
            where = f"at {j.failed_step}: " if j.failed_step else ""
            cause = j.cause
            message = where + (f"{cause.category}/{cause.detail} {cause.summary}" if cause else j.status.value)
            tag = "error" if j.status is Status.ERROR else "failure"
            detail = ET.SubElement(case, tag, message=message.strip(), type=cause.category if cause else tag)
            detail.text = j.failure.message if j.failure else ""
    return root
