"""A run's settings: every ``orderprobe`` pytest option, validated once into a frozen value."""

from __future__ import annotations

import argparse
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from orderprobe.base import location as site
from orderprobe.probes.sharding import Shard
from orderprobe.probes.target import parse_dependencies
from orderprobe.profiles.faults import ShopFault, parse_option

if TYPE_CHECKING:
    import pytest


@dataclass(frozen=True)
class Settings:
    target: str | None
    matrix: str | None
    profile: dict[str, str]  # ad-hoc choice: device / network / region / account
    profile_dirs: tuple[Path, ...]
    results: str | None
    artefacts: Path
    trace: str  # a orderprobe.base.tracing mode name
    retries: int
    action_timeout_ms: float
    dependencies: dict[str, str]
    rule_files: tuple[Path, ...]
    headed: bool
    labels: dict[str, str] = field(default_factory=dict)
    emulation: str = "auto"  # auto | packet | cdp (orderprobe.probes.emulation.packet)
    reporters: tuple[str, ...] = ("store", "events")
    reports: Path = Path("var/reports")  # where file reporters (html) write
    lang: str | None = None  # report language; None: from the locale
    live_progress: bool = True  # the progress reporter: a live display on a terminal
    probes: tuple[str, ...] = ()  # only these probes (names without test_)
    journey_timeout_s: float | None = None  # None: derived from the action timeout and step budgets
    browser_endpoint: str | None = None  # a remote browser instead of launching Chromium here
    shard: Shard | None = None  # --shard i/n: this machine's slice of the sweep
    screenshots: str = "failure"  # on | failure | off (orderprobe.probes.filmstrip)
    location: str = ""  # --location: the site this run probes from (orderprobe.base.location)
    resolver: str | None = None  # --resolver HOST[:PORT]: where the link's DNS forwards (None: the host's)
    har: str = "failure"  # failure | always | off (orderprobe.probes.har)
    har_content: str = "omit"  # omit | embed: response bodies in the HAR
    otel_endpoint: str | None = None  # OTLP/HTTP receiver of journey and step spans (orderprobe.probes.otel)
    a11y: bool = False  # axe-core scan at each step's end (orderprobe.probes.a11y)
    baselines: Path = Path("baselines")  # journey.expect_screenshot's stored images (orderprobe.probes.visual)
    update_baselines: bool = False  # --update-baselines: write the page as the new baseline
    synthetic_header: str | None = None  # --synthetic-header: tag the target's requests (orderprobe.probes.tagging)
    user_agent_suffix: str = ""  # --user-agent-suffix
    faults: tuple[ShopFault, ...] = ()  # --fault: demo-shop faults for every journey
    journeys: int | None = None  # --journeys: how many journeys a population sweep draws
    seed: int | None = None  # --seed: a population sweep's seed
    cpu_slowdown: str = "profile"  # profile | off: the device's CPU slowdown applied or not (--cpu-slowdown)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        opt = config.getoption
        profile = {k: opt(k) for k in ("device", "network", "region", "account") if opt(k)}
        if opt("profile_spec"):
            names = opt("profile_spec").split("/")
            if len(names) != 4:
                raise ValueError(
                    "--profile expects DEVICE/NETWORK/REGION/ACCOUNT, e.g. android-mid/wifi/shanghai/normal"
                )
            profile = {**dict(zip(("device", "network", "region", "account"), names, strict=True)), **profile}
        labels = dict(label.split("=", 1) for label in opt("label") if "=" in label)
        reporters = [n.strip() for value in opt("reporter") or ["store,events"] for n in value.split(",") if n.strip()]
        if opt("no_report"):
            reporters = [n for n in reporters if n != "html"]
        return cls(
            target=opt("target"),
            matrix=opt("matrix"),
            profile=profile,
            profile_dirs=tuple(Path(p) for p in opt("profiles")),
            results=opt("results"),
            artefacts=Path(opt("artefacts")),
            trace=opt("tracing"),
            retries=opt("retries"),
            action_timeout_ms=opt("action_timeout"),
            dependencies=parse_dependencies(opt("dependency")),
            rule_files=tuple(Path(p) for p in opt("rules")),
            headed=opt("headed"),
            labels=labels,
            emulation=opt("emulation"),
            reporters=tuple(reporters),
            reports=Path(opt("reports")),
            lang=opt("lang"),
            live_progress=not opt("no_progress"),
            probes=tuple(p.removeprefix("test_") for p in opt("probe")),
            journey_timeout_s=opt("journey_timeout"),
            shard=_shard(opt("shard"), opt("run_id")),
            screenshots=opt("screenshots"),
            har=opt("har"),
            har_content=opt("har_content"),
            otel_endpoint=_endpoint("--otel-endpoint", opt("otel_endpoint")),
            a11y=opt("a11y"),
            baselines=Path(opt("baselines")),
            update_baselines=opt("update_baselines"),
            browser_endpoint=_endpoint("--browser-endpoint", opt("browser_endpoint")),
            location=site.check(opt("location") or site.default()),
            resolver=_resolver(opt("resolver")),
            synthetic_header=opt("synthetic_header") or None,
            user_agent_suffix=opt("user_agent_suffix") or "",
            faults=tuple(parse_option(text) for text in opt("fault")),
            journeys=_positive(opt("journeys")),
            seed=opt("seed"),
            cpu_slowdown=opt("cpu_slowdown"),
        )


def _positive(journeys: int | None) -> int | None:
    if journeys is not None and journeys < 1:
        raise ValueError(f"--journeys {journeys}: draw at least one journey")
    return journeys


def _shard(text: str | None, run_id: str | None) -> Shard | None:
    if not text:
        return None
    shard = Shard.parse(text)
    if shard.total > 1 and not run_id:
        raise ValueError("--shard needs --run-id ID (the same on every shard) so the shards meet in one run")
    return shard


# A URL's expected schemes and how to say so, by option: one check for every endpoint.
ENDPOINTS = {
    "--browser-endpoint": (("ws://", "wss://", "http://", "https://"), "ws://… (Playwright server) or http://… (CDP)"),
    "--otel-endpoint": (("http://", "https://"), "an OTLP/HTTP URL, e.g. http://127.0.0.1:4318"),
}


def _endpoint(option: str, url: str | None) -> str | None:
    schemes, expected = ENDPOINTS[option]
    if url and not url.startswith(schemes):
        raise ValueError(f"{option} {url!r}: expected {expected}")
    return url


def _resolver(text: str | None) -> str | None:
    if text:
        from orderprobe.probes.emulation.resolver import parse_upstream

        try:
            parse_upstream(text)
        except ValueError as exc:
            raise ValueError(f"--resolver: {exc}") from None
    return text or None


# Option types: argparse calls them while parsing, so a bad value is refused, naming the option
# and what it accepts, before a worker or a browser starts (``orderprobe run`` exits 2).
def count(text: str) -> int:
    """A whole number ≥ 0 (``--retries``)."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text!r}")
    return value


def positive(text: str) -> float:
    """A number > 0 (``--action-timeout`` ms, ``--journey-timeout`` s)."""
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def folder(text: str) -> str:
    """An existing folder (``--profiles``)."""
    if not Path(text).is_dir():
        raise argparse.ArgumentTypeError(f"expected an existing folder, got {text!r} ({_why_not_folder(text)})")
    return text


def _why_not_folder(text: str) -> str:
    return "a file" if Path(text).exists() else "no such folder"


def label(text: str) -> str:
    """``K=V`` (``--label``)."""
    if not text.partition("=")[0].strip() or "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, e.g. team=checkout, got {text!r}")
    return text


def header_name(text: str) -> str:
    """An HTTP header name (``--synthetic-header``): a browser refuses any other on every request."""
    if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", text):
        raise argparse.ArgumentTypeError(f"expected an HTTP header name (letters, digits, -), got {text!r}")
    return text


def cpu_slowdown(text: str) -> str:
    """``profile`` or ``off`` (``--cpu-slowdown``, also from ``$ORDERPROBE_CPU_SLOWDOWN``)."""
    if text not in ("profile", "off"):
        raise argparse.ArgumentTypeError(f"expected profile or off (or $ORDERPROBE_CPU_SLOWDOWN), got {text!r}")
    return text


def emulation(text: str) -> str:
    """``auto``, ``packet`` or ``cdp`` (``--emulation``, also from ``$ORDERPROBE_EMULATION``: argparse
    checks ``choices`` only on the command line, never on a default taken from the environment)."""
    if text not in ("auto", "packet", "cdp"):
        raise argparse.ArgumentTypeError(f"expected auto, packet or cdp (or $ORDERPROBE_EMULATION), got {text!r}")
    return text


def one_line(text: str) -> str:
    """Text without control characters (``--user-agent-suffix``: a header value)."""
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise argparse.ArgumentTypeError(f"expected one line of text without control characters, got {text!r}")
    return text


RESULTS_ENV = "ORDERPROBE_RESULTS"  # --results' default (a CI secret, say)


def results_url(text: str) -> str:
    """An SQLAlchemy URL whose database driver is installed (``--results``, or ``$ORDERPROBE_RESULTS``:
    argparse checks a default taken from the environment with this too); a SQLite file's folder is
    made here, as the default ``var/`` is: whether it can be is only known by making it; its
    ``?arguments`` (``?timeout=``: orderprobe.store.store) are read as its engine will. Whether a
    database server answers is not checked: a store that is down is the spool's business
    (orderprobe.store.spool)."""

    def refused(expected: str, why: str) -> argparse.ArgumentTypeError:
        from orderprobe.probes.secrets import hide_url_passwords

        got = repr(hide_url_passwords(text))
        got = f"${RESULTS_ENV}={got}" if text == os.environ.get(RESULTS_ENV) else got
        return argparse.ArgumentTypeError(f"expected {expected}, got {got} ({why})")

    if text == "sqlite://" or text.startswith("sqlite:///"):
        # No host part to misparse and the driver is the standard library's: valid without importing
        # SQLAlchemy, which every xdist worker parsing this option would otherwise pay for.
        path = text.removeprefix("sqlite://").removeprefix("/").partition("?")[0]
        folder = Path(path).parent  # "" and ":memory:": "."
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            why = "it is a file" if isinstance(exc, FileExistsError) else exc.strerror or type(exc).__name__
            why = f"cannot make the folder {str(folder)!r}: {why}"
            raise refused("a SQLite file in a folder that exists or can be made", why) from None
        if "?" not in text:
            return text
    import warnings

    from sqlalchemy.engine import make_url

    try:
        url = make_url(text)
        dialect = url.get_dialect()
    except Exception as exc:  # ArgumentError (syntax), NoSuchModuleError / ImportError (driver)
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise refused("an SQLAlchemy URL with an installed driver, e.g. sqlite:///var/orderprobe.db", why) from None
    if dialect.name == "sqlite":  # its ?arguments, as the store's engine will read them (no I/O)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # an argument pysqlite ignores (a typo) is a warning
                dialect().create_connect_args(url)
        except Exception as exc:
            why = str(exc).splitlines()[0].split(" (Background")[0]
            raise refused("a SQLite URL whose ?arguments pysqlite takes, e.g. ?timeout=30", why) from None
    return text


def endpoint(text: str) -> str:
    """A remote browser's URL (``--browser-endpoint``); whether it answers is checked in orderprobe.preflight."""
    try:
        return _endpoint("--browser-endpoint", text) or text
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).split(": ", 1)[-1]) from None
