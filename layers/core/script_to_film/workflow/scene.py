"""The scene machine's tasks (`infra/statemachine/scene.asl.json`), one execution per scene:
SubmitScene, CheckScene, StoreClip and RecordFailure. The handlers in `functions/` are one line
over these; errors are raised as typed exceptions whose class names the ASL's Retry and Catch
match.
"""

from __future__ import annotations

from typing import Any

from script_to_film.domain.errors import (
    DownloadError,
    InvalidClipError,
    NoOutputError,
    TransientProviderError,
    VideoEndedError,
)
from script_to_film.domain.keys import clip_key
from script_to_film.domain.models import SceneStatus
from script_to_film.domain.ports import Backend, ProviderTask, TaskState
from script_to_film.workflow.contract import (
    FAILURE_CODES,
    FAILURE_TEXT_LIMIT,
    MAX_SUBMITS_PER_SCENE,
    Outcome,
    SceneProgress,
    SceneState,
    error_message,
)
from script_to_film.workflow.ending import cancel_quietly


class SceneTasks:
    """A scene execution's tasks, over one backend. Providers are looked up by name per scene."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # SubmitScene -------------------------------------------------------------------------------

    def submit_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        attempt = state.task.attempt + 1
        provider = self.backend.providers.get_provider(state.provider)
        # Refused with VideoEndedError once the video is cancelled: nothing more is paid for it.
        task_id = self.backend.claims.claim_submit(state.video_id, state.scene, attempt)
        if task_id is None:
            job = self.backend.videos.get_job(state.video_id, state.scene)
            try:
                task_id = provider.submit(job)
            except TransientProviderError:
                # The provider refused before accepting anything: free the claim so the
                # workflow's Retry can try this same attempt again.
                self.backend.claims.release_submit(state.video_id, state.scene, attempt)
                raise
            try:
                self.backend.claims.record_submit(state.video_id, state.scene, attempt, task_id)
            except Exception:
                # Unrecorded, the task could never be polled or cancelled: stop it while its id is known.
                cancel_quietly(provider, self.backend, state.video_id, state.scene, task_id)
                raise
        written = self.backend.videos.set_scene_status(
            state.video_id, state.scene, SceneStatus.SUBMITTED, provider_task_id=task_id, attempts=attempt
        )
        if not written:
            # The scene was ended (a cancel) while the provider was being asked: stop what it started.
            cancel_quietly(provider, self.backend, state.video_id, state.scene, task_id)
            raise VideoEndedError(
                f"scene {state.scene} of video {state.video_id} ended while its provider task was being "
                f"created; task {task_id} was cancelled at once"
            )
        state.task = SceneProgress(task_id=task_id, attempt=attempt, polls=state.task.polls)
        state.error = None
        return state.model_dump(mode="json")

    # CheckScene --------------------------------------------------------------------------------

    def check_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        assert state.task.task_id is not None, "CheckScene runs after SubmitScene"
        task = self.backend.providers.get_provider(state.provider).status(state.task.task_id)
        progress = state.task
        # A task made in stages (Runway's keyframe image, then the video animating it) reports its
        # next stage under a new id: from then on that id is the one polled, stored and cancelled.
        progress.task_id = task.id
        progress.polls += 1
        progress.running_credits = (task.credits or 0) if task.state is TaskState.RUNNING else 0
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
            if not self.backend.videos.set_scene_status(state.video_id, state.scene, status, **known):
                # Refused: the scene was ended meanwhile (a cancel that read an earlier task id).
                # This task is still live, so it is stopped here, and the loop ends.
                cancel_quietly(
                    self.backend.providers.get_provider(state.provider),
                    self.backend,
                    state.video_id,
                    state.scene,
                    task.id,
                )
                progress.outcome = Outcome.CANCELLED
                progress.failure = "the scene was ended while its task was running; the task was cancelled"
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
        """Fetch the clip to local disk, check it (`Media.verify_clip`), upload it, and only then
        mark the scene SUCCEEDED. A clip that cannot count (no output, refused download, invalid
        video) ends the scene FAILED through `IsClipStored` with its credits counted: the
        provider billed it. Idempotent: a retry after success finds the scene SUCCEEDED."""
        import shutil
        import tempfile
        from pathlib import Path

        state = SceneState.model_validate(event)
        progress = state.task
        assert progress.task_id is not None, "StoreClip runs after SubmitScene"
        provider = self.backend.providers.get_provider(state.provider)
        task = provider.status(progress.task_id)
        credits = progress.charged_credits + (task.credits or 0)
        if not self.backend.videos.set_scene_status(state.video_id, state.scene, SceneStatus.STORING):
            current = self.backend.videos.get_scene(state.video_id, state.scene).status
            progress.outcome = Outcome.STORED if current is SceneStatus.SUCCEEDED else Outcome.CANCELLED
            return state.model_dump(mode="json")
        job = self.backend.videos.get_job(state.video_id, state.scene)
        key = clip_key(state.video_id, state.scene)
        failures: tuple[tuple[type[Exception], str], ...] = (
            (NoOutputError, "NO_OUTPUT"),
            (DownloadError, "DOWNLOAD"),
            (InvalidClipError, "INVALID_CLIP"),
        )
        try:
            with tempfile.TemporaryDirectory(prefix="stf-clip-") as work:
                path = Path(work) / f"scene_{state.scene:03d}.mp4"
                with provider.open_output(task, job) as stream, path.open("wb") as file:
                    shutil.copyfileobj(stream, file, 1024 * 1024)
                self.backend.media.verify_clip(path, expected_seconds=job.shot.duration)
                self.backend.objects.upload_file(key, path)
        except tuple(kind for kind, _ in failures) as error:
            progress.outcome = Outcome.FAILED
            progress.failure_code = next(code for kind, code in failures if isinstance(error, kind))
            progress.failure = str(error)[:FAILURE_TEXT_LIMIT]
            progress.charged_credits = credits
            return state.model_dump(mode="json")
        # Only now, with a checked clip in S3, is the scene a success.
        self.backend.videos.set_scene_status(
            state.video_id,
            state.scene,
            SceneStatus.SUCCEEDED,
            clip_key=key,
            credits=credits if task.credits is not None or credits else None,
            progress=1.0,
        )
        progress.outcome = Outcome.STORED
        return state.model_dump(mode="json")

    # RecordFailure -----------------------------------------------------------------------------

    def record_failure(self, event: dict[str, Any]) -> dict[str, Any]:
        """End the scene FAILED (CANCELLED when the video was) with its failure code, first; then
        cancel a provider task that may still be running. A cancel that fails is kept as the
        scene's note, so the failure is on record whatever the provider answers."""
        state = SceneState.model_validate(event)
        progress = state.task
        if state.error is not None:
            code = FAILURE_CODES.get(state.error.Error, "INTERNAL")
            failure = error_message(state.error)
        else:
            code = progress.failure_code or progress.outcome.value
            failure = progress.failure or f"scene ended {progress.outcome.value}"
        cancelled = progress.outcome is Outcome.CANCELLED or code == "CANCELLED"
        status = SceneStatus.CANCELLED if cancelled else SceneStatus.FAILED
        # A timed-out task, or one whose polling broke, may still be running and billing.
        cancelling = progress.task_id is not None and progress.outcome in (Outcome.TIMEOUT, Outcome.WAIT)
        charged = progress.charged_credits + (progress.running_credits if cancelling else 0)
        fields: dict[str, Any] = {"failure_code": code, "failure": failure[:FAILURE_TEXT_LIMIT]}
        if charged:
            fields["credits"] = charged
        if cancelling and progress.running_credits:
            fields["note"] = (
                f"cancelled while running: the provider's estimate of {progress.running_credits:g} credits "
                "is counted, as the task may still be billed"
            )
        self.backend.videos.set_scene_status(state.video_id, state.scene, status, **fields)
        if cancelling:
            assert progress.task_id is not None
            provider = self.backend.providers.get_provider(state.provider)
            cancel_quietly(provider, self.backend, state.video_id, state.scene, progress.task_id)
        progress.failure_code, progress.failure = code, failure[:FAILURE_TEXT_LIMIT]
        return state.model_dump(mode="json")
