"""Starting a video: the one path from a screenplay to a running workflow.

The API, the S3 batch trigger and `stf run` all call `start_video`, so every entry point refuses
the same inputs (too many scenes, over budget, unknown model) before anything is paid for.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping

from pydantic import BaseModel, Field

from script_to_film import catalog, cost, director
from script_to_film.breakdown import Plan, plan
from script_to_film.errors import InvalidInputError
from script_to_film.limits import max_scenes
from script_to_film.models import SceneJob, SceneRecord, ScriptRecord, VideoRecord
from script_to_film.store import FilmStore, now_iso
from script_to_film.workflow import MAX_SUBMITS_PER_SCENE, FilmInput, max_polls

MAP_CONCURRENCY_LIMIT = 40
"""An inline Map runs at most 40 iterations at once."""

DEFAULT_CONCURRENCY = {"animatic": 4, "runway": 1}
"""Scenes generated at once when `STF_<PROVIDER>_CONCURRENCY` is not set: Runway's tier 1 runs
one or two tasks at a time; the animatic renders locally and is bounded by the CPU."""


class TooManyScenesError(InvalidInputError):
    """More scenes than one execution's history can hold."""


class VideoOptions(BaseModel):
    """How to film a screenplay: every knob the API, batch manifests and `stf run` expose."""

    provider: str = "animatic"
    model: str | None = Field(default=None, description="default: the provider's default model")
    style: str = director.DEFAULT_STYLE
    ratio: str | None = None
    scenes: list[int] | None = Field(default=None, description="1-based scene numbers; default: all")
    poll_seconds: int = Field(default=10, ge=1, le=300)
    scene_timeout_seconds: int = Field(default=300, ge=1, le=86_400)
    max_budget_usd: float | None = Field(default=None, ge=0)
    keyframe: bool = Field(
        default=False,
        description="animate a generated keyframe image (image_to_video) instead of text_to_video",
    )
    fps: int | None = Field(
        default=None, description="frame rate asked for; recorded, as providers render at their own rate"
    )


def provider_concurrency(provider: str, env: Mapping[str, str] = os.environ) -> int:
    """The configured concurrency of a provider (its tier), capped at the Map's limit."""
    configured = env.get(f"STF_{provider.upper()}_CONCURRENCY")
    value = int(configured) if configured else DEFAULT_CONCURRENCY.get(provider, 1)
    return max(1, min(value, MAP_CONCURRENCY_LIMIT))


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:16]}"


def prepare(source: str | bytes, options: VideoOptions) -> Plan:
    """Parse, direct, select and price; refuse what cannot or should not run. Pure."""
    model = options.model or catalog.default_model(options.provider).id
    chosen = catalog.get_model(model)
    if chosen.provider != options.provider:
        raise InvalidInputError(
            f"model {model!r} belongs to provider {chosen.provider!r}, not {options.provider!r}"
        )
    full = plan(source, model=model, style=options.style, ratio=options.ratio)
    selected = _select(full, options.scenes)
    polls = max_polls(options.poll_seconds, options.scene_timeout_seconds)
    limit = max_scenes(polls, MAX_SUBMITS_PER_SCENE)
    if len(selected.shots) > limit:
        raise TooManyScenesError(
            f"{len(selected.shots)} scenes is more than one film can have ({limit} with polls every "
            f"{options.poll_seconds} s and a {options.scene_timeout_seconds} s scene timeout, within Step "
            "Functions' 25,000-event history); choose scenes with --scenes or split the screenplay"
        )
    cost.check_budget(selected.estimate, options.max_budget_usd)
    return selected


def _select(full: Plan, numbers: list[int] | None) -> Plan:
    if not numbers:
        return full
    count = len(full.shots)
    unknown = sorted({n for n in numbers if not 1 <= n <= count})
    if unknown:
        raise InvalidInputError(
            f"no scene {', '.join(map(str, unknown))}: the screenplay has scenes 1 to {count}"
        )
    wanted = sorted(set(numbers))
    shots = [full.shots[n - 1] for n in wanted]
    return Plan(screenplay=full.screenplay, shots=shots, estimate=cost.estimate(shots))


def start_video(
    store: FilmStore,
    source: str | bytes,
    options: VideoOptions,
    *,
    max_concurrency: int | None = None,
    script_id: str | None = None,
) -> VideoRecord:
    """Store the screenplay and the video, then start the workflow named after the video.

    `script_id` names a script already stored with this very text (the API films its scripts):
    the video then points at it instead of at a new copy.
    """
    video = create_video(store, source, options, script_id=script_id)
    execution_input = FilmInput(
        video_id=video.id,
        provider=options.provider,
        model=video.model,
        poll_seconds=options.poll_seconds,
        scene_timeout_seconds=options.scene_timeout_seconds,
        max_concurrency=max_concurrency or provider_concurrency(options.provider),
    )
    video.execution_arn = store.start_execution(video.id, execution_input.model_dump())
    return video


def create_video(
    store: FilmStore, source: str | bytes, options: VideoOptions, *, script_id: str | None = None
) -> VideoRecord:
    """Store the screenplay (unless `script_id` names its stored copy), the video with its
    PENDING scenes, and each scene's job."""
    prepared = prepare(source, options)
    screenplay = prepared.screenplay
    if script_id is None:
        text = source.decode("utf-8-sig") if isinstance(source, bytes) else source
        script = ScriptRecord(
            id=new_id("script"),
            title=screenplay.title,
            scene_count=len(screenplay.scenes),
            created_at=now_iso(),
        )
        store.put_script(script, text)
        script_id = script.id
    video_id = new_id("video")
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
        scene_count=len(prepared.shots),
        keyframe=keyframe,
        fps=options.fps,
        estimated_credits=prepared.estimate.credits,
        estimated_usd=prepared.estimate.usd,
        created_at=now_iso(),
        scenes=[
            SceneRecord(
                number=shot.scene,
                heading=scenes_by_number[shot.scene].heading,
                duration_seconds=shot.duration,
                estimated_credits=per_scene[shot.scene].credits,
            )
            for shot in prepared.shots
        ],
    )
    jobs = [
        SceneJob(video_id=video_id, scene=scenes_by_number[shot.scene], shot=shot, keyframe=keyframe)
        for shot in prepared.shots
    ]
    store.create_video(video, jobs)
    return video
