"""What a batch is given: the S3 event notifications of uploads to `incoming/`, a manifest of
several screenplays, and the options that come with them. Pure: `stf batch` checks its files
with these rules before it uploads anything, as the trigger will check them.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
import uuid
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote_plus, unquote_plus

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from script_to_film.domain.errors import InvalidInputError
from script_to_film.domain.limits import MAX_SCREENPLAY_BYTES
from script_to_film.domain.models import now_iso
from script_to_film.domain.options import VideoOptions

INCOMING_PREFIX = "incoming/"


LIBRARY_PREFIX = "library/"
"""The only prefix a manifest may list screenplays under: on AWS the trigger may read nothing
else in the bucket but the uploads themselves."""


SCREENPLAY_SUFFIX = ".fountain"


MANIFEST_SUFFIX = ".json"


OPTIONS_METADATA = "stf-options"
"""User metadata of an uploaded object (`x-amz-meta-stf-options`): a JSON object of VideoOptions."""


MAX_BATCH_SCREENPLAYS = 50
"""One delivery starts every screenplay of a manifest in turn, within one Lambda invocation:
fifty starts take well under a minute even for long screenplays."""


MAX_MANIFEST_BYTES = 5 * MAX_SCREENPLAY_BYTES
"""A manifest may hold screenplays inline; read into memory, so it is bounded."""


class BatchInputError(InvalidInputError):
    """The uploaded object, or a screenplay a manifest lists, cannot be used as given."""


# The S3 event notification ---------------------------------------------------------------------


class _EventModel(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore")


class S3Bucket(_EventModel):
    name: str


class S3Object(_EventModel):
    key: str = Field(description="URL-decoded: S3 sends keys form-encoded, spaces as +")
    size: int = 0
    version_id: str | None = Field(default=None, alias="versionId")
    sequencer: str | None = None
    etag: str | None = Field(default=None, alias="eTag")

    @field_validator("key")
    @classmethod
    def _decode(cls, key: str) -> str:
        return unquote_plus(key)


class S3Entity(_EventModel):
    bucket: S3Bucket
    object_: S3Object = Field(alias="object")


class S3EventRecord(_EventModel):
    event_source: str = Field(default="aws:s3", alias="eventSource")
    event_name: str = Field(alias="eventName")
    event_time: str | None = Field(default=None, alias="eventTime")
    s3: S3Entity


class S3Notification(_EventModel):
    """An S3 event notification. S3's `s3:TestEvent`, sent when a notification is configured,
    has no records."""

    records: list[S3EventRecord] = Field(default_factory=list, alias="Records")


class ObjectVersion(BaseModel):
    """One version of one uploaded object: what a batch is made of, and what de-duplicates it."""

    bucket: str
    key: str
    version_id: str | None = None
    sequencer: str | None = None
    size: int = 0
    event_time: str | None = None

    @property
    def identity(self) -> str:
        # Versioned buckets give every version its own id, except objects written while
        # versioning was suspended ("null"); the sequencer orders (and so tells apart) every write
        # to one key, and a duplicate delivery repeats it.
        if self.version_id and self.version_id != "null":
            return f"version:{self.version_id}"
        return f"sequencer:{self.sequencer}"

    @property
    def batch_id(self) -> str:
        digest = hashlib.sha256(f"{self.bucket}\n{self.key}\n{self.identity}".encode()).hexdigest()
        return f"batch-{digest[:20]}"

    @property
    def is_manifest(self) -> bool:
        return self.key.endswith(MANIFEST_SUFFIX)

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).stem


class Ignored(BaseModel):
    key: str | None
    reason: str


def s3_notification(
    bucket: str,
    key: str,
    *,
    version_id: str | None,
    sequencer: str,
    size: int,
    etag: str,
    event_time: str | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """The event S3 sends for one upload (`ObjectCreated:Put`), key form-encoded as S3 does: what
    `stf batch` delivers to the trigger on the local stack, whose own notifications would call the
    function without its error handling."""
    obj: dict[str, Any] = {
        "key": quote_plus(key, safe="/"),
        "size": size,
        "eTag": etag,
        "sequencer": sequencer,
    }
    if version_id:
        obj["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": event_time or now_iso(),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:local"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": uuid.uuid4().hex[:16].upper(),
                    "x-amz-id-2": "local",
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": "incoming",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "local"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": obj,
                },
            }
        ]
    }


def triggers_batch(key: str) -> bool:
    """Whether an object at `key` starts a batch (the trigger's prefix and suffix filter)."""
    return key.startswith(INCOMING_PREFIX) and key.endswith((SCREENPLAY_SUFFIX, MANIFEST_SUFFIX))


def objects_in(event: Mapping[str, Any]) -> tuple[list[ObjectVersion], list[Ignored]]:
    """The object versions an event asks to film, and the records it holds that are not for us
    (an event that is no S3 notification at all is one ignored record: retrying cannot mend it)."""
    try:
        notification = S3Notification.model_validate(event)
    except ValidationError as error:
        return [], [Ignored(key=None, reason=f"not an S3 event notification: {describe(error)}")]
    found: list[ObjectVersion] = []
    ignored: list[Ignored] = []
    for record in notification.records:
        obj = record.s3.object_
        if record.event_source != "aws:s3" or not record.event_name.startswith("ObjectCreated:"):
            ignored.append(Ignored(key=obj.key, reason=f"{record.event_name} is not an upload"))
        elif not triggers_batch(obj.key):
            ignored.append(
                Ignored(
                    key=obj.key,
                    reason=f"not {INCOMING_PREFIX}*{SCREENPLAY_SUFFIX} or *{MANIFEST_SUFFIX}",
                )
            )
        elif not (obj.version_id and obj.version_id != "null") and not obj.sequencer:
            ignored.append(Ignored(key=obj.key, reason="no version id or sequencer to tell deliveries apart"))
        else:
            found.append(
                ObjectVersion(
                    bucket=record.s3.bucket.name,
                    key=obj.key,
                    version_id=obj.version_id,
                    sequencer=obj.sequencer,
                    size=obj.size,
                    event_time=record.event_time,
                )
            )
    return found, ignored


# The manifest ----------------------------------------------------------------------------------


class BatchVideoOptions(VideoOptions):
    """VideoOptions as a batch takes them: a misspelt option is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ManifestScreenplay(BaseModel):
    """One screenplay of a manifest: the key of an object in the same bucket, or its text."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="default: from key")
    key: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="an object in the manifest's bucket under library/ (e.g. library/a.fountain)",
    )
    text: str | None = Field(default=None, min_length=1, description="the Fountain text itself")
    options: dict[str, Any] = Field(default_factory=dict, description="VideoOptions for this screenplay")

    @model_validator(mode="after")
    def _one_source(self) -> ManifestScreenplay:
        if (self.key is None) == (self.text is None):
            raise ValueError("give either key or text")
        return self


class BatchManifest(BaseModel):
    """`incoming/<name>.json`: several screenplays, filmed as one batch.

    ```json
    {"name": "Double bill",
     "defaults": {"provider": "animatic", "style": "film noir", "poll_seconds": 5},
     "screenplays": [
       {"key": "library/night-ferry.fountain", "options": {"scenes": [1, 2]}},
       {"name": "Kitchen", "text": "INT. KITCHEN - NIGHT\\n\\nA kettle starts to sing.\\n",
        "options": {"style": "documentary"}}]}
    ```
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=200, description="default: the file name")
    defaults: dict[str, Any] = Field(default_factory=dict, description="VideoOptions for every screenplay")
    screenplays: list[ManifestScreenplay] = Field(min_length=1, max_length=MAX_BATCH_SCREENPLAYS)


def parse_manifest(data: bytes, where: str) -> BatchManifest:
    """The manifest in `data`; BatchInputError (naming `where`) when it is not one."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise BatchInputError(f"{where}: a manifest must be UTF-8 JSON") from None
    except json.JSONDecodeError as error:
        raise BatchInputError(f"{where}: not JSON ({error})") from None
    try:
        return BatchManifest.model_validate(document)
    except ValidationError as error:
        raise BatchInputError(f"{where}: {describe(error)}") from None


_UNSAFE_IN_KEY = re.compile(r"[\\%\x00-\x1f\x7f-\x9f]")
"""Backslash (a separator to Windows and to some decoders), percent (an escape to URL decoders:
`%2e%2e` is `..` to them) and control characters, NUL among them."""


def library_key_problem(key: str) -> str | None:
    """Why a manifest may not list `key`, or None for a plain key under `library/`.

    S3 takes a key literally, but what reads it is not only S3: IAM grants it by pattern, `stf
    batch` finds it on the local disk, and a proxy or a decoder may normalise it on the way. So
    only a key that means the same to all of them passes: `library/` and then names separated by
    single `/`, none of them `.` or `..`, with no backslash, percent sign or control character
    anywhere; and the same holds of its Unicode compatibility form (fullwidth dots and slashes
    become `.` and `/` there). Nothing is decoded.
    """
    for form in (key, unicodedata.normalize("NFKC", key)):
        if _UNSAFE_IN_KEY.search(form):
            return f"{key!r} holds a backslash, a percent sign or a control character; list its plain key"
        if not form.startswith(LIBRARY_PREFIX):
            return (
                f"{key!r} is not under {LIBRARY_PREFIX}: list screenplays kept there by key, "
                "or give their text"
            )
        if any(segment in ("", ".", "..") for segment in form[len(LIBRARY_PREFIX) :].split("/")):
            return f"{key!r} has an empty, '.' or '..' part: list the plain key of an object"
    return None


def merge_options(*layers: Mapping[str, Any]) -> BatchVideoOptions:
    """VideoOptions from layers of option values, each overriding the one before."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update(layer)
    return BatchVideoOptions.model_validate(merged)


def metadata_options(metadata: Mapping[str, str], where: str) -> dict[str, Any]:
    """The options an uploader attached as `x-amz-meta-stf-options`."""
    raw = metadata.get(OPTIONS_METADATA)
    if raw is None:
        return {}
    try:
        options = json.loads(raw)
    except json.JSONDecodeError as error:
        raise BatchInputError(f"{where}: metadata {OPTIONS_METADATA} is not JSON ({error})") from None
    if not isinstance(options, dict):
        raise BatchInputError(f"{where}: metadata {OPTIONS_METADATA} must be a JSON object of options")
    return options


def describe(error: ValidationError) -> str:
    """A validation error in one line: where, what, and how many more."""
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "input"
    more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"
