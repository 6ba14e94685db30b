"""The classification rules as data: the YAML shape, its validation (file, line, field), and
how built-in and user rule files combine.

Precedence (first match wins, so order is everything):
  * rules of user files come first, in the order the files are given, then the built-ins;
  * a user rule with a built-in rule's ``id`` replaces that built-in;
  * ``after: <id>`` puts a user rule right after another rule instead of in front;
  * ``disable: [id, …]`` drops rules.
Dependencies (URL glob → name): run-time mapping > user files > built-in defaults.
"""

from __future__ import annotations

import fnmatch
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PlainValidator, field_validator

from orderprobe.base.source import Document, Frozen, Loc, SourceError
from orderprobe.base.taxonomy import RULE_CATEGORIES, Category

# Package data, not a path beside the source: it is found wherever the package is installed (zip, wheel).
BUILTIN = resources.files("orderprobe.probes.classify") / "causes.yaml"
PLACEHOLDERS = frozenset(
    ("step", "detail", "category", "dependency", "who", "host", "url", "status", "evidence", "match")
    + ("error_type", "action", "locator")
)
NET_ERROR = re.compile(r"(?:net::)?(ERR_[A-Z0-9_]+)(?: at (\S+))?")


class RulesError(SourceError):
    """A rules file that cannot be used; the message names file, line and field."""


# ------------------------------------------------------------------ field types (compiled once)


def _many(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _regex(value: Any) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise ValueError("must be a regular expression (a string)")
    try:
        return re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad regular expression {value!r}: {exc}") from None


@lru_cache(maxsize=512)
def compile_glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def _globs(value: Any) -> tuple[re.Pattern[str], ...]:
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in _many(value)):
        raise ValueError("must be a glob pattern or a list of them")
    return tuple(compile_glob(str(v).removeprefix("net::")) for v in _many(value))


def _statuses(value: Any) -> tuple[tuple[int, int], ...]:
    """``503``, ``"5xx"``, ``"500-504"`` (or a list of them) → inclusive ranges."""
    ranges = []
    for item in _many(value):
        text = str(item).strip().lower()
        if m := re.fullmatch(r"([1-5])xx", text):
            ranges.append((int(m[1]) * 100, int(m[1]) * 100 + 99))
        elif m := re.fullmatch(r"(\d{3})\s*-\s*(\d{3})", text):
            ranges.append((int(m[1]), int(m[2])))
        elif re.fullmatch(r"\d{3}", text) and not isinstance(item, bool):
            ranges.append((int(text), int(text)))
        else:
            raise ValueError(f"not an HTTP status: {item!r} (use 503, '5xx' or '500-504')")
    return tuple(ranges)


Regex = Annotated[re.Pattern[str], PlainValidator(_regex)]
Globs = Annotated[tuple[re.Pattern[str], ...], PlainValidator(_globs)]
Statuses = Annotated[tuple[tuple[int, int], ...], PlainValidator(_statuses)]


class RequestWhen(Frozen):
    """All of these hold for one failed request (error, HTTP ≥ 400, or never answered)."""

    include_ok: bool = False  # also look at requests that went fine (who did the page talk to?)
    failure: Globs = ()  # network error names, e.g. ERR_NAME_NOT_RESOLVED, ERR_CERT_*
    status: Statuses = ()
    url: Globs = ()
    body: Regex | None = None  # response body excerpt (JSON error codes, messages)
    method: Globs = ()
    resource_type: Globs = ()
    dependency: bool | Globs | None = None  # true: any named dependency; globs: those names
    pending: bool | None = None  # no response at all yet (a spinner that never ends)
    same_site: bool | None = None  # the page's own site, as opposed to third parties
    # true: orderprobe's own emulation did it (fault, DNS pollution, offline); globs: what it did
    injected: bool | Globs | None = None


class When(Frozen):
    """All given conditions must hold; ``any`` needs one of its blocks, ``not`` none."""

    net_error: Globs = ()  # in failed requests, the error message, or Chromium's error page
    request: RequestWhen | None = None
    document_status: Statuses = ()  # HTTP status of the page shown at failure
    url: Globs = ()  # URL of the page shown at failure
    text: Regex | None = None  # page title, visible text, bodies of failed responses
    message: Regex | None = None
    step: Regex | None = None
    action: Regex | None = None
    locator: Regex | None = None
    error_type: Globs = ()
    console: Regex | None = None
    validation: Regex | None = None  # the browser's own validation messages of refused form fields
    not_ready: Regex | None = None  # fields refused at a submit that were valid by the failure (a tap too early)
    link_stalled: bool | None = None  # the emulated network's record says it stalled the failing step
    slow_link: bool | None = (
        None  # a slow link by its profile, and the shop's answer late by less than TCP retries take
    )
    arrived_late: bool | None = None  # what the step waited for came after the wait ended (probes/waited.py)
    notes: Regex | None = None  # orderprobe's capture notes (e.g. "page: main thread busy")
    healthy: bool | None = None  # see _healthy()
    any_: tuple[When, ...] = Field((), alias="any")
    not_: When | None = Field(None, alias="not")


class Rule(Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    category: Category
    detail: str = ""
    dependency: str | None = None  # name a dependency outright (else: from the evidence)
    when: When
    summary: str = ""
    after: str | None = None  # user files: place right after this rule id

    @field_validator("category")
    @classmethod
    def _a_rules_category(cls, value: Category) -> Category:
        if value not in RULE_CATEGORIES:
            raise ValueError(f"{value!r} is the verdict's category, not a rule's; one of: {', '.join(RULE_CATEGORIES)}")
        return value

    @field_validator("summary")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as exc:
            raise ValueError(f"bad template: {exc} (write {{{{ and }}}} for literal braces)") from None
        if unknown := names - PLACEHOLDERS:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
        return value


class RulesFile(Frozen):
    version: Literal[1] = 1
    dependencies: dict[str, str] = Field(default_factory=dict)  # URL or host glob → name
    error_text: Regex | None = None  # wording that means "this page shows an error"
    disable: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()

    @field_validator("dependencies")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for pattern, name in value.items():
            if not pattern.strip() or not name.strip():
                raise ValueError(f"empty pattern or name in {pattern!r}: {name!r}")
        return value


# ------------------------------------------------------------------ loading with lines


@dataclass
class _Source:
    doc: Document
    file: RulesFile

    def error(self, loc: Loc, problem: str) -> RulesError:
        return RulesError([self.doc.problem(loc, problem)])


def read_rules(path: Path | Traversable) -> _Source:
    doc = Document(path, what="rules file")
    data = doc.mapping("a rules file is a mapping with `rules:` (and `dependencies:`)")
    file = doc.validate(RulesFile, data) if data is not None else None
    doc.check(RulesError)
    assert file is not None
    return _Source(doc, file)


def assemble(builtin: _Source, users: Sequence[_Source]) -> list[Rule]:
    """Built-ins behind user rules; ``id`` replaces, ``after`` places, ``disable`` drops."""
    seen: dict[str, _Source] = {}
    for src in users:
        for i, rule in enumerate(src.file.rules):
            if rule.id in seen:
                where = seen[rule.id].doc.name
                raise src.error(("rules", i, "id"), f"rule id {rule.id!r} is already defined in {where}")
            seen[rule.id] = src
    disabled = {d for src in users for d in src.file.disable}
    known = seen.keys() | {r.id for r in builtin.file.rules}
    for src in users:
        for i, name in enumerate(src.file.disable):
            if name not in known:
                raise src.error(("disable", i), f"no rule with id {name!r} to disable")
    rules = [r for src in users for r in src.file.rules if r.after is None]
    rules += [r for r in builtin.file.rules if r.id not in seen]
    for src in users:
        for i, rule in enumerate(src.file.rules):
            if rule.after is not None:
                at = next((n for n, r in enumerate(rules) if r.id == rule.after), None)
                if at is None:
                    raise src.error(("rules", i, "after"), f"no rule with id {rule.after!r} to place this after")
                rules.insert(at + 1, rule)
    return [r for r in rules if r.id not in disabled]


# ------------------------------------------------------------------ the evidence of one failure
