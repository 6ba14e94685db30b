"""Write tests/durations.txt from a JUnit XML of a full run: the slowest tests, slowest first.

    python -m tests.support.durations junit.xml   # e.g. from `make test PYTEST_ARGS=--junitxml=junit.xml`

The suite runs the listed tests first (tests/conftest.py) and `make test` hands them to its
workers one unit at a time (`--dist loadgroup`; a unit is a test, or a module's tests that share
a module-scoped fixture): longest-processing-time-first, so the workers end together instead of
one idling while another finishes a long campaign. A stale list costs only balance, never a
result: a test missing from it runs in pytest's own order.

Tried and dropped: a CPU column (a test's getrusage and its reaped children's), to let the units
that mostly wait take turns with busy ones. The suite's time did not change (325 s against
315–331 s), and the column could not see most of a browser test's CPU: Chromium's zygote reaps
the renderers, and nobody reaps the zygote, so their CPU goes to init.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

LISTED = Path(__file__).resolve().parents[1] / "durations.txt"
FLOOR_S = 3.0  # below this, order hardly matters and the list would churn on every run


def slowest(junit: Path) -> list[tuple[float, str]]:
    """(seconds, unit) of a run's units, slowest first: a test, or a group (``tests/x.py``, the
    tests named ``…@group``) with the sum of its tests: a group of many quick tests is long too."""
    found: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "")  # tests.shop.test_shop_browser (the suite has no test classes)
        name = case.get("name", "")
        unit = f"{module.replace('.', '/')}.py::{name}"
        head, at, group = name.rpartition("@")  # xdist's loadgroup appends "@group" to the node id …
        if at and (head.endswith("]") or "[" not in head):  # … not an "@" inside a test's parameters
            unit = group.removesuffix("]") if head.endswith("]") else group  # pytest 9's JUnit adds a "]"
        found[unit] = found.get(unit, 0.0) + float(case.get("time", 0))
    return sorted(((s, unit) for unit, s in found.items() if s >= FLOOR_S), reverse=True)


def listed(path: Path = LISTED) -> dict[str, float]:
    """Unit (a test's node id, or a group's module) → seconds; blank lines and # comments skipped."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {node.strip(): float(s) for s, node in rows}


def configure(config: pytest.Config) -> None:
    """Keep the suite's order: xdist sorts loadgroup's units by their number of tests unless told
    not to, which sent the groups of many quick tests first and the long waiting tests together."""
    config.option.loadscopereorder = False
    config.addinivalue_line("markers", "unit(name): run back to back on one worker with the unit's other tests")


def unit(item: pytest.Item) -> str:
    """What one worker runs back to back: the unit its ``unit`` mark names (tests that read one
    shared run: on one worker the first builds it and the others read it, none waits idle for
    another worker's build), or the item's module if the item uses a fixture that outlives it
    there (module- or class-scoped, or session-scoped but defined in the module), else the item."""
    if mark := item.get_closest_marker("unit"):
        return str(mark.args[0])
    module = item.nodeid.split("::")[0]
    for defs in item._fixtureinfo.name2fixturedefs.values():  # type: ignore[attr-defined]
        fixture = defs[-1]
        if fixture.scope in ("module", "class", "package") or (
            fixture.scope == "session" and fixture.baseid.endswith(".py")
        ):
            return module
    return item.nodeid


def schedule(config: pytest.Config, items: list[pytest.Item], seconds: dict[str, float] | None = None) -> None:
    """Units slowest first (``seconds``: tests/durations.txt); a grouped unit's tests marked with
    its ``xdist_group`` and, on a worker of ``--dist loadgroup``, named after it."""
    seconds = listed() if seconds is None else seconds
    grouping = config.pluginmanager.hasplugin("xdist")  # its marker is unknown without it
    units: dict[str, list[pytest.Item]] = {}
    cost: dict[str, float] = {}
    for item in items:
        key = unit(item)
        units.setdefault(key, []).append(item)
        grouped = key != item.nodeid
        cost[key] = cost.get(key, seconds.get(key, 0.0) if grouped else 0.0) + seconds.get(item.nodeid, 0.0)
        if grouping and grouped:
            item.add_marker(pytest.mark.xdist_group(key))
            if getattr(config.option, "loadgroup", False):  # an xdist worker of --dist loadgroup
                name_after_group(item)
    items[:] = [i for key in sorted(units, key=lambda u: -cost[u]) for i in units[key]]


def name_after_group(item: pytest.Item) -> None:
    """``nodeid@group``: how xdist's controller learns a test's group. xdist 3.8 names the item by
    setting ``item._nodeid``, which pytest 9 no longer reads (its node id is ``_id``, a parsed
    NodeId), so every group fell apart silently; on pytest 8, xdist's own naming works."""
    if not hasattr(item, "_id"):
        return
    from _pytest.nodeid import NodeId

    item._id = NodeId.parse(f"{item.nodeid}@{item.get_closest_marker('xdist_group').args[0]}")


def main(argv: list[str]) -> int:
    rows = slowest(Path(argv[0]))
    head = (
        "# the slowest tests and groups of a full run, slowest first (seconds, unit); see tests/support/durations.py\n"
    )
    LISTED.write_text(head + "".join(f"{s:.1f}\t{node}\n" for s, node in rows), encoding="utf-8")
    print(f"{LISTED}: {len(rows)} tests and groups of {FLOOR_S:.0f} s or more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
