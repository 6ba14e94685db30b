"""Run-time faults of one shop instance: what can break, its parameters, and outage windows.

Parameters are validated by pydantic models (strings from the CLI are coerced: "1500" → 1500).
A fault set with ``seconds=N`` switches itself off after N seconds (an outage window).
"""

from __future__ import annotations

import ipaddress
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoParams(_Params):
    pass


class Delay(_Params):
    ms: int = Field(3000, ge=0, le=600_000)


class LongDelay(_Params):
    ms: int = Field(120_000, ge=0, le=3_600_000)  # "hangs": far past any probe timeout


class InventoryLag(_Params):
    sku: str | None = None  # only this product; default: every product
    lag_s: float = Field(30.0, ge=0, le=86_400)  # pages show the stock of this many seconds ago (seed: 30 s+)


class IpBanned(_Params):
    # Client addresses on the risk-control blocklist. Default: every IPv4 client — loopback, and a
    # packet-mode browser, which reaches the shop from its own 100.64.0.0/10 address.
    cidr: str = "0.0.0.0/0"

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, v: str) -> str:
        try:
            return str(ipaddress.ip_network(v, strict=False))
        except ValueError:
            raise ValueError(f"not an IP network: {v!r} (e.g. 127.0.0.0/8, 10.1.2.3/32)") from None

    def covers(self, host: str | None) -> bool:
        try:
            return host is not None and ipaddress.ip_address(host) in ipaddress.ip_network(self.cidr)
        except ValueError:
            return False


class SdkConflict(_Params):
    loaded: str = Field("2.8.1", pattern=r"^\d+(\.\d+)*$")  # the stale SDK the cashier gets instead of 3.x


NORTH_CHINA = ("北京", "天津", "河北", "山西", "内蒙古")  # 华北


class RegionalPayment(_Params):
    provinces: tuple[str, ...] = NORTH_CHINA  # short names of the shipping provinces hit
    rate: float = Field(0.47, ge=0.0, le=1.0)  # seed: 华北区支付失败率飙升至 47%
    seed: int = 0


class Api5xx(_Params):
    rate: float = Field(1.0, ge=0.0, le=1.0)
    seed: int = 0
    pages: bool = False  # also answer HTML page routes with 502 at that rate


class CouponBroken(_Params):
    rate: float = Field(0.38, ge=0.0, le=1.0)  # seed §7: 新人优惠券领取与使用的流程断裂率高达38%
    seed: int = 0


# seed §4 缺货率: 直播秒杀品 92%, 跨境美妆 67%, 农产品 45% (product tags of orderprobe.shop.catalogue)
FIELD_STOCKOUTS = {"flash_sale": 0.92, "cross_border": 0.67, "agricultural": 0.45}


class StockOut(_Params):
    rates: dict[str, float] = Field(default_factory=lambda: dict(FIELD_STOCKOUTS))  # product tag → share sold out
    seed: int = 0

    @field_validator("rates")
    @classmethod
    def _rates(cls, v: dict[str, float]) -> dict[str, float]:
        from orderprobe.shop.catalogue import PRODUCTS

        tags = {t for p in PRODUCTS.values() for t in p.tags}
        if unknown := sorted(set(v) - tags):
            raise ValueError(f"unknown product tag(s) {unknown}; known: {sorted(tags)}")
        if bad := [k for k, r in v.items() if not 0 <= r <= 1]:
            raise ValueError(f"rates must be in [0, 1]: {bad}")
        return v


class SlowRoute(_Params):
    path: str
    ms: int = Field(ge=0, le=600_000)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/"):
            raise ValueError("path must start with '/'")
        return v


@dataclass(frozen=True)
class FaultSpec:
    params: type[_Params]
    summary: str


FAULTS: dict[str, FaultSpec] = {
    "payment_down": FaultSpec(NoParams, "支付网关宕机：支付域名返回 503 PAY_GATEWAY_DOWN"),
    "payment_slow": FaultSpec(Delay, "支付页面延迟 ms 毫秒"),
    "payment_maintenance": FaultSpec(NoParams, "两个钱包维护中，云闪付银行卡（备用通道）可用"),
    "inventory_lag": FaultSpec(InventoryLag, "库存同步延迟 lag_s 秒：页面显示 lag_s 秒前的库存，已卖完的仍显示有货"),
    "logistics_timeout": FaultSpec(LongDelay, "物流报价接口超时：运费一直计算中，无法提交"),
    "sms_delay": FaultSpec(Delay, "短信延迟：验证码 ms 毫秒后才送达"),
    "api_5xx": FaultSpec(Api5xx, "/api/* 以 rate 概率返回 500 SYS_ERROR（pages=true 时页面也 502）"),
    "slow_route": FaultSpec(SlowRoute, "路径前缀 path 上的请求延迟 ms 毫秒"),
    "ip_banned": FaultSpec(IpBanned, "风控封禁 IP：cidr 内的客户端提交订单 → 403 IP_BLOCKED"),
    "pay_sdk_conflict": FaultSpec(SdkConflict, "支付 SDK 版本冲突：收银台加载到旧版 SDK，无法支付 PAY_SDK_CONFLICT"),
    "payment_region_fail": FaultSpec(
        RegionalPayment, "区域支付故障：收货省份在 provinces 内的支付请求以 rate 概率 502 PAY_UPSTREAM_ERROR"
    ),
    "coupon_broken": FaultSpec(
        CouponBroken, "优惠券流程断裂：以 rate 概率领券显示成功却未到账，使用时 COUPON_NOT_CLAIMED"
    ),
    "stock_out": FaultSpec(
        StockOut, "缺货抽样：按商品标签以 rates 概率售罄（秒杀 92%、跨境 67%、农产品 45%），否则有货"
    ),
}


@dataclass(frozen=True)
class Outage:
    """A seed incident as a timed fault: how long it lasted in the field (None = until cleared)."""

    fault: str
    minutes: float | None
    params: dict[str, Any]
    summary: str

    def seconds(self, compress: float) -> float | None:
        return None if self.minutes is None else self.minutes * 60 / compress


# One real minute of the field study is COMPRESS seconds here by default (60: a minute → a
# second), so a 17-minute outage is a 17 s window that scheduled probes every ~1 s can detect.
COMPRESS = 60.0
OUTAGES: dict[str, Outage] = {
    "double11-2023": Outage("payment_down", 17, {}, "2023 双11 支付瘫痪 17 分钟 (seed §5)"),
    "gateway-crash": Outage("payment_down", 8, {}, "支付网关崩溃，平均 8 分钟 (seed §5)"),
    "north-china-cable-cut": Outage(
        "payment_region_fail", None, {"rate": 0.47}, "光缆被挖断，华北区支付失败率 47% (seed §8)"
    ),
    "stock-sync-peak": Outage("inventory_lag", None, {"lag_s": 30}, "大促峰值库存同步延迟 30 秒+ (seed §5)"),
}


def outage(name: str, compress: float = COMPRESS) -> tuple[Outage, float | None]:
    """The outage and its compressed window in seconds; unknown names are a FaultError."""
    found = OUTAGES.get(name)
    if found is None:
        raise FaultError("UNKNOWN_OUTAGE", f"未知故障场景 / unknown outage {name!r}; known: {', '.join(OUTAGES)}")
    if not (isinstance(compress, int | float) and compress > 0):
        raise FaultError("BAD_PARAMS", f"compress must be a positive number, got {compress!r}")
    return found, found.seconds(compress)


class FaultError(ValueError):
    """Unknown fault or bad parameters; ``code`` is UNKNOWN_FAULT or BAD_PARAMS."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def validate(name: str, params: dict[str, Any] | None = None, seconds: float | None = None) -> _Params:
    spec = FAULTS.get(name)
    if spec is None:
        raise FaultError("UNKNOWN_FAULT", f"未知故障 / unknown fault {name!r}; known: {', '.join(FAULTS)}")
    if seconds is not None and not (isinstance(seconds, int | float) and 0 < seconds <= 86_400):
        raise FaultError("BAD_PARAMS", f"{name}: seconds must be a number in (0, 86400], got {seconds!r}")
    if not isinstance(params or {}, dict):
        raise FaultError("BAD_PARAMS", f"{name}: params must be an object")
    try:
        return spec.params.model_validate(params or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}" for e in exc.errors())
        raise FaultError("BAD_PARAMS", f"故障参数错误 / bad params for {name}: {problems}") from None


@dataclass
class ActiveFault:
    name: str
    params: Any  # the validated params model
    until: float | None  # monotonic deadline of an outage window
    rng: random.Random

    def as_dict(self, now: float) -> dict[str, Any]:
        left = None if self.until is None else round(max(0.0, self.until - now), 3)
        return {"name": self.name, "params": self.params.model_dump(), "seconds_left": left}


class FaultBoard:
    """The faults switched on in one shop. Thread-safe: tests switch faults while servers run."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._active: dict[str, ActiveFault] = {}
        # A fault that strikes at a rate: how often it was drawn and struck since it was set. A row
        # that switches one on reads this to tell a journey it missed from one it survived.
        self._tally: dict[str, list[int]] = {}

    def set(self, name: str, params: dict[str, Any] | None = None, seconds: float | None = None) -> dict:
        model = validate(name, params, seconds)
        seed = getattr(model, "seed", 0)
        until = None if seconds is None else self._clock() + seconds
        with self._lock:
            self._active[name] = ActiveFault(name, model, until, random.Random(seed))
            self._tally.pop(name, None)
            return self._active[name].as_dict(self._clock())

    def clear(self, name: str | None = None) -> list[str]:
        with self._lock:
            if name is None:
                cleared, self._active, self._tally = list(self._active), {}, {}
                return cleared
            return [name] if self._active.pop(name, None) else []

    def get(self, name: str) -> Any | None:
        """The params of an active fault, or None (expired windows switch off here)."""
        with self._lock:
            fault = self._active.get(name)
            if fault and fault.until is not None and self._clock() >= fault.until:
                del self._active[name]
                return None
            return fault.params if fault else None

    def draw(self, name: str) -> float:
        """Next number from the fault's seeded generator (deterministic request sequence)."""
        with self._lock:
            fault = self._active.get(name)
            return fault.rng.random() if fault else 1.0

    def strikes(self, name: str, rate: float) -> bool:
        """Does this draw of a rated fault strike (its next seeded number is under ``rate``)? Tallied."""
        hit = self.draw(name) < rate
        with self._lock:
            drawn = self._tally.setdefault(name, [0, 0])
            drawn[0] += 1
            drawn[1] += hit
        return hit

    def tally(self) -> dict[str, tuple[int, int]]:
        """Rated faults drawn since set: name → (draws, strikes)."""
        with self._lock:
            return {name: (n, k) for name, (n, k) in self._tally.items()}

    def snapshot(self) -> list[dict]:
        now = self._clock()
        for name in list(self._active):
            self.get(name)  # drop expired windows
        with self._lock:
            return [f.as_dict(now) for f in self._active.values()]
