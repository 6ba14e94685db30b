"""The two seams a team overrides in its own conftest instead of editing the engine:
``browser_context_args`` and ``browser_type_launch_args`` (pytest-playwright's names).
Run as users run probes: pytest in a subprocess, the demo shop, real Chromium."""

from __future__ import annotations

from tests.test_engine import run_probes

CONFTEST = """
import pytest

@pytest.fixture
def browser_context_args(browser_context_args, target):
    cookie = {"name": "team", "value": "qa-session", "url": target.url("/")}
    return {**browser_context_args, "storage_state": {"cookies": [cookie], "origins": []},
            "extra_http_headers": {"X-Team": "qa"}}

@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "args": ["--js-flags=--expose-gc"]}
"""

PROBE = """
def test_seams(journey, page, target, profile):
    with journey.step("home"):
        page.goto(target.url("/"))
    # The team's context arguments were applied...
    assert "team=qa-session" in page.evaluate("document.cookie")
    with page.expect_request(lambda r: r.url.rstrip("/") == target.url("/").rstrip("/")) as sent:
        page.reload()
    assert sent.value.all_headers().get("x-team") == "qa"
    # ...without losing the profile's (its viewport and user agent).
    assert page.viewport_size == {"width": profile.device.viewport.width, "height": profile.device.viewport.height}
    assert page.evaluate("navigator.userAgent") == profile.device.user_agent
    # The launch flag was added to orderprobe's own (the browser still started as root, headless).
    assert page.evaluate("typeof gc") == "function"
"""


def test_a_conftest_overrides_context_and_launch_arguments(pytester):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_seams=PROBE)
    result, journeys = run_probes(pytester, "--device=iphone-15", "--network=wifi")
    result.assert_outcomes(passed=1)
    (journey,) = journeys.values()
    assert journey.status.ok


def test_without_an_override_a_launch_flag_is_absent(pytester):
    pytester.makepyfile(
        test_plain="""
        def test_plain(journey, page, target):
            with journey.step("home"):
                page.goto(target.url("/"))
            assert page.evaluate("typeof gc") == "undefined"
            assert "team=" not in page.evaluate("document.cookie")
        """
    )
    result, _ = run_probes(pytester, "--network=wifi")
    result.assert_outcomes(passed=1)
