"""How well the cause rules generalise: pages of shops we did not write, and the demo shop's faults.

* The storefront corpus (``tests/fixtures/storefronts/<shop>/<scenario>.html``): each page is
  served on 127.0.0.1 with its HTTP status, real Chromium opens it and the probe's click fails on
  it (a missing or disabled element, as it would in a real journey); the recorder captures the
  failure point and the classifier names it. Per family: precision and recall.
* The demo shop's fault campaign (``tests/test_campaign.py``, run in a subprocess) adds its rows.
* One confusion table over both: expected category × named category.

    python -m benchmarks causes [--quick]      (--quick: the corpus only, no campaign)
"""

from __future__ import annotations

import argparse
import os
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from benchmarks import loopback

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "storefronts"
FAMILIES = {  # corpus family → the cause category the classifier must name
    "sold_out": "inventory",
    "region": "region",
    "payment": "payment",
    "login_risk": "account",
    "server": "system",
    "healthy": "probe_broken",
}
_META = re.compile(r"\A<!--\s*orderprobe corpus\s*\n(.*?)-->", re.S)
CLICK_TIMEOUT_MS = 300  # the element is missing or disabled for good: waiting longer proves nothing


@dataclass(frozen=True)
class Page:
    path: Path  # relative to CORPUS
    family: str
    status: int
    click: str
    source: str

    @property
    def name(self) -> str:
        return self.path.with_suffix("").as_posix()

    @property
    def expected(self) -> str:
        return FAMILIES[self.family]


def load_corpus(root: Path = CORPUS) -> list[Page]:
    """Every fixture with its header; a header that is missing or wrong is an error naming the file."""
    pages = []
    for path in sorted(root.glob("*/*.html")):
        text = path.read_text(encoding="utf-8")
        meta = _META.match(text)
        if meta is None:
            raise ValueError(f"{path}:1: no '<!-- orderprobe corpus' header")
        fields: dict[str, str] = {}
        key = ""
        for line in meta[1].splitlines():
            if m := re.match(r"(\w+):\s*(.*)$", line):
                key = m[1]
                fields[key] = m[2].strip()
            elif key and line.strip():
                fields[key] += " " + line.strip()  # continuation of the previous field
        for required in ("source", "family", "click"):
            if not fields.get(required):
                raise ValueError(f"{path}:1: corpus header has no '{required}:'")
        if fields["family"] not in FAMILIES:
            raise ValueError(f"{path}:1: family {fields['family']!r} is not one of {sorted(FAMILIES)}")
        pages.append(
            Page(
                path.relative_to(root),
                fields["family"],
                int(fields.get("status", 200)),
                fields["click"],
                fields["source"],
            )  # fmt: skip
        )
    return pages


class _Handler(SimpleHTTPRequestHandler):
    statuses: dict[str, int] = {}

    def send_response(self, code: int, message: str | None = None) -> None:  # the page's own status
        status = self.statuses.get(self.path.split("?")[0].lstrip("/"), code) if code == 200 else code
        super().send_response(status, message)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(pages: list[Page], root: Path = CORPUS) -> Iterator[str]:
    """The corpus on an ephemeral loopback port, each page with its own HTTP status."""
    handler = type("Handler", (_Handler,), {"statuses": {p.path.as_posix(): p.status for p in pages}})
    with loopback.serve(partial(handler, directory=str(root))) as url:
        yield url


def fail_on(browser, base_url: str, page: Page, artefacts: Path, *, screenshot: bool = True):  # -> FailurePoint
    """Open the page in a fresh context and let the probe's click fail there, as a journey would
    (``screenshot=False``: as with ``--screenshots off``; the classifier reads no pixels)."""
    from orderprobe.probes.journey import Journey
    from orderprobe.probes.recorder import Recorder

    context = browser.new_context()
    try:
        tab = context.new_page()
        recorder = Recorder(context, tab, artefacts, page.name, screenshot=screenshot)
        journey = Journey("corpus", meter=recorder.meter, settle=recorder.settle)
        journey.listeners = [recorder]
        try:
            with journey.step("open"):
                tab.goto(f"{base_url}/{page.path.as_posix()}")
            with journey.step("act"):
                tab.locator(page.click).first.click(timeout=CLICK_TIMEOUT_MS)
        except Exception:
            pass
        if recorder.failure is None:
            raise AssertionError(f"{page.name}: the probe's click on {page.click!r} did not fail")
        return recorder.failure
    finally:
        context.close()


def classify_corpus(browser, artefacts: Path, pages: list[Page] | None = None) -> list[tuple[Page, object]]:
    """(page, Cause) for every corpus page."""
    from orderprobe.probes.classify import Classifier

    pages = load_corpus() if pages is None else pages
    classifier = Classifier.load()
    with serve(pages) as base_url:
        return [(p, classifier.classify(fail_on(browser, base_url, p, artefacts))) for p in pages]


# ------------------------------------------------------------------ figures


def precision_recall(pairs: list[tuple[str, str]]) -> dict[str, tuple[int, float, float]]:
    """(expected, got) category pairs → per expected category: (count, precision, recall)."""
    out = {}
    for category in sorted({e for e, _ in pairs}):
        tp = sum(1 for e, g in pairs if e == g == category)
        named = sum(1 for _, g in pairs if g == category)
        total = sum(1 for e, _ in pairs if e == category)
        out[category] = (total, tp / named if named else 0.0, tp / total if total else 0.0)
    return out


def confusion(pairs: list[tuple[str, str]]) -> str:
    counts = Counter(pairs)
    labels = sorted({x for pair in pairs for x in pair})
    width = max(len(x) for x in labels) + 1
    lines = ["| expected \\ named | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    lines += [
        f"| {e:<{width}}| " + " | ".join(str(counts.get((e, g), 0) or ".") for g in labels) + " |" for e in labels
    ]
    return "\n".join(lines)


def campaign_pairs() -> list[tuple[str, str]]:
    """(expected, named) categories of the demo shop's fault campaign, run in a subprocess pytest."""
    import subprocess
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "campaign.tsv"
        env = {**os.environ, "ORDERPROBE_CAMPAIGN_TSV": str(out)}
        subprocess.run(
            [sys.executable, "-m", "pytest", str(root / "tests" / "test_campaign.py"), "-qs", "-p", "no:cacheprovider"],
            cwd=root, env=env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if not out.exists():
            print("  (the campaign did not run: see `pytest tests/test_campaign.py`)")
            return []
        rows = [line.split("\t") for line in out.read_text(encoding="utf-8").splitlines() if line]
    # a scenario expected to pass has no cause: it is on the diagonal when it passed
    return [(e or "passed", g or "passed") for e, g in rows]


def main(quick: bool = False) -> None:
    import tempfile

    from playwright.sync_api import sync_playwright

    from orderprobe.probes.browser import launch_options

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(**launch_options())
        results = classify_corpus(browser, Path(tmp))
        browser.close()
    shops = sorted({p.path.parts[0] for p, _ in results})
    print(f"storefront corpus: {len(results)} pages from {len(shops)} shops ({', '.join(shops)})")
    corpus = [(p.expected, c.category) for p, c in results]
    print(f"{'family':<12} {'category':<13} {'pages':>5} {'precision':>9} {'recall':>7}")
    by_category = precision_recall(corpus)
    for family, category in FAMILIES.items():
        n, precision, recall = by_category.get(category, (0, 0.0, 0.0))
        print(f"{family:<12} {category:<13} {n:>5} {precision:>9.2f} {recall:>7.2f}")
    for page, cause in results:
        if cause.category != page.expected:
            print(
                f"  ✗ {page.name}: expected {page.expected}, named {cause.category}/{cause.detail} ({cause.evidence})"
            )
    pairs = corpus if quick else corpus + campaign_pairs()
    print(f"\nconfusion over {'the corpus' if quick else 'the corpus + the demo shop campaign'} "
          f"({len(pairs)} failures; rows: expected, columns: named):")  # fmt: skip
    print(confusion(pairs))
    off = sum(1 for e, g in pairs if e != g)
    print(f"off the diagonal: {off}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    main(quick=parser.parse_args().quick)
