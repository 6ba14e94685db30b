"""pytest-playwright and orderprobe cannot share one pytest session: both define
``--device``, ``--headed``, ``--tracing`` and the ``page`` / ``context`` / ``browser``
fixtures. Rather than let argparse abort at start-up with a traceback (or, worse, let one
plugin's ``page`` silently replace the other's), the plugin detects it and stops with one
message naming the conflict and the one-flag way out."""

from __future__ import annotations

import functools
import os
from importlib.metadata import entry_points

import pytest

SHARED_OPTIONS = ("--device", "--headed", "--tracing")
MODULE = "pytest_playwright"


def pytest_playwright(pluginmanager: pytest.PytestPluginManager) -> str | None:
    """The plugin name under which pytest-playwright is (or is about to be) loaded, if at all."""
    for name, plugin in pluginmanager.list_name_plugin():
        if getattr(plugin, "__name__", "").startswith(MODULE) and not pluginmanager.is_blocked(name):
            return name
    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return None
    for name in _installed():  # not loaded yet: entry points load in no set order
        if not pluginmanager.is_blocked(name):
            return name
    return None


@functools.cache
def _installed() -> tuple[str, ...]:
    """pytest-playwright's entry point names. Read once per process: each read walks every installed
    distribution's metadata (~5 ms of CPU), and a run asks as each of its three pytest configurations starts."""
    return tuple(ep.name for ep in entry_points(group="pytest11") if ep.value.startswith(MODULE))


def refusal(name: str) -> str:
    return (
        f"orderprobe: pytest-playwright is installed here too (plugin {name!r}). Both define "
        f"{', '.join(SHARED_OPTIONS)} and the page / context / browser fixtures, so they cannot run in one "
        f"pytest session. Choose per run: `-p no:{name}` to run orderprobe probes, or `-p no:orderprobe` to run "
        "pytest-playwright tests (or keep them in separate virtual environments)."
    )
