"""The HAR of a failed journey (probes/har.py): Playwright's record_har in real Chromium against
the embedded demo shop, kept beside the trace and screenshot, linked from the run report, and
scrubbed of the profile's secrets and session headers — even with response bodies embedded."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orderprobe.probes import har
from orderprobe.probes.secrets import MASK
from orderprobe.store.store import Store
from tests.support.encodings import encodings, hits
from tests.test_secrets import ACCOUNTS, PROBE, SECRET

PASSING = """
def test_fine(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def _run(pytester: pytest.Pytester, *args: str):  # -> (RunResult, JourneyResult)
    db = pytester.path / "results.db"
    result = pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        f"--profiles={pytester.path / 'profiles'}", *args,
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        (journey,) = store.journeys(store.latest_run_id() or "")
    finally:
        store.close()
    return result, journey


@pytest.fixture
def shop_profiles(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORDERPROBE_TEST_SECRET", SECRET)
    (pytester.path / "profiles").mkdir()
    (pytester.path / "profiles" / "accounts.yaml").write_text(ACCOUNTS)


def test_a_failed_journey_keeps_a_scrubbed_har_linked_from_its_failure_and_report(
    pytester: pytest.Pytester, shop_profiles: None
) -> None:
    pytester.makepyfile(test_leaky=PROBE)
    reports = pytester.path / "reports"
    result, journey = _run(pytester, "--har-content=embed", "--reporter=store,html", f"--reports={reports}")
    result.assert_outcomes(failed=1)
    kinds = {a.kind: a for a in journey.artefacts}
    assert {"har", "screenshot"} <= set(kinds)
    assert journey.failure is not None and journey.failure.har == kinds["har"].path
    path = pytester.path / "art" / kinds["har"].path
    data = path.read_bytes()
    assert path.stat().st_size == kinds["har"].bytes
    assert hits(data, [SECRET]) == {}
    entries = json.loads(data)["log"]["entries"]
    urls = [e["request"]["url"] for e in entries]
    assert any(u.endswith("/login") for u in urls) and any("/api/nowhere?token=" + MASK in u for u in urls)
    posted = [e["request"].get("postData", {}).get("text", "") for e in entries if e["request"]["method"] == "POST"]
    assert any(MASK in text for text in posted), posted  # the typed password was sent, and masked
    headers = [h for e in entries for side in ("request", "response") for h in e[side]["headers"]]
    sessions = [h["value"] for h in headers if h["name"].lower() in har.SESSION_HEADERS]
    assert sessions and set(sessions) == {MASK}  # the demo shop's session cookie is not handed on
    (report,) = reports.glob("run*.html")
    assert f'href="{path.resolve().as_uri()}"' in report.read_text(encoding="utf-8")


def test_by_default_bodies_are_left_out_and_a_passing_journey_keeps_no_har(
    pytester: pytest.Pytester, shop_profiles: None
) -> None:
    pytester.makepyfile(test_leaky=PROBE, test_fine=PASSING)
    result, _ = _run(pytester, "test_leaky.py")
    result.assert_outcomes(failed=1)
    (kept,) = (pytester.path / "art").rglob("*.har")
    contents = [e["response"]["content"] for e in json.loads(kept.read_text(encoding="utf-8"))["log"]["entries"]]
    assert contents and not [c for c in contents if c.get("text")]
    result, passed = _run(pytester, "test_fine.py")
    result.assert_outcomes(passed=1)
    assert passed.artefacts == [] and len(list((pytester.path / "art").rglob("*.har*"))) == 1
    assert not [p for p in (pytester.path / "art" / passed.run_id).iterdir() if p.is_dir()]  # no journey folder


def test_har_always_keeps_a_passing_journeys_har_and_off_records_none(
    pytester: pytest.Pytester, shop_profiles: None
) -> None:
    pytester.makepyfile(test_fine=PASSING)
    result, passed = _run(pytester, "--har=always")
    result.assert_outcomes(passed=1)
    assert [a.kind for a in passed.artefacts] == ["har"]
    result, off = _run(pytester, "--har=off")
    result.assert_outcomes(passed=1)
    assert off.artefacts == []


def test_keep_masks_every_form_of_a_secret_and_session_values(tmp_path: Path) -> None:
    secret = "p@ss word/1"
    entry = {
        "request": {
            "url": "http://shop/login?pw=" + encodings(secret)["form (browser: %7E, * kept)"],
            "headers": [{"name": "Cookie", "value": "sid=abc"}, {"name": "Accept", "value": "*/*"}],
            "cookies": [{"name": "sid", "value": "abc"}],
            "postData": {"text": json.dumps({"password": secret})},
        },
        "response": {"headers": [{"name": "Set-Cookie", "value": "sid=def"}], "cookies": []},
    }
    part = tmp_path / "network.har.part"
    part.write_text(json.dumps({"log": {"entries": [entry]}}), encoding="utf-8")
    har.keep(part, tmp_path / "network.har", [secret])
    kept = (tmp_path / "network.har").read_text(encoding="utf-8")
    assert hits(kept.encode(), [secret]) == {}
    (out,) = json.loads(kept)["log"]["entries"]
    assert out["request"]["headers"] == [{"name": "Cookie", "value": MASK}, {"name": "Accept", "value": "*/*"}]
    assert out["request"]["cookies"][0]["value"] == MASK and out["response"]["headers"][0]["value"] == MASK
