"""What a probe is expected to meet under a profile: pass, or be refused (blocked) for one
of the given cause categories. Data a matrix (or a probe's ``expect`` marker) states, so it
lives with the profiles; the engine reads it (``orderprobe.probes.outcome``) and records it with each journey.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, model_validator

from orderprobe.base.source import Frozen
from orderprobe.base.taxonomy import Category


def _as_tuple(value: object) -> object:
    """Let YAML say ``causes: account`` where a list is expected."""
    return (value,) if isinstance(value, str) else value


class Expectation(Frozen):
    """``expect: pass`` (the default) or ``{outcome: blocked, causes: [account], reason: …}``:
    a refusal classified under one of ``causes`` (empty: any checkout cause) is then a pass."""

    outcome: Literal["pass", "blocked"] = "pass"
    causes: Annotated[tuple[Category, ...], BeforeValidator(_as_tuple)] = ()
    # Narrower still: the cause's detail must be one of these (a fault drill names the exact cause).
    details: Annotated[tuple[str, ...], BeforeValidator(_as_tuple)] = ()
    reason: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: object) -> object:
        return {"outcome": value} if isinstance(value, str) else value
