"""What every report shares: the Jinja2 environment, formatting, redaction, inlining, writing.

Templates get one JSON-able context and no logic beyond loops and ``if``; numbers are
formatted by the filters here so the Python side keeps raw values (easy to test).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import mimetypes
import re
from datetime import datetime, timedelta, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, select_autoescape
from jinja2.bccache import Bucket
from markupsafe import Markup

from orderprobe.reports import charts, i18n

# Keys and query parameters that may carry secrets; "*_env" names an env var, which is fine to show.
SECRET = re.compile(r"pass(word)?|secret|token|cookie|authori[sz]ation|api[_-]?key|sign(ature)?|session|otp|sms_code")
REDACTED = "***"
MAX_SCREENSHOT_BYTES = 2_000_000  # bigger files are named by path, not inlined
MAX_INLINE_BYTES = 40_000_000  # per report


def is_secret_key(key: str) -> bool:
    key = key.lower()
    return bool(SECRET.search(key)) and not key.endswith("_env")


def redact(value: Any) -> Any:
    """Mask secret-looking keys anywhere in a nested profile / labels structure."""
    if isinstance(value, dict):
        return {k: REDACTED if is_secret_key(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


_SCRUB = [
    (re.compile(r"(?<=://)[^/\s@:]+:[^/\s@]+@"), "***@"),  # user:password@host
    (re.compile(rf"([?&;][\w.-]*?(?:{SECRET.pattern})[\w.-]*=)[^&\s#\"'<>]+", re.I), rf"\1{REDACTED}"),
    (re.compile(rf"(\"[\w.-]*?(?:{SECRET.pattern})[\w.-]*\"\s*:\s*\")[^\"]*", re.I), rf"\1{REDACTED}"),
    (re.compile(r"\b(authorization|cookie|set-cookie)(\s*[:=]\s*)[^\n]+", re.I), rf"\1\2{REDACTED}"),
]


def scrub(text: str | None) -> str:
    """Mask secrets in free text that came from a page, a URL or an error (URLs, JSON, headers)."""
    if not text:
        return text or ""
    for pattern, replacement in _SCRUB:
        text = pattern.sub(replacement, text)
    return text


def flatten(conditions: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """``{"network": {"latency_ms": 300}}`` → ``[("network.latency_ms", "300")]`` for a compact table."""
    out: list[tuple[str, str]] = []
    for key, value in redact(conditions).items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.extend(flatten(value, f"{name}."))
        elif isinstance(value, list):
            out.append((name, ", ".join(str(v) for v in value)))
        else:
            out.append((name, "" if value is None else scrub(str(value))))
    return out


class Inliner:
    """Screenshots as data: URIs, within a total budget so a run with hundreds of failures stays openable."""

    def __init__(self, artefacts_dir: Path, budget: int = MAX_INLINE_BYTES) -> None:
        self.root = artefacts_dir.resolve()
        self.left = budget

    def __call__(self, relative: str | None) -> tuple[Markup | None, str | None]:
        """(data URI, absolute path); the URI is None when the file is absent, not an image or over budget."""
        if not relative:
            return None, None
        path = (self.root / relative).resolve()
        mime = mimetypes.guess_type(path.name)[0] or ""
        if not path.is_relative_to(self.root) or not mime.startswith("image/") or not path.is_file():
            return None, str(path)
        size = path.stat().st_size
        if size > min(MAX_SCREENSHOT_BYTES, self.left):
            return None, str(path)
        self.left -= size
        # Markup: base64 holds no HTML-special characters, and escaping megabytes is the slowest step.
        return Markup(f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"), str(path)


def anchor(journey_id: str) -> str:
    """A stable HTML id for a journey (its real id may hold any character)."""
    return "j-" + hashlib.sha1(journey_id.encode()).hexdigest()[:12]


def safe_name(run_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)[:120] or "run"


def run_report_name(run_id: str, lang: str) -> str:
    """One file per language: rendering in zh and then en keeps both."""
    return f"run-{safe_name(run_id)}.{lang}.html"


def report_name(kind: str, lang: str) -> str:
    return f"{kind}.{lang}.html"


def seconds(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.2f} s" if ms < 10_000 else f"{ms / 1000:.1f} s"


def signed_seconds(ms: float | None) -> str:
    if ms is None:
        return "–"
    return ("+" if ms > 0 else "±" if ms == 0 else "−") + seconds(abs(ms))


def signed(n: float | None) -> str:
    if n is None:
        return "–"
    return f"+{n:g}" if n > 0 else "±0" if n == 0 else f"−{abs(n):g}"


def span(value: timedelta | float | None) -> str:
    """A duration for humans: 42 s, 8 min 5 s, 3 h 10 min, 2 d 4 h."""
    if value is None:
        return "–"
    total = int(value.total_seconds() if isinstance(value, timedelta) else value)
    if total < 60:
        return f"{total} s"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def percent(x: float | None) -> str:
    if x is None:
        return "–"
    return "100%" if x >= 1 else f"{x * 100:.1f}%"


class CompiledTemplates(FileSystemBytecodeCache):
    """Templates compiled once per machine, not once per run: compiling the run report's templates
    costs more CPU than rendering them. Kept in Jinja2's per-user folder in the temp dir, checked
    against each template's source; a cache that cannot be read or written is only no cache."""

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError, EOFError, ValueError, TypeError):  # unreadable: compile instead
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):  # a full or read-only temp dir: the report is written all the same
            super().dump_bytecode(bucket)


def _compiled_templates() -> CompiledTemplates | None:
    try:
        return CompiledTemplates()
    except (OSError, RuntimeError):  # no safe per-user folder (Jinja2 refuses a shared one)
        return None


@cache
def environment() -> Environment:
    env = Environment(
        # By file path, not package: a ``reports/`` folder in the working directory (e.g.
        # ``--reports reports``) would otherwise shadow this package as a namespace package.
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=select_autoescape(["html"], default=True),
        undefined=StrictUndefined,  # a typo in a template fails the render, not the reader
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_compiled_templates(),
    )
    env.filters.update(seconds=seconds, signed_seconds=signed_seconds, signed=signed, span=span, percent=percent)
    env.filters.update(heat=charts.heat_class)
    return env


def render(template: str, context: Any, lang: str, tz: tzinfo | None = None) -> str:
    """Render ``template`` with the context (a dataclass) as ``c`` and the language's strings as ``t``."""
    when = datetime.now().astimezone(tz)
    return (
        environment()
        .get_template(template)
        .render(
            c=context,
            t=i18n.texts(lang),
            lang=lang,
            st=i18n.STATUS[lang],
            cl=i18n.CAUSE[lang],
            generated=when.strftime("%Y-%m-%d %H:%M %Z"),
        )
    )


def local(moment: datetime | None, tz: tzinfo | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    if moment is None:
        return "–"
    return moment.astimezone(tz).strftime(fmt)


def write(html: str, out_dir: Path, name: str) -> Path:
    """Write atomically (a reader or web server never sees half a report); a full or read-only
    disk raises one ``WriteFailed`` naming the file and leaves no partial file behind."""
    from orderprobe.base.atomic import write_text

    path = out_dir / name
    write_text(path, html)
    return path.resolve()
