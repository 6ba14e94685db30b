"""The cause categories, in the seed's terms: one list for the classifier's rules, the
expectations of matrices and probes, and the reports."""

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


# Detail codes the engine sets itself, not a rule (the classifier, the verdict, the journey
# runner): the reports label these as they label every built-in rule's detail.
ENGINE_DETAILS = frozenset(
    {"unclassified", "not_blocked", "worker_crashed", "interrupted", "browser_crash", "journey_timeout"}
)
