"""What a journey leaves behind: plain, JSON-able data (no Playwright in here).

These models are the contract between the engine (which fills them), the store
(which persists them), the classifier (which reads ``FailurePoint``), the reports
and the scheduler. They travel from xdist workers to the controller as JSON.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orderprobe.base.expectation import Expectation  # stated by a matrix (profiles); recorded with each journey
from orderprobe.base.taxonomy import Category


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"  # the checkout is broken (or an expected block did not happen)
    BLOCKED = "blocked"  # refused as expected (teen, region rule…): a pass
    DEGRADED = "degraded"  # reached its goal but a step ran over its time budget
    ERROR = "error"  # the probe itself is broken (selector drift, script error)
    FLAKY = "flaky"  # failed, then passed on retry; both attempts kept
    # Went through, but the scenario its row claims never happened (a switch at a step the journey
    # never reached, an outage that missed the payment): neither a pass nor a failure, like a skip.
    NOT_EXERCISED = "not_exercised"

    @property
    def ok(self) -> bool:
        """Did the journey meet its expectation (exit code 0)? Not exercised is no failure (a skip)."""
        return self in (Status.PASSED, Status.BLOCKED, Status.DEGRADED, Status.FLAKY, Status.NOT_EXERCISED)

    @property
    def counts(self) -> bool:
        """Does it say anything about availability (trend, incidents, metrics)? Not when not exercised."""
        return self is not Status.NOT_EXERCISED


class StepStatus(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SLOW = "slow"  # passed, over budget


class Interactions(BaseModel):
    """Counted in the browser (trusted events), never declared by the probe."""

    model_config = ConfigDict(extra="forbid")

    taps: int = 0  # trusted clicks / taps
    text_inputs: int = 0  # fields typed into
    page_loads: int = 0  # documents loaded (navigations)
    requests: int = 0
    bytes: int = 0  # transfer size of everything loaded
    console_errors: int = 0

    def __sub__(self, other: Interactions) -> Interactions:
        return Interactions(**{k: getattr(self, k) - getattr(other, k) for k in Interactions.model_fields})

    def __add__(self, other: Interactions) -> Interactions:
        return Interactions(**{k: getattr(self, k) + getattr(other, k) for k in Interactions.model_fields})


class RequestRecord(BaseModel):
    method: str
    url: str
    resource_type: str = ""
    status: int | None = None  # None: no response
    failure: str | None = None  # e.g. net::ERR_NAME_NOT_RESOLVED
    start_ms: float = 0.0  # offset from journey start
    duration_ms: float | None = None
    step: str | None = None
    body_excerpt: str | None = None  # short body of failed JSON/API responses (error codes)
    # The browser's own timing of the request, ms per phase: dns, connect, tls, wait (request sent →
    # first byte), download; a phase the request skipped (reused connection, cache) is absent.
    phases: dict[str, float] = Field(default_factory=dict)
    navigation: bool = False  # a main-frame navigation (the page the shopper sees), not a sub-resource
    # Still unanswered when the failure was captured: how long it had waited by then (ms).
    waited_ms: float | None = None
    # What orderprobe itself did to this request (a network profile's fault, DNS pollution, an
    # offline switch or outage), e.g. "orderprobe fault: connectionreset on **/api/* @ 30%".
    injected: str | None = None


class Vitals(BaseModel):
    """Core Web Vitals of the pages a step loaded or interacted with (probes/vitals.py); None: not measured."""

    lcp_ms: float | None = None  # Largest Contentful Paint of a page the step loaded
    cls: float | None = None  # Cumulative Layout Shift of the step's pages (unitless)
    inp_ms: float | None = None  # Interaction to Next Paint: the worst interaction of the step's pages
    fcp_ms: float | None = None  # First Contentful Paint
    ttfb_ms: float | None = None  # Time to First Byte of a document the step loaded
    url: str = ""  # the page the step ended on


class A11yViolation(BaseModel):
    id: str  # axe-core rule, e.g. image-alt, color-contrast
    impact: str = ""  # minor | moderate | serious | critical
    help: str = ""
    nodes: int = 0  # elements that break it
    targets: list[str] = Field(default_factory=list)  # the first few, as CSS selectors


class A11yScan(BaseModel):
    """``--a11y``: axe-core's WCAG A/AA violations on the page a step ended on (probes/a11y.py)."""

    url: str = ""
    violations: list[A11yViolation] = Field(default_factory=list)
    error: str = ""  # the page could not be scanned (and why)


class VisualCheck(BaseModel):
    """``journey.expect_screenshot(name)``: the page against its stored baseline (probes/visual.py),
    a signal of its own, never the step's or the journey's status."""

    name: str
    step: str = ""  # the step it was taken in ("" after the last one)
    status: str  # match | mismatch | new (baseline written) | updated (--update-baselines) | error
    baseline: str = ""  # the baseline file
    threshold: float = 0.1  # per-pixel colour distance that counts as different (0–1)
    max_diff_pixels: int = 0
    max_diff_ratio: float = 0.0
    pixels: int = 0
    diff_pixels: int = 0
    message: str = ""
    # Kept on a mismatch, relative to the artefacts folder: the baseline as it was, the page, the diff.
    expected: str | None = None
    actual: str | None = None
    diff: str | None = None

    @property
    def ratio(self) -> float:
        return self.diff_pixels / self.pixels if self.pixels else 0.0


class Outage(BaseModel):
    """One window the emulated network was down (ms from journey start), and what it held."""

    start_ms: float
    end_ms: float
    why: str = "dropout"  # dropout | switch@<step> | probe
    in_flight: list[str] = Field(default_factory=list)  # requests waiting when it began: "POST /pay (sent 8.2 s)"


class LinkRecord(BaseModel):
    """The emulated network's own record of one step: not what the page saw, what the link did."""

    mode: str  # packet | cdp
    outages: list[Outage] = Field(default_factory=list)  # windows overlapping the step
    # Packet mode: packets the link dropped while the step ran, per direction ("up": browser →
    # server) and reason (outage, lost, queue_full, retired). CDP mode cannot count packets.
    dropped: dict[str, dict[str, int]] = Field(default_factory=dict)
    # The step's traffic was held by an outage (a request in flight or sent during it, or packets
    # dropped by it), and no refusal of the shop came first: the network, not the page, stopped it.
    stalled: bool = False
    refused_first: str | None = None  # the shop's refusal that came before the outage, if any
    # The profile's link is slow by its own figures (3G-class or worse), e.g. "metro-weak: 400 ms RTT,
    # 400 kbit/s down": a failing step's answer can be late with no outage at all (probes/stall.py).
    slow: str = ""
    summary: str = ""  # one line quoting the record (what the classifier's evidence says)


class StepResult(BaseModel):
    name: str
    status: StepStatus
    start_ms: float  # offset from journey start (monotonic clock)
    duration_ms: float
    budget_ms: float | None = None
    interactions: Interactions = Field(default_factory=Interactions)
    error: str | None = None
    conditions: str | None = None  # network condition switched at this step, if any
    screenshot: str | None = None  # --screenshots on: the page at the step's end, relative to the artefacts folder
    # Requests started in this step that failed (network error or HTTP >= 400), even when they
    # failed after it ended and the page ignored them: a passed step can be where a journey broke.
    failed_requests: list[RequestRecord] = Field(default_factory=list)
    vitals: Vitals | None = None  # Web Vitals of the pages this step loaded or interacted with
    a11y: A11yScan | None = None  # --a11y: an accessibility signal of its own, never the step's status
    visual: list[VisualCheck] = Field(default_factory=list)  # journey.expect_screenshot: never the step's status
    link: LinkRecord | None = None  # the emulated network's record of this step, when it did anything
    evidence_ms: float | None = None  # a failed step: time taken capturing its evidence (not in duration_ms)


class FailurePoint(BaseModel):
    """Where and how a journey stopped: the classifier's only input."""

    # Where the journey broke: the step of the first failing action, or of an earlier failing
    # request the page went on without (see probes/first_failure.py); never a later step.
    step: str
    surfaced_at: str | None = None  # the step whose action failed, when that is later than `step`
    first_failed_request: RequestRecord | None = None  # the request that broke it, with its timing
    action: str | None = None  # e.g. "Locator.click"
    locator: str | None = None  # e.g. get_by_role("button", name="支付")
    error_type: str
    message: str
    url: str = ""
    document_status: int | None = None  # HTTP status of the page shown at failure
    page_title: str = ""
    page_text: str = ""  # visible text excerpt
    requests: list[RequestRecord] = Field(default_factory=list)  # last N
    failed_requests: list[RequestRecord] = Field(default_factory=list)
    # Requests still unanswered when the failure was captured, longest wait first, each with how
    # long it had waited (``waited_ms``) and its step: the evidence that names a timeout.
    waiting: list[RequestRecord] = Field(default_factory=list)
    console_errors: list[str] = Field(default_factory=list)
    # The browser's own validation messages of form fields that refuse their value ("Please fill
    # out this field."), as "field: message": a submit the browser stopped never reaches the shop.
    validation: list[str] = Field(default_factory=list)
    # Fields the browser refused at a submit in the failing step that are valid by the time the
    # failure was captured: the page accepted the tap before it was ready (a slow script or link).
    not_ready: list[str] = Field(default_factory=list)
    link: LinkRecord | None = None  # the emulated network's record of the failing step
    # Why the page shown at capture is not the shop's answer when the wait ended (a navigation still
    # pending: the page being left; the page changed while evidence was taken): its words decide nothing.
    unsettled: str | None = None
    # The element the step waited for, never found during the wait, was there and ready at capture:
    # it came late (a slow link), it was not refused (probes/waited.py).
    arrived_late: str | None = None
    # How evidence was taken when the page made it hard (a busy main thread stopped, a screenshot
    # taken over CDP), and what could not be taken, with why ("screenshot: none — …"). Never
    # written into the page's own fields, where cause rules would read orderprobe's words as the shop's.
    capture_notes: list[str] = Field(default_factory=list)
    screenshot: str | None = None  # path relative to the artefacts folder
    trace: str | None = None
    har: str | None = None  # the journey's HAR (probes/har.py), relative to the artefacts folder


class Cause(BaseModel):
    category: Category  # orderprobe.base.taxonomy: the seed's families, probe_broken, unknown, expectation
    detail: str = ""  # e.g. "dns", "sold_out", "maintenance"
    dependency: str | None = None  # named third party, e.g. "payment-gateway"
    rule: str = ""  # id of the rule that matched
    evidence: str = ""  # the text the rule matched on
    summary: str = ""  # one sentence for humans


class Artefact(BaseModel):
    kind: str  # screenshot (failure point) | filmstrip (a step's end) | trace | har | visual (a mismatch) | file
    path: str  # relative to the artefacts folder
    bytes: int = 0


class CleanupResult(BaseModel):
    """One ``journey.cleanup(fn)``, run after the journey whatever became of it. A failed cleanup
    never changes the journey's status: it is a low-urgency signal of its own."""

    name: str
    ok: bool
    duration_ms: float = 0.0
    error: str | None = None


class JourneyResult(BaseModel):
    id: str
    run_id: str
    probe: str  # probe name (test function without "test_")
    nodeid: str
    profile: str  # "device/network/region/account"
    conditions: dict[str, Any] = Field(default_factory=dict)  # full profile as it was applied
    target: str = ""
    worker: str = "main"
    status: Status
    expectation: Expectation = Field(default_factory=Expectation)
    started_at: datetime  # wall clock, UTC: a label only
    duration_ms: float
    steps: list[StepResult] = Field(default_factory=list)
    failure: FailurePoint | None = None
    cause: Cause | None = None
    attempt: int = 1
    previous_attempts: list[JourneyResult] = Field(default_factory=list)
    artefacts: list[Artefact] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    # How the network was emulated: "packet" (own network namespace behind an emulated link:
    # per-packet delay, jitter, loss, outages) or "cdp" (DevTools, request-level); "" before this
    # field existed. Why a run fell back to cdp is in conditions["applied"]["emulation_reason"].
    emulation: str = ""
    location: str = ""  # where the probe ran (``--location``); "" before this field existed
    # Evidence this journey could not keep (a full or read-only disk), one "could not write
    # PATH: reason" each: the controller says them and the run's exit code is not 0.
    unwritten: list[str] = Field(default_factory=list)
    # --otel-endpoint: the OpenTelemetry trace id of this journey's spans (and the shop's, via traceparent)
    trace_id: str = ""
    cleanup: list[CleanupResult] = Field(default_factory=list)
    # What the row claims that did not happen, one reason each ("switch off3s at 'pay' never
    # happened: the journey never reached 'pay'"); non-empty with status not_exercised.
    not_exercised: list[str] = Field(default_factory=list)

    @property
    def interactions(self) -> Interactions:
        total = Interactions()
        for step in self.steps:
            total = total + step.interactions
        return total

    @property
    def failed_step(self) -> str | None:
        return self.failure.step if self.failure else None
