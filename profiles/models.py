"""Profiles as data: device, network, region, account, and the matrices that combine them.

Every model is frozen and refuses unknown fields, so a typo in a YAML file is an error
(with file, line and field — see ``orderprobe.base.source``) instead of a silently ignored key.
Nothing here touches a browser: ``orderprobe.probes.emulation`` turns a ``Profile`` into browser settings.
"""

from __future__ import annotations

import ipaddress
import os
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from orderprobe.base.expectation import Expectation
from orderprobe.base.source import Frozen
from orderprobe.profiles.address import Address
from orderprobe.profiles.faults import Faults, ShopFault
from orderprobe.profiles.population import Population

# -- small reusable types -------------------------------------------------------------------

Name = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=40)]  # no "/": it joins profile names
ProbeName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*$")]  # test function name without "test_"
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]*$")]  # only a NAME: secrets never live in YAML
# Playwright's route.abort() error codes (each maps to a net::ERR_* the page sees).
AbortError = Literal[
    "aborted", "accessdenied", "addressunreachable", "blockedbyclient", "blockedbyresponse",
    "connectionaborted", "connectionclosed", "connectionfailed", "connectionrefused",
    "connectionreset", "internetdisconnected", "namenotresolved", "timedout", "failed",
]  # fmt: skip


def _as_tuple(value: object) -> object:
    """Let YAML say ``account: teen`` where a list is expected."""
    return (value,) if isinstance(value, str) else value


def _ordered_range(value: tuple[float, float]) -> tuple[float, float]:
    if value[0] > value[1]:
        raise ValueError(f"range must be [low, high], got [{value[0]}, {value[1]}]")
    return value


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA timezone {value!r} (e.g. Asia/Shanghai)") from None
    return value


Names = Annotated[tuple[Name, ...], BeforeValidator(_as_tuple)]
Range = Annotated[tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]], AfterValidator(_ordered_range)]


# -- device ----------------------------------------------------------------------------------


class Size(Frozen):
    width: int = Field(gt=0, le=8000)
    height: int = Field(gt=0, le=8000)


class Device(Frozen):
    name: Name
    title: str = ""  # human label, Chinese first
    descriptor: str | None = None  # Playwright device descriptor the catalogue started from
    viewport: Size
    screen: Size | None = None
    device_scale_factor: float = Field(gt=0, le=5)
    is_mobile: bool
    has_touch: bool
    user_agent: str = Field(min_length=10)
    cpu_slowdown: float = Field(1.0, ge=1, le=20)  # Emulation.setCPUThrottlingRate
    notes: str = ""

    @property
    def chrome_major(self) -> str | None:
        """Chromium major version in the UA; None for Safari and the pre-Chromium Android WebView."""
        match = re.search(r"Chrome/(\d+)", self.user_agent)
        return match.group(1) if match else None

    @property
    def platform(self) -> str:
        ua = self.user_agent
        if "iPhone" in ua or "iPad" in ua:
            return "iOS"
        if "Android" in ua:
            return "Android"
        return "Windows" if "Windows" in ua else "macOS" if "Mac OS X" in ua else "Linux"


# -- network ---------------------------------------------------------------------------------


class Dropouts(Frozen):
    """Seeded signal loss: online for ``every_s`` (drawn per gap), then offline for ``offline_s``."""

    offline_s: Range
    every_s: Range
    first_s: Range | None = None  # the first outage starts in this window (default: [0, every_s high))
    seed: int | None = None  # pins the schedule; None: a fresh seed per journey (recorded)


class FaultRule(Frozen):
    """Make matching requests fail: abort, answer with a status, or arrive late."""

    url: str = "**/*"  # glob on the full URL: ** any characters, * any except "/"
    methods: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()  # empty: every method
    rate: float = Field(1.0, ge=0, le=1)  # share of matching requests hit (seeded)
    abort: AbortError | None = None
    status: int | None = Field(None, ge=100, le=599)
    delay_ms: float | None = Field(None, gt=0)

    @model_validator(mode="after")
    def _one_effect(self) -> FaultRule:
        if self.abort is None and self.status is None and self.delay_ms is None:
            raise ValueError("a fault needs an effect: abort, status or delay_ms")
        if self.abort is not None and self.status is not None:
            raise ValueError("a fault cannot both abort and answer with a status")
        return self

    @property
    def label(self) -> str:
        effect = self.abort or (f"HTTP {self.status}" if self.status else "")
        delay = f"+{self.delay_ms:g} ms" if self.delay_ms else ""
        return f"{' '.join(filter(None, (effect, delay)))} on {self.url} @ {self.rate:.0%}"


class Loss(Frozen):
    """Packet loss per direction (packet-level emulation only). ``rate`` is the long-run share lost;
    with ``burst`` (mean packets per Bad spell) losses come in bursts: a Gilbert–Elliott chain whose
    Bad state loses ``bad_loss`` of packets and Good state none. Without ``burst``: independent."""

    rate: float = Field(ge=0, lt=1)
    burst: float | None = Field(None, ge=1, le=1000)
    bad_loss: float = Field(1.0, gt=0, le=1)

    @model_validator(mode="after")
    def _reachable(self) -> Loss:
        if self.rate >= self.bad_loss:
            raise ValueError(f"rate {self.rate} cannot be reached when the Bad state loses {self.bad_loss}")
        return self


def _dns_answer(value: object) -> str:
    text = str(value).strip()
    if text.lower() == "nxdomain":
        return "nxdomain"
    try:
        ipaddress.IPv4Address(text)
    except ValueError:
        raise ValueError(f"dns_answer must be nxdomain or an IPv4 address, not {text!r}") from None
    return text


DnsAnswer = Annotated[str, BeforeValidator(_dns_answer)]


class Network(Frozen):
    """A link's conditions. ``rtt_ms`` is a ROUND-TRIP time. Under packet-level emulation it is
    split into one-way delays (``up_delay_ms``, default half) on every packet; under DevTools
    (CDP) emulation Chromium holds each response ``rtt_ms`` after its request was sent (once per
    request, not per TCP/TLS handshake). Throughput in kbit/s (1 kbit = 1000 bit); None = not
    throttled. Jitter, loss and the queue exist only at packet level."""

    name: Name
    title: str = ""
    source: str = ""  # where the numbers come from
    rtt_ms: float = Field(ge=0, le=60_000)
    down_kbps: float | None = Field(gt=0)
    up_kbps: float | None = Field(gt=0)
    offline: bool = False
    dropouts: Dropouts | None = None
    dns_polluted: tuple[str, ...] = ()  # host globs whose DNS answer is a lie (dns_answer)
    dns_answer: DnsAnswer = "nxdomain"  # what they are told: NXDOMAIN, or a wrong IPv4 address (captive Wi-Fi)
    faults: tuple[FaultRule, ...] = ()
    up_delay_ms: float | None = Field(None, ge=0)  # one-way, browser → server; the rest of rtt_ms is down
    jitter_ms: float = Field(0, ge=0, le=10_000)  # sd of a normal per-packet delay, truncated at 0, no reordering
    loss: Loss | None = None
    queue_packets: int = Field(1000, ge=1, le=100_000)  # drop-tail bottleneck queue, per direction
    notes: str = ""

    @model_validator(mode="after")
    def _one_way_within_rtt(self) -> Network:
        if self.up_delay_ms is not None and self.up_delay_ms > self.rtt_ms:
            raise ValueError(f"up_delay_ms {self.up_delay_ms} exceeds rtt_ms {self.rtt_ms}")
        if "dns_answer" in self.model_fields_set and not self.dns_polluted:
            raise ValueError("dns_answer needs dns_polluted: the host globs that get that answer")
        return self


# -- region ----------------------------------------------------------------------------------


class Geolocation(Frozen):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    accuracy: float = Field(50, ge=0)


class Region(Frozen):
    name: Name
    title: str = ""
    locale: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    timezone: Annotated[str, AfterValidator(_timezone)]
    accept_language: str = ""  # default: from locale, e.g. "zh-CN,zh;q=0.9"
    geolocation: Geolocation
    address: Address
    proxy: str | None = Field(None, pattern=r"^(http|https|socks5)://[^\s/]+")  # a real exit in the region
    tier: int | None = Field(None, ge=1, le=5)  # city tier, 1 = Beijing/Shanghai
    notes: str = ""

    @property
    def languages(self) -> str:
        return self.accept_language or f"{self.locale},{self.locale.split('-')[0]};q=0.9"


# -- account ---------------------------------------------------------------------------------


class SecretMissing(LookupError):
    """An account secret's environment variable is unset when a probe needs it."""


class AccountRefused(LookupError):
    """The shop refused an account's credentials: configuration (a wrong password in its
    environment variable, a user the shop does not have), never a failed checkout."""


class Account(Frozen):
    """A test user. Secrets are environment variable NAMES, read only at use time."""

    name: Name
    title: str = ""
    username: str = Field(min_length=1)
    password_env: EnvName
    sms_code_env: EnvName | None = None
    age: int | None = Field(None, ge=0, le=130)
    traits: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()  # e.g. teen, no-payment
    notes: str = ""

    def _secret(self, env: str | None, what: str) -> str:
        value = os.environ.get(env) if env else None
        if not value:
            raise SecretMissing(
                f"account {self.name!r}: {what} comes from environment variable {env or '(none configured)'}, "
                "which is not set"
            )
        return value

    def password(self) -> str:
        return self._secret(self.password_env, "password")

    def sms_code(self) -> str:
        return self._secret(self.sms_code_env, "SMS code")


# -- mid-journey switches ----------------------------------------------------------------------


class SwitchSpec(Frozen):
    """As written in YAML: at a named step, lose the signal and/or hand over to another network."""

    at: str = Field(min_length=1)  # step name, as in journey.step("pay")
    when: Literal["start", "end"] = "start"
    offline_s: float | None = Field(None, gt=0, le=600)
    network: Name | None = None

    @model_validator(mode="after")
    def _does_something(self) -> SwitchSpec:
        if self.offline_s is None and self.network is None:
            raise ValueError("a switch needs offline_s and/or network")
        return self


class Switch(Frozen):
    """A resolved switch (the network is the model, not a name)."""

    at: str
    when: Literal["start", "end"] = "start"
    offline_s: float | None = None
    network: Network | None = None

    @property
    def label(self) -> str:
        what = [f"offline {self.offline_s:g} s" if self.offline_s else ""]
        what.append(f"→ {self.network.name}" if self.network else "")
        return f"{', '.join(filter(None, what))} at {self.when} of {self.at!r}"

    @property
    def slug(self) -> str:
        what = [f"off{self.offline_s:g}s" if self.offline_s else "", self.network.name if self.network else ""]
        return "-".join(filter(None, [*what, self.at]))


# -- profile and matrix ----------------------------------------------------------------------


class Profile(Frozen):
    """One combination of conditions a journey runs under."""

    device: Device
    network: Network
    region: Region
    account: Account
    switches: tuple[Switch, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.device.name}/{self.network.name}/{self.region.name}/{self.account.name}"

    @property
    def run_name(self) -> str:
        """The name a journey is stored and shown under: the profile and its mid-journey switches."""
        return self.name + "".join(f"+{s.slug}" for s in self.switches)

    def describe(self) -> dict[str, object]:
        """The full record of the conditions, JSON-able, for reports. Accounts hold no secrets."""
        return {
            "name": self.name,
            "device": self.device.model_dump(mode="json", exclude_defaults=True),
            "network": self.network.model_dump(mode="json", exclude_defaults=True),
            "region": self.region.model_dump(mode="json", exclude_defaults=True),
            "account": self.account.model_dump(mode="json", exclude_defaults=True),
            "switches": [s.label for s in self.switches],
        }


class Row(Frozen):
    probe: ProbeName
    device: Name | None = None
    network: Name | None = None
    region: Name | None = None
    account: Name | None = None
    expect: Expectation | None = None
    switches: tuple[SwitchSpec, ...] = ()
    faults: Faults = ()  # demo-shop faults for this row


class Rule(Frozen):
    """An expectation for every item matching all given fields (first matching rule wins)."""

    probe: Annotated[tuple[ProbeName, ...], BeforeValidator(_as_tuple)] = ()
    device: Names = ()
    network: Names = ()
    region: Names = ()
    account: Names = ()
    expect: Expectation

    def matches(self, probe: str, names: dict[str, str]) -> bool:
        wanted = {"probe": self.probe, "device": self.device, "network": self.network,
                  "region": self.region, "account": self.account}  # fmt: skip
        have = {"probe": probe, **names}
        return all(not values or have[key] in values for key, values in wanted.items())


class Matrix(Frozen):
    """Either a full product (``probes`` × devices × networks × regions × accounts) or explicit ``rows``.
    Empty kinds in a product mean the catalogue default."""

    name: Name
    title: str = ""
    description: str = ""
    probes: Annotated[tuple[ProbeName, ...], BeforeValidator(_as_tuple)] = ()
    devices: Names = ()
    networks: Names = ()
    regions: Names = ()
    accounts: Names = ()
    rows: tuple[Row, ...] = ()
    rules: tuple[Rule, ...] = ()
    switches: tuple[SwitchSpec, ...] = ()  # for every item
    faults: Faults = ()  # demo-shop faults for every item
    population: Population | None = None  # a population to draw journeys from (orderprobe.profiles.population)

    @model_validator(mode="after")
    def _product_or_rows(self) -> Matrix:
        if self.population is not None:
            if self.probes or self.rows:
                raise ValueError("a matrix with a `population` draws its journeys: no `probes` or `rows`")
            return self
        if bool(self.probes) == bool(self.rows):
            raise ValueError(
                "a matrix needs either `probes` (a full product), `rows` or a `population`, not several or none"
            )
        if self.rows and (self.devices or self.networks or self.regions or self.accounts):
            raise ValueError("with `rows`, give device/network/region/account per row, not as lists")
        return self


class MatrixItem(Frozen):
    probe: str
    profile: Profile
    expectation: Expectation = Expectation()
    matrix: str = ""
    stated: bool = False  # the matrix stated the expectation; otherwise the probe's own marker applies
    faults: tuple[ShopFault, ...] = ()  # demo-shop faults switched on for this journey
    draw: int | None = None  # a population sweep's journey number (its seed is ``seed``)
    seed: int | None = None  # this journey's own seed: a probe's random choices, the shop faults' draws
    population: Population | None = None  # what it was drawn from (its figures go to the report)
    sweep_seed: int | None = None  # the sweep's seed (--seed), the same for all its journeys

    @property
    def id(self) -> str:
        """Short stable id for pytest parametrisation."""
        p = self.profile
        parts = [p.device.name, p.network.name, p.region.name, p.account.name, *(s.slug for s in p.switches)]
        if self.draw is not None:  # a drawn journey: its number makes it unique; its faults are the field's
            return "-".join([f"j{self.draw:04d}", *parts])
        return "-".join([*parts, *(f.name for f in self.faults)])
