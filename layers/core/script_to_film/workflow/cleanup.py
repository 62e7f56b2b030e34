"""The cleanup after an execution of either machine ended FAILED, TIMED_OUT or ABORTED outside
the workflow's own paths; run by EventBridge on AWS and by the local stack."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.keys import manifest_key
from script_to_film.domain.manifest import build_manifest
from script_to_film.domain.models import SceneStatus, VideoStatus
from script_to_film.domain.ports import Backend
from script_to_film.domain.status import SCENE_FINAL, VIDEO_FINAL
from script_to_film.workflow.batch_summary import summarize_batch
from script_to_film.workflow.contract import FAILURE_TEXT_LIMIT, scene_of_execution
from script_to_film.workflow.ending import end_scene

ENDED_OUTSIDE_THE_WORKFLOW = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
STOPPED_CODE = "EXECUTION_ABORTED"
"""The failure code of a scene whose own execution was stopped."""


def _scene_cleanup_result(
    video_id: str, number: int, cleaned: bool, status: str, reason: str
) -> dict[str, Any]:
    return {"video_id": video_id, "scene": number, "cleaned": cleaned, "status": status, "reason": reason}


class ExecutionEnded(BaseModel):
    """The `detail` of EventBridge's "Step Functions Execution Status Change" event."""

    model_config = ConfigDict(extra="ignore")

    executionArn: str
    stateMachineArn: str | None = None
    name: str
    status: str
    error: str | None = None
    cause: str | None = None

    def reason(self) -> str:
        if self.status == "ABORTED":
            return "the execution was stopped before the film was finished"
        if self.status == "TIMED_OUT":
            return "the execution ran past its time limit before the film was finished"
        detail = ": ".join(part for part in (self.error, self.cause) if part)
        return f"the execution failed ({detail[:300]})" if detail else "the execution failed"


class Cleanup:
    """The cleanup's one task, over one backend."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def _clean_up_scene(self, ended: ExecutionEnded, video_id: str, number: int) -> dict[str, Any]:
        """A scene's own execution ended outside its workflow (stopped with its film, timed
        out, failed past its RecordFailure): end that scene and cancel its task; the film's
        execution goes on without it."""
        try:
            scene = self.backend.videos.get_scene(video_id, number)
            video = self.backend.videos.get_header(video_id)
        except NotFoundError:
            return _scene_cleanup_result(video_id, number, False, "unknown", "no such scene")
        if video is None or scene.status in SCENE_FINAL:
            status = scene.status.value
            return _scene_cleanup_result(video_id, number, False, status, "the scene had already ended")
        reason = ended.reason().replace("the film was", "the scene was")
        target = SceneStatus.CANCELLED if ended.status == "ABORTED" else SceneStatus.FAILED
        after = end_scene(
            self.backend,
            self.backend.providers.get_provider(video.provider),
            video_id,
            number,
            target,
            failure_code=f"EXECUTION_{ended.status}",  # STOPPED_CODE when ABORTED
            failure=f"the scene did not finish: {reason}"[:FAILURE_TEXT_LIMIT],
        )
        final = self.backend.videos.get(video_id)
        if after is target and final.status in VIDEO_FINAL:
            # The film ended before this cleanup ran (EventBridge delivers late): its manifest
            # is brought up to date with the scene's end.
            self.backend.objects.put_json(
                manifest_key(video_id), build_manifest(final, execution=final.execution_arn)
            )
        return _scene_cleanup_result(video_id, number, after is target, after.value, reason)

    def clean_up(self, event: dict[str, Any]) -> dict[str, Any]:
        """After an execution ended FAILED, TIMED_OUT or ABORTED outside the workflow's own paths
        (a StopExecution, the 24 h timeout, a history overflow, a Finalize that failed): end the
        video, cancel its provider tasks that may still run, end its scenes, and say why. Run by
        EventBridge on AWS and by the local stack when an execution ends so; idempotent, and a
        no-op for a video that has already ended with every scene."""
        ended = ExecutionEnded.model_validate(event.get("detail") or {})
        if ended.status not in ENDED_OUTSIDE_THE_WORKFLOW:
            return {"video_id": ended.name, "cleaned": False, "reason": f"execution {ended.status}"}
        scene_execution = scene_of_execution(ended.name)
        if scene_execution is not None:
            return self._clean_up_scene(ended, *scene_execution)
        try:
            video = self.backend.videos.get(ended.name)
        except NotFoundError:
            return {"video_id": ended.name, "cleaned": False, "reason": "no such video"}
        reason = ended.reason()
        target = VideoStatus.CANCELLED if ended.status == "ABORTED" else VideoStatus.FAILED
        video_ended = self.backend.videos.set_status(video.id, target, failure=reason)
        provider = self.backend.providers.get_provider(video.provider)
        scene_status = SceneStatus.CANCELLED if target is VideoStatus.CANCELLED else SceneStatus.FAILED
        code = f"EXECUTION_{ended.status}"
        failure = f"the scene did not finish: {reason}"[:FAILURE_TEXT_LIMIT]
        ended_scenes = []
        for scene in video.scenes:
            after = scene.status
            if after not in SCENE_FINAL:
                after = end_scene(
                    self.backend,
                    provider,
                    video.id,
                    scene.number,
                    scene_status,
                    failure_code=code,
                    failure=failure,
                )
                if after is scene_status:
                    ended_scenes.append(scene.number)
            # A film that timed out or failed stops its scenes' executions, and their own
            # cleanup may have run first and called them stopped: the film's end says why.
            restated = (
                after is SceneStatus.CANCELLED
                and scene_status is SceneStatus.FAILED
                and self.backend.videos.restate_stopped_scene(
                    video.id, scene.number, scene_status, STOPPED_CODE, failure_code=code, failure=failure
                )
            )
            if restated:
                ended_scenes.append(scene.number)
        cleaned = video_ended or bool(ended_scenes)
        if cleaned:
            self.backend.videos.update(video.id, manifest_key=manifest_key(video.id))
        final = self.backend.videos.get(video.id)
        if cleaned:
            self.backend.objects.put_json(
                manifest_key(video.id), build_manifest(final, execution=ended.executionArn)
            )
            if final.batch_id:
                summarize_batch(self.backend, final.batch_id)
        return {
            "video_id": video.id,
            "cleaned": cleaned,
            "status": final.status.value,
            "scenes_ended": ended_scenes,
            "reason": reason,
        }
