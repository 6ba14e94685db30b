"""Which Chromium a run launches: the headless shell for headless runs, the full browser when a
window is wanted, and always the one a user names. Real binaries on this machine (`make setup`
installs Debian's chromium and chromium-headless-shell through `orderprobe doctor --install`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from orderprobe.probes.browser import ENV_VAR, find_chromium, launch_options, one_fieldtrials


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)


def test_a_headless_run_launches_the_headless_shell_and_a_headed_one_the_browser() -> None:
    headless, headed = launch_options(headless=True), launch_options(headless=False)
    assert Path(headless["executable_path"]).name == "chromium-headless-shell"
    assert Path(headed["executable_path"]).name != "chromium-headless-shell"
    assert find_chromium(headless=True).shell and not find_chromium().shell
    assert headless["args"] == headed["args"]  # the same flags for both


def test_the_chromium_a_user_names_wins_headless_too(monkeypatch: pytest.MonkeyPatch) -> None:
    full = find_chromium().path
    monkeypatch.setenv(ENV_VAR, full)
    assert launch_options(headless=True)["executable_path"] == full
    assert find_chromium(headless=True).source == "env"


def test_the_headless_shell_lays_out_a_checkout_as_the_full_browser_does() -> None:
    page_html = (
        "<meta charset=utf-8><meta name=viewport content='width=device-width'>"
        "<div id=t style='width:180px'>提交订单 ¥1,299.00 · Submit order 新疆维吾尔自治区 乌鲁木齐市</div>"
        "<script>document.title = 'ran'</script>"
    )
    boxes = []
    with sync_playwright() as pw:
        for headless_shell in (True, False):
            options = launch_options(headless=True)
            if not headless_shell:
                options["executable_path"] = find_chromium().path
            browser = pw.chromium.launch(**options)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3)
                page.set_content(page_html)
                assert page.title() == "ran"
                boxes.append(page.eval_on_selector("#t", "e => [e.getBoundingClientRect().height, e.innerText]"))
            finally:
                browser.close()
    assert boxes[0] == boxes[1]  # same fonts, same line breaks
    assert boxes[0][0] > 40  # wrapped onto several lines (CJK fonts present, text not dropped)


def test_doctor_names_both_browsers() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "orderprobe", "doctor"],
        capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != ENV_VAR},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert f"chromium: {find_chromium().path}" in out.stdout
    assert "headless runs: /usr/lib/chromium/chromium-headless-shell (headless shell)" in out.stdout


def test_the_compositor_in_the_browser_process_draws_the_same_pixels() -> None:
    # --in-process-gpu saves a process per launch; a user's stored baselines
    # (journey.expect_screenshot) must still match, byte for byte.
    from orderprobe.shop.server import DemoShop

    shots: dict[bool, list[bytes]] = {}
    with DemoShop(port=0, payment_port=0) as shop, sync_playwright() as pw:
        for in_process in (True, False):
            options = launch_options(headless=True)
            assert "--in-process-gpu" in options["args"]
            if not in_process:
                options["args"].remove("--in-process-gpu")
            browser = pw.chromium.launch(**options)
            try:
                page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True)
                shots[in_process] = []
                for path in ("/feed", "/live"):  # video tiles, gradients, rounded cards, CJK text
                    page.goto(shop.url + path, wait_until="networkidle")
                    shots[in_process].append(page.screenshot(full_page=True, animations="disabled"))
            finally:
                browser.close()
    assert shots[True] == shots[False]
    assert all(len(shot) > 20_000 for shot in shots[True])  # pages drawn, not blank


@pytest.mark.parametrize(
    ("args", "merged"),
    [
        (
            ["--a", "--force-fieldtrials=AsyncDns/AsyncDnsNoFallbackA"],
            ["--a", "--force-fieldtrials=AsyncDns/AsyncDnsNoFallbackA"],
        ),
        (
            ["--force-fieldtrials=*Team/On/", "--a", "--force-fieldtrials=AsyncDns/AsyncDnsNoFallbackA"],
            ["--force-fieldtrials=*Team/On/AsyncDns/AsyncDnsNoFallbackA/", "--a"],
        ),
        (  # the same trial twice: the first given (a team's own) stands
            ["--force-fieldtrials=AsyncDns/Control", "--force-fieldtrials=AsyncDns/AsyncDnsNoFallbackA"],
            ["--force-fieldtrials=AsyncDns/Control/"],
        ),
    ],
)
def test_field_trials_given_twice_are_one_flag_chromium_keeps_all_of(args: list[str], merged: list[str]) -> None:
    assert one_fieldtrials(args) == merged
