"""``orderprobe doctor``: make sure a Chromium (and CJK fonts) are here, say which; and nftables,
which packet-level emulation's uplink and DNS redirection need (Debian's ``nftables``)."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from orderprobe.probes.browser import ChromiumNotFound, _apt_install, _can_apt, ensure_chromium, find_chromium


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install",
        action="store_true",
        help="install Debian's chromium + its headless shell + fonts-noto-cjk + nftables when missing (root)",
    )


def main(args: argparse.Namespace) -> int:
    try:
        chromium = ensure_chromium(install=args.install)
    except ChromiumNotFound as exc:
        print(f"orderprobe doctor: {exc}", file=sys.stderr)
        return 2
    print(f"chromium: {chromium.path} ({chromium.source}) — {chromium.version()}")
    headless = find_chromium(headless=True)
    if headless is not None and headless.shell:
        print(f"headless runs: {headless.path} (headless shell) — {headless.version()}")
    elif chromium.source == "env":
        print("headless runs: the same browser (ORDERPROBE_CHROMIUM)")
    else:
        print("headless runs: the same browser (no headless shell: apt install chromium-headless-shell)")
    nft = _nft()
    if nft is None and args.install and _can_apt():
        _apt_install(["nftables"])
        nft = _nft()
    print(f"nft: {nft}" if nft else "nft: missing — packet-level emulation falls back to CDP (apt install nftables)")
    return 0


def _nft() -> str | None:
    return shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if Path(p).exists()), None)
