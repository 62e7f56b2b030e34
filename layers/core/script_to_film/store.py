"""DynamoDB and S3 access: scripts, videos, scenes, submit claims, jobs and clips.

One table, keyed by `pk`/`sk`:

| item         | pk                | sk                     |
|--------------|-------------------|------------------------|
| script       | `SCRIPT#<id>`     | `SCRIPT`               |
| video        | `VIDEO#<id>`      | `VIDEO`                |
| scene        | `VIDEO#<id>`      | `SCENE#<nnn>`          |
| submit claim | `VIDEO#<id>`      | `SUBMIT#<nnn>#<try>`   |
| keyframe claim | `VIDEO#<id>`    | `KEYFRAME#<nnn>#<image task>` |
| batch        | `BATCH#<id>`      | `BATCH`                |
| batch item   | `BATCH#<id>`      | `ITEM#<nnn>`           |

Scripts and videos also carry `kind` and `created_at`, the keys of the `by_kind` index that lists
them newest first (`list_scripts`, `list_videos`, a page at a time behind an opaque token). One
query on `VIDEO#<id>` returns a video with all its scenes.

The bucket holds `scripts/<id>.fountain` and its breakdown `scripts/<id>.breakdown.json`, and
under `videos/<video_id>/` the scene jobs (`jobs/scene_NNN.json`), the clips (`scene_NNN.mp4`),
`film.mp4` and `manifest.json`; under `batches/<batch_id>/` what an S3 batch started
(`batch.json`) and how it ended (`summary.json`).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from script_to_film.domain import untrusted_json
from script_to_film.domain.errors import InvalidInputError, ScriptToFilmError
from script_to_film.domain.models import (
    BatchItemRecord,
    BatchRecord,
    BatchStatus,
    SceneJob,
    SceneRecord,
    SceneStatus,
    ScriptRecord,
    ScriptStatus,
    VideoRecord,
    VideoStatus,
)
from script_to_film.domain.status import scene_sources, video_sources

BY_KIND_INDEX = "by_kind"
LIVE_VIDEO = frozenset({VideoStatus.QUEUED, VideoStatus.RUNNING})
"""A video for which provider calls may still be made."""
CLIP_CONTENT_TYPE = "video/mp4"
PRESIGNED_URL_MAX_SECONDS = 3600
"""Presigned URLs live an hour at most: long enough to download a film, short enough that a
leaked link stops working the same afternoon."""


class NotFoundError(ScriptToFilmError):
    """No such script, video or scene."""


class InvalidPageTokenError(InvalidInputError):
    """A page token that this store did not hand out (or one for another listing)."""


class VideoEndedError(ScriptToFilmError):
    """The video is no longer QUEUED or RUNNING (cancelled, or ended by the cleanup): nothing more
    is paid for it. A claim on a paid provider call is refused with this error."""


class TransientAwsError(ScriptToFilmError):
    """An AWS call failed in a way worth retrying (throttling, a 5xx, a dropped connection, a
    transaction conflict): the workflow's Retry matches this class name, never `States.TaskFailed`."""


_TRANSIENT_AWS_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def is_transient_aws_error(error: BaseException) -> bool:
    """Whether an exception from boto3 (or one raised while handling it, as boto3's
    `S3UploadFailedError` is) is throttling, a server error or a lost connection."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | HTTPClientError):
            return True
        if isinstance(current, ClientError):
            response = current.response
            code = str(response.get("Error", {}).get("Code", ""))
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            reasons = {str(reason.get("Code")) for reason in response.get("CancellationReasons") or []}
            return code in _TRANSIENT_AWS_CODES or status >= 500 or bool(reasons & _TRANSIENT_AWS_CODES)
        current = current.__cause__ or current.__context__
    return False


class SubmitInDoubtError(ScriptToFilmError):
    """An earlier try claimed this submit and never recorded a task id.

    The provider may have been called (and paid) before that try crashed, and nothing can tell:
    the scene fails rather than risk paying twice.
    """


class StoreSettings(BaseModel):
    """Names and ARNs from the environment (never secrets)."""

    table_name: str
    bucket_name: str
    state_machine_arn: str | None = None
    scene_state_machine_arn: str | None = None
    """The SceneWorkflow state machine, whose executions (one per scene) a cancel stops too."""
    writer_function: str | None = None
    """The screenplay writer Lambda, invoked asynchronously by `invoke_writer`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StoreSettings:
        try:
            return cls(
                table_name=env["STF_TABLE"],
                bucket_name=env["STF_BUCKET"],
                state_machine_arn=env.get("STF_STATE_MACHINE_ARN"),
                scene_state_machine_arn=env.get("STF_SCENE_STATE_MACHINE_ARN"),
                writer_function=env.get("STF_WRITER_FUNCTION"),
            )
        except KeyError as missing:
            raise RuntimeError(f"environment variable {missing} is not set") from None


class StoredObject(BaseModel):
    """An object read from S3, up to a size limit."""

    body: bytes
    truncated: bool
    metadata: dict[str, str]
    version_id: str | None = None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _submit_claim(number: int, attempt: int) -> str:
    return f"SUBMIT#{number:03d}#{attempt}"


def scene_sk(number: int) -> str:
    return f"SCENE#{number:03d}"


def video_prefix(video_id: str) -> str:
    return f"videos/{video_id}/"


def job_key(video_id: str, number: int) -> str:
    return f"{video_prefix(video_id)}jobs/scene_{number:03d}.json"


def clip_key(video_id: str, number: int) -> str:
    return f"{video_prefix(video_id)}scene_{number:03d}.mp4"


def film_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}film.mp4"


def manifest_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}manifest.json"


def script_key(script_id: str) -> str:
    return f"scripts/{script_id}.fountain"


def breakdown_key(script_id: str) -> str:
    return f"scripts/{script_id}.breakdown.json"


def batch_record_key(batch_id: str) -> str:
    return f"batches/{batch_id}/batch.json"


def batch_summary_key(batch_id: str) -> str:
    return f"batches/{batch_id}/summary.json"


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB wants Decimals, not floats, and has no use for None."""
    item: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        item[key] = Decimal(str(value)) if isinstance(value, float) else value
    return item


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: (int(value) if value == value.to_integral_value() else float(value))
        if isinstance(value, Decimal)
        else value
        for key, value in item.items()
    }


_PAGE_KEY_FIELDS = frozenset({"pk", "sk", "kind", "created_at"})


def _encode_page_token(last_key: Mapping[str, Any]) -> str:
    """The index's LastEvaluatedKey as an opaque, URL-safe token."""
    document = json.dumps({name: last_key[name] for name in sorted(_PAGE_KEY_FIELDS)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii").rstrip("=")


_PAGE_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_PAGE_KEY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")


def _decode_page_token(token: str, kind: str) -> dict[str, str]:
    """Back to an ExclusiveStartKey, accepting only a key of this listing's own shape: anything
    else would reach DynamoDB, which answers a malformed start key with an error of its own."""
    refused = InvalidPageTokenError(f"page token {token[:40]!r} is not one this listing handed out")
    try:
        key = untrusted_json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(key, dict) or set(key) != _PAGE_KEY_FIELDS:
        raise refused
    if not all(isinstance(value, str) for value in key.values()):
        raise refused
    prefix, _, item_id = key["pk"].partition("#")
    if (
        key["kind"] != kind
        or prefix != kind.upper()
        or key["sk"] != kind.upper()
        or not _PAGE_KEY_ID.fullmatch(item_id)
        or not _PAGE_KEY_TIME.fullmatch(key["created_at"])
    ):
        raise refused
    return key


class FilmStore:
    """The only place that reads and writes the project's table and bucket."""

    transfer_config: Any = None
    """boto3's `TransferConfig` for file uploads and downloads; None keeps its defaults
    (multipart above 8 MiB)."""

    def __init__(self, settings: StoreSettings, *, session: Any = None) -> None:
        self.settings = settings
        self._session = session

    @cached_property
    def _boto(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3

        return boto3.session.Session()

    @cached_property
    def table(self) -> Any:
        return self._boto.resource("dynamodb").Table(self.settings.table_name)

    @cached_property
    def s3(self) -> Any:
        return self._boto.client("s3")

    @cached_property
    def sfn(self) -> Any:
        return self._boto.client("stepfunctions")

    @cached_property
    def lambda_client(self) -> Any:
        return self._boto.client("lambda")

    @cached_property
    def _presigner(self) -> Any:
        from botocore.config import Config

        # SigV4 explicitly: botocore still presigns some S3 URLs with the deprecated SigV2.
        return self._boto.client("s3", config=Config(signature_version="s3v4"))

    @property
    def bucket(self) -> str:
        return self.settings.bucket_name

    # Scripts -----------------------------------------------------------------------------------

    def put_script(self, script: ScriptRecord, text: str, breakdown: Any = None) -> None:
        """The text (and its breakdown, a JSON document) to S3 first, then the item that points at it."""
        self.s3.put_object(
            Bucket=self.bucket, Key=script_key(script.id), Body=text.encode("utf-8"), ContentType="text/plain"
        )
        if breakdown is not None:
            self.put_script_breakdown(script.id, breakdown)
        fields = script.model_dump(mode="json")
        self.table.put_item(
            Item=_to_item({"pk": f"SCRIPT#{script.id}", "sk": "SCRIPT", "kind": "script", **fields})
        )

    def put_script_item(self, script: ScriptRecord) -> None:
        """The item alone, for a script whose text does not exist yet (WRITING)."""
        fields = script.model_dump(mode="json")
        self.table.put_item(
            Item=_to_item({"pk": f"SCRIPT#{script.id}", "sk": "SCRIPT", "kind": "script", **fields}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_script_text(self, script_id: str) -> str:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=script_key(script_id))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            raise NotFoundError(f"script {script_id} has no text") from None
        return bytes(body).decode("utf-8")

    def put_script_breakdown(self, script_id: str, breakdown: Any) -> None:
        """The script's breakdown, computed once when it is stored, so that reading it costs a read."""
        self.s3.put_object(
            Bucket=self.bucket,
            Key=breakdown_key(script_id),
            Body=json.dumps(breakdown, separators=(",", ":")).encode("utf-8"),
            ContentType="application/json",
        )

    def get_script_breakdown(self, script_id: str) -> bytes | None:
        """The stored breakdown's JSON, or None for a script stored without one."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=breakdown_key(script_id))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return bytes(body)

    def list_scripts(
        self, limit: int, page_token: str | None = None
    ) -> tuple[list[ScriptRecord], str | None]:
        """A page of scripts, newest first, and the token of the next page (None on the last)."""
        items, token = self._list_kind("script", limit, page_token)
        return [ScriptRecord.model_validate(item) for item in items], token

    def get_script(self, script_id: str) -> ScriptRecord:
        item = self.table.get_item(
            Key={"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"no script {script_id}")
        return ScriptRecord.model_validate(_from_item(item))

    def claim_script_writing(self, script_id: str, lease_seconds: int) -> bool:
        """Take the right to write a WRITING script for `lease_seconds`; False when it is not
        WRITING any more or another delivery holds an unexpired claim.

        The writer is invoked asynchronously, and async invokes are at-least-once: the claim keeps
        a duplicate delivery from paying Claude for a second screenplay. A claim lasts as long as
        the writer may run, so Lambda's retry of a delivery that died finds it expired and takes over.
        """
        now = int(datetime.now(UTC).timestamp())
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.update_item(
                Key={"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
                UpdateExpression="SET writer_claim_expires = :expires",
                ConditionExpression="#status = :writing AND "
                "(attribute_not_exists(writer_claim_expires) OR writer_claim_expires < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expires": now + lease_seconds,
                    ":now": now,
                    ":writing": ScriptStatus.WRITING.value,
                },
            )
        except client_errors.ConditionalCheckFailedException:
            return False
        return True

    def release_script_writing(self, script_id: str) -> None:
        """Give the claim back, so that a retry may write the script after an unexpected failure."""
        self._conditional_update(
            {"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
            None,
            None,
            {"writer_claim_expires": None},
        )

    def finish_script(
        self,
        script_id: str,
        status: ScriptStatus,
        text: str | None = None,
        breakdown: Any = None,
        **fields: Any,
    ) -> bool:
        """Move a WRITING script to READY (its text and breakdown to S3 first) or FAILED, once;
        False when it was not WRITING."""
        if text is not None:
            self.s3.put_object(
                Bucket=self.bucket,
                Key=script_key(script_id),
                Body=text.encode("utf-8"),
                ContentType="text/plain",
            )
        if breakdown is not None:
            self.put_script_breakdown(script_id, breakdown)
        return self._conditional_update(
            {"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
            status.value,
            {ScriptStatus.WRITING},
            {**fields, "writer_claim_expires": None},
        )

    # Executions --------------------------------------------------------------------------------

    def execution_arn(self, video_id: str) -> str:
        """The ARN the video's execution has or will have: executions are named after videos."""
        if not self.settings.state_machine_arn:
            raise RuntimeError("STF_STATE_MACHINE_ARN is not set")
        return self.settings.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{video_id}"

    def scene_execution_arn(self, execution_name: str) -> str | None:
        """The ARN a scene's SceneWorkflow execution has or will have, when the stack says where."""
        machine = self.settings.scene_state_machine_arn
        return machine.replace(":stateMachine:", ":execution:", 1) + f":{execution_name}" if machine else None

    def start_execution(self, video_id: str, execution_input: Mapping[str, Any]) -> str:
        """Start the film workflow; the execution is named after the video, so a repeated start
        of the same video cannot make a second run."""
        import json

        if not self.settings.state_machine_arn:
            raise RuntimeError("STF_STATE_MACHINE_ARN is not set")
        response = self.sfn.start_execution(
            stateMachineArn=self.settings.state_machine_arn, name=video_id, input=json.dumps(execution_input)
        )
        arn = str(response["executionArn"])
        self.record_execution(video_id, arn)
        return arn

    def record_execution(self, video_id: str, execution_arn: str) -> None:
        self.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
            UpdateExpression="SET execution_arn = :a",
            ExpressionAttributeValues={":a": execution_arn},
        )

    def stop_execution(self, execution_arn: str, cause: str) -> None:
        """Stop a running execution; one that has already ended is left as it is."""
        try:
            self.sfn.stop_execution(executionArn=execution_arn, error="Cancelled", cause=cause)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return

    def invoke_writer(self, event: Mapping[str, Any]) -> None:
        """Start the screenplay writer asynchronously: the caller never waits on Claude."""
        if not self.settings.writer_function:
            raise RuntimeError("STF_WRITER_FUNCTION is not set")
        self.lambda_client.invoke(
            FunctionName=self.settings.writer_function,
            InvocationType="Event",
            Payload=json.dumps(event).encode("utf-8"),
        )

    # Videos and scenes -----------------------------------------------------------------------

    def create_video(self, video: VideoRecord, jobs: Iterable[SceneJob]) -> None:
        """Write the jobs to S3, then the video and its scenes; the video item last, so a video
        that can be read is complete."""
        for job in jobs:
            self.put_json(job_key(video.id, job.scene.number), job.model_dump(mode="json"))
        with self.table.batch_writer() as batch:
            for scene in video.scenes:
                batch.put_item(Item=self._scene_item(video.id, scene))
        fields = video.model_dump(mode="json", exclude={"scenes"})
        self.table.put_item(
            Item=_to_item({"pk": f"VIDEO#{video.id}", "sk": "VIDEO", "kind": "video", **fields}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def _scene_item(self, video_id: str, scene: SceneRecord) -> dict[str, Any]:
        return _to_item(
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(scene.number), **scene.model_dump(mode="json")}
        )

    def get_video(self, video_id: str) -> VideoRecord:
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        # Read consistently: a cancel must see the task a submit has just recorded.
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"VIDEO#{video_id}"),
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        video = next((item for item in items if item["sk"] == "VIDEO"), None)
        if video is None:
            raise NotFoundError(f"no video {video_id}")
        scenes = [SceneRecord.model_validate(_from_item(i)) for i in items if i["sk"].startswith("SCENE#")]
        return VideoRecord.model_validate(
            {**_from_item(video), "scenes": sorted(scenes, key=lambda s: s.number)}
        )

    def list_videos(self, limit: int, page_token: str | None = None) -> tuple[list[VideoRecord], str | None]:
        """A page of videos (without their scenes), newest first, and the next page's token."""
        items, token = self._list_kind("video", limit, page_token)
        return [VideoRecord.model_validate(item) for item in items], token

    def _list_kind(
        self, kind: str, limit: int, page_token: str | None
    ) -> tuple[list[dict[str, Any]], str | None]:
        kwargs: dict[str, Any] = {
            "IndexName": BY_KIND_INDEX,
            "KeyConditionExpression": "#kind = :kind",
            "ExpressionAttributeNames": {"#kind": "kind"},
            "ExpressionAttributeValues": {":kind": kind},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if page_token is not None:
            kwargs["ExclusiveStartKey"] = _decode_page_token(page_token, kind)
        page = self.table.query(**kwargs)
        last = page.get("LastEvaluatedKey")
        return [_from_item(item) for item in page["Items"]], _encode_page_token(last) if last else None

    def set_video_status(self, video_id: str, status: VideoStatus, **fields: Any) -> bool:
        """Move the video to `status` if the transition table allows it; False when refused."""
        return self._conditional_update(
            {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, status.value, video_sources(status), fields
        )

    def update_video(self, video_id: str, **fields: Any) -> None:
        """Record facts about a video that do not change its status (its manifest's key)."""
        self._conditional_update({"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, None, None, fields)

    def set_scene_status(self, video_id: str, number: int, status: SceneStatus, **fields: Any) -> bool:
        """Move a scene to `status` if the transition table allows it; False when refused."""
        return self._conditional_update(
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, status.value, scene_sources(status), fields
        )

    def set_scene_status_if_task(
        self, video_id: str, number: int, status: SceneStatus, task_id: str | None, **fields: Any
    ) -> bool:
        """`set_scene_status`, only while the scene's provider task is still `task_id` (None: it
        has none): whoever ends a scene after cancelling the task it read must not end it over a
        task a submit recorded meanwhile. False when refused."""
        unchanged = "attribute_not_exists(#task)" if task_id is None else "#task = :task"
        values = {} if task_id is None else {":task": task_id}
        return self._conditional_update(
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)},
            status.value,
            scene_sources(status),
            fields,
            extra=(unchanged, {"#task": "provider_task_id"}, values),
        )

    def get_scene(self, video_id: str, number: int) -> SceneRecord:
        item = self.table.get_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"video {video_id} has no scene {number}")
        return SceneRecord.model_validate(_from_item(item))

    def update_scene(self, video_id: str, number: int, **fields: Any) -> None:
        """Record facts about a scene that do not change its status (progress, credits)."""
        self._conditional_update({"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, None, None, fields)

    def _conditional_update(
        self,
        key: dict[str, str],
        status: str | None,
        sources: Iterable[object] | None,
        fields: Mapping[str, Any],
        extra: tuple[str, Mapping[str, str], Mapping[str, Any]] | None = None,
    ) -> bool:
        values = {"updated_at": now_iso(), **fields}
        if status is not None:
            values["status"] = status
        sets, removes = [], []
        names: dict[str, str] = {}
        attribute_values: dict[str, Any] = {}
        for index, (name, value) in enumerate(values.items()):
            names[f"#f{index}"] = name
            if value is None:
                removes.append(f"#f{index}")
            else:
                sets.append(f"#f{index} = :v{index}")
                attribute_values[f":v{index}"] = _to_item({"v": value})["v"]
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        condition = "attribute_exists(pk)"
        if sources is not None:
            allowed = sorted(str(source) for source in sources)
            if not allowed:
                return False
            for index, source in enumerate(allowed):
                attribute_values[f":s{index}"] = source
            names["#status"] = "status"
            condition += f" AND #status IN ({', '.join(f':s{i}' for i in range(len(allowed)))})"
        if extra is not None:
            extra_condition, extra_names, extra_values = extra
            condition += f" AND {extra_condition}"
            names.update(extra_names)
            attribute_values.update(extra_values)
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
            )
        except client_errors.ConditionalCheckFailedException:
            return False
        return True

    # Submit claims: at most one paid provider call per (video, scene, try) ---------------------

    def claim_submit(self, video_id: str, number: int, attempt: int) -> str | None:
        """Claim the right to call the provider for this try of a scene (see `claim_once`)."""
        return self.claim_once(video_id, _submit_claim(number, attempt), f"scene {number} try {attempt}")

    def release_submit(self, video_id: str, number: int, attempt: int) -> None:
        self.release_claim(video_id, _submit_claim(number, attempt))

    def record_submit(self, video_id: str, number: int, attempt: int, task_id: str) -> None:
        self.record_claim(video_id, _submit_claim(number, attempt), task_id)

    def claim_once(self, video_id: str, claim: str, what: str) -> str | None:
        """Claim the right to make one paid provider call, named `claim` within the video.

        Returns None when the claim is new (go ahead and call), the task id when an earlier
        delivery already made the call and recorded it, and raises `SubmitInDoubtError` when an
        earlier delivery claimed it and never recorded what happened.
        """
        key = {"pk": f"VIDEO#{video_id}", "sk": claim}
        client = self.table.meta.client
        live = sorted(status.value for status in LIVE_VIDEO)
        try:
            # One transaction: the claim is written only while the video is live, so a cancel that
            # has been written is final for money, however late this call comes.
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.settings.table_name,
                            "Item": {**key, "claimed_at": now_iso()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.settings.table_name,
                            "Key": {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
                            "ConditionExpression": "#status IN (:live0, :live1)",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":live0": live[0], ":live1": live[1]},
                        }
                    },
                ]
            )
            return None
        except client.exceptions.TransactionCanceledException as error:
            reasons = [str(r.get("Code")) for r in error.response.get("CancellationReasons") or []]
            if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
                raise VideoEndedError(
                    f"video {video_id} is no longer QUEUED or RUNNING: {what} is not sent to the provider"
                ) from None
            if not reasons or reasons[0] != "ConditionalCheckFailed":
                raise
        existing = self.table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        task_id = existing.get("task_id")
        if task_id is None:
            raise SubmitInDoubtError(
                f"{what} was claimed at {existing.get('claimed_at')} and never recorded a provider "
                "task; not calling the provider again so it is never paid for twice"
            )
        return str(task_id)

    def release_claim(self, video_id: str, claim: str) -> None:
        """Give a claim back when the provider certainly accepted nothing (it answered an error)."""
        self.table.delete_item(Key={"pk": f"VIDEO#{video_id}", "sk": claim})

    def record_claim(self, video_id: str, claim: str, task_id: str) -> None:
        self.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": claim},
            UpdateExpression="SET task_id = :t",
            ExpressionAttributeValues={":t": task_id},
        )

    # Batches: one per object version dropped into `incoming/` ----------------------------------

    def claim_batch(self, batch: BatchRecord) -> BatchRecord | None:
        """Create the batch unless an earlier delivery of its object version did: None when this
        call created it, else the batch as it stands (with its items)."""
        fields = batch.model_dump(mode="json", exclude={"items"})
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.put_item(
                Item=_to_item({"pk": f"BATCH#{batch.id}", "sk": "BATCH", "kind": "batch", **fields}),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except client_errors.ConditionalCheckFailedException:
            return self.get_batch(batch.id)

    def get_batch(self, batch_id: str) -> BatchRecord:
        """The batch and its items, read consistently: a claim just written is always seen."""
        from boto3.dynamodb.conditions import Key

        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(f"BATCH#{batch_id}"),
            "ConsistentRead": True,
        }
        while True:
            page = self.table.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        header = next((item for item in items if item["sk"] == "BATCH"), None)
        if header is None:
            raise NotFoundError(f"no batch {batch_id}")
        entries = [
            BatchItemRecord.model_validate(_from_item(i)) for i in items if i["sk"].startswith("ITEM#")
        ]
        return BatchRecord.model_validate(
            {**_from_item(header), "items": sorted(entries, key=lambda item: item.number)}
        )

    def take_over_batch(self, batch: BatchRecord, owner: str, lease_until: float, now: float) -> bool:
        """Become the delivery that starts the batch's videos, if the one that held it is certainly
        over (its lease has run out) and nobody else took over first."""
        return self._update_if(
            {"pk": f"BATCH#{batch.id}", "sk": "BATCH"},
            {"owner": owner, "lease_until": lease_until},
            "#status = :starting AND #owner = :previous AND lease_until < :now",
            {":starting": BatchStatus.STARTING.value, ":previous": batch.owner, ":now": now},
        )

    def release_batch(self, batch_id: str, owner: str) -> None:
        """End this delivery's lease early, so that the retry of a delivery that failed need not
        wait for it to run out."""
        self._update_if(
            {"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
            {"lease_until": 0},
            "#owner = :owner",
            {":owner": owner},
        )

    def set_batch_status(
        self,
        batch_id: str,
        status: BatchStatus,
        *,
        expected: BatchStatus,
        owner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Move the batch from `expected` to `status` (only as `owner`, when given), with `fields`;
        False when refused."""
        condition = "#status = :expected" + (" AND #owner = :owner" if owner else "")
        values: dict[str, Any] = {":expected": expected.value}
        if owner:
            values[":owner"] = owner
        return self._update_if(
            {"pk": f"BATCH#{batch_id}", "sk": "BATCH"}, {**fields, "status": status.value}, condition, values
        )

    def claim_batch_item(self, batch_id: str, item: BatchItemRecord) -> BatchItemRecord | None:
        """Claim one screenplay of a batch before starting it: None when claimed now, else the
        item as an earlier delivery left it."""
        key = {"pk": f"BATCH#{batch_id}", "sk": f"ITEM#{item.number:03d}"}
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.put_item(
                Item=_to_item({**key, **item.model_dump(mode="json"), "updated_at": now_iso()}),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except client_errors.ConditionalCheckFailedException:
            existing = self.table.get_item(Key=key, ConsistentRead=True)["Item"]
        return BatchItemRecord.model_validate(_from_item(existing))

    def update_batch_item(self, batch_id: str, number: int, holder: str, **fields: Any) -> bool:
        """Record what became of a claimed screenplay, only while `holder` still holds its claim
        (a delivery that lost the batch to another must not write over it); False when refused.
        Passing `owner` hands the claim over."""
        return self._update_if(
            {"pk": f"BATCH#{batch_id}", "sk": f"ITEM#{number:03d}"},
            fields,
            "#owner = :holder",
            {":holder": holder},
        )

    def _update_if(
        self, key: dict[str, str], fields: Mapping[str, Any], condition: str, values: Mapping[str, Any]
    ) -> bool:
        """SET `fields` (None removes) and `updated_at` where `condition` holds; `#status` and
        `#owner` name those attributes in the condition."""
        names = {"#status": "status", "#owner": "owner"}
        attribute_values = _to_item(values)
        sets, removes = [], []
        for index, (name, value) in enumerate({**fields, "updated_at": now_iso()}.items()):
            names[f"#f{index}"] = name
            if value is None:
                removes.append(f"#f{index}")
            else:
                sets.append(f"#f{index} = :v{index}")
                attribute_values[f":v{index}"] = _to_item({"v": value})["v"]
        used = {name: attr for name, attr in names.items() if name in condition or name.startswith("#f")}
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=f"attribute_exists(pk) AND ({condition})",
                ExpressionAttributeNames=used,
                ExpressionAttributeValues=attribute_values,
            )
        except client_errors.ConditionalCheckFailedException:
            return False
        return True

    def get_video_header(self, video_id: str) -> VideoRecord | None:
        """The video without its scenes, read consistently (None when there is no such video):
        whoever finishes last among a batch's videos must see every other one finished."""
        item = self.table.get_item(Key={"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else VideoRecord.model_validate(_from_item(item))

    def find_execution(self, video_id: str) -> str | None:
        """The ARN of the video's execution if one was started (it is named after the video)."""
        arn = self.execution_arn(video_id)
        try:
            self.sfn.describe_execution(executionArn=arn)
        except self.sfn.exceptions.ExecutionDoesNotExist:
            return None
        return arn

    def read_object(self, bucket: str, key: str, version_id: str | None, max_bytes: int) -> StoredObject:
        """One version of an object (the current one without `version_id`), at most `max_bytes`
        of it: `truncated` says there was more. Raises NotFoundError when it is gone."""
        kwargs = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            response = self.s3.get_object(**kwargs)
        except self.s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "NoSuchVersion", "404"):
                raise NotFoundError(f"s3://{bucket}/{key} does not exist (any more)") from None
            raise
        with response["Body"] as body:
            data: bytes = body.read(max_bytes + 1)
        return StoredObject(
            body=data[:max_bytes],
            truncated=len(data) > max_bytes,
            metadata=dict(response.get("Metadata") or {}),
            version_id=response.get("VersionId"),
        )

    # S3 ----------------------------------------------------------------------------------------

    def put_json(self, key: str, document: Any) -> None:
        import json

        self.s3.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=json.dumps(document, indent=2).encode("utf-8"),
            ContentType="application/json",
        )

    def get_json(self, key: str) -> Any:
        import json

        return json.loads(self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())

    def get_job(self, video_id: str, number: int) -> SceneJob:
        return SceneJob.model_validate(self.get_json(job_key(video_id, number)))

    def upload_file(self, key: str, path: Path, content_type: str = CLIP_CONTENT_TYPE) -> None:
        """Upload a file, in parts above boto3's multipart threshold: memory stays constant."""
        self.s3.upload_file(
            str(path), self.bucket, key, ExtraArgs={"ContentType": content_type}, Config=self.transfer_config
        )

    def download_file(self, key: str, path: Path) -> None:
        """Download an object to a file; a missing object is NotFoundError."""
        try:
            self.s3.download_file(self.bucket, key, str(path), Config=self.transfer_config)
        except self.s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFoundError(f"s3://{self.bucket}/{key} does not exist") from None
            raise

    def presigned_url(self, key: str, expires_seconds: int = PRESIGNED_URL_MAX_SECONDS) -> str:
        """A URL anyone holding it can GET the object with, for `expires_seconds` (an hour at most)."""
        if not 1 <= expires_seconds <= PRESIGNED_URL_MAX_SECONDS:
            raise ValueError(f"presigned URLs live 1 to {PRESIGNED_URL_MAX_SECONDS} s, not {expires_seconds}")
        url = self._presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return str(url)
