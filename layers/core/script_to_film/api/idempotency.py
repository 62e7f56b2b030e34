"""`POST /videos` under an `Idempotency-Key`: Powertools Idempotency on DynamoDB.

A repeat of a request returns the same video, as it is now, and no second one is made; the same
key with another body is refused; a request still being answered makes its repeat wait (409).
Under a key the video's id comes from the key too, so a retry whose first try failed (and whose
idempotency record is therefore gone) gets the video that try made, never a second one.

`VideoStarts` is built once per resolver, and so per API instance: `stf serve` runs several in
one process, and Powertools' configuration (which holds the Lambda context of the request) and
persistence layer must not be shared between requests served at once. Both are made at the first
request that needs them, not at import.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

from script_to_film.domain.ports import Backend
from script_to_film.runtime import logger, metrics
from script_to_film.services import videos
from script_to_film.services.api_models import VideoCreate

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_SECONDS = 24 * 3600
"""How long a key is remembered: a client retrying after a day is making a new request."""


class VideoStarts:
    """Starting videos for one resolver's requests, idempotently when they carry a key."""

    def __init__(self, app: APIGatewayRestResolver, backend: Callable[[], Backend]) -> None:
        self.app = app
        self.backend = backend
        self._config: IdempotencyConfig | None = None
        self._persistence: dict[str, DynamoDBPersistenceLayer] = {}

    def start(self, request: VideoCreate, idempotency_key: str | None) -> tuple[dict[str, Any], bool]:
        """The started video's JSON, and whether it is a replay of an earlier request's video."""
        if idempotency_key is None:
            return self._start(submission={"request": request.model_dump(mode="json")}), False
        submission = {
            "caller": self._caller(),
            "key": idempotency_key,
            "request": request.model_dump(mode="json"),
        }
        started = self._idempotent(self._start)(submission=submission)
        return started, bool(self.app.context.get("idempotent_replay"))

    def _start(self, submission: dict[str, Any]) -> dict[str, Any]:
        """Start the video; its JSON is what an idempotency record keeps and replays."""
        request = VideoCreate.model_validate(submission["request"])
        video_id = None
        if "key" in submission:
            video_id = videos.idempotent_video_id(submission["caller"], submission["key"])
        existing = videos.made_by(self.backend(), request, video_id) if video_id else None
        if existing is not None:
            self.app.context["idempotent_replay"] = True
            return videos.detail(self.backend(), existing).model_dump(mode="json")
        video = videos.start(self.backend(), request, video_id=video_id)
        metrics.add_metric(name="VideosStarted", unit=MetricUnit.Count, value=1)
        # Flushed here rather than by `log_metrics` on the handler: most requests start no video, and
        # the decorator warns about every invocation that published nothing.
        metrics.flush_metrics()
        logger.info("video started", video_id=video.id, provider=video.provider, scenes=video.scene_count)
        return videos.detail(self.backend(), video).model_dump(mode="json")

    def _caller(self) -> str:
        """Who is asking, so that one caller's key never replays another caller's video."""
        identity = self.app.current_event.request_context.identity
        return identity.user_arn or identity.caller or identity.cognito_identity_id or "anonymous"

    def _replayed(self, response: Any, idempotent_data: DataRecord) -> Any:
        """A repeat gets the same video as it is now, not as it was when first started: a client that
        retries after a while sees the progress made since (and URLs that have not expired)."""
        self.app.context["idempotent_replay"] = True
        return videos.detail(self.backend(), self.backend().videos.get(response["id"])).model_dump(
            mode="json"
        )

    def _idempotent(self, function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        if self._config is None:
            self._config = IdempotencyConfig(
                event_key_jmespath="[caller, key]",
                payload_validation_jmespath="request",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_SECONDS,
                response_hook=self._replayed,
            )
        self._config.register_lambda_context(self.app.lambda_context)
        wrapped: Callable[..., dict[str, Any]] = idempotent_function(
            function,
            data_keyword_argument="submission",
            persistence_store=self._persistence_store(os.environ.get("STF_IDEMPOTENCY_TABLE", "")),
            config=self._config,
        )
        return wrapped

    def _persistence_store(self, table_name: str) -> DynamoDBPersistenceLayer:
        if not table_name:
            raise RuntimeError("STF_IDEMPOTENCY_TABLE is not set")
        if table_name not in self._persistence:
            self._persistence[table_name] = DynamoDBPersistenceLayer(table_name=table_name)
        return self._persistence[table_name]
