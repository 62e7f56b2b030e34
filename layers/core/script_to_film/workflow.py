"""What each Task state of the film workflow does (`infra/statemachine/film.asl.json`).

The handlers in `functions/` are one line over these. Each scene task takes the Map iteration's
state (`SceneState`: ids and counters only, far below the 256 KiB payload limit) and returns it
updated; `IsSceneDone` chooses on `task.outcome`. Errors are raised as typed exceptions whose
class names the ASL's Retry and Catch match.
"""

from __future__ import annotations

import logging
import math
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from script_to_film.adapters.providers.registry import get_provider
from script_to_film.domain.errors import (
    InvalidClipError,
    MediaError,
    NoOutputError,
    NotFoundError,
    TransientProviderError,
    VideoEndedError,
)
from script_to_film.domain.keys import clip_key, film_key, manifest_key
from script_to_film.domain.models import LeftOut, SceneStatus, VideoRecord, VideoStatus
from script_to_film.domain.ports import Backend, ProviderTask, TaskState, VideoProvider
from script_to_film.domain.status import SCENE_FINAL, VIDEO_FINAL

LOG = logging.getLogger(__name__)

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
    STORED = "STORED"


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
    running_credits: float = 0
    """The provider's estimate for the task while it was last seen running: what cancelling it
    may still be billed (a deleted task can never be read back for its cost)."""


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


EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
"""What this project names an execution: AWS allows 80 characters and forbids whitespace and
most punctuation; moto checks none of it, so the names are checked here."""


def scene_execution_name(video_id: str, scene: int) -> str:
    """The name of a scene's SceneWorkflow execution: `video-…-s007`, readable in the console."""
    name = f"{video_id}-s{scene:03d}"
    if not EXECUTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot name an execution")
    return name


def scene_of_execution(name: str) -> tuple[str, int] | None:
    """(video id, scene) of a scene execution's name, or None for a film's own execution."""
    video_id, separator, number = name.rpartition("-s")
    if not separator or not number.isdigit():
        return None
    return video_id, int(number)


class SceneItem(BaseModel):
    """One item of the FilmScenes Map: the scene and its execution's name, ids only."""

    number: int
    execution: str


class ScenePlan(BaseModel):
    scenes: list[SceneItem]
    max_polls: int


def max_polls(poll_seconds: int, scene_timeout_seconds: int) -> int:
    """How many CheckScene polls fit in the scene timeout: the loop's hard bound."""
    return max(1, math.ceil(scene_timeout_seconds / poll_seconds))


# Failure codes of ours, by the class name of the error a Catch delivered.
_FAILURE_CODES = {
    "SubmitInDoubtError": "SUBMIT_IN_DOUBT",
    "DownloadError": "DOWNLOAD",
    "NoOutputError": "NO_OUTPUT",
    "PermanentProviderError": "PROVIDER_REJECTED",
    "TransientProviderError": "PROVIDER_UNAVAILABLE",
    "DailyCapError": "DAILY_CAP",
    "ConfigurationError": "CONFIGURATION",
    "VideoEndedError": "CANCELLED",
    "States.Timeout": "TASK_TIMEOUT",
}

IN_FLIGHT = frozenset({SceneStatus.SUBMITTED, SceneStatus.THROTTLED, SceneStatus.RUNNING})
"""A scene whose provider task may be running, and billing."""


def cancel_quietly(
    provider: VideoProvider, backend: Backend, video_id: str, number: int, task_id: str
) -> str | None:
    """Cancel a provider task; a cancel that fails is logged and kept on the scene as a note
    (returned too), never raised: whoever cancels goes on with the next scene."""
    try:
        provider.cancel(task_id)
    except Exception as error:  # any failure here must not stop the other scenes' cancels
        note = f"the provider did not confirm cancelling task {task_id}: {type(error).__name__}: {error}"
        LOG.warning("cancel failed", extra={"video_id": video_id, "scene": number, "error": str(error)})
        backend.videos.update_scene(video_id, number, note=note[:FAILURE_TEXT_LIMIT])
        return note[:FAILURE_TEXT_LIMIT]
    return None


def end_scene(
    backend: Backend,
    provider: VideoProvider,
    video_id: str,
    number: int,
    status: SceneStatus,
    *,
    include_storing: bool = False,
    **fields: Any,
) -> SceneStatus:
    """End a scene that the workflow will not finish (a cancel, an execution that ended): cancel
    its provider task if one may be running, then write `status`, only while the scene still has
    the task that was cancelled. A submit that records a new task meanwhile makes the write fail:
    the scene is read again and that task cancelled too. A scene storing its clip is left to
    finish unless `include_storing`. Returns the scene's status afterwards."""
    scene = backend.videos.get_scene(video_id, number)
    for _ in range(3):
        if scene.status in SCENE_FINAL or (scene.status is SceneStatus.STORING and not include_storing):
            return scene.status
        note = None
        if scene.status in IN_FLIGHT and scene.provider_task_id:
            note = cancel_quietly(provider, backend, video_id, number, scene.provider_task_id)
        extra = {"note": note} if note else {}
        if backend.videos.set_scene_status_if_task(
            video_id, number, status, scene.provider_task_id, **fields, **extra
        ):
            return status
        scene = backend.videos.get_scene(video_id, number)
    return scene.status


class FilmWorkflow:
    """The tasks, over one store. Providers are looked up by name per scene."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # LoadShots ---------------------------------------------------------------------------------

    def load_shots(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        self.backend.videos.set_status(film.video_id, VideoStatus.RUNNING)
        video = self.backend.videos.get(film.video_id)
        # A video cancelled (or failed to start) before its execution began films nothing.
        live = video.status is VideoStatus.RUNNING
        plan = ScenePlan(
            scenes=[
                SceneItem(number=scene.number, execution=scene_execution_name(video.id, scene.number))
                for scene in video.scenes
                if live and scene.status == SceneStatus.PENDING
            ],
            max_polls=max_polls(film.poll_seconds, film.scene_timeout_seconds),
        )
        return plan.model_dump()

    # Preflight ---------------------------------------------------------------------------------

    def preflight(self, event: dict[str, Any]) -> dict[str, Any]:
        """Ask the provider's account, as it is now, what it allows the scenes still to film: at
        most the concurrency the video was submitted with, less if the tier now allows less; a
        film the account can no longer pay for or make today is refused here, before any paid
        call, and ends FAILED with INSUFFICIENT_CREDITS or DAILY_CAP."""
        from script_to_film.domain.account import generations_needed, plan_run, read_limits
        from script_to_film.domain.errors import DailyAllowanceError, InsufficientCreditsError

        film = FilmInput.model_validate(event)
        video = self.backend.videos.get(film.video_id)
        pending = [scene for scene in video.scenes if scene.status is SceneStatus.PENDING]
        answer = {"max_concurrency": film.max_concurrency, "refused": False, "failure": None}
        if video.status is not VideoStatus.RUNNING or not pending:
            return answer
        needed = generations_needed(video.model, len(pending), keyframe=video.keyframe)
        provider = get_provider(video.provider)
        limits = read_limits(provider, list(needed), fallback_concurrency=film.max_concurrency)
        try:
            run = plan_run(
                limits,
                estimate_credits=sum(scene.estimated_credits for scene in pending),
                generations=needed,
                configured_cap=film.max_concurrency,
                map_max=film.max_concurrency,
            )
        except (InsufficientCreditsError, DailyAllowanceError) as refusal:
            code = "INSUFFICIENT_CREDITS" if isinstance(refusal, InsufficientCreditsError) else "DAILY_CAP"
            reason = f"the provider's account refused the film: {refusal}"[:FAILURE_TEXT_LIMIT]
            self.backend.videos.set_status(video.id, VideoStatus.FAILED, failure=reason)
            for scene in pending:
                self.backend.videos.set_scene_status(
                    video.id, scene.number, SceneStatus.FAILED, failure_code=code, failure=reason
                )
            return {**answer, "refused": True, "failure": reason}
        self.backend.videos.update(
            video.id, concurrency=run.concurrency, concurrency_source=run.source, limits_note=run.note
        )
        return {**answer, "max_concurrency": run.concurrency}

    # SubmitScene -------------------------------------------------------------------------------

    def submit_scene(self, event: dict[str, Any]) -> dict[str, Any]:
        state = SceneState.model_validate(event)
        attempt = state.task.attempt + 1
        provider = get_provider(state.provider)
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
        task = get_provider(state.provider).status(state.task.task_id)
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
                    get_provider(state.provider), self.backend, state.video_id, state.scene, task.id
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
        """Fetch the clip to local disk, check it (`media.verify_clip`), upload it, and only then
        mark the scene SUCCEEDED. A clip that cannot count (no output, refused download, invalid
        video) ends the scene FAILED through `IsClipStored` with its credits counted: the
        provider billed it. Idempotent: a retry after success finds the scene SUCCEEDED."""
        import shutil
        import tempfile
        from pathlib import Path

        from script_to_film.adapters import media
        from script_to_film.domain.errors import DownloadError

        state = SceneState.model_validate(event)
        progress = state.task
        assert progress.task_id is not None, "StoreClip runs after SubmitScene"
        provider = get_provider(state.provider)
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
                media.verify_clip(path, expected_seconds=job.shot.duration)
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
            code = _FAILURE_CODES.get(state.error.Error, "INTERNAL")
            failure = _error_message(state.error)
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
            provider = get_provider(state.provider)
            cancel_quietly(provider, self.backend, state.video_id, state.scene, progress.task_id)
        progress.failure_code, progress.failure = code, failure[:FAILURE_TEXT_LIMIT]
        return state.model_dump(mode="json")

    # AssembleFilm and Finalize -----------------------------------------------------------------

    def assemble_film(self, event: dict[str, Any]) -> dict[str, Any]:
        """Stitch the stored clips in scene order. A clip that cannot be read is left out (the
        film goes on without it, and Finalize names it); a stitch that fails answers no film and
        why, so the video ends FAILED with its clips kept."""
        import tempfile
        from pathlib import Path

        from script_to_film.adapters import media

        film = FilmInput.model_validate(event)
        video = self.backend.videos.get(film.video_id)
        stored = [s for s in video.scenes if s.status == SceneStatus.SUCCEEDED and s.clip_key]
        result = AssemblyResult()
        if not stored:
            return result.model_dump(mode="json")
        with tempfile.TemporaryDirectory(prefix="stf-assemble-") as work:
            clips: list[tuple[int, Path]] = []
            for scene in stored:
                path = Path(work) / f"scene_{scene.number:03d}.mp4"
                try:
                    self.backend.objects.download_file(str(scene.clip_key), path)
                    media.probe(path)
                except (NotFoundError, MediaError) as error:
                    result.left_out.append(
                        LeftOut(scene=scene.number, reason=str(error)[:FAILURE_TEXT_LIMIT])
                    )
                    continue
                clips.append((scene.number, path))
            if not clips:
                result.failure = "no stored clip could be read"
                return result.model_dump(mode="json")
            out = Path(work) / "film.mp4"
            try:
                stitched = media.stitch([path for _, path in clips], out)
            except MediaError as error:
                result.failure = f"the clips could not be stitched into a film: {error}"[:FAILURE_TEXT_LIMIT]
                return result.model_dump(mode="json")
            self.backend.objects.upload_file(film_key(video.id), out)
        result.film_key = film_key(video.id)
        result.clips = len(clips)
        result.reencoded = [clips[i][0] for i in stitched.reencoded]
        return result.model_dump(mode="json")

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        assembled = AssemblyResult.from_state(event.get("film"))
        video = self.backend.videos.get(film.video_id)
        succeeded = sum(1 for s in video.scenes if s.status == SceneStatus.SUCCEEDED)
        in_film = succeeded - len({left.scene for left in assembled.left_out})
        has_film = bool(assembled.film_key) and in_film > 0
        if has_film and in_film == len(video.scenes):
            status = VideoStatus.SUCCEEDED
        elif has_film:
            status = VideoStatus.PARTIAL
        else:
            status = VideoStatus.FAILED
        credits = sum(s.credits or 0 for s in video.scenes)
        fields: dict[str, Any] = {
            "credits": credits,
            "manifest_key": manifest_key(video.id),
            "left_out": [left.model_dump() for left in assembled.left_out],
        }
        if has_film:
            fields["film_key"] = assembled.film_key
        elif assembled.failure:
            fields["failure"] = assembled.failure
        elif not succeeded:
            fields["failure"] = "no scene produced a clip; each scene says why"
        if not self.backend.videos.set_status(video.id, status, **fields):
            # Ended meanwhile (cancelled, refused by the account): keep its status and reason.
            self.backend.videos.update(
                video.id, credits=credits, manifest_key=manifest_key(video.id), left_out=fields["left_out"]
            )
        never_filmed = fields.get("failure") or "the scene was never filmed"
        for scene in video.scenes:
            if scene.status is SceneStatus.PENDING:
                # Its execution never started (the workflow ended first): nothing of it was paid.
                not_filmed = {"failure_code": "NOT_FILMED", "failure": never_filmed}
                self.backend.videos.set_scene_status(video.id, scene.number, SceneStatus.FAILED, **not_filmed)
        final = self.backend.videos.get(video.id)
        self.backend.objects.put_json(
            manifest_key(video.id), build_manifest(final, execution=event.get("execution"))
        )
        if final.batch_id:
            # The batch's last video to end writes its summary; nothing waits for the batch.
            from script_to_film.batch import summarize_batch

            summarize_batch(self.backend, final.batch_id)
        return {"video_id": video.id, "status": final.status.value, "succeeded": succeeded}

    # Cleanup -----------------------------------------------------------------------------------

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
            get_provider(video.provider),
            video_id,
            number,
            target,
            failure_code=f"EXECUTION_{ended.status}",
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
        provider = get_provider(video.provider)
        scene_status = SceneStatus.CANCELLED if target is VideoStatus.CANCELLED else SceneStatus.FAILED
        code = f"EXECUTION_{ended.status}"
        ended_scenes = []
        for scene in video.scenes:
            if scene.status in SCENE_FINAL:
                continue
            after = end_scene(
                self.backend,
                provider,
                video.id,
                scene.number,
                scene_status,
                failure_code=code,
                failure=f"the scene did not finish: {reason}"[:FAILURE_TEXT_LIMIT],
            )
            if after is scene_status:
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
                from script_to_film.batch import summarize_batch

                summarize_batch(self.backend, final.batch_id)
        return {
            "video_id": video.id,
            "cleaned": cleaned,
            "status": final.status.value,
            "scenes_ended": ended_scenes,
            "reason": reason,
        }


ENDED_OUTSIDE_THE_WORKFLOW = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})


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


class AssemblyResult(BaseModel):
    """What AssembleFilm answers (and Finalize reads from `$.film`)."""

    film_key: str | None = None
    clips: int = 0
    reencoded: list[int] = Field(default_factory=list)
    left_out: list[LeftOut] = Field(default_factory=list)
    failure: str | None = None

    @classmethod
    def from_state(cls, value: Any) -> AssemblyResult:
        """`$.film`: the assembly's answer, or the error a Catch put there instead."""
        if not isinstance(value, dict):
            return cls()
        if "Error" in value:
            error = StepError.model_validate(value)
            return cls(failure=_error_message(error)[:FAILURE_TEXT_LIMIT])
        return cls.model_validate(value)


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
                "note": scene.note,
            }
            for scene in video.scenes
        ],
        "cost": {"estimated_usd": video.estimated_usd, "credits": video.credits or 0},
        "failure": video.failure,
        "left_out": [left.model_dump() for left in video.left_out],
        "limits": {
            "concurrency": video.concurrency,
            "source": video.concurrency_source,
            "note": video.limits_note,
        },
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
