"""A matrix row whose scenario did not happen is reported *not exercised*, never *passed*: a
switch at a step the journey never reached, or a probe that says its scenario missed
(``journey.not_exercised(reason)``). A failure still stands; an expected refusal that did not
happen because its scenario did not is not called a failure either. Real Chromium, the real demo
shop, the real store; the run report opened in Chromium."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import sync_playwright

from orderprobe.base.result import Cause, Expectation, Status
from orderprobe.probes.outcome import verdict
from orderprobe.store.store import Store

PROBES = """
def test_short(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))

def test_missed(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
    journey.not_exercised("the outage missed the payment: it went through before the signal dropped")

def test_api_call(journey, page, target):
    with journey.step("api"):
        page.goto(target.url("/"))
        answer = page.request.get(target.url("/api/no-such-thing"))
        assert answer.status < 500, f"API answered {answer.status}"

def test_no_shop(journey, page, target):
    with journey.step("offline page"):
        page.set_content("<p>no shop request at all</p>")

def test_missed_but_broke(journey, page, target):
    journey.not_exercised("said early")
    with journey.step("home"):
        page.goto(target.url("/"))
        page.get_by_test_id("no-such-thing").click(timeout=300)
"""

MATRIX = """
matrices:
  - name: scenarios
    rows:
      - {probe: short, switches: [{at: pay, offline_s: 2}]}
      - {probe: short, switches: [{at: home, network: 4g}]}
      - {probe: missed}
      - {probe: missed_but_broke}
      # fault drills whose fault never struck: drawn and missed (rate 0), and never reached
      - {probe: api_call, faults: {name: api_5xx, params: {rate: 0.0}}, expect: {outcome: blocked, causes: [system]}}
      - {probe: no_shop, faults: {name: api_5xx, params: {rate: 0.5}}, expect: {outcome: blocked, causes: [system]}}
      # its control: a fault that strikes always is a drill that ran (and was blocked as expected)
      - {probe: api_call, region: beijing, faults: api_5xx, expect: {outcome: blocked, causes: [system]}}
"""


def test_rows_whose_scenario_did_not_happen_are_not_exercised_in_store_terminal_junit_and_report(pytester) -> None:
    pytester.makepyfile(test_rows=PROBES)
    (pytester.path / "mine" / "matrices").mkdir(parents=True)
    (pytester.path / "mine" / "matrices" / "scenarios.yaml").write_text(MATRIX, encoding="utf-8")
    db, art, reports = pytester.path / "results.db", pytester.path / "art", pytester.path / "reports"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={art}", f"--reports={reports}",
        f"--profiles={pytester.path / 'mine'}", "--matrix=scenarios", "--emulation=cdp", "--tracing=off",
        "--reporter=progress,store,junit,html", "--lang=en", "--run-id=scen", "test_rows.py",
    )  # fmt: skip
    out = result.stdout.str()
    store = Store(f"sqlite:///{db}")
    journeys = {(j.probe, j.profile): j for j in store.journeys("scen")}
    store.close()
    assert len(journeys) == 7, out[-3000:]
    by = {(probe, "+" in profile): j for (probe, profile), j in journeys.items() if probe not in ("api_call",)}
    drills = {j.profile.split("/")[2]: j for j in journeys.values() if j.probe == "api_call"}
    assert (drills["shanghai"].status, drills["shanghai"].not_exercised) == (
        Status.NOT_EXERCISED,
        ["shop fault api_5xx(rate=0.0) was drawn 1× and never struck"],
    )
    struck = drills["beijing"]  # the fault struck: the drill ran, whatever it found
    assert struck.status is not Status.NOT_EXERCISED and struck.not_exercised == [] and struck.cause is not None
    assert by[("no_shop", False)].not_exercised == [
        "shop fault api_5xx(rate=0.5) never came into play: the journey did not reach what it breaks"
    ]
    unreached = next(j for (p, prof), j in journeys.items() if p == "short" and "pay" in prof)
    fired = next(j for (p, prof), j in journeys.items() if p == "short" and "4g-home" in prof)
    assert unreached.status is Status.NOT_EXERCISED, unreached.status
    assert unreached.not_exercised == [
        "switch offline 2 s at start of 'pay' never happened: the journey never reached step 'pay'"
    ]
    assert fired.status is Status.PASSED and fired.not_exercised == []  # the hand-over happened
    missed = by[("missed", False)]
    assert missed.status is Status.NOT_EXERCISED
    assert missed.not_exercised == ["the outage missed the payment: it went through before the signal dropped"]
    broke = by[("missed_but_broke", False)]
    assert not broke.status.ok and broke.not_exercised == []  # a failure is a finding all the same
    assert result.ret == 1  # that failure; not exercised rows are no failure (a skip)
    assert "(the outage missed the payment: it went through" in out  # the terminal says what did not happen

    junit = (art / "scen" / "junit.xml").read_text(encoding="utf-8")
    assert 'skipped="4"' in junit and junit.count("<skipped ") == 4

    report = next(reports.glob("run-scen*.html"))
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--no-first-run", "--disable-sync", "--disable-quic"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(report.as_uri())
        chip = page.locator("#counts .chip[data-status=not_exercised] b")
        assert chip.inner_text() == "4"
        rows = page.locator("details.journey[data-status=not_exercised]")
        assert rows.count() == 4
        assert any("never reached step 'pay'" in why for why in rows.locator(".why").all_inner_texts())
        rows.first.locator("> summary").click()
        panel = rows.first.locator(".not-exercised")
        assert "did not happen" in panel.inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        shots = Path(__file__).resolve().parents[1] / "test-artefacts"
        shots.mkdir(exist_ok=True)
        page.screenshot(path=shots / "not-exercised-390.jpg", full_page=True)
        page.set_viewport_size({"width": 1280, "height": 900})
        page.screenshot(path=shots / "not-exercised-1280.jpg", full_page=True)
        browser.close()


def test_a_missed_scenario_turns_a_pass_and_an_unmet_refusal_into_not_exercised_never_a_failure() -> None:
    blocked = Expectation(outcome="blocked", causes=("inventory",))
    refused = Cause(category="inventory", detail="sold_out")
    assert verdict(failed=False, cause=None, expectation=Expectation(), slow=False, missed=True)[0] is (
        Status.NOT_EXERCISED
    )
    assert verdict(failed=False, cause=None, expectation=blocked, slow=False, missed=True) == (
        Status.NOT_EXERCISED,
        None,
    )
    assert verdict(failed=False, cause=None, expectation=blocked, slow=False)[0] is Status.FAILED  # not missed
    assert verdict(failed=True, cause=refused, expectation=blocked, slow=False, missed=True)[0] is Status.BLOCKED
    assert Status.NOT_EXERCISED.ok and not Status.NOT_EXERCISED.counts and Status.PASSED.counts
