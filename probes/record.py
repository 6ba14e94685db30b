"""``orderprobe record URL``: record a journey with Playwright's codegen under a profile, and
write it as a probe file (``orderprobe.probes.recording``).

Codegen needs a display (it opens a headed browser and its inspector); where there is none,
the command says so in one line and stops. ``--from FILE`` converts a recording made elsewhere
(``playwright codegen --target jsonl -o FILE``) without a browser.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

NO_DISPLAY = "orderprobe record: no display here (DISPLAY / WAYLAND_DISPLAY unset): codegen opens a headed browser; record on a desktop, or convert a recording with --from FILE"  # noqa: E501


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("url", nargs="?", help="the page to start recording on")
    parser.add_argument("--device", default="iphone-15", help="device profile to record under (viewport, UA)")
    parser.add_argument("--region", default="shanghai", help="region profile (locale, time zone, geolocation, address)")
    parser.add_argument("--account", default="normal", help="account profile whose fixtures replace typed values")
    parser.add_argument("--profiles", action="append", default=[], metavar="DIR", help="extra profile folder")
    parser.add_argument("--from", dest="source", metavar="FILE", help="convert this codegen JSONL recording")
    parser.add_argument("-o", "--output", default="test_recorded.py", help="the probe file to write")
    parser.add_argument("--name", default="recorded", help="the probe's name (test_NAME)")


def codegen_args(url: str, device: object, region: object, output: Path) -> list[str]:
    """``playwright codegen`` under the profile: its viewport, user agent, locale, time zone, place."""
    viewport = device.viewport  # type: ignore[attr-defined]
    where = region.geolocation  # type: ignore[attr-defined]
    return [
        sys.executable, "-m", "playwright", "codegen", "--target", "jsonl", "-o", str(output),
        "--viewport-size", f"{viewport.width}, {viewport.height}", "--user-agent", device.user_agent,  # type: ignore[attr-defined]
        "--lang", region.locale, "--timezone", region.timezone,  # type: ignore[attr-defined]
        "--geolocation", f"{where.latitude},{where.longitude}", url,
    ]  # fmt: skip


def codegen_env(scratch: Path) -> dict[str, str]:
    """codegen launches Playwright's own Chromium; where only a system one is installed (Debian's
    ``chromium``, as ``orderprobe doctor`` sets up), it is shown that one instead."""
    from orderprobe.probes import driver
    from orderprobe.probes.browser import find_chromium
    from orderprobe.probes.compat.playwright import browsers_folder

    env = {**os.environ, **driver.environment()}  # codegen's driver starts from the compile cache too
    found = find_chromium()
    if found is not None and found.source in ("system", "env", "apt"):
        env["PLAYWRIGHT_BROWSERS_PATH"] = str(browsers_folder(found.path, scratch))
    return env


def has_display(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return sys.platform in ("darwin", "win32") or bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"))


def main(args: argparse.Namespace) -> int:
    from orderprobe.probes.recording import Fixtures, RecordingError, convert
    from orderprobe.profiles.catalogue import load_catalogue

    try:
        catalogue = load_catalogue(tuple(Path(p) for p in args.profiles))
        device, region = catalogue.devices[args.device], catalogue.regions[args.region]
        account = catalogue.accounts[args.account]
    except KeyError as exc:
        print(f"orderprobe record: no such profile {exc} (see `orderprobe profiles`)", file=sys.stderr)
        return 2
    made = not args.source  # a recording made here is a scratch file: removed once it became the probe
    if args.source:
        recorded = Path(args.source)
    elif not args.url:
        print("orderprobe record: give the URL to start on (or --from FILE)", file=sys.stderr)
        return 2
    elif not has_display():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    else:
        recorded = Path(tempfile.mkstemp(prefix="orderprobe-record-", suffix=".jsonl")[1])
        with tempfile.TemporaryDirectory(prefix="orderprobe-browsers-") as scratch:
            codegen = subprocess.Popen(codegen_args(args.url, device, region, recorded), env=codegen_env(Path(scratch)))
            try:
                code = codegen.wait()
            except KeyboardInterrupt:  # Ctrl-C ends the recording: codegen saves it as it closes
                code = codegen.wait()
                code = 0 if code in (0, -signal.SIGINT, 130) else code
        if code != 0:
            recorded.unlink(missing_ok=True)
            print(f"orderprobe record: playwright codegen exited with {code}", file=sys.stderr)
            return code
    try:
        probe = convert(recorded.read_text(encoding="utf-8"), Fixtures.of(region, account), name=args.name,
                        source=str(recorded), start=args.url or "")  # fmt: skip
    except (OSError, RecordingError) as exc:
        print(f"orderprobe record: {exc}", file=sys.stderr)  # names the recording, which is kept to look at
        return 2
    Path(args.output).write_text(probe, encoding="utf-8")
    if made:
        recorded.unlink(missing_ok=True)
    print(f"wrote {args.output}: run it with `orderprobe run {args.output}`")
    return 0
