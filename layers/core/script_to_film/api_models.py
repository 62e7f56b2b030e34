"""The REST API's request and response bodies (`/api/v1`): what its OpenAPI document describes.

Requests refuse unknown fields, so a misspelt option is answered 422 instead of being silently
ignored. Their bounds are the project's limits (the screenplay size is checked by the breakdown,
which answers 413 rather than 422). Responses never hold a provider URL: clips and films are
served from the project's bucket through presigned URLs that expire within the hour.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from script_to_film.breakdown import EstimateView, SceneBreakdown
from script_to_film.director import DEFAULT_STYLE
from script_to_film.limits import MAX_SCENES, MAX_SCREENPLAY_BYTES
from script_to_film.models import SceneStatus, ScriptStatus, VideoStatus

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Scripts -----------------------------------------------------------------------------------------


class ScriptCreate(_Request):
    """A screenplay to store and break down."""

    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The script's title; default: the title page's `Title:`",
    )
    content: str = Field(
        min_length=1,
        description=f"The screenplay in Fountain, at most {MAX_SCREENPLAY_BYTES:,} bytes of UTF-8 "
        "(413 beyond)",
    )


class ScriptGenerate(_Request):
    """An idea for Claude to write a screenplay from (the writer's bounds: `writer.WriteRequest`)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    prompt: str = Field(min_length=3, max_length=2000, description="The story idea, in a sentence or a few")
    duration_preference: int = Field(
        default=60, ge=15, le=600, description="Screen time to write for, in seconds"
    )
    genre: str | None = Field(default=None, min_length=1, max_length=100, examples=["thriller"])
    tone: str | None = Field(default=None, min_length=1, max_length=100, examples=["quiet, bittersweet"])


class ScriptSummary(BaseModel):
    """A script as lists show it."""

    id: str
    title: str | None
    status: ScriptStatus = Field(description="WRITING while Claude writes it, then READY or FAILED")
    scene_count: int
    created_at: str
    failure: str | None = Field(default=None, description="Why writing it failed (FAILED only)")


class ScriptDetail(ScriptSummary):
    """A script with its breakdown: scenes, shots and what filming them would cost."""

    scenes: list[SceneBreakdown] = Field(default_factory=list, description="Empty until the script is READY")
    total_seconds: int | None = Field(default=None, description="Estimated screen time of all the scenes")
    estimate: EstimateView | None = Field(
        default=None, description="The cost of filming every scene with the estimate's model"
    )
    content: str | None = Field(
        default=None, description="The Fountain text (GET /scripts/{id} of a READY script only)"
    )


class ScriptPage(BaseModel):
    items: list[ScriptSummary]
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last")


# Videos ------------------------------------------------------------------------------------------


class VideoCreate(_Request):
    """How to film a stored script."""

    script_id: str = Field(min_length=1, max_length=100)
    provider: str = Field(
        default="animatic", max_length=40, description="`animatic` (offline, free) or `runway`"
    )
    model: str | None = Field(
        default=None, max_length=40, description="A model of the provider; default: the provider's default"
    )
    style: str = Field(default=DEFAULT_STYLE, min_length=1, max_length=40, examples=["film noir"])
    resolution: str | None = Field(
        default=None,
        max_length=20,
        description="`WIDTHxHEIGHT` (or `W:H`), `720p` or `1080p`; it must be a ratio the model makes. "
        "Default: the model's",
        examples=["1280x720", "720x1280", "720p"],
    )
    fps: Literal[24, 25, 30] = Field(
        default=24, description="Recorded with the video; each provider renders at its own fixed frame rate"
    )
    scenes: list[Annotated[int, Field(ge=1, le=10_000)]] | None = Field(
        default=None, min_length=1, max_length=MAX_SCENES, description="1-based scene numbers; default: all"
    )
    max_budget_usd: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="Refused (422) when the estimate is over it"
    )
    poll_seconds: int | None = Field(
        default=None,
        ge=1,
        le=300,
        description="Seconds between status checks; default: the provider's (animatic 1, runway 10)",
    )
    scene_timeout_seconds: int = Field(
        default=300, ge=1, le=86_400, description="A scene gives up after this"
    )
    keyframe: bool = Field(
        default=False, description="Animate a generated keyframe image instead of generating from text"
    )


class VideoSceneView(BaseModel):
    number: int
    heading: str
    status: SceneStatus
    progress: float = Field(ge=0, le=1)
    duration_seconds: int
    attempts: int
    failure_code: str | None
    failure: str | None
    clip_url: str | None = Field(description="Presigned URL of the scene's clip, once it is stored")
    estimated_credits: float
    credits: float | None = Field(description="What the provider charged, once it says")
    note: str | None = Field(
        default=None, description="What else happened worth knowing (a cancel the provider did not confirm)"
    )
    updated_at: str | None


class LeftOutView(BaseModel):
    scene: int
    reason: str = Field(description="Why the scene's stored clip could not go into the film")


class VideoCost(BaseModel):
    estimated_usd: float
    estimated_credits: float
    credits: float = Field(description="Credits charged so far (all of them once the video has finished)")
    usd: float = Field(description="`credits` in US dollars")


class VideoSummary(BaseModel):
    """A video as lists show it (GET /videos/{id} has its scenes and URLs)."""

    id: str
    script_id: str
    title: str | None
    status: VideoStatus
    provider: str
    model: str
    scene_count: int
    cost: VideoCost
    created_at: str
    updated_at: str | None


class VideoDetail(VideoSummary):
    progress: float = Field(ge=0, le=1, description="0 when queued, 1 when finished")
    style: str
    ratio: str
    resolution: str = Field(description="WIDTHxHEIGHT of the clips")
    fps: int | None
    keyframe: bool
    scenes: list[VideoSceneView]
    film_url: str | None = Field(description="Presigned URL of the film, once it is assembled")
    urls_expire_at: str | None = Field(description="When `film_url` and the clip URLs stop working")
    execution: str | None = Field(description="The Step Functions execution ARN")
    failure: str | None = Field(
        default=None,
        description="Why the video failed or was cancelled, when no scene says it (e.g. the film "
        "could not be assembled: its clips are kept)",
    )
    left_out: list[LeftOutView] = Field(
        default_factory=list, description="Scenes whose clip was stored but could not go into the film"
    )


class VideoPage(BaseModel):
    items: list[VideoSummary]
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last")


# Service -----------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str


class FieldProblem(BaseModel):
    location: str = Field(examples=["body.fps"])
    message: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer."""

    error: str = Field(description="What kind of error, for programs", examples=["budget_exceeded"])
    message: str = Field(description="What is wrong and, where it can, what would be accepted")
    problems: list[FieldProblem] | None = Field(default=None, description="Each invalid field (422)")
