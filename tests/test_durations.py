"""How `make test` hands out work (tests/support/durations.py): slowest unit first, and a module's
tests that share a module-scoped fixture on one worker, back to back, so it is set up once.

Each test's session runs in this process (pytester's in-process run): what is tested is the
ordering and xdist's hand-out to its worker processes, not the start-up of the controller."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support import durations

ROOT = Path(__file__).resolve().parents[1]

CONFTEST = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import pytest
from tests.support import durations

@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    durations.schedule(config, items, {{"test_slow.py::test_long": 5.0}})

def pytest_configure(config):
    durations.configure(config)
"""

SHARED = """
import os, pytest

@pytest.fixture(scope="module")
def costly(tmp_path_factory):
    with open(os.environ["SETUPS"], "a") as out:  # one line per set-up, whichever worker
        out.write(os.environ.get("PYTEST_XDIST_WORKER", "-") + "\\n")
    return 1

@pytest.mark.parametrize("n", range(8))
def test_shares(costly, n):
    assert costly == 1
"""

SINGLES = """
import pytest

@pytest.mark.parametrize("n", range(8))
def test_single(n):
    pass

def test_long():
    pass
"""


def test_a_module_fixture_is_set_up_once_on_one_worker_among_quick_tests(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shared=SHARED, test_slow=SINGLES)
    setups = tmp_path / "setups.txt"
    monkeypatch.setenv("SETUPS", str(setups))
    result = pytester.runpytest_inprocess("-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=17)
    # Handed out test by test, the fixture is set up again whenever a worker comes back from
    # another module; as one unit it is set up once, and every one of its tests ran on that worker.
    assert setups.read_text().split() in (["gw0"], ["gw1"]), setups.read_text()
    shared = [line for line in result.outlines if "test_shared.py::test_shares" in line and "PASSED" in line]
    assert len(shared) == 8 and len({line.split("]")[0] for line in shared}) == 1, shared
    assert all(line.rstrip().endswith("@test_shared.py") for line in shared), shared  # how xdist groups


def test_tests_marked_as_one_unit_run_back_to_back_on_one_worker(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_pair="""
import pytest

@pytest.mark.parametrize("n", [pytest.param(n, marks=pytest.mark.unit(f"run{n % 2}")) for n in range(4)])
def test_reads(n):
    pass
""",
        test_slow=SINGLES,
    )
    result = pytester.runpytest_inprocess("-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=13)
    for run, parts in (("run0", ("[0]", "[2]")), ("run1", ("[1]", "[3]"))):
        lines = [line for line in result.outlines if "PASSED" in line and line.rstrip().endswith(f"@{run}")]
        assert [line.split("@")[0].rstrip()[-3:] for line in lines] == list(parts), lines  # back to back
        assert len({line.split("]")[0] for line in lines}) == 1, lines  # on one worker


def test_a_run_without_xdist_orders_the_same_work_without_groups(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shared=SHARED.replace('os.environ["SETUPS"]', "os.devnull"), test_slow=SINGLES)
    result = pytester.runpytest_inprocess("-p", "no:xdist", "-p", "no:cacheprovider", "-v")  # no workers: here
    result.assert_outcomes(passed=17)
    ran = [line.split(" ")[0] for line in result.outlines if " PASSED" in line]
    assert ran[0] == "test_slow.py::test_long"  # the listed slow test first, the rest as pytest found them
    assert not any("@" in name for name in ran)


def test_a_group_is_listed_as_one_unit_with_the_sum_of_its_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        "<testsuites><testsuite>"
        '<testcase classname="tests.test_a" name="test_x[1]@tests/test_a.py" time="2.0"/>'
        '<testcase classname="tests.test_a" name="test_x[2]@tests/test_a.py" time="2.5"/>'
        '<testcase classname="tests.test_b" name="test_y" time="4.0"/>'
        '<testcase classname="tests.test_c" name="test_p[a]@run0]" time="2.0"/>'  # pytest 9 JUnit's name
        '<testcase classname="tests.test_c" name="test_p[b]@run0]" time="2.0"/>'
        '<testcase classname="tests.test_c" name="test_q@run1" time="3.0"/>'
        '<testcase classname="tests.test_b" name="test_z[a@b]" time="3.5"/>'
        '<testcase classname="tests.test_b" name="test_quick" time="0.2"/>'
        "</testsuite></testsuites>",
        encoding="utf-8",
    )
    assert durations.slowest(junit) == [
        (4.5, "tests/test_a.py"),
        (4.0, "tests/test_b.py::test_y"),
        (4.0, "run0"),
        (3.5, "tests/test_b.py::test_z[a@b]"),  # an "@" inside the parameters is no group
        (3.0, "run1"),
    ]


def test_the_listed_order_survives_xdists_reordering_of_groups(pytester: pytest.Pytester) -> None:
    # xdist's loadgroup sorts units by their number of tests unless told not to: the 8-test group
    # would run before the listed long test, on the one worker as anywhere.
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_shared=SHARED.replace('os.environ["SETUPS"]', "os.devnull"), test_slow=SINGLES)
    result = pytester.runpytest_inprocess("-n", "1", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=17)
    ran = [line.split()[-1] for line in result.outlines if " PASSED " in line]
    assert ran[0] == "test_slow.py::test_long", ran
