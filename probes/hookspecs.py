"""Hooks other plugins (the runner's progress display, user plugins) can implement."""

from __future__ import annotations

import pytest

from probes.result import JourneyResult


@pytest.hookspec
def pytest_orderprobe_journey(result: JourneyResult) -> None:
    """A journey finished and was stored (called on the controller)."""
