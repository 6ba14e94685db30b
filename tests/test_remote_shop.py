"""Journeys against a REMOTE demo shop, through pytest itself (pytester, a subprocess) in real
Chromium: the shop runs in a second network namespace with its own address and names only the
test's DNS zone knows (tests/support/remote.py), so the browser reaches it as it would a shop on
the internet — across the emulated link, the host's uplink and the link's resolver.
``--emulation auto`` must choose packet mode for it; metro-weak's outages and loss hit it; a
polluted Wi-Fi lies about its payment host. Skipped where namespaces cannot be made.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from probes.emulation.packet import unavailable
from probes.result import JourneyResult
from reports.store import Store
from shop.server import DemoShop
from tests.support.remote import RemoteHost, Zone

SHOP, PAY = "shop.orderprobe.test", "pay.orderprobe.test"

# Page loads every half second for ~14 s (metro-weak's first outage starts within 10 s) and for
# at least 28 rounds: a loaded machine fits fewer rounds in 14 s, too few packets to reach the loss.
RIDE = """
import time


def test_metro_ride(journey, page, target):
    t0, rounds = time.monotonic(), 0
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("ride"):
        while time.monotonic() - t0 < 14 or rounds < 28:  # six connections at a time, as a page's assets
            page.evaluate("() => Promise.all([0, 1, 2, 3, 4, 5].map(i => fetch('/?n=' + i, {cache: 'no-store'})"
                          ".then(r => r.status, e => String(e))))")
            page.wait_for_timeout(500)
            rounds += 1
"""

PAY_PROBE = """
def test_pay(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        page.goto("%s/", timeout=5000)
"""


@pytest.fixture(scope="module")
def remote_shop() -> Iterator[tuple[Zone, RemoteHost, DemoShop]]:
    reason = unavailable()
    if reason:
        pytest.skip(reason)
    with Zone() as zone, RemoteHost() as remote:
        zone.names.update({SHOP: remote.address, PAY: remote.address})
        shop = remote.serve(lambda: DemoShop(host="0.0.0.0", payment_host=PAY).start())
        shop.context.shop_url = f"http://{SHOP}:{shop.port}"  # its links and redirects use its public name
        yield zone, remote, shop
        shop.stop()


def run(
    pytester: pytest.Pytester, world: tuple[Zone, RemoteHost, DemoShop], source: str, *args: str
) -> list[JourneyResult]:
    zone, _, shop = world
    pytester.makepyfile(test_probe=source)
    db = pytester.path / "results.db"
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--results=sqlite:///{db}", f"--artefacts={pytester.path / 'art'}",
        "--tracing=off", "--no-report", f"--target={shop.url}", f"--resolver={zone.address}", *args, "test_probe.py",
    )  # fmt: skip
    store = Store(f"sqlite:///{db}")
    try:
        run_id = store.latest_run_id()
        return store.journeys(run_id) if run_id else []
    finally:
        store.close()


@pytest.mark.slow
def test_metro_weak_outages_and_loss_reach_a_remote_shop_in_packet_mode_by_default(
    pytester: pytest.Pytester, remote_shop: Any
) -> None:
    zone, _, shop = remote_shop
    (journey,) = run(pytester, remote_shop, RIDE, "--network=metro-weak")  # --emulation auto
    applied = journey.conditions["applied"]
    assert journey.emulation == "packet" and applied["emulation_reason"] == "", applied["emulation_reason"]
    (first, *_) = applied["offline_windows"]
    assert first["why"] == "dropout"
    packets = applied["link_packets"]
    assert packets["up"].get("outage", 0) + packets["down"].get("outage", 0) > 0  # the link really was down
    # The link's loss is seeded: with metro-weak imposed on a fresh link, the 78th packet up is lost.
    assert packets["up"].get("lost", 0) + packets["down"].get("lost", 0) > 0
    assert applied["dns"]["upstream"] == [zone.address] and zone.queries[SHOP] >= 1  # resolved through the link


@pytest.mark.slow
def test_dns_pollution_of_the_payment_host_is_a_resolver_answer_named_network_dns(
    pytester: pytest.Pytester, remote_shop: Any
) -> None:
    _, remote, shop = remote_shop
    nets = pytester.path / "nets"
    (nets / "matrices").mkdir(parents=True)
    (nets / "networks.yaml").write_text(
        "networks:\n"
        "  - {name: captive-wifi, rtt_ms: 28, down_kbps: 5000, up_kbps: 1000,\n"
        f"     dns_polluted: ['pay.*'], dns_answer: '{remote.black_hole}'}}\n",
        encoding="utf-8",
    )
    (nets / "matrices" / "polluted.yaml").write_text(
        "matrices:\n  - name: polluted\n    rows:\n"
        "      - {probe: pay, network: public-wifi-dns-polluted}\n"
        "      - {probe: pay, network: captive-wifi}\n",
        encoding="utf-8",
    )
    journeys = run(pytester, remote_shop, PAY_PROBE % shop.payment_url, f"--profiles={nets}", "--matrix=polluted")
    by_network = {j.conditions["applied"]["network"]: j for j in journeys}
    told = {"public-wifi-dns-polluted": "NXDOMAIN", "captive-wifi": f"a wrong address, {remote.black_hole}"}
    assert by_network.keys() == told.keys()
    for network, journey in by_network.items():
        assert journey.emulation == "packet" and journey.status == "failed" and journey.failed_step == "pay"
        assert (journey.cause.category, journey.cause.detail) == ("network", "dns"), (network, journey.cause)
        assert journey.conditions["applied"]["dns"]["polluted"] == {PAY: told[network]}
        fp = journey.failure
        marked = [r.injected for r in [*fp.failed_requests, *fp.waiting] if PAY in r.url]
        assert f"orderprobe DNS pollution: {PAY} answered {told[network]}" in marked, (network, marked)
