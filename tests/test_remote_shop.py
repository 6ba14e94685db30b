"""Journeys against a REMOTE demo shop, through pytest itself (pytester, a subprocess) in real
Chromium: the shop runs in a second network namespace with its own address and names only the
test's DNS zone knows (tests/support/remote.py), so the browser reaches it as it would a shop on
the internet — across the emulated link, the host's uplink and the link's resolver.
``--emulation auto`` must choose packet mode for it; metro-weak's outages and loss hit it; a
polluted Wi-Fi lies about its payment host. Skipped where namespaces cannot be made.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orderprobe.base.result import JourneyResult
from orderprobe.shop.server import DemoShop
from tests.support.once import once
from tests.support.packet import metro_weak_early, needs_packet_level, ride, run_probe
from tests.support.remote import RemoteHost, Zone
from tests.support.stored import stored_journeys

pytestmark = needs_packet_level  # a network namespace: root / CAP_NET_ADMIN, Linux

SHOP, PAY = "shop.orderprobe.test", "pay.orderprobe.test"

PAY_PROBE = """
def test_pay(journey, page, target):
    with journey.step("open"):
        page.goto(target.url("/"))
    with journey.step("pay"):
        page.goto("%s/", timeout=3000)  # the black hole never answers; a lie is told at once
"""


@pytest.fixture(scope="module")
def remote_shop() -> Iterator[tuple[Zone, RemoteHost, DemoShop]]:
    with Zone() as zone, RemoteHost() as remote:
        zone.names.update({SHOP: remote.address, PAY: remote.address})
        shop = remote.serve(lambda: DemoShop(host="0.0.0.0", payment_host=PAY).start())
        shop.context.shop_url = f"http://{SHOP}:{shop.port}"  # its links and redirects use its public name
        yield zone, remote, shop
        shop.stop()


def run(
    pytester: pytest.Pytester, world: tuple[Zone, RemoteHost, DemoShop], source: str, *args: str
) -> list[JourneyResult]:
    """Against the remote shop, its names resolved by the test's zone."""
    zone, _, shop = world
    return run_probe(pytester, source, f"--target={shop.url}", f"--resolver={zone.address}", *args)


CAPTIVE = {"name": "captive-wifi", "rtt_ms": 28, "down_kbps": 5000, "up_kbps": 1000, "dns_polluted": ["pay.*"]}
MATRIX = """
matrices:
  - name: remote
    rows:
      - {probe: metro_ride, network: metro-weak}
      - {probe: pay, network: public-wifi-dns-polluted}
      - {probe: pay, network: captive-wifi}
"""


def journeys(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, world: tuple[Zone, RemoteHost, DemoShop]
) -> list[JourneyResult]:
    """One run of both tests' journeys (one start of Python, the driver, Chromium: ~2 s CPU), made
    by whichever test asks first (``tests/support/once.py``). The ride comes first (file order), on
    the link as fresh as it was in a run of its own: its outage and seeded loss count from the link's start."""

    def build(_: Path) -> dict:
        _, remote, shop = world
        nets = pytester.path / "nets"
        (nets / "matrices").mkdir(parents=True)
        (nets / "matrices" / "remote.yaml").write_text(MATRIX, encoding="utf-8")
        # metro-weak's own draw whose outage comes first (3.1–5.3 s); 14 rounds of 6 requests send ~190
        # packets up, whatever the load, for the seeded loss below.
        _, end = metro_weak_early(nets, {**CAPTIVE, "dns_answer": remote.black_hole})
        ride_out = ride(connections=6, seconds=end + 2, rounds=14)
        run(pytester, world, ride_out + PAY_PROBE % shop.payment_url, f"--profiles={nets}", "--matrix=remote")
        return {"db": str(pytester.path / "results.db")}  # --emulation auto

    _, made = once(tmp_path_factory, "remote-shop-run", build)
    return stored_journeys(made["db"])


@pytest.mark.slow
def test_metro_weak_outages_and_loss_reach_a_remote_shop_in_packet_mode_by_default(
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, remote_shop: Any
) -> None:
    zone, _, shop = remote_shop
    (journey,) = [j for j in journeys(pytester, tmp_path_factory, remote_shop) if j.probe == "metro_ride"]
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
    pytester: pytest.Pytester, tmp_path_factory: pytest.TempPathFactory, remote_shop: Any
) -> None:
    _, remote, shop = remote_shop
    paid = [j for j in journeys(pytester, tmp_path_factory, remote_shop) if j.probe == "pay"]
    by_network = {j.conditions["applied"]["network"]: j for j in paid}
    told = {"public-wifi-dns-polluted": "NXDOMAIN", "captive-wifi": f"a wrong address, {remote.black_hole}"}
    assert by_network.keys() == told.keys()
    for network, journey in by_network.items():
        assert journey.emulation == "packet" and journey.status == "failed" and journey.failed_step == "pay"
        assert (journey.cause.category, journey.cause.detail) == ("network", "dns"), (network, journey.cause)
        assert journey.conditions["applied"]["dns"]["polluted"] == {PAY: told[network]}
        fp = journey.failure
        marked = [r.injected for r in [*fp.failed_requests, *fp.waiting] if PAY in r.url]
        assert f"orderprobe DNS pollution: {PAY} answered {told[network]}" in marked, (network, marked)
