"""A population to draw journeys from: weights for devices, networks, regions, accounts and
entry paths, the demo-shop faults of the field configuration, and the published figures a
sweep's estimate is read beside.

Every weight carries its ``source`` — the field study's figure where it gives one, a stated
assumption otherwise — and the weights of one list sum to 1, so a population is a statement
a reader can check line by line. Plain data: ``orderprobe.profiles.sweep`` draws from it.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from orderprobe.base.source import Frozen
from orderprobe.profiles.faults import Faults

Name = Annotated[str, Field(pattern=r"^[a-z0-9_][a-z0-9._-]*$", max_length=60)]
KINDS = ("device", "network", "region", "account", "probe")
TOLERANCE = 1e-6


class Weight(Frozen):
    name: Name
    weight: float = Field(gt=0, le=1)
    source: str = Field(min_length=3)  # "seed §2: 42% of new users …" or "assumption: …"


def _sums_to_one(weights: tuple[Weight, ...]) -> tuple[Weight, ...]:
    if not weights:
        raise ValueError("needs at least one entry")
    names = [w.name for w in weights]
    if dupes := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"{', '.join(dupes)} listed twice")
    total = math.fsum(w.weight for w in weights)
    if abs(total - 1) > TOLERANCE:
        listed = " + ".join(f"{w.weight:g}" for w in weights)
        raise ValueError(f"weights must sum to 1, got {listed} = {total:.6g}")
    return weights


class Account(Weight):
    """An account's share; ``paths`` (summing to 1) replace the population's paths for it."""

    paths: tuple[Weight, ...] = ()

    @field_validator("paths")
    @classmethod
    def _paths(cls, value: tuple[Weight, ...]) -> tuple[Weight, ...]:
        return _sums_to_one(value) if value else value


class Figure(Frozen):
    """A published share the estimate is shown beside: ``share`` of the checkouts (or of the
    failures) matching ``where`` that failed with ``family`` (category or category/detail) at ``step``."""

    label: str = Field(min_length=1)
    share: float = Field(ge=0, le=1)
    of: Literal["checkouts", "failures"]
    family: str = Field("", pattern=r"^([a-z_]+(/[a-z_]+)?)?$")
    step: str = ""
    at_least: bool = False  # the study says "over" (超60%)
    where: dict[Literal["device", "network", "region", "account", "probe"], tuple[Name, ...]] = Field(
        default_factory=dict
    )
    source: str = Field(min_length=3)


class Population(Frozen):
    journeys: int = Field(50, ge=1, le=100_000)  # drawn when --journeys is not given
    devices: tuple[Weight, ...]
    networks: tuple[Weight, ...]
    regions: tuple[Weight, ...]
    accounts: tuple[Account, ...]
    paths: tuple[Weight, ...]  # probes: the entry paths shoppers take
    faults: Faults = ()  # the shop's field configuration (each with its source)
    figures: tuple[Figure, ...] = ()

    _sums = field_validator("devices", "networks", "regions", "accounts", "paths")(_sums_to_one)

    @model_validator(mode="after")
    def _sourced_faults(self) -> Population:
        if missing := [f.name for f in self.faults if not f.source.strip()]:
            raise ValueError(f"every field fault needs its source (the study's figure or an assumption): {missing}")
        return self
