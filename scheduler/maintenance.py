"""Maintenance windows: when a job's alerts are held (its probes still run and are recorded).

A window is one-off (``start`` / ``end``), recurring by ``cron`` + ``duration``, or a
``weekly`` range (``"Sun 01:00-03:00"``, ``"mon-fri 12:00-12:30"``; an end before the start
runs past midnight), in the window's own time zone. A ``weekly`` range is a cron start plus a
duration, so both recurring forms share one computation. At the window's end its held alerts
are released (``after: release``, the default) or dropped (``after: drop``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.cron import CronTrigger
from pydantic import BeforeValidator, Field, field_validator, model_validator

from orderprobe.base.source import Frozen
from orderprobe.scheduler.duration import seconds

_WEEKLY = re.compile(r"^\s*(?P<days>[A-Za-z]{3}(?:[-,][A-Za-z]{3})*)\s+(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*-\s*"
                     r"(?P<h2>\d{1,2}):(?P<m2>\d{2})\s*$")  # fmt: skip
After = Literal["release", "drop"]


@dataclass(frozen=True)
class Occurrence:
    """One stretch of a window in force: [starts, ends) in UTC."""

    name: str
    starts: datetime
    ends: datetime
    reason: str
    after: After


class Window(Frozen):
    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
    jobs: tuple[str, ...] = ()  # none: every job of the file
    reason: str = ""
    timezone: str = "Asia/Shanghai"
    start: datetime | None = None  # one-off; a time without an offset is in `timezone`
    end: datetime | None = None
    cron: str | None = None  # recurring: when it starts…
    duration: Annotated[float | None, BeforeValidator(seconds), Field(gt=0)] = None  # …and for how long
    weekly: str | None = None  # recurring: "Sun 01:00-03:00"
    after: After = "release"  # held alerts at the end: sent (still-open incidents) or dropped

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai, UTC)") from None
        return value

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None:
            CronTrigger.from_crontab(value)
        return value

    @field_validator("weekly")
    @classmethod
    def _weekly(cls, value: str | None) -> str | None:
        if value is not None:
            match = _WEEKLY.match(value)
            clock = [int(match[k]) for k in ("h1", "m1", "h2", "m2")] if match else []
            if not match or max(clock[0], clock[2]) > 23 or max(clock[1], clock[3]) > 59:
                raise ValueError(f"not a weekly range: {value!r} (use e.g. 'Sun 01:00-03:00' or 'mon-fri 12:00-12:30')")
            CronTrigger(day_of_week=match["days"].lower())  # ValueError names a bad day
        return value

    @model_validator(mode="after")
    def _one_form(self) -> Window:
        forms = [self.start is not None or self.end is not None, self.cron is not None, self.weekly is not None]
        if sum(forms) != 1:
            raise ValueError("give exactly one of: `start` + `end` (one-off), `cron` + `duration`, or `weekly`")
        if forms[0] and (self.start is None or self.end is None or self._aware(self.end) <= self._aware(self.start)):
            raise ValueError("a one-off window needs `start` and a later `end`")
        if forms[1] and self.duration is None:
            raise ValueError("a cron window needs `duration` (e.g. 30m)")
        if not forms[1] and self.duration is not None:
            raise ValueError("`duration` goes with `cron` only")
        return self

    def _aware(self, moment: datetime) -> datetime:
        return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo(self.timezone))

    def _recurring(self) -> tuple[CronTrigger, timedelta]:
        zone = ZoneInfo(self.timezone)
        if self.cron is not None:
            assert self.duration is not None
            return CronTrigger.from_crontab(self.cron, timezone=zone), timedelta(seconds=self.duration)
        match = _WEEKLY.match(self.weekly or "")
        assert match is not None
        starts, ends = int(match["h1"]) * 60 + int(match["m1"]), int(match["h2"]) * 60 + int(match["m2"])
        minutes = (ends - starts) % (24 * 60) or 24 * 60
        trigger = CronTrigger(day_of_week=match["days"].lower(), hour=match["h1"], minute=match["m1"], timezone=zone)
        return trigger, timedelta(minutes=minutes)

    def covers(self, job: str) -> bool:
        return not self.jobs or job in self.jobs

    def at(self, now: datetime) -> Occurrence | None:
        """The occurrence in force at ``now`` (aware), if any."""
        if self.start is not None and self.end is not None:
            starts, ends = self._aware(self.start), self._aware(self.end)
        else:
            trigger, length = self._recurring()
            # The first start after (now - length) is the one still running at now, if it began by then.
            first = trigger.get_next_fire_time(None, now - length + timedelta(microseconds=1))
            if first is None:
                return None
            starts, ends = first, first + length
        if starts <= now < ends:
            return Occurrence(self.name, starts, ends, self.reason, self.after)
        return None
