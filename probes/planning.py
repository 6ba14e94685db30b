"""Which profiles a probe runs under: the chosen matrix, an ad-hoc profile, or its own default."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING

import pytest

from orderprobe.base.result import Expectation

if TYPE_CHECKING:
    from orderprobe.probes.session import ProbeSession
    from orderprobe.profiles.models import MatrixItem


def marker_expectation(definition: pytest.Function) -> Expectation:
    marker = definition.get_closest_marker("expect")
    if marker is None:
        return Expectation()
    outcome = marker.args[0] if marker.args else marker.kwargs.get("outcome", "blocked")
    return Expectation(
        outcome=outcome, causes=tuple(marker.kwargs.get("causes", ())), reason=marker.kwargs.get("reason", "")
    )


def marker_profile(definition: pytest.Function) -> dict[str, str]:
    marker = definition.get_closest_marker("profile")
    return dict(marker.kwargs) if marker else {}


def plan_items(session: ProbeSession, probe: str, definition: pytest.Function) -> list[MatrixItem]:
    from orderprobe.profiles.models import MatrixItem

    settings = session.settings
    expectation = marker_expectation(definition)
    catalogue = session.catalogue
    if settings.matrix:
        expanded = session.__dict__.setdefault("_expanded", {})
        if settings.matrix not in expanded:
            expanded[settings.matrix] = _with_faults(session, matrix_items(session))
        items = [i for i in expanded[settings.matrix] if i.probe == probe]
        # A matrix row that states an expectation wins; otherwise the probe's own marker.
        return [i if i.stated else i.model_copy(update={"expectation": expectation}) for i in items]
    if settings.journeys:
        raise ValueError("--journeys draws from a population matrix: give one, e.g. --matrix field")
    # A probe's own @pytest.mark.profile pins what the probe is about (the teen account, the
    # Urumqi address); ad-hoc --device/--network/... set everything else.
    chosen = {**settings.profile, **marker_profile(definition)}
    item = MatrixItem(probe=probe, profile=catalogue.profile(**chosen), expectation=expectation)
    return _with_faults(session, [item])


def matrix_items(session: ProbeSession) -> list[MatrixItem]:
    """The chosen matrix's items: its rows, or N journeys drawn from its population."""
    from orderprobe.profiles.sweep import default_seed, draw

    settings, catalogue = session.settings, session.catalogue
    assert settings.matrix
    matrix = catalogue.matrices.get(settings.matrix)
    if settings.journeys or (matrix is not None and matrix.population is not None):
        seed = settings.seed if settings.seed is not None else default_seed(session.run_id)
        return draw(catalogue, settings.matrix, settings.journeys, seed)
    return catalogue.expand(settings.matrix)


def _seed(session: ProbeSession, item: MatrixItem) -> int:
    """The same on every worker of the run (they share its id), different for each journey."""
    return zlib.crc32(f"{session.run_id}/{item.probe}/{item.id}".encode())


def _with_faults(session: ProbeSession, items: list[MatrixItem]) -> list[MatrixItem]:
    """``--fault`` on every item; shop faults only where the embedded demo shop runs."""
    settings = session.settings
    if settings.faults:  # a rated fault draws from the journey's own seed, so the rate is over journeys
        items = [
            i.model_copy(update={"faults": (*i.faults, *(f.seeded(_seed(session, i)) for f in settings.faults))})
            for i in items
        ]
    if settings.target and any(i.faults for i in items):
        faulted = sorted({f.name for i in items for f in i.faults})
        raise ValueError(
            f"demo-shop faults ({', '.join(faulted)}) switch the embedded shop; "
            f"they cannot be switched on --target {settings.target}"
        )
    return items
