"""A shop run with `--target` (not the embedded one): what a first user on a real shop meets.

The demo shop is started here as an external server on ephemeral ports (the shop on 127.0.0.1,
its payment gateway on pay.localhost, which Chromium resolves to loopback): two registrable
domains, as a real shop and its payment provider are.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from orderprobe.shop.server import DemoShop
from orderprobe.store.store import Store

BUILTIN = Path(__file__).resolve().parents[1] / "probes" / "checkout"


@pytest.fixture
def external_shop() -> Iterator[DemoShop]:
    with DemoShop(port=0, payment_port=0) as shop:
        yield shop


def orderprobe(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderprobe", "run", *args, "--results", f"sqlite:///{tmp_path / 'r.db'}",
         "--artefacts", str(tmp_path / "art"), "--reports", str(tmp_path / "rep"), "--no-progress", "-n", "0"],
        capture_output=True, text=True, cwd=tmp_path, env={**os.environ, "COLUMNS": "200", **(env or {})},
    )  # fmt: skip


def test_a_payment_gateway_outage_on_an_external_target_is_a_named_third_party(
    external_shop: DemoShop, tmp_path: Path
) -> None:
    external_shop.set_fault("payment_down")
    done = orderprobe(
        tmp_path, str(BUILTIN / "test_paths.py"), "--target", external_shop.url, "--probe", "subsidy_checkout",
        env={"ORDERPROBE_DEMO_PASSWORD": "demo-pass"},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        (journey,) = store.journeys(store.latest_run_id())
    finally:
        store.close()
    assert journey.cause is not None
    assert (journey.cause.category, journey.cause.dependency) == ("third_party", "pay.localhost"), journey.cause


def test_a_wrong_account_password_is_a_configuration_error_naming_the_account(tmp_path: Path) -> None:
    """The built-in probes on the embedded shop, with the demo account's password set wrong: not a
    failed checkout of unknown cause but a probe/config error that names the account and its variable."""
    done = orderprobe(
        tmp_path, str(BUILTIN / "test_paths.py"), "--probe", "subsidy_checkout",
        env={"ORDERPROBE_DEMO_PASSWORD": "not-the-password"},
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    store = Store(f"sqlite:///{tmp_path / 'r.db'}")
    try:
        (journey,) = store.journeys(store.latest_run_id())
    finally:
        store.close()
    assert journey.status == "error", journey
    assert (journey.cause.category, journey.cause.detail) == ("probe_broken", "account_refused"), journey.cause
    assert "account 'normal'" in journey.cause.summary and "ORDERPROBE_DEMO_PASSWORD" in journey.cause.summary
    assert "not-the-password" not in done.stdout + done.stderr + journey.model_dump_json()
