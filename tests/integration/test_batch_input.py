"""Bad uploads to the S3 batch trigger: each is recorded in its batch as a failed item with its
message, and the handler answers (a raise would have Lambda retry a poison message). Nothing here
starts a video, so one local stack serves the whole module."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.stack import LocalStack
from script_to_film.adapters.objects import ObjectStore
from script_to_film.domain.keys import batch_summary_key
from script_to_film.domain.models import BatchStatus
from script_to_film.services.batch import DeliveryResult

from .test_batch import FAST, KETTLE, NO_SCENES, deliver, executions, manifest, upload


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


@pytest.mark.parametrize(
    ("key", "body", "options", "message"),
    [
        ("incoming/latin1.fountain", "INT. CAFÉ - DAY\n\nSteam.\n".encode("latin-1"), FAST, "not UTF-8"),
        ("incoming/notes.fountain", NO_SCENES, FAST, "no scene headings"),
        ("incoming/typo.fountain", KETTLE, {"stlye": "anime"}, "stlye: Extra inputs are not permitted"),
        ("incoming/bad-meta.fountain", KETTLE, {"poll_seconds": "often"}, "poll_seconds: Input should be"),
        (
            "incoming/pricey.fountain",
            KETTLE,
            {"provider": "runway", "max_budget_usd": 0.01},
            "exceeds the budget",
        ),
        ("incoming/no-such-model.fountain", KETTLE, {"model": "gen9"}, "gen9"),
        ("incoming/broken.json", "{oops", FAST, "not JSON"),
        ("incoming/latin1.json", '{"name": "é"}'.encode("latin-1"), FAST, "must be UTF-8 JSON"),
        ("incoming/misspelt.json", manifest({"txt": KETTLE}), FAST, "Extra inputs are not permitted"),
        ("incoming/bad-defaults.json", manifest({"text": KETTLE}, defaults={"fsp": 2}), FAST, "fsp"),
        (
            "incoming/bad-options.json",
            manifest({"text": KETTLE, "options": {"poll_seconds": 0}}),
            FAST,
            "options: poll_seconds",
        ),
        ("incoming/missing.json", manifest({"key": "library/missing.fountain"}), FAST, "does not exist"),
        ("incoming/loop.json", manifest({"key": "incoming/x.fountain"}), FAST, "is not under library/"),
        ("incoming/escape.json", manifest({"key": "library/../scripts/x.fountain"}), FAST, "'..' part"),
    ],
)
def test_bad_input_is_a_failed_item_with_its_message_and_the_handler_returns(
    stack: LocalStack, key: str, body: str | bytes, options: dict[str, Any], message: str
) -> None:
    event = upload(stack, key, body, options)

    first = deliver(event).batches[0]
    again = deliver(event).batches[0]

    assert first.started == []
    assert len(first.failed) == 1
    assert message in first.failed[0].error
    assert again.duplicate and again.failed == first.failed
    assert executions(stack) == []
    # Nothing to wait for: the summary is written at once.
    summary = stack.backend.objects.get_json(batch_summary_key(first.batch_id))
    assert summary["status"] == "FAILED"
    assert summary["items"][0]["error"] == first.failed[0].error


def test_a_screenplay_over_the_size_limit_is_refused_unread(stack: LocalStack) -> None:
    event = upload(stack, "incoming/huge.fountain", KETTLE + "A kettle sings.\n" * 70_000)

    delivered = deliver(event).batches[0]

    assert "larger than 1,000,000 bytes" in delivered.failed[0].error


def test_an_upload_gone_before_its_event_arrives_is_recorded(stack: LocalStack) -> None:
    event = upload(stack, "incoming/gone.fountain", KETTLE)
    version = event["Records"][0]["s3"]["object"]["versionId"]
    stack.backend.aws.s3.delete_object(
        Bucket=stack.backend.aws.bucket, Key="incoming/gone.fountain", VersionId=version
    )

    delivered = deliver(event).batches[0]

    assert delivered.started == []
    assert "does not exist" in delivered.failed[0].error


def test_events_not_for_the_trigger_are_answered_and_start_nothing(stack: LocalStack) -> None:
    other = upload(stack, "library/a.fountain", KETTLE)
    s3_test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": stack.backend.aws.bucket}

    assert deliver(other).ignored[0].key == "library/a.fountain"
    assert deliver(s3_test_event) == DeliveryResult()
    assert deliver({"Records": "nonsense"}).ignored[0].reason.startswith("not an S3 event notification")
    assert executions(stack) == []


def test_a_summary_the_first_delivery_failed_to_write_is_written_by_the_retry(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_put_json = ObjectStore.put_json

    def put_json_failing_summaries(self: ObjectStore, key: str, document: Any) -> None:
        if key.endswith("/summary.json"):
            raise ConnectionError("S3 went away")
        real_put_json(self, key, document)

    monkeypatch.setattr(ObjectStore, "put_json", put_json_failing_summaries)
    event = upload(stack, "incoming/unlucky.fountain", NO_SCENES)
    with pytest.raises(ConnectionError):
        deliver(event)
    monkeypatch.undo()

    retried = deliver(event).batches[0]

    assert retried.duplicate
    assert stack.backend.objects.get_json(batch_summary_key(retried.batch_id))["status"] == "FAILED"
    assert stack.backend.batches.get(retried.batch_id).status is BatchStatus.DONE
