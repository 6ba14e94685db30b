"""Write tests/durations.txt from a JUnit XML of a full run: the slowest tests, slowest first.

    python -m tests.support.durations junit.xml   # e.g. from `make test PYTEST_ARGS=--junitxml=junit.xml`

The suite runs the listed tests first (tests/conftest.py) and `make test` hands tests to its
workers one by one (`--dist load --maxschedchunk=1`): longest-processing-time-first, so the
workers end together instead of one idling while the other finishes a long campaign. A stale
list costs only balance, never a result: a test missing from it runs in pytest's own order.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

LISTED = Path(__file__).resolve().parents[1] / "durations.txt"
FLOOR_S = 3.0  # below this, order hardly matters and the list would churn on every run


def slowest(junit: Path) -> list[tuple[float, str]]:
    found = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "")  # tests.shop.test_shop_browser (the suite has no test classes)
        found.append((float(case.get("time", 0)), f"{module.replace('.', '/')}.py::{case.get('name')}"))
    return sorted((t for t in found if t[0] >= FLOOR_S), reverse=True)


def ranking(path: Path = LISTED) -> dict[str, int]:
    """Node id → rank (0 = slowest) from the list; blank lines and # comments skipped."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = [line.split("\t")[-1].strip() for line in text.splitlines()]
    return {node: rank for rank, node in enumerate(n for n in lines if n and not n.startswith("#"))}


def main(argv: list[str]) -> int:
    rows = slowest(Path(argv[0]))
    head = "# the slowest tests of a full run, slowest first (seconds, node id); see tests/support/durations.py\n"
    LISTED.write_text(head + "".join(f"{s:.1f}\t{node}\n" for s, node in rows), encoding="utf-8")
    print(f"{LISTED}: {len(rows)} tests of {FLOOR_S:.0f} s or more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
