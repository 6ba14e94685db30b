"""The presale matrix end to end: built-in probes, embedded demo shop, real Chromium, through
pytest in a subprocess as users run it. Each row must meet the expectation the matrix gives it,
and the result must say exactly under which conditions it ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from probes.result import JourneyResult, Status
from reports.store import Store

BUILTIN = Path(__file__).resolve().parents[1] / "probes" / "checkout"


def run_presale(pytester: pytest.Pytester, select: str) -> tuple[pytest.RunResult, list[JourneyResult]]:
    db = pytester.path / "results.db"
    result = pytester.runpytest_subprocess(
        str(BUILTIN), "--matrix=presale", "-k", select, "-p", "no:cacheprovider",
        f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        run_id = store.latest_run_id()
        return result, list(store.journeys(run_id)) if run_id else []
    finally:
        store.close()


def test_old_android_xinjiang_and_teen_are_refused_as_expected(pytester: pytest.Pytester) -> None:
    result, journeys = run_presale(pytester, "teen_blocked or region_refusal_cosmetics or android-4.4")
    result.assert_outcomes(passed=3)
    by = {(j.probe, j.profile): j for j in journeys}
    old = by[("video_feed_checkout", "android-4.4/3g/dancheng/normal")]
    assert (old.status, old.cause and old.cause.category) == (Status.BLOCKED, "compatibility")
    assert old.conditions["device"]["user_agent"].endswith("Version/4.0 Mobile Safari/534.30")
    assert old.conditions["applied"]["cpu_slowdown"] == 6
    xinjiang = by[("region_refusal_cosmetics", "android-mid/wifi/urumqi/normal")]
    assert (xinjiang.status, xinjiang.cause and xinjiang.cause.category) == (Status.BLOCKED, "region")
    assert xinjiang.conditions["region"]["address"]["province"] == "新疆维吾尔自治区"
    teen = by[("teen_blocked", "android-mid/wifi/shanghai/teen")]
    assert (teen.status, teen.cause and teen.cause.category) == (Status.BLOCKED, "account")
    assert teen.conditions["account"]["password_env"] == "ORDERPROBE_DEMO_PASSWORD"


@pytest.mark.slow
def test_signal_lost_at_pay_and_polluted_dns_are_named_network(pytester: pytest.Pytester) -> None:
    result, journeys = run_presale(pytester, "video_feed_checkout and (off3s or polluted)")
    result.assert_outcomes(passed=2)
    by = {j.profile: j for j in journeys}
    lost = by["android-mid/metro-weak/shanghai/normal+off3s-pay"]  # the engine names switches in the profile
    assert (lost.status, lost.cause and lost.cause.category) == (Status.BLOCKED, "network")
    pay = next(s for s in lost.steps if s.name == "pay")
    assert pay.conditions == "offline 3 s at start of 'pay'" and lost.failure and lost.failure.step == "pay"
    assert lost.conditions["applied"]["switches"][0]["at"] == "pay"
    dns = by["android-mid/public-wifi-dns-polluted/shanghai/normal"]
    assert (dns.status, dns.cause and dns.cause.category) == (Status.BLOCKED, "network")
    assert dns.conditions["applied"]["requests"]["dns"] >= 1
