"""Videos: the `VIDEO#<id>` item, its `SCENE#<nnn>` items (one query reads a video whole), and
each scene's job in the bucket. Every status write is conditional on the transition table."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from script_to_film.adapters.aws import AwsClients
from script_to_film.adapters.dynamo import (
    conditional_update,
    from_item,
    list_kind,
    read_partition,
    scene_sk,
    to_item,
)
from script_to_film.adapters.objects import ObjectStore
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.keys import job_key
from script_to_film.domain.models import SceneJob, SceneRecord, SceneStatus, VideoRecord, VideoStatus
from script_to_film.domain.status import scene_sources, video_sources


class VideoRepository:
    """Videos and their scenes in the table; the scene jobs in the bucket (through `objects`)."""

    def __init__(self, aws: AwsClients, objects: ObjectStore) -> None:
        self.aws = aws
        self.objects = objects

    def create(self, video: VideoRecord, jobs: Iterable[SceneJob]) -> None:
        """Write the jobs to S3, then the video and its scenes; the video item last, so a video
        that can be read is complete."""
        for job in jobs:
            self.objects.put_json(job_key(video.id, job.scene.number), job.model_dump(mode="json"))
        with self.aws.table.batch_writer() as batch:
            for scene in video.scenes:
                batch.put_item(Item=self._scene_item(video.id, scene))
        fields = video.model_dump(mode="json", exclude={"scenes"})
        self.aws.table.put_item(
            Item=to_item({"pk": f"VIDEO#{video.id}", "sk": "VIDEO", "kind": "video", **fields}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def _scene_item(self, video_id: str, scene: SceneRecord) -> dict[str, Any]:
        return to_item(
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(scene.number), **scene.model_dump(mode="json")}
        )

    def get(self, video_id: str) -> VideoRecord:
        # Read consistently: a cancel must see the task a submit has just recorded.
        items = read_partition(self.aws.table, f"VIDEO#{video_id}")
        video = next((item for item in items if item["sk"] == "VIDEO"), None)
        if video is None:
            raise NotFoundError(f"no video {video_id}")
        scenes = [SceneRecord.model_validate(from_item(i)) for i in items if i["sk"].startswith("SCENE#")]
        return VideoRecord.model_validate(
            {**from_item(video), "scenes": sorted(scenes, key=lambda s: s.number)}
        )

    def get_header(self, video_id: str) -> VideoRecord | None:
        """The video without its scenes, read consistently (None when there is no such video):
        whoever finishes last among a batch's videos must see every other one finished."""
        item = self.aws.table.get_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, ConsistentRead=True
        ).get("Item")
        return None if item is None else VideoRecord.model_validate(from_item(item))

    def list(self, limit: int, page_token: str | None = None) -> tuple[list[VideoRecord], str | None]:
        """A page of videos (without their scenes), newest first, and the next page's token."""
        items, token = list_kind(self.aws.table, "video", limit, page_token)
        return [VideoRecord.model_validate(item) for item in items], token

    def set_status(self, video_id: str, status: VideoStatus, **fields: Any) -> bool:
        """Move the video to `status` if the transition table allows it; False when refused."""
        return conditional_update(
            self.aws.table,
            {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
            status.value,
            video_sources(status),
            fields,
        )

    def update(self, video_id: str, **fields: Any) -> None:
        """Record facts about a video that do not change its status (its manifest's key)."""
        conditional_update(self.aws.table, {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"}, None, None, fields)

    def record_execution(self, video_id: str, execution_arn: str) -> None:
        self.aws.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
            UpdateExpression="SET execution_arn = :a",
            ExpressionAttributeValues={":a": execution_arn},
        )

    def get_scene(self, video_id: str, number: int) -> SceneRecord:
        item = self.aws.table.get_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"video {video_id} has no scene {number}")
        return SceneRecord.model_validate(from_item(item))

    def set_scene_status(self, video_id: str, number: int, status: SceneStatus, **fields: Any) -> bool:
        """Move a scene to `status` if the transition table allows it; False when refused."""
        return conditional_update(
            self.aws.table,
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)},
            status.value,
            scene_sources(status),
            fields,
        )

    def set_scene_status_if_task(
        self, video_id: str, number: int, status: SceneStatus, task_id: str | None, **fields: Any
    ) -> bool:
        """`set_scene_status`, only while the scene's provider task is still `task_id` (None: it
        has none): whoever ends a scene after cancelling the task it read must not end it over a
        task a submit recorded meanwhile. False when refused."""
        unchanged = "attribute_not_exists(#task)" if task_id is None else "#task = :task"
        values = {} if task_id is None else {":task": task_id}
        return conditional_update(
            self.aws.table,
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)},
            status.value,
            scene_sources(status),
            fields,
            extra=(unchanged, {"#task": "provider_task_id"}, values),
        )

    def restate_stopped_scene(
        self, video_id: str, number: int, status: SceneStatus, stopped_code: str, **fields: Any
    ) -> bool:
        """Move a scene that was ended CANCELLED with `stopped_code` to `status`: the film's own
        end (a timeout, a failure) names why its scenes' executions were stopped, whichever
        cleanup ran first. False when the scene ended any other way."""
        return conditional_update(
            self.aws.table,
            {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)},
            status.value,
            {SceneStatus.CANCELLED},
            fields,
            extra=("#code = :code", {"#code": "failure_code"}, {":code": stopped_code}),
        )

    def update_scene(self, video_id: str, number: int, **fields: Any) -> None:
        """Record facts about a scene that do not change its status (progress, credits)."""
        conditional_update(
            self.aws.table, {"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)}, None, None, fields
        )

    def update_shot(self, video_id: str, number: int, shot: int, **fields: Any) -> None:
        """Record facts about one shot of a scene in the scene's item (`shots[n]`): written by the
        scene's own execution only, one shot after another, so no write races another."""
        known = to_item(fields)
        if not known:
            return
        names = {f"#f{index}": name for index, name in enumerate(known)}
        values = {f":v{index}": value for index, value in enumerate(known.values())}
        sets = ", ".join(f"shots[{shot - 1}].#f{index} = :v{index}" for index in range(len(known)))
        client = self.aws.table.meta.client
        try:
            self.aws.table.update_item(
                Key={"pk": f"VIDEO#{video_id}", "sk": scene_sk(number)},
                UpdateExpression=f"SET {sets}",
                # A scene stored before scenes had shots has none to update: nothing is written.
                ConditionExpression="size(shots) >= :count",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={**values, ":count": shot},
            )
        except client.exceptions.ConditionalCheckFailedException:
            return

    def get_job(self, video_id: str, number: int) -> SceneJob:
        return SceneJob.model_validate(self.objects.get_json(job_key(video_id, number)))
