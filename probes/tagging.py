"""Synthetic-traffic tagging: every request a journey sends to the shop under test carries a header
(``X-Orderprobe-Run: <run>/<journey>`` by default) so the shop can tell probe orders from real ones
and keep them out of its stock and sales figures; the browser's user agent can carry a suffix too.

Only the target's own site is tagged (its host and sibling hosts, e.g. ``pay.shop.example`` beside
``m.shop.example``): a custom header on a cross-site request would make third parties' CORS checks
(a preflight they may refuse) part of the probe. The header is added by a context route that
falls back to the emulation's own routes, so injected faults still apply to tagged requests.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

DEFAULT_HEADER = "X-Orderprobe-Run"


def _site(host: str) -> tuple[str, str | None]:
    """(host, the parent domain whose other hosts count as the same site, or None for an IP / single label)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host, None
    except ValueError:
        labels = host.split(".")
        return host, ".".join(labels[1:]) if len(labels) >= 2 else None


def same_site(base_url: str, url: str) -> bool:
    base, parent = _site(urlsplit(base_url).hostname or "")
    host = urlsplit(url).hostname or ""
    return bool(base) and (host == base or (parent is not None and (host == parent or host.endswith("." + parent))))


def tag(context: Any, base_url: str, header: str, value: str) -> None:
    """Add ``header: value`` to every request of ``context`` to the target's site."""

    def add(route: Any) -> None:
        route.fallback(headers={**route.request.headers, header: value})

    context.route(lambda url: same_site(base_url, url), add)


def user_agent(options: dict[str, Any], suffix: str) -> dict[str, Any]:
    """The context options with ``suffix`` appended to the profile's user agent."""
    if not suffix or not options.get("user_agent"):
        return options
    return {**options, "user_agent": f"{options['user_agent']} {suffix}"}
