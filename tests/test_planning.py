"""Which profile a probe runs under: matrix rows, the probe's own marker, ad-hoc flags."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from orderprobe.probes.planning import plan_items
from orderprobe.probes.session import ProbeSession, Settings

BASE = Settings(
    target=None, matrix=None, profile={}, profile_dirs=(), results=None, artefacts=Path("var/artefacts"),
    trace="off", retries=0, action_timeout_ms=10_000, dependencies={}, rule_files=(), headed=False,
)  # fmt: skip


class Definition:
    """What plan_items reads of a collected probe function: its markers."""

    def __init__(self, *marks: pytest.MarkDecorator) -> None:
        self.marks = {m.mark.name: m.mark for m in marks}

    def get_closest_marker(self, name: str) -> pytest.Mark | None:
        return self.marks.get(name)


def plan(definition: Definition, **settings: object) -> list:
    return plan_items(ProbeSession(replace(BASE, **settings), "run", "main"), "teen_blocked", definition)


TEEN = Definition(pytest.mark.profile(account="teen"), pytest.mark.expect("blocked", causes=["account"]))


def test_the_probe_marker_pins_its_account_and_flags_set_the_rest():
    (item,) = plan(TEEN, profile={"account": "normal", "network": "4g", "device": "iphone-15"})
    assert item.profile.account.name == "teen"  # what the probe is about is not overridden
    assert (item.profile.network.name, item.profile.device.name) == ("4g", "iphone-15")
    assert item.expectation.outcome == "blocked" and item.expectation.causes == ("account",)


def test_without_flags_the_catalogue_defaults_fill_in():
    (item,) = plan(TEEN)
    assert item.profile.name == "android-mid/wifi/shanghai/teen"


def test_a_matrix_row_that_states_an_expectation_wins_over_the_marker():
    items = plan(Definition(pytest.mark.expect("pass")), matrix="presale")
    assert [(i.profile.account.name, i.expectation.outcome) for i in items] == [("teen", "blocked")]


def test_a_matrix_row_without_one_takes_the_probe_marker():
    items = plan_items(ProbeSession(replace(BASE, matrix="smoke"), "run", "main"), "subsidy_checkout", TEEN)
    assert [i.expectation.outcome for i in items] == ["blocked"]


def test_a_fault_option_draws_from_each_journeys_own_seed() -> None:
    from orderprobe.profiles.faults import parse_option

    cut = parse_option("payment_region_fail@0.47")
    session = ProbeSession(replace(BASE, faults=(cut, parse_option("payment_down")), matrix="regions"), "run", "main")
    drawn = plan_items(session, "video_feed_checkout", Definition())
    seeds = [next(f.params["seed"] for f in i.faults if f.name == "payment_region_fail") for i in drawn]
    assert len(drawn) == 9 and len(set(seeds)) == 9  # one draw sequence per journey, not the same first draw
    again = plan_items(ProbeSession(session.settings, "run", "gw1"), "video_feed_checkout", Definition())
    assert [f.params for i in again for f in i.faults] == [f.params for i in drawn for f in i.faults]  # every worker
    assert all(f.params == {} for i in drawn for f in i.faults if f.name == "payment_down")  # nothing to draw
