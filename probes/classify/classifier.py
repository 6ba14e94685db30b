"""Failure point → cause: ordered rules (``rules``, data in ``causes.yaml`` beside it),
the first match wins, its evidence is kept.

``classify`` is a pure function of the FailurePoint and the dependency map: no Playwright,
no I/O, every regex and glob compiled once at load.
"""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import ValidationError

from orderprobe.base.result import Cause, FailurePoint, RequestRecord
from orderprobe.base.source import stamp
from orderprobe.probes import request_kinds, sites
from orderprobe.probes.classify.rules import (
    BUILTIN,
    NET_ERROR,
    RequestWhen,
    Rule,
    RulesError,
    When,
    assemble,
    compile_glob,
    read_rules,
)

__all__ = ["Classifier", "main"]


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


# On a slow link an answer later than this is no longer the link: TCP's retries after four losses in
# a row (1 + 2 + 4 + 8 s) are over by then; a server frozen for longer is the shop's.
SLOW_LINK_WAIT_MS = 15_000
TIMED_OUT_MS = 1000  # a request that had waited less when the action failed is not why it failed


def _pending(r: RequestRecord) -> bool:
    """Never answered: still waiting (for at least TIMED_OUT_MS, when the log says how long)."""
    return r.status is None and r.failure is None and (r.waited_ms is None or r.waited_ms >= TIMED_OUT_MS)


def _describe(r: RequestRecord) -> str:
    # What orderprobe did to the request is part of the evidence: never the shop's, nor a third party's.
    injected = f" ({r.injected})" if r.injected else ""
    if r.failure or r.status is not None:
        return f"request {r.method} {r.url} → {r.failure or f'HTTP {r.status}'}{injected}"
    if r.waited_ms is not None:  # from the request log: how long it had waited, in which step
        where = f" in step '{r.step}'" if r.step else ""
        return f"request {r.method} {r.url} → timed out: no answer after {r.waited_ms / 1000:.1f} s{where}{injected}"
    return f"request {r.method} {r.url} → no response (pending){injected}"


_Dep = tuple[re.Pattern[str], bool, str]  # glob, matches the whole URL (else host), name
# Requests another site serves whose failure does not stop a checkout: not third parties on their own.
PASSIVE_TYPES = frozenset({"image", "media", "font", "stylesheet", "ping", "beacon", "manifest", "texttrack"})


@dataclass
class _Hit:
    evidence: list[str] = field(default_factory=list)
    url: str | None = None  # the request (or navigation) the evidence is about
    status: int | None = None
    match: str = ""


class _Facts:
    """What the rules look at, derived once per failure point."""

    def __init__(self, fp: FailurePoint, deps: Sequence[_Dep], error_text: re.Pattern[str], site: str | None):
        self.fp, self.deps, self.error_text = fp, deps, error_text
        # The shop's own site: the target's registrable domain; without a target, the page's.
        self.page_site = sites.site(sites.host_of(site or fp.url))
        self.auto_third_parties = bool(site)
        keys, self.seen, self.bad = set(), [], []
        # Unanswered requests first, longest wait first: a timeout is named by what it waited for.
        first = [fp.first_failed_request] if fp.first_failed_request else []  # the first to break the path leads
        for r in [*first, *fp.waiting, *fp.failed_requests, *fp.requests]:
            key = (r.method, r.url, r.status, r.failure, r.start_ms)
            if key in keys:
                continue
            keys.add(key)
            self.seen.append(r)
            bad = (r.failure and "ERR_ABORTED" not in r.failure) or (r.status or 0) >= 400
            if bad or (_pending(r) and request_kinds.breaks_page(r.resource_type)):
                self.bad.append(r)
        self.types = {r.url: r.resource_type for r in self.seen}
        # Causal order: a third party's failure the page recovered from is not a cause.
        self.recovered = [r for r in self.bad if self._fallback_loaded(r)]
        if fp.first_failed_request is not None:  # the shop's own path broke: another site's call the page
            self.recovered += [
                r for r in self.bad if not (self.same_site(r.url) or r.navigation)
            ]  # went on without is not why
        self.bad = [r for r in self.bad if r not in self.recovered]
        # The page's words are evidence only if they were the shop's answer when the wait ended.
        self.texts = [] if fp.unsettled else [("page title", fp.page_title), ("page text", fp.page_text)]
        self.texts += [(f"{r.method} {r.url} said", _readable(r.body_excerpt)) for r in self.bad if r.body_excerpt]
        self.net_errors: list[tuple[str, str, str | None]] = []  # (ERR_…, where, url)
        self.refused_ms = refused_at = self.refused_at()
        for r in self.bad:  # a failed ad or analytics image does not stop a checkout
            if r.start_ms > refused_at:
                continue  # the shop had refused already: what the network did after is not why
            relevant = self.same_site(r.url) or self.dependency(r.url) or request_kinds.breaks_page(r.resource_type)
            if relevant and r.failure and (m := NET_ERROR.search(r.failure)):
                self.net_errors.append((m[1], _describe(r), r.url))
        for m in NET_ERROR.finditer(fp.message):
            self.net_errors.append((m[1], f"error {fp.error_type}: {m[0]}", m[2]))
        for m in NET_ERROR.finditer(fp.page_text):
            self.net_errors.append((m[1], f"browser error page shows {m[1]}", None))  # which URL: unknown

    def _fallback_loaded(self, r: RequestRecord) -> bool:
        """Another site's sub-resource whose file the page then loaded from the shop's own site
        (a CDN script with a local fallback): the page recovered, it is not a cause."""
        if r.navigation or r.resource_type in request_kinds.PAGE or self.same_site(r.url):
            return False
        name = urlsplit(r.url).path.rsplit("/", 1)[-1]
        return bool(name) and any(
            o.start_ms >= r.start_ms
            and self.same_site(o.url)
            and o.failure is None
            and 200 <= (o.status or 0) < 400
            and urlsplit(o.url).path.rsplit("/", 1)[-1] == name
            for o in self.seen
        )

    def refused_at(self) -> float:
        """When the shop first refused the path (ms): its own page or a state-changing call
        answered >= 400 — causal order: network failures after it are not the cause."""
        times = [
            r.start_ms
            for r in self.seen
            if (r.status or 0) >= 400
            and self.same_site(r.url)
            and (r.navigation or (r.resource_type in request_kinds.API and r.method.upper() not in request_kinds.READS))
        ]
        return min(times, default=float("inf"))

    def dependency(self, url: str | None) -> str | None:
        if not url:
            return None
        host = sites.host_of(url)
        netloc = urlsplit(url).netloc.lower() if "://" in url else host
        for pattern, whole_url, name in self.deps:
            if pattern.match(url) if whole_url else (pattern.match(host) or pattern.match(netloc)):
                return name
        # Unnamed: any other registrable domain the checkout calls is a third party, named by its
        # host (payment gateways, CDNs, SMS, logistics); --dependency only names or groups them.
        if (
            self.auto_third_parties
            and url.startswith(("http://", "https://", "ws://", "wss://"))
            and self.types.get(url, "") not in PASSIVE_TYPES
            and not self.same_site(url)
        ):
            return host
        return None

    def same_site(self, url: str) -> bool:
        return bool(self.page_site) and sites.site(sites.host_of(url)) == self.page_site

    def healthy(self) -> str | None:
        """The page looks fine: a 2xx/3xx document, no broken request to its site or a
        dependency, no error wording. Then a locator that times out is the probe's fault.

        Failed requests of earlier pages count too: a silent 500 on "add to cart" is often why
        an element is missing later, and calling a broken checkout "probe drift" would hide it."""
        fp = self.fp
        if fp.unsettled:  # the page was being left, or changed since the wait ended: not known healthy
            return None
        if not _in(fp.document_status, ((200, 399),)) or not fp.url.startswith(("http://", "https://")):
            return None
        for r in self.bad:
            if not (self.same_site(r.url) or self.dependency(r.url)):
                continue  # a broken ad or analytics request does not break checkout
            if r.failure or (r.status or 0) >= 500 or request_kinds.breaks_page(r.resource_type):
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
            rw.injected is None
            or (isinstance(rw.injected, bool) and bool(r.injected) == rw.injected)
            or (isinstance(rw.injected, tuple) and any(g.match(r.injected or "") for g in rw.injected))
        )
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
        (w.validation, "\n".join(fp.validation), "the browser refused a field:"),
        (w.not_ready, "\n".join(fp.not_ready), "the browser refused a field at the tap, valid since:"),
        (w.notes, "\n".join(fp.capture_notes), "capture:"),
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
    if w.link_stalled is not None:
        stalled = bool(fp.link and fp.link.stalled)
        if stalled != w.link_stalled:
            return None
        if fp.link is not None and stalled:
            hit.evidence.append(fp.link.summary)
    if w.slow_link is not None:
        waits = [r.waited_ms or 0.0 for r in fp.waiting if r.navigation or r.resource_type in request_kinds.API]
        slow = bool(fp.link and fp.link.slow) and all(ms < SLOW_LINK_WAIT_MS for ms in waits)
        if slow != w.slow_link:
            return None
        if slow and fp.link is not None:
            hit.evidence.append(fp.link.summary)
    if w.arrived_late is not None:
        if bool(fp.arrived_late) != w.arrived_late:
            return None
        if fp.arrived_late:
            hit.evidence.append(fp.arrived_late + (f"; {fp.link.summary}" if fp.link else ""))
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
        """Built-in ``causes.yaml`` (package data) plus user rule files (user rules first). Read once
        per process while the files stay as they are: a run's checks and its session both ask."""
        files = tuple(Path(p) for p in extra_files)
        return _loaded(files, stamp([BUILTIN, *files]))

    @classmethod
    def _read(cls, extra_files: Sequence[Path]) -> Classifier:
        builtin = read_rules(BUILTIN)
        users = [read_rules(p) for p in extra_files]
        deps: dict[str, str] = {}
        for src in [*users, builtin]:
            for pattern, name in src.file.dependencies.items():
                deps.setdefault(pattern, name)  # earlier files win
        error_text = next((s.file.error_text for s in [*users, builtin] if s.file.error_text), None)
        return cls(assemble(builtin, users), deps, error_text or re.compile(r"(?!)"))

    def classify(
        self, failure: FailurePoint, *, dependencies: Mapping[str, str] | None = None, site: str | None = None
    ) -> Cause:
        """``site``: the target's base URL. Requests to other registrable domains are then third
        parties even when no dependency pattern names them, and "same site" means the target's."""
        merged = {**self.dependencies, **(dependencies or {})}
        # Run-time patterns are tried first: they describe this target better than the defaults.
        order = [*(dependencies or {}), *(p for p in self.dependencies if p not in (dependencies or {}))]
        deps = [(compile_glob(p), "/" in p, merged[p]) for p in order]
        facts = _Facts(failure, deps, self.error_text, site)
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
            else next((d for r in facts.bad if r.start_ms <= facts.refused_ms and (d := facts.dependency(r.url))), None)
            or facts.dependency(fp.url)
        )
        evidence = "; ".join(hit.evidence) or f"{fp.error_type}: {fp.message.strip()[:120]}"
        host = sites.host_of(hit.url or fp.url)
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


@functools.lru_cache(maxsize=8)
def _loaded(files: tuple[Path, ...], _stamp: tuple[object, ...]) -> Classifier:
    return Classifier._read(files)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m orderprobe.probes.classify [--rules FILE]… [failure.json …]``: check rules, classify failures."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m orderprobe.probes.classify", description=main.__doc__)
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
