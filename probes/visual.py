"""``journey.expect_screenshot(name)``: the page compared with a stored baseline — a visual signal
of its own, never a failed checkout (a page that looks different still took the order).

Pixels are compared by pixelmatch (the Python port of mapbox/pixelmatch, the library behind
Playwright's own ``toHaveScreenshot``): a colour ``threshold`` per pixel (YIQ distance, 0–1),
anti-aliased edges ignored, and a diff image. Pillow finds the box where anything differs first,
so an identical page costs one pass in C and pixelmatch only walks the changed box. Masked
locators (a clock, a price that moves) are painted over by Playwright in both images alike.

Baselines live in ``--baselines DIR`` as ``<probe>/<device>-<region>-<account>/<name>.png``
(network and mid-journey switches change no pixels; device, locale and account do). The first
run writes the baseline (``new``); ``--update-baselines`` rewrites them (``updated``). On a
mismatch the baseline, the page and the diff are kept with the journey's artefacts.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderprobe.base.atomic import WriteFailed, write_bytes
from orderprobe.base.result import VisualCheck

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

TIMEOUT_MS = 10_000.0
MASK_COLOUR = "#FF00FF"
SECRETS = "input[type=password]"  # always masked: no secret in a baseline


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_")[:80] or "_"


class Screenshots:
    """Takes and compares the screenshots one journey asks for (``Journey.expect_screenshot``)."""

    def __init__(
        self,
        page: Page,
        *,
        baselines: Path,
        key: str,
        artefacts: Path,
        rel_dir: str,
        update: bool = False,
        unwritten: list[str] | None = None,
    ) -> None:
        self.page = page
        self.baselines = baselines
        self.key = key  # "<probe>/<device>-<region>-<account>"
        self.artefacts = artefacts  # paths in results are relative to it
        self.rel_dir = rel_dir
        self.update = update
        self.unwritten = unwritten if unwritten is not None else []

    def check(
        self,
        name: str,
        *,
        step: str,
        mask: list[Locator] | tuple[Locator, ...] = (),
        threshold: float = 0.1,
        max_diff_pixels: int = 0,
        max_diff_ratio: float = 0.0,
        full_page: bool = False,
    ) -> VisualCheck:
        if not 0 <= threshold <= 1:
            raise ValueError(f"expect_screenshot({name!r}): threshold must be in [0, 1], got {threshold}")
        baseline = self.baselines / self.key / f"{slug(name)}.png"
        check = VisualCheck(
            name=name,
            step=step,
            baseline=str(baseline),
            threshold=threshold,
            max_diff_pixels=max_diff_pixels,
            max_diff_ratio=max_diff_ratio,
            status="error",
        )
        try:
            # CSS pixels, animations stopped, caret hidden: the same page gives the same image on any DPR.
            png = self.page.screenshot(
                timeout=TIMEOUT_MS,
                scale="css",
                animations="disabled",
                caret="hide",
                full_page=full_page,
                mask=[*mask, self.page.locator(SECRETS)],
                mask_color=MASK_COLOUR,
            )
        except Exception as exc:  # a page that cannot be drawn: said, never a failed step
            check.message = f"no screenshot: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
            return check
        if self.update or not baseline.exists():
            check.status = "updated" if baseline.exists() else "new"
            try:
                write_bytes(baseline, png)
            except WriteFailed as exc:
                self.unwritten.append(str(exc))
                check.status, check.message = "error", str(exc)
            return check
        return self._compare(check, baseline.read_bytes(), png)

    def _compare(self, check: VisualCheck, expected: bytes, actual: bytes) -> VisualCheck:
        from PIL import Image, ImageChops
        from pixelmatch.contrib.PIL import pixelmatch

        want = Image.open(io.BytesIO(expected)).convert("RGBA")
        got = Image.open(io.BytesIO(actual)).convert("RGBA")
        check.pixels = got.width * got.height
        if want.size != got.size:
            check.status = "mismatch"
            check.message = f"size {got.width}×{got.height} px, baseline {want.width}×{want.height} px"
            self._keep(check, expected, actual, None)
            return check
        box = ImageChops.difference(want, got).getbbox(alpha_only=False)
        if box is None:
            check.status = "match"
            return check
        # pixelmatch reads each pixel's neighbours to tell anti-aliasing: the box grows by 2 px.
        left, top, right, bottom = box
        box = (max(0, left - 2), max(0, top - 2), min(got.width, right + 2), min(got.height, bottom + 2))
        diff = Image.new("RGBA", got.size, (0, 0, 0, 0))
        region = Image.new("RGBA", (box[2] - box[0], box[3] - box[1]))
        check.diff_pixels = pixelmatch(want.crop(box), got.crop(box), region, threshold=check.threshold, diff_mask=True)
        diff.paste(region, box[:2])
        allowed = max(check.max_diff_pixels, int(check.max_diff_ratio * check.pixels))
        if check.diff_pixels <= allowed:
            check.status = "match"  # within what the probe allows (anti-aliasing alone counts nothing)
            return check
        check.status = "mismatch"
        check.message = f"{check.diff_pixels} px differ ({check.ratio:.2%}), {allowed} allowed"
        # The diff drawn over a faded page, as Playwright shows it: where on the page it changed.
        faded = Image.blend(got, Image.new("RGBA", got.size, (255, 255, 255, 255)), 0.7)
        self._keep(check, expected, actual, Image.alpha_composite(faded, diff))
        return check

    def _keep(self, check: VisualCheck, expected: bytes, actual: bytes, diff: Any) -> None:
        base = f"{self.rel_dir}/visual-{slug(check.name)}"
        try:
            write_bytes(self.artefacts / f"{base}-baseline.png", expected)
            write_bytes(self.artefacts / f"{base}-actual.png", actual)
            check.expected, check.actual = f"{base}-baseline.png", f"{base}-actual.png"
            if diff is not None:
                out = io.BytesIO()
                diff.save(out, format="PNG")
                write_bytes(self.artefacts / f"{base}-diff.png", out.getvalue())
                check.diff = f"{base}-diff.png"
        except WriteFailed as exc:  # the check stands; its pictures could not be kept, and the run says so
            self.unwritten.append(str(exc))


def baseline_key(probe: str, profile: Any) -> str:
    """``<probe>/<device>-<region>-<account>``: what changes the pixels, not the network."""
    return f"{slug(probe)}/{slug(profile.device.name)}-{slug(profile.region.name)}-{slug(profile.account.name)}"
