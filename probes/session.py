"""Per-process state of a probe run: settings from the command line, the run id, and
lazily built collaborators (catalogue, classifier). Where results go is the reporters'
business (``orderprobe.probes.reporter``); they live only in the controller process."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orderprobe.probes.settings import Settings

if TYPE_CHECKING:
    import pytest

    from orderprobe.probes.classify import Classifier
    from orderprobe.probes.reporter import Reporters
    from orderprobe.profiles.catalogue import Catalogue


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]


class ProbeSession:
    def __init__(self, settings: Settings, run_id: str, worker: str) -> None:
        self.settings = settings
        self.run_id = run_id
        self.worker = worker
        self.started_at = datetime.now(UTC)
        self.reporters: Reporters | None = None  # the controller's; None in xdist workers

    @property
    def run_dir(self) -> Path:
        return self.settings.artefacts / self.run_id

    @cached_property
    def catalogue(self) -> Catalogue:
        from orderprobe.profiles.catalogue import load_catalogue

        return load_catalogue(self.settings.profile_dirs)

    @cached_property
    def tracer_provider(self) -> Any:
        """OpenTelemetry's, exporting to ``--otel-endpoint``; built by the first journey that traces."""
        from orderprobe.probes.otel import provider

        return provider(self.settings.otel_endpoint or "")

    @cached_property
    def classifier(self) -> Classifier:
        from orderprobe.probes.classify import Classifier

        return Classifier.load(self.settings.rule_files)


def worker_id(config: pytest.Config) -> str:
    workerinput = getattr(config, "workerinput", None)
    return workerinput["workerid"] if workerinput else os.environ.get("PYTEST_XDIST_WORKER", "main")
