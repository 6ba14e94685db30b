"""One demo shop per test module (real servers on ephemeral ports), reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orderprobe.shop.server import DemoShop
from orderprobe.shop.testing import client, running_shop


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoShop]:
    with running_shop() as shop:
        yield shop


@pytest.fixture(autouse=True)
def _fresh(demo: DemoShop) -> None:
    demo.reset()


@pytest.fixture
def http(demo: DemoShop) -> Iterator[httpx.Client]:
    with client(demo) as c:
        yield c
