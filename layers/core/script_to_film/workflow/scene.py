"""The scene machine's tasks (`infra/statemachine/scene.asl.json`), one execution per scene:
SubmitScene, CheckScene, StoreClip and RecordFailure. The handlers in `functions/` are one line
over these; errors are raised as typed exceptions whose class names the ASL's Retry and Catch
match.

A scene's shots are generated one after another in its execution: SubmitScene submits the
current shot (`SceneState.shot`) under its own once-only claim, the poll loop polls it, and
StoreClip stores it and moves on to the next (`NEXT_SHOT`) until the last, when the shots are
joined with a stream copy into the scene's clip. At most one shot of a scene is at the provider
at a time, and it is always the scene's `provider_task_id`, so whatever cancels a scene's task
cancels its shot in flight. A shot that fails fails its scene.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from script_to_film.domain.errors import (
    DownloadError,
    InvalidClipError,
    MediaError,
    NoOutputError,
    NotFoundError,
    TransientProviderError,
    VideoEndedError,
)
from script_to_film.domain.keys import clip_key, shot_clip_key
from script_to_film.domain.limits import max_polls_per_scene
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

if TYPE_CHECKING:
    from pathlib import Path


class SceneTasks:
    """A scene execution's tasks, over one backend. Providers are looked up by name per scene."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # SubmitScene -------------------------------------------------------------------------------

    def submit_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        attempt = state.task.attempt + 1
        provider = self.backend.providers.get_provider(state.provider)
        job = self.backend.videos.get_job(state.video_id, state.scene)
        if state.poll_budget is None:
            state.shots = job.shot_count
            state.poll_budget = max_polls_per_scene(MAX_SUBMITS_PER_SCENE, state.shots)
        shot = state.shot
        # Refused with VideoEndedError once the video is cancelled: nothing more is paid for it.
        task_id = self.backend.claims.claim_submit(state.video_id, state.scene, attempt, shot)
        if task_id is None:
            try:
                task_id = provider.submit(job.at(shot))
            except TransientProviderError:
                # The provider refused before accepting anything: free the claim so the
                # workflow's Retry can try this same attempt again.
                self.backend.claims.release_submit(state.video_id, state.scene, attempt, shot)
                raise
            try:
                self.backend.claims.record_submit(state.video_id, state.scene, attempt, task_id, shot)
            except Exception:
                # Unrecorded, the task could never be polled or cancelled: stop it while its id is known.
                cancel_quietly(provider, self.backend, state.video_id, state.scene, task_id)
                raise
        written = self.backend.videos.set_scene_status(
            state.video_id,
            state.scene,
            SceneStatus.SUBMITTED,
            provider_task_id=task_id,
            attempts=attempt,
            shot=shot,
        )
        if not written:
            # The scene was ended (a cancel) while the provider was being asked: stop what it started.
            cancel_quietly(provider, self.backend, state.video_id, state.scene, task_id)
            raise VideoEndedError(
                f"scene {state.scene} of video {state.video_id} ended while its provider task was being "
                f"created; task {task_id} was cancelled at once"
            )
        self.backend.videos.update_shot(
            state.video_id,
            state.scene,
            shot,
            status=SceneStatus.SUBMITTED.value,
            provider_task_id=task_id,
            attempts=attempt,
        )
        # A resubmit carries on what the earlier tries of this shot were billed.
        state.task = SceneProgress(
            task_id=task_id,
            attempt=attempt,
            polls=state.task.polls,
            charged_credits=state.task.charged_credits,
        )
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
        state.polls += 1
        progress.running_credits = (task.credits or 0) if task.state is TaskState.RUNNING else 0
        budget_spent = state.poll_budget is not None and state.polls >= state.poll_budget
        progress.outcome = self._outcome(task, progress, state.max_polls, budget_spent)
        if progress.outcome in (Outcome.FAILED, Outcome.RESUBMIT):
            progress.charged_credits += task.credits or 0
        if progress.outcome is Outcome.FAILED:
            progress.failure_code = task.failure_code or "PROVIDER_FAILED"
            progress.failure = (task.failure or "the provider reported a failure")[:FAILURE_TEXT_LIMIT]
        elif progress.outcome is Outcome.TIMEOUT:
            # Queue time counts: the timeout bounds the poll loop, and so the execution's history.
            queued = ", still queued (THROTTLED) at the provider" if task.state is TaskState.THROTTLED else ""
            progress.failure_code = "TIMEOUT"
            of_shot = f" of shot {state.shot} of {state.shots}" if state.shots > 1 else ""
            budget = (
                f", the scene's {state.poll_budget} polls for all its shots spent"
                if budget_spent and progress.polls < state.max_polls
                else ""
            )
            progress.failure = (
                f"no result after {progress.polls} polls{of_shot} of {state.poll_seconds} s "
                f"(scene timeout {progress.polls * state.poll_seconds} s{queued}{budget}); "
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
    def _outcome(task: ProviderTask, progress: SceneProgress, poll_limit: int, budget_spent: bool) -> Outcome:
        """`poll_limit` bounds the shot's polls (the scene timeout); `budget_spent` says the
        scene's shots together have polled as often as its history allows."""
        out_of_polls = progress.polls >= poll_limit or budget_spent
        if task.state is TaskState.SUCCEEDED:
            return Outcome.STORE
        if task.state is TaskState.CANCELLED:
            return Outcome.CANCELLED
        if task.state is TaskState.FAILED:
            transient = (task.failure_code or "").startswith("INTERNAL")
            if transient and progress.attempt < MAX_SUBMITS_PER_SCENE and not out_of_polls:
                return Outcome.RESUBMIT
            return Outcome.FAILED
        return Outcome.TIMEOUT if out_of_polls else Outcome.WAIT

    # StoreClip ---------------------------------------------------------------------------------

    def store_clip(self, event: dict[str, Any]) -> dict[str, Any]:
        """Fetch the shot's clip to local disk, check it (`Media.verify_clip`) and upload it. A
        shot before the last then answers NEXT_SHOT; the last joins the scene's shots (a stream
        copy) into the scene's clip, and only then is the scene marked SUCCEEDED. A clip that
        cannot count (no output, refused download, invalid video, shots that cannot be joined)
        ends the scene FAILED through `IsClipStored` with its credits counted: the provider
        billed it. Idempotent: a retry after success finds the scene SUCCEEDED, or stores the
        same shot to the same key again."""
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
        job = self.backend.videos.get_job(state.video_id, state.scene).at(state.shot)
        key = clip_key(state.video_id, state.scene)
        alone = state.shots == 1
        shot_key = key if alone else shot_clip_key(state.video_id, state.scene, state.shot)
        failures: tuple[tuple[type[Exception], str], ...] = (
            (NoOutputError, "NO_OUTPUT"),
            (DownloadError, "DOWNLOAD"),
            (InvalidClipError, "INVALID_CLIP"),
            (MediaError, "INVALID_CLIP"),
            (NotFoundError, "INVALID_CLIP"),
        )
        try:
            with tempfile.TemporaryDirectory(prefix="stf-clip-") as work:
                path = Path(work) / f"scene_{state.scene:03d}_shot_{state.shot:03d}.mp4"
                with provider.open_output(task, job) as stream, path.open("wb") as file:
                    shutil.copyfileobj(stream, file, 1024 * 1024)
                self.backend.media.verify_clip(path, expected_seconds=job.shot.duration)
                self.backend.objects.upload_file(shot_key, path)
                if not alone and state.shot == state.shots:
                    self._join_shots(state, path, Path(work), key)
        except tuple(kind for kind, _ in failures) as error:
            progress.outcome = Outcome.FAILED
            progress.failure_code = next(code for kind, code in failures if isinstance(error, kind))
            progress.failure = str(error)[:FAILURE_TEXT_LIMIT]
            progress.charged_credits = credits
            return state.model_dump(mode="json")
        shot_credits = credits if task.credits is not None or credits else None
        self.backend.videos.update_shot(
            state.video_id, state.scene, state.shot, status=SceneStatus.SUCCEEDED.value, credits=shot_credits
        )
        state.stored_credits += credits
        if state.shot < state.shots:
            state.shot += 1
            state.task = SceneProgress(outcome=Outcome.NEXT_SHOT)
            self.backend.videos.update_scene(
                state.video_id, state.scene, progress=round((state.shot - 1) / state.shots, 3)
            )
            return state.model_dump(mode="json")
        # Only now, with a checked clip in S3, is the scene a success.
        total = state.stored_credits
        self.backend.videos.set_scene_status(
            state.video_id,
            state.scene,
            SceneStatus.SUCCEEDED,
            clip_key=key,
            credits=total if task.credits is not None or total else None,
            progress=1.0,
        )
        progress.outcome = Outcome.STORED
        return state.model_dump(mode="json")

    def _join_shots(self, state: SceneState, last: Path, work: Path, key: str) -> None:
        """The scene's clip: its stored shots and the last one (at `last`) joined in order with a
        stream copy (each provider makes every clip of a film with the same parameters)."""
        paths = []
        for shot in range(1, state.shots):
            path = work / f"shot_{shot:03d}.mp4"
            self.backend.objects.download_file(shot_clip_key(state.video_id, state.scene, shot), path)
            paths.append(path)
        scene_clip = work / f"scene_{state.scene:03d}.mp4"
        self.backend.media.stitch([*paths, last], scene_clip)
        self.backend.objects.upload_file(key, scene_clip)

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
        shot_charged = progress.charged_credits + (progress.running_credits if cancelling else 0)
        charged = state.stored_credits + shot_charged
        fields: dict[str, Any] = {"failure_code": code, "failure": failure[:FAILURE_TEXT_LIMIT]}
        if charged:
            fields["credits"] = charged
        if cancelling and progress.running_credits:
            fields["note"] = (
                f"cancelled while running: the provider's estimate of {progress.running_credits:g} credits "
                "is counted, as the task may still be billed"
            )
        if state.shots > 1:
            fields["failure"] = f"shot {state.shot} of {state.shots}: {fields['failure']}"[
                :FAILURE_TEXT_LIMIT
            ]
        self.backend.videos.set_scene_status(state.video_id, state.scene, status, **fields)
        self.backend.videos.update_shot(
            state.video_id,
            state.scene,
            state.shot,
            status=status.value,
            failure_code=code,
            failure=failure[:FAILURE_TEXT_LIMIT],
            credits=shot_charged or None,
        )
        if cancelling:
            assert progress.task_id is not None
            provider = self.backend.providers.get_provider(state.provider)
            cancel_quietly(provider, self.backend, state.video_id, state.scene, progress.task_id)
        progress.failure_code, progress.failure = code, failure[:FAILURE_TEXT_LIMIT]
        return state.model_dump(mode="json")
