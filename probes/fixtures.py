"""Fixtures a probe uses: ``journey``, ``page``, ``context``, ``browser``, ``profile``, ``target``.

One browser per worker (relaunched only after a crash), a fresh context per journey,
the embedded demo shop per worker unless ``--target`` is given. Two seams a team overrides
in its own conftest, named as pytest-playwright names them: ``browser_type_launch_args``
(extra ``chromium.launch`` arguments) and ``browser_context_args`` (the journey's
``new_context`` arguments: the profile's, plus e.g. ``storage_state`` or ``http_credentials``).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from orderprobe.probes.session import ProbeSession
from orderprobe.probes.target import Target

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

    from orderprobe.base.result import JourneyResult
    from orderprobe.probes.emulation.path import NetworkPath
    from orderprobe.probes.journey import Journey
    from orderprobe.probes.journey_run import JourneyRun
    from orderprobe.profiles.models import MatrixItem, Profile

# The journey machinery (journey_run → recorder → emulation → Playwright) is imported by the
# fixtures that run a journey, not here: every pytest process loads this plugin, and an xdist
# controller or a test suite that runs no journey should not pay for it.
SESSION = pytest.StashKey[ProbeSession]()  # on the config: this process's run
RUNNING = pytest.StashKey["JourneyRun"]()  # on an item: its journey under way
ATTEMPTS = pytest.StashKey[list["JourneyResult"]]()  # on an item: earlier attempts (--retries)
DEMO_SECRETS = {"ORDERPROBE_DEMO_PASSWORD": "demo-pass", "ORDERPROBE_DEMO_SMS_CODE": "246810"}


class BrowserRestarted(UserWarning):
    """Said in pytest's warnings summary: the run went on, but its host is struggling."""


class BrowserHolder:
    """Launch lazily, once per worker; relaunch after a crash instead of failing every later probe.

    The worker's network path (``self.path``) is chosen once, at the first launch: with
    packet-level emulation the browser runs in the worker's own network namespace behind the
    emulated link; otherwise the path is DevTools' and its ``reason`` says why.
    """

    def __init__(
        self,
        headed: bool,
        endpoint: str | None = None,
        emulation: str = "auto",
        resolver: str | None = None,
        launch_args: dict[str, Any] | None = None,
        target: str = "",
    ) -> None:
        self.headed = headed
        self.launch_args = dict(launch_args or {})  # a team's own (browser_type_launch_args)
        self.endpoint = endpoint  # a remote browser: Playwright server (ws://) or CDP (http://)
        self.emulation, self.resolver = emulation, resolver  # resolver: where the link's DNS forwards
        self.path: NetworkPath | None = None
        self.target = target
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._launched_after = 0  # deadline.kills() when the browser was launched

    def _network_path(self) -> NetworkPath:
        from orderprobe.probes.emulation.packet import choose

        if self.path is None:
            self.path = choose(
                self.emulation, remote=self.endpoint is not None, resolver=self.resolver, target=self.target
            )
        return self.path

    def get(self) -> Browser:
        from playwright.sync_api import Error as PlaywrightError

        from orderprobe.probes import deadline

        killed = deadline.kills() != self._launched_after  # by a journey's deadline: gone, whatever it says
        if self._browser is not None and self._browser.is_connected() and not killed:
            return self._browser
        self._launched_after = deadline.kills()
        try:
            return self._start()
        except PlaywrightError as first:
            from orderprobe.probes.evidence import first_line

            # A Chromium (or driver) that dies while it starts says nothing about the shop: on a loaded
            # host it happens. One fresh driver and browser; a second failure is the journey's error.
            self._drop()
            browser = self._start()
            with warnings.catch_warnings():  # a note in pytest's summary: a -W error must not fail the journey
                warnings.simplefilter("always", BrowserRestarted)
                note = f"the browser did not start ({first_line(str(first)) or type(first).__name__}); started it again"
                warnings.warn(BrowserRestarted(note), stacklevel=2)
            return browser

    def _start(self) -> Browser:
        from playwright.sync_api import sync_playwright

        from orderprobe.probes import driver
        from orderprobe.probes.browser import connect, launch_options, one_fieldtrials

        if self._playwright is None:
            # Playwright's driver runs in the browser's namespace too: context.request takes the link.
            with driver.starting(nodejs=self._network_path().driver()):
                self._playwright = sync_playwright().start()
        if self.endpoint is not None:
            self._browser = connect(self._playwright, self.endpoint)
            return self._browser
        ours = launch_options(headless=not self.headed)
        # A team's flags add to ours (a lost --no-sandbox would fail every launch as root); the rest override.
        options = {**ours, **self.launch_args, "args": [*ours.get("args", []), *self.launch_args.get("args", [])]}
        # packet level: Playwright starts Chromium through a wrapper that enters the namespace
        options["executable_path"] = self._network_path().executable(options["executable_path"])
        options["args"] = one_fieldtrials([*options["args"], *self._network_path().chromium_args])
        self._browser = self._playwright.chromium.launch(**options)
        return self._browser

    def _drop(self) -> None:
        """Forget a browser and driver that failed to start, whatever state they were left in."""
        with contextlib.suppress(Exception):  # already broken: the next start is what matters
            if self._browser is not None:
                self._browser.close()
        with contextlib.suppress(Exception):
            if self._playwright is not None:
                self._playwright.stop()
        self._browser = self._playwright = None

    def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            self._browser.close()
        if self._playwright is not None:
            self._playwright.stop()
        if self.path is not None:
            self.path.close()


@pytest.fixture(scope="session")
def orderprobe_run(pytestconfig: pytest.Config) -> ProbeSession:
    return pytestconfig.stash[SESSION]


@pytest.fixture(scope="session")
def _orderprobe_shop(orderprobe_run: ProbeSession) -> Iterator[Any]:
    if orderprobe_run.settings.target:
        yield None
        return
    from orderprobe.shop.server import DemoShop

    for name, value in DEMO_SECRETS.items():  # the demo shop's published test credentials
        os.environ.setdefault(name, value)
    shop = DemoShop(port=0, payment_port=0)
    shop.start()
    yield shop
    shop.stop()


@pytest.fixture
def demo_shop(_orderprobe_shop: Any) -> Any:
    """The embedded demo shop, reset before each journey; ``None`` when ``--target`` is given."""
    if _orderprobe_shop is not None:
        _orderprobe_shop.reset()
    return _orderprobe_shop


@pytest.fixture(scope="session")
def target(orderprobe_run: ProbeSession, _orderprobe_shop: Any) -> Target:
    settings = orderprobe_run.settings
    if _orderprobe_shop is None:
        return Target(settings.target or "", dict(settings.dependencies))
    shop = _orderprobe_shop
    # Which of the demo shop's URLs are "third parties": this is target config, not rules.
    dependencies = {
        f"{shop.payment_url}/*": "payment-gateway",
        f"{shop.url}/api/logistics/*": "logistics",
        f"{shop.url}/api/sms/*": "sms",
        **settings.dependencies,
    }
    return Target(shop.url, dependencies, embedded=True)


@pytest.fixture(scope="session")
def browser_type_launch_args() -> dict[str, Any]:
    """Extra ``chromium.launch`` arguments over orderprobe's own; ``args`` (command-line flags) are
    added to ours. Override in a conftest: ``return {**browser_type_launch_args, "slow_mo": 100}``.
    Not used with ``--browser-endpoint`` (that browser is launched elsewhere)."""
    return {}


@pytest.fixture(scope="session")
def _orderprobe_browser(
    orderprobe_run: ProbeSession, target: Target, browser_type_launch_args: dict[str, Any]
) -> Iterator[BrowserHolder]:
    settings = orderprobe_run.settings
    holder = BrowserHolder(
        settings.headed,
        settings.browser_endpoint,
        settings.emulation,
        settings.resolver,
        browser_type_launch_args,
        target=target.base_url,
    )
    yield holder
    holder.close()


@pytest.fixture
def browser(_orderprobe_browser: BrowserHolder) -> Browser:
    return _orderprobe_browser.get()


@pytest.fixture
def orderprobe_item(request: pytest.FixtureRequest) -> MatrixItem:
    return request.param


@pytest.fixture
def profile(orderprobe_item: MatrixItem) -> Profile:
    return orderprobe_item.profile


@pytest.fixture
def browser_context_args(profile: Profile) -> dict[str, Any]:
    """The journey's ``browser.new_context`` arguments: the profile's device, locale, timezone,
    geolocation and proxy. Override in a conftest to add your own, keeping the profile's::

        @pytest.fixture
        def browser_context_args(browser_context_args):
            return {**browser_context_args, "storage_state": "state.json", "ignore_https_errors": True}
    """
    from orderprobe.probes.emulation import context_options

    return context_options(profile)


@pytest.fixture
def _journey_run(
    request: pytest.FixtureRequest,
    orderprobe_run: ProbeSession,
    orderprobe_item: MatrixItem,
    target: Target,
    demo_shop: Any,
    _orderprobe_browser: BrowserHolder,
    browser_context_args: dict[str, Any],
) -> Iterator[JourneyRun]:
    from orderprobe.probes.journey_run import JourneyRun

    node = request.node
    for fault in orderprobe_item.faults:  # after the shop's reset for this journey (demo_shop)
        if demo_shop is not None:
            demo_shop.set_fault(fault.name, **fault.params)
    run = JourneyRun(
        orderprobe_run, node.nodeid, orderprobe_item, target, attempt=len(node.stash.get(ATTEMPTS, [])) + 1
    )
    if demo_shop is not None and orderprobe_item.draw is None:  # a drawn journey's faults are samples, not claims
        run.fault_tally = demo_shop.fault_tally
    node.stash[RUNNING] = run  # before opening: a browser that fails to start is still a recorded journey
    marker = node.get_closest_marker("deadline")
    deadline_s = float(marker.args[0]) if marker else None
    run.open(_orderprobe_browser.get, _orderprobe_browser, deadline_s=deadline_s, context_args=browser_context_args)
    yield run
    run.close()


@pytest.fixture
def context(_journey_run: JourneyRun) -> BrowserContext:
    return _journey_run.context


@pytest.fixture
def page(_journey_run: JourneyRun) -> Page:
    return _journey_run.page


@pytest.fixture
def journey(_journey_run: JourneyRun) -> Journey:
    return _journey_run.journey
