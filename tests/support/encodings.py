"""Every encoding a browser or serializer might give a secret, written out independently of
the scrubber (orderprobe.probes.secrets), so a test can count what the scrubber missed."""

from __future__ import annotations

import base64
import functools
import html
import json
import random
import re
import string
import urllib.parse
import zipfile
from pathlib import Path

# Printable ASCII (space included) plus letters a browser sends as multi-byte UTF-8.
ALPHABET = string.ascii_letters + string.digits + string.punctuation + " " + "éßöñ中文ё"


def random_passwords(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        # Always some of the awkward ones: a quote, a tilde, a star and a non-ASCII letter.
        chars = [rng.choice(ALPHABET) for _ in range(rng.randint(6, 14))] + ['"', "~", "*", rng.choice("éßöñ中ё")]
        rng.shuffle(chars)
        out.append("".join(chars))
    return out


def _base64_cores(secret: str) -> list[str]:
    raw, cores = secret.encode(), []
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + raw).decode()
        core = text[-(-8 * pad // 6) : 8 * (pad + len(raw)) // 6]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def encodings(secret: str) -> dict[str, str]:
    """Name → the secret as that encoding writes it."""
    q = urllib.parse.quote
    forms = {
        "raw": secret,
        "percent": q(secret, safe=""),
        "percent (path)": q(secret),
        "percent (encodeURIComponent)": q(secret, safe="-_.!~*'()"),
        "form (python: ~ kept)": urllib.parse.quote_plus(secret),
        "form (browser: %7E, * kept)": urllib.parse.quote_plus(secret, safe="*-._"),
        "json": json.dumps(secret)[1:-1],
        "json (utf-8)": json.dumps(secret, ensure_ascii=False)[1:-1],
        "json (\\/)": json.dumps(secret)[1:-1].replace("/", "\\/"),
        "json in json": json.dumps(json.dumps(secret))[3:-3],
        "json in json (utf-8)": json.dumps(json.dumps(secret, ensure_ascii=False), ensure_ascii=False)[3:-3],
        "html": html.escape(secret),
        "html (no quotes)": html.escape(secret, quote=False),
        "html (decimal)": "".join(f"&#{ord(c)};" for c in secret),
        "html (hex)": "".join(f"&#x{ord(c):x};" for c in secret),
    }
    lower = {f"{k} (lower hex)": re.sub("%[0-9A-F]{2}", lambda m: m[0].lower(), v) for k, v in forms.items()}
    forms |= {k: v for k, v in lower.items() if v not in forms.values()}
    forms |= {f"base64 #{i}": core for i, core in enumerate(_base64_cores(secret)) if len(core) >= 4}
    return forms


@functools.cache
def _encoded(secret: str) -> tuple[tuple[str, bytes], ...]:
    # Made once per secret: a search calls this for every file, zip entry and scrubbed sample.
    return tuple((name, form.encode()) for name, form in encodings(secret).items())


def hits(data: bytes, secrets: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for secret in secrets:
        for name, form in _encoded(secret):
            if n := data.count(form):
                found[name] = found.get(name, 0) + n
    return found


def hits_in_files(paths: list[Path], secrets: list[str]) -> tuple[dict[str, dict[str, int]], int]:
    """Hits per file (zip entries opened: ``trace.zip!trace.network``) and how many entries were read."""
    found: dict[str, dict[str, int]] = {}
    entries = 0
    for path in paths:
        if h := hits(path.read_bytes(), secrets):
            found[str(path)] = h
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    entries += 1
                    if h := hits(zf.read(name), secrets):
                        found[f"{path}!{name}"] = h
    return found, entries
