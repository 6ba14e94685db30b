"""The catalogue: every device, network, region, account and matrix, loaded and checked at once.

Folders are read in order — the built-in one (this package), then each folder in
``ORDERPROBE_PROFILES`` (``os.pathsep``-separated), then ``extra_dirs`` (``--profiles``) —
and a later folder's entry replaces an earlier one of the same kind and name. In each
folder only these files are read (other YAML, such as a user's rules file,
is not ours)::

    devices.yaml  networks.yaml  regions.yaml  accounts.yaml  matrices.yaml  matrices/*.yaml

each a mapping ``{kind: [ {name: ..., ...}, ... ]}``. Any problem — bad YAML, unknown field,
wrong type, a duplicate name in one folder, a matrix naming something that does not
exist — is collected and raised as one ``ProfileError`` naming file, line and field.
"""

from __future__ import annotations

import difflib
import functools
import itertools
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from orderprobe.base.source import Document, Loc, Problem, ProfileError, stamp
from orderprobe.profiles.models import (
    Account,
    Device,
    Expectation,
    Matrix,
    MatrixItem,
    Network,
    Profile,
    Region,
    Row,
    Switch,
    SwitchSpec,
)

__all__ = ["BUILTIN", "DEFAULTS", "ENV_VAR", "Catalogue", "ProfileError", "load_catalogue"]

BUILTIN = Path(__file__).resolve().parent
ENV_VAR = "ORDERPROBE_PROFILES"
KINDS: dict[str, type[BaseModel]] = {
    "devices": Device, "networks": Network, "regions": Region, "accounts": Account, "matrices": Matrix,
}  # fmt: skip
SINGULAR = {kind: kind.removesuffix("s") for kind in KINDS} | {"matrices": "matrix"}
# What a journey runs under when nothing is chosen: a mid-range Android on Wi-Fi in Shanghai, a plain shopper.
DEFAULTS = {"device": "android-mid", "network": "wifi", "region": "shanghai", "account": "normal"}


@dataclass(frozen=True)
class Origin:
    doc: Document
    loc: Loc


def _kind_files(folder: Path) -> list[tuple[str, Path]]:
    files = [(kind, folder / f"{kind}{ext}") for kind in KINDS for ext in (".yaml", ".yml")]
    found = [(kind, path) for kind, path in files if path.is_file()]
    sub = folder / "matrices"
    if sub.is_dir():
        found += [("matrices", p) for p in sorted([*sub.glob("*.yaml"), *sub.glob("*.yml")])]
    return found


@functools.cache
def playwright_devices() -> dict[str, dict[str, Any]]:
    """Playwright's device descriptors, shipped as data (``descriptors.json``, taken from the
    Playwright version it names; ``tests/test_profiles_catalogue.py`` checks it still agrees with
    the installed driver). Reading a catalogue starts no browser and no driver."""
    with resources.files("orderprobe.profiles").joinpath("descriptors.json").open(encoding="utf-8") as handle:
        return json.load(handle)["devices"]


def _from_descriptor(doc: Document, item: dict[str, Any], loc: Loc) -> dict[str, Any]:
    name = item["descriptor"]
    known = playwright_devices()
    if name not in known:
        near = difflib.get_close_matches(str(name), list(known), n=3)
        message = f"no Playwright device {name!r}; near: {', '.join(near)}"
        doc.problems.append(doc.problem((*loc, "descriptor"), message))
        return item
    d = known[name]
    base = {key: d[key] for key in ("user_agent", "viewport", "screen", "device_scale_factor", "is_mobile", "has_touch")
            if key in d}  # fmt: skip
    return {**base, **item}


class Catalogue:
    def __init__(self, folders: Sequence[Path]) -> None:
        self.folders = list(folders)
        self.devices: dict[str, Device] = {}
        self.networks: dict[str, Network] = {}
        self.regions: dict[str, Region] = {}
        self.accounts: dict[str, Account] = {}
        self.matrices: dict[str, Matrix] = {}
        self.defaults = dict(DEFAULTS)
        self._origins: dict[tuple[str, str], Origin] = {}
        self._expanded: dict[str, list[MatrixItem]] = {}
        problems: list[Problem] = []
        for folder in self.folders:
            problems += self._load_folder(folder)
        if not problems:
            for name in self.matrices:
                problems += self._expand_checked(name)
        if problems:
            raise ProfileError(problems)

    # -- loading -----------------------------------------------------------------------------

    def _load_folder(self, folder: Path) -> list[Problem]:
        if not folder.is_dir():
            return [Problem(str(folder), None, "", "profile folder does not exist")]
        files = _kind_files(folder)
        if not files:
            return [Problem(str(folder), None, "", "no profile files here (expected devices.yaml, networks.yaml, "
                            "regions.yaml, accounts.yaml or matrices/*.yaml)")]  # fmt: skip
        seen: dict[tuple[str, str], str] = {}  # (kind, name) → "file:line", duplicates within one folder
        problems: list[Problem] = []
        for kind, path in files:
            doc = Document(path)
            for loc, model in self._items(doc, kind):
                key = (kind, model.name)  # type: ignore[attr-defined]
                where = f"{doc.name}:{doc.line((*loc, 'name'))}"
                if key in seen:
                    doc.problems.append(doc.problem((*loc, "name"), f"duplicate {SINGULAR[kind]} name {key[1]!r} "
                                                    f"(first defined at {seen[key]})"))  # fmt: skip
                    continue
                seen[key] = where
                getattr(self, kind)[key[1]] = model
                self._origins[key] = Origin(doc, loc)
            problems += sorted(doc.problems, key=lambda p: p.line or 0)
        return problems

    def _items(self, doc: Document, kind: str) -> list[tuple[Loc, BaseModel]]:
        data = doc.data
        if doc.problems and data is None:
            return []
        if not isinstance(data, dict) or kind not in data:
            doc.problems.append(doc.problem((), f"expected a mapping with the key {kind!r} holding a list"))
            return []
        for other in data.keys() - {kind}:
            doc.problems.append(doc.problem((other,), f"unknown top-level key; this file holds only {kind!r}"))
        entries = data[kind]
        if not isinstance(entries, list):
            doc.problems.append(doc.problem((kind,), f"expected a list of {kind}"))
            return []
        out: list[tuple[Loc, BaseModel]] = []
        for index, item in enumerate(entries):
            loc: Loc = (kind, index)
            if not isinstance(item, dict):
                doc.problems.append(doc.problem(loc, f"expected a mapping (one {SINGULAR[kind]})"))
                continue
            if kind == "devices" and item.get("descriptor"):
                item = _from_descriptor(doc, item, loc)
            model = doc.validate(KINDS[kind], item, loc)
            if model is not None:
                out.append((loc, model))
        return out

    # -- profiles ----------------------------------------------------------------------------

    def _pick(self, kind: str, name: str | None) -> Any:
        singular = SINGULAR[kind]
        name = name or self.defaults[singular]
        table: dict[str, Any] = getattr(self, kind)
        if name not in table:
            near = difflib.get_close_matches(name, list(table), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            message = f"unknown {singular} {name!r}; {hint}known: {', '.join(table)}"
            raise ProfileError([Problem(None, None, singular, message)])
        return table[name]

    def profile(self, device: str | None = None, network: str | None = None, region: str | None = None,
                account: str | None = None, switches: Sequence[Switch] = ()) -> Profile:  # fmt: skip
        """A profile by names; None takes the default (android-mid / wifi / shanghai / normal)."""
        return Profile(
            device=self._pick("devices", device),
            network=self._pick("networks", network),
            region=self._pick("regions", region),
            account=self._pick("accounts", account),
            switches=tuple(switches),
        )

    def switch(self, spec: SwitchSpec) -> Switch:
        network = self._pick("networks", spec.network) if spec.network else None
        return Switch(at=spec.at, when=spec.when, offline_s=spec.offline_s, network=network)

    # -- matrices ----------------------------------------------------------------------------

    def expand(self, matrix: str) -> list[MatrixItem]:
        if matrix not in self.matrices:
            near = difflib.get_close_matches(matrix, list(self.matrices), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            message = f"unknown matrix {matrix!r}; {hint}known: {', '.join(self.matrices)}"
            raise ProfileError([Problem(None, None, "matrix", message)])
        return list(self._expanded[matrix])

    def _rows(self, m: Matrix) -> list[tuple[Loc, Row]]:
        if m.rows:
            return [(("rows", i), row) for i, row in enumerate(m.rows)]
        lists = [m.probes, m.devices or (None,), m.networks or (None,), m.regions or (None,), m.accounts or (None,)]
        return [((), Row(probe=p, device=d, network=n, region=r, account=a))
                for p, d, n, r, a in itertools.product(*lists)]  # fmt: skip

    def _expand_checked(self, name: str) -> list[Problem]:
        """Expand one matrix, reporting every missing reference with its own line."""
        m, origin = self.matrices[name], self._origins[("matrices", name)]
        doc, base = origin.doc, origin.loc
        problems: list[Problem] = []

        def ref(kind: str, value: str | None, loc: Loc) -> None:
            if value is not None and value not in getattr(self, kind):
                problems.append(doc.problem((*base, *loc), f"no {SINGULAR[kind]} named {value!r} "
                                            f"(known: {', '.join(getattr(self, kind))})"))  # fmt: skip

        for kind in ("devices", "networks", "regions", "accounts"):
            for i, value in enumerate(getattr(m, kind)):
                ref(kind, value, (kind, i))
        for i, spec in enumerate(m.switches):
            ref("networks", spec.network, ("switches", i, "network"))
        for i, row in enumerate(m.rows):
            for kind in ("devices", "networks", "regions", "accounts"):
                ref(kind, getattr(row, SINGULAR[kind]), ("rows", i, SINGULAR[kind]))
            for j, spec in enumerate(row.switches):
                ref("networks", spec.network, ("rows", i, "switches", j, "network"))
        faults = [(("faults", i), f) for i, f in enumerate(m.faults)]
        faults += [(("rows", i, "faults", j), f) for i, row in enumerate(m.rows) for j, f in enumerate(row.faults)]
        if m.population is not None:
            pop = m.population
            faults += [(("population", "faults", i), f) for i, f in enumerate(pop.faults)]
            for kind in ("devices", "networks", "regions", "accounts"):
                for i, w in enumerate(getattr(pop, kind)):
                    ref(kind, w.name, ("population", kind, i, "name"))
        for loc, fault in faults:
            if problem := fault.problem():
                problems.append(doc.problem((*base, *loc, "name"), problem))
        if problems or m.population is not None:  # a population is drawn per run (orderprobe.profiles.sweep)
            self._expanded[name] = []
            return problems

        items: list[MatrixItem] = []
        seen: dict[tuple[str, str], Loc] = {}
        for loc, row in self._rows(m):
            switches = [self.switch(s) for s in (*m.switches, *row.switches)]
            profile = self.profile(row.device, row.network, row.region, row.account, switches)
            names = {k: getattr(profile, k).name for k in ("device", "network", "region", "account")}
            stated = row.expect or next((r.expect for r in m.rules if r.matches(row.probe, names)), None)
            expect = stated or Expectation()
            item = MatrixItem(probe=row.probe, profile=profile, expectation=expect, matrix=name, stated=bool(stated),
                              faults=(*m.faults, *row.faults))  # fmt: skip
            key = (item.probe, item.id)
            if key in seen:
                problems.append(doc.problem((*base, *loc), f"duplicate combination {row.probe} × {item.id} "
                                            "(same probe under the same profile twice)"))  # fmt: skip
            seen[key] = loc
            items.append(item)
        self._expanded[name] = items
        return problems

    def origin(self, kind: str, name: str) -> str:
        """``file:line`` where an entry was defined (for `profiles show`)."""
        o = self._origins[(kind, name)]
        return f"{o.doc.name}:{o.doc.line((*o.loc, 'name'))}"


def profile_dirs(extra_dirs: Sequence[Path | str] = ()) -> list[Path]:
    env = [Path(p) for p in os.environ.get(ENV_VAR, "").split(os.pathsep) if p.strip()]
    return [BUILTIN, *env, *(Path(p) for p in extra_dirs)]


def load_catalogue(extra_dirs: Sequence[Path | str] = ()) -> Catalogue:
    """Built-ins, then ``$ORDERPROBE_PROFILES`` folders, then ``extra_dirs``; later wins by name.
    Read once per process while its files stay as they are: a run's checks, its session and its
    progress reporter each ask for it (a catalogue is never changed once loaded)."""
    folders = tuple(profile_dirs(extra_dirs))
    files = [path for folder in folders if folder.is_dir() for _, path in _kind_files(folder)]
    return _loaded(folders, stamp([*folders, *files]))


@functools.lru_cache(maxsize=8)
def _loaded(folders: tuple[Path, ...], _stamp: tuple[object, ...]) -> Catalogue:
    return Catalogue(folders)
