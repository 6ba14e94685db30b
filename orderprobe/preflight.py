"""Checks before any browser starts. Each problem is one line naming what is wrong and where;
``orderprobe run`` exits 2 on the first one instead of running journeys that cannot pass.

- xdist's worker counts (``-n``, ``--maxprocesses``): a whole number ≥ 0 (xdist takes a negative one);
- the target and a remote browser (``--browser-endpoint``): URL syntax, DNS, TCP connect (with the error);
  the target's name is asked of ``--resolver`` when one is given, as the link's resolver will ask it;
- every profile and matrix name given on the command line, including each part of ``--profile D/N/R/A``
  (a probe's own ``@pytest.mark.profile`` would otherwise hide a typo: it pins some kinds);
- the secrets of every account a journey is given on purpose — by a matrix row, ``--account`` /
  ``--profile``, or the probe's ``@pytest.mark.profile(account=...)`` (a missing one is
  configuration, never a failed checkout). An account a journey merely defaults to is not
  required: a guest checkout never logs in, and one that does without its secret is named
  ``probe_broken/secret_missing`` with the variable when it asks for it;
- probe files that fail to import (``file:line: error``), found by collecting in this process
  without xdist: under ``-n 2`` a worker's collection error is easy to lose.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import socket
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from orderprobe.profiles.catalogue import Catalogue
    from orderprobe.profiles.models import MatrixItem

# Options that make no sense for a collection pass (parallelism, files written by the run).
_DROP_WITH_VALUE = ("-n", "--numprocesses", "--dist", "--maxprocesses", "--junitxml", "--junit-xml", "--reporter")


class Refused(Exception):
    """A configuration problem; the message is one line."""


@dataclass(frozen=True)
class Plan:
    """What the collection pass found the run will do."""

    journeys: list[MatrixItem]  # in run order: `--list` and the progress total
    tests: int  # every test it will run: the journeys and any plain test in a probe file


def check_workers(options: dict[str, object]) -> None:
    """xdist takes any whole number for ``-n`` / ``--maxprocesses``; a negative one is a typo, not a
    plan (``-n -3`` would otherwise run the journeys somehow, or not at all)."""
    for dest, option in (("numprocesses", "-n/--numprocesses"), ("maxprocesses", "--maxprocesses")):
        value = options.get(dest)
        if isinstance(value, int) and value < 0:
            also = ", auto or logical" if dest == "numprocesses" else ""
            raise Refused(f"argument {option}: expected a whole number ≥ 0{also}, got '{value}'")


def check_target(url: str, timeout_s: float = 5.0, resolve: Callable[..., list[Any]] = socket.getaddrinfo) -> None:
    """The URL parses as http(s) with a host, the host resolves, and a TCP connection opens."""
    _check_reachable("--target", url, ("http", "https"), "https://m.shop.example", timeout_s, resolve)


def resolving_through(upstream: str) -> Callable[..., list[Any]]:
    """A ``getaddrinfo`` that asks ``upstream`` (``--resolver HOST[:PORT]``), as packet mode's journeys will."""
    from orderprobe.probes.emulation.resolver import lookup, parse_upstream

    server = parse_upstream(upstream)

    def resolve(host: str, port: int, **_: Any) -> list[Any]:
        try:
            addresses = lookup(host, server)
        except socket.gaierror as exc:
            raise socket.gaierror(exc.errno, f"--resolver {upstream}: {exc.strerror}") from None
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)) for address in addresses]

    return resolve


def check_endpoint(url: str, timeout_s: float = 5.0) -> None:
    """A remote browser (``--browser-endpoint``) answers TCP before any journey waits for it."""
    _check_reachable("--browser-endpoint", url, ("ws", "wss", "http", "https"), "ws://grid:3000/", timeout_s)


def _check_reachable(
    option: str,
    url: str,
    schemes: tuple[str, ...],
    example: str,
    timeout_s: float,
    resolve: Callable[..., list[Any]] = socket.getaddrinfo,
) -> None:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    except ValueError:
        raise Refused(f"{option} {url}: the port is not a number from 1 to 65535") from None
    if parts.scheme not in schemes or not parts.hostname:
        kind = "an http(s)" if schemes == ("http", "https") else "a ws(s):// or http(s)://"
        raise Refused(f"{option} {url!r}: not {kind} URL with a host (e.g. {example})")
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        addresses = [(socket.AF_INET, ("127.0.0.1", port))]  # RFC 6761, as Chromium resolves them
    else:
        try:
            infos = resolve(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise Refused(f"{option} {url}: cannot resolve {host} (DNS: {reason})") from None
        addresses = [(family, address) for family, _, _, _, address in infos]
    errors = []
    for family, address in dict.fromkeys(addresses):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as sock:
                sock.settimeout(timeout_s)
                sock.connect(address)
            return
        except OSError as exc:
            errors.append(f"{address[0]}: {exc.strerror or type(exc).__name__}")
    raise Refused(f"{option} {url}: cannot connect to {host}:{port} ({'; '.join(errors)})")


def check_names(catalogue: Catalogue, matrix: str | None, profile: dict[str, str]) -> None:
    """Every name given must exist, whether or not a probe's marker later overrides it."""
    try:
        if matrix:
            catalogue.expand(matrix)
        for kind, name in profile.items():
            catalogue.profile(**{kind: name})
    except ValueError as exc:
        raise Refused(" ".join(str(exc).split())) from None


def check_population(catalogue: Catalogue, matrix: str | None) -> None:
    """``--journeys`` draws from a population matrix (``field``), not from rows."""
    found = catalogue.matrices.get(matrix or "")
    if found is None or found.population is None:
        with_one = [name for name, m in catalogue.matrices.items() if m.population is not None]
        raise Refused(f"--journeys draws from a population matrix ({', '.join(with_one)}); "
                      f"{'--matrix ' + matrix + ' has none' if matrix else 'give one with --matrix'}")  # fmt: skip


def check_secrets(items: Iterable[MatrixItem], catalogue: Catalogue, provided: Iterable[str] = ()) -> None:
    """The env vars of every account the journeys use are set (``provided``: set by the harness)."""
    have = set(provided) | {k for k, v in os.environ.items() if v}
    probes: dict[str, list[str]] = {}
    accounts = {}
    for item in items:
        account = item.profile.account
        accounts[account.name] = account
        probes.setdefault(account.name, []).append(item.probe)
    for name, account in accounts.items():
        for what, var in (("password", account.password_env), ("SMS code", account.sms_code_env)):
            if var and var not in have:
                users = sorted(set(probes[name]))
                where = _origin(catalogue, name)
                raise Refused(
                    f"account {name!r}{where}: environment variable {var} ({what}) is not set; "
                    f"needed by {', '.join(users[:3])}{' …' if len(users) > 3 else ''}"
                )


def _origin(catalogue: Catalogue, account: str) -> str:
    try:
        return f" ({catalogue.origin('accounts', account)})"
    except KeyError:
        return ""


# -- the collection pass ---------------------------------------------------------------------


def collection_error(longrepr: str, path: str) -> str:
    """``file:line: error`` from pytest's report of a module that failed to import."""
    lines = longrepr.splitlines()
    locations = [(m[1], m[2]) for m in re.finditer(r'File "([^"]+)", line (\d+)', longrepr)]
    locations += [(m[1], m[2]) for m in re.finditer(r"^(\S+\.py):(\d+): ", longrepr, re.MULTILINE)]
    # The traceback's paths may be absolute or relative to anywhere; the line is the one in ``path``.
    mine = [line for file, line in locations if os.path.realpath(file) == os.path.realpath(path)]
    line = (mine or ["1"])[-1]
    error = next((ln[1:].strip() for ln in reversed(lines) if ln.startswith("E ") and ln[1:].strip()), "")
    return f"{path}:{line}: {error or (lines[-1].strip() if lines else 'cannot be imported')}"


class _Collector:
    def __init__(self) -> None:
        self.items: list[MatrixItem] = []
        self.accounted: list[MatrixItem] = []  # the journeys given their account on purpose
        self.tests = 0
        self.errors: list[str] = []
        self.config: pytest.Config | None = None
        self.refused: Refused | None = None
        self.interrupted: str | None = None  # a SIGTERM / Ctrl-C pytest took while collecting

    def pytest_configure(self, config: pytest.Config) -> None:
        from orderprobe.probes.compat.pytest import no_closing_collections

        no_closing_collections(config)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        if not isinstance(excinfo.value, pytest.Session.Interrupted):  # that one is pytest's "N collection errors"
            self.interrupted = str(excinfo.value) or "Ctrl-C"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection(self, session: pytest.Session) -> bool | None:
        """Names and the target first: cheap, and a bad matrix would otherwise surface as a
        collection error of whichever probe file was planned first."""
        from orderprobe.probes.plugin import SESSION

        self.config = session.config
        settings = session.config.stash[SESSION].settings
        try:
            check_names(session.config.stash[SESSION].catalogue, settings.matrix, settings.profile)
            if settings.journeys:
                check_population(session.config.stash[SESSION].catalogue, settings.matrix)
            if settings.target:
                # --resolver is where packet mode's DNS goes; under CDP the host's resolver answers.
                through = settings.resolver if settings.emulation != "cdp" else None
                check_target(settings.target, resolve=resolving_through(through) if through else socket.getaddrinfo)
            if settings.browser_endpoint:
                check_endpoint(settings.browser_endpoint)
        except Refused as exc:
            self.refused = exc
            return True  # collection "done": nothing is imported
        return None

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.errors.append(collection_error(str(report.longrepr), self._shown(report.nodeid.split("::")[0])))

    def _shown(self, nodepath: str) -> str:
        """A node's file as the user would type it: relative to the current folder when inside it,
        else absolute (node ids are relative to pytest's rootdir, which may be anywhere)."""
        if self.config is None:
            return nodepath
        path = (self.config.rootpath / nodepath).resolve()
        return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        from orderprobe.probes.plugin import SESSION

        self.config = session.config
        named = "account" in session.config.stash[SESSION].settings.profile  # --account or --profile D/N/R/A
        self.tests = len(session.items)
        for item in session.items:
            param = getattr(getattr(item, "callspec", None), "params", {}).get("orderprobe_item")
            if param is not None and not isinstance(param, str):
                self.items.append(param)
                marker = item.get_closest_marker("profile")
                if param.matrix or named or (marker is not None and "account" in marker.kwargs):
                    self.accounted.append(param)


def collection_argv(argv: Sequence[str]) -> list[str]:
    """The run's pytest arguments for a collection pass: no xdist, no junit file, no output."""
    out: list[str] = []
    args = iter(argv)
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in _DROP_WITH_VALUE and "=" not in arg:
            next(args, "")
            continue
        if arg == "-p" and "xdist" in (value := next(args, "")):
            continue  # the pass runs in this process (-n 0 below)
        if arg == "-p":
            out += [arg, value]
            continue
        if name in _DROP_WITH_VALUE or (arg.startswith("-n") and arg[2:].isdigit()):
            continue
        out.append(arg)
    # The terminal plugin stays (an ini's `addopts = -ra` needs it); its output is swallowed.
    # No reporter: a collection pass must leave no run in the store and no files. No fd capture:
    # this pass may run inside another pytest (a test, a host tool) whose captured fds it must not touch.
    return [*out, "--collect-only", "-n", "0", "-p", "no:cacheprovider", "--capture=no", "--reporter", ","]


def check_run(argv: Sequence[str], provided_secrets: Iterable[str] = ()) -> Plan:
    """Collect the run in this process; refuse on import errors, bad names, an unreachable target
    or missing secrets. Returns the plan (for progress: the total is known)."""
    from orderprobe.probes.plugin import REFUSED, SESSION

    collector = _Collector()
    errors = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(errors):
        code = pytest.main(collection_argv(argv), plugins=[collector])
    if collector.interrupted is not None:  # pytest took the SIGTERM / Ctrl-C: the run must not start
        raise KeyboardInterrupt(collector.interrupted)
    if collector.refused is not None:
        raise collector.refused
    if collector.errors:
        more = f" (and {len(collector.errors) - 1} more)" if len(collector.errors) > 1 else ""
        raise Refused(f"probe file does not import: {collector.errors[0]}{more}")
    if collector.config is None or SESSION not in collector.config.stash:
        said = [line.removeprefix("ERROR: ") for line in errors.getvalue().splitlines() if line.startswith("ERROR: ")]
        said = [line.removeprefix(f"{REFUSED}: ") for line in said]  # the run says it once
        raise Refused(said[0] if said else f"pytest refused the arguments (exit {int(code)}): {' '.join(argv)}")
    session = collector.config.stash[SESSION]
    if not session.settings.target:
        from orderprobe.probes.fixtures import DEMO_SECRETS

        provided_secrets = [*provided_secrets, *DEMO_SECRETS]  # the embedded shop's published test users
    check_secrets(collector.accounted, session.catalogue, provided_secrets)
    return Plan(collector.items, collector.tests)
