"""What every alert channel is: a config model (``ChannelSettings``) and a sender (``Channel``).

A channel kind is one module holding both, registered by name in the ``orderprobe.channels``
entry-point group (``orderprobe.scheduler.channels.registry``). Secrets never live in the schedule file:
a setting named ``*_env`` names the environment variable that holds one, and every such value
is scrubbed from error messages and log lines by ``redact()``.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import ClassVar, Generic, TypeVar

from pydantic import Field

from orderprobe.base.source import Frozen
from orderprobe.scheduler.alert import Alert
from orderprobe.scheduler.duration import Seconds


class ChannelError(RuntimeError):
    """A delivery that failed; the message is already redacted."""


class ChannelSettings(Frozen):
    """A channel's entry under ``channels:``. Subclasses add ``type: Literal[...]`` (the names
    they are registered under) and their own fields; a field ending in ``_env`` names an
    environment variable (a URL, a secret, a password)."""

    type: str
    timeout: Seconds = 10
    retries: int = Field(3, ge=0, le=10)
    backoff: Seconds = 1  # first retry delay; doubles each time


S = TypeVar("S", bound=ChannelSettings)


def env_fields(settings: object) -> list[tuple[str, str]]:
    """(field, variable name) of every env var a channel's settings name (a model or raw YAML)."""
    items = settings.items() if isinstance(settings, dict) else dict(settings).items() if settings else []
    return [(k, v) for k, v in items if k.endswith("_env") and isinstance(v, str) and v]


class Channel(ABC, Generic[S]):
    """A sender: built once per configured channel, ``send()`` may run on any worker thread."""

    Settings: ClassVar[type[ChannelSettings]]

    def __init__(self, name: str, config: S, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.name = name
        self.config = config
        self.env = {field: env.get(var, "") for field, var in env_fields(config)}

    def secrets(self) -> list[str]:
        return [value for value in self.env.values() if value]

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets(), key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver ``alert`` or raise ``ChannelError`` (redacted)."""
