"""pytest plugin (``pytest11`` entry point): a probe is a pytest test that takes ``journey``.

Every option of a probe run is declared here, once (``orderprobe run`` passes its
arguments through to pytest). Fixtures mirror pytest-playwright's names (``browser``,
``context``, ``page``) so probe authors feel at home. A journey's start and its finished
result reach the controller on pytest's own report objects (``report.user_properties``,
which xdist ships from workers; in-process the result object is handed over as is), and
the controller alone calls the reporters (``orderprobe.probes.reporter``).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import types
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Any

import pytest

from orderprobe.base.result import JourneyResult
from orderprobe.base.tracing import DEFAULT as DEFAULT_TRACING
from orderprobe.base.tracing import MODES
from orderprobe.probes import coexist, interrupt, step_log
from orderprobe.probes import settings as options
from orderprobe.probes.filmstrip import DEFAULT as FILMSTRIP_DEFAULT
from orderprobe.probes.filmstrip import MODES as FILMSTRIP_MODES
from orderprobe.probes.har import CONTENT as HAR_CONTENT
from orderprobe.probes.har import DEFAULT as HAR_DEFAULT
from orderprobe.probes.har import MODES as HAR_MODES
from orderprobe.probes.reporter import JourneyStart, Reporters, Run, available
from orderprobe.probes.secrets import hide_url_passwords
from orderprobe.probes.session import ProbeSession, Settings, new_run_id, worker_id

JOURNEY_PROPERTY = "orderprobe.journey"
START_PROPERTY = "orderprobe.start"
RESULT_ATTRIBUTE = "orderprobe_result"
RESULT = pytest.StashKey[JourneyResult]()
NOT_IN_PLAN = "not-in-plan"
REFUSED = "orderprobe: refused before running"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("orderprobe", "orderprobe checkout probes")
    if coexist.pytest_playwright(pluginmanager):  # leave its options alone; pytest_configure says why
        group.addoption = _unless_shared(group.addoption)  # type: ignore[method-assign]
    group.addoption("--target", help="base URL of the checkout under test (default: start the embedded demo shop)")
    group.addoption("--matrix", help="run the probes of this matrix (smoke, presale, paths, regions, …)")
    group.addoption("--profile", dest="profile_spec", metavar="D/N/R/A", help="device/network/region/account")
    for kind in ("device", "network", "region", "account"):
        group.addoption(f"--{kind}", help=f"ad-hoc {kind} profile name")
    group.addoption(
        "--profiles", action="append", default=[], type=options.folder, metavar="DIR", help="extra profile folder"
    )
    group.addoption(
        "--fault",
        action="append",
        default=[],
        metavar="NAME[@RATE]",
        help="switch this demo-shop fault on for every journey (embedded shop only), e.g. payment_down, "
        "payment_region_fail@0.47 (shop/README.md lists them)",
    )
    group.addoption(
        "--journeys", type=int, metavar="N", help="a population matrix (e.g. --matrix field): draw N journeys"
    )
    group.addoption("--seed", type=int, metavar="S", help="a population sweep's seed (default: from the run id)")
    group.addoption(
        "--results",
        type=options.results_url,
        default=os.environ.get(options.RESULTS_ENV),
        metavar="URL",
        help="SQLAlchemy URL of the results store (default: $ORDERPROBE_RESULTS, else sqlite:///var/orderprobe.db)",
    )
    group.addoption("--artefacts", default="var/artefacts", metavar="DIR", help="screenshots, traces, events")
    group.addoption(
        "--tracing",
        choices=tuple(MODES),
        default=DEFAULT_TRACING,
        help="Playwright trace per journey: "
        + "; ".join(f"{m.name}: {m.summary}" for m in MODES.values())
        + " (pytest owns --trace)",
    )
    group.addoption(
        "--screenshots",
        choices=FILMSTRIP_MODES,
        default=FILMSTRIP_DEFAULT,
        help="on: a screenshot at the end of every step (the run report's filmstrip); "
        "failure: at the failure point only (default); off: none",
    )
    group.addoption(
        "--har",
        choices=HAR_MODES,
        default=HAR_DEFAULT,
        help="a HAR of each journey's requests (Playwright, minimal): kept on failure (default), always, or off",
    )
    group.addoption(
        "--har-content", choices=HAR_CONTENT, default="omit", help="response bodies in the HAR: omit (default), embed"
    )
    group.addoption(
        "--otel-endpoint",
        metavar="URL",
        help="export a span per journey and per step over OTLP/HTTP (e.g. http://127.0.0.1:4318) and send a W3C "
        "traceparent on the shop's requests (needs the otel extra)",
    )
    group.addoption(
        "--a11y",
        action="store_true",
        help="scan each step's page with axe-core (WCAG A/AA); violations are reported, never a failed checkout",
    )
    group.addoption(
        "--baselines",
        default="baselines",
        metavar="DIR",
        help="journey.expect_screenshot's baseline images (written there on the first run)",
    )
    group.addoption(
        "--update-baselines",
        action="store_true",
        help="journey.expect_screenshot: write the page as the new baseline instead of comparing",
    )
    group.addoption("--run-id", help="group journeys under this run id (default: generated)")
    group.addoption(
        "--shard", metavar="I/N", help="run only slice I of N of the journeys (with --run-id; merge by the store)"
    )
    group.addoption(
        "--retries", type=options.count, default=0, help="retry a failed journey N times; a later pass is 'flaky'"
    )
    group.addoption(
        "--action-timeout",
        type=options.positive,
        default=10_000,
        metavar="MS",
        help="default Playwright timeout; also the built-in probes' wait for a shipping quote (longer on a slow link)",
    )
    group.addoption(
        "--journey-timeout",
        type=options.positive,
        metavar="S",
        help="hard limit per journey; past it the context is torn down and the journey is an error "
        "(default: max(120 s, 4 × the navigation timeout), extended by long step budgets)",
    )
    group.addoption(
        "--synthetic-header",
        nargs="?",
        type=options.header_name,
        const="X-Orderprobe-Run",
        metavar="NAME",
        help="tag every request to the target's site with NAME: <run>/<journey> (default name X-Orderprobe-Run), "
        "so the shop can keep probe orders out of its figures",
    )
    group.addoption(
        "--user-agent-suffix", type=options.one_line, default="", metavar="TEXT", help="append TEXT to the user agent"
    )
    group.addoption("--dependency", action="append", default=[], metavar="GLOB=NAME", help="third-party URL pattern")
    group.addoption("--rules", action="append", default=[], metavar="FILE", help="extra failure-classification rules")
    group.addoption(
        "--location",
        metavar="NAME",
        help="the site this agent probes from, e.g. sh, hk (default: $ORDERPROBE_LOCATION, else the host name)",
    )
    group.addoption(
        "--label", type=options.label, action="append", default=[], metavar="K=V", help="label the run (e.g. team=pay)"
    )
    group.addoption("--headed", action="store_true", help="show the browser")
    group.addoption(
        "--browser-endpoint",
        type=options.endpoint,
        metavar="URL",
        help="use a remote browser: ws://… Playwright server (playwright run-server) or http://… CDP endpoint",
    )
    group.addoption(
        "--emulation",
        type=options.emulation,
        metavar="{auto,packet,cdp}",
        default=os.environ.get("ORDERPROBE_EMULATION", "auto"),
        help="network emulation: packet (the browser in its own network namespace behind an emulated link; "
        "root / CAP_NET_ADMIN, Linux), cdp (DevTools, request-level), auto (packet where possible; default, "
        "or $ORDERPROBE_EMULATION)",
    )
    group.addoption(
        "--cpu-slowdown",
        type=options.cpu_slowdown,
        default=os.environ.get("ORDERPROBE_CPU_SLOWDOWN", "profile"),
        metavar="{profile,off}",
        help="profile: slow the page's main thread by the device's cpu_slowdown (default, or "
        "$ORDERPROBE_CPU_SLOWDOWN); off: not at all, for a probe host short of CPU (Chromium emulates "
        "the slowdown by busy-waiting, ~0.5 s of CPU per second of an open page at ×2); said in the results",
    )
    group.addoption(
        "--resolver",
        metavar="HOST[:PORT]",
        default=os.environ.get("ORDERPROBE_RESOLVER"),
        help="packet mode: the DNS server the link's resolver forwards to (default: this host's, from "
        "/etc/resolv.conf, or $ORDERPROBE_RESOLVER)",
    )
    group.addoption("--probe", action="append", default=[], metavar="NAME", help="only this probe (repeatable)")
    group.addoption(
        "--reporter",
        action="append",
        metavar="NAME,…",
        help="where results go: store, events, junit, html, progress, or any installed reporter"
        " (default store,events; `orderprobe run`: progress,store,events,junit,html)",
    )
    group.addoption("--no-report", action="store_true", help="leave out the html reporter")
    group.addoption("--reports", default="var/reports", metavar="DIR", help="where the html reporter writes")
    group.addoption("--lang", choices=("zh", "en"), help="report language (default from the locale)")
    group.addoption("--no-progress", action="store_true", help="progress reporter: log lines, not a live display")


def _unless_shared(addoption: Any) -> Any:
    def add(*names: str, **attrs: Any) -> None:
        if not set(names) & set(coexist.SHARED_OPTIONS):
            addoption(*names, **attrs)

    return add


def pytest_configure(config: pytest.Config) -> None:
    if name := coexist.pytest_playwright(config.pluginmanager):
        raise pytest.UsageError(coexist.refusal(name))
    config.addinivalue_line("markers", "profile(device=, network=, region=, account=): default profile of a probe")
    config.addinivalue_line("markers", "expect(outcome='blocked', causes=(...), reason=''): expected outcome")
    config.addinivalue_line("markers", "deadline(seconds): this probe's hard time limit (overrides --journey-timeout)")
    workerinput = getattr(config, "workerinput", None)
    run_id = (workerinput or {}).get("orderprobe_run_id") or config.getoption("run_id") or new_run_id()
    try:
        settings = Settings.from_config(config)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = ProbeSession(settings, run_id, worker_id(config))
    config.stash[SESSION] = session
    if workerinput is not None:
        config.pluginmanager.register(_WorkerStart(), "orderprobe-worker-start")
    if workerinput is None:
        _validate(session)
        extra: dict[str, Any] = {}
        config.hook.pytest_orderprobe_reporters(reporters=extra)
        try:
            session.reporters = Reporters(list(settings.reporters), available(extra))
        except ValueError as exc:
            raise pytest.UsageError(f"--reporter: {exc}") from None
        if "progress" in settings.reporters:  # the progress reporter is the terminal now
            config.pluginmanager.set_blocked("terminalreporter")
        else:  # plain pytest: after its summary, why each journey failed and where the evidence is
            from orderprobe.probes.summary import FailureSummary

            summary = FailureSummary(settings.artefacts, run_id, settings.results)
            session.reporters.chosen.append(("failure-summary", summary))
            config.pluginmanager.register(summary, "orderprobe-failure-summary")
        config.pluginmanager.register(_Controller(session, config), "orderprobe-controller")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(_XdistController(run_id), "orderprobe-xdist")


def _validate(session: ProbeSession) -> None:
    """Refuse bad rules before any worker or browser starts. (Names of profiles and matrices
    are checked where they are used: planning, and ``orderprobe.preflight``.) Only a user's
    ``--rules`` can be bad: the built-in ones ship checked (tests/test_classify*.py) and are read
    by the first process that classifies a failure, not by every controller (~50 ms of CPU)."""
    try:
        if session.settings.rule_files:
            session.classifier  # noqa: B018  (loading the rules is the check)
    except Exception as exc:
        raise pytest.UsageError(f"{REFUSED}: {exc}") from None
    if session.settings.otel_endpoint:
        try:
            session.tracer_provider  # noqa: B018  (the extra is installed)
        except RuntimeError as exc:
            raise pytest.UsageError(str(exc)) from None


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(SESSION, None)
    if session is not None and "tracer_provider" in vars(session):
        session.tracer_provider.shutdown()  # sends the spans still batched


class _WorkerStart:
    """An xdist worker first imports and collects (the plugin, the probes, Playwright): objects that
    live as long as it does. No automatic garbage collection meanwhile (it would walk them again and
    again as they pile up); then they are frozen out of the collector's sight, so the journeys'
    collections and pytest's closing ones see only what is new (~0.15 s CPU a worker)."""

    def __init__(self) -> None:
        gc.disable()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self) -> None:
        gc.freeze()
        gc.enable()


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
    from orderprobe.probes.planning import plan_items

    session = _session(metafunc.config)
    try:
        items = plan_items(session, probe_name(metafunc.function.__name__), metafunc.definition)
    except Exception as exc:  # a bad profile or matrix: refuse before any browser starts
        raise pytest.UsageError(str(exc)) from None
    if items:
        metafunc.parametrize("orderprobe_item", items, ids=[i.id for i in items], indirect=True)
    else:
        metafunc.parametrize("orderprobe_item", [NOT_IN_PLAN], ids=[NOT_IN_PLAN], indirect=True)


def _not_chosen(item: pytest.Item, probes: tuple[str, ...]) -> bool:
    if "orderprobe_item" not in getattr(item, "fixturenames", ()):
        return bool(probes)  # --probe: journeys only
    if getattr(item, "callspec", None) and item.callspec.params.get("orderprobe_item") == NOT_IN_PLAN:
        return True
    return bool(probes) and probe_name(getattr(item, "originalname", item.name)) not in probes


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = _session(config).settings
    chosen = [i for i in items if not _not_chosen(i, settings.probes)]
    if settings.shard is not None:
        chosen = settings.shard.take(chosen, key=lambda i: i.nodeid)
    kept = {id(i) for i in chosen}
    dropped = [i for i in items if id(i) not in kept]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = chosen


# -- results: retries, verdicts and hand-off ------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    retries = _session(item.config).settings.retries
    if not retries or "orderprobe_item" not in getattr(item, "fixturenames", ()):
        return None
    from orderprobe.probes.compat.pytest import reset_fixtures, runtestprotocol, tear_down_all

    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    item.stash[ATTEMPTS] = []
    for attempt in range(retries + 1):
        last = attempt == retries
        if attempt:
            reset_fixtures(item)
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        result = item.stash.get(RESULT, None)
        if last or result is None or result.status.ok:
            for report in reports:
                item.ihook.pytest_runtest_logreport(report=report)
            break
        # A retry starts from a clean browser and shop, which is what a retry after a flaky failure
        # should do; a journey that passed keeps them for the next one (a driver, a browser and a
        # shop per journey cost ~0.6 s of CPU each time, in every run with --retries).
        with contextlib.suppress(Exception):  # a browser or shop that fails to stop is replaced all the same
            tear_down_all(item)
        item.stash[ATTEMPTS].append(result)
        step_log.discard(_session(item.config).run_dir, result.id)  # superseded: its result carries its steps
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _without_playwright(excinfo: pytest.ExceptionInfo[BaseException]) -> None:
    """A journey's traceback without Playwright's own frames, as Playwright Test shows it: the probe's
    lines and the error (which says what Playwright did); nor does pytest parse Playwright's 1 MB
    API module for each failure (0.6 s of CPU)."""
    import playwright

    inside = os.path.dirname(playwright.__file__) + os.sep
    frames, tb = [], excinfo.tb
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next
    kept = [tb for tb in frames if not tb.tb_frame.f_code.co_filename.startswith(inside)]
    if not kept or len(kept) == len(frames):
        return
    chain = None  # pytest's repr follows the raw chain (tb_next), so the chain itself leaves them out
    for tb in reversed(kept):
        chain = types.TracebackType(chain, tb.tb_frame, tb.tb_lasti, tb.tb_lineno)
    excinfo.traceback = type(excinfo.traceback)(chain)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    if call.excinfo is not None and RUNNING in item.stash and not item.config.getoption("fulltrace"):
        _without_playwright(call.excinfo)
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
    if report.when == "setup":
        start = {**asdict(run.start), "started_at": run.start.started_at.isoformat()}  # execnet-safe types
        report.user_properties.append((START_PROPERTY, start))
    if report.when == "teardown":
        result = run.result(attempts=item.stash.get(ATTEMPTS, []))
        item.stash[RESULT] = result
        if hasattr(item.config, "workerinput"):  # to the controller as JSON, which xdist ships
            report.user_properties.append((JOURNEY_PROPERTY, result.model_dump_json()))
        else:  # this process is the controller: hand over the object itself
            setattr(report, RESULT_ATTRIBUTE, result)
    return report


class _Controller:
    """The one process that owns the run's outputs: feeds the reporters from the reports
    pytest (and xdist) deliver, and turns a reporter's failure into the exit code."""

    def __init__(self, session: ProbeSession, config: pytest.Config) -> None:
        self.session = session
        self.config = config
        self.said: set[str] = set()
        self.reporters = session.reporters
        self.starts: dict[str, JourneyStart] = {}
        self.run = Run(session.run_id, session.started_at, session.settings, hide_url_passwords(" ".join(sys.argv)))
        self.started = self.ended = False

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # SIGTERM (a service manager, the scheduler's timeout) stops a run the way Ctrl-C does:
        # pytest unwinds, in-flight journeys are recorded as interrupted, the run gets its end.
        interrupt.install()
        with interrupt.deferred():
            self.reporters.run_start(self.run)
            self.started = True

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """Stopped while xdist was still starting its workers: pytest skips ``pytest_sessionfinish``
        then, but a run whose start was recorded gets its end all the same."""
        if self.started and not self.ended:
            self.ended = True
            self.reporters.run_end(self.run, int(pytest.ExitCode.INTERRUPTED))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """With pytest's terminal reporter replaced (progress), say why a file did not collect."""
        if not report.failed or self.config.pluginmanager.get_plugin("terminalreporter") is not None:
            return
        text = str(report.longrepr)
        reason = next((ln[1:].strip() for ln in reversed(text.splitlines()) if ln.startswith("E ")), text.strip())
        if reason not in self.said:
            self.said.add(reason)
            print(f"orderprobe: cannot collect {report.nodeid or report.fspath}: {reason}", file=sys.stderr)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if session.items:
            self.run.planned = len(session.items)

    @pytest.hookimpl(optionalhook=True)  # `-p no:xdist` leaves this hook undefined
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        self.run.planned = len(ids)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        journeys = [getattr(report, RESULT_ATTRIBUTE)] if hasattr(report, RESULT_ATTRIBUTE) else []
        for name, value in report.user_properties:
            if name == START_PROPERTY:
                start = JourneyStart(**{**value, "started_at": datetime.fromisoformat(value["started_at"])})
                self.starts[report.nodeid] = start
                self.reporters.journey_start(start)
            elif name == JOURNEY_PROPERTY:
                journeys.append(JourneyResult.model_validate_json(value))
        if not journeys and report.failed and "crashed while running" in str(report.longrepr):
            from orderprobe.probes.journey_run import crashed_result  # xdist lost the worker, not the run

            start = self.starts.get(report.nodeid)
            journeys.append(crashed_result(self.session.run_id, report.nodeid, str(report.longrepr), start))
        for result in journeys:
            self.reporters.journey_end(result, self.starts.pop(report.nodeid, None))
            step_log.discard(self.session.run_dir, result.id)

    @pytest.hookimpl(tryfirst=True, specname="pytest_sessionfinish")
    def pytest_sessionfinish_first(self, session: pytest.Session, exitstatus: int) -> None:
        """Interrupted: the run's account now, before xdist waits on busy workers (``orderprobe.probes.interrupt``)."""
        if exitstatus == pytest.ExitCode.INTERRUPTED:
            busy = [start.pid for start in self.starts.values()]
            self.pytest_sessionfinish(session, exitstatus)
            interrupt.stop_workers(busy)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.ended:
            return
        self.ended = True
        if exitstatus == pytest.ExitCode.INTERRUPTED:  # started and never ended: abandoned mid-way
            from orderprobe.probes.journey_run import interrupted_result

            for nodeid, start in list(self.starts.items()):
                # those it passed: live when it ran in this process, from its worker's step log otherwise
                steps = self.reporters.steps.get(start.id) or step_log.read(self.session.run_dir, start.id)
                self.reporters.journey_end(interrupted_result(self.session.run_id, nodeid, start, steps), start)
                step_log.discard(self.session.run_dir, start.id)
            self.starts.clear()
        step_log.tidy(self.session.run_dir)
        session.exitstatus = self.reporters.run_end(self.run, int(exitstatus))


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from orderprobe.probes import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


# -- fixtures -------------------------------------------------------------------------------
# They live in their own module; importing them here is what registers them with pytest.
from orderprobe.probes.fixtures import (  # noqa: E402, F401
    ATTEMPTS,
    RUNNING,
    SESSION,
    _journey_run,
    _orderprobe_browser,
    _orderprobe_shop,
    browser,
    browser_context_args,
    browser_type_launch_args,
    context,
    demo_shop,
    journey,
    orderprobe_item,
    orderprobe_run,
    page,
    profile,
    target,
)
