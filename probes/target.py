"""The checkout under test: a base URL, plus the third-party hosts it depends on."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urljoin


@dataclass(frozen=True)
class Target:
    base_url: str
    # URL glob → dependency name (payment-gateway, logistics, sms …); the classifier
    # attributes failures on these URLs to the named dependency.
    dependencies: dict[str, str] = field(default_factory=dict)
    embedded: bool = False  # the demo shop started by the harness

    def url(self, path: str = "/") -> str:
        return urljoin(self.base_url.rstrip("/") + "/", path.lstrip("/"))


def parse_dependencies(pairs: list[str]) -> dict[str, str]:
    """``--dependency 'https://pay.example.com/*=payment-gateway'`` → {pattern: name}."""
    out: dict[str, str] = {}
    for pair in pairs:
        pattern, sep, name = pair.rpartition("=")
        if not sep or not pattern or not name:
            raise ValueError(f"--dependency expects PATTERN=NAME, got {pair!r}")
        out[pattern] = name
    return out
