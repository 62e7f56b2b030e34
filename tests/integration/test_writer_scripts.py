"""`generate_script` and the writer Lambda on the local stack (moto's DynamoDB and S3), with the
real `anthropic` SDK talking to the fake Messages API: WRITING → READY or FAILED, exactly once
however often the asynchronous invoke is delivered."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from functions import script_writer
from infra.local.lambda_dispatch import LocalLambdaContext
from infra.local.stack import LocalStack
from script_to_film.adapters.backend import AwsBackend
from script_to_film.adapters.repositories.scripts import ScriptRepository
from script_to_film.domain import breakdown
from script_to_film.domain.breakdown import StoredBreakdown
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.limits import MAX_SCRIPT_SCENES
from script_to_film.domain.models import ScriptRecord, ScriptStatus, now_iso
from script_to_film.services.scripts import DEFAULT_CLAIM_SECONDS, generate_script
from tests.fakes.anthropic_api import SCREENPLAY, FakeAnthropic, Reply, serving


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with serving(monkeypatch) as running:
        yield running


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One stack for the module (each test writes its own script): starting one takes a second."""
    with LocalStack() as running:
        yield running


def writing(backend: AwsBackend) -> dict[str, Any]:
    """A new script as `POST /scripts/generate` leaves it, and the event it sends the writer."""
    script_id = f"script-{uuid.uuid4().hex[:12]}"
    backend.scripts.put_item(ScriptRecord(id=script_id, status=ScriptStatus.WRITING, created_at=now_iso()))
    return {
        "script_id": script_id,
        "prompt": "An old ferry makes its last crossing",
        "genre": "drama",
        "duration_seconds": 45,
        "tone": None,
    }


def item(backend: AwsBackend, script_id: str) -> dict[str, Any]:
    return dict(backend.aws.table.get_item(Key={"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"})["Item"])


def context(timeout_seconds: float) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="ScriptWriter",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:ScriptWriter",
        memory_limit_in_mb=512,
        aws_request_id="request-1",
        log_group_name="/aws/lambda/ScriptWriter",
        log_stream_name="local",
        timeout_seconds=timeout_seconds,
    )


def test_the_writer_lambda_makes_a_writing_script_ready(
    stack: LocalStack, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = writing(stack.backend)
    fake.enqueue(Reply.fenced())
    claim = ScriptRepository.claim_writing
    claims_left: list[float] = []

    def claim_and_look(scripts: ScriptRepository, script_id: str, lease_seconds: int) -> bool:
        claimed = claim(scripts, script_id, lease_seconds)
        claims_left.append(float(item(stack.backend, script_id)["writer_claim_expires"]) - time.time())
        return claimed

    # The handler has a backend of its own (built from the environment, as on AWS).
    monkeypatch.setattr(ScriptRepository, "claim_writing", claim_and_look)

    answer = script_writer.handler(event, context(timeout_seconds=600))

    assert answer["status"] == "READY"
    assert answer["title"] == "The Last Ferry"
    assert answer["scene_count"] == 6
    assert answer["failure"] is None
    assert stack.backend.scripts.get_text(event["script_id"]) == SCREENPLAY
    assert "writer_claim_expires" not in item(stack.backend, event["script_id"])
    assert stack.backend.scripts.get(event["script_id"]).status is ScriptStatus.READY
    assert len(fake.calls) == 1
    # The claim lasted as long as the invocation could run, so a retry after a timeout finds it expired.
    [left] = claims_left
    assert 595 <= left <= 601


def test_a_written_script_is_stored_with_its_breakdown(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = writing(stack.backend)
    fake.enqueue(Reply.screenplay())

    generate_script(stack.backend, event)

    document = stack.backend.scripts.get_breakdown(event["script_id"])
    assert document is not None
    assert StoredBreakdown.model_validate_json(document) == StoredBreakdown.of(breakdown.plan(SCREENPLAY))


def test_a_written_script_of_more_scenes_than_a_script_may_have_fails(
    stack: LocalStack, fake: FakeAnthropic
) -> None:
    event = writing(stack.backend)
    endless = SCREENPLAY + "".join(
        f"\nINT. CORRIDOR {n} - NIGHT\n\nFootsteps.\n" for n in range(MAX_SCRIPT_SCENES)
    )
    fake.enqueue(Reply.screenplay(endless))

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.FAILED
    assert script.failure is not None and f"at most {MAX_SCRIPT_SCENES:,}" in script.failure
    assert stack.backend.scripts.get_breakdown(event["script_id"]) is None


def test_a_duplicate_delivery_neither_pays_again_nor_rewrites_the_script(
    stack: LocalStack, fake: FakeAnthropic
) -> None:
    event = writing(stack.backend)
    fake.enqueue(Reply.screenplay(), Reply.screenplay(SCREENPLAY.replace("The Last Ferry", "Another")))

    first = generate_script(stack.backend, event)
    again = generate_script(stack.backend, event)

    assert first.status is again.status is ScriptStatus.READY
    assert again.title == "The Last Ferry"
    assert stack.backend.scripts.get_text(event["script_id"]) == SCREENPLAY
    assert len(fake.calls) == 1
    assert fake.pending == 1


def test_a_delivery_while_another_is_writing_leaves_it_alone(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = writing(stack.backend)
    assert stack.backend.scripts.claim_writing(event["script_id"], DEFAULT_CLAIM_SECONDS)
    fake.enqueue(Reply.screenplay())

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.WRITING
    assert fake.calls == []


def test_a_retry_takes_over_from_a_delivery_that_died(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = writing(stack.backend)
    # The claim of a delivery that timed out: its lease has run out.
    assert stack.backend.scripts.claim_writing(event["script_id"], lease_seconds=-60)
    fake.enqueue(Reply.screenplay())

    assert generate_script(stack.backend, event).status is ScriptStatus.READY
    assert len(fake.calls) == 1


def test_a_refusal_fails_the_script_with_its_reason(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = writing(stack.backend)
    fake.enqueue(Reply.refusal())

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.FAILED
    assert script.failure is not None and script.failure.startswith(
        "Claude declined to write this screenplay"
    )
    assert script.scene_count == 0
    with pytest.raises(NotFoundError):
        stack.backend.scripts.get_text(event["script_id"])
    assert "writer_claim_expires" not in item(stack.backend, event["script_id"])
    # Failed is final: a late duplicate does not try again.
    fake.enqueue(Reply.screenplay())
    assert generate_script(stack.backend, event).status is ScriptStatus.FAILED
    assert len(fake.calls) == 1


@pytest.mark.parametrize(
    ("replies", "failure"),
    [
        ([Reply.garbage(), Reply.garbage()], "still unusable after one repair attempt"),
        ([Reply.overloaded()] * 3, "overloaded (HTTP 529) after 3 tries"),
    ],
    ids=["unusable", "overloaded"],
)
def test_the_writers_errors_fail_the_script(
    stack: LocalStack, fake: FakeAnthropic, replies: list[Reply], failure: str
) -> None:
    event = writing(stack.backend)
    fake.enqueue(*replies)

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.FAILED
    assert script.failure is not None and failure in script.failure
    assert fake.pending == 0


def test_a_missing_key_fails_the_script_without_a_call(
    stack: LocalStack, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    event = writing(stack.backend)

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.FAILED
    assert script.failure == "no Anthropic API key: set ANTHROPIC_API_KEY"
    assert fake.requests == []


def test_a_prompt_out_of_bounds_fails_the_script_without_a_call(
    stack: LocalStack, fake: FakeAnthropic
) -> None:
    event = {**writing(stack.backend), "prompt": "hi"}

    script = generate_script(stack.backend, event)

    assert script.status is ScriptStatus.FAILED
    assert script.failure == "prompt: String should have at least 3 characters"
    assert fake.requests == []


def test_an_unexpected_failure_gives_the_claim_back_for_lambdas_retry(
    stack: LocalStack, fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    event = writing(stack.backend)
    fake.enqueue(Reply.screenplay(), Reply.screenplay())
    finish = stack.backend.scripts.finish

    def storage_down(*args: Any, **kwargs: Any) -> bool:
        raise ConnectionError("S3 is unreachable")

    monkeypatch.setattr(stack.backend.scripts, "finish", storage_down)
    with pytest.raises(ConnectionError):
        generate_script(stack.backend, event)
    assert stack.backend.scripts.get(event["script_id"]).status is ScriptStatus.WRITING
    assert "writer_claim_expires" not in item(stack.backend, event["script_id"])

    monkeypatch.setattr(stack.backend.scripts, "finish", finish)
    assert generate_script(stack.backend, event).status is ScriptStatus.READY
    # The retry pays again: the first answer was lost with the crash, which a claim cannot prevent.
    assert len(fake.calls) == 2


def test_the_event_must_be_exactly_the_apis(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = writing(stack.backend)
    for broken in ({**event, "temperature": 0.7}, {k: v for k, v in event.items() if k != "tone"}):
        with pytest.raises(ValidationError):
            generate_script(stack.backend, broken)
    assert stack.backend.scripts.get(event["script_id"]).status is ScriptStatus.WRITING
    assert fake.requests == []


def test_an_unknown_script_is_not_found(stack: LocalStack, fake: FakeAnthropic) -> None:
    event = {**writing(stack.backend), "script_id": "script-nope"}

    with pytest.raises(NotFoundError):
        generate_script(stack.backend, event)
    assert fake.requests == []


def test_post_scripts_generate_is_written_by_claude_on_the_local_stack(
    stack: LocalStack, fake: FakeAnthropic
) -> None:
    """The whole path: the API answers 202, invokes the real writer asynchronously, and the
    script turns READY with what the (fake) Claude wrote."""
    from functions import api
    from infra.local.server import api_gateway_event, lambda_context

    fake.enqueue(Reply.fenced())
    body = {"prompt": "An old ferry makes its last crossing", "duration_preference": 45, "genre": "drama"}
    event = api_gateway_event(
        "POST",
        "/api/v1/scripts/generate",
        headers=(("Content-Type", "application/json"),),
        body=json.dumps(body).encode(),
    )

    response = api.handler(event, lambda_context(event["requestContext"]["requestId"]))

    assert response["statusCode"] == 202
    raw = response["body"]
    script_id = json.loads(base64.b64decode(raw) if response.get("isBase64Encoded") else raw)["id"]
    deadline = time.monotonic() + 30
    while (script := stack.backend.scripts.get(script_id)).status is ScriptStatus.WRITING:
        assert time.monotonic() < deadline, "the writer never finished"
        time.sleep(0.1)
    assert script.status is ScriptStatus.READY, script.failure
    assert (script.title, script.scene_count) == ("The Last Ferry", 6)
    assert stack.backend.scripts.get_text(script_id) == SCREENPLAY
    [call] = fake.calls
    assert "6 scenes" in call.body["system"]
    assert "Genre: drama" in call.body["messages"][0]["content"]
