"""Schedules as data: the YAML a monitoring agent runs, validated once into frozen models.

A bad file is refused before the service starts with ``file:line: field: problem``
(pydantic does the checking; the YAML node tree tells us the line of each field).
Secrets never live in the file: channels name the *environment variables* that hold
webhook URLs, signing secrets and SMTP passwords.
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path
from typing import Annotated, Any, Literal

from apscheduler.triggers.cron import CronTrigger
from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from orderprobe.base import location as site
from orderprobe.base.source import Document, Frozen, SourceError
from orderprobe.base.tracing import MODES as TRACE_MODES
from orderprobe.scheduler.channels import registry as channel_kinds
from orderprobe.scheduler.channels.base import env_fields
from orderprobe.scheduler.duration import Seconds
from orderprobe.scheduler.maintenance import Window

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"


class ScheduleError(SourceError):
    """A schedule file that cannot be run; the message names file, line and field."""


class MetricsConfig(Frozen):
    host: str = "127.0.0.1"  # loopback unless you mean it
    port: int = Field(9464, ge=0, le=65535)  # 0: any free port (tests)
    enabled: bool = True


class RetentionConfig(Frozen):
    days: Seconds = 14 * 86400  # runs, logs, passing artefacts
    failure_days: Seconds = 30 * 86400  # screenshots / traces of failed journeys
    every: Seconds = 3600  # how often pruning runs


class Profile(Frozen):
    device: str | None = None
    network: str | None = None
    region: str | None = None
    account: str | None = None


class AlertRule(Frozen):
    open_after: int = Field(2, ge=1)  # K consecutive failing runs open an incident
    failure_rate: float | None = Field(None, gt=0, le=1)  # …or this share of bad runs in `window`
    window: int = Field(10, ge=2)
    resolve_after: int = Field(2, ge=1)  # M consecutive passing runs resolve it
    remind_every: Seconds | None = 3600  # re-notify while open; null: never
    channels: tuple[str, ...] = ()  # checkout broken: high urgency
    low_urgency: tuple[str, ...] = ()  # probe broken / flaky / a location's own network / cleanup
    # Agreement across locations (agents sharing one database): a checkout incident is announced only
    # when this many locations (or this share of those that ran the job within `quorum_window`) fail.
    quorum: int | str | None = None
    quorum_window: Seconds = 900
    # Unacknowledged this long after it opened: also sent to `escalate_to`.
    escalate_after: Seconds | None = None
    escalate_to: tuple[str, ...] = ()

    @field_validator("quorum")
    @classmethod
    def _quorum(cls, value: int | str | None) -> int | str | None:
        if isinstance(value, str):
            match = re.fullmatch(r"\s*(\d+)\s*%\s*", value)
            if match is None and value.strip().isdigit():
                return cls._quorum(int(value))
            if match is None or not 0 < int(match.group(1)) <= 100:
                raise ValueError(f"not a quorum: {value!r} (a number of locations, e.g. 2, or a share, e.g. 50%)")
            return f"{int(match.group(1))}%"
        if value is not None and value < 1:
            raise ValueError("a quorum is at least 1 location")
        return value

    @model_validator(mode="after")
    def _escalation(self) -> AlertRule:
        if self.escalate_to and self.escalate_after is None:
            raise ValueError(
                "`escalate_to` needs `escalate_after` (e.g. 15m): how long an incident may go unacknowledged"
            )
        return self

    def needed(self, locations: int) -> int:
        """Locations that must agree, of ``locations`` that ran the job recently (at least one)."""
        if self.quorum is None:
            return 1
        if isinstance(self.quorum, str):
            return max(1, -(-locations * int(self.quorum.rstrip("%")) // 100))
        return self.quorum


class JobConfig(Frozen):
    id: Annotated[str, Field(pattern=_ID)]
    description: str = ""
    matrix: str | None = None
    probes: tuple[str, ...] = ()
    profile: Profile | None = None
    select: str | None = None  # pytest -k expression
    target: str | None = None  # default: the file's target
    every: Seconds | None = None
    cron: str | None = None
    timezone: str = "Asia/Shanghai"
    timeout: Seconds = 600
    # A monitor retries a failed journey once: a blip is recorded as flaky, not alerted, and
    # the retry records the Playwright trace (the default --tracing on-first-retry).
    retries: int = Field(1, ge=0, le=5)
    tracing: str = "on-first-retry"
    # `orderprobe run --screenshots`: "on" adds a screenshot per step (the run report's filmstrip).
    screenshots: Literal["on", "failure", "off"] = "failure"
    misfire_grace: Seconds = 60
    # Synthetic-traffic tagging of the target's requests (`orderprobe run --synthetic-header`): the
    # header's name (e.g. X-Orderprobe-Run), and a user-agent suffix.
    synthetic_header: str | None = None
    user_agent_suffix: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    alert: AlertRule = Field(default_factory=AlertRule)
    # Run this argv instead of `orderprobe run` ({run_id} {target} {results} {artefacts} are filled in).
    command: tuple[str, ...] | None = None

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str | None) -> str | None:
        if value is not None:
            CronTrigger.from_crontab(value)  # ValueError names the bad field of the expression
        return value

    @field_validator("tracing")
    @classmethod
    def _tracing_mode(cls, value: str) -> str:
        if value not in TRACE_MODES:
            raise ValueError(f"unknown tracing mode {value!r}; one of: {', '.join(TRACE_MODES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai, UTC)") from None
        return value

    @model_validator(mode="after")
    def _one_trigger_one_selection(self) -> JobConfig:
        if (self.every is None) == (self.cron is None):
            raise ValueError("give exactly one trigger: `every` (e.g. 5m) or `cron` (e.g. '*/5 * * * *')")
        if self.command is None and self.matrix is None and not self.probes:
            raise ValueError("name a `matrix` or `probes` (or a `command`) to run")
        if self.matrix is not None and (self.probes or self.profile):
            raise ValueError("`matrix` and `probes`/`profile` are alternatives; give one")
        return self


# One entry under `channels:`: each kind's own model (scheduler/channels/), told apart by `type`.
ChannelConfig = channel_kinds.settings_type()


class AckConfig(Frozen):
    """Signed acknowledgement links in alerts: ``url`` is this service as the on-call reaches it
    (default: the metrics address), ``secret_env`` the env var holding the signing key; without
    the key, no links (``orderprobe schedule ack`` still works)."""

    url: str | None = None
    secret_env: str | None = None
    valid_for: Seconds = 7 * 86400


class ScheduleConfig(Frozen):
    agent: Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")] = "local"  # one job table per agent
    # Where this agent probes from; --location and $ORDERPROBE_LOCATION override it (see ``at``).
    location: Annotated[str | None, Field(pattern=site.PATTERN.pattern)] = None
    database: str | None = None  # SQLAlchemy URL; default: the results store's
    artefacts: str = "var/artefacts"
    target: str | None = None  # default target of every job
    report_url: str | None = None  # e.g. https://probes.example/runs/{run_id}; default: the artefact path
    shutdown_grace: Seconds = 30
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    channels: dict[Annotated[str, Field(pattern=_ID)], ChannelConfig] = Field(default_factory=dict)
    maintenance: tuple[Window, ...] = ()
    ack: AckConfig = Field(default_factory=AckConfig)
    jobs: tuple[JobConfig, ...]
    source: str = Field("", exclude=True)  # file it came from, for messages
    warnings: tuple[str, ...] = Field((), exclude=True)  # e.g. channels disabled because their env vars are unset

    @field_validator("jobs")
    @classmethod
    def _jobs_unique(cls, jobs: tuple[JobConfig, ...]) -> tuple[JobConfig, ...]:
        if not jobs:
            raise ValueError("no jobs: add at least one under `jobs:`")
        ids = [job.id for job in jobs]
        twice = sorted({i for i in ids if ids.count(i) > 1})
        if twice:
            raise ValueError(f"job id {twice[0]!r} is used twice")
        return jobs

    def at(self, location: str | None = None) -> ScheduleConfig:
        """This schedule for an agent at ``location`` (--location), else $ORDERPROBE_LOCATION, else
        the file's ``location:``, else the host name. A location chosen on purpose also names the
        agent when the file does not: two sites sharing a database must not share a job table."""
        chosen = location or os.environ.get(site.ENV) or self.location
        update: dict[str, Any] = {"location": site.check(chosen or site.default())}
        if "agent" not in self.model_fields_set:  # pinned either way: calling ``at`` again changes nothing
            agent = re.sub(r"[^A-Za-z0-9_]", "_", chosen or "")
            agent = agent if agent == chosen else f"{agent}_{zlib.crc32((chosen or '').encode()):08x}"
            update["agent"] = agent if chosen else self.agent
        return self.model_copy(update=update)

    def job(self, job_id: str) -> JobConfig:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(f"no job {job_id!r} (jobs: {', '.join(j.id for j in self.jobs)})")


# ---------------------------------------------------------------- loading with lines


def _catalogue_errors(jobs: list, catalogue: Any) -> list[tuple[tuple, str]]:
    """Matrix and profile names must exist in the profile catalogue (``orderprobe.profiles.catalogue``)."""
    errors = []
    for i, job in enumerate(jobs):
        if not isinstance(job, dict) or job.get("command"):
            continue
        profile = job.get("profile") if isinstance(job.get("profile"), dict) else {}
        names = [(("matrix",), "matrix", job.get("matrix"))]
        names += [(("profile", kind), kind, profile.get(kind)) for kind in ("device", "network", "region", "account")]
        for loc, kind, name in names:
            if not isinstance(name, str):
                continue
            try:
                catalogue.expand(name) if kind == "matrix" else catalogue.profile(**{kind: name})
            except ValueError as exc:
                errors.append((("jobs", i, *loc), getattr(exc, "message", str(exc))))
    return errors


def _env_vars(channel: object) -> list[tuple[str, str]]:
    """(field, variable name) of every env var a channel names."""
    return env_fields(channel) if isinstance(channel, dict) else []


def _unconfigured(data: dict, environ: dict[str, str] | None) -> list[str]:
    """Channels none of whose env vars are set: not set up on this machine yet (e.g. the shipped
    example), so they are disabled with a warning instead of refusing the whole schedule."""
    channels = data.get("channels") if isinstance(data.get("channels"), dict) else {}
    if environ is None:
        return []
    return [
        name for name, c in channels.items() if (names := _env_vars(c)) and not any(environ.get(v) for _, v in names)
    ]


def _reference_errors(data: dict, environ: dict[str, str] | None, disabled: list[str]) -> list[tuple[tuple, str]]:
    """Channel names a job uses must exist; with `environ`, a channel that is set up (some of its
    env vars set) must have all of them set: half a configuration would fail at the first alert."""
    channels = data.get("channels") if isinstance(data.get("channels"), dict) else {}
    errors = []
    jobs = data.get("jobs") if isinstance(data.get("jobs"), list) else []
    for i, job in enumerate(jobs):
        alert = job.get("alert") if isinstance(job, dict) else None
        for key in ("channels", "low_urgency", "escalate_to"):
            names = alert.get(key) if isinstance(alert, dict) else None
            for j, name in enumerate(names if isinstance(names, list) else []):
                if name not in channels:
                    known = ", ".join(sorted(channels)) or "none defined"
                    problem = f"unknown channel {name!r} (channels: {known})"
                    errors.append((("jobs", i, "alert", key, j), problem))
    ids = [job.get("id") for job in jobs if isinstance(job, dict)]
    windows = data.get("maintenance") if isinstance(data.get("maintenance"), list) else []
    for i, window in enumerate(windows):
        names = window.get("jobs") if isinstance(window, dict) else None
        for j, name in enumerate(names if isinstance(names, list) else []):
            if name not in ids:
                errors.append(
                    (("maintenance", i, "jobs", j), f"unknown job {name!r} (jobs: {', '.join(map(str, ids))})")
                )
    if environ is not None:
        for name, channel in channels.items():
            for field, var in _env_vars(channel):
                if name not in disabled and not environ.get(var):
                    errors.append((("channels", name, field), f"environment variable {var} is not set"))
    return errors


def _without(data: dict, disabled: list[str]) -> dict:
    """The document with the disabled channels and every reference to them removed."""
    if not disabled:
        return data
    jobs = []
    for job in data.get("jobs") or []:
        alert = job.get("alert") if isinstance(job, dict) else None
        if isinstance(alert, dict):
            lists = {k: [n for n in alert[k] if n not in disabled] for k in ("channels", "low_urgency", "escalate_to")
                     if isinstance(alert.get(k), list)}  # fmt: skip
            job = {**job, "alert": {**alert, **lists}}
        jobs.append(job)
    channels = {k: v for k, v in data["channels"].items() if k not in disabled}
    return {**data, "channels": channels, "jobs": jobs}


def _disabled_warning(data: dict, name: str, doc: Document) -> str:
    names = [v for _, v in _env_vars(data["channels"][name])]
    users = [
        str(job.get("id"))
        for job in data.get("jobs") or []
        if isinstance(job, dict) and isinstance(alert := job.get("alert"), dict)
        and any(name in (alert.get(k) or ()) for k in ("channels", "low_urgency", "escalate_to"))
    ]  # fmt: skip
    unset = ", ".join(names)
    jobs = f"; alerts of {', '.join(users)} will not go there" if users else ""
    return str(doc.problem(("channels", name), f"disabled, {unset} {'is' if len(names) == 1 else 'are'} not set{jobs}"))


def parse(
    text: str, source: str = "<schedule>", environ: dict[str, str] | None = None, catalogue: Any = None
) -> ScheduleConfig:
    """Validate a schedule document; raise ScheduleError listing every problem by line.

    The service also passes ``environ`` and the profile ``catalogue`` (matrix and profile names
    must exist), so a run never fails on them. With ``environ``, a channel none of whose env vars
    is set is disabled (dropped, with a line in ``warnings``); one with only some of them set is refused.
    """
    return _validate(Document(text=text, name=source, what="schedule file"), environ, catalogue)


def load(path: str | Path, environ: dict[str, str] | None = None, catalogue: Any = None) -> ScheduleConfig:
    return _validate(Document(Path(path), what="schedule file"), environ, catalogue)


def _validate(doc: Document, environ: dict[str, str] | None, catalogue: Any) -> ScheduleConfig:
    data = doc.mapping("a schedule file is a mapping with `jobs:` (and `channels:`, …)")
    doc.check(ScheduleError)
    assert data is not None
    disabled = _unconfigured(data, environ)
    warnings = [_disabled_warning(data, name, doc) for name in disabled]
    config = doc.validate(ScheduleConfig, {**_without(data, disabled), "source": doc.name, "warnings": warnings})
    problems = _reference_errors(data, environ, disabled)
    if catalogue is not None and isinstance(data.get("jobs"), list):
        problems += _catalogue_errors(data["jobs"], catalogue)
    doc.problems += [doc.problem(loc, message) for loc, message in problems]
    doc.check(ScheduleError)
    assert config is not None
    return config
