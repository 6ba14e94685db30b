"""Keeping a profile's secrets out of everything a journey leaves behind.

Profiles name secrets only by environment variable (``*_env`` fields); their values are
typed into pages and sent in requests, so they end up in Playwright traces (the fill
action's value, DOM snapshots, request bodies) and possibly in error text. Everything kept
is scrubbed of every form a value takes there: as is, JSON-escaped and URL-encoded.
"""

from __future__ import annotations

import json
import os
import urllib.parse
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

MASK = "***"


def profile_secrets(profile: Any, environ: dict[str, str] | None = None) -> list[str]:
    """Values of every ``*_env`` field anywhere in the profile (accounts, proxies …) that is set."""
    env = os.environ if environ is None else environ
    names: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, BaseModel):
            for field, inner in value:
                if field.endswith("_env") and isinstance(inner, str):
                    names.add(inner)
                else:
                    walk(inner)
        elif isinstance(value, list | tuple):
            for inner in value:
                walk(inner)

    walk(profile)
    # Very short values would mask half the trace (and are not secrets anyone types).
    return sorted({v for n in names if len(v := env.get(n, "")) >= 4}, key=len, reverse=True)


def forms(secret: str) -> list[str]:
    """The shapes a value takes in traces and logs: as is, JSON-escaped (also with ``\\/``), URL-encoded."""
    as_json = json.dumps(secret)[1:-1]
    shapes = [secret, as_json, as_json.replace("/", "\\/"), urllib.parse.quote_plus(secret)]
    return list(dict.fromkeys([*shapes, urllib.parse.quote(secret, safe="")]))


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        for form in forms(secret):
            text = text.replace(form, MASK)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for secret in secrets:
        for form in forms(secret):
            data = data.replace(form.encode(), MASK.encode())
    return data


def scrub_zip(src: Path, dst: Path, secrets: list[str]) -> int:
    """Copy a zip (a Playwright trace) with every entry scrubbed; returns how many entries changed."""
    changed = 0
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            clean = scrub_bytes(data, secrets)
            changed += clean != data
            zout.writestr(info.filename, clean)
    return changed
