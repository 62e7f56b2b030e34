"""The S3 batch trigger on the embedded local stack: real S3 uploads, the events S3 would send for
them, the real handler, and the film workflow behind it. "Started" is counted the way it costs
money: executions of the state machine."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.s3_batch import handler
from infra.local.lambda_dispatch import LocalLambdaContext
from infra.local.stack import LocalStack
from script_to_film.adapters.objects import ObjectStore
from script_to_film.adapters.orchestrator import Orchestrator
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.adapters.repositories.batches import BatchRepository
from script_to_film.domain.batch_input import objects_in, s3_notification
from script_to_film.domain.errors import PermanentProviderError
from script_to_film.domain.keys import batch_record_key, batch_summary_key
from script_to_film.domain.models import BatchItemState, BatchStatus, SceneJob, VideoRecord, VideoStatus
from script_to_film.domain.ports import ProviderTask
from script_to_film.services import batch
from script_to_film.services.batch import DeliveryResult
from script_to_film.services.submission import WorkflowUnavailableError
from tests.fakes.scripted_provider import ScriptedProvider

ONE_SCENE = "Title: {title}\n\nINT. KITCHEN - NIGHT\n\nA kettle starts to sing on the stove.\n"
TWO_SCENES = (
    "Title: Crossing\n\nEXT. FERRY DECK - NIGHT\n\nRain on the rail.\n\n"
    "INT. FERRY CAFE - NIGHT\n\nA cup of cocoa slides across a table.\n"
)
KETTLE = ONE_SCENE.format(title="Kettle")
NO_SCENES = "Title: Notes\n\nSome thoughts about a film, and no scene heading at all.\n"
FAST = {"poll_seconds": 1, "scene_timeout_seconds": 30}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """One stack for the module: every test uploads its own keys and lets its videos end."""
    with LocalStack() as running:
        yield running


@pytest.fixture(autouse=True)
def _built_in_providers() -> Iterator[None]:
    yield
    reset_providers()


@pytest.fixture
def started(stack: LocalStack) -> Callable[[], list[str]]:
    """The executions (named after their videos) started since the test began."""
    before = set(executions(stack))
    return lambda: sorted(set(executions(stack)) - before)


class RefusingProvider:
    """Refuses every scene as it is submitted, so a video ends within a second: for the tests
    about what is started rather than how it ends."""

    name = "animatic"

    def submit(self, job: SceneJob) -> str:
        raise PermanentProviderError("refused by the test", code="TEST")

    def status(self, task_id: str) -> ProviderTask:
        raise AssertionError("nothing was submitted")

    def cancel(self, task_id: str) -> None:
        raise AssertionError("nothing was submitted")

    def open_output(self, task: ProviderTask, job: SceneJob) -> Any:
        raise AssertionError("nothing was submitted")


@pytest.fixture
def refusing() -> None:
    register_provider("animatic", RefusingProvider)


def context(seconds: float = 60.0) -> LocalLambdaContext:
    return LocalLambdaContext(
        function_name="S3Batch",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:S3Batch",
        memory_limit_in_mb=1024,
        aws_request_id="test",
        log_group_name="/aws/lambda/S3Batch",
        log_stream_name="test",
        timeout_seconds=seconds,
    )


def upload(stack: LocalStack, key: str, body: str | bytes, options: dict[str, Any] | None = None) -> dict:
    """Put the object as a client would, and return the event S3 sends for it."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    response = stack.backend.aws.s3.put_object(
        Bucket=stack.backend.aws.bucket,
        Key=key,
        Body=data,
        Metadata={"stf-options": json.dumps(FAST if options is None else options)},
    )
    return s3_notification(
        stack.backend.aws.bucket,
        key,
        version_id=response["VersionId"],
        sequencer=f"{time.time_ns():020X}",
        size=len(data),
        etag=response["ETag"].strip('"'),
    )


def deliver(event: dict, seconds: float = 60.0) -> DeliveryResult:
    return DeliveryResult.model_validate(handler(event, context(seconds)))


def executions(stack: LocalStack) -> list[str]:
    listing = stack.sfn.list_executions(stateMachineArn=stack.state_machine_arn)
    return sorted(execution["name"] for execution in listing["executions"])


def finish(stack: LocalStack, video_ids: list[str]) -> list[VideoRecord]:
    """Let the videos run to their end (no execution may outlive the stack)."""
    return [
        stack.wait(stack.backend.videos.get(video_id), interval=0.05, timeout=120) for video_id in video_ids
    ]


def manifest(*screenplays: dict[str, Any], **fields: Any) -> str:
    return json.dumps({"screenplays": list(screenplays), **fields})


def fail_once(error: BaseException, when: Callable[..., bool] = lambda *a, **k: True) -> Callable:
    """A wrapper that raises `error` the first time `when` holds for a call, then calls through."""
    state = {"raised": False}

    def wrap(real: Callable) -> Callable:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not state["raised"] and when(*args, **kwargs):
                state["raised"] = True
                raise error
            return real(*args, **kwargs)

        return call

    return wrap


def throttled(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, operation)


# One screenplay, delivered once, twice, at once, and in a new version ---------------------------


def test_a_screenplay_dropped_into_incoming_becomes_a_video_and_a_summary(
    stack: LocalStack, started: Callable[[], list[str]]
) -> None:
    event = upload(stack, "incoming/kettle song.fountain", ONE_SCENE.format(title="Kettle"))

    result = deliver(event)

    (delivered,) = result.batches
    assert delivered.key == "incoming/kettle song.fountain"
    assert not delivered.duplicate
    assert len(delivered.started) == 1
    assert delivered.videos == delivered.started
    assert started() == delivered.started
    record = stack.backend.objects.get_json(batch_record_key(delivered.batch_id))
    assert record["name"] == "kettle song"
    assert record["source"]["version_id"] == delivered.version_id
    assert record["items"] == [
        {
            "number": 1,
            "name": "kettle song",
            "key": "incoming/kettle song.fountain",
            "video_id": delivered.started[0],
            "error": None,
        }
    ]

    (video,) = finish(stack, delivered.started)

    assert video.status is VideoStatus.SUCCEEDED
    assert video.batch_id == delivered.batch_id
    assert video.title == "Kettle"
    summary = stack.backend.objects.get_json(batch_summary_key(delivered.batch_id))
    assert summary["status"] == "SUCCEEDED"
    assert summary["items"][0]["video_id"] == video.id
    assert summary["items"][0]["status"] == "SUCCEEDED"
    assert summary["items"][0]["film_key"] == f"videos/{video.id}/film.mp4"
    assert stack.backend.batches.get(delivered.batch_id).status is BatchStatus.DONE


def test_the_same_event_delivered_twice_starts_one_video(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None
) -> None:
    event = upload(stack, "incoming/twice.fountain", ONE_SCENE.format(title="Twice"))

    first = deliver(event).batches[0]
    again = deliver(json.loads(json.dumps(event))).batches[0]

    assert again.duplicate
    assert again.batch_id == first.batch_id
    assert again.started == []
    assert again.videos == first.started
    assert started() == first.started
    finish(stack, first.started)


def test_two_deliveries_of_one_event_at_the_same_moment_start_one_video(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A slow start keeps the first delivery busy while the second one arrives.
    real_start = batch.start_video

    def slow_start(*args: Any, **kwargs: Any) -> VideoRecord:
        time.sleep(0.3)
        return real_start(*args, **kwargs)

    monkeypatch.setattr(batch, "start_video", slow_start)
    event = upload(stack, "incoming/race.fountain", ONE_SCENE.format(title="Race"))
    barrier = threading.Barrier(2)
    results: list[DeliveryResult] = []

    def deliver_at_once() -> None:
        barrier.wait()
        results.append(deliver(event))

    threads = [threading.Thread(target=deliver_at_once) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    batches = [result.batches[0] for result in results]
    assert len(batches) == 2
    assert len({b.batch_id for b in batches}) == 1
    winner, loser = sorted(batches, key=lambda b: b.duplicate)
    assert len(winner.started) == 1
    assert loser.duplicate and loser.in_progress and loser.started == []
    assert started() == winner.started
    # Once the first delivery is done, a third one is an ordinary duplicate.
    assert deliver(event).batches[0].videos == winner.started
    finish(stack, winner.started)


def test_a_new_version_of_the_same_key_starts_a_new_video(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None
) -> None:
    first = deliver(upload(stack, "incoming/draft.fountain", ONE_SCENE.format(title="Draft 1"))).batches[0]
    second = deliver(upload(stack, "incoming/draft.fountain", ONE_SCENE.format(title="Draft 2"))).batches[0]

    assert second.batch_id != first.batch_id
    assert second.version_id != first.version_id
    assert not second.duplicate
    assert started() == sorted(first.started + second.started)
    titles = [video.title for video in finish(stack, first.started + second.started)]
    assert titles == ["Draft 1", "Draft 2"]


# Manifests --------------------------------------------------------------------------------------


def test_a_manifest_starts_its_good_screenplays_records_the_bad_and_summarizes_when_all_end(
    stack: LocalStack,
    started: Callable[[], list[str]],
) -> None:
    register_provider("animatic", lambda: ScriptedProvider(fail={2: "SAFETY.INPUT.TEXT"}))
    stack.backend.aws.s3.put_object(
        Bucket=stack.backend.aws.bucket, Key="library/crossing.fountain", Body=TWO_SCENES.encode()
    )
    event = upload(
        stack,
        "incoming/evening.json",
        manifest(
            {"key": "library/crossing.fountain"},
            {"name": "notes", "text": NO_SCENES},
            {"name": "kettle", "text": ONE_SCENE.format(title="Kettle"), "options": {"style": "documentary"}},
            name="An evening",
            defaults={"style": "film noir"},
        ),
    )

    delivered = deliver(event).batches[0]

    assert len(delivered.started) == 2
    assert [(f.number, f.name) for f in delivered.failed] == [(2, "notes")]
    assert "no scene" in delivered.failed[0].error
    assert started() == sorted(delivered.started)
    assert not stack.backend.aws.s3.list_objects_v2(
        Bucket=stack.backend.aws.bucket, Prefix=batch_summary_key(delivered.batch_id)
    ).get("Contents"), "no summary while videos are running"
    record = stack.backend.objects.get_json(batch_record_key(delivered.batch_id))
    assert record["name"] == "An evening"
    assert [(i["name"], bool(i["video_id"]), bool(i["error"])) for i in record["items"]] == [
        ("crossing", True, False),
        ("notes", False, True),
        ("kettle", True, False),
    ]

    crossing, kettle = finish(stack, delivered.started)

    assert (crossing.style, kettle.style) == ("film noir", "documentary")
    summary = stack.backend.objects.get_json(batch_summary_key(delivered.batch_id))
    assert summary["name"] == "An evening"
    assert summary["status"] == "PARTIAL"
    assert [(i["name"], i["status"], i["video_id"]) for i in summary["items"]] == [
        ("crossing", "PARTIAL", crossing.id),
        ("notes", "FAILED", None),
        ("kettle", "SUCCEEDED", kettle.id),
    ]
    assert summary["items"][1]["error"] == delivered.failed[0].error
    assert summary["items"][0]["film_key"] == crossing.film_key


def test_a_manifest_redelivered_after_a_crash_between_its_starts_starts_only_the_missing_one(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    real_start = batch.start_video

    def crash_on_the_second(*args: Any, **kwargs: Any) -> VideoRecord:
        calls.append(1)
        if len(calls) == 2:
            raise ConnectionError("the network went away")
        return real_start(*args, **kwargs)

    monkeypatch.setattr(batch, "start_video", crash_on_the_second)
    event = upload(
        stack,
        "incoming/pair.json",
        manifest({"text": ONE_SCENE.format(title="One")}, {"text": ONE_SCENE.format(title="Two")}),
    )

    with pytest.raises(ConnectionError):
        deliver(event)
    (first_video,) = started()
    batch_id = objects_in(event)[0][0].batch_id
    half = stack.backend.batches.get(batch_id)
    assert half.status is BatchStatus.STARTING
    assert [item.state for item in half.items] == [BatchItemState.STARTED, BatchItemState.CLAIMED]

    again = deliver(event).batches[0]

    assert again.batch_id == batch_id
    assert not again.duplicate
    assert len(again.started) == 1
    assert again.videos == [first_video, again.started[0]]
    assert started() == sorted(again.videos)
    one, two = finish(stack, again.videos)
    assert (one.title, two.title) == ("One", "Two")
    summary = stack.backend.objects.get_json(batch_summary_key(batch_id))
    assert [item["video_id"] for item in summary["items"]] == again.videos


def test_a_crash_after_the_execution_started_does_not_start_it_again(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The video runs, but recording that it was started fails (DynamoDB throttles).
    monkeypatch.setattr(
        BatchRepository,
        "update_item",
        fail_once(
            throttled("UpdateItem"), lambda *a, **fields: fields.get("state") == BatchItemState.STARTED
        )(BatchRepository.update_item),
    )
    event = upload(stack, "incoming/once.fountain", ONE_SCENE.format(title="Once"))

    with pytest.raises(ClientError):
        deliver(event)
    (video_id,) = started()

    again = deliver(event).batches[0]

    assert again.started == []
    assert again.videos == [video_id]
    assert started() == [video_id]
    finish(stack, [video_id])


def test_a_start_that_fails_ends_its_video_and_the_retried_delivery_starts_afresh(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Orchestrator, "start", fail_once(throttled("StartExecution"))(Orchestrator.start))
    event = upload(stack, "incoming/afresh.fountain", ONE_SCENE.format(title="Afresh"))

    with pytest.raises(WorkflowUnavailableError):
        deliver(event)
    assert started() == []
    batch_id = objects_in(event)[0][0].batch_id
    orphan_id = str(stack.backend.batches.get(batch_id).items[0].video_id)
    assert stack.backend.videos.get(orphan_id).status is VideoStatus.FAILED, "no QUEUED video is left behind"

    again = deliver(event).batches[0]

    assert len(again.started) == 1
    assert again.started != [orphan_id]
    assert started() == again.started
    assert stack.backend.videos.get(orphan_id).status is VideoStatus.FAILED
    finish(stack, again.started)
    summary = stack.backend.objects.get_json(batch_summary_key(batch_id))
    assert [item["video_id"] for item in summary["items"]] == again.started


def test_a_delivery_still_running_keeps_its_batch_until_its_lease_runs_out(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Killed(BaseException):
        """Lambda ending an invocation at its timeout: nothing of it runs any more."""

    monkeypatch.setattr(batch, "LEASE_MARGIN_SECONDS", 0.0)
    monkeypatch.setattr(batch, "start_video", fail_once(Killed())(batch.start_video))
    event = upload(stack, "incoming/killed.fountain", ONE_SCENE.format(title="Killed"))

    with pytest.raises(Killed):
        deliver(event, seconds=1.0)
    meanwhile = deliver(event).batches[0]

    assert meanwhile.in_progress and meanwhile.started == []

    time.sleep(1.1)
    after = deliver(event).batches[0]

    assert not after.duplicate
    assert len(after.started) == 1
    assert started() == after.started
    finish(stack, after.started)


def test_a_transient_error_reading_the_upload_raises_so_that_lambda_retries(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ObjectStore, "read", fail_once(throttled("GetObject"))(ObjectStore.read))
    event = upload(stack, "incoming/retry.fountain", ONE_SCENE.format(title="Retry"))

    with pytest.raises(ClientError, match="ThrottlingException"):
        deliver(event)
    retried = deliver(event).batches[0]

    assert len(retried.started) == 1
    assert started() == retried.started
    finish(stack, retried.started)
