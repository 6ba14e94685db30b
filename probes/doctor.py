"""``orderprobe doctor``: make sure a Chromium (and CJK fonts) are here, say which."""

from __future__ import annotations

import argparse
import sys

from probes.browser import ChromiumNotFound, ensure_chromium


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--install", action="store_true", help="install Debian's chromium + fonts-noto-cjk when missing (root)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        chromium = ensure_chromium(install=args.install)
    except ChromiumNotFound as exc:
        print(f"orderprobe doctor: {exc}", file=sys.stderr)
        return 2
    print(f"chromium: {chromium.path} ({chromium.source}) — {chromium.version()}")
    return 0
