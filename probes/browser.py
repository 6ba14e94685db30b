"""Find a Chromium, install one when we may, and launch it the way this machine needs.

Discovery order (first hit wins): ``ORDERPROBE_CHROMIUM``, a system ``chromium`` /
``google-chrome``, Playwright's own downloaded build. ``playwright install`` is never
relied on: it cannot download on offline or registry-only machines.

A headless run prefers Chromium's headless shell (Debian's ``chromium-headless-shell``), as
Playwright itself does: the same Blink, network stack and DevTools without the browser's UI
layers, at about half the CPU per journey (``benchmarks/headless_shell.py``). A probe host that
runs every few minutes pays that CPU all day. ``--headed`` and ``orderprobe record`` need the
full browser and keep it.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

ENV_VAR = "ORDERPROBE_CHROMIUM"
SYSTEM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# Debian's /usr/bin/chromium-headless-shell is a wrapper that does not exec: launch the binary itself.
SHELL_PATHS = ("/usr/lib/chromium/chromium-headless-shell",)
SHELL_NAMES = ("chromium-headless-shell", "chrome-headless-shell")
DEBIAN_PACKAGES = ("chromium", "chromium-headless-shell", "fonts-noto-cjk")

# Root, offline and headless: without these Chromium fights the sandbox and the closed network.
# Playwright adds its own switches to every launch (its chromiumSwitches: --disable-extensions,
# --disable-breakpad, --disable-renderer-backgrounding, --mute-audio, …); these are ours on top.
# --in-process-gpu: the (software) compositor runs as a thread of the browser instead of a process
# of its own: one process less per launch (~15 ms CPU, 3 %; benchmarks/startup.py), the same pixels.
# Measured and left out: --no-zygote (+20 ms: each renderer then starts from scratch), the network
# service in process (no change); Playwright's own switches cover the rest.
LAUNCH_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--in-process-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-dev-shm-usage",
)


class ChromiumNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Chromium:
    path: str
    source: str  # env | system | playwright | apt
    shell: bool = False  # the headless shell: headless runs only

    def version(self) -> str:
        out = subprocess.run([self.path, "--version"], capture_output=True, text=True, timeout=30)
        return out.stdout.strip() or out.stderr.strip()


def _playwright_builds(pattern: str) -> list[str]:
    root = os.environ.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path.home() / ".cache/ms-playwright")
    return sorted(glob.glob(os.path.join(root, pattern)), reverse=True)


def _system_shell() -> str | None:
    found = next((p for p in SHELL_PATHS if os.access(p, os.X_OK)), None)
    return found or next(filter(None, map(shutil.which, SHELL_NAMES)), None)


def find_chromium(headless: bool = False) -> Chromium | None:
    """The Chromium to launch; ``headless`` allows the headless shell, which is preferred then."""
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        if not os.access(explicit, os.X_OK):
            raise ChromiumNotFound(f"{ENV_VAR}={explicit} is not an executable file")
        return Chromium(explicit, "env")
    shell = _system_shell() if headless else None
    if shell:
        return Chromium(shell, "system", shell=True)
    for name in SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return Chromium(found, "system")
    if headless and (builds := _playwright_builds("chromium_headless_shell-*/*/*headless[-_]shell")):
        return Chromium(builds[0], "playwright", shell=True)
    builds = _playwright_builds("chromium-*/chrome-linux*/chrome")
    return Chromium(builds[0], "playwright") if builds else None


def _can_apt() -> bool:
    return os.geteuid() == 0 and Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True)
    return bool(out.stdout.strip())


def _apt_install(packages: list[str]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"orderprobe: installing {' '.join(packages)} with apt-get …", file=sys.stderr)
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=True, env=env)


def ensure_chromium(install: bool = True) -> Chromium:
    """Return a usable Chromium, installing Debian's (its headless shell, CJK fonts) as root when
    missing. An explicit ``ORDERPROBE_CHROMIUM`` or a Chrome of the user's own is left alone."""
    found = find_chromium()
    missing = [] if found else ["chromium"]
    if (found is None or found.path.endswith("/chromium")) and not _system_shell():
        missing.append("chromium-headless-shell")
    if not _has_cjk_font():
        missing.append("fonts-noto-cjk")
    if missing and install and _can_apt():
        _apt_install(missing)
        found = found or find_chromium()
        if found and found.source == "system" and "chromium" in missing:
            found = Chromium(found.path, "apt")
    if found is None:
        raise ChromiumNotFound(
            "No Chromium found. Install one of:\n"
            f"  Debian/Ubuntu (as root):  apt-get install -y {' '.join(DEBIAN_PACKAGES)}\n"
            f"  any system:               set {ENV_VAR}=/path/to/chrome\n"
            "  with internet access:     .venv/bin/playwright install chromium"
        )
    return found


def launch_options(headless: bool = True) -> dict:
    """Keyword arguments for ``playwright.chromium.launch`` (one browser per worker)."""
    found = find_chromium(headless=headless)
    if found is None:
        raise ChromiumNotFound("No Chromium found; run `orderprobe doctor --install` first.")
    return {"executable_path": found.path, "headless": headless, "args": list(LAUNCH_ARGS)}


def one_fieldtrials(args: list[str]) -> list[str]:
    """Chromium keeps only the last ``--force-fieldtrials``: a team's and ours (packet mode's) become
    one flag, where the first was. ``Trial/Group/Trial/Group``; a trial given twice keeps the
    first group given (a team's flags come before ours: its own choice stands)."""
    flag = "--force-fieldtrials="
    given = [a for a in args if a.startswith(flag)]
    if len(given) < 2:
        return args
    groups: dict[str, str] = {}
    for arg in given:
        parts = arg.removeprefix(flag).strip("/").split("/")
        for trial, group in zip(parts[::2], parts[1::2], strict=False):
            groups.setdefault(trial.lstrip("*"), f"{trial}/{group}")  # *Trial: activated at start-up
    merged = flag + "/".join(groups.values()) + "/"
    first = args.index(given[0])
    return [*args[:first], merged, *[a for a in args[first + 1 :] if not a.startswith(flag)]]


def connect(playwright: Playwright, endpoint: str) -> Browser:
    """A browser that runs elsewhere: a Playwright server (``playwright run-server``, grids that
    speak its protocol) at ws(s)://, or any Chromium DevTools endpoint (browserless, a Chromium
    started with --remote-debugging-port) at http(s)://. The server launches with our flags."""
    if endpoint.startswith(("ws://", "wss://")):
        options = {"args": launch_options()["args"]}
        return playwright.chromium.connect(endpoint, headers={"x-playwright-launch-options": json.dumps(options)})
    return playwright.chromium.connect_over_cdp(endpoint)
