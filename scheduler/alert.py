"""The alert message: one JSON-able model, rendered as plain text or markdown for the channels.

Every channel says the same thing: which job, which step failed, the cause the
classifier named, the profile, when it first failed, and where the report is.
Chinese first, English where it helps the on-call engineer searching logs.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from orderprobe.base.result import JourneyResult

Event = Literal["open", "remind", "resolve"]
MAX_LISTED = 5  # journeys listed in one message; the rest are counted

KIND_TITLE = {
    "checkout": "下单故障 Checkout failing",
    "probe_broken": "探针故障 Probe broken",
    "flaky": "结果不稳定 Flaky",
    "location": "探测点网络异常 Probe location's own network",
    "cleanup": "测试订单未清理 Synthetic order cleanup failed",
}
EVENT_MARK = {"open": "🔴", "remind": "⏰", "resolve": "✅"}
EVENT_WORD = {"open": "", "remind": "仍未恢复 Still open · ", "resolve": "已恢复 Resolved · "}


class Problem(BaseModel):
    """One journey that did not go as expected, as an alert tells it."""

    probe: str
    profile: str
    status: str
    kind: str = "checkout"  # the incident kind it counts against
    step: str | None = None
    cause: str = ""  # category/detail, e.g. payment/gateway_down
    dependency: str | None = None
    summary: str = ""  # the classifier's sentence, or the error
    attempts: int = 1  # the job's `retries` tried it this often in the run, all failing (or the last passing: flaky)

    @classmethod
    def of(cls, journey: JourneyResult, kind: str) -> Problem:
        cause = journey.cause
        error = journey.failure.message.splitlines()[0][:200] if journey.failure and journey.failure.message else ""
        return cls(
            probe=journey.probe,
            profile=journey.profile,
            status=str(journey.status),
            kind=kind,
            step=journey.failed_step,
            cause=f"{cause.category}/{cause.detail}".rstrip("/") if cause else "",
            dependency=cause.dependency if cause else None,
            summary=(cause.summary if cause and cause.summary else error),
            attempts=1 + len(journey.previous_attempts),
        )


class Alert(BaseModel):
    event: Event
    kind: str  # checkout | probe_broken | flaky
    urgency: str  # high | low
    incident_id: int
    job: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    first_failure_at: datetime
    opened_at: datetime
    resolved_at: datetime | None = None
    bad_runs: int = 0  # runs counted against this incident so far
    run_id: str  # the run that triggered this message
    report: str = ""  # path or URL of that run's report
    problems: list[Problem] = Field(default_factory=list)
    error: str = ""  # the run itself died (timeout, crash)
    location: str = ""  # the agent's location whose run triggered this message
    locations: list[str] = Field(default_factory=list)  # every location that saw this incident fail
    agreed: list[str] = Field(default_factory=list)  # quorum: the locations failing when it was announced…
    disagreed: list[str] = Field(default_factory=list)  # …and those that ran the job and did not fail
    quorum: str = ""  # e.g. "2 of 3 locations (quorum 2)"
    held: str = ""  # the maintenance window that held this message until its end
    escalated: bool = False  # unacknowledged past escalate_after: sent to the second channel list
    acknowledged: str = ""  # who acknowledged it, and when
    ack_url: str = ""  # signed link that acknowledges the incident (stops escalation)
    sent_at: datetime | None = None  # when this message was made (reminders say how long it has been open)

    # -- rendering -------------------------------------------------------------------

    def _time(self, moment: datetime) -> str:
        return moment.astimezone(ZoneInfo(self.timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")

    @property
    def title(self) -> str:
        mark, word = ("🚨", "升级 Escalated · ") if self.escalated else (EVENT_MARK[self.event], EVENT_WORD[self.event])
        return f"{mark} {word}{KIND_TITLE.get(self.kind, self.kind)} · {self.job}"

    def facts(self) -> list[tuple[str, str]]:
        """(label, value) pairs every channel shows."""
        facts = [("任务 Job", self.job + (f" — {self.description}" if self.description else ""))]
        if self.labels:
            facts.append(("标签 Labels", ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()))))
        where = self.locations or [self.location]
        if any(where):
            facts.append(("地点 Location" + ("s" if len(where) > 1 else ""), ", ".join(w for w in where if w)))
        if self.quorum:
            facts.append(("一致 Agreed", f"{', '.join(self.agreed) or '-'} · {self.quorum}"))
            facts.append(("未失败 Not failing", ", ".join(self.disagreed) or "-"))
        facts.append(("首次失败 First failure", self._time(self.first_failure_at)))
        if self.event == "resolve" and self.resolved_at is not None:
            facts.append(("恢复时间 Resolved", self._time(self.resolved_at)))
            facts.append(("持续 Duration", _duration(self.resolved_at - self.first_failure_at)))
        else:
            facts.append(("失败次数 Failing runs", str(self.bad_runs)))
            if self.event == "remind" and self.sent_at is not None:
                facts.append(("已持续 Open for", _duration(self.sent_at - self.opened_at)))
        if self.held:
            facts.append(("维护期间暂缓 Held during maintenance", self.held))
        if self.acknowledged:
            facts.append(("已确认 Acknowledged", self.acknowledged))
        elif self.ack_url and self.event != "resolve":
            facts.append(("确认 Acknowledge", self.ack_url))
        facts.append(("紧急程度 Urgency", "高 high" if self.urgency == "high" else "低 low"))
        if self.error:
            facts.append(("运行错误 Run error", self.error))
        facts.append(("运行 Run", self.run_id))
        if self.report:
            facts.append(("报告 Report", self.report))
        return facts

    def problem_lines(self) -> list[str]:
        lines = []
        for p in self.problems[:MAX_LISTED]:
            where = f"步骤 step「{p.step}」" if p.step else "步骤 step ?"
            cause = f"原因 cause {p.cause}" + (f" ({p.dependency})" if p.dependency else "") if p.cause else ""
            tries = f"尝试 {p.attempts} 次 after {p.attempts} attempts" if p.attempts > 1 else ""
            parts = [f"{p.probe} [{p.status}]", where, cause, f"画像 profile {p.profile}", tries, p.summary]
            lines.append(" · ".join(part for part in parts if part))
        if len(self.problems) > MAX_LISTED:
            lines.append(f"…及其他 {len(self.problems) - MAX_LISTED} 项 (and {len(self.problems) - MAX_LISTED} more)")
        return lines

    def text(self) -> str:
        body = [self.title, *(f"{k}: {v}" for k, v in self.facts())]
        if self.problems and self.event != "resolve":
            body += ["失败详情 Failures:", *(f"- {line}" for line in self.problem_lines())]
        return "\n".join(body)

    def markdown(self, bold: str = "**", escape: Callable[[str], str] = str) -> str:
        """``escape`` turns each value (page text, URLs, errors: untrusted) into inert text of
        the channel's markup, so only the labels' emphasis is markup."""
        body = [f"{bold}{k}{bold}: {escape(v)}" for k, v in self.facts()]
        if self.problems and self.event != "resolve":
            body += [f"{bold}失败详情 Failures{bold}:", *(f"- {escape(line)}" for line in self.problem_lines())]
        return "\n".join(body)


def _duration(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m{seconds:02d}s" if hours else f"{minutes}m{seconds:02d}s"
