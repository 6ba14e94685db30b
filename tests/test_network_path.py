"""The worker's network path (probes/emulation/path.py, packet.py): chosen once, then asked.
The choice, then one contract both forms keep, each on its real part: a DevTools session of a
real Chromium page, and a real network namespace with its link (skipped where none can be made)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, CDPSession

from orderprobe.probes.emulation.packet import PacketPath, choose, unavailable
from orderprobe.probes.emulation.path import CdpPath, NetworkPath
from orderprobe.profiles.catalogue import load_catalogue


def test_cdp_is_chosen_with_its_reason() -> None:
    asked = choose("cdp")
    assert isinstance(asked, CdpPath) and (asked.mode, asked.reason, asked.stalls) == ("cdp", "--emulation cdp", False)
    remote = choose("packet", remote=True)  # a browser launched elsewhere is not behind our link
    assert isinstance(remote, CdpPath) and remote.reason == "a remote browser (--browser-endpoint)"
    assert remote.driver() is None and remote.executable("/usr/bin/chromium") == "/usr/bin/chromium"


@pytest.fixture
def cdp(chromium: Browser) -> Iterator[CDPSession]:
    context = chromium.new_context()
    try:
        yield context.new_cdp_session(context.new_page())
    finally:
        context.close()


@pytest.fixture(params=["cdp", "packet"])
def path(request: pytest.FixtureRequest) -> Iterator[NetworkPath]:
    if request.param == "packet" and (why := unavailable()):
        pytest.skip(why)
    chosen = choose(request.param)  # auto where packet is possible chooses the same
    yield chosen
    chosen.close()


def test_a_journey_begins_changes_and_ends_on_either_path(path: NetworkPath, cdp: CDPSession) -> None:
    networks = load_catalogue().networks
    assert path.mode == ("packet" if isinstance(path, PacketPath) else "cdp")
    path.begin(networks["4g"], cdp, time.perf_counter)
    path.set_outages([(600.0, 601.0)])  # planned, not yet begun: ended with the journey
    path.hand_over_to(networks["3g"])
    assert path.injection("http://127.0.0.1:9/", None, lambda: "dropout") is None  # nothing the path did
    assert isinstance(path.dropped(0.0, 1.0), dict)
    during = path.record()
    assert "rtt_ms" in during["latency"]
    if isinstance(path, PacketPath):  # a hand-over gave the browser a new address
        assert path.stalls and len(during["addresses"]) == 2 and path.link is not None
        assert path.link.up.params.delay_ms == networks["3g"].rtt_ms / 2
    else:
        assert during["cdp_network"]["latency"] == networks["3g"].rtt_ms
        failed = path.injection("http://127.0.0.1:9/", "net::ERR_INTERNET_DISCONNECTED", lambda: "dropout")
        assert failed == "orderprobe offline: dropout"  # the page was switched offline: ours, not the shop's
    assert path.end() == during  # the journey's record, kept as it ended
    if isinstance(path, PacketPath):
        assert path.link is not None and path.link.up.params.delay_ms == 0  # the link is reset for the next one
