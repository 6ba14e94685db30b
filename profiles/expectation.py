"""What a probe is expected to meet under a profile: pass, or be refused (blocked) for one
of the given cause categories. Data a matrix states, so it lives with the profiles; the
engine reads it (``probes.outcome``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome: str = "pass"  # pass | blocked
    causes: tuple[str, ...] = ()  # for blocked: acceptable cause categories (empty: any checkout cause)
    reason: str = ""
