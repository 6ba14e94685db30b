"""Evidence from a page that may not answer: its text, title and a screenshot, each bounded.

A failure is when a page is least cooperative: a navigation that never commits, a runaway
script holding the main thread, a spinner that never stops, a web font that never arrives.
Each probe here has a hard limit, falls back to a cheaper one, and says what it could not take
(``FailurePoint.capture_notes``) instead of writing orderprobe's words where the page's belong.
"""

from __future__ import annotations

import base64
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderprobe.base.atomic import write_bytes
from orderprobe.probes.bounded import bounded
from orderprobe.probes.compat import playwright as compat

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

    from orderprobe.base.result import FailurePoint

SHOT_MS = 3000  # per screenshot attempt: a page that cannot be drawn in 3 s will not be in 5
ANSWER_MS = 1000  # a main thread that cannot evaluate "0" in this long is busy
TURN_S = 3.0  # for Playwright's loop to run a callback scheduled from another thread (a loaded machine)
TEXT_EXCERPT = 2000


def first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")[:200]


def _why(what: str, exc: BaseException) -> str:
    return f"{what}: {type(exc).__name__}: {first_line(str(exc))}"


def attach(context: BrowserContext, page: Page) -> Any:
    """A DevTools session opened now, while the page answers: one opened on a page whose main
    thread is busy never attaches. Through it a failure can still be drawn (CDP screenshot) and a
    runaway script stopped. None where the browser has no CDP."""
    try:
        return context.new_cdp_session(page)
    except Exception:
        return None


def unblock(cdp: Any, failure: FailurePoint) -> None:
    """A page whose main thread is busy (a runaway script) answers nothing: no text, no
    screenshot. Stop the running script (the journey has failed already) and say so."""
    if cdp is None:
        return
    try:
        cdp.send("Runtime.evaluate", {"expression": "0"}, timeout=ANSWER_MS)
        return
    except Exception as exc:
        if "Timeout" not in str(exc):
            return  # closed or crashed, not busy: nothing to stop
    try:
        cdp.send("Runtime.terminateExecution", timeout=2 * ANSWER_MS)
        note = "page: main thread busy (no answer in 1 s); its running script was stopped to take evidence"
    except Exception as exc:
        note = _why("page: main thread busy; stopping its script failed", exc)
    failure.capture_notes.append(note)


def page_text(page: Page) -> str:
    """The visible text; while a navigation is pending, locators wait for the next document, so
    the page still shown is read directly (bounded) instead."""
    try:
        return page.locator("body").inner_text(timeout=1500)
    except Exception:
        script = "document.body ? document.body.innerText : document.documentElement.textContent"
        return bounded(page, lambda impl: impl.evaluate(script, None), 1.5) or ""


def read_page(page: Page, failure: FailurePoint) -> bool:
    """URL, title and visible text into ``failure``; what could not be read into its notes.
    False when the page did not answer: a navigation pending that its one look failed on."""
    failure.url = page.url  # known to Playwright, never asks the page
    try:
        failure.page_title = bounded(page, lambda impl: impl.title(), 2.0)  # no timeout of its own
    except Exception as exc:  # crashed / closed / busy page: say so, beside the page's fields
        failure.capture_notes.append(_why("page title", exc))
    if _pending(failure):
        return _read_shown(page, failure)
    try:
        failure.page_text = page_text(page)[:TEXT_EXCERPT]
    except Exception as exc:
        failure.capture_notes.append(_why("page text", exc))
    try:
        failure.validation = bounded(page, lambda impl: impl.evaluate(INVALID_FIELDS, None), 2.0)[:10]
    except Exception as exc:
        failure.capture_notes.append(_why("form validation", exc))
    return True


def _pending(failure: FailurePoint) -> bool:
    return any(r.navigation for r in failure.waiting)


def _read_shown(page: Page, failure: FailurePoint) -> bool:
    """While a navigation is pending, the page answers its title and a CDP screenshot at once and
    little else until the next document commits (which a held request may never do): one short
    look for its text and refused fields, not a full wait per field (5 s on every such failure)."""
    try:
        text, invalid = bounded(page, lambda impl: impl.evaluate(SHOWN, None), 1.5)
        failure.page_text, failure.validation = str(text or "")[:TEXT_EXCERPT], invalid[:10]
    except Exception as exc:
        failure.capture_notes.append(_why("page text (a navigation was pending)", exc))
        return False
    return True


# Fields the browser itself refuses (required, pattern, type, min/max…), by their label or name.
INVALID_FIELDS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter((el) => el.willValidate && !el.validity.valid && el.validationMessage)  // checkValidity() fires "invalid"
  .map((el) => {
    const label = (el.labels && el.labels[0] && el.labels[0].innerText.trim()) || el.name || el.id || el.type;
    return `${label}: ${el.validationMessage}`.slice(0, 200);
  })"""


def screenshot(page: Page, cdp: Any, failure: FailurePoint, path: Path, rel: str) -> None:
    """Playwright's screenshot (password fields masked, animations stopped), which also waits for
    web fonts; then the compositor's last frame over CDP, which waits for nothing (a password
    field shows as dots there); else the reason, beside the page text kept. Written whole or not
    at all (``WriteFailed`` is the caller's)."""
    why: list[str] = []
    png: bytes | None = None
    if _pending(failure):  # Playwright's screenshot would wait SHOT_MS for the next document
        why.append("page.screenshot: skipped, a navigation was pending")
    else:
        try:
            mask = [page.locator("input[type=password]")]  # a secret being typed stays hidden
            png = page.screenshot(timeout=SHOT_MS, animations="disabled", caret="hide", mask=mask)
        except Exception as exc:
            why.append(_why("page.screenshot", exc))
    if png is None and cdp is not None:
        try:
            shot = cdp.send("Page.captureScreenshot", {"format": "png"}, timeout=SHOT_MS)
            png = base64.b64decode(shot["data"])
            failure.capture_notes.append(f"screenshot: taken over CDP ({why[0]})")
        except Exception as exc:
            why.append(_why("CDP Page.captureScreenshot", exc))
    if png is None:
        kept = "page text kept" if failure.page_text else "no page text either"
        failure.capture_notes.append(f"screenshot: none — {'; '.join(why) or 'no DevTools session'}; {kept}")
        return
    write_bytes(path, png)
    failure.screenshot = rel


BODY_TEXT = "document.body ? document.body.innerText : document.documentElement.textContent"
SHOWN = f"[{BODY_TEXT}, ({INVALID_FIELDS})()]"


def _send(cdp: Any, method: str, params: dict[str, Any] | None, ms: float) -> Any:
    return compat.send_from_thread(cdp, method, params, ms / 1000)


def release(cdp: Any) -> list[str] | None:
    """From the deadline's watchdog thread: let the probe's blocked call return without closing
    the page — stop a navigation that never commits and a runaway script — so the worker takes
    the failure's evidence itself (``capture``), while the page is still there. Notes what it
    stopped; None if nothing scheduled from here would run (the worker is not in Playwright)."""
    if cdp is None or not compat.turning(cdp, TURN_S):
        return None
    notes = []
    with contextlib.suppress(Exception):  # a pending navigation also keeps Runtime.evaluate from answering
        _send(cdp, "Page.stopLoading", None, ANSWER_MS)
    try:
        _send(cdp, "Runtime.evaluate", {"expression": "0"}, ANSWER_MS)
    except TimeoutError:
        with contextlib.suppress(Exception):  # its answer may wait for the worker to turn the loop
            _send(cdp, "Runtime.terminateExecution", None, ANSWER_MS)
        notes.append("page: main thread busy at the journey deadline; its running script was stopped")
    except Exception:
        pass  # closed or crashed: nothing to release
    return notes


def last_look(page: Page, cdp: Any, failure: FailurePoint, path: Path, rel: str) -> None:
    """From the deadline's watchdog thread, when the worker could not take the evidence itself:
    the page's text and a screenshot over the journey's DevTools session (the one way in from
    that thread), each call bounded. Written whole or not at all (``WriteFailed`` is the caller's)."""
    failure.url = page.url  # known to Playwright, never asks the page
    if cdp is None:
        failure.capture_notes.append("deadline: the page's last state could not be taken (no DevTools session)")
        return
    if not compat.turning(cdp, TURN_S):  # nothing scheduled from here would start
        failure.capture_notes.append(
            "deadline: the page's last state could not be taken (the probe was not waiting on the browser)"
        )
        return
    try:
        expression = f"[document.title, {BODY_TEXT}]"
        answer = _send(cdp, "Runtime.evaluate", {"expression": expression, "returnByValue": True}, 2 * ANSWER_MS)
        title, text = answer["result"]["value"]
        failure.page_title, failure.page_text = str(title), str(text or "")[:TEXT_EXCERPT]
    except Exception as exc:
        failure.capture_notes.append(_why("page text", exc))
    try:
        png = base64.b64decode(_send(cdp, "Page.captureScreenshot", {"format": "png"}, SHOT_MS)["data"])
    except Exception as exc:
        kept = "page text kept" if failure.page_text else "no page text either"
        failure.capture_notes.append(f"screenshot: none — {_why('CDP Page.captureScreenshot', exc)}; {kept}")
        return
    write_bytes(path, png)
    failure.screenshot = rel
    failure.capture_notes.append("screenshot: taken over CDP as the journey deadline passed")
