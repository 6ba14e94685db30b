"""Hooks a conftest or plugin can implement."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.hookspec
def pytest_orderprobe_reporters(reporters: dict[str, Any]) -> None:
    """Add reporters by name: ``reporters["mine"] = MyReporter`` (a ``orderprobe.probes.reporter.Reporter``
    class or a factory returning one); ``--reporter mine`` then picks it. Called once, on the
    controller, at configure time."""
