"""Keeping a profile's secrets out of everything a journey leaves behind.

Profiles name secrets only by environment variable (``*_env`` fields); their values are
typed into pages and sent in requests, so they end up in Playwright traces (the fill
action's value, DOM snapshots, request bodies) and possibly in error text. Everything kept
is scrubbed of every form a value takes there. One pattern per secret matches it character
by character in any mix of the encodings browsers and serializers use: as is, percent- and
form-encoded (``+``, ``%7E`` or ``~``, either hex case), JSON-escaped (``\\uXXXX`` or raw
UTF-8, escaped once or twice), HTML entities, and base64 at any of its three alignments.
"""

from __future__ import annotations

import base64
import functools
import html.entities
import os
import re
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel

MASK = "***"
_SHORT_JSON = {'"': '"', "\\": "\\", "/": "/", "\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t"}
_NAMED = {chr(code): name for code, name in html.entities.codepoint2name.items()} | {"'": "apos"}


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


def _hex(value: int, width: int) -> str:
    """``value`` in hex, either case per digit: ``7e`` → ``7[eE]``."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{value:0{width}x}")


def _char(c: str) -> str:
    """Every way one character is written in a URL, a JSON string, HTML or form data."""
    code = ord(c)
    ways = [re.escape(c), "".join("%" + _hex(b, 2) for b in c.encode())]
    units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + ((code - 0x10000) & 0x3FF)]
    ways.append("".join(r"\\+u" + _hex(u, 4) for u in units))  # \u00e9, also escaped again (\\u00e9)
    if c in _SHORT_JSON:
        ways.append(r"\\+" + re.escape(_SHORT_JSON[c]))
    ways.append(f"&#0*{code};|&#[xX]0*{_hex(code, 1)};")
    if c in _NAMED:
        ways.append(f"&{_NAMED[c]};")
    if c == " ":
        ways.append(r"\+")
    return "(?:" + "|".join(ways) + ")"


def _base64(secret: str) -> list[str]:
    """The part of the base64 text that depends only on the secret, at each of the 3 byte offsets
    it can start at in the encoded data (HTTP basic auth, data: URLs, bodies in HAR files)."""
    raw = secret.encode()
    cores = []
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + raw).decode()
        first, last = -(-8 * pad // 6), 8 * (pad + len(raw)) // 6  # whole sextets of the secret only
        core = text[first:last]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return [re.escape(core) for core in dict.fromkeys(cores) if len(core) >= 4]


@functools.lru_cache(maxsize=64)
def pattern(secret: str) -> re.Pattern[str]:
    return re.compile("|".join(["".join(_char(c) for c in secret), *_base64(secret)]))


@functools.lru_cache(maxsize=64)
def _bytes_pattern(secret: str) -> re.Pattern[bytes]:
    return re.compile(pattern(secret).pattern.encode())


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        text = pattern(secret).sub(MASK, text)
    return text


def scrub_bytes(data: bytes, secrets: Iterable[str]) -> bytes:
    for secret in secrets:
        data = _bytes_pattern(secret).sub(MASK.encode(), data)
    return data


def scrub_value(value: Any, secrets: list[str]) -> Any:
    """Every string in nested dicts and lists (a model's dump) scrubbed; the shape kept."""
    if isinstance(value, str):
        return scrub_text(value, secrets)
    if isinstance(value, dict):
        return {k: scrub_value(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v, secrets) for v in value]
    return value


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


_URL_PASSWORD = re.compile(r"(?P<head>\b[a-zA-Z][\w+.-]*://[^\s/:@]*:)[^\s/]+@")


def hide_url_passwords(text: str) -> str:
    """``postgresql://probe:s3cret@db/results`` → ``postgresql://probe:***@db/results``, anywhere in ``text``."""
    return _URL_PASSWORD.sub(lambda m: m["head"] + MASK + "@", text)
