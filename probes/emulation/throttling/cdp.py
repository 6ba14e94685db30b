"""Request-level throttling through Chromium DevTools, on a CDP session of the journey's page.

``Network.emulateNetworkConditions`` holds each response until ``rtt_ms`` after its request
was sent (one round trip per request, not per DNS/TCP/TLS handshake) and paces body bytes
at the profile's throughput. Only the page the session is attached to is throttled.
CPU: ``Emulation.setCPUThrottlingRate``. Each CDP call is a round trip: no-ops are skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orderprobe.profiles.models import Network

if TYPE_CHECKING:
    from playwright.sync_api import CDPSession

UNTHROTTLED = {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}


def cdp_conditions(network: Network, *, offline: bool | None = None) -> dict[str, object]:
    """Parameters for CDP ``Network.emulateNetworkConditions`` (throughput in bytes/s, -1 = off)."""

    def rate(kbps: float | None) -> float:
        return -1 if kbps is None else kbps * 1000 / 8

    return {
        "offline": network.offline if offline is None else offline,
        "latency": network.rtt_ms,
        "downloadThroughput": rate(network.down_kbps),
        "uploadThroughput": rate(network.up_kbps),
    }


def throttle_network(session: CDPSession, network: Network, *, fresh: bool = False) -> None:
    """Impose ``network``; on a ``fresh`` page (already unthrottled) an unthrottled network costs nothing."""
    conditions = cdp_conditions(network)
    if conditions != UNTHROTTLED or not fresh:
        session.send("Network.emulateNetworkConditions", conditions)


def throttle_cpu(session: CDPSession, rate: float) -> None:
    """``rate`` ×: Chromium busy-waits (rate−1)/rate of the main thread's time, idle or not."""
    if rate != 1:
        session.send("Emulation.setCPUThrottlingRate", {"rate": rate})
