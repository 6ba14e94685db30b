"""Every failure family from the tool: the `chaos` matrix (each shop fault on the probe that meets
it, no hand set-up) and `--fault NAME[@RATE]`, through `orderprobe run` — real Chromium, the
embedded demo shop, a real SQLite store — and each named right. The README's fault table is
generated from the matrix, so it cannot drift from what runs."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from orderprobe.base.source import ProfileError
from orderprobe.profiles.catalogue import Catalogue, load_catalogue
from orderprobe.profiles.drill import table
from orderprobe.profiles.faults import parse_option
from tests.support.once import once
from tests.support.stored import stored_journeys

ROOT = Path(__file__).resolve().parents[1]


def orderprobe(out: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list]:
    argv = [sys.executable, "-m", "orderprobe", "run", *args, "--no-progress", "--tracing", "off"]
    argv += ["--results", f"sqlite:///{out / 'r.db'}", "--artefacts", str(out / "art"), "--reports", str(out / "rep")]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
    return done, stored_journeys(out / "r.db") if (out / "r.db").exists() else []


def test_the_readme_fault_table_is_the_chaos_matrix() -> None:
    generated = table(load_catalogue().expand("chaos"))
    assert generated in (ROOT / "README.md").read_text(encoding="utf-8"), (
        "README's fault table is out of date; paste `python -m orderprobe.profiles.drill chaos`:\n" + generated
    )


def test_the_drill_covers_every_family_the_issue_names() -> None:
    faults = {f.name: f.params for item in load_catalogue().expand("chaos") for f in item.faults}
    assert {"payment_down", "pay_sdk_conflict", "logistics_timeout", "sms_delay", "api_5xx", "coupon_broken"} <= set(
        faults
    )
    assert faults["payment_region_fail"]["rate"] == 0.47 and faults["coupon_broken"]["rate"] == 0.38


HALVES = 2  # two tests read the drill's one run, each checking half its items, so a failure says which half


def drill(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list]:
    """The whole drill in one run, made by whichever half asks first (``tests/support/once.py``):
    a second run (two shards) paid another start (Python, Playwright's driver, Chromium, the shop:
    ~2.4 s CPU) for four journeys. Only the store is read: no HAR, screenshots or run report."""

    def build(folder: Path) -> dict:
        done, _ = orderprobe(folder, "--matrix", "chaos", "--run-id", "chaos",
                             "-n", "0", "--no-report", "--har", "off", "--screenshots", "off")  # fmt: skip
        return {"code": done.returncode, "said": done.stdout[-3000:] + done.stderr[-3000:]}

    folder, made = once(tmp_path_factory, "chaos-run", build)
    return made, stored_journeys(folder / "r.db")


@pytest.mark.slow
@pytest.mark.parametrize(
    "half",
    [pytest.param(h, marks=pytest.mark.unit("chaos-run")) for h in range(1, HALVES + 1)],
    ids=lambda half: f"half{half}of{HALVES}",
)
def test_the_chaos_drill_names_every_fault(tmp_path_factory: pytest.TempPathFactory, half: int) -> None:
    made, journeys = drill(tmp_path_factory)
    items = load_catalogue().expand("chaos")
    # The whole drill ran, each item once; this test names its half's (every HALVES-th item's).
    assert len(journeys) == len(items), made["said"]
    key = lambda probe, profile, faults: (probe, profile, tuple(faults))  # noqa: E731
    wanted = Counter(key(i.probe, i.profile.name, [f.label for f in i.faults]) for i in items)
    ran = Counter(key(j.probe, j.profile, j.conditions["shop_faults"]) for j in journeys)
    assert not ran - wanted, f"not in the drill, or more often than it holds: {ran - wanted}"
    by_key = {key(i.probe, i.profile.name, [f.label for f in i.faults]): i for i in items}
    mine = {key(i.probe, i.profile.name, [f.label for f in i.faults]) for i in items[half - 1 :: HALVES]}
    journeys = [j for j in journeys if key(j.probe, j.profile, j.conditions["shop_faults"]) in mine]
    assert len(journeys) == len(items[half - 1 :: HALVES]), made["said"]
    wrong = []
    for j in journeys:
        item = by_key[key(j.probe, j.profile, j.conditions["shop_faults"])]
        got = f"{j.cause.category}/{j.cause.detail}" if j.cause else ""
        want = {f"{c}/{d}" for c in item.expectation.causes for d in item.expectation.details}
        if (j.status == "passed" and item.expectation.outcome == "pass") or (j.status == "blocked" and got in want):
            continue
        wrong.append(f"{item.probe} {item.profile.name} {item.faults}: {j.status} {got}, want {want or 'passed'}")
    assert not wrong, "\n".join(wrong)
    # A refused coupon ends its step on the shop's answer, not on a wait for a total that never changes.
    for j in journeys:
        if any(f.startswith("coupon_broken") for f in j.conditions["shop_faults"]):
            assert j.failure and j.failure.message.startswith("coupon not applied: "), j.failure
    assert made["code"] == 0, made["said"]  # a drill named right is a pass


@pytest.mark.slow
def test_the_fault_option_switches_a_fault_for_every_journey(tmp_path: Path) -> None:
    # Only the store is read: the failed journey's screenshot, HAR and the run report are not.
    done, journeys = orderprobe(tmp_path, "--matrix", "smoke", "--probe", "subsidy_checkout",
                                "--fault", "pay_sdk_conflict", "-n", "0", "--no-report", "--har", "off",
                                "--screenshots", "off")  # fmt: skip
    assert [(j.status, j.cause and (j.cause.category, j.cause.detail)) for j in journeys] == [
        ("failed", ("system", "sdk_conflict"))
    ], done.stdout[-3000:] + done.stderr[-3000:]
    assert journeys[0].conditions["shop_faults"] == ["pay_sdk_conflict"]
    assert done.returncode == 1


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("payment_dwn", "unknown shop fault 'payment_dwn'"),
        ("payment_down@0.5", "payment_down has no rate"),
        ("payment_region_fail@1.5", "rate"),
        ("payment_region_fail@lots", "rate must be a number"),
    ],
)
def test_a_bad_fault_option_is_refused_naming_it(option: str, says: str) -> None:
    with pytest.raises(ValueError, match="--fault") as caught:
        parse_option(option)
    assert says in str(caught.value)


def test_the_fault_option_takes_a_rate() -> None:
    assert parse_option("payment_region_fail@0.47").params == {"rate": 0.47}
    assert parse_option("coupon_broken").params == {}


def test_a_bad_fault_option_stops_the_run_before_any_browser(tmp_path: Path) -> None:
    done, journeys = orderprobe(tmp_path, "--fault", "payment_dwn", "--list")
    assert done.returncode == 2 and "payment_dwn" in done.stderr and not journeys


def test_shop_faults_are_refused_against_another_target(tmp_path: Path) -> None:
    from orderprobe.shop.testing import running_shop

    with running_shop() as other:  # a live target: the refusal is about the faults, not a dead URL
        done, _ = orderprobe(tmp_path, "--matrix", "chaos", "--target", other.url, "--list")
    assert done.returncode == 2
    assert "cannot be switched on --target" in done.stdout + done.stderr


def test_a_bad_fault_in_a_matrix_is_refused_with_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "matrices").mkdir()
    (tmp_path / "matrices" / "drill.yaml").write_text(
        "matrices:\n"
        "  - name: drill\n"
        "    rows:\n"
        "      - probe: video_feed_checkout\n"
        "        faults: {name: payment_region_fail, params: {rate: 4}}\n",
        encoding="utf-8",
    )
    with pytest.raises(ProfileError) as caught:
        Catalogue([*load_catalogue().folders[:1], tmp_path])
    assert "drill.yaml:5" in str(caught.value) and "rate" in str(caught.value)
