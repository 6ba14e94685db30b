"""Which profiles a probe runs under: the chosen matrix, an ad-hoc profile, or its own default."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from probes.result import Expectation

if TYPE_CHECKING:
    from probes.session import ProbeSession
    from profiles.models import MatrixItem


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
    from profiles.models import MatrixItem

    settings = session.settings
    expectation = marker_expectation(definition)
    catalogue = session.catalogue
    if settings.matrix:
        expanded = session.__dict__.setdefault("_expanded", {})
        if settings.matrix not in expanded:
            expanded[settings.matrix] = catalogue.expand(settings.matrix)
        items = [i for i in expanded[settings.matrix] if i.probe == probe]
        # A matrix row that states an expectation wins; otherwise the probe's own marker.
        return [i if i.stated else i.model_copy(update={"expectation": expectation}) for i in items]
    # A probe's own @pytest.mark.profile pins what the probe is about (the teen account, the
    # Urumqi address); ad-hoc --device/--network/... set everything else.
    chosen = {**settings.profile, **marker_profile(definition)}
    return [MatrixItem(probe=probe, profile=catalogue.profile(**chosen), expectation=expectation)]
