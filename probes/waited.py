"""What the failing step waited for, looked at again when its evidence is taken.

A weak link makes pages late, not wrong: the element a step waited for can arrive a moment after
the wait gave up, and the page text read for evidence is then the late page's — or, while a
navigation is still pending, the page being left. Neither is the shop's answer at the moment the
wait ended, so wording rules must not read them (a product blurb "部分城市仅支持自提" is no refusal).

``resolve`` turns the locator Playwright's call log names (``get_by_test_id("pay")``,
``locator("#place_order").first``, ``get_by_role("button", name="Pay")``) back into a locator:
parsed, never evaluated; anything else is None.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from orderprobe.probes.bounded import bounded

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

CALLS = frozenset({"locator", "get_by_test_id", "get_by_text", "get_by_role", "get_by_label", "get_by_placeholder",
                   "get_by_alt_text", "get_by_title", "nth", "filter"})  # fmt: skip
PROPERTIES = frozenset({"first", "last"})


def resolve(page: Page, text: str | None) -> Locator | None:
    """The locator ``text`` names on ``page``, or None if it is not a plain locator chain."""
    chain = re.sub(r"\s+to be \w+$", "", (text or "").strip())  # 'get_by_test_id("x") to be visible'
    try:
        return _build(ast.parse(chain, mode="eval").body, page)
    except (SyntaxError, ValueError, TypeError, AttributeError):
        return None


def _build(node: ast.expr, page: Page) -> Any:
    if isinstance(node, ast.Attribute) and node.attr in PROPERTIES:
        return getattr(_build(node.value, page), node.attr)
    if not isinstance(node, ast.Call):
        raise ValueError("not a locator call")
    func = node.func
    if isinstance(func, ast.Name):
        base, name = page, func.id
    elif isinstance(func, ast.Attribute):
        base, name = _build(func.value, page), func.attr
    else:
        raise ValueError("not a locator call")
    if name not in CALLS:
        raise ValueError(f"{name!r} is not a locator call")
    args = [ast.literal_eval(a) for a in node.args]
    kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    return getattr(base, name)(*args, **kwargs)


def arrived_late(page: Page, locator: str | None, message: str) -> bool:
    """Did the element the step waited for — never found during the wait (no "locator resolved"
    in the call log) — turn up ready (visible and enabled) since? Bounded: a busy page says no."""
    if "resolved to" in message or "Expect " in message:  # found during the wait, or asserted on: not late
        return False
    found = resolve(page, locator)
    if found is None:
        return False
    try:
        first = found.first
        # is_visible() has no time limit of its own: while a navigation is pending it waits for the
        # next document, which a held request may never send — so it is bounded here.
        return bounded(first, lambda impl: impl.is_visible(None), 1.0) and first.is_enabled(timeout=500)
    except Exception:
        return False
