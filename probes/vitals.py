"""Core Web Vitals per step: LCP, CLS, INP, FCP and TTFB, measured in the page.

Google's ``web-vitals`` library (vendored, see ``probes/vendor/README.md``) runs in every
document through an init script and reports each change of a metric (``reportAllChanges``)
through a binding, with the document it belongs to. A step gets the vitals of the pages it
loaded or interacted with:

- LCP, FCP and TTFB of a document belong to the step during which its first metric arrived
  (the step that loaded it);
- CLS and INP belong to every step the document was shown in that changed them or ended on it;
  the worst value of the step's pages is kept (CLS is the page's layout shift so far).

Values arriving between steps go to the next step. At a step's end two animation frames are
awaited and then an idle moment (bounded), so a paint or an interaction the step caused has
reported before its vitals are read.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from orderprobe.base.result import Vitals
from orderprobe.probes.bounded import bounded
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from orderprobe.base.result import StepResult
    from orderprobe.probes.journey import Journey

BINDING = "__orderprobe_vital"
LOADED = ("lcp_ms", "fcp_ms", "ttfb_ms")  # a document's load: the step that loaded it
SHOWN = ("cls", "inp_ms")  # the page while shown: every step it changed in
NAMES = {"LCP": "lcp_ms", "FCP": "fcp_ms", "TTFB": "ttfb_ms", "CLS": "cls", "INP": "inp_ms"}
LABELS = {key: name for name, key in NAMES.items()}
# Google's thresholds (web.dev/articles/vitals, as in web-vitals' own ratings): good up to the
# first, poor above the second.
THRESHOLDS = {"lcp_ms": (2500, 4000), "fcp_ms": (1800, 3000), "ttfb_ms": (800, 1800), "cls": (0.1, 0.25),
              "inp_ms": (200, 500)}  # fmt: skip


def rating(key: str, value: float) -> str:
    good, poor = THRESHOLDS[key]
    return "good" if value <= good else "poor" if value > poor else "needs-improvement"


# web-vitals' IIFE declares `var webVitals`: wrapped in a function it stays out of the page's globals.
GLUE = """
(() => {
  if (window.top !== window || window.__orderprobeVitals || !/^https?:$/.test(location.protocol)) return;
  window.__orderprobeVitals = true;
  __LIBRARY__
  const doc = String(performance.timeOrigin) + ":" + Math.random().toString(36).slice(2);
  const send = m => { try { window.__BINDING__(doc, location.href, m.name, m.value); } catch (e) {} };
  const all = {reportAllChanges: true};
  webVitals.onLCP(send, all); webVitals.onFCP(send, all); webVitals.onTTFB(send, all);
  webVitals.onCLS(send, all);
  webVitals.onINP(send, {reportAllChanges: true, durationThreshold: 16});  // the lowest Event Timing allows
})();
"""
# After the next paint (two frames), then idle twice: web-vitals hands INP over in an idle callback
# (at most 1 s) that it asks for only once the click's timing entry arrives, which on a busy machine
# can be after our first idle callback was asked for; the second is asked for after it, so it runs
# after it. Ours must not give up sooner either: a flush that ended at 0.5 s lost the INP of a click
# made just before the step ended. (A click's INP lost, 180 steps at load 20–35: one idle callback
# 8, 7; two 0, 2.)
FLUSH = """() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() =>
  requestIdleCallback(() => requestIdleCallback(() => setTimeout(done, 0), {timeout: 1000}), {timeout: 1000}))))"""


@cache
def library() -> str:
    return resources.files("orderprobe.probes.vendor").joinpath("web-vitals.iife.js").read_text(encoding="utf-8")


def script() -> str:
    return GLUE.replace("__LIBRARY__", library()).replace("__BINDING__", BINDING)


@dataclass
class _Document:
    url: str
    values: dict[str, float] = field(default_factory=dict)
    loaded_in: int = -1  # index of the step that loaded it


class VitalsMeter(StepListener):
    """Attach to one context + page; a Journey StepListener that sets ``step.vitals``."""

    phase = Phase.ENRICH

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.page = page
        self.documents: dict[str, _Document] = {}
        self.current: str | None = None  # the document that reported last: the page on screen
        self._step = 0  # index of the step running or next to run
        self._changed: dict[str, set[str]] = {}  # in the current step: document → metrics changed
        context.expose_binding(BINDING, self._on_vital)
        context.add_init_script(script())

    def _on_vital(self, _source: Any, doc: str, url: str, name: str, value: float) -> None:
        key = NAMES.get(name)
        if key is None:
            return
        document = self.documents.setdefault(doc, _Document(url=url, loaded_in=self._step))
        document.url = url
        document.values[key] = float(value)
        self._changed.setdefault(doc, set()).add(key)
        self.current = doc

    # -- StepListener -----------------------------------------------------------------------
    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        for _ in range(3):  # a loaded page's LCP can come a frame or two late on a busy machine
            with contextlib.suppress(Exception):  # a closed, crashed or busy page: what arrived counts
                bounded(self.page, lambda page: page.evaluate(FLUSH, None), 1.5)
            if not self._awaiting_lcp():
                break
        step.vitals = self.read()
        self._step += 1
        self._changed = {}

    def _awaiting_lcp(self) -> bool:
        """The page on screen was loaded in this step but its LCP has not arrived yet."""
        document = self.documents.get(self.current) if self.current else None
        return bool(document and document.loaded_in == self._step and "lcp_ms" not in document.values)

    def read(self) -> Vitals | None:
        """The vitals of the step now ending, from what has arrived."""
        touched = set(self._changed) | ({self.current} if self.current else set())
        values: dict[str, float] = {}
        url = ""
        for doc in touched:
            document = self.documents[doc]
            keys = [k for k in LOADED if document.loaded_in == self._step]
            keys += [k for k in SHOWN if k in self._changed.get(doc, ()) or doc == self.current]
            for key in keys:
                if key in document.values:
                    values[key] = max(values.get(key, 0.0), document.values[key])
            if doc == self.current:
                url = document.url
        if not values:
            return None
        return Vitals(url=url, **{k: round(v, 4 if k == "cls" else 1) for k, v in values.items()})
