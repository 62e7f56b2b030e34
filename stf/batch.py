"""`stf batch FILES…`: what dropping screenplays into the bucket's `incoming/` does, on the
embedded local stack.

Every file is checked first (a screenplay that cannot be filmed, a manifest that breaks the
schema, a listed screenplay that is missing or not a plain key under `library/`, which is never
looked for outside the manifest's `library/` folder: exit 2, nothing started). Then each one is uploaded
to `incoming/` with the command line's options as its `stf-options` metadata (a manifest's own
defaults and options take precedence over them), together with the screenplays a manifest lists
by key, read from the manifest's folder laid out like the bucket (`library/a.fountain` beside
the manifest is uploaded as `library/a.fountain`). The S3 event of each upload is built from
the upload's answer and delivered to the trigger's own handler, as S3 would. When every video has
ended, each is exported like `stf run` does, with each batch's `batch.json` and `summary.json`.

Exit statuses: 0 every video SUCCEEDED, 3 some did not, 4 none made a film, 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from script_to_film.domain.batch_input import (
    INCOMING_PREFIX,
    MANIFEST_SUFFIX,
    OPTIONS_METADATA,
    SCREENPLAY_SUFFIX,
    describe,
    library_key_problem,
    merge_options,
    parse_manifest,
    s3_notification,
)
from script_to_film.domain.errors import InvalidInputError
from script_to_film.domain.keys import batch_record_key, batch_summary_key
from script_to_film.domain.models import BatchItemState, VideoRecord
from script_to_film.domain.options import VideoOptions
from script_to_film.services.batch import DeliveryResult
from script_to_film.services.submission import prepare
from script_to_film.workflow.batch_summary import BatchSummary, batch_status
from stf.report import BatchProgress, batch_table
from stf.usage import read_input_file

if TYPE_CHECKING:
    from infra.local.stack import LocalStack

EXIT_BY_BATCH_STATUS = {"SUCCEEDED": 0, "PARTIAL": 3, "FAILED": 4}


class BatchUsageError(InvalidInputError):
    """A file given to `stf batch` cannot be used."""


@dataclass
class _Upload:
    """One file to drop into `incoming/`, and the screenplays a manifest lists by key."""

    path: Path
    key: str
    body: bytes
    listed: dict[str, bytes] = field(default_factory=dict)


def run_batch(args: argparse.Namespace) -> int:
    chosen = {
        "provider": args.provider,
        "model": args.model,
        "style": args.style,
        "poll_seconds": args.poll_seconds,
        "scene_timeout_seconds": args.scene_timeout,
        "max_budget_usd": args.max_budget_usd,
    }
    options = {name: value for name, value in chosen.items() if value is not None}
    uploads = check_files(args.files, options)

    from infra.local.stack import BATCH_FUNCTION, LocalStack

    with LocalStack() as stack:
        deliveries = [deliver(stack, upload, options, BATCH_FUNCTION) for upload in uploads]
        batch_ids = [batch.batch_id for delivery in deliveries for batch in delivery.batches]
        names = _video_names(stack, batch_ids)
        videos = [stack.backend.videos.get(video_id) for video_id in names]
        with BatchProgress(videos, names) as progress:
            finals = wait_all(stack, videos, on_progress=progress.update)
        folders = {video.id: stack.export(video, args.out) for video in finals}
        summaries = [_export_batch(stack, batch_id, args.out) for batch_id in batch_ids]
    status = batch_status(item.status for summary in summaries for item in summary.items)
    if args.json:
        print(
            json.dumps(
                {"status": status, "batches": [s.model_dump(mode="json") for s in summaries]}, indent=2
            )
        )
    else:
        batch_table(summaries, folders)
    return EXIT_BY_BATCH_STATUS[status]


def check_files(paths: Sequence[Path], options: Mapping[str, Any]) -> list[_Upload]:
    """Everything the command would upload, each screenplay checked as the trigger will check it;
    BatchUsageError (exit 2) for the first one that would not start."""
    try:
        base = merge_options(options)
    except ValidationError as error:
        raise BatchUsageError(f"options: {describe(error)}") from None
    uploads: list[_Upload] = []
    for path in paths:
        body = read_input_file(path)
        key = INCOMING_PREFIX + path.name
        if any(upload.key == key for upload in uploads):
            raise BatchUsageError(f"{path}: another file is named {path.name} too; names must differ")
        if path.suffix == SCREENPLAY_SUFFIX:
            _check(str(path), body, base)
            uploads.append(_Upload(path, key, body))
        elif path.suffix == MANIFEST_SUFFIX:
            uploads.append(_Upload(path, key, body, _check_manifest(path, body, base)))
        else:
            raise BatchUsageError(
                f"{path}: not a {SCREENPLAY_SUFFIX} screenplay or a {MANIFEST_SUFFIX} manifest"
            )
    return uploads


def _check_manifest(path: Path, body: bytes, base: VideoOptions) -> dict[str, bytes]:
    """The screenplays the manifest lists by key, read from beside it; each one checked."""
    manifest = parse_manifest(body, str(path))
    listed: dict[str, bytes] = {}
    try:
        defaults = merge_options(base.model_dump(exclude_unset=True), manifest.defaults)
    except ValidationError as error:
        raise BatchUsageError(f"{path}: defaults: {describe(error)}") from None
    for number, entry in enumerate(manifest.screenplays, start=1):
        where = f"{path}: screenplay {number}"
        try:
            options = merge_options(defaults.model_dump(exclude_unset=True), entry.options)
        except ValidationError as error:
            raise BatchUsageError(f"{where}: options: {describe(error)}") from None
        if entry.key is None:
            _check(where, str(entry.text).encode("utf-8"), options)
            continue
        problem = library_key_problem(entry.key)
        if problem is not None:
            raise BatchUsageError(f"{where}: {problem}")
        local = path.parent / entry.key
        text = read_input_file(local)
        _check(str(local), text, options)
        listed[entry.key] = text
    return listed


def _check(where: str, source: bytes, options: VideoOptions) -> None:
    try:
        prepare(source, options)
    except InvalidInputError as error:
        raise BatchUsageError(f"{where}: {error}") from None


def deliver(
    stack: LocalStack, upload: _Upload, options: Mapping[str, Any], function_name: str
) -> DeliveryResult:
    """Upload the file (and what it lists), then hand the trigger the event S3 would send."""
    s3, bucket = stack.backend.aws.s3, stack.backend.aws.bucket
    for key, body in upload.listed.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    response = s3.put_object(
        Bucket=bucket,
        Key=upload.key,
        Body=upload.body,
        Metadata={OPTIONS_METADATA: json.dumps(dict(options))},
    )
    event = s3_notification(
        bucket,
        upload.key,
        version_id=response.get("VersionId"),
        # S3's sequencer grows with every write to a key; the clock does too.
        sequencer=f"{time.time_ns():020X}",
        size=len(upload.body),
        etag=str(response["ETag"]).strip('"'),
    )
    return DeliveryResult.model_validate(stack.invoke(function_name, event))


def _video_names(stack: LocalStack, batch_ids: Sequence[str]) -> dict[str, str]:
    """Video id → the screenplay's name in its batch, for every video the batches started."""
    return {
        item.video_id: item.name
        for batch_id in batch_ids
        for item in stack.backend.batches.get(batch_id).items
        if item.video_id and item.state is BatchItemState.STARTED
    }


def wait_all(
    stack: LocalStack,
    videos: Sequence[VideoRecord],
    *,
    on_progress: Callable[[VideoRecord], None],
    interval: float = 0.25,
    timeout: float = 3600,
) -> list[VideoRecord]:
    """Block until every video's execution has ended; the videos as they ended, in order."""
    ended: dict[str, VideoRecord] = {}
    deadline = time.monotonic() + timeout
    while len(ended) < len(videos):
        for video in videos:
            if video.id in ended:
                continue
            status = stack.execution_status(str(video.execution_arn))
            current = stack.backend.videos.get(video.id)
            on_progress(current)
            if status != "RUNNING":
                ended[video.id] = current
        if len(ended) < len(videos):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(videos) - len(ended)} videos still running after {timeout:.0f} s")
            time.sleep(interval)
    return [ended[video.id] for video in videos]


def _export_batch(stack: LocalStack, batch_id: str, out: Path) -> BatchSummary:
    """Write the batch's record and summary to `out/<batch_id>/`."""
    summary = BatchSummary.model_validate(stack.backend.objects.get_json(batch_summary_key(batch_id)))
    folder = out / batch_id
    folder.mkdir(parents=True, exist_ok=True)
    record = stack.backend.objects.get_json(batch_record_key(batch_id))
    (folder / "batch.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    (folder / "summary.json").write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return summary
