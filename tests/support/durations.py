"""Write tests/durations.txt from a JUnit XML of a full run: the slowest tests, slowest first.

    python -m tests.support.durations junit.xml   # e.g. from `make test PYTEST_ARGS=--junitxml=junit.xml`

The suite runs the listed tests first (tests/conftest.py) and `make test` hands them to its
workers one unit at a time (`--dist loadgroup`; a unit is a test, or a module's tests that share
a module-scoped fixture): longest-processing-time-first, so the workers end together instead of
one idling while another finishes a long campaign. A stale list costs only balance, never a
result: a test missing from it runs in pytest's own order.

Each line also says the unit's CPU seconds (its process and every child it reaped: the runs,
shops and browsers it started): a unit far below half a CPU second per second mostly waits
(outage windows, deadlines, scheduler ticks), which is where to look for time that is not CPU.
Letting waiting units take turns with busy ones was tried: the suite's time did not change
(325 s against 315–331 s), so the order stays longest first.
"""

from __future__ import annotations

import resource
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import NamedTuple

import pytest

LISTED = Path(__file__).resolve().parents[1] / "durations.txt"
FLOOR_S = 3.0  # below this, order hardly matters and the list would churn on every run
CPU_PROPERTY = "cpu_s"  # a test's JUnit property: what `slowest` reads back


class Cost(NamedTuple):
    seconds: float
    cpu: float  # CPU seconds; a list without them counts every unit as busy


def slowest(junit: Path) -> list[tuple[Cost, str]]:
    """(cost, unit) of a run's units, slowest first: a test, or a group (``tests/x.py``, the
    tests named ``…@group``) with the sum of its tests: a group of many quick tests is long too."""
    found: dict[str, Cost] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "")  # tests.shop.test_shop_browser (the suite has no test classes)
        name = case.get("name", "")
        unit = f"{module.replace('.', '/')}.py::{name}"
        head, at, group = name.rpartition("@")  # xdist's loadgroup appends "@group" to the node id …
        if at and (head.endswith("]") or "[" not in head):  # … not an "@" inside a test's parameters
            unit = group.removesuffix("]") if head.endswith("]") else group  # pytest 9's JUnit adds a "]"
        cpu = sum(float(p.get("value", 0)) for p in case.iter("property") if p.get("name") == CPU_PROPERTY)
        before = found.get(unit, Cost(0.0, 0.0))
        found[unit] = Cost(before.seconds + float(case.get("time", 0)), before.cpu + cpu)
    return sorted(((c, unit) for unit, c in found.items() if c.seconds >= FLOOR_S), reverse=True)


def listed(path: Path = LISTED) -> dict[str, Cost]:
    """Unit (a test's node id, or a group's module) → cost; blank lines and # comments skipped."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    rows = [line.split("\t") for line in text.splitlines() if line.strip() and not line.startswith("#")]
    return {row[-1].strip(): Cost(float(row[0]), float(row[1] if len(row) > 2 else row[0])) for row in rows}


def cpu_seconds() -> float:
    """This process's CPU and its reaped children's (a test's runs, shops and browsers, once they end)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuPerTest:
    """Writes each test's CPU seconds as its JUnit property ``cpu_s`` (set-up, call and teardown;
    a module fixture's browser is counted when it is torn down, with the module's last test)."""

    _START = pytest.StashKey[float]()

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        item.stash[self._START] = cpu_seconds()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> object:
        try:
            return (yield)
        finally:  # before pytest makes the teardown report, which carries the properties to JUnit
            if self._START in item.stash:
                item.user_properties.append((CPU_PROPERTY, f"{cpu_seconds() - item.stash[self._START]:.2f}"))


def configure(config: pytest.Config) -> None:
    """Keep the suite's order: xdist sorts loadgroup's units by their number of tests unless told
    not to, which sent the groups of many quick tests first and the long waiting tests together."""
    config.option.loadscopereorder = False
    config.addinivalue_line("markers", "unit(name): run back to back on one worker with the unit's other tests")
    if not config.pluginmanager.has_plugin("orderprobe-cpu-per-test"):
        config.pluginmanager.register(CpuPerTest(), "orderprobe-cpu-per-test")


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


def order(costs: dict[str, Cost]) -> list[str]:
    """Longest first; units without a cost last, in their given order (``sorted`` is stable)."""
    return sorted(costs, key=lambda u: -costs[u].seconds)


def schedule(config: pytest.Config, items: list[pytest.Item], costs: dict[str, Cost] | None = None) -> None:
    """Units in ``order`` (``costs``: tests/durations.txt); a grouped unit's tests marked with
    its ``xdist_group`` and, on a worker of ``--dist loadgroup``, named after it."""
    costs = listed() if costs is None else costs
    grouping = config.pluginmanager.hasplugin("xdist")  # its marker is unknown without it
    units: dict[str, list[pytest.Item]] = {}
    cost: dict[str, Cost] = {}
    for item in items:
        key = unit(item)
        units.setdefault(key, []).append(item)
        grouped = key != item.nodeid
        before = cost.get(key, costs.get(key, Cost(0.0, 0.0)) if grouped else Cost(0.0, 0.0))
        own = costs.get(item.nodeid, Cost(0.0, 0.0))
        cost[key] = Cost(before.seconds + own.seconds, before.cpu + own.cpu)
        if grouping and grouped:
            item.add_marker(pytest.mark.xdist_group(key))
            if getattr(config.option, "loadgroup", False):  # an xdist worker of --dist loadgroup
                name_after_group(item)
    items[:] = [i for key in order(cost) for i in units[key]]


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
    head = "# the slowest tests and groups of a full run (seconds, CPU seconds, unit); see tests/support/durations.py\n"
    LISTED.write_text(head + "".join(f"{c.seconds:.1f}\t{c.cpu:.1f}\t{node}\n" for c, node in rows), encoding="utf-8")
    print(f"{LISTED}: {len(rows)} tests and groups of {FLOOR_S:.0f} s or more")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
