"""The S3 batch trigger's pure parts: reading S3 event notifications, the manifest, options."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from script_to_film.domain.batch_input import (
    MAX_BATCH_SCREENPLAYS,
    BatchInputError,
    ObjectVersion,
    merge_options,
    metadata_options,
    objects_in,
    parse_manifest,
    s3_notification,
    triggers_batch,
)
from script_to_film.workflow.batch_summary import batch_status

EVENTS = Path(__file__).resolve().parents[2] / "events"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / "s3" / name).read_text(encoding="utf-8"))


def event_for(
    key: str, *, version_id: str | None = "v1", sequencer: str = "00AB", name: str = "ObjectCreated:Put"
) -> dict[str, Any]:
    event = s3_notification("bucket-a", key, version_id=version_id, sequencer=sequencer, size=10, etag="e")
    event["Records"][0]["eventName"] = name
    return event


def only(event: dict[str, Any]) -> ObjectVersion:
    found, ignored = objects_in(event)
    assert ignored == []
    assert len(found) == 1
    return found[0]


def test_the_sample_put_event_names_its_object_version_with_the_key_decoded() -> None:
    obj = only(load("put-fountain.json"))

    assert obj.bucket == "script-to-film-local"
    assert obj.key == "incoming/The 6:40 to Harrow.fountain"
    assert obj.version_id == "3HL4kqtJvjVBH40Nrjfkd.tZKNZ2FbRa"
    assert obj.sequencer == "0067446F2DA4C6E3A1"
    assert obj.size == 2318
    assert obj.name == "The 6:40 to Harrow"
    assert not obj.is_manifest


def test_a_redelivered_event_is_the_same_batch_and_a_new_version_another() -> None:
    first = only(load("put-fountain.json"))
    again = only(load("put-fountain-redelivered.json"))
    newer = only(load("put-fountain-new-version.json"))

    assert again.batch_id == first.batch_id
    assert newer.key == first.key
    assert newer.batch_id != first.batch_id


def test_the_sample_manifest_event_is_a_manifest() -> None:
    obj = only(load("put-manifest.json"))

    assert obj.key == "incoming/double-bill.json"
    assert obj.is_manifest


def test_the_test_event_s3_sends_on_configuration_starts_nothing() -> None:
    assert objects_in(load("test-event.json")) == ([], [])


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("incoming/my+film.fountain", "incoming/my film.fountain"),
        ("incoming/a%2Bb.fountain", "incoming/a+b.fountain"),
        ("incoming/caf%C3%A9+%281%29.fountain", "incoming/café (1).fountain"),
        ("incoming/season+1/ep%3A2.json", "incoming/season 1/ep:2.json"),
    ],
)
def test_keys_are_url_decoded_as_s3_encodes_them(encoded: str, decoded: str) -> None:
    event = event_for("placeholder")
    event["Records"][0]["s3"]["object"]["key"] = encoded

    assert only(event).key == decoded


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40))
def test_a_key_survives_the_round_trip_through_an_event(name: str) -> None:
    key = f"incoming/{name}.fountain"

    assert only(event_for(key)).key == key


def test_unversioned_buckets_tell_deliveries_apart_by_sequencer() -> None:
    first = only(event_for("incoming/a.fountain", version_id=None, sequencer="0001"))
    again = only(event_for("incoming/a.fountain", version_id=None, sequencer="0001"))
    rewritten = only(event_for("incoming/a.fountain", version_id=None, sequencer="0002"))
    # Written while versioning was suspended: every such version is called "null".
    suspended = only(event_for("incoming/a.fountain", version_id="null", sequencer="0003"))

    assert first.batch_id == again.batch_id
    assert rewritten.batch_id != first.batch_id
    assert suspended.identity == "sequencer:0003"


def test_the_same_key_in_another_bucket_is_another_batch() -> None:
    here = only(event_for("incoming/a.fountain"))
    there = only(
        s3_notification(
            "bucket-b", "incoming/a.fountain", version_id="v1", sequencer="00AB", size=1, etag="e"
        )
    )

    assert here.batch_id != there.batch_id


@pytest.mark.parametrize(
    ("key", "name", "reason"),
    [
        ("library/a.fountain", "ObjectCreated:Put", "not incoming/"),
        ("scripts/incoming/a.fountain", "ObjectCreated:Put", "not incoming/"),
        ("incoming/a.txt", "ObjectCreated:Put", "not incoming/"),
        ("incoming/a.FOUNTAIN", "ObjectCreated:Put", "not incoming/"),
        ("incoming/a.fountain.bak", "ObjectCreated:Put", "not incoming/"),
        ("incoming/", "ObjectCreated:Put", "not incoming/"),
        ("incoming/a.fountain", "ObjectRemoved:Delete", "is not an upload"),
    ],
)
def test_records_not_for_the_trigger_are_ignored_with_a_reason(key: str, name: str, reason: str) -> None:
    found, ignored = objects_in(event_for(key, name=name))

    assert found == []
    assert [item.key for item in ignored] == [key]
    assert reason in ignored[0].reason


def test_every_upload_event_name_counts() -> None:
    for name in (
        "ObjectCreated:Put",
        "ObjectCreated:Post",
        "ObjectCreated:Copy",
        "ObjectCreated:CompleteMultipartUpload",
    ):
        assert only(event_for("incoming/a.fountain", name=name)).key == "incoming/a.fountain"


def test_an_event_that_is_not_an_s3_notification_is_ignored_not_raised() -> None:
    found, ignored = objects_in({"Records": [{"eventName": "ObjectCreated:Put"}]})

    assert found == []
    assert ignored[0].key is None
    assert ignored[0].reason.startswith("not an S3 event notification")


def test_triggers_batch_matches_the_notification_filter() -> None:
    assert triggers_batch("incoming/a.fountain")
    assert triggers_batch("incoming/sub/a.json")
    assert not triggers_batch("library/a.fountain")
    assert not triggers_batch("incoming/a.md")


# The manifest -----------------------------------------------------------------------------------


def test_the_example_manifest_is_valid() -> None:
    manifest = parse_manifest((EVENTS / "batch" / "double-bill.json").read_bytes(), "double-bill.json")

    assert manifest.name == "Double bill"
    assert [entry.key for entry in manifest.screenplays] == ["library/night-ferry.fountain", None]
    assert (EVENTS / "batch" / "library" / "night-ferry.fountain").is_file()
    options = merge_options(manifest.defaults, manifest.screenplays[1].options)
    assert (options.provider, options.style) == ("animatic", "documentary")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"\xff\xfe{", "must be UTF-8 JSON"),
        (b"{not json", "not JSON"),
        (b"[]", "Input should be a valid dictionary"),
        (b'{"screenplays": []}', "screenplays: List should have at least 1 item"),
        (b'{"screenplays": [{"key": "a", "text": "b"}]}', "give either key or text"),
        (b'{"screenplays": [{}]}', "give either key or text"),
        (b'{"screenplays": [{"txt": "INT. A - DAY"}]}', "screenplays.0.txt: Extra inputs are not permitted"),
        (b'{"screenplay": [{"text": "x"}]}', "Field required"),
    ],
)
def test_a_broken_manifest_says_what_is_wrong(document: bytes, message: str) -> None:
    with pytest.raises(BatchInputError, match=r"^incoming/m\.json: ") as caught:
        parse_manifest(document, "incoming/m.json")

    assert message in str(caught.value)


def test_a_manifest_lists_a_bounded_number_of_screenplays() -> None:
    entries = [{"text": "INT. A - DAY\n\nX.\n"}] * (MAX_BATCH_SCREENPLAYS + 1)

    with pytest.raises(BatchInputError, match="at most 50 items"):
        parse_manifest(json.dumps({"screenplays": entries}).encode(), "m.json")


# Options -----------------------------------------------------------------------------------------


def test_options_override_layer_by_layer() -> None:
    options = merge_options(
        {"style": "film noir", "poll_seconds": 5}, {"style": "anime"}, {"scenes": [2], "poll_seconds": 1}
    )

    assert (options.style, options.poll_seconds, options.scenes) == ("anime", 1, [2])
    assert options.provider == "animatic"


def test_an_unknown_option_is_refused_not_ignored() -> None:
    with pytest.raises(ValueError, match="stlye"):
        merge_options({"stlye": "anime"})


def test_options_come_from_the_uploads_metadata() -> None:
    assert metadata_options({"stf-options": '{"style": "anime"}'}, "k") == {"style": "anime"}
    assert metadata_options({"other": "x"}, "k") == {}
    with pytest.raises(BatchInputError, match="not JSON"):
        metadata_options({"stf-options": "{style"}, "k")
    with pytest.raises(BatchInputError, match="JSON object"):
        metadata_options({"stf-options": "[1]"}, "k")


@pytest.mark.parametrize(
    ("statuses", "status"),
    [
        (["SUCCEEDED", "SUCCEEDED"], "SUCCEEDED"),
        (["SUCCEEDED", "FAILED"], "PARTIAL"),
        (["PARTIAL"], "PARTIAL"),
        (["FAILED", "CANCELLED"], "FAILED"),
    ],
)
def test_a_batch_is_as_good_as_its_videos(statuses: list[str], status: str) -> None:
    assert batch_status(statuses) == status
