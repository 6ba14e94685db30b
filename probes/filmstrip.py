"""Screenshots at the end of each step (``--screenshots on``): the run report's filmstrip.

A step listener beside the recorder, which keeps its own screenshot at the failure point (the
failed step's frame). Each step that passed (or ran slow) ends with one screenshot, bounded by
its own timeout and never a reason to fail the journey: a page that cannot be drawn in time
(fonts that never load, a busy renderer) leaves that step without a frame. It is taken after the
step's clock stopped, so step times exclude it; the journey's total includes it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from orderprobe.base.atomic import WriteFailed, write_bytes
from orderprobe.base.result import StepStatus
from orderprobe.probes.journey import Phase, StepListener

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from orderprobe.base.result import StepResult
    from orderprobe.probes.journey import Journey

MODES = ("on", "failure", "off")  # every step | the failure point only (default) | none
DEFAULT = "failure"
TIMEOUT_MS = 3000.0
MASK = "input[type=password]"  # as the failure screenshot (orderprobe.probes.recorder): no secret on film


def file_name(index: int, step: str) -> str:
    return f"step-{index:02d}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', step)[:60]}.jpg"


class Filmstrip(StepListener):
    """A Journey StepListener that sets ``step.screenshot``: a frame of each step that did not fail
    (the recorder's failure screenshot is a failing step's frame)."""

    phase = Phase.ENRICH

    def __init__(
        self, page: Page, root: Path, rel_dir: str, timeout_ms: float = TIMEOUT_MS, unwritten: list[str] | None = None
    ) -> None:
        self.page = page
        self.root = root  # the artefacts folder; paths in results are relative to it
        self.rel_dir = rel_dir
        self.timeout_ms = timeout_ms
        self.unwritten = unwritten if unwritten is not None else []  # frames a full or read-only disk refused

    def on_step_end(self, journey: Journey, step: StepResult) -> None:
        if step.status is StepStatus.FAILED:
            return
        name = file_name(len(journey.steps), step.name)
        try:
            # JPEG at CSS pixels, not a phone's 2–3× device pixels: a frame is a thumbnail first.
            data = self.page.screenshot(
                timeout=self.timeout_ms, type="jpeg", quality=70, scale="css", mask=[self.page.locator(MASK)]
            )
            write_bytes(self.root / self.rel_dir / name, data)  # whole or not at all
        except WriteFailed as exc:  # the step stands without its frame, and the run says so
            self.unwritten.append(str(exc))
            return
        except Exception:  # timed out, page gone: the step stands without its frame
            return
        step.screenshot = f"{self.rel_dir}/{name}"
