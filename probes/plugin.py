"""pytest plugin (``pytest11`` entry point): a probe is a pytest test that takes ``journey``.

Options live in their own group; fixtures mirror pytest-playwright's names (``browser``,
``context``, ``page``) so probe authors feel at home. Each finished journey travels to
the controller as JSON in ``report.user_properties`` (xdist ships those), and only the
controller writes the store.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

from probes.result import JourneyResult
from probes.session import ProbeSession, Settings, new_run_id, worker_id

JOURNEY_PROPERTY = "orderprobe.journey"
SESSION = pytest.StashKey[ProbeSession]()
RESULT = pytest.StashKey[JourneyResult]()
ATTEMPTS = pytest.StashKey[list[JourneyResult]]()
NOT_IN_PLAN = "not-in-plan"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orderprobe", "orderprobe checkout probes")
    group.addoption("--target", help="base URL of the checkout under test (default: start the embedded demo shop)")
    group.addoption("--matrix", help="run the probes of this matrix (smoke, presale, paths, regions, …)")
    group.addoption("--profile", dest="profile_spec", metavar="D/N/R/A", help="device/network/region/account")
    for kind in ("device", "network", "region", "account"):
        group.addoption(f"--{kind}", help=f"ad-hoc {kind} profile name")
    group.addoption("--profiles", action="append", default=[], metavar="DIR", help="extra profile folder")
    group.addoption(
        "--results", metavar="URL", help="SQLAlchemy URL of the results store (default sqlite:///var/orderprobe.db)"
    )
    group.addoption("--artefacts", default="var/artefacts", metavar="DIR", help="screenshots, traces, events")
    group.addoption(
        "--tracing",
        choices=("on", "off", "retain-on-failure"),
        default="retain-on-failure",
        help="Playwright trace per journey (pytest owns --trace; `orderprobe run --trace` maps here)",
    )
    group.addoption("--run-id", help="group journeys under this run id (default: generated)")
    group.addoption("--retries", type=int, default=0, help="retry a failed journey N times; a later pass is 'flaky'")
    group.addoption("--action-timeout", type=float, default=10_000, metavar="MS", help="default Playwright timeout")
    group.addoption("--dependency", action="append", default=[], metavar="GLOB=NAME", help="third-party URL pattern")
    group.addoption("--rules", action="append", default=[], metavar="FILE", help="extra failure-classification rules")
    group.addoption("--label", action="append", default=[], metavar="K=V", help="label the run (e.g. location=sh)")
    group.addoption("--headed", action="store_true", help="show the browser")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "profile(device=, network=, region=, account=): default profile of a probe")
    config.addinivalue_line("markers", "expect(outcome='blocked', causes=(...), reason=''): expected outcome")
    workerinput = getattr(config, "workerinput", None)
    run_id = (workerinput or {}).get("orderprobe_run_id") or config.getoption("run_id") or new_run_id()
    try:
        settings = Settings.from_config(config)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = ProbeSession(settings, run_id, worker_id(config))
    config.stash[SESSION] = session
    if workerinput is None:
        config.pluginmanager.register(_ResultWriter(session, config), "orderprobe-results")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistController(run_id), "orderprobe-xdist")


class _XdistController:
    """Hand the controller's run id to every worker."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["orderprobe_run_id"] = self.run_id


def _session(config: pytest.Config) -> ProbeSession:
    return config.stash[SESSION]


# -- planning: which probe runs under which profiles ---------------------------------------


def probe_name(function_name: str) -> str:
    return function_name.removeprefix("test_")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "orderprobe_item" not in metafunc.fixturenames:
        return
    from probes.planning import plan_items

    session = _session(metafunc.config)
    try:
        items = plan_items(session, probe_name(metafunc.function.__name__), metafunc.definition)
    except Exception as exc:  # a bad profile or matrix: refuse before any browser starts
        raise pytest.UsageError(str(exc)) from None
    if items:
        metafunc.parametrize("orderprobe_item", items, ids=[i.id for i in items], indirect=True)
    else:
        metafunc.parametrize("orderprobe_item", [NOT_IN_PLAN], ids=[NOT_IN_PLAN], indirect=True)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [
        i for i in items if getattr(i, "callspec", None) and i.callspec.params.get("orderprobe_item") == NOT_IN_PLAN
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


# -- results: retries, verdicts and hand-off ------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    retries = _session(item.config).settings.retries
    if not retries or "orderprobe_item" not in getattr(item, "fixturenames", ()):
        return None
    from _pytest.runner import runtestprotocol

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    item.stash[ATTEMPTS] = []
    for attempt in range(retries + 1):
        last = attempt == retries
        if attempt:
            item._initrequest()  # type: ignore[attr-defined]  # fresh fixtures, as pytest-rerunfailures does
        # Between attempts tear everything down (nextitem=None): a retry starts from a clean
        # browser and shop, which is what a retry after a flaky failure should do.
        reports = runtestprotocol(item, nextitem=nextitem if last else None, log=False)
        result = item.stash.get(RESULT, None)
        if last or result is None or result.status.ok:
            for report in reports:
                item.ihook.pytest_runtest_logreport(report=report)
            break
        item.stash[ATTEMPTS].append(result)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    run = item.stash.get(RUNNING, None)
    if run is None:
        return report
    if report.when == "call" or (report.when == "setup" and report.failed):
        status = run.conclude(call.excinfo, when=report.when)
        if report.when == "call":
            if status.ok and report.failed:  # refused as expected: that's the pass
                report.outcome = "passed"
                report.longrepr = None
            elif not status.ok and report.passed:
                report.outcome = "failed"
                report.longrepr = run.explain()
    if report.when == "teardown":
        result = run.result(attempts=item.stash.get(ATTEMPTS, []))
        item.stash[RESULT] = result
        report.user_properties.append((JOURNEY_PROPERTY, result.model_dump_json()))
    return report


class _ResultWriter:
    """Controller side (or the only process): write each journey to the store as it lands."""

    def __init__(self, session: ProbeSession, config: pytest.Config) -> None:
        self.session = session
        self.config = config

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        journeys = [value for name, value in report.user_properties if name == JOURNEY_PROPERTY]
        for value in journeys:
            self.record(JourneyResult.model_validate_json(value))
        if not journeys and report.failed and "crashed while running" in str(report.longrepr):
            from probes.journey_run import crashed_result  # xdist lost the worker, not the run

            self.record(crashed_result(self.session, report.nodeid, str(report.longrepr)))

    def record(self, result: JourneyResult) -> None:
        try:
            self.session.store.add_journey(result)
        except Exception as exc:  # full disk, locked db: keep the run going, say so loudly
            self.session.store_errors += 1
            print(f"\norderprobe: could not store journey {result.nodeid}: {exc}", file=sys.stderr)
        self.config.hook.pytest_orderprobe_journey(result=result)


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from probes import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _session(session.config).finish(int(exitstatus))


# -- fixtures -------------------------------------------------------------------------------
# They live in their own module; importing them here is what registers them with pytest.
from probes.fixtures import (  # noqa: E402, F401
    RUNNING,
    _journey_run,
    _orderprobe_browser,
    _orderprobe_shop,
    browser,
    context,
    demo_shop,
    journey,
    orderprobe_item,
    orderprobe_run,
    page,
    profile,
    target,
)
