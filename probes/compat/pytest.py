"""pytest's internals that orderprobe relies on, named in one place.

``orderprobe run`` reads its arguments with pytest's own parser (every installed plugin's
options, so a value is never taken for a path); ``--retries`` re-runs an item's whole protocol
with fresh fixtures, the way pytest-rerunfailures does, so that each attempt's journey result
can be kept (the flaky state).
"""

from __future__ import annotations

from typing import Any

import pytest
from _pytest.config import get_config
from _pytest.runner import runtestprotocol

__all__ = ["known_options", "reset_fixtures", "runtestprotocol"]


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
