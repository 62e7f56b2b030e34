"""A manifest reads only under `library/`, and one screenplay S3 will not give never stalls its
batch: it is that screenplay's error, the others start, and only errors that may pass (throttling,
5xx) make the delivery raise for Lambda to retry, which then starts only what is missing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from infra.local.stack import LocalStack
from script_to_film.adapters.objects import ObjectStore
from script_to_film.domain.batch_input import objects_in
from script_to_film.domain.keys import batch_record_key, batch_summary_key
from script_to_film.domain.models import BatchItemState, BatchStatus

from .test_batch import (
    ONE_SCENE,
    _built_in_providers,
    deliver,
    fail_once,
    finish,
    manifest,
    refusing,
    stack,
    started,
    upload,
)

# Fixtures shared with test_batch; `_built_in_providers` (autouse) undoes `refusing` after each test.
__all__ = ["_built_in_providers", "refusing", "stack", "started"]


def s3_error(code: str, status: int, operation: str = "GetObject") -> ClientError:
    """What botocore raises for an S3 error answer."""
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} (injected)"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        operation,
    )


def refuse_reading(answers: dict[str, ClientError]) -> Callable[..., Any]:
    """`ObjectStore.read`, with S3 answering its error for the keys in `answers` every time: the
    S3 client's own call raises it, so the batch meets what the adapter makes of S3's answer."""
    real = ObjectStore.read

    def read(self: ObjectStore, bucket: str, key: str, *args: Any, **kwargs: Any) -> Any:
        if key not in answers:
            return real(self, bucket, key, *args, **kwargs)

        def answer(params: dict[str, Any], **_: Any) -> None:
            if params.get("Key") == key:
                raise answers[key]

        events = self.aws.s3.meta.events
        events.register("before-parameter-build.s3.GetObject", answer)
        try:
            return real(self, bucket, key, *args, **kwargs)
        finally:
            events.unregister("before-parameter-build.s3.GetObject", answer)

    return read


def put(stack: LocalStack, key: str, text: str) -> None:
    stack.backend.aws.s3.put_object(Bucket=stack.backend.aws.bucket, Key=key, Body=text.encode())


def test_keys_outside_library_and_objects_s3_refuses_are_item_errors_and_the_rest_starts(
    stack: LocalStack, started: Callable[[], list[str]], refusing: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in (
        "library/open.fountain",
        "library/secret.fountain",
        "library/archived.fountain",
        "private/kettle.fountain",
        "library/../private/kettle.fountain",  # S3 keeps this as a literal key: it exists
    ):
        put(stack, key, ONE_SCENE.format(title=key))
    monkeypatch.setattr(
        ObjectStore,
        "read",
        refuse_reading(
            {
                # What the trigger's role meets on AWS outside its grants, and a Glacier object.
                "library/secret.fountain": s3_error("AccessDenied", 403),
                "library/archived.fountain": s3_error("InvalidObjectState", 403),
            }
        ),
    )
    event = upload(
        stack,
        "incoming/mixed.json",
        manifest(
            {"key": "library/open.fountain"},
            {"key": "library/secret.fountain"},
            {"key": "library/archived.fountain"},
            {"key": "private/kettle.fountain"},
            {"key": "library/../private/kettle.fountain"},
            {"name": "inline", "text": ONE_SCENE.format(title="Inline")},
        ),
    )

    delivered = deliver(event).batches[0]

    assert len(delivered.started) == 2
    assert started() == sorted(delivered.started)
    errors = {failed.number: failed.error for failed in delivered.failed}
    assert sorted(errors) == [2, 3, 4, 5]
    assert "library/secret.fountain cannot be read: AccessDenied" in errors[2]
    assert "InvalidObjectState" in errors[3]
    assert "is not under library/" in errors[4]
    assert "'..'" in errors[5]
    record = stack.backend.batches.get(delivered.batch_id)
    assert record.status is BatchStatus.STARTED, "the batch did not stall in STARTING"
    assert [item.state for item in record.items] == [
        BatchItemState.STARTED,
        *[BatchItemState.FAILED] * 4,
        BatchItemState.STARTED,
    ]
    written = stack.backend.objects.get_json(batch_record_key(delivered.batch_id))
    assert [item["error"] for item in written["items"]][1:5] == [errors[n] for n in (2, 3, 4, 5)]

    finish(stack, delivered.started)
    summary = stack.backend.objects.get_json(batch_summary_key(delivered.batch_id))
    assert [(item["status"], item["error"]) for item in summary["items"]][1:5] == [
        ("FAILED", errors[n]) for n in (2, 3, 4, 5)
    ]
    assert deliver(event).batches[0].duplicate, "a redelivery finds the batch done"


@pytest.mark.parametrize(
    "error",
    [s3_error("SlowDown", 503), s3_error("InternalError", 500), s3_error("ThrottlingException", 400)],
    ids=["slow-down-503", "internal-500", "throttled"],
)
def test_an_error_that_may_pass_raises_and_the_retry_starts_each_screenplay_once(
    stack: LocalStack,
    started: Callable[[], list[str]],
    refusing: None,
    monkeypatch: pytest.MonkeyPatch,
    error: ClientError,
) -> None:
    put(stack, "library/second.fountain", ONE_SCENE.format(title="Second"))
    monkeypatch.setattr(
        ObjectStore,
        "read",
        fail_once(error, lambda self, bucket, key, *a, **k: key == "library/second.fountain")(
            ObjectStore.read
        ),
    )
    event = upload(
        stack,
        "incoming/retried.json",
        manifest(
            {"text": ONE_SCENE.format(title="First")},
            {"key": "library/second.fountain"},
            {"text": ONE_SCENE.format(title="Third")},
        ),
    )

    with pytest.raises(ClientError) as raised:
        deliver(event)
    assert raised.value is error
    batch_id = objects_in(event)[0][0].batch_id
    half = stack.backend.batches.get(batch_id)
    assert half.status is BatchStatus.STARTING
    assert [item.state for item in half.items] == [BatchItemState.STARTED, BatchItemState.CLAIMED]
    (first,) = started()

    again = deliver(event).batches[0]

    assert len(again.started) == 2 and first not in again.started
    assert again.failed == []
    assert started() == sorted(again.videos)
    titles = [video.title for video in finish(stack, again.videos)]
    assert titles == ["First", "Second", "Third"]
