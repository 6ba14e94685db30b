"""The cause categories, in the seed's terms: one table for the classifier's rules, the
expectations of matrices and probes, the reports' labels and chart colours, and the docs
(``tests/test_taxonomy.py`` walks it)."""

from dataclasses import dataclass
from enum import StrEnum


class Category(StrEnum):
    NETWORK = "network"
    COMPATIBILITY = "compatibility"  # device or browser too old / unsupported
    PAYMENT = "payment"
    ACCOUNT = "account"  # risk control, teen mode, verification
    INVENTORY = "inventory"
    REGION = "region"
    SYSTEM = "system"  # the shop's own back end
    THIRD_PARTY = "third_party"
    UX_PATH = "ux_path"
    PROBE_BROKEN = "probe_broken"  # the probe, not the checkout (selector drift, script error)
    UNKNOWN = "unknown"
    EXPECTATION = "expectation"  # the verdict's, never a rule's: an expected refusal did not happen


@dataclass(frozen=True)
class Look:
    """How a category reads and shows: its label in each report language and its chart colour."""

    zh: str
    en: str
    colour: str  # colour-blind-friendly order, Okabe–Ito first


LOOK: dict[Category, Look] = {
    Category.NETWORK: Look("网络", "network", "#0072b2"),
    Category.COMPATIBILITY: Look("设备兼容", "device compatibility", "#56b4e9"),
    Category.PAYMENT: Look("支付通道", "payment channel", "#d55e00"),
    Category.ACCOUNT: Look("账户与风控", "account & risk control", "#cc79a7"),
    Category.INVENTORY: Look("库存", "inventory", "#e69f00"),
    Category.REGION: Look("地区政策", "regional policy", "#009e73"),
    Category.SYSTEM: Look("系统 / API", "system / API", "#b4161b"),
    Category.THIRD_PARTY: Look("第三方依赖", "third party", "#8b5cf6"),
    Category.UX_PATH: Look("路径体验", "UX path", "#f0c808"),
    Category.PROBE_BROKEN: Look("探针损坏", "probe broken", "#6b7280"),
    Category.UNKNOWN: Look("未知", "unknown", "#9ca3af"),
    Category.EXPECTATION: Look("与预期不符", "expectation not met", "#374151"),
}

# What a classifier rule may name (the verdict alone sets EXPECTATION).
RULE_CATEGORIES = tuple(c for c in Category if c is not Category.EXPECTATION)


# Detail codes the engine sets itself, not a rule (the classifier, the verdict, the journey
# runner): the reports label these as they label every built-in rule's detail.
ENGINE_DETAILS = frozenset(
    {"unclassified", "not_blocked", "worker_crashed", "interrupted", "browser_crash", "journey_timeout"}
)
