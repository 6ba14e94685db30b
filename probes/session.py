"""Per-process state of a probe run: settings from the command line, the run id, and
lazily built collaborators (catalogue, classifier, store, event log)."""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from probes.events import EventLog
from probes.target import parse_dependencies

if TYPE_CHECKING:
    import pytest

    from probes.classify import Classifier
    from profiles.catalogue import Catalogue
    from reports.store import Store


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


@dataclass(frozen=True)
class Settings:
    target: str | None
    matrix: str | None
    profile: dict[str, str]  # ad-hoc choice: device / network / region / account
    profile_dirs: tuple[Path, ...]
    results: str | None
    artefacts: Path
    trace: str  # on | off | retain-on-failure
    retries: int
    action_timeout_ms: float
    dependencies: dict[str, str]
    rule_files: tuple[Path, ...]
    headed: bool
    labels: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: pytest.Config) -> Settings:
        opt = config.getoption
        profile = {k: opt(k) for k in ("device", "network", "region", "account") if opt(k)}
        if opt("profile_spec"):
            names = opt("profile_spec").split("/")
            if len(names) != 4:
                raise ValueError(
                    "--profile expects DEVICE/NETWORK/REGION/ACCOUNT, e.g. android-mid/wifi/shanghai/normal"
                )
            profile = {**dict(zip(("device", "network", "region", "account"), names, strict=True)), **profile}
        labels = dict(label.split("=", 1) for label in opt("label") if "=" in label)
        return cls(
            target=opt("target"),
            matrix=opt("matrix"),
            profile=profile,
            profile_dirs=tuple(Path(p) for p in opt("profiles")),
            results=opt("results"),
            artefacts=Path(opt("artefacts")),
            trace=opt("tracing"),
            retries=opt("retries"),
            action_timeout_ms=opt("action_timeout"),
            dependencies=parse_dependencies(opt("dependency")),
            rule_files=tuple(Path(p) for p in opt("rules")),
            headed=opt("headed"),
            labels=labels,
        )


class ProbeSession:
    def __init__(self, settings: Settings, run_id: str, worker: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self.worker = worker
        self.started_at = datetime.now(UTC)
        self.store_errors = 0

    @property
    def run_dir(self) -> Path:
        return self.settings.artefacts / self.run_id

    @cached_property
    def catalogue(self) -> Catalogue:
        from profiles.catalogue import load_catalogue

        return load_catalogue(self.settings.profile_dirs)

    @cached_property
    def classifier(self) -> Classifier:
        from probes.classify import Classifier

        return Classifier.load(self.settings.rule_files)

    @cached_property
    def events(self) -> EventLog:
        return EventLog(self.run_dir / "events.jsonl", worker=self.worker)

    @cached_property
    def store(self) -> Store:
        from reports.store import Store, default_url

        store = Store(self.settings.results or default_url())
        store.start_run(
            self.run_id,
            started_at=self.started_at,
            target=self.settings.target or "embedded demo shop",
            matrix=self.settings.matrix,
            labels=self.settings.labels,
            command=" ".join(sys.argv),
        )
        return store

    def finish(self, exit_code: int) -> None:
        if "store" in self.__dict__:
            self.store.finish_run(self.run_id, finished_at=datetime.now(UTC), exit_code=exit_code)
            self.store.close()
        if "events" in self.__dict__:
            self.events.close()


def worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else os.environ.get("PYTEST_XDIST_WORKER", "main")
