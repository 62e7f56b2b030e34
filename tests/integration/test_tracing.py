"""No screenplay, presigned URL or error quoting them goes into X-Ray: the handlers whose answers
hold them never put their answer or exception into a trace, whatever the environment says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from functions import api, script_writer
from infra.local.lambda_dispatch import LocalLambdaContext
from infra.local.server import api_gateway_event, lambda_context
from infra.local.stack import LocalStack
from script_to_film import runtime
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.models import ScriptRecord, VideoRecord, VideoStatus, now_iso
from tests.fakes.tracing import RecordingTracerProvider

SCREENPLAY = "Title: Secret Draft\n\nINT. VAULT - NIGHT\n\nThe combination is 31-12-77.\n"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.fixture
def traced(monkeypatch: pytest.MonkeyPatch) -> RecordingTracerProvider:
    recorder = RecordingTracerProvider()
    monkeypatch.setattr(runtime.tracer, "provider", recorder)
    return recorder


def call_api(method: str, path: str, body: Any = None) -> dict[str, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = (("Content-Type", "application/json"),) if data else ()
    event = api_gateway_event(method, f"/api/v1{path}", headers=headers, body=data)
    return api.handler(event, lambda_context(event["requestContext"]["requestId"]))


def writer_context() -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="ScriptWriter",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ScriptWriter",
        memory_limit_in_mb=512,
        aws_request_id="request-1",
        log_group_name="/aws/lambda/ScriptWriter",
        log_stream_name="local",
        timeout_seconds=60,
    )


def test_the_api_never_traces_a_screenplay_or_a_presigned_url(
    stack: LocalStack, traced: RecordingTracerProvider
) -> None:
    created = call_api("POST", "/scripts", {"content": SCREENPLAY})
    script_id = json.loads(created["body"])["id"]
    text = call_api("GET", f"/scripts/{script_id}/content")
    video = VideoRecord(
        id="video-traced0000000001",
        script_id=script_id,
        status=VideoStatus.SUCCEEDED,
        provider="animatic",
        model="animatic",
        style="realistic",
        ratio="1280:720",
        scene_count=0,
        estimated_credits=0,
        estimated_usd=0,
        film_key="videos/video-traced0000000001/film.mp4",
        created_at=now_iso(),
    )
    stack.backend.videos.create(video, [])
    signed = call_api("GET", f"/videos/{video.id}")

    assert created["statusCode"] == 201 and text["body"] == SCREENPLAY
    assert "X-Amz-Signature" in json.loads(signed["body"])["film_url"]
    assert [segment.name for segment in traced.subsegments] == ["## handler"] * 3, "the handler is traced"
    assert traced.metadata == {}
    recorded = repr([(s.metadata, s.annotations) for s in traced.subsegments])
    assert "31-12-77" not in recorded and "X-Amz-Signature" not in recorded


def test_the_writer_never_traces_its_answer_or_its_errors(
    stack: LocalStack, traced: RecordingTracerProvider
) -> None:
    ready = ScriptRecord(
        id="script-tracedready0001", title="Secret Draft", scene_count=1, created_at=now_iso()
    )
    stack.backend.scripts.put(ready, SCREENPLAY)
    event = {"script_id": ready.id, "prompt": "a vault", "genre": None, "duration_seconds": 30, "tone": None}

    answer = script_writer.handler(event, writer_context())
    with pytest.raises(NotFoundError):
        script_writer.handler({**event, "script_id": "script-nosuchscript01"}, writer_context())

    assert answer["title"] == "Secret Draft"
    assert len(traced.subsegments) == 2
    assert traced.metadata == {}
