"""A demo-shop fault as profile data: which fault of the embedded shop a journey runs with.

The names and parameters are the shop's own (``orderprobe.shop.faults``): checked here on load, so a
typo in a matrix is refused with its file and line before any browser starts.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from orderprobe.base.source import Frozen


class ShopFault(Frozen):
    """Switched on for a journey after the shop is reset for it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    params: dict[str, Any] = Field(default_factory=dict)
    source: str = ""  # where a rate comes from: the field study's figure, or a stated assumption

    @property
    def label(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items() if k != "seed")
        return f"{self.name}({params})" if params else self.name

    def problem(self) -> str | None:
        """Why the shop would refuse this fault (unknown name, bad params), or None."""
        from orderprobe.shop.faults import FaultError, validate

        try:
            validate(self.name, self.params)
        except FaultError as exc:
            return str(exc)
        return None

    def seeded(self, seed: int) -> ShopFault:
        """The same fault drawing from ``seed`` (faults with a rate take a seed: one draw sequence per journey)."""
        from orderprobe.shop.faults import FAULTS

        if "seed" not in FAULTS[self.name].params.model_fields:
            return self
        return self.model_copy(update={"params": {**self.params, "seed": seed}})

    def missed(self, tally: dict[str, tuple[int, int]]) -> str | None:
        """Why this fault, if it strikes at a rate, did not happen in a journey — from the shop's
        tally of its (draws, strikes) — or None (it struck, or it has no rate)."""
        if self.name not in rated():
            return None
        draws, strikes = tally.get(self.name, (0, 0))
        if not draws:
            return f"shop fault {self.label} never came into play: the journey did not reach what it breaks"
        if not strikes:
            return f"shop fault {self.label} was drawn {draws}× and never struck"
        return None


def _one_or_many(value: object) -> object:
    return (value,) if isinstance(value, dict | str) else value


def _named(value: object) -> object:
    return {"name": value} if isinstance(value, str) else value


Faults = Annotated[tuple[Annotated[ShopFault, BeforeValidator(_named)], ...], BeforeValidator(_one_or_many)]


def parse_option(text: str) -> ShopFault:
    """``--fault NAME[@RATE]``: a shop fault, with its rate if it has one (e.g. payment_region_fail@0.47)."""
    from orderprobe.shop.faults import FAULTS

    name, _, rate = text.partition("@")
    fault = ShopFault(name=name.strip()) if name.strip() in FAULTS else None
    if fault is None:
        raise ValueError(f"--fault {text!r}: unknown shop fault {name!r}; known: {', '.join(FAULTS)}")
    if rate:
        if "rate" not in FAULTS[fault.name].params.model_fields:
            raise ValueError(f"--fault {text!r}: {fault.name} has no rate (faults with one: {', '.join(rated())})")
        try:
            fault = fault.model_copy(update={"params": {"rate": float(rate)}})
        except ValueError:
            raise ValueError(f"--fault {text!r}: rate must be a number in [0, 1]") from None
    if problem := fault.problem():
        raise ValueError(f"--fault {text!r}: {problem}")
    return fault


def rated() -> list[str]:
    from orderprobe.shop.faults import FAULTS

    return [name for name, spec in FAULTS.items() if "rate" in spec.params.model_fields]
