"""Realistic synthetic results: for report previews, tests and benchmarks (never for real runs).

Journeys look like what the engine records against the demo shop: Chinese page text,
steps with interactions, failures with requests, screenshots and a classified cause.
Everything is drawn from a seeded ``random.Random`` so a given seed gives the same store.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from orderprobe.base.result import (
    Artefact,
    Cause,
    Expectation,
    FailurePoint,
    Interactions,
    JourneyResult,
    RequestRecord,
    Status,
    StepResult,
    StepStatus,
    Vitals,
)

if TYPE_CHECKING:
    from orderprobe.store.store import Store

# probe -> steps (name, typical ms on wifi, taps, text inputs, page loads)
PROBES: dict[str, list[tuple[str, float, int, int, int]]] = {
    "path_video": [
        ("open_video", 900, 0, 0, 1),
        ("add_to_cart", 600, 2, 0, 0),
        ("open_cart", 700, 3, 0, 1),
        ("checkout", 800, 1, 0, 1),
        ("address", 500, 1, 2, 0),
        ("pay", 1200, 2, 1, 1),
    ],
    "path_live": [("open_live", 1100, 0, 0, 1), ("product", 700, 1, 0, 1), ("pay", 1200, 2, 1, 1)],
    "path_subsidy": [("open_subsidy", 800, 0, 0, 1), ("buy_now", 1000, 1, 0, 1)],
}
PROFILES = [
    "redmi-9a/wifi/shanghai/normal",
    "redmi-9a/metro-weak/shanghai/normal",
    "android4-old/4g/xinjiang-urumqi/normal",
    "iphone-12/wifi/tibet-nagqu/teen",
]
NETWORK_FACTOR = {"wifi": 1.0, "4g": 1.6, "metro-weak": 3.2}
CAUSES = [
    Cause(
        category="third_party",
        detail="maintenance",
        dependency="alipay",
        rule="payment-maintenance",
        evidence="支付通道维护中，请使用云闪付",
        summary="第三方支付维护 (payment channel under maintenance)",
    ),
    Cause(
        category="network",
        detail="dns",
        dependency=None,
        rule="dns-polluted-payment",
        evidence="net::ERR_NAME_NOT_RESOLVED pay.shop.localhost",
        summary="DNS 污染，支付域名无法解析",
    ),
    Cause(
        category="inventory",
        detail="sold_out",
        rule="sold-out-text",
        evidence="已售罄",
        summary="直播秒杀品已售罄 (sold out)",
    ),
    Cause(
        category="system",
        detail="gateway_5xx",
        dependency="payment-gateway",
        rule="gateway-5xx",
        evidence="HTTP 502 /api/pay",
        summary="支付网关崩溃 (gateway 502)",
    ),
]


def _vitals(duration: float, loads: int, taps: int) -> Vitals | None:
    """Web Vitals that follow from the step (no random draws, so seeded histories stay as they were)."""
    if not loads and not taps:
        return None
    loaded = dict(lcp_ms=round(duration * 0.7, 1), fcp_ms=round(duration * 0.4, 1), ttfb_ms=round(duration * 0.1, 1))
    inp = 80.0 + 40 * taps if taps else None
    return Vitals(**(loaded if loads else {}), cls=round(duration / 40_000, 4), inp_ms=inp)


def journey(
    rng: random.Random,
    *,
    run_id: str,
    probe: str,
    profile: str,
    started_at: datetime,
    status: Status = Status.PASSED,
    cause: Cause | None = None,
    index: int = 0,
    product: str = "新疆阿克苏冰糖心苹果 5kg",
) -> JourneyResult:
    """One journey; a failing status stops at a random step with a full failure point."""
    device, network, region, account = profile.split("/")
    factor = NETWORK_FACTOR.get(network, 1.0)
    plan = PROBES[probe]
    stop = rng.randrange(len(plan)) if status in (Status.FAILED, Status.ERROR, Status.BLOCKED) else None
    steps: list[StepResult] = []
    clock = 0.0
    for i, (name, ms, taps, inputs, loads) in enumerate(plan):
        duration = round(ms * factor * rng.uniform(0.8, 1.3), 1)
        failed = i == stop
        slow = status is Status.DEGRADED and i == len(plan) - 1
        step_status = StepStatus.FAILED if failed else StepStatus.SLOW if slow else StepStatus.PASSED
        counts = Interactions(
            taps=taps,
            text_inputs=inputs,
            page_loads=loads,
            requests=4 + loads * 9,
            bytes=(20 + loads * 180) * 1024,
        )
        steps.append(
            StepResult(
                name=name,
                status=step_status,
                start_ms=round(clock, 1),
                duration_ms=duration,
                budget_ms=ms * 2.5 if slow else None,
                interactions=counts,
                error="TimeoutError: Locator.click: Timeout 15000ms exceeded" if failed else None,
                vitals=_vitals(duration, loads, taps),
            )
        )
        clock += duration + rng.uniform(5, 40)
        if failed:
            break
    failure = artefacts = None
    if stop is not None:
        step = plan[stop][0]
        base = f"{run_id}/{probe}-{index}"
        failure = FailurePoint(
            step=step,
            action="Locator.click",
            locator='get_by_role("button", name="立即支付")',
            error_type="TimeoutError",
            message="Locator.click: Timeout 15000ms exceeded.\n  waiting for get_by_role('button', name='立即支付')",
            url=f"http://shop.localhost:8123/checkout?item=42&from={probe}",
            document_status=200,
            page_title="确认订单",
            page_text=f"确认订单 {product} ¥59.90 {cause.evidence if cause else ''}",
            requests=[
                RequestRecord(method="GET", url="http://shop.localhost:8123/checkout", status=200, duration_ms=180),
                RequestRecord(
                    method="POST",
                    url="http://pay.shop.localhost:8124/api/pay",
                    resource_type="fetch",
                    status=503,
                    start_ms=clock - 300,
                    duration_ms=240,
                    step=step,
                    body_excerpt='{"code":"CHANNEL_MAINTENANCE","msg":"支付通道维护中"}',
                ),
            ],
            failed_requests=[
                RequestRecord(method="POST", url="http://pay.shop.localhost:8124/api/pay", status=503, step=step)
            ],
            console_errors=["Uncaught (in promise) Error: pay failed 503"],
            screenshot=f"{base}/failure.png",
            trace=f"{base}/trace.zip",
        )
        artefacts = [
            Artefact(kind="screenshot", path=f"{base}/failure.png", bytes=48_000),
            Artefact(kind="trace", path=f"{base}/trace.zip", bytes=1_200_000),
        ]
    expectation = (
        Expectation(outcome="blocked", causes=("account",), reason="青少年模式须拦截")
        if account == "teen"
        else Expectation()
    )
    return JourneyResult(
        id=f"{run_id}:{probe}:{profile}:{index}",
        run_id=run_id,
        probe=probe,
        nodeid=f"probes/checkout/test_paths.py::test_{probe}[{profile}]",
        profile=profile,
        conditions={
            "device": {
                "name": device,
                "viewport": {"width": 360, "height": 640},
                "user_agent": "Mozilla/5.0 (Linux)",
            },
            "network": {"name": network, "latency_ms": 40 * factor, "down_kbps": int(20000 / factor)},
            "region": {"name": region, "locale": "zh-CN", "timezone": "Asia/Shanghai"},
            "account": {"name": account, "user": f"test-{account}", "password_env": "SHOP_PASSWORD"},
        },
        target="http://shop.localhost:8123",
        worker=f"gw{index % 2}",
        status=status,
        expectation=expectation,
        started_at=started_at,
        duration_ms=round(clock, 1),
        steps=steps,
        failure=failure,
        cause=cause if stop is not None else None,
        artefacts=artefacts or [],
    )


def run_journeys(
    rng: random.Random, run_id: str, started_at: datetime, *, repeat: int = 1, failing: float = 0.1
) -> list[JourneyResult]:
    """Every probe × profile, ``repeat`` times; about ``failing`` of them fail."""
    out = []
    index = 0
    for _ in range(repeat):
        for probe in PROBES:
            for profile in PROFILES:
                roll = rng.random()
                status, cause = Status.PASSED, None
                if profile.endswith("/teen"):
                    status, cause = Status.BLOCKED, Cause(category="account", detail="teen", rule="teen-mode")
                elif roll < failing:
                    status, cause = Status.FAILED, rng.choice(CAUSES)
                elif roll < failing * 1.3:
                    status = Status.DEGRADED
                elif roll < failing * 1.5:
                    status = Status.FLAKY
                when = started_at + timedelta(seconds=index * 2)
                out.append(
                    journey(
                        rng,
                        run_id=run_id,
                        probe=probe,
                        profile=profile,
                        started_at=when,
                        status=status,
                        cause=cause,
                        index=index,
                    )
                )
                index += 1
    return out


def history(
    rng: random.Random,
    *,
    start: datetime,
    runs: int,
    every: timedelta = timedelta(minutes=5),
    outages: Sequence[tuple[datetime, datetime, Cause, str | None]] = (),  # (from, to, cause, probe or all)
    repeat: int = 1,
    noise: float = 0.004,  # share of random failures outside outages
) -> list[tuple[str, datetime, list[JourneyResult]]]:
    """Scheduled runs every ``every``: mostly healthy, failing inside each outage window."""
    out = []
    for k in range(runs):
        when = start + k * every
        run_id = f"sched-{when:%Y%m%d-%H%M%S}"
        journeys = run_journeys(rng, run_id, when, repeat=repeat, failing=noise)
        for i, j in enumerate(journeys):
            for begin, end, cause, probe in outages:
                if begin <= j.started_at < end and probe in (None, j.probe) and j.status is not Status.BLOCKED:
                    journeys[i] = journey(
                        rng,
                        run_id=run_id,
                        probe=j.probe,
                        profile=j.profile,
                        started_at=j.started_at,
                        status=Status.FAILED,
                        cause=cause,
                        index=i,
                    )
        out.append((run_id, when, journeys))
    return out


def fill(store: Store, runs: list[tuple[str, datetime, list[JourneyResult]]], target: str = "") -> None:
    """Write ``history()`` output into a ``orderprobe.store.store.Store`` (one transaction per run)."""
    for run_id, when, journeys in runs:
        store.start_run(run_id, started_at=when, target=target or journeys[0].target, matrix="smoke")
        store.add_journeys(journeys)
        finished = when + timedelta(milliseconds=max(j.duration_ms for j in journeys) + 2000 * len(journeys))
        store.finish_run(run_id, finished_at=finished, exit_code=0 if all(j.status.ok for j in journeys) else 1)
