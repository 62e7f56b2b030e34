"""The AWS backend: every repository and client the workflow and the services use, over one
boto3 session. The only place that knows every adapter."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from script_to_film.adapters.aws import AwsClients, AwsSettings
from script_to_film.adapters.objects import ObjectStore
from script_to_film.adapters.orchestrator import Orchestrator
from script_to_film.adapters.providers import registry
from script_to_film.adapters.repositories.batches import BatchRepository
from script_to_film.adapters.repositories.claims import ClaimRepository
from script_to_film.adapters.repositories.scripts import ScriptRepository
from script_to_film.adapters.repositories.videos import VideoRepository

if TYPE_CHECKING:
    from script_to_film.domain.ports import Media, Providers, Screenwriter


class AwsBackend:
    """The project's table, bucket and state machines, providers, ffmpeg and Claude, as
    `domain.ports.Backend`; `aws` holds the raw clients for entry points and tests that need them."""

    def __init__(self, settings: AwsSettings, *, session: Any = None) -> None:
        self.aws = AwsClients(settings, session=session)
        self.objects = ObjectStore(self.aws)
        self.scripts = ScriptRepository(self.aws)
        self.videos = VideoRepository(self.aws, self.objects)
        self.claims = ClaimRepository(self.aws)
        self.batches = BatchRepository(self.aws)
        self.orchestrator = Orchestrator(self.aws)
        self.providers: Providers = registry

    # Loaded on first use: a polling Lambda never loads the ffmpeg helpers or the Anthropic SDK.

    @cached_property
    def media(self) -> Media:
        from script_to_film.adapters import media

        return media

    @cached_property
    def screenwriter(self) -> Screenwriter:
        from script_to_film.adapters import claude

        return claude

    @classmethod
    def from_env(cls) -> AwsBackend:
        return cls(AwsSettings.from_env())
