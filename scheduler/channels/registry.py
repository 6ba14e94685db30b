"""Channel kinds by name, from the ``orderprobe.channels`` entry-point group.

Ours are registered in ``pyproject.toml``; a third-party package adds a kind by registering
its ``Channel`` subclass there (``[project.entry-points."orderprobe.channels"] teams =
"acme_alerts:TeamsChannel"``). The entry-point name is the ``type:`` a schedule file writes,
and must be one of the values its ``Settings.type`` allows. This lookup is the only place
channel code is imported by name.
"""

from __future__ import annotations

import typing
from functools import cache
from importlib.metadata import entry_points
from typing import Annotated, Any

from pydantic import Field

from orderprobe.scheduler.channels.base import Channel, ChannelSettings

GROUP = "orderprobe.channels"


class RegistryError(RuntimeError):
    """An entry point that does not name a usable channel (the message names it and its package)."""


@cache
def kinds() -> dict[str, type[Channel]]:
    found: dict[str, type[Channel]] = {}
    for point in sorted(entry_points(group=GROUP), key=lambda p: p.name):
        where = f"entry point {point.name} = {point.value} ({GROUP}, from {point.dist.name if point.dist else '?'})"
        if point.name in found:
            if point.value != f"{found[point.name].__module__}:{found[point.name].__qualname__}":
                raise RegistryError(f"{where}: the name {point.name!r} is taken by {found[point.name]!r}")
            continue
        try:
            kind = point.load()
        except Exception as exc:  # noqa: BLE001 - any import failure is the plugin's; name it
            raise RegistryError(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}") from exc
        if not (isinstance(kind, type) and issubclass(kind, Channel)):
            raise RegistryError(f"{where}: not a subclass of orderprobe.scheduler.channels.Channel")
        if point.name not in typing.get_args(kind.Settings.model_fields["type"].annotation):
            raise RegistryError(f"{where}: its Settings.type does not allow {point.name!r}")
        found[point.name] = kind
    if not found:
        raise RegistryError(f"no alert channels registered in {GROUP}: reinstall orderprobe (pip install -e .)")
    return found


def settings_type() -> Any:
    """The type of one entry under ``channels:``: every kind's settings, told apart by ``type``."""
    models = list(dict.fromkeys(kind.Settings for kind in kinds().values()))
    return Annotated[typing.Union[tuple(models)], Field(discriminator="type")]  # noqa: UP007 - built at run time


def build(channels: dict[str, ChannelSettings], environ: dict[str, str] | None = None) -> dict[str, Channel]:
    """A sender for each configured channel (``environ``: where its ``*_env`` variables are read)."""
    return {name: kinds()[settings.type](name, settings, environ) for name, settings in channels.items()}
