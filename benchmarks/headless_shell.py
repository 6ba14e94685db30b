"""Chromium's headless shell against the full browser in headless mode, on the same runs.

``orderprobe run`` of the default job (three journeys, android-mid/wifi on the embedded demo
shop, the machine's default emulation, ``-n 0``), once with ``ORDERPROBE_CHROMIUM`` naming the
full browser and once with the headless shell a headless run now prefers, interleaved rounds,
with the device's CPU slowdown on (``profile``) and off. CPU seconds of the whole process tree
(interpreter, driver, Chromium, shop), which a shared machine's load moves far less than wall.

    python -m benchmarks.headless_shell [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.startup import tree_cpu
from orderprobe.probes.browser import find_chromium


def _run(tmp: Path, name: str, executable: str, slowdown: str) -> tuple[float, float]:
    out = tmp / name
    cmd = [
        sys.executable, "-m", "orderprobe", "run", "-n", "0", "--no-progress", "--cpu-slowdown", slowdown,
        "--results", f"sqlite:///{out / 'r.db'}", "--artefacts", str(out / "art"), "--reports", str(out / "rep"),
    ]  # fmt: skip
    os.environ["ORDERPROBE_CHROMIUM"] = executable
    try:
        started = time.monotonic()
        return tree_cpu(cmd, tmp), time.monotonic() - started
    finally:
        os.environ.pop("ORDERPROBE_CHROMIUM")


def main(quick: bool = False) -> None:
    full, shell = find_chromium(), find_chromium(headless=True)
    if full is None or shell is None or not shell.shell:
        print("skipped: needs both Debian's chromium and chromium-headless-shell (orderprobe doctor --install)")
        return
    rounds = 1 if quick else 3
    browsers = {"full browser": full.path, "headless shell": shell.path}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for slowdown in ("profile", "off"):
            cpu: dict[str, list[float]] = {name: [] for name in browsers}
            wall: dict[str, list[float]] = {name: [] for name in browsers}
            for n in range(rounds):
                for name, path in browsers.items():
                    c, w = _run(tmp, f"{name}-{slowdown}-{n}".replace(" ", "_"), path, slowdown)
                    cpu[name].append(c)
                    wall[name].append(w)
            c_full, c_shell = (statistics.median(cpu[n]) for n in browsers)
            w_full, w_shell = (statistics.median(wall[n]) for n in browsers)
            print(f"default job (3 journeys, -n 0), --cpu-slowdown {slowdown}, {rounds} interleaved round(s), medians:")
            print(f"  full browser    CPU {c_full:6.2f} s   wall {w_full:6.2f} s")
            print(f"  headless shell  CPU {c_shell:6.2f} s   wall {w_shell:6.2f} s")
            print(f"  ratio shell/full: CPU {c_shell / c_full:.2f}   wall {w_shell / w_full:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
