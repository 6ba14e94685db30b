"""The cause rules against pages of shops we did not write (tests/fixtures/storefronts).

Each page reproduces a real open-source storefront's template and wording (WooCommerce, Magento
Luma, Shopify Dawn, Spree, PrestaShop, litemall, newbee-mall, CRMEB, Chinese H5 shops). It is
served on 127.0.0.1 with its HTTP status; real Chromium opens it, the probe's click fails there
(a missing or disabled element), the recorder captures the failure point and the classifier must
name the family's category — with the page's own words as evidence, and without calling a
healthy page anything but a broken probe.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from orderprobe.probes.classify import Classifier

# benchmarks/ is a folder of scripts, not an installed package: load the module by path.
_spec = importlib.util.spec_from_file_location("causes_bench", Path(__file__).parents[1] / "benchmarks" / "causes.py")
assert _spec and _spec.loader
bench = sys.modules.setdefault("causes_bench", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(bench)

PAGES = bench.load_corpus()


@pytest.fixture(scope="module")
def corpus_url() -> Iterator[str]:
    with bench.serve(PAGES) as url:
        yield url


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier.load()


def test_the_corpus_covers_five_shops_two_languages_and_every_family() -> None:
    shops = {p.path.parts[0] for p in PAGES}
    assert len(shops) >= 5
    assert {p.family for p in PAGES} == set(bench.FAMILIES)
    chinese = [p for p in PAGES if 'lang="zh' in (bench.CORPUS / p.path).read_text(encoding="utf-8")]
    assert {p.family for p in chinese} >= {"sold_out", "region", "payment", "login_risk", "server"}


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_a_storefront_failure_is_named_by_its_family(
    page, chromium: Browser, corpus_url: str, classifier: Classifier, tmp_path: Path
) -> None:
    # No failure screenshot: the cause is named from the page's words and the requests, and 47 PNGs
    # were a sixth of this module's CPU (failure screenshots: test_report_e2e, test_filmstrip).
    failure = bench.fail_on(chromium, corpus_url, page, tmp_path, screenshot=False)
    cause = classifier.classify(failure)
    assert cause.category == page.expected, f"{page.name} ({page.source}): {cause.rule} — {cause.evidence}"
    if page.family == "healthy":
        assert "selector" in cause.summary  # the probe's selector is what broke
    elif page.status >= 500:
        assert f"HTTP {page.status}" in cause.evidence or "page text" in cause.evidence
    else:
        assert "page text" in cause.evidence or "page title" in cause.evidence  # the shop's own words


def test_a_corpus_page_without_a_header_is_refused_with_its_file(tmp_path: Path) -> None:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "x.html").write_text("<!-- orderprobe corpus\nfamily: sold_out\n-->\n<p>hi</p>")
    with pytest.raises(ValueError, match=r"shop/x\.html:1: corpus header has no 'source:'"):
        bench.load_corpus(tmp_path)
    (tmp_path / "shop" / "x.html").write_text("<!-- orderprobe corpus\nsource: a\nfamily: gone\nclick: b\n-->")
    with pytest.raises(ValueError, match=r"family 'gone' is not one of"):
        bench.load_corpus(tmp_path)
