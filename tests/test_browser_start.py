"""A Chromium that dies while it starts (a loaded host, a crash at start-up) is started once more
before a journey is given up: the shop did nothing wrong. Real Chromium behind a wrapper that
exits instead of starting it, the demo shop, the store; run as users run probes."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderprobe.probes.browser import find_chromium
from tests.test_engine import run_probes

PROBES = """
def test_home(journey, page, target):
    with journey.step("home"):
        page.goto(target.url("/"))

def test_cart(journey, page, target):
    with journey.step("cart"):
        page.goto(target.url("/cart"))
"""


def _chromium_that_fails(pytester: pytest.Pytester, times: int) -> Path:
    """A wrapper that exits 1, as a Chromium crashing at start does, its first ``times`` launches."""
    starts = pytester.path / "starts"
    wrapper = pytester.path / "chromium"
    wrapper.write_text(
        "#!/bin/sh\n"
        f'echo start >> "{starts}"\n'
        f'[ "$(wc -l < "{starts}")" -le {times} ] && exit 1\n'
        f'exec "{find_chromium(headless=True).path}" "$@"\n'
    )
    wrapper.chmod(0o755)
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="session")
        def browser_type_launch_args(browser_type_launch_args):
            return {{**browser_type_launch_args, "executable_path": {str(wrapper)!r}}}
        """
    )
    return starts


def test_a_browser_that_dies_while_starting_is_started_again_and_the_journeys_pass(pytester):
    starts = _chromium_that_fails(pytester, times=1)
    pytester.makepyfile(test_shop=PROBES)
    result, journeys = run_probes(pytester, "--network=wifi")
    result.assert_outcomes(passed=2)
    assert all(j.status.ok for j in journeys.values())
    assert len(starts.read_text().splitlines()) == 2  # one failed start, one browser for both journeys
    result.stdout.fnmatch_lines(["*BrowserRestarted: the browser did not start (*); started it again"])


def test_a_browser_that_never_starts_is_each_journeys_error_and_the_run_goes_on(pytester):
    starts = _chromium_that_fails(pytester, times=100)
    pytester.makepyfile(test_shop=PROBES)
    result, journeys = run_probes(pytester, "--network=wifi")
    result.assert_outcomes(errors=2)
    assert sorted(j.probe for j in journeys.values()) == ["cart", "home"]  # both recorded, neither lost
    assert {j.status.value for j in journeys.values()} == {"error"}
    assert len(starts.read_text().splitlines()) == 4  # two tries for each journey, no more
