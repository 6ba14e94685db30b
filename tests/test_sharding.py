"""``--shard i/n``: disjoint slices whose union is the sweep, merged by run id in one store,
and a run report that knows when shards are missing (real pytest runs, Chromium, demo shop)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from orderprobe.probes.sharding import Shard
from orderprobe.reports import run_report
from orderprobe.store.store import Store


def test_shards_are_disjoint_cover_everything_and_do_not_depend_on_collection_order() -> None:
    items = [f"probes/checkout/test_x.py::test_{i}[p{i % 5}]" for i in range(22)]
    slices = [Shard(i, 3).take(items, key=str) for i in (1, 2, 3)]
    assert sorted(x for s in slices for x in s) == sorted(items)
    assert max(map(len, slices)) - min(map(len, slices)) <= 1
    shuffled = random.Random(7).sample(items, len(items))
    assert [sorted(Shard(i, 3).take(shuffled, key=str)) for i in (1, 2, 3)] == [sorted(s) for s in slices]


@pytest.mark.parametrize("text", ["0/3", "4/3", "1of3", "2/", "/2"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="--shard"):
        Shard.parse(text)


def _verdict(page: str) -> str:
    return re.search(r'id="verdict">(.*?)</div>', page, re.S).group(1)


PROBE = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_home(journey, page, target, n):
    with journey.step("home"):
        page.goto(target.url("/"))
"""


def test_three_shards_merge_into_one_run_and_the_report_knows_when_one_is_missing(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    pytester.makepyfile(test_shards=PROBE)
    url = f"sqlite:///{tmp_path / 'results.db'}"
    common = ("-p", "no:cacheprovider", f"--results={url}", f"--artefacts={tmp_path / 'art'}", "--run-id=sweep-1")

    refused = pytester.runpytest_inprocess("-p", "no:cacheprovider", "--shard=1/3")  # refused up front
    assert refused.ret != 0 and "--shard needs --run-id" in refused.stderr.str()

    for index in (1, 2):
        pytester.runpytest_inprocess(*common, f"--shard={index}/3").assert_outcomes(passed=1)
    store = Store(url)
    try:
        partial = store.run("sweep-1")
        assert partial is not None and partial.total == 2 and partial.missing_shards == [3]
        verdict = _verdict(run_report.render(store, "sweep-1", tmp_path / "art", "en"))
        assert verdict.startswith("INCOMPLETE") and "Missing shards 3 / 3" in verdict
    finally:
        store.close()

    pytester.runpytest_inprocess(*common, "--shard=3/3").assert_outcomes(passed=1)
    store = Store(url)
    try:
        whole = store.run("sweep-1")
        assert whole is not None and whole.missing_shards == [] and whole.shards == 3
        assert sorted(j.nodeid.split("::")[-1][-2] for j in store.journeys("sweep-1")) == ["0", "1", "2"]
        assert _verdict(run_report.render(store, "sweep-1", tmp_path / "art", "en")).startswith("PASS")
    finally:
        store.close()
