"""What each Task state of the film workflow does (`infra/statemachine/film.asl.json`).

The handlers in `functions/` are one line over these. Each scene task takes the Map iteration's
state (`SceneState`: ids and counters only, far below the 256 KiB payload limit) and returns it
updated; `IsSceneDone` chooses on `task.outcome`. Errors are raised as typed exceptions whose
class names the ASL's Retry and Catch match.
"""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from script_to_film.models import SceneStatus, VideoRecord, VideoStatus
from script_to_film.providers import get_provider
from script_to_film.providers.base import ProviderTask, TaskState, TransientProviderError
from script_to_film.store import FilmStore, clip_key, film_key, manifest_key

MAX_SUBMITS_PER_SCENE = 3
"""A scene is submitted at most this many times: the first try and two resubmits after a
transient provider failure (INTERNAL.*). SAFETY.* and other permanent failures are never
resubmitted."""

FAILURE_TEXT_LIMIT = 500


class Outcome(StrEnum):
    """What `IsSceneDone` does next."""

    WAIT = "WAIT"
    STORE = "STORE"
    RESUBMIT = "RESUBMIT"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"


class SceneProgress(BaseModel):
    task_id: str | None = None
    attempt: int = 0
    polls: int = 0
    outcome: Outcome = Outcome.WAIT
    failure_code: str | None = None
    failure: str | None = None
    charged_credits: float = 0
    """What the provider charged for this scene's earlier, failed tries: a moderated generation
    still costs credits, and the video's cost counts it."""


class StepError(BaseModel):
    """What a Catch with `ResultPath: $.error` puts in the state."""

    Error: str
    Cause: str | None = None


class SceneState(BaseModel):
    """One Map iteration's state, passed from task to task."""

    video_id: str
    scene: int = Field(ge=1)
    provider: str
    poll_seconds: int = Field(ge=1)
    max_polls: int = Field(ge=1)
    task: SceneProgress = Field(default_factory=SceneProgress)
    error: StepError | None = None


class FilmInput(BaseModel):
    """The execution input: ids and settings only."""

    video_id: str
    provider: str
    model: str
    poll_seconds: int = Field(default=10, ge=1, le=300)
    scene_timeout_seconds: int = Field(default=300, ge=1, le=86_400)
    max_concurrency: int = Field(default=1, ge=1, le=40)


class ScenePlan(BaseModel):
    scenes: list[int]
    max_polls: int


def max_polls(poll_seconds: int, scene_timeout_seconds: int) -> int:
    """How many CheckScene polls fit in the scene timeout: the loop's hard bound."""
    return max(1, math.ceil(scene_timeout_seconds / poll_seconds))


# Failure codes of ours, by the class name of the error a Catch delivered.
_FAILURE_CODES = {
    "SubmitInDoubtError": "SUBMIT_IN_DOUBT",
    "DownloadError": "DOWNLOAD",
    "PermanentProviderError": "PROVIDER_REJECTED",
    "TransientProviderError": "PROVIDER_UNAVAILABLE",
    "DailyCapError": "DAILY_CAP",
    "ConfigurationError": "CONFIGURATION",
    "States.Timeout": "TASK_TIMEOUT",
}


class FilmWorkflow:
    """The tasks, over one store. Providers are looked up by name per scene."""

    def __init__(self, store: FilmStore) -> None:
        self.store = store

    # LoadShots ---------------------------------------------------------------------------------

    def load_shots(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        video = self.store.get_video(film.video_id)
        self.store.set_video_status(video.id, VideoStatus.RUNNING)
        plan = ScenePlan(
            scenes=[scene.number for scene in video.scenes if scene.status == SceneStatus.PENDING],
            max_polls=max_polls(film.poll_seconds, film.scene_timeout_seconds),
        )
        return plan.model_dump()

    # SubmitScene -------------------------------------------------------------------------------

    def submit_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        attempt = state.task.attempt + 1
        task_id = self.store.claim_submit(state.video_id, state.scene, attempt)
        if task_id is None:
            job = self.store.get_job(state.video_id, state.scene)
            try:
                task_id = get_provider(state.provider).submit(job)
            except TransientProviderError:
                # The provider refused before accepting anything: free the claim so the
                # workflow's Retry can try this same attempt again.
                self.store.release_submit(state.video_id, state.scene, attempt)
                raise
            self.store.record_submit(state.video_id, state.scene, attempt, task_id)
        self.store.set_scene_status(
            state.video_id, state.scene, SceneStatus.SUBMITTED, provider_task_id=task_id, attempts=attempt
        )
        state.task = SceneProgress(task_id=task_id, attempt=attempt, polls=state.task.polls)
        state.error = None
        return state.model_dump(mode="json")

    # CheckScene --------------------------------------------------------------------------------

    def check_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        assert state.task.task_id is not None, "CheckScene runs after SubmitScene"
        task = get_provider(state.provider).status(state.task.task_id)
        progress = state.task
        # A task made in stages (Runway's keyframe image, then the video animating it) reports its
        # next stage under a new id: from then on that id is the one polled, stored and cancelled.
        progress.task_id = task.id
        progress.polls += 1
        progress.outcome = self._outcome(task, progress, state.max_polls)
        if progress.outcome in (Outcome.FAILED, Outcome.RESUBMIT):
            progress.charged_credits += task.credits or 0
        if progress.outcome is Outcome.FAILED:
            progress.failure_code = task.failure_code or "PROVIDER_FAILED"
            progress.failure = (task.failure or "the provider reported a failure")[:FAILURE_TEXT_LIMIT]
        elif progress.outcome is Outcome.TIMEOUT:
            # Queue time counts: the timeout bounds the poll loop, and so the execution's history.
            queued = ", still queued (THROTTLED) at the provider" if task.state is TaskState.THROTTLED else ""
            progress.failure_code = "TIMEOUT"
            progress.failure = (
                f"no result after {progress.polls} polls of {state.poll_seconds} s "
                f"(scene timeout {progress.polls * state.poll_seconds} s{queued}); "
                "the provider task was cancelled"
            )
        if task.state in (TaskState.THROTTLED, TaskState.RUNNING, TaskState.PENDING):
            status = SceneStatus.THROTTLED if task.state is TaskState.THROTTLED else SceneStatus.RUNNING
            # Only what the provider reported: an unknown value must not erase our own estimate.
            seen = {"progress": task.progress, "estimated_credits": task.credits, "provider_task_id": task.id}
            known = {name: value for name, value in seen.items() if value is not None}
            self.store.set_scene_status(state.video_id, state.scene, status, **known)
        return state.model_dump(mode="json")

    @staticmethod
    def _outcome(task: ProviderTask, progress: SceneProgress, poll_limit: int) -> Outcome:
        if task.state is TaskState.SUCCEEDED:
            return Outcome.STORE
        if task.state is TaskState.CANCELLED:
            return Outcome.CANCELLED
        if task.state is TaskState.FAILED:
            transient = (task.failure_code or "").startswith("INTERNAL")
            if transient and progress.attempt < MAX_SUBMITS_PER_SCENE and progress.polls < poll_limit:
                return Outcome.RESUBMIT
            return Outcome.FAILED
        return Outcome.TIMEOUT if progress.polls >= poll_limit else Outcome.WAIT

    # StoreClip ---------------------------------------------------------------------------------

    def store_clip(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        assert state.task.task_id is not None, "StoreClip runs after SubmitScene"
        provider = get_provider(state.provider)
        task = provider.status(state.task.task_id)
        job = self.store.get_job(state.video_id, state.scene)
        self.store.set_scene_status(state.video_id, state.scene, SceneStatus.STORING)
        key = clip_key(state.video_id, state.scene)
        with provider.open_output(task, job) as stream:
            self.store.upload_stream(key, stream)
        # Only now, with the clip in S3, is the scene a success.
        charged = state.task.charged_credits
        self.store.set_scene_status(
            state.video_id,
            state.scene,
            SceneStatus.SUCCEEDED,
            clip_key=key,
            credits=charged + task.credits if task.credits is not None else charged or None,
            progress=1.0,
        )
        return state.model_dump(mode="json")

    # RecordFailure -----------------------------------------------------------------------------

    def record_failure(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        progress = state.task
        if state.error is not None:
            code = _FAILURE_CODES.get(state.error.Error, "INTERNAL")
            failure = _error_message(state.error)
        else:
            code = progress.failure_code or progress.outcome.value
            failure = progress.failure or f"scene ended {progress.outcome.value}"
        if progress.task_id is not None and progress.outcome in (Outcome.TIMEOUT, Outcome.WAIT):
            # A timed-out task, or one whose polling broke, may still be running and billing.
            get_provider(state.provider).cancel(progress.task_id)
        status = SceneStatus.CANCELLED if progress.outcome is Outcome.CANCELLED else SceneStatus.FAILED
        self.store.set_scene_status(
            state.video_id,
            state.scene,
            status,
            failure_code=code,
            failure=failure[:FAILURE_TEXT_LIMIT],
            credits=progress.charged_credits or None,
        )
        progress.failure_code, progress.failure = code, failure[:FAILURE_TEXT_LIMIT]
        return state.model_dump(mode="json")

    # AssembleFilm and Finalize -----------------------------------------------------------------

    def assemble_film(self, event: dict[str, Any]) -> dict[str, Any]:
        import tempfile
        from pathlib import Path

        from script_to_film import media

        film = FilmInput.model_validate(event)
        video = self.store.get_video(film.video_id)
        stored = [s for s in video.scenes if s.status == SceneStatus.SUCCEEDED and s.clip_key]
        if not stored:
            return {"film_key": None, "clips": 0, "reencoded": []}
        with tempfile.TemporaryDirectory(prefix="stf-assemble-") as work:
            clips = []
            for scene in stored:
                path = Path(work) / f"scene_{scene.number:03d}.mp4"
                self.store.download_file(str(scene.clip_key), path)
                clips.append(path)
            out = Path(work) / "film.mp4"
            result = media.stitch(clips, out)
            self.store.upload_file(film_key(video.id), out)
        reencoded = [stored[i].number for i in result.reencoded]
        return {"film_key": film_key(video.id), "clips": len(stored), "reencoded": reencoded}

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        assembled = event.get("film") or {}
        video = self.store.get_video(film.video_id)
        succeeded = sum(1 for s in video.scenes if s.status == SceneStatus.SUCCEEDED)
        has_film = bool(assembled.get("film_key"))
        if has_film and succeeded == len(video.scenes):
            status = VideoStatus.SUCCEEDED
        elif has_film and succeeded:
            status = VideoStatus.PARTIAL
        else:
            status = VideoStatus.FAILED
        credits = sum(s.credits or 0 for s in video.scenes)
        fields = {"credits": credits, "manifest_key": manifest_key(video.id)}
        if has_film:
            fields["film_key"] = assembled["film_key"]
        if not self.store.set_video_status(video.id, status, **fields):
            status = self.store.get_video(video.id).status  # cancelled meanwhile: keep what is there
        final = self.store.get_video(video.id)
        self.store.put_json(manifest_key(video.id), build_manifest(final, execution=event.get("execution")))
        if final.batch_id:
            # The batch's last video to end writes its summary; nothing waits for the batch.
            from script_to_film.batch import summarize_batch

            summarize_batch(self.store, final.batch_id)
        return {"video_id": video.id, "status": final.status.value, "succeeded": succeeded}


def build_manifest(video: VideoRecord, *, execution: str | None) -> dict[str, Any]:
    """The manifest contract of ARCHITECTURE.md; paths are relative to the manifest's folder."""
    return {
        "video_id": video.id,
        "status": video.status.value,
        "execution": execution or video.execution_arn,
        "film": "film.mp4" if video.film_key else None,
        "scenes": [
            {
                "number": scene.number,
                "heading": scene.heading,
                "status": scene.status.value,
                "clip": f"scene_{scene.number:03d}.mp4" if scene.clip_key else None,
                "duration_seconds": scene.duration_seconds,
                "provider_task_id": scene.provider_task_id,
                "attempts": scene.attempts,
                "failure_code": scene.failure_code,
                "failure": scene.failure,
            }
            for scene in video.scenes
        ],
        "cost": {"estimated_usd": video.estimated_usd, "credits": video.credits or 0},
    }


def _error_message(error: StepError) -> str:
    """The message of a Lambda error's Cause (a JSON document), else the Cause as it is."""
    import json

    try:
        cause = json.loads(error.Cause or "")
    except ValueError:
        return f"{error.Error}: {error.Cause or ''}".strip()
    if isinstance(cause, dict) and "errorMessage" in cause:
        return f"{error.Error}: {cause['errorMessage']}"
    return f"{error.Error}: {error.Cause}"
