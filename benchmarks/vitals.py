"""Web Vitals against known answers: pages built so LCP, CLS and INP have a value set in advance.

Users distrust synthetic vitals that disagree with Lighthouse by seconds. Here the answer is
built into the page, and orderprobe's per-step vitals (``orderprobe.probes.vitals``: Google's web-vitals
in the page) must land within ±10 % of it:

- ``/lcp?at=MS``: a small text first, then a 320×320 image (already decoded) put in at MS after
  the navigation started: LCP = MS plus at most a frame (on a loaded machine the page may put it
  in later: then the answer is when it did, ``window.insertedAt``, and both are printed);
- ``/shift``: a 400×400 block at the top of a 400×800 viewport, pushed down 200 px by a banner
  500 ms after load: impact fraction 600×400 / (800×400) = 0.75, distance fraction 200 / 800 =
  0.25, CLS = 0.1875;
- ``/busy-click``: a button whose handler blocks the main thread 200 ms: INP >= 200 (the paint
  after it adds a frame or so).
"""

from __future__ import annotations

import os
import statistics
import struct
import zlib
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from benchmarks import loopback

VIEWPORT = {"width": 400, "height": 800}
CLS_ANSWER = 0.75 * 0.25
BUSY_MS = 200

LCP_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>LCP</title>
<style>body{margin:0} p{font-size:12px}</style></head><body><p>loading</p><script>
const at = Number(new URLSearchParams(location.search).get("at"));
const img = new Image(320, 320);
img.src = "/block.png";
img.decode().then(() => setTimeout(() => {
  document.body.append(img);
  window.insertedAt = performance.now();  // later than `at` only when the machine could not keep up
}, Math.max(0, at - performance.now())));
</script></body></html>"""

SHIFT_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Shift</title>
<style>body{margin:0} #block{width:400px;height:400px;background:#36c;color:#fff}
#banner{height:200px;background:#fc3}</style>
</head><body><div id="block">order summary</div><script>
addEventListener("load", () => setTimeout(() => {
  const banner = document.createElement("div"); banner.id = "banner"; document.body.prepend(banner);
}, 500));
</script></body></html>"""

BUSY_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Busy</title></head><body>
<button id="go" style="width:200px;height:60px">Pay</button><p id="out"></p><script>
document.getElementById("go").addEventListener("click", () => {
  const end = performance.now() + __BUSY__; while (performance.now() < end) {}
  document.getElementById("out").textContent = "paid";
});
</script></body></html>""".replace("__BUSY__", str(BUSY_MS))


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour PNG (no imaging library needed for one flat block)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


FILES = {
    "/lcp": (LCP_PAGE.encode(), "text/html; charset=utf-8"),
    "/shift": (SHIFT_PAGE.encode(), "text/html; charset=utf-8"),
    "/busy-click": (BUSY_PAGE.encode(), "text/html; charset=utf-8"),
    "/block.png": (png(320, 320, (40, 120, 200)), "image/png"),
}


class _Handler(loopback.Quiet):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body, kind = FILES.get(self.path.split("?")[0], (b"not found", "text/plain"))
        loopback.answer(self, body, kind, 200 if body != b"not found" else 404)


def serve() -> AbstractContextManager[str]:
    """The known-answer pages on loopback: their base URL."""
    return loopback.serve(_Handler)


@contextmanager
def measured(browser: Any) -> Iterator[tuple[Any, Any]]:
    """(page, journey): a fresh context whose steps get their vitals, wired as the engine wires them."""
    from orderprobe.probes.journey import Journey
    from orderprobe.probes.vitals import VitalsMeter

    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        journey = Journey("vitals")
        journey.listeners = [VitalsMeter(context, page)]
        yield page, journey
    finally:
        context.close()


def lcp(browser: Any, url: str, at_ms: int) -> tuple[float | None, float]:
    """(LCP measured, when the page put the image in)."""
    with measured(browser) as (page, journey):
        with journey.step("open"):
            page.goto(f"{url}/lcp?at={at_ms}")
            page.locator("img").wait_for()
        vitals = journey.steps[0].vitals
        return (vitals.lcp_ms if vitals else None), page.evaluate("window.insertedAt")


def cls(browser: Any, url: str) -> float | None:
    with measured(browser) as (page, journey):
        with journey.step("open"):
            page.goto(f"{url}/shift")
            page.locator("#banner").wait_for()
        vitals = journey.steps[0].vitals
        return vitals.cls if vitals else None


def inp(browser: Any, url: str) -> float | None:
    with measured(browser) as (page, journey):
        with journey.step("open"):
            page.goto(f"{url}/busy-click")
        with journey.step("pay"):
            page.click("#go")
            page.get_by_text("paid").wait_for()
        vitals = journey.steps[1].vitals
        return vitals.inp_ms if vitals else None


def main(quick: bool = False) -> None:
    from playwright.sync_api import sync_playwright

    from orderprobe.probes.browser import launch_options

    runs = 3 if quick else 10
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; {runs} runs each, median shown")
    with sync_playwright() as pw, serve() as url:
        browser = pw.chromium.launch(**launch_options())
        try:
            rows = []
            for at in (500, 1500):
                pairs = [lcp(browser, url, at) for _ in range(runs)]
                got = [(m or 0.0) for m, _ in pairs]
                late = statistics.median(inserted for _, inserted in pairs)
                rows.append((f"LCP, image at {at} ms (put in at {late:.0f})", late, statistics.median(got), max(got)))
            got = [cls(browser, url) or 0.0 for _ in range(runs)]
            rows.append(("CLS, block pushed 200 px", CLS_ANSWER, statistics.median(got), max(got)))
            got = [inp(browser, url) or 0.0 for _ in range(runs)]
            rows.append((f"INP, handler busy {BUSY_MS} ms (lower bound)", BUSY_MS, statistics.median(got), max(got)))
        finally:
            browser.close()
    print(f"{'page':44} {'answer':>8} {'median':>9} {'max':>9} {'median/answer':>14}")
    for name, answer, median, worst in rows:
        print(f"{name:44} {answer:8.4g} {median:9.4g} {worst:9.4g} {median / answer:14.3f}")


if __name__ == "__main__":
    main()
