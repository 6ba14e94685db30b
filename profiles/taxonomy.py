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
