"""The AWS backend: every repository and client the workflow and the services use, over one
boto3 session. The only place that knows every adapter."""

from __future__ import annotations

from typing import Any

from script_to_film.adapters.aws import AwsClients, AwsSettings
from script_to_film.adapters.objects import ObjectStore
from script_to_film.adapters.orchestrator import Orchestrator
from script_to_film.adapters.repositories.batches import BatchRepository
from script_to_film.adapters.repositories.claims import ClaimRepository
from script_to_film.adapters.repositories.scripts import ScriptRepository
from script_to_film.adapters.repositories.videos import VideoRepository


class AwsBackend:
    """The project's table, bucket and state machines, as `domain.ports.Backend`; `aws` holds the
    raw clients for entry points and tests that need them."""

    def __init__(self, settings: AwsSettings, *, session: Any = None) -> None:
        self.aws = AwsClients(settings, session=session)
        self.objects = ObjectStore(self.aws)
        self.scripts = ScriptRepository(self.aws)
        self.videos = VideoRepository(self.aws, self.objects)
        self.claims = ClaimRepository(self.aws)
        self.batches = BatchRepository(self.aws)
        self.orchestrator = Orchestrator(self.aws)

    @classmethod
    def from_env(cls) -> AwsBackend:
        return cls(AwsSettings.from_env())
