"""pytest's internals that orderprobe relies on, named in one place.

``orderprobe run`` reads its arguments with pytest's own parser (every installed plugin's
options, so a value is never taken for a path); ``--retries`` re-runs an item's whole protocol
with fresh fixtures, the way pytest-rerunfailures does, so that each attempt's journey result
can be kept (the flaky state). ``orderprobe run``'s collection pass skips the full garbage
collections pytest runs as a session ends.
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest.config import get_config
from _pytest.runner import runtestprotocol

__all__ = ["known_options", "no_closing_collections", "reset_fixtures", "runtestprotocol", "tear_down_all"]


def known_options(argv: list[str], *, autoload: bool) -> dict[str, Any]:
    """``argv`` parsed by pytest's parser with every plugin's options, unknown ones left alone."""
    config = get_config(argv)
    config.pluginmanager.consider_preparse(argv, exclude_only=False)
    if autoload:
        config.pluginmanager.load_setuptools_entrypoints("pytest11")
    return vars(config._parser.parse_known_args(argv))


def reset_fixtures(item: pytest.Item) -> None:
    """Fresh fixtures for another attempt of ``item``."""
    item._initrequest()  # type: ignore[attr-defined]


def tear_down_all(item: pytest.Item) -> None:
    """Every fixture still set up (the session's too), as if ``item`` were the last test."""
    item.session._setupstate.teardown_exact(None)


def no_closing_collections(config: pytest.Config) -> None:
    """No full garbage collection as ``config``'s session ends. pytest (≥ 8.4) runs them to report
    objects whose finaliser raised; a pass that only collects has none worth their CPU (~0.08 s)."""
    from _pytest import unraisableexception

    key = getattr(unraisableexception, "gc_collect_iterations_key", None)  # the stash key pytester sets too
    if key is not None:
        config.stash[key] = 0
