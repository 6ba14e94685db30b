"""Synthetic orders that clean up after themselves: ``journey.cleanup(fn)`` runs after a journey
that passed, failed or ran past its deadline, its outcome recorded (a failing cleanup never fails
the journey); with ``--synthetic-header`` every request to the shop carries the run's tag, and the
demo shop marks those orders, keeps them out of its stock and sales, and the built-in probes'
cleanup cancels them. Real Chromium, the real demo shop on ephemeral ports."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderprobe.probes.tagging import same_site
from orderprobe.shop.server import DemoShop
from orderprobe.store.store import Store

BUILTIN = Path(__file__).resolve().parents[1] / "probes" / "checkout"

PROBES = """
import pytest
from pathlib import Path

LOG = Path("LOGFILE")

def note(text):
    with LOG.open("a") as f:
        f.write(text + "\\n")

def test_a_passes(journey, page, target):
    journey.cleanup(lambda: note("a"), "note a")
    with journey.step("home"):
        page.goto(target.url("/"))

def test_b_fails(journey, page, target):
    journey.cleanup(lambda: note("b first"), "registered first")
    journey.cleanup(lambda: note("b second"), "registered second")
    with journey.step("home"):
        page.goto(target.url("/"))
        page.get_by_test_id("no-such-thing").click(timeout=500)

@pytest.mark.deadline(6)  # a hang, not a busy page (test_deadline's): a spinning renderer costs a core
def test_c_deadline(journey, page, target):
    journey.cleanup(lambda: note("c"), "note c")
    with journey.step("hang"):
        page.set_content("<p>waiting</p>")
        page.evaluate("new Promise(() => {})")  # never settles: only the deadline ends it

def test_d_cleanup_fails(journey, page, target):
    def broken():
        raise RuntimeError("cancel API answered 500")
    journey.cleanup(broken)
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def test_cleanups_run_after_a_pass_a_failure_and_a_deadline_and_a_failed_one_fails_nothing(pytester) -> None:
    log = pytester.path / "cleanups.log"
    pytester.makepyfile(test_clean=PROBES.replace("LOGFILE", str(log)))
    db = pytester.path / "results.db"
    result = pytester.runpytest_inprocess(  # the plugin's cleanups, not a process's start-up: in this process
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--journey-timeout=600",
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    journeys = {j.probe: j for j in store.journeys(store.latest_run_id())}
    store.close()
    assert len(journeys) == 4, result.stdout.str()[-3000:]
    a, b, c, d = (journeys[n] for n in ("a_passes", "b_fails", "c_deadline", "d_cleanup_fails"))
    assert log.read_text().splitlines() == ["a", "b second", "b first", "c"]  # last registered runs first
    assert a.status.value == "passed" and [(x.name, x.ok) for x in a.cleanup] == [("note a", True)]
    assert not b.status.ok and [x.name for x in b.cleanup] == ["registered second", "registered first"]
    assert c.status.value == "error" and c.cause.detail == "journey_timeout" and c.cleanup[0].ok
    assert d.status.value == "passed"  # a failed cleanup is its own signal, never a checkout failure
    (broken,) = d.cleanup
    assert (broken.name, broken.ok, broken.error) == ("broken", False, "RuntimeError: cancel API answered 500")


def test_same_site_is_the_target_host_and_its_siblings_never_third_parties() -> None:
    assert same_site("https://m.shop.example/", "https://pay.shop.example/pay")
    assert same_site("https://m.shop.example/", "https://shop.example/")
    assert not same_site("https://m.shop.example/", "https://alipay.com/")
    assert not same_site("https://m.shop.example/", "https://evilshop.example/")
    assert same_site("http://127.0.0.1:8080", "http://127.0.0.1:9090/x")
    assert not same_site("http://127.0.0.1:8080", "http://pay.localhost:9090/")


@pytest.fixture
def external_shop() -> Iterator[DemoShop]:
    with DemoShop(port=0, payment_port=0) as shop:
        yield shop


def test_tagged_probe_orders_are_marked_kept_out_of_stock_and_sales_and_cancelled(
    external_shop: DemoShop, tmp_path: Path
) -> None:
    stock = external_shop.state.snapshot()["stock"]
    argv = [sys.executable, "-m", "orderprobe", "run", str(BUILTIN / "test_paths.py"), "--target", external_shop.url,
            "--probe", "subsidy_checkout", "--synthetic-header", "--user-agent-suffix", "orderprobe-synthetic",
            "--run-id", "tagged-1", "--results", f"sqlite:///{tmp_path / 'r.db'}", "--artefacts", str(tmp_path / "a"),
            "--reports", str(tmp_path / "rep"), "--no-progress", "-n", "0"]  # fmt: skip
    env = {**os.environ, "ORDERPROBE_DEMO_PASSWORD": "demo-pass"}
    done = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        (journey,) = store.journeys("tagged-1")
    finally:
        store.close()
    assert [(c.name, c.ok) for c in journey.cleanup] == [("cancel probe orders", True)]

    state = external_shop.state
    orders = list(state.orders.values())
    assert orders and all(o.probe_run == f"tagged-1/{journey.id}" for o in orders)  # every order the probe placed
    assert {o.status for o in orders} == {"cancelled"}
    snapshot = state.snapshot()
    assert snapshot["stock"] == stock  # nothing taken from what shoppers can buy
    assert snapshot["sales"] == {"orders": 0, "paid": 0} and snapshot["probe_orders"] == len(orders)
