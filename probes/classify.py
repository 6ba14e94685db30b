"""Failure point → cause: ordered rules from YAML, the first match wins, its evidence is kept.

The taxonomy and the rules are data (``profiles/causes.yaml``, documented there); users
add or override rules for their own shop in YAML files of the same shape, without code.

Precedence (first match wins, so order is everything):
  * rules of user files come first, in the order the files are given, then the built-ins;
  * a user rule with a built-in rule's ``id`` replaces that built-in;
  * ``after: <id>`` puts a user rule right after another rule instead of in front;
  * ``disable: [id, …]`` drops rules.
Dependencies (URL glob → name): run-time mapping > user files > built-in defaults.

``classify`` is a pure function of the FailurePoint and the dependency map: no Playwright,
no I/O, every regex and glob compiled once at load.
"""

from __future__ import annotations

import fnmatch
import json
import re
import string
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, field_validator

from probes.result import Cause, FailurePoint, RequestRecord

BUILTIN = Path(__file__).resolve().parent.parent / "profiles" / "causes.yaml"
Category = Literal[
    "network", "compatibility", "payment", "account", "inventory", "region",
    "system", "third_party", "ux_path", "probe_broken", "unknown",
]  # fmt: skip
PLACEHOLDERS = frozenset(
    ("step", "detail", "category", "dependency", "who", "host", "url", "status", "evidence", "match")
    + ("error_type", "action", "locator")
)
API_TYPES = ("", "document", "xhr", "fetch")  # requests whose failure breaks a page (not images, fonts…)
_YAML = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10× faster
_NET_ERROR = re.compile(r"(?:net::)?(ERR_[A-Z0-9_]+)(?: at (\S+))?")


class RulesError(ValueError):
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
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def _globs(value: Any) -> tuple[re.Pattern[str], ...]:
    if not all(isinstance(v, str | int) and not isinstance(v, bool) for v in _many(value)):
        raise ValueError("must be a glob pattern or a list of them")
    return tuple(_glob(str(v).removeprefix("net::")) for v in _many(value))


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


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RequestWhen(_Frozen):
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


class When(_Frozen):
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
    healthy: bool | None = None  # see _healthy()
    any_: tuple[When, ...] = Field((), alias="any")
    not_: When | None = Field(None, alias="not")


class Rule(_Frozen):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    category: Category
    detail: str = ""
    dependency: str | None = None  # name a dependency outright (else: from the evidence)
    when: When
    summary: str = ""
    after: str | None = None  # user files: place right after this rule id

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


class RulesFile(_Frozen):
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


def _locate(root: yaml.Node | None, loc: Sequence[int | str]) -> tuple[int, str]:
    """Follow a pydantic error location through the YAML node tree: (line, dotted field)."""
    node, line, where = root, (root.start_mark.line + 1 if root is not None else 1), ""
    for part in loc:
        part = {"any_": "any", "not_": "not"}.get(part, part) if isinstance(part, str) else part
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            child = node.value[part]
        elif node is not None:
            continue  # a union branch name in the loc: no node of its own
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        if child is None:
            break  # a missing field: the enclosing mapping's line is the best there is
        node, line = child, child.start_mark.line + 1
    return line, where


@dataclass
class _Source:
    path: Path
    root: yaml.Node | None
    file: RulesFile

    def error(self, loc: Sequence[int | str], problem: str) -> RulesError:
        line, where = _locate(self.root, loc)
        return RulesError(f"{self.path}:{line}: {where or '(file)'}: {problem}")


def _read(path: Path) -> _Source:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RulesError(f"{path}: cannot read rules file: {exc}") from None
    loader = _YAML(text)  # one parse: the node tree keeps lines, the data is built from it
    try:
        root = loader.get_single_node()
        data = loader.construct_document(root) if root is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise RulesError(f"{where}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise RulesError(f"{path}:1: a rules file is a mapping with `rules:` (and `dependencies:`)")
    try:
        return _Source(path, root, RulesFile.model_validate(data))
    except ValidationError as exc:
        problems = sorted((*_locate(root, e["loc"]), e["msg"].removeprefix("Value error, ")) for e in exc.errors())
        raise RulesError("\n".join(f"{path}:{ln}: {where or '(file)'}: {msg}" for ln, where, msg in problems)) from None


def _assemble(builtin: _Source, users: Sequence[_Source]) -> list[Rule]:
    """Built-ins behind user rules; ``id`` replaces, ``after`` places, ``disable`` drops."""
    seen: dict[str, _Source] = {}
    for src in users:
        for i, rule in enumerate(src.file.rules):
            if rule.id in seen:
                raise src.error(("rules", i, "id"), f"rule id {rule.id!r} is already defined in {seen[rule.id].path}")
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


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _site(host: str) -> str:
    """Registrable-ish part: m.shop.com → shop.com, x.shop.com.cn → shop.com.cn, IPs as they are."""
    labels = host.split(".")
    if re.fullmatch(r"[\d.]+|\[?[0-9a-f:]+\]?", host):
        return host
    keep = 3 if len(labels) > 2 and labels[-2] in ("com", "net", "org", "gov", "edu", "co") else 2
    return ".".join(labels[-keep:])


def _readable(body: str) -> str:
    """JSON bodies often escape Chinese (\\u5e93…): decode so wording rules see the words."""
    try:
        return json.dumps(json.loads(body), ensure_ascii=False)
    except ValueError:
        return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), body)


def _snippet(text: str, m: re.Match[str], width: int = 16) -> str:
    start, end = max(0, m.start() - width), min(len(text), m.end() + width)
    inner = " ".join(text[start:end].split())
    return f"“{'…' if start else ''}{inner}{'…' if end < len(text) else ''}”"


def _in(value: int | None, ranges: tuple[tuple[int, int], ...]) -> bool:
    return value is not None and any(lo <= value <= hi for lo, hi in ranges)


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _pending(r: RequestRecord) -> bool:
    return r.status is None and r.failure is None


def _describe(r: RequestRecord) -> str:
    outcome = r.failure or (f"HTTP {r.status}" if r.status is not None else "no response (pending)")
    return f"request {r.method} {r.url} → {outcome}"


_Dep = tuple[re.Pattern[str], bool, str]  # glob, matches the whole URL (else host), name


@dataclass
class _Hit:
    evidence: list[str] = field(default_factory=list)
    url: str | None = None  # the request (or navigation) the evidence is about
    status: int | None = None
    match: str = ""


class _Facts:
    """What the rules look at, derived once per failure point."""

    def __init__(self, fp: FailurePoint, deps: Sequence[_Dep], error_text: re.Pattern[str]):
        self.fp, self.deps, self.error_text = fp, deps, error_text
        self.page_site = _site(_host(fp.url))
        keys, self.seen, self.bad = set(), [], []
        for r in [*fp.failed_requests, *fp.requests]:
            key = (r.method, r.url, r.status, r.failure, r.start_ms)
            if key in keys:
                continue
            keys.add(key)
            self.seen.append(r)
            bad = (r.failure and "ERR_ABORTED" not in r.failure) or (r.status or 0) >= 400
            if bad or (_pending(r) and r.resource_type in API_TYPES):
                self.bad.append(r)
        self.texts = [("page title", fp.page_title), ("page text", fp.page_text)]
        self.texts += [(f"{r.method} {r.url} said", _readable(r.body_excerpt)) for r in self.bad if r.body_excerpt]
        self.net_errors: list[tuple[str, str, str | None]] = []  # (ERR_…, where, url)
        for r in self.bad:  # a failed ad or analytics image does not stop a checkout
            relevant = self.same_site(r.url) or self.dependency(r.url) or r.resource_type in API_TYPES
            if relevant and r.failure and (m := _NET_ERROR.search(r.failure)):
                self.net_errors.append((m[1], _describe(r), r.url))
        for m in _NET_ERROR.finditer(fp.message):
            self.net_errors.append((m[1], f"error {fp.error_type}: {m[0]}", m[2]))
        for m in _NET_ERROR.finditer(fp.page_text):
            self.net_errors.append((m[1], f"browser error page shows {m[1]}", None))  # which URL: unknown

    def dependency(self, url: str | None) -> str | None:
        if not url:
            return None
        host = _host(url)
        netloc = urlsplit(url).netloc.lower() if "://" in url else host
        for pattern, whole_url, name in self.deps:
            if pattern.match(url) if whole_url else (pattern.match(host) or pattern.match(netloc)):
                return name
        return None

    def same_site(self, url: str) -> bool:
        return bool(self.page_site) and _site(_host(url)) == self.page_site

    def healthy(self) -> str | None:
        """The page looks fine: a 2xx/3xx document, no broken request to its site or a
        dependency, no error wording. Then a locator that times out is the probe's fault.

        Failed requests of earlier pages count too: a silent 500 on "add to cart" is often why
        an element is missing later, and calling a broken checkout "probe drift" would hide it."""
        fp = self.fp
        if not _in(fp.document_status, ((200, 399),)) or not fp.url.startswith(("http://", "https://")):
            return None
        for r in self.bad:
            if not (self.same_site(r.url) or self.dependency(r.url)):
                continue  # a broken ad or analytics request does not break checkout
            if r.failure or (r.status or 0) >= 500 or r.resource_type in API_TYPES:
                return None
        if self.error_text.search(f"{fp.page_title}\n{fp.page_text}"):
            return None
        return (
            f"page healthy: document HTTP {fp.document_status} at {fp.url}, "
            "no failed requests to the site or its dependencies, no error wording on the page"
        )


# ------------------------------------------------------------------ matching


def _request_fits(rw: RequestWhen, r: RequestRecord, facts: _Facts) -> bool:
    dep = facts.dependency(r.url)
    failure = (r.failure or "").removeprefix("net::")
    return (
        (not rw.failure or bool(failure and any(g.match(failure) for g in rw.failure)))
        and (not rw.status or _in(r.status, rw.status))
        and (not rw.url or any(g.match(r.url) for g in rw.url))
        and (not rw.method or any(g.match(r.method) for g in rw.method))
        and (not rw.resource_type or any(g.match(r.resource_type) for g in rw.resource_type))
        and (rw.pending is None or _pending(r) == rw.pending)
        and (rw.same_site is None or facts.same_site(r.url) == rw.same_site)
        and (
            rw.dependency is None
            or (rw.dependency is True and dep is not None)
            or (rw.dependency is False and dep is None)
            or (isinstance(rw.dependency, tuple) and dep is not None and any(g.match(dep) for g in rw.dependency))
        )
    )


def _match_request(rw: RequestWhen, facts: _Facts) -> _Hit | None:
    for r in facts.seen if rw.include_ok else facts.bad:
        if not _request_fits(rw, r, facts):
            continue
        hit = _Hit([_describe(r)], url=r.url, status=r.status)
        if rw.body is not None:
            body = _readable(r.body_excerpt or "")
            if not (m := rw.body.search(body)):
                continue
            hit.evidence.append(f"body {_snippet(body, m)}")
            hit.match = m[0]
        return hit
    return None


def _match(w: When, facts: _Facts) -> _Hit | None:
    fp, hit = facts.fp, _Hit()
    if w.net_error:
        found = next((e for e in facts.net_errors if any(g.match(e[0]) for g in w.net_error)), None)
        if found is None:
            return None
        hit.evidence.append(found[1])
        hit.url, hit.match = found[2], found[0]
    if w.request is not None:
        if (sub := _match_request(w.request, facts)) is None:
            return None
        hit.evidence += sub.evidence
        hit.url, hit.status, hit.match = sub.url, sub.status, sub.match or hit.match
    if w.document_status:
        if not _in(fp.document_status, w.document_status):
            return None
        hit.evidence.append(f"document HTTP {fp.document_status} at {fp.url}")
        hit.status = hit.status or fp.document_status
    if w.url and not any(g.match(fp.url) for g in w.url):
        return None
    if w.text is not None:
        found_text = next(((where, t, m) for where, t in facts.texts if t and (m := w.text.search(t))), None)
        if found_text is None:
            return None
        where, text, m = found_text
        hit.evidence.append(f"{where} {_snippet(text, m)}")
        hit.match = hit.match or m[0]
    for pattern, value, label in (
        (w.message, fp.message, "message"),
        (w.console, "\n".join(fp.console_errors), "console error"),
    ):
        if pattern is not None:
            if not (m := pattern.search(value)):
                return None
            hit.evidence.append(f"{label} {_snippet(value, m)}")
    for pattern, value in ((w.step, fp.step), (w.action, fp.action or ""), (w.locator, fp.locator or "")):
        if pattern is not None and not pattern.search(value):
            return None
    if w.error_type:
        short = fp.error_type.rsplit(".", 1)[-1]
        if not any(g.match(fp.error_type) or g.match(short) for g in w.error_type):
            return None
        what = " ".join(x for x in (fp.action, fp.locator) if x)
        hit.evidence.append(f"{fp.error_type}{' in ' + what if what else ''}: {_first_line(fp.message)}")
    if w.healthy is not None:
        verdict = facts.healthy()
        if (verdict is not None) != w.healthy:
            return None
        if verdict:
            hit.evidence.append(verdict)
    if w.any_:
        alt = next((h for block in w.any_ if (h := _match(block, facts)) is not None), None)
        if alt is None:
            return None
        hit.evidence += alt.evidence
        hit.url, hit.status, hit.match = hit.url or alt.url, hit.status or alt.status, hit.match or alt.match
    if w.not_ is not None and _match(w.not_, facts) is not None:
        return None
    return hit


# ------------------------------------------------------------------ the classifier


class Classifier:
    def __init__(self, rules: Sequence[Rule], dependencies: Mapping[str, str], error_text: re.Pattern[str]):
        self.rules = tuple(rules)
        self.dependencies = dict(dependencies)
        self.error_text = error_text

    @classmethod
    def load(cls, extra_files: Sequence[Path | str] = ()) -> Classifier:
        """Built-in ``profiles/causes.yaml`` plus user rule files (user rules first)."""
        builtin = _read(BUILTIN)
        users = [_read(Path(p)) for p in extra_files]
        deps: dict[str, str] = {}
        for src in [*users, builtin]:
            for pattern, name in src.file.dependencies.items():
                deps.setdefault(pattern, name)  # earlier files win
        error_text = next((s.file.error_text for s in [*users, builtin] if s.file.error_text), None)
        return cls(_assemble(builtin, users), deps, error_text or re.compile(r"(?!)"))

    def classify(self, failure: FailurePoint, *, dependencies: Mapping[str, str] | None = None) -> Cause:
        merged = {**self.dependencies, **(dependencies or {})}
        # Run-time patterns are tried first: they describe this target better than the defaults.
        order = [*(dependencies or {}), *(p for p in self.dependencies if p not in (dependencies or {}))]
        deps = [(_glob(p), "/" in p, merged[p]) for p in order]
        facts = _Facts(failure, deps, self.error_text)
        for rule in self.rules:
            if (hit := _match(rule.when, facts)) is not None:
                return self._cause(rule, hit, facts)
        return Cause(
            category="unknown",
            detail="unclassified",
            dependency=next((d for r in facts.bad if (d := facts.dependency(r.url))), None),
            rule="unknown",
            evidence=f"{failure.error_type}: {_first_line(failure.message)}",
            summary=f"无法归类的失败 at step '{failure.step}' — no rule matched ({failure.error_type})",
        )

    def _cause(self, rule: Rule, hit: _Hit, facts: _Facts) -> Cause:
        fp = facts.fp
        # The request the evidence is about names the dependency; text evidence has none, so
        # any failing dependency call (or the page itself being on one) is named instead.
        dependency = rule.dependency or (
            facts.dependency(hit.url)
            if hit.url
            else next((d for r in facts.bad if (d := facts.dependency(r.url))), None) or facts.dependency(fp.url)
        )
        evidence = "; ".join(hit.evidence) or f"{fp.error_type}: {fp.message.strip()[:120]}"
        host = _host(hit.url or fp.url)
        values = {
            "step": fp.step, "detail": rule.detail, "category": rule.category,
            "dependency": dependency or "-", "who": dependency or host or "页面 page", "host": host or "-",
            "url": hit.url or fp.url, "status": hit.status or fp.document_status or "-", "evidence": evidence,
            "match": hit.match, "error_type": fp.error_type, "action": fp.action or "-", "locator": fp.locator or "-",
        }  # fmt: skip
        summary = rule.summary or "{category}/{detail} at step '{step}'"
        return Cause(
            category=rule.category,
            detail=rule.detail,
            dependency=dependency,
            rule=rule.id,
            evidence=evidence,
            summary=summary.format(**values),
        )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m probes.classify [--rules FILE]… [failure.json …]``: check rules, classify failures."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m probes.classify", description=main.__doc__)
    parser.add_argument("--rules", action="append", default=[], type=Path, help="user rules file (repeatable)")
    parser.add_argument("failures", nargs="*", type=Path, help="FailurePoint JSON files to classify")
    args = parser.parse_args(argv)
    try:
        classifier = Classifier.load(args.rules)
    except RulesError as exc:
        print(exc, file=sys.stderr)
        return 2
    if not args.failures:
        print(f"{len(classifier.rules)} rules, {len(classifier.dependencies)} dependency patterns: OK")
    for path in args.failures:
        try:
            failure = FailurePoint.model_validate_json(path.read_text(encoding="utf-8"))
        except (OSError, ValidationError) as exc:
            print(f"{path}: not a FailurePoint: {exc}", file=sys.stderr)
            return 2
        print(classifier.classify(failure).model_dump_json(indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
