"""Where probes run: a site name (``sh``, ``hk``, ``urumqi``) carried by every run and journey.

Agents at several sites share one store; the location is how reports, alerts and metrics
tell them apart. Default: ``$ORDERPROBE_LOCATION``, else this machine's host name.
"""

from __future__ import annotations

import os
import re
import socket

ENV = "ORDERPROBE_LOCATION"
# Printable and free of commas and spaces: incidents keep a comma-separated list of locations.
PATTERN = re.compile(r"^[^\s,]{1,100}$")


def default() -> str:
    return os.environ.get(ENV) or socket.gethostname() or "local"


def check(name: str) -> str:
    if not PATTERN.match(name):
        raise ValueError(f"location {name!r}: expected 1-100 characters without spaces or commas, e.g. sh, hk-1")
    return name
