"""The S3 batch trigger: screenplays dropped into `incoming/` become videos, once per object version.

What starts what
    `incoming/<name>.fountain` starts one video of that screenplay. `incoming/<name>.json` is a
    manifest (`BatchManifest`) listing several screenplays, each given by the key of an object
    under `library/` in the same bucket or inline as text, with options. Either way the object
    version is one batch:
    every screenplay in it is started through `submission.start_video`, the path the API and
    `stf run` take, so the same inputs are refused the same way. Options come, each level
    overriding the one before, from `VideoOptions`' defaults, the uploaded object's metadata
    `stf-options` (a JSON object), a manifest's `defaults` and a screenplay's `options`; a name
    `VideoOptions` does not have is refused rather than ignored.

Exactly once per object version
    S3 delivers events at least once and in any order. The batch id is derived from bucket, key
    and version id (the sequencer when the bucket is not versioned), and the batch item is
    created with a conditional write before anything starts: a later delivery of the same version
    finds it and answers the earlier batch id without starting anything. Each screenplay of the
    batch is claimed too, and the new video's id is written onto its claim before the video is
    stored (`start_video`'s `before_storing`), so a delivery that resumes a batch whose first
    delivery died knows, for each screenplay, whether it was started, half-stored (retired, then
    started again) or never begun. Only one delivery works on a batch at a time: it holds a lease
    that lasts as long as its Lambda invocation can (the remaining time plus a margin), so nobody
    takes over from a delivery that is still running; a delivery that fails ends its lease at
    once, and Lambda's retry, a minute later, picks the batch up where it stopped.

What the handler raises, and what it returns
    Bad input is permanent: an object that is gone, too large, not UTF-8 or without scenes, a
    manifest that is not JSON or breaks the schema, unknown or invalid options, an estimate over
    budget, a listed key outside `library/` (`library_key_problem`), an object S3 refuses to
    read (AccessDenied, NoSuchKey and any other error S3 answers that is not a throttle, a timeout
    or a 5xx). It is recorded in the batch as a failed item with its message, the other
    screenplays still start, and the handler returns normally; raising would only make Lambda
    retry a poison message, and the batch would never leave STARTING. Records that are not for
    this trigger (other prefixes, suffixes or event types) are ignored. What may pass raises:
    DynamoDB, S3 or Step Functions errors (throttling, 5xx, timeouts) and a lost lease, so that
    Lambda's asynchronous retries (twice, then the on-failure destination) run the delivery again,
    and the claims make that rerun start only what is missing.

Results and summary
    Each video writes under `videos/<video_id>/` as every run does. The batch is written to
    `batches/<batch_id>/batch.json` once every screenplay has a video or an error, and
    `batches/<batch_id>/summary.json` (`BatchSummary`: each video's final status, film, cost) when
    the last of them ends: whoever finishes last writes it, without anyone waiting. That is either
    the workflow's Finalize of the last video (`workflow.batch_summary.summarize_batch`, from
    `FilmTasks.finalize`) or the delivery itself when its videos were all over (or refused)
    before it finished starting them. Every party records its own end before reading the others'
    with consistent reads, so the last one always sees them all ended.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from script_to_film.domain.batch_input import (
    MAX_MANIFEST_BYTES,
    BatchInputError,
    BatchVideoOptions,
    Ignored,
    ManifestScreenplay,
    ObjectVersion,
    describe,
    library_key_problem,
    merge_options,
    metadata_options,
    objects_in,
    parse_manifest,
)
from script_to_film.domain.errors import (
    InvalidInputError,
    NotFoundError,
    ObjectRefusedError,
    ScriptToFilmError,
)
from script_to_film.domain.keys import batch_record_key
from script_to_film.domain.limits import MAX_SCREENPLAY_BYTES
from script_to_film.domain.models import (
    BatchItemRecord,
    BatchItemState,
    BatchRecord,
    BatchStatus,
    VideoRecord,
    VideoStatus,
    now_iso,
)
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.ports import Backend, StoredObject
from script_to_film.services.submission import start_video
from script_to_film.workflow.batch_summary import BatchSource, batch_source, summarize_batch

LEASE_MARGIN_SECONDS = 10.0
"""Added to a delivery's remaining time: clocks of different invocations may disagree a little."""


class BatchLeaseLostError(ScriptToFilmError):
    """Another delivery took this batch over: this one stops, and Lambda's retry finds it done."""


# What a delivery answers, and what a batch leaves in S3 ----------------------------------------


class FailedItem(BaseModel):
    number: int
    name: str
    error: str


class BatchResult(BaseModel):
    """What one delivery did with one object version."""

    batch_id: str
    bucket: str
    key: str
    version_id: str | None
    duplicate: bool = Field(default=False, description="an earlier delivery of this version made the batch")
    in_progress: bool = Field(default=False, description="another delivery is starting its videos right now")
    started: list[str] = Field(default_factory=list, description="videos this delivery started")
    videos: list[str] = Field(default_factory=list, description="every video the batch has so far")
    failed: list[FailedItem] = Field(default_factory=list)


class DeliveryResult(BaseModel):
    """The handler's answer to one S3 event."""

    batches: list[BatchResult] = Field(default_factory=list)
    ignored: list[Ignored] = Field(default_factory=list)


class BatchDocumentItem(BaseModel):
    number: int
    name: str
    key: str | None
    video_id: str | None
    error: str | None


class BatchDocument(BaseModel):
    """`batches/<batch_id>/batch.json`: what the batch started."""

    batch_id: str
    name: str
    source: BatchSource
    created_at: str
    items: list[BatchDocumentItem]


# Handling a delivery ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Planned:
    """A screenplay of the batch, before it is claimed: how to read it, or why it cannot start."""

    number: int
    name: str
    key: str | None
    read: Callable[[], bytes] | None = None
    options: VideoOptions | None = None
    error: str | None = None


def handle_event(event: Mapping[str, Any], backend: Backend, *, remaining_seconds: float) -> DeliveryResult:
    """Start what an S3 event's uploads ask for; `remaining_seconds` is how long this Lambda
    invocation may still run (the lease a delivery holds on the batches it works on)."""
    objects, ignored = objects_in(event)
    return DeliveryResult(
        batches=[deliver(backend, obj, remaining_seconds=remaining_seconds) for obj in objects],
        ignored=ignored,
    )


def deliver(backend: Backend, obj: ObjectVersion, *, remaining_seconds: float) -> BatchResult:
    """Start the videos of one object version, unless another delivery of it did or is doing so."""
    owner = uuid.uuid4().hex
    now = time.time()
    lease_until = now + remaining_seconds + LEASE_MARGIN_SECONDS
    batch = BatchRecord(
        id=obj.batch_id,
        bucket=obj.bucket,
        key=obj.key,
        version_id=obj.version_id,
        sequencer=obj.sequencer,
        name=obj.name,
        owner=owner,
        lease_until=lease_until,
        created_at=now_iso(),
    )
    earlier = backend.batches.claim(batch)
    if earlier is not None:
        if earlier.status is BatchStatus.STARTED:
            # The delivery that started the batch may have failed writing the summary of videos
            # that had all ended; this retry is the one chance left to write it.
            summarize_batch(backend, earlier.id)
        if earlier.status is not BatchStatus.STARTING:
            return _result(earlier, duplicate=True)
        # A delivery that is still running keeps the batch; one whose lease ran out is over.
        if earlier.lease_until >= now or not backend.batches.take_over(earlier, owner, lease_until, now):
            return _result(earlier, duplicate=True, in_progress=True)
        batch = earlier.model_copy(update={"owner": owner, "lease_until": lease_until})
    try:
        started = _start_batch(backend, obj, batch)
    except Exception:
        backend.batches.release(batch.id, owner)
        raise
    return _result(backend.batches.get(batch.id), started=started)


def _start_batch(backend: Backend, obj: ObjectVersion, batch: BatchRecord) -> list[str]:
    name, planned = _plan(backend, obj)
    started = [video for item in planned if (video := _start_item(backend, batch, item)) is not None]
    final = backend.batches.get(batch.id)
    document = BatchDocument(
        batch_id=batch.id,
        name=name,
        source=batch_source(final),
        created_at=final.created_at,
        items=[
            BatchDocumentItem(number=i.number, name=i.name, key=i.key, video_id=i.video_id, error=i.error)
            for i in final.items
        ],
    )
    backend.objects.put_json(batch_record_key(batch.id), document.model_dump(mode="json"))
    if not backend.batches.set_status(
        batch.id, BatchStatus.STARTED, expected=BatchStatus.STARTING, owner=batch.owner, name=name
    ):
        raise BatchLeaseLostError(f"batch {batch.id} was taken over before it was marked started")
    # Videos that ended before the batch was marked started could not write the summary.
    summarize_batch(backend, batch.id)
    return started


def _plan(backend: Backend, obj: ObjectVersion) -> tuple[str, list[_Planned]]:
    """The batch's name and its screenplays, in order. A problem with the object itself makes it
    a batch of one failed item, so that it is recorded and never retried."""
    limit = MAX_MANIFEST_BYTES if obj.is_manifest else MAX_SCREENPLAY_BYTES
    try:
        uploaded = _read(backend, obj.bucket, obj.key, obj.version_id, limit)
        uploader_options = metadata_options(uploaded.metadata, obj.key)
        if not obj.is_manifest:
            options = merge_options(uploader_options)
            return obj.name, [
                _Planned(1, obj.name, obj.key, read=lambda: uploaded.body, options=options),
            ]
        manifest = parse_manifest(uploaded.body, obj.key)
        defaults = merge_options(uploader_options, manifest.defaults)
    except (BatchInputError, ValidationError) as error:
        message = describe(error) if isinstance(error, ValidationError) else str(error)
        return obj.name, [_Planned(1, obj.name, obj.key, error=message)]
    name = manifest.name or obj.name
    return name, [
        _plan_entry(backend, obj, number, entry, defaults)
        for number, entry in enumerate(manifest.screenplays, start=1)
    ]


def _plan_entry(
    backend: Backend, obj: ObjectVersion, number: int, entry: ManifestScreenplay, defaults: BatchVideoOptions
) -> _Planned:
    key = entry.key
    name = entry.name or (PurePosixPath(key).stem if key else f"screenplay {number}")
    try:
        options = merge_options(defaults.model_dump(exclude_unset=True), entry.options)
    except ValidationError as error:
        return _Planned(number, name, key, error=f"options: {describe(error)}")
    if key is None:
        text = str(entry.text)
        return _Planned(number, name, None, read=lambda: text.encode("utf-8"), options=options)
    problem = library_key_problem(key)
    if problem is not None:
        return _Planned(number, name, key, error=problem)
    return _Planned(
        number,
        name,
        key,
        read=lambda: _read(backend, obj.bucket, key, None, MAX_SCREENPLAY_BYTES).body,
        options=options,
    )


def _read(backend: Backend, bucket: str, key: str, version_id: str | None, limit: int) -> StoredObject:
    try:
        found = backend.objects.read(bucket, key, version_id, limit)
    except (NotFoundError, ObjectRefusedError) as error:
        raise BatchInputError(str(error)) from None
    if found.truncated:
        raise BatchInputError(f"{key} is larger than {limit:,} bytes")
    return found


def _start_item(backend: Backend, batch: BatchRecord, planned: _Planned) -> str | None:
    """Start one screenplay unless it already was; the id of the video started, if one was."""
    owner = batch.owner
    claim = BatchItemRecord(number=planned.number, name=planned.name, key=planned.key, owner=owner)
    earlier = backend.batches.claim_item(batch.id, claim)
    if earlier is not None:
        if earlier.state is not BatchItemState.CLAIMED:
            return None
        if _resume(backend, batch, earlier):
            return None
    if planned.error is not None or planned.read is None or planned.options is None:
        _record(backend, batch, planned.number, state=BatchItemState.FAILED, error=planned.error)
        return None

    def claim_for(video: VideoRecord) -> None:
        # The video's id on the claim before the video is stored: a delivery that resumes the
        # batch after a crash can then tell whether this start got through.
        if not backend.batches.update_item(batch.id, planned.number, owner, video_id=video.id):
            raise BatchLeaseLostError(
                f"batch {batch.id} was taken over while starting screenplay {planned.number}"
            )
        video.batch_id = batch.id

    try:
        source = planned.read()
        video = start_video(backend, source, planned.options, before_storing=claim_for)
    except (InvalidInputError, ValidationError) as error:
        message = describe(error) if isinstance(error, ValidationError) else str(error)
        _record(backend, batch, planned.number, state=BatchItemState.FAILED, error=message)
        return None
    _record(backend, batch, planned.number, state=BatchItemState.STARTED, video_id=video.id)
    return video.id


def _resume(backend: Backend, batch: BatchRecord, item: BatchItemRecord) -> bool:
    """Take over a screenplay a delivery that died had claimed; True when it was in fact started
    (now recorded), False when it must be started."""
    if not backend.batches.update_item(batch.id, item.number, str(item.owner), owner=batch.owner):
        raise BatchLeaseLostError(f"batch {batch.id} was taken over while resuming screenplay {item.number}")
    if item.video_id is None:
        return False  # it died before storing anything of the video
    video = backend.videos.get_header(item.video_id)
    if video is None:
        return False  # … or before the video itself was written, and so before it was started
    if video.execution_arn or backend.orchestrator.find(video.id):
        _record(backend, batch, item.number, state=BatchItemState.STARTED, video_id=video.id)
        return True
    # Stored but never started: retire it, so that nothing waits for it, and start afresh.
    backend.videos.set_status(video.id, VideoStatus.FAILED)
    return False


def _record(backend: Backend, batch: BatchRecord, number: int, **fields: Any) -> None:
    if not backend.batches.update_item(batch.id, number, batch.owner, **fields):
        raise BatchLeaseLostError(f"batch {batch.id} was taken over before screenplay {number} was recorded")


def _result(
    batch: BatchRecord,
    *,
    duplicate: bool = False,
    in_progress: bool = False,
    started: list[str] | None = None,
) -> BatchResult:
    return BatchResult(
        batch_id=batch.id,
        bucket=batch.bucket,
        key=batch.key,
        version_id=batch.version_id,
        duplicate=duplicate,
        in_progress=in_progress,
        started=started or [],
        videos=[
            item.video_id for item in batch.items if item.state is BatchItemState.STARTED and item.video_id
        ],
        failed=[
            FailedItem(number=item.number, name=item.name, error=item.error or "not started")
            for item in batch.items
            if item.state is BatchItemState.FAILED
        ],
    )
