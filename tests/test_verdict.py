"""One run-verdict vocabulary (orderprobe.probes.verdict.Verdict) for the run report and the scheduler."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderprobe.probes.verdict import Verdict
from orderprobe.reports import i18n
from orderprobe.reports.run_report import verdict
from orderprobe.scheduler.incidents import assess

BASE_CSS = (Path(__file__).parents[1] / "reports" / "templates" / "base.html").read_text()

REPORTED = {
    verdict({"passed": 2}),
    verdict({"failed": 1}),
    verdict({"error": 1}),
    verdict({}),
    verdict({"passed": 1}, finished=False),
    verdict({"passed": 1}, exit_code=2),
    verdict({"passed": 1}, abandoned=True),
    verdict({"passed": 1}, missing_shards=[2]),
}


def test_the_run_report_says_each_verdict_in_both_languages_and_styles_it() -> None:
    assert all(isinstance(v, Verdict) for v in REPORTED) and len(REPORTED) == 8
    for v in REPORTED:
        assert f".v-{v.value}" in BASE_CSS, v
        for lang in i18n.LANGS:
            assert i18n.texts(lang)[f"verdict_{v.value}"], (lang, v)


@pytest.mark.parametrize(
    ("exit_code", "died", "expected"), [(0, False, "passed"), (2, False, "error"), (0, True, "error")]
)
def test_the_scheduler_speaks_the_same_vocabulary(exit_code: int, died: bool, expected: str) -> None:
    said = assess([], exit_code, died).verdict
    assert isinstance(said, Verdict) and said == expected
    assert said.ok == (expected == "passed")
