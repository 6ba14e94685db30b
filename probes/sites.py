"""A request's site: its host, and its registrable domain (public-suffix aware).

The classifier asks it which requests went to a third party; the first failure asks it which
broke the shop's own path. A module of its own so that a journey's evidence (recorder, first
failure) does not import the classifier and its rules: they load when a failure is classified.
"""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The host of ``url``, lower case; empty when it has none or does not parse."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@functools.cache
def _suffixes() -> Any:
    from publicsuffixlist import PublicSuffixList  # its bundled list: no network

    return PublicSuffixList()


def site(host: str) -> str:
    """Registrable domain (public-suffix aware): m.shop.com → shop.com, x.shop.com.cn → shop.com.cn,
    a.b.github.io → b.github.io, pay.localhost → pay.localhost; IP addresses as they are."""
    if not host or re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host
    return _suffixes().privatesuffix(host) or host
