"""Draw a population sweep: N journeys, each with its device, network, region, account and
entry path drawn from a population's weights, and the shop's field faults seeded per journey.

The draw is a pure function of (matrix, N, seed): every xdist worker draws the same journeys,
and a run can be repeated exactly by its seed.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Sequence

from orderprobe.base.expectation import Expectation
from orderprobe.base.source import Problem, ProfileError
from orderprobe.profiles.models import MatrixItem
from orderprobe.profiles.population import Weight

FIELD = Expectation(reason="population sweep: what fails is estimated, not expected")


def default_seed(run_id: str) -> int:
    """A fresh sample per run, the same on every worker of the run (they share its id)."""
    return zlib.crc32(run_id.encode())


def _pick(rng: random.Random, weights: Sequence[Weight]) -> str:
    return rng.choices([w.name for w in weights], [w.weight for w in weights])[0]


def draw(catalogue: object, matrix: str, journeys: int | None = None, seed: int = 0) -> list[MatrixItem]:
    from orderprobe.profiles.catalogue import Catalogue

    assert isinstance(catalogue, Catalogue)
    m = catalogue.matrices.get(matrix)
    if m is None or m.population is None:
        catalogue.expand(matrix)  # an unknown name: its error, with the known names
        message = f"matrix {matrix!r} has no population to draw from (--journeys needs one, e.g. --matrix field)"
        raise ProfileError([Problem(None, None, "journeys", message)])
    pop = m.population
    master = random.Random(f"{matrix}:{seed}")
    items = []
    for number in range(1, (journeys or pop.journeys) + 1):
        own = master.randrange(2**31)
        rng = random.Random(own)
        device, network, region = _pick(rng, pop.devices), _pick(rng, pop.networks), _pick(rng, pop.regions)
        account = pop.accounts[[a.name for a in pop.accounts].index(_pick(rng, pop.accounts))]
        profile = catalogue.profile(device, network, region, account.name)
        probe = _pick(rng, account.paths or pop.paths)
        faults = tuple(f.seeded(own + i) for i, f in enumerate((*pop.faults, *m.faults)))
        items.append(MatrixItem(probe=probe, profile=profile, expectation=FIELD, matrix=matrix, stated=True,
                                faults=faults, draw=number, seed=own, population=pop, sweep_seed=seed))  # fmt: skip
    return items
