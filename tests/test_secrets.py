"""No secret in any artefact: a failing journey that typed an account's password into the page,
sent it in a form and in a URL, and passed it to page scripts leaves not one copy of it in the
trace, screenshot, events, JUnit, store or report — real Chromium, the embedded demo shop."""

from __future__ import annotations

import urllib.parse
import zipfile
from pathlib import Path

from orderprobe.probes.secrets import profile_secrets, scrub_zip
from orderprobe.store.store import Store
from tests.support.encodings import hits

SECRET = "Zq8-unlikely/secret value&42"

ACCOUNTS = """
accounts:
  - name: leaky
    title: an account whose password the probe types and sends
    username: normal
    password_env: ORDERPROBE_TEST_SECRET
    age: 30
"""

PROBE = """
import pytest

@pytest.mark.profile(account="leaky")
def test_leaky(journey, page, target, profile):
    secret = profile.account.password()
    with journey.step("sign in"):
        page.goto(target.url("/login"))
        page.get_by_test_id("login-username").fill(profile.account.username)
        page.get_by_test_id("login-password").fill(secret)
        page.get_by_test_id("login-submit").click()  # wrong password: the shop says so
        page.evaluate("s => fetch('/api/nowhere?token=' + encodeURIComponent(s))", secret)
        page.evaluate("s => document.body.append(Object.assign(document.createElement('input'), {value: s}))", secret)
    with journey.step("orders"):
        page.get_by_test_id("order-list").click(timeout=2000)
"""


def _hits(data: bytes) -> int:
    return sum(hits(data, [SECRET]).values())


def test_a_failing_journey_leaves_no_copy_of_the_secret_anywhere(pytester, monkeypatch):
    monkeypatch.setenv("ORDERPROBE_TEST_SECRET", SECRET)
    (pytester.path / "profiles").mkdir()
    (pytester.path / "profiles" / "accounts.yaml").write_text(ACCOUNTS)
    pytester.makepyfile(test_leaky=PROBE)
    art, db = pytester.path / "art", pytester.path / "results.db"
    result = pytester.runpytest_inprocess(  # the plugin's scrubbing, not a process's start-up: in this process
        "-p",
        "no:cacheprovider",
        f"--results=sqlite:///{db}",
        f"--artefacts={art}",
        f"--profiles={pytester.path / 'profiles'}",
        "--reporter=store,events,junit,html",
        "--tracing=retain-on-failure",
        f"--reports={pytester.path / 'reports'}",
    )
    result.assert_outcomes(failed=1)
    store = Store(f"sqlite:///{db}")
    run_id = store.latest_run_id()
    (journey,) = store.journeys(run_id)
    store.close()
    # The refused login (a POST answered 4xx) broke the path in "sign in"; it surfaced at "orders".
    assert (journey.failure.step, journey.failure.surfaced_at) == ("sign in", "orders")
    kinds = {a.kind for a in journey.artefacts}
    assert {"trace", "screenshot"} <= kinds, journey.artefacts
    reports = list((pytester.path / "reports").rglob("*.html"))
    assert reports and list(art.rglob("junit.xml")) and list(art.rglob("events.jsonl"))
    files = [p for p in [*art.rglob("*"), *pytester.path.glob("results.db*"), *reports] if p.is_file()]
    hits: dict[str, int] = {}
    entries = 0
    for path in files:
        hits[str(path)] = _hits(path.read_bytes())
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    entries += 1
                    hits[f"{path}!{name}"] = _hits(zf.read(name))
    assert entries > 3  # the trace was really opened
    assert {k: v for k, v in hits.items() if v} == {}
    assert _hits(result.stdout.str().encode() + result.stderr.str().encode()) == 0
    # …and the journey really handled it: the masked value is where the secret was.
    assert "***" in journey.failure.model_dump_json() or any("***" in r.url for r in journey.failure.requests)


def test_scrub_zip_replaces_every_form_and_keeps_other_entries(tmp_path: Path):
    src, dst = tmp_path / "a.zip", tmp_path / "b.zip"
    with zipfile.ZipFile(src, "w") as zf:
        zf.writestr("trace.trace", '{"value": "' + SECRET.replace("/", "\\/") + '"}')
        zf.writestr("resources/body", "password=" + urllib.parse.quote_plus(SECRET))
        zf.writestr("other", "nothing to see")
    assert scrub_zip(src, dst, [SECRET]) == 1 + 1
    with zipfile.ZipFile(dst) as zf:
        assert zf.read("other") == b"nothing to see"
        assert all(_hits(zf.read(n)) == 0 for n in zf.namelist())


def test_profile_secrets_are_the_values_of_every_env_field_that_is_set():
    from orderprobe.profiles.catalogue import load_catalogue

    profile = load_catalogue([]).profile(account="normal")
    assert profile.account.password_env == "ORDERPROBE_DEMO_PASSWORD"
    env = {"ORDERPROBE_DEMO_PASSWORD": "pw-value", "NOT_REFERENCED": "x" * 9}
    assert profile_secrets(profile, env) == ["pw-value"]
    assert profile_secrets(profile, {}) == []
