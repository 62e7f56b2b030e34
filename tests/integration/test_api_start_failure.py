"""A failed StartExecution leaves no orphan and no second video (RELIABILITY 26), through the
API's real handler on the local stack."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from botocore.exceptions import ClientError

from infra.local.stack import WRITER_FUNCTION, LocalStack
from script_to_film.adapters.orchestrator import Orchestrator
from script_to_film.domain.models import SceneStatus
from tests.fakes.faults import fail_when
from tests.integration.test_api import call, finished, new_script

KEY = (("Idempotency-Key", "start-may-fail-7"),)


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        running.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        yield running


def _unavailable() -> BaseException:
    return ClientError(
        {
            "Error": {"Code": "ServiceUnavailable", "Message": "try later"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        },
        "StartExecution",
    )


def videos_of(script_id: str) -> list[dict[str, object]]:
    items = call("GET", "/videos", query="limit=100").body["items"]
    return [item for item in items if item["script_id"] == script_id]


def test_a_start_that_fails_is_a_503_and_its_retry_returns_the_same_video(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = new_script()
    request = {"script_id": script["id"]}

    with fail_when(monkeypatch, Orchestrator, "start", _unavailable):
        refused = call("POST", "/videos", request, headers=KEY)

    assert refused.status == 503
    assert refused.header("Retry-After") == "10"
    assert refused.body["error"] == "workflow_unavailable"
    [made] = videos_of(script["id"])
    assert made["status"] == "FAILED", "no QUEUED video is left behind"
    assert str(made["id"]) in refused.body["message"]
    detail = call("GET", f"/videos/{made['id']}").body
    assert "could not be started" in detail["failure"]
    assert {scene["failure_code"] for scene in detail["scenes"]} == {"START_FAILED"}

    retried = call("POST", "/videos", request, headers=KEY)

    assert retried.status == 202
    assert retried.body["id"] == made["id"]
    assert retried.header("Idempotent-Replayed") == "true"
    assert retried.body["status"] == "FAILED"
    assert [item["id"] for item in videos_of(script["id"])] == [made["id"]], "never a second video"


def test_the_same_key_with_another_body_after_a_failed_start_is_refused(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = new_script()
    key = (("Idempotency-Key", "start-may-fail-8"),)
    with fail_when(monkeypatch, Orchestrator, "start", _unavailable):
        assert call("POST", "/videos", {"script_id": script["id"]}, headers=key).status == 503

    reused = call("POST", "/videos", {"script_id": script["id"], "style": "film noir"}, headers=key)

    assert reused.status == 422
    assert reused.body["error"] == "idempotency_key_reused"


def test_a_start_whose_answer_was_lost_keeps_the_execution_that_did_start(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = new_script()

    with fail_when(monkeypatch, Orchestrator, "start", _unavailable, after=True):
        accepted = call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 1})

    assert accepted.status == 202
    assert accepted.body["execution"].endswith(f":{accepted.body['id']}")
    done = finished(stack, accepted.body["id"])
    assert done["status"] == "SUCCEEDED"
    assert all(scene["status"] == SceneStatus.SUCCEEDED for scene in done["scenes"])
    assert [item["id"] for item in videos_of(script["id"])] == [accepted.body["id"]]
