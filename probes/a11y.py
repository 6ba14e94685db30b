"""``--a11y``: an axe-core accessibility scan of the page at each step's end — a signal of its own,
never a failed checkout (a step with violations is still the step it was).

axe-core (Deque, MPL-2.0) is vendored (``probes/vendor/``) and injected only when a step ends,
so pages run without it; the scan is bounded, and a page that cannot be scanned is said, not
failed.
"""

from __future__ import annotations

import contextlib
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from orderprobe.base.result import A11yScan, A11yViolation
from orderprobe.probes.bounded import bounded
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from orderprobe.base.result import StepResult
    from orderprobe.probes.journey import Journey

# WCAG A and AA rules: what a checkout must meet; best-practice rules would drown them.
RUN = """async source => {
  if (!window.axe) (0, eval)(source);
  const result = await window.axe.run(document, {runOnly: {type: "tag", values: ["wcag2a", "wcag2aa"]},
                                                 resultTypes: ["violations"]});
  return result.violations.map(v => ({id: v.id, impact: v.impact || "", help: v.help, nodes: v.nodes.length,
                                      targets: v.nodes.slice(0, 3).map(n => String(n.target))}));
}"""


@cache
def library() -> str:
    return resources.files("orderprobe.probes.vendor").joinpath("axe.min.js").read_text(encoding="utf-8")


class A11yScanner(StepListener):
    """A Journey StepListener that sets ``step.a11y``."""

    phase = Phase.ENRICH

    def __init__(self, page: Page, seconds: float = 15.0) -> None:
        self.page = page
        self.seconds = seconds

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        url = ""
        with contextlib.suppress(Exception):
            url = self.page.url
        if not url.startswith(("http://", "https://")):
            return
        try:
            found: list[dict[str, Any]] = bounded(self.page, lambda page: page.evaluate(RUN, library()), self.seconds)
            step.a11y = A11yScan(url=url, violations=[A11yViolation(**v) for v in found])
        except Exception as exc:  # a busy, closed or navigating page: said, never a failed step
            step.a11y = A11yScan(url=url, error=f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
