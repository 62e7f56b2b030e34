"""DynamoDB and S3 access: scripts, videos, scenes, submit claims, jobs and clips.

One table, keyed by `pk`/`sk`:

| item         | pk                | sk                     |
|--------------|-------------------|------------------------|
| script       | `SCRIPT#<id>`     | `SCRIPT`               |
| video        | `VIDEO#<id>`      | `VIDEO`                |
| scene        | `VIDEO#<id>`      | `SCENE#<nnn>`          |
| submit claim | `VIDEO#<id>`      | `SUBMIT#<nnn>#<try>`   |

Scripts and videos also carry `kind` and `created_at`, the keys of the `by_kind` index that lists
them newest first. One query on `VIDEO#<id>` returns a video with all its scenes.

The bucket holds `scripts/<id>.fountain`, and under `videos/<video_id>/` the scene jobs
(`jobs/scene_NNN.json`), the clips (`scene_NNN.mp4`), `film.mp4` and `manifest.json`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from pydantic import BaseModel

from script_to_film.errors import ScriptToFilmError
from script_to_film.models import SceneJob, SceneRecord, SceneStatus, ScriptRecord, VideoRecord, VideoStatus
from script_to_film.status import scene_sources, video_sources

BY_KIND_INDEX = "by_kind"
CLIP_CONTENT_TYPE = "video/mp4"


class NotFoundError(ScriptToFilmError):
    """No such script, video or scene."""


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

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> StoreSettings:
        try:
            return cls(
                table_name=env["STF_TABLE"],
                bucket_name=env["STF_BUCKET"],
                state_machine_arn=env.get("STF_STATE_MACHINE_ARN"),
            )
        except KeyError as missing:
            raise RuntimeError(f"environment variable {missing} is not set") from None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


class FilmStore:
    """The only place that reads and writes the project's table and bucket."""

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

    @property
    def bucket(self) -> str:
        return self.settings.bucket_name

    # Scripts -----------------------------------------------------------------------------------

    def put_script(self, script: ScriptRecord, text: str) -> None:
        """The text to S3 first, then the item that points at it."""
        self.s3.put_object(
            Bucket=self.bucket, Key=script_key(script.id), Body=text.encode("utf-8"), ContentType="text/plain"
        )
        fields = script.model_dump(mode="json")
        self.table.put_item(
            Item=_to_item({"pk": f"SCRIPT#{script.id}", "sk": "SCRIPT", "kind": "script", **fields})
        )

    # Executions --------------------------------------------------------------------------------

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
        self.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
            UpdateExpression="SET execution_arn = :a",
            ExpressionAttributeValues={":a": arn},
        )
        return arn

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
        kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(f"VIDEO#{video_id}")}
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

    def set_video_status(self, video_id: str, status: VideoStatus, **fields: Any) -> bool:
        """Move the video to `status` if the transition table allows it; False when refused."""
        return self._conditional_update(
            {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, status.value, video_sources(status), fields
        )

    def set_scene_status(self, video_id: str, number: int, status: SceneStatus, **fields: Any) -> bool:
        """Move a scene to `status` if the transition table allows it; False when refused."""
        return self._conditional_update(
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, status.value, scene_sources(status), fields
        )

    def update_scene(self, video_id: str, number: int, **fields: Any) -> None:
        """Record facts about a scene that do not change its status (progress, credits)."""
        self._conditional_update({"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, None, None, fields)

    def _conditional_update(
        self,
        key: dict[str, str],
        status: str | None,
        sources: Iterable[object] | None,
        fields: Mapping[str, Any],
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
        """Claim the right to call the provider for this try.

        Returns None when the claim is new (go ahead and call), the task id when an earlier
        delivery of this same try already submitted, and raises `SubmitInDoubtError` when an
        earlier delivery claimed it and never recorded what happened.
        """
        key = {"pk": f"VIDEO#{video_id}", "sk": f"SUBMIT#{number:03d}#{attempt}"}
        client_errors = self.table.meta.client.exceptions
        try:
            self.table.put_item(
                Item={**key, "claimed_at": now_iso()}, ConditionExpression="attribute_not_exists(pk)"
            )
            return None
        except client_errors.ConditionalCheckFailedException:
            existing = self.table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        task_id = existing.get("task_id")
        if task_id is None:
            raise SubmitInDoubtError(
                f"scene {number} try {attempt} was claimed at {existing.get('claimed_at')} and never "
                "recorded a provider task; not submitting again so it is never paid for twice"
            )
        return str(task_id)

    def release_submit(self, video_id: str, number: int, attempt: int) -> None:
        """Give a claim back when the provider certainly accepted nothing (it answered an error)."""
        self.table.delete_item(Key={"pk": f"VIDEO#{video_id}", "sk": f"SUBMIT#{number:03d}#{attempt}"})

    def record_submit(self, video_id: str, number: int, attempt: int, task_id: str) -> None:
        self.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": f"SUBMIT#{number:03d}#{attempt}"},
            UpdateExpression="SET task_id = :t",
            ExpressionAttributeValues={":t": task_id},
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

    def upload_stream(self, key: str, stream: BinaryIO, content_type: str = CLIP_CONTENT_TYPE) -> None:
        """Stream into S3 with multipart upload: memory stays constant whatever the size."""
        self.s3.upload_fileobj(stream, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def upload_file(self, key: str, path: Path, content_type: str = CLIP_CONTENT_TYPE) -> None:
        self.s3.upload_file(str(path), self.bucket, key, ExtraArgs={"ContentType": content_type})

    def download_file(self, key: str, path: Path) -> None:
        self.s3.download_file(self.bucket, key, str(path))
