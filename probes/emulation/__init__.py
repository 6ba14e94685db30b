"""Make a profile's conditions real in Chromium (sync Playwright), one small module per concern:

- ``context``: ``browser.new_context()`` options (viewport, UA, locale, time zone, position, proxy);
- ``device``: UA client hints and ``navigator`` fields consistent with the UA (CDP UA override);
- ``throttling.cdp``: latency, throughput and CPU through Chromium DevTools (request-level);
- ``routing``: DNS pollution, request faults and dead signal as Playwright routes;
- ``schedule``: when the network is down (seeded dropouts, offline windows);
- ``path``: the ``NetworkPath`` a worker's journeys take, chosen once (``packet.choose``):
  ``PacketPath`` (``packet``: namespace + link) or ``CdpPath`` (DevTools);
- ``emulator``: ``Emulation`` ties them to one journey and fires mid-journey switches.

Usage::

    context = browser.new_context(**context_options(profile))
    emulation = Emulation(profile, context, page, clock=time.perf_counter, seed=None, path=None)  # None: CDP
    emulation.apply()
    journey.listeners.append(emulation)  # mid-journey switches at named steps
    result.conditions = {**profile.describe(), "applied": emulation.record()}
    emulation.close()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orderprobe.probes.emulation.context import context_options
    from orderprobe.probes.emulation.emulator import Emulation

__all__ = ["Emulation", "context_options"]


def __getattr__(name: str) -> Any:
    # On first use: the link's own process imports ``link`` alone, not Playwright and the
    # profiles (0.3 s of CPU per link, measured with ``python -m benchmarks emulation_packet``).
    if name == "Emulation":
        from orderprobe.probes.emulation.emulator import Emulation

        return Emulation
    if name == "context_options":
        from orderprobe.probes.emulation.context import context_options

        return context_options
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
