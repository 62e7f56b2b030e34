"""Starting a video: the one path from a screenplay to a running workflow.

The API, the S3 batch trigger and `stf run` all call `start_video`, so every entry point refuses
the same inputs (too many scenes, over budget, unknown model) before anything is paid for.
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence

from script_to_film.domain import casting, catalog, cost
from script_to_film.domain.account import (
    RunLimits,
    configured_concurrency,
    generations_needed,
    plan_run,
    read_limits,
)
from script_to_film.domain.breakdown import Plan, plan
from script_to_film.domain.errors import InvalidInputError, ScriptToFilmError
from script_to_film.domain.limits import (
    EXECUTION_TIMEOUT_SECONDS,
    FILM_TASKS_WORST_SECONDS,
    SCENE_TASKS_WORST_SECONDS,
    max_polls_per_scene,
    max_scenes,
)
from script_to_film.domain.models import (
    SceneJob,
    SceneRecord,
    SceneStatus,
    ScriptRecord,
    ShotRecord,
    VideoRecord,
    VideoStatus,
    now_iso,
)
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.ports import Backend
from script_to_film.domain.preview import first_scene_starts_at
from script_to_film.domain.screenplay import fades_in_after
from script_to_film.workflow.contract import MAX_SUBMITS_PER_SCENE, FilmInput, max_polls

LOG = logging.getLogger(__name__)

MAP_CONCURRENCY_LIMIT = 40
"""An inline Map runs at most 40 iterations at once."""

DEFAULT_CONCURRENCY = {"animatic": 4, "runway": 1}
"""Scenes generated at once when `STF_<PROVIDER>_CONCURRENCY` is not set: Runway's tier 1 runs
one or two tasks at a time; the animatic renders locally and is bounded by the CPU."""


class TooManyScenesError(InvalidInputError):
    """More scenes than one film may have."""


class TooManyPollsError(InvalidInputError):
    """More polls of one scene than its execution's history can hold."""


class RunTooLongError(InvalidInputError):
    """At their worst, the options would keep the film running past the execution's time limit."""


class WorkflowUnavailableError(ScriptToFilmError):
    """The workflow could not be started. The video was ended FAILED before anything was paid
    for (HTTP 503: try again in `retry_after_seconds`)."""

    retry_after_seconds = 10

    def __init__(self, message: str, *, video_id: str) -> None:
        super().__init__(message)
        self.video_id = video_id


def provider_concurrency(provider: str, env: Mapping[str, str] = os.environ) -> int:
    """The configured concurrency of a provider (its tier), capped at the Map's limit."""
    configured = env.get(f"STF_{provider.upper()}_CONCURRENCY")
    value = int(configured) if configured else DEFAULT_CONCURRENCY.get(provider, 1)
    return max(1, min(value, MAP_CONCURRENCY_LIMIT))


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def worst_case_seconds(
    scenes: int,
    concurrency: int,
    poll_seconds: int,
    scene_timeout_seconds: int,
    shots: int = 1,
    *,
    shots_per_scene: Sequence[int] | None = None,
) -> int:
    """How long a film can run at most. A scene at its worst has each of its shots poll to the
    scene timeout, within the scene's poll budget (resubmits share it), and run its other tasks
    once to their TimeoutSeconds. The Map starts each scene as a slot frees, so the scenes end
    by the smaller of two bounds: waves of `concurrency` scenes each as long as the longest, or
    their total spread over the slots plus the longest. `shots_per_scene` gives each scene's
    shots (default: `scenes` scenes of `shots`). The film's own tasks run to theirs."""
    counts = list(shots_per_scene) if shots_per_scene is not None else [shots] * scenes

    def scene_seconds(shots: int) -> int:
        polls = min(
            shots * max_polls(poll_seconds, scene_timeout_seconds),
            max_polls_per_scene(MAX_SUBMITS_PER_SCENE, shots),
        )
        return polls * poll_seconds + shots * SCENE_TASKS_WORST_SECONDS

    times = [scene_seconds(count) for count in counts]
    longest = max(times, default=0)
    in_waves = math.ceil(len(times) / concurrency) * longest
    spread = math.ceil(sum(times) / concurrency) + longest
    return FILM_TASKS_WORST_SECONDS + min(in_waves, spread)


def prepare(source: str | bytes, options: VideoOptions, *, concurrency: int | None = None) -> Plan:
    """Parse, direct, select and price; refuse what cannot or should not run. Pure.

    `concurrency` is the scenes filmed at once (default: the provider's configured concurrency).
    """
    model = options.model or catalog.default_model(options.provider).id
    chosen = catalog.get_model(model)
    if chosen.provider != options.provider:
        raise InvalidInputError(
            f"model {model!r} belongs to provider {chosen.provider!r}, not {options.provider!r}"
        )
    full = plan(
        source,
        model=model,
        style=options.style,
        ratio=options.ratio,
        length=options.cut,
        max_shots=options.max_shots,
    )
    # Casting refuses a voice note or option for nobody who speaks, before anything runs.
    casting.cast_voices(full.screenplay, options.voices)
    selected = _select(full, options.scenes)
    if options.keyframe or options.model_audio:
        # Each shot's keyframe image is paid for too, and so is a model's own sound: the budget
        # check must see them.
        repriced = cost.estimate(selected.shots, keyframe=options.keyframe, model_audio=options.model_audio)
        selected = selected.model_copy(update={"estimate": repriced})
    poll_seconds = options.poll_interval
    polls = max_polls(poll_seconds, options.scene_timeout_seconds)
    limit = max_scenes()
    scenes = len(selected.by_scene())
    if scenes > limit:
        raise TooManyScenesError(
            f"{scenes} scenes is more than one film can have ({limit}); choose scenes "
            "with --scenes (the API's `scenes`) or split the screenplay"
        )
    most_polls = max_polls_per_scene(MAX_SUBMITS_PER_SCENE)
    if polls > most_polls:
        raise TooManyPollsError(
            f"polls every {poll_seconds} s for a {options.scene_timeout_seconds} s scene timeout are "
            f"{polls} polls, more than a scene's execution can record ({most_polls}, within Step "
            "Functions' 25,000-event history); poll less often or shorten the scene timeout"
        )
    by_scene = selected.by_scene()
    check_run_time(
        [len(shots) for shots in by_scene.values()],
        concurrency or provider_concurrency(options.provider),
        options,
    )
    cost.check_budget(selected.estimate, options.max_budget_usd)
    return selected


def check_run_time(shots_per_scene: Sequence[int], concurrency: int, options: VideoOptions) -> None:
    """Refuse options whose worst case cannot finish within the film's execution timeout
    (`shots_per_scene`: how many shots each scene to film has)."""
    scenes = len(shots_per_scene)
    worst = worst_case_seconds(
        scenes,
        concurrency,
        options.poll_interval,
        options.scene_timeout_seconds,
        shots_per_scene=shots_per_scene,
    )
    if worst > EXECUTION_TIMEOUT_SECONDS:
        limit_hours = EXECUTION_TIMEOUT_SECONDS // 3600
        raise RunTooLongError(
            f"{scenes} scenes, {concurrency} at a time, with a {options.scene_timeout_seconds} s scene "
            f"timeout could run {worst / 3600:.1f} h, past the {limit_hours} h a film may run; shorten "
            "the scene timeout, film fewer scenes (--scenes) or raise the provider's concurrency"
        )


def account_limits(
    backend: Backend, options: VideoOptions, prepared: Plan, *, cap: int | None = None
) -> RunLimits:
    """Ask the provider's account what it allows this film (the preflight, before anything is
    stored or paid for): its concurrency, or `InsufficientCreditsError` / `DailyAllowanceError`.
    `cap` is the most scenes at once the caller allows (default `STF_<PROVIDER>_CONCURRENCY`)."""
    model = prepared.shots[0].model
    keyframe = options.keyframe or catalog.get_model(model).needs_keyframe
    needed = generations_needed(model, len(prepared.shots), keyframe=keyframe)  # one a shot
    limit = cap or configured_concurrency(options.provider)
    fallback = limit or provider_concurrency(options.provider)
    limits = read_limits(
        backend.providers.get_provider(options.provider), list(needed), fallback_concurrency=fallback
    )
    return plan_run(
        limits,
        estimate_credits=float(prepared.estimate.credits),
        generations=needed,
        configured_cap=limit,
        map_max=MAP_CONCURRENCY_LIMIT,
    )


def _select(full: Plan, numbers: list[int] | None) -> Plan:
    if not numbers:
        return full
    count = len(full.screenplay.scenes)
    unknown = sorted({n for n in numbers if not 1 <= n <= count})
    if unknown:
        raise InvalidInputError(
            f"no scene {', '.join(map(str, unknown))}: the screenplay has scenes 1 to {count}"
        )
    wanted = set(numbers)
    shots = [shot for shot in full.shots if shot.scene in wanted]
    return full.model_copy(update={"shots": shots, "estimate": cost.estimate(shots)})


def start_video(
    backend: Backend,
    source: str | bytes,
    options: VideoOptions,
    *,
    max_concurrency: int | None = None,
    script_id: str | None = None,
    video_id: str | None = None,
    request_digest: str | None = None,
    before_storing: Callable[[VideoRecord], None] | None = None,
) -> VideoRecord:
    """Store the screenplay and the video, then start the workflow named after the video.

    `script_id` names a script already stored with this very text (the API films its scripts):
    the video then points at it instead of at a new copy. `video_id` chooses the video's id (the
    API derives it from an Idempotency-Key). `before_storing` is called with the video just
    before it is stored (see `create_video`). If StartExecution fails, the execution may still
    have started (its answer was lost): one found by its name is kept; otherwise the video is
    ended FAILED, so no QUEUED video is left behind, and `WorkflowUnavailableError` is raised.
    """
    video = create_video(
        backend,
        source,
        options,
        concurrency=max_concurrency,
        script_id=script_id,
        video_id=video_id,
        request_digest=request_digest,
        before_storing=before_storing,
    )
    execution_input = FilmInput(
        video_id=video.id,
        provider=options.provider,
        model=video.model,
        poll_seconds=options.poll_interval,
        scene_timeout_seconds=options.scene_timeout_seconds,
        max_concurrency=video.concurrency or provider_concurrency(options.provider),
    )
    try:
        arn = backend.orchestrator.start(video.id, execution_input.model_dump())
        backend.videos.record_execution(video.id, arn)
        video.execution_arn = arn
    except Exception as error:  # whatever failed, the video must not be left QUEUED for good
        video.execution_arn = _started_anyway(backend, video.id)
        if video.execution_arn is None:
            _end_unstarted(backend, video, error)
            raise WorkflowUnavailableError(
                f"the film workflow could not be started ({type(error).__name__}); video {video.id} "
                "was ended FAILED and nothing was paid for: try again shortly",
                video_id=video.id,
            ) from error
    return video


def _started_anyway(backend: Backend, video_id: str) -> str | None:
    """The execution of a video whose StartExecution raised, if it started all the same."""
    try:
        arn = backend.orchestrator.find(video_id)
        if arn is not None:
            backend.videos.record_execution(video_id, arn)
        return arn
    except Exception:
        LOG.exception("could not tell whether the execution started", extra={"video_id": video_id})
        return None


def _end_unstarted(backend: Backend, video: VideoRecord, error: Exception) -> None:
    """End a video whose workflow never started. Should it have started after all (StartExecution
    answered too late), its LoadShots finds the video FAILED and films nothing."""
    reason = f"the film workflow could not be started: {type(error).__name__}: {error}"[:500]
    backend.videos.set_status(video.id, VideoStatus.FAILED, failure=reason)
    for scene in video.scenes:
        backend.videos.set_scene_status(
            video.id, scene.number, SceneStatus.FAILED, failure_code="START_FAILED", failure=reason
        )


def create_video(
    backend: Backend,
    source: str | bytes,
    options: VideoOptions,
    *,
    concurrency: int | None = None,
    script_id: str | None = None,
    video_id: str | None = None,
    request_digest: str | None = None,
    before_storing: Callable[[VideoRecord], None] | None = None,
) -> VideoRecord:
    """Store the screenplay (unless `script_id` names its stored copy), the video with its
    PENDING scenes, and each scene's job — once the provider's account has said it can pay for
    and make the film, and at how many scenes at once (at most `concurrency` when given).

    `before_storing(video)` runs once the video's id is known and before anything of the video
    is stored: the S3 batch writes that id onto its claim there (and tags the video with its
    batch), so a delivery that resumes the batch can tell whether this start got through."""
    prepared = prepare(source, options, concurrency=MAP_CONCURRENCY_LIMIT)
    run = account_limits(backend, options, prepared, cap=concurrency)
    by_scene = prepared.by_scene()
    check_run_time([len(shots) for shots in by_scene.values()], run.concurrency, options)
    screenplay = prepared.screenplay
    if script_id is None:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
        script = ScriptRecord(
            id=new_id("script"),
            title=screenplay.title,
            scene_count=len(screenplay.scenes),
            created_at=now_iso(),
        )
        backend.scripts.put(script, text)
        script_id = script.id
    video_id = video_id or new_id("video")
    scenes_by_number = {scene.number: scene for scene in screenplay.scenes}
    per_scene = {line.number: line for line in prepared.estimate.scenes}
    first = prepared.shots[0]
    keyframe = options.keyframe or catalog.get_model(first.model).needs_keyframe
    video = VideoRecord(
        id=video_id,
        script_id=script_id,
        title=screenplay.title,
        provider=first.provider,
        model=first.model,
        style=first.style,
        ratio=first.ratio,
        scene_count=len(by_scene),
        keyframe=keyframe,
        fps=options.fps,
        estimated_credits=prepared.estimate.credits,
        estimated_usd=prepared.estimate.usd,
        request_digest=request_digest,
        concurrency=run.concurrency,
        concurrency_source=run.source,
        limits_note=run.note,
        created_at=now_iso(),
        scenes=[
            SceneRecord(
                number=number,
                heading=scenes_by_number[number].heading,
                duration_seconds=sum(shot.duration for shot in shots),
                estimated_credits=per_scene[number].credits,
                shots=[
                    ShotRecord(
                        number=shot.number, kind=shot.kind, duration_seconds=shot.duration, lines=shot.lines
                    )
                    for shot in shots
                ],
            )
            for number, shots in by_scene.items()
        ],
    )
    jobs: list[SceneJob] = []
    for number, shots in by_scene.items():
        previous = jobs[-1] if jobs else None
        jobs.append(
            SceneJob(
                video_id=video_id,
                scene=scenes_by_number[number],
                shot=shots[0],
                shots=shots,
                keyframe=keyframe,
                model_audio=options.model_audio,
                start_seconds=(
                    previous.start_seconds + sum(shot.duration for shot in previous.shots)
                    if previous
                    else first_scene_starts_at(shots[0].provider)
                ),
                fade_in=fades_in_after(previous.scene if previous else None),
            )
        )
    if before_storing is not None:
        before_storing(video)
    backend.videos.create(video, jobs)
    return video
