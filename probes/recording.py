"""A recording made with Playwright's codegen, turned into a probe file.

Codegen writes one JSON object per line (``--target jsonl``): a header with the options it ran
under, then one action each (``navigate``, ``click``, ``fill``, ``press``, ``check``, ``select``…)
with its locator as data (role, label, placeholder, text, test id, CSS) and the signals it caused
(``navigation``, ``popup``). The probe written from it:

- has one ``journey.step(...)`` per page: a step ends where an action loaded a page, and is named
  after the path it loaded;
- keeps codegen's role / label / placeholder / text / test-id locators (a CSS one is kept and
  marked, to be replaced by a role or label);
- types the profile's address and account fixtures where the recording typed their values, the
  account's password into password fields and anything that matched a secret, and never writes
  a typed secret into the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ADDRESS_FIELDS = (
    "recipient",
    "family_name",
    "given_name",
    "phone",
    "province",
    "city",
    "district",
    "street",
    "postcode",
)
PASSWORD = re.compile(r"password|passwd|密码|口令", re.I)
SMS = re.compile(r"验证码|sms|otp|one-time|verification code", re.I)
ROLE_OPTIONS = ("name", "exact", "checked", "pressed", "selected", "expanded", "level")
GET_BY = {"label": "get_by_label", "placeholder": "get_by_placeholder", "text": "get_by_text", "alt": "get_by_alt_text",
          "title": "get_by_title", "test-id": "get_by_test_id"}  # fmt: skip


class RecordingError(ValueError):
    """A line of the recording that is not what codegen writes: names the line."""


@dataclass
class Fixtures:
    """What the profile gives a probe, to put in place of typed values."""

    address: dict[str, str] = field(default_factory=dict)  # field → value, from the region's address
    username: str = ""
    password: str = ""  # the account's (from its environment variable, if set): never written
    sms_code: str = ""

    @classmethod
    def of(cls, region: Any, account: Any) -> Fixtures:
        """From profile models (``orderprobe.profiles.models.Region`` / ``Account``); unset secrets stay empty."""
        address = {k: str(v) for k, v in region.address.model_dump().items() if isinstance(v, str)} if region else {}
        values = {}
        for what in ("password", "sms_code"):
            try:
                values[what] = getattr(account, what)() if account else ""
            except Exception:  # not set in this environment: matched by field name only
                values[what] = ""
        return cls(address=address, username=account.username if account else "", **values)


@dataclass
class _Step:
    name: str
    lines: list[str] = field(default_factory=list)


def _string(value: Any) -> str:
    return json.dumps(str(value), ensure_ascii=False)


def locator(data: dict[str, Any], on: str = "page") -> tuple[str, bool]:
    """Python for a codegen locator (a chain through ``next``); True if any part is CSS."""
    kind, body, options = data.get("kind"), data.get("body"), data.get("options") or {}
    css = False
    if kind == "role":
        kept = {k: v for k, v in options.items() if k in ROLE_OPTIONS and v not in (None, False)}
        extra = "".join(f", {k}={_string(v) if isinstance(v, str) else repr(v)}" for k, v in kept.items())
        code = f"{on}.get_by_role({_string(body)}{extra})"
    elif kind in GET_BY:
        exact = ", exact=True" if options.get("exact") else ""
        code = f"{on}.{GET_BY[kind]}({_string(body)}{exact})"
    elif kind == "nth":
        code = f"{on}.nth({int(body)})"
    elif kind in ("first", "last"):
        code = f"{on}.{kind}"
    elif kind == "frame":
        code = f"{on}.content_frame"
    elif kind in ("default", "css", None):
        code, css = f"{on}.locator({_string(body)})", True
    else:
        raise RecordingError(f"locator kind {kind!r} is not one codegen writes")
    if isinstance(data.get("next"), dict):
        code, more = locator(data["next"], code)
        css = css or more
    return code, css


def _value(text: str, target: str, fixtures: Fixtures) -> str:
    """The Python expression to type: a fixture where the recording typed its value."""
    if PASSWORD.search(target) or (fixtures.password and text == fixtures.password):
        return "profile.account.password()"
    if SMS.search(target) or (fixtures.sms_code and text == fixtures.sms_code):
        return "profile.account.sms_code()"
    if fixtures.username and text == fixtures.username:
        return "profile.account.username"
    for name in ADDRESS_FIELDS:
        if fixtures.address.get(name) and text == fixtures.address[name]:
            return f"profile.region.address.{name}"
    return _string(text)


# codegen's action → the Locator call, given the action and how to type a recorded value
Typed = Callable[[Any], str]
ACTIONS: dict[str, Callable[[dict[str, Any], Typed], str]] = {
    "click": lambda a, _: "dblclick()" if a.get("clickCount") == 2 else "click()",
    "fill": lambda a, typed: f"fill({typed(a.get('text', ''))})",
    "press": lambda a, _: f"press({_string(a.get('key', ''))})",
    "check": lambda a, _: "check()",
    "uncheck": lambda a, _: "uncheck()",
    "select": lambda a, _: f"select_option({[str(o) for o in a.get('options', [])]!r})",
}
EXPECTS: dict[str, Callable[[dict[str, Any], Typed], str]] = {  # codegen's assertion → expect(...)'s
    "assertText": lambda a, _: f"to_contain_text({_string(a.get('text', ''))})",
    "assertValue": lambda a, typed: f"to_have_value({typed(a.get('value', ''))})",
}


def _visible(action: dict[str, Any], typed: Typed) -> str:
    return "to_be_visible()"  # any other assertion codegen writes: the element is there


def _statement(action: dict[str, Any], target: str, fixtures: Fixtures) -> str | None:
    """The line for one action on ``target`` (Python for its locator); None: an action not known here."""
    kind, described = action["name"], json.dumps(action["locator"], ensure_ascii=False)

    def typed(text: Any) -> str:
        return _value(str(text), described, fixtures)

    if kind in ACTIONS:
        return f"{target}.{ACTIONS[kind](action, typed)}"
    if kind.startswith("assert"):
        return f"expect({target}).{EXPECTS.get(kind, _visible)(action, typed)}"
    return None


def _step_name(url: str, taken: set[str]) -> str:
    path = urlsplit(url).path.strip("/")
    base = re.sub(r"[^\w-]+", " ", path.split("/")[-1] if path else "home").strip() or "home"
    name, n = f"open {base}" if not taken else base, 2
    while name in taken:
        name, n = f"{base} {n}", n + 1
    taken.add(name)
    return name


def convert(
    jsonl: str, fixtures: Fixtures, *, name: str = "recorded", source: str = "recording", start: str = ""
) -> str:
    """The probe file (Python source) for codegen's JSONL recording. ``start``: the URL codegen was
    opened on — its JSONL logs no navigation to it (only ``openPage about:blank``), so it is the
    first step's ``goto`` unless the recording navigates first."""
    lines = [line for line in jsonl.splitlines() if line.strip()]
    if not lines:
        raise RecordingError(f"{source}: empty: nothing was recorded")
    actions: list[tuple[int, dict[str, Any]]] = []
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RecordingError(f"{source}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise RecordingError(f"{source}:{number}: expected an object, got {type(data).__name__}")
        if "name" in data:  # the header (codegen's options) has none
            actions.append((number, data))
    navigates = next((a.get("url", "") for _, a in actions if a["name"] in ("navigate", "openPage")
                      and a.get("url", "").startswith("http")), "")  # fmt: skip
    if start.startswith(("http://", "https://")) and not navigates:
        actions.insert(0, (0, {"name": "navigate", "url": start}))
    origin = ""
    taken: set[str] = set()
    steps: list[_Step] = []
    loaded = True  # the next action starts a step
    landed = ""  # the page the last action loaded
    for number, action in actions:
        kind = action["name"]
        if kind in ("openPage", "closePage") and not action.get("url", "about:blank").startswith("http"):
            continue
        url = action.get("url", "")
        if kind in ("navigate", "openPage"):
            if not url.startswith(("http://", "https://")):
                continue
            parts = urlsplit(url)
            origin = origin or f"{parts.scheme}://{parts.netloc}"
            steps.append(_Step(_step_name(url, taken)))
            same = url.startswith(origin)
            rest = url[len(origin) :] or "/"
            steps[-1].lines.append(f"page.goto(target.url({_string(rest)}))" if same else f"page.goto({_string(url)})")
            loaded = False
            continue
        if "locator" not in action or not isinstance(action["locator"], dict):
            raise RecordingError(f"{source}:{number}: {kind}: no locator")
        target, css = locator(action["locator"])
        statement = _statement(action, target, fixtures)
        if statement is None:
            raise RecordingError(f"{source}:{number}: action {kind!r} is not one this converter knows")
        if loaded or not steps:  # this action is the first on the page the previous one loaded
            steps.append(_Step(_step_name(landed or f"{origin}/step-{len(steps) + 1}", taken)))
        steps[-1].lines.append(statement + ("  # recorded as CSS: prefer a role or label" if css else ""))
        landed = next((s.get("url", "") for s in action.get("signals", []) if s.get("name") == "navigation"), "")
        loaded = bool(landed)
    if not steps:
        raise RecordingError(f"{source}: nothing was recorded (no page loaded, no action taken)")
    body = []
    for step in steps:
        body.append(f"    with journey.step({_string(step.name)}):")
        body += [f"        {line}" for line in step.lines] or ["        pass"]
    probe = re.sub(r"\W+", "_", name).strip("_") or "recorded"
    uses_expect = any("expect(" in line for step in steps for line in step.lines)
    head = [
        f'"""Recorded with `orderprobe record` ({sum(1 for n, _ in actions if n)} actions, {len(steps)} steps): '
        "review the step names",
        'and locators; typed values come from the profile (address, account), never from the file."""',
        "",
    ]
    if uses_expect:
        head += ["from playwright.sync_api import expect", "", ""]
    else:
        head += [""]
    return "\n".join([*head, f"def test_{probe}(journey, page, target, profile):", *body, ""])
