"""``orderprobe record``: codegen's JSONL action log → a probe file (probes/recording.py).

The conversion is tested on action logs in the shape Playwright's codegen writes with ``--target
jsonl`` (header line, then one action per line with its locator as data and its signals), of a
checkout on the demo shop. The launch itself runs for real under Xvfb where it is installed.
"""

from __future__ import annotations

import ast
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from orderprobe.probes import record
from orderprobe.probes.recording import Fixtures, RecordingError, convert
from orderprobe.profiles.catalogue import load_catalogue
from tests.support.receivers import wait_until

CATALOGUE = load_catalogue()
REGION, ACCOUNT = CATALOGUE.regions["shanghai"], CATALOGUE.accounts["normal"]
ADDRESS = REGION.address
TYPED_PASSWORD = "demo-pass-typed"


def role(body: str, name: str) -> dict:
    return {"kind": "role", "body": body, "options": {"name": name, "exact": False}}


def action(name: str, **data: object) -> str:
    return json.dumps({"name": name, "pageAlias": "page", "signals": [], **data}, ensure_ascii=False)


def navigated(line: str, url: str) -> str:
    data = json.loads(line)
    data["signals"] = [{"name": "navigation", "url": url}]
    return json.dumps(data, ensure_ascii=False)


SHOP = "http://127.0.0.1:8123"
RECORDING = "\n".join(
    [
        json.dumps({"browserName": "chromium", "launchOptions": {}, "contextOptions": {}}),
        action("openPage", url="about:blank"),
        action("navigate", url=f"{SHOP}/login?next=/"),
        action("fill", selector="x", text=ACCOUNT.username, locator={"kind": "label", "body": "用户名", "options": {}}),
        action("fill", selector="x", text=TYPED_PASSWORD, locator={"kind": "label", "body": "密码 Password"}),
        navigated(action("click", selector="x", locator=role("button", "登录"), clickCount=1), f"{SHOP}/"),
        navigated(action("click", selector="x", locator=role("link", "直播间")), f"{SHOP}/live"),
        navigated(action("click", selector="x", locator=role("button", "立即购买")), f"{SHOP}/checkout"),
        action("fill", selector="x", text=ADDRESS.recipient, locator={"kind": "label", "body": "收货人"}),
        action("fill", selector="x", text=ADDRESS.phone, locator={"kind": "placeholder", "body": "手机号"}),
        action("fill", selector="x", text="请放门口", locator={"kind": "default", "body": "#note"}),
        action("select", selector="x", options=["express"], locator={"kind": "test-id", "body": "shipping"}),
        action("assertText", selector="x", text="¥", locator={"kind": "test-id", "body": "total"}),
        navigated(
            action("click", selector="x", locator={**role("list", "支付方式"), "next": role("button", "支付")}),
            "http://pay.localhost:8124/cashier",
        ),
    ]
)


def probe_source(**fixtures: str) -> str:
    return convert(RECORDING, Fixtures.of(REGION, ACCOUNT) if not fixtures else Fixtures(**fixtures), name="live buy")


def steps_of(source: str) -> dict[str, list[str]]:
    tree = ast.parse(source)
    (function,) = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert function.name == "test_live_buy"
    assert [a.arg for a in function.args.args] == ["journey", "page", "target", "profile"]
    out = {}
    for statement in function.body:
        assert isinstance(statement, ast.With)
        name = statement.items[0].context_expr.args[0].value  # journey.step("…")
        out[name] = [ast.unparse(s) for s in statement.body]
    return out


def test_steps_are_split_where_a_page_loaded_and_named_after_it() -> None:
    steps = steps_of(probe_source())
    assert list(steps) == ["open login", "home", "live", "checkout"]
    assert steps["open login"][0] == "page.goto(target.url('/login?next=/'))"  # the shop's URL comes from --target
    assert steps["open login"][-1] == "page.get_by_role('button', name='登录').click()"
    assert steps["home"] == ["page.get_by_role('link', name='直播间').click()"]
    assert (
        steps["checkout"][-1] == "page.get_by_role('list', name='支付方式').get_by_role('button', name='支付').click()"
    )


def test_typed_values_become_the_profiles_fixtures_and_no_secret_is_written() -> None:
    source = probe_source()
    steps = steps_of(source)
    assert steps["open login"][1:3] == [
        "page.get_by_label('用户名').fill(profile.account.username)",
        "page.get_by_label('密码 Password').fill(profile.account.password())",
    ]
    assert "page.get_by_label('收货人').fill(profile.region.address.recipient)" in steps["checkout"]
    assert "page.get_by_placeholder('手机号').fill(profile.region.address.phone)" in steps["checkout"]
    assert TYPED_PASSWORD not in source and ADDRESS.phone not in source and ADDRESS.recipient not in source
    # A value the recording typed that matches the account's secret is replaced wherever it was typed.
    other = probe_source(username="nobody", password=ADDRESS.phone)
    assert ADDRESS.phone not in other and "fill(profile.account.password())" in "\n".join(steps_of(other)["checkout"])


def test_css_locators_are_kept_but_marked_and_assertions_use_expect() -> None:
    source = probe_source()
    assert 'page.locator("#note").fill("请放门口")  # recorded as CSS: prefer a role or label' in source
    assert "from playwright.sync_api import expect" in source
    assert "expect(page.get_by_test_id('total')).to_contain_text('¥')" in steps_of(source)["checkout"]
    assert "page.get_by_test_id('shipping').select_option(['express'])" in steps_of(source)["checkout"]


def test_a_recording_of_nothing_is_refused_and_the_start_url_opens_the_first_step() -> None:
    opened = json.dumps({"browserName": "chromium"}) + "\n" + action("openPage", url="about:blank")
    with pytest.raises(RecordingError, match="nothing was recorded"):
        convert(opened, Fixtures(), source="rec.jsonl")
    clicked = opened + "\n" + action("click", locator=role("button", "去结算"))
    probe = convert(clicked, Fixtures(), source="rec.jsonl", start=f"{SHOP}/cart")
    assert 'page.goto(target.url("/cart"))' in probe and "(2 actions, 1 steps)" in probe


def test_a_broken_recording_is_refused_naming_the_line() -> None:
    bad = RECORDING.splitlines()
    bad[4] = bad[4][:-3]
    with pytest.raises(RecordingError, match=r"^rec.jsonl:5: not JSON"):
        convert("\n".join(bad), Fixtures(), source="rec.jsonl")
    with pytest.raises(RecordingError, match=r"^rec.jsonl:2: action 'hover'"):
        convert(RECORDING.splitlines()[0] + "\n" + action("hover", locator=role("button", "x")), Fixtures(),
                source="rec.jsonl")  # fmt: skip
    with pytest.raises(RecordingError, match="nothing was recorded"):
        convert("", Fixtures(), source="rec.jsonl")


def test_record_refuses_in_one_line_without_a_display_and_converts_a_recording(tmp_path: Path) -> None:
    env = {k: v for k, v in __import__("os").environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    orderprobe = str(Path(sys.executable).with_name("orderprobe"))
    refused = subprocess.run([orderprobe, "record", SHOP], env=env, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and refused.stderr == record.NO_DISPLAY + "\n"
    (tmp_path / "rec.jsonl").write_text(RECORDING, encoding="utf-8")
    out = tmp_path / "test_live.py"
    done = subprocess.run(
        [orderprobe, "record", "--from", str(tmp_path / "rec.jsonl"), "-o", str(out), "--name", "live buy"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == probe_source()


def test_codegen_runs_under_the_profile() -> None:
    device = CATALOGUE.devices["iphone-15"]
    args = record.codegen_args(SHOP, device, REGION, Path("out.jsonl"))
    assert args[args.index("--target") + 1] == "jsonl"
    assert args[args.index("--user-agent") + 1] == device.user_agent
    assert args[args.index("--viewport-size") + 1] == f"{device.viewport.width}, {device.viewport.height}"
    assert args[args.index("--timezone") + 1] == REGION.timezone and args[-1] == SHOP


@pytest.mark.skipif(
    shutil.which("xvfb-run") is None or shutil.which("Xvfb") is None,
    reason="no virtual display: `apt-get install xvfb` to run codegen headed under Xvfb",
)
def test_record_launches_codegen_headed_under_the_profile_in_a_virtual_display(tmp_path: Path) -> None:
    """The real launch path: `orderprobe record URL` under Xvfb starts Playwright's codegen, which
    (shown the system Chromium when Playwright's own is not installed) opens the page as the
    profile's phone; Ctrl-C ends the recording and the probe is written."""
    seen: list[dict[str, str]] = []

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen.append({"path": self.path, **{k.lower(): v for k, v in self.headers.items()}})
            body = "<!doctype html><title>shop</title><button>去结算</button>".encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    orderprobe = str(Path(sys.executable).with_name("orderprobe"))
    out = tmp_path / "test_recorded.py"
    # The recording's scratch file goes here, and must not stay. A short path: Chromium's singleton
    # socket lives under TMPDIR too, and a unix socket's path cannot pass 107 bytes.
    scratch = Path(tempfile.mkdtemp(prefix="oprec-"))
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")} | {"TMPDIR": str(scratch)}
    proc = subprocess.Popen(
        ["xvfb-run", "-a", orderprobe, "record", url, "--device", "iphone-15", "--region", "shanghai", "-o", str(out)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        wait_until(lambda: [h for h in seen if h["path"] == "/"], "codegen's browser to open the page", timeout=300)
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the recording's terminal
        try:
            output, _ = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            server.shutdown()
    first = next(h for h in seen if h["path"] == "/")
    device = CATALOGUE.devices["iphone-15"]
    assert first["user-agent"] == device.user_agent  # the profile's phone, not a desktop browser
    assert first["accept-language"].startswith(CATALOGUE.regions["shanghai"].locale)
    assert "Executable doesn't exist" not in output and "Traceback" not in output, output
    # Nothing was clicked: codegen's log holds only `openPage about:blank`, so the page it was opened
    # on is the probe's first step — a file that parses and opens that page on the run's target.
    written = out.read_text(encoding="utf-8")
    ast.parse(written)
    assert 'page.goto(target.url("/"))' in written and written.count("journey.step(") == 1, written
    left = [p.name for p in scratch.glob("orderprobe-record-*")]
    shutil.rmtree(scratch, ignore_errors=True)
    assert not left, "the recording was converted: its scratch file goes"
