"""The field study's rates the demo shop controls, measured over many draws of the `field`
population's shop configuration, each beside the study's figure (with a 95 % Wilson interval):

    teen accounts refused on virtual goods     95 %   (seed §2)
    North China payments failing (cable cut)   47 %   (seed §8)
    live flash-sale items sold out             92 %   (seed §4)
    cross-border cosmetics sold out            67 %   (seed §4)
    farm produce sold out                      45 %   (seed §4)
    new-user coupon flow broken                38 %   (seed §7)

Each draw is one journey of ``orderprobe.profiles.sweep.draw`` (its own fault seeds, its own virtual-goods
pick, as the browser probes make them), replayed over plain HTTP against a real demo shop that
is reset between draws — the shop's mechanism, not the browser's, is what is measured here.

    python -m benchmarks.field_rates [--draws 600] [--quick]
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from orderprobe.profiles.catalogue import load_catalogue
from orderprobe.profiles.sweep import draw
from orderprobe.reports.estimate import wilson
from orderprobe.shop.catalogue import PRODUCTS
from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import client, login, next_url, pay, running_shop, submit

BONFERRONI_Z = 2.638  # two-sided, 1 - 0.05 / 6
VIRTUAL = sorted(sku for sku, p in PRODUCTS.items() if p.virtual)  # as the probe sorts the shelf's links
STUDY = {
    "teen virtual goods refused": 0.95,
    "North China payment failed": 0.47,
    "flash sale sold out": 0.92,
    "cross-border sold out": 0.67,
    "farm produce sold out": 0.45,
    "coupon flow broken": 0.38,
}


@contextmanager
def _shopper(shop: DemoShop, account: str) -> Iterator[httpx.Client]:
    with client(shop) as http:
        login(http, account)
        yield http


def one_draw(shop: DemoShop, faults: tuple, seed: int) -> dict[str, bool]:
    """The outcomes one journey's shop configuration gives, each a failure (True) or not."""
    shop.reset()
    for fault in faults:
        shop.set_fault(fault.name, **fault.params)
    out = {}
    with _shopper(shop, "teen") as http:
        out["teen virtual goods refused"] = submit(http, sku=random.Random(seed).choice(VIRTUAL)).status_code == 403
    with _shopper(shop, "normal") as http:
        for name, sku in (("flash sale", "FS-001"), ("cross-border", "CB-101"), ("farm produce", "AG-201")):
            out[f"{name} sold out"] = submit(http, sku=sku).status_code == 409  # SOLD_OUT / STOCK_SYNC_DELAY
        http.post("/api/coupon/claim").raise_for_status()
        fields = {"from": "product", "sku": "GN-701", "qty": "1", "code": "NEW10"}
        out["coupon flow broken"] = http.post("/api/coupon/apply", data=fields).status_code != 200
        out["North China payment failed"] = pay(http, next_url(submit(http, "beijing"))).status_code == 502
    return out


def main(quick: bool = False, draws: int | None = None) -> None:
    draws = draws or (100 if quick else 600)
    items = draw(load_catalogue(), "field", draws, seed=2026)
    hits: Counter[str] = Counter()
    with running_shop() as shop:
        for item in items:
            hits.update(k for k, failed in one_draw(shop, item.faults, item.seed or 0).items() if failed)
    # Six intervals at once: each at 95 % would miss one of six true rates a quarter of the time, so
    # "consistent" asks the Bonferroni-corrected interval (1 - 0.05 / 6 ≈ 99.2 %, z = 2.64).
    print(f"{draws} draws of the field shop (seed 2026); Wilson intervals")
    print(f"{'rate':<30} {'study':>6} {'measured':>9} {'95% interval':>17} {'ratio':>6}  consistent (99.2%)")
    for name, study in STUDY.items():
        low, high = wilson(hits[name], draws)
        wide = wilson(hits[name], draws, z=BONFERRONI_Z)
        share = hits[name] / draws
        mark = "yes" if wide[0] <= study <= wide[1] else "NO"
        print(f"{name:<30} {study:>6.0%} {share:>9.1%} {f'[{low:.1%}, {high:.1%}]':>17} {share / study:>6.3f}  {mark}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m benchmarks.field_rates")
    parser.add_argument("--draws", type=int)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(args.quick, args.draws)
