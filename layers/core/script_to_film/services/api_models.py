"""The REST API's request and response bodies (`/api/v1`): what its OpenAPI document describes.

Requests refuse unknown fields, so a misspelt option is answered 422 instead of being silently
ignored. Their bounds are the project's limits (the screenplay size is checked by the breakdown,
which answers 413 rather than 422). Responses never hold a provider URL: clips and films are
served from the project's bucket through presigned URLs that expire within the hour. No answer is
over `MAX_RESPONSE_BYTES`: a script's scenes and a video's scenes come a page at a time, and a
script's text inline only while it is small (`GET /scripts/{id}/content` has it whatever its size).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from script_to_film.domain import casting
from script_to_film.domain.breakdown import EstimateView, SceneBreakdown, SceneCost
from script_to_film.domain.coverage import MAX_LENGTH_SECONDS, MAX_SHOTS_PER_SCENE, SHORT_CUT_MAX_SHOTS
from script_to_film.domain.director import DEFAULT_STYLE
from script_to_film.domain.limits import MAX_SCENES, MAX_SCREENPLAY_BYTES, MAX_SCRIPT_SCENES, MAX_TITLE_CHARS
from script_to_film.domain.models import SceneStatus, ScriptStatus, ShotKind, VideoStatus
from script_to_film.domain.options import LENGTH_PATTERN, check_length

PAGE_SIZE_DEFAULT = 20
PAGE_SIZE_MAX = 100
SCENE_PAGE_DEFAULT = 100
"""Scenes in a script's or a video's first page (and in each page unless `limit` says otherwise):
most screenplays' scenes all come in one answer."""
SCENE_PAGE_MAX = 200
SCENE_PAGE_BYTES = 600_000
"""However many scenes a page may hold, their JSON is at most this many bytes."""
CONTENT_INLINE_BYTES = 300_000
"""A script's text comes inline (`content`) only when its JSON string is at most this many bytes;
with the scenes' page and the rest it keeps the answer under `MAX_RESPONSE_BYTES`."""


ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]*$"
"""Script and video ids (`script-…`, `video-…`): letters, digits, `-` and `_`."""


TEXT_LINE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""One line of text: no control characters (NUL, line breaks, escapes)."""


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Scripts -----------------------------------------------------------------------------------------


class ScriptCreate(_Request):
    """A screenplay to store and break down."""

    title: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_TITLE_CHARS,
        pattern=TEXT_LINE_PATTERN,
        examples=["Kettle"],
        description="The script's title (one line of text); default: the title page's `Title:`",
    )
    content: str = Field(
        min_length=1,
        examples=["Title: Kettle\n\nINT. KITCHEN - NIGHT\n\nA kettle sings. MAYA (30s) ignores it.\n"],
        description=f"The screenplay in Fountain, at most {MAX_SCREENPLAY_BYTES:,} bytes of UTF-8 "
        f"(413 beyond) and {MAX_SCRIPT_SCENES:,} scenes (422 `too_many_scenes` beyond)",
    )


class ScriptGenerate(_Request):
    """An idea for Claude to write a screenplay from (the writer's bounds: `screenwriting.WriteRequest`)."""

    prompt: str = Field(min_length=3, max_length=2000, description="The story idea, in a sentence or a few")
    duration_preference: int = Field(
        default=60, ge=15, le=600, description="Screen time to write for, in seconds"
    )
    genre: str | None = Field(default=None, min_length=1, max_length=100, examples=["thriller"])
    tone: str | None = Field(default=None, min_length=1, max_length=100, examples=["quiet, bittersweet"])

    @field_validator("prompt", "genre", "tone")
    @classmethod
    def _stripped(cls, value: str | None, info: ValidationInfo) -> str | None:
        # After the lengths are checked on the text as sent, as the schema states them: stripping
        # first would accept a body the published schema refuses.
        if value is None:
            return None
        stripped = value.strip()
        least = 3 if info.field_name == "prompt" else 1
        if len(stripped) < least:
            raise ValueError(f"must have at least {least} character{'s' * (least > 1)} besides spaces")
        return stripped


class ScriptSummary(BaseModel):
    """A script as lists show it."""

    id: str
    title: str | None
    status: ScriptStatus = Field(description="WRITING while Claude writes it, then READY or FAILED")
    scene_count: int
    created_at: str
    failure: str | None = Field(default=None, description="Why writing it failed (FAILED only)")


class SceneView(SceneBreakdown):
    """A scene of a script's breakdown, with its shot as directed for the breakdown's model."""

    cost: SceneCost | None = Field(
        default=None,
        description="Its shots, seconds and cost on the estimate's model, before anything is paid",
    )
    truncated: bool = Field(
        default=False,
        description=f"The scene alone is over {SCENE_PAGE_BYTES:,} bytes of JSON, so its action, "
        "characters and dialogue were cut here; GET /scripts/{id}/content has the whole text",
    )


class ScriptDetail(ScriptSummary):
    """A script with its breakdown: scenes, shots and what filming them would cost."""

    scenes: list[SceneView] = Field(
        default_factory=list,
        description=f"The first {SCENE_PAGE_DEFAULT} scenes (fewer when they would be over "
        f"{SCENE_PAGE_BYTES:,} bytes); empty until the script is READY",
    )
    scenes_next_token: str | None = Field(
        default=None,
        description="More scenes: pass as `next_token` to GET /scripts/{id}/scenes; null when "
        "`scenes` ends with the last scene",
    )
    total_seconds: int | None = Field(default=None, description="Estimated screen time of all the scenes")
    estimate: EstimateView | None = Field(
        default=None, description="The cost of filming every scene with the estimate's model"
    )
    content: str | None = Field(
        default=None,
        description=f"The Fountain text, in GET /scripts/{{id}} of a READY script when it is at most "
        f"{CONTENT_INLINE_BYTES:,} bytes as a JSON string; null otherwise (GET /scripts/{{id}}/content "
        "answers it as text/plain whatever its size)",
    )


class ScenePage(BaseModel):
    """A page of a script's scenes (GET /scripts/{id}/scenes)."""

    items: list[SceneView]
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last")


class ScriptPage(BaseModel):
    items: list[ScriptSummary]
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last")


# Videos ------------------------------------------------------------------------------------------


class VideoCreate(_Request):
    """How to film a stored script."""

    script_id: str = Field(min_length=1, max_length=100, pattern=ID_PATTERN)
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
    voices: (
        dict[Annotated[str, Field(min_length=1, max_length=50)], Annotated[str, Field(max_length=40)]] | None
    ) = Field(
        default=None,
        max_length=200,
        description="A speaking character's voice, overriding the casting: a voice id or a Runway preset",
        examples=[{"MARA": "en-f-2", "JONAH": "Mark"}],
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
    model_audio: bool = Field(
        default=False,
        description="Let a model that makes its own sound (veo3.1, veo3.1_fast) make it, at its higher price",
    )
    length: str = Field(
        default="full",
        max_length=5,
        pattern=LENGTH_PATTERN,
        examples=["full", "short", "90"],
        description="`full` (each shot as long as what it carries), `short` (a condensed cut: about "
        f"half as long, at most {SHORT_CUT_MAX_SHOTS} shots a scene) or the film's length in seconds "
        f"(1 to {MAX_LENGTH_SECONDS})",
    )
    max_shots: int | None = Field(
        default=None, ge=1, le=MAX_SHOTS_PER_SCENE, description="The most shots a scene is cut into"
    )

    @field_validator("length")
    @classmethod
    def _length_in_range(cls, value: str) -> str:
        return check_length(value)

    @field_validator("voices")
    @classmethod
    def _known_voices(cls, voices: dict[str, str] | None) -> dict[str, str] | None:
        return casting.check_voices(voices)


class VideoShotView(BaseModel):
    number: int = Field(description="1-based within the scene")
    kind: ShotKind
    status: SceneStatus
    duration_seconds: int
    lines: list[int] = Field(description="Indices into the scene's dialogue that the shot carries")
    attempts: int
    failure_code: str | None
    failure: str | None
    credits: float | None


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
    shot: int = Field(default=1, description="The shot being generated, while the scene runs")
    shots: list[VideoShotView] = Field(
        default_factory=list, description="The scene's shots in order; its clip is them joined"
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
    scenes: list[VideoSceneView] = Field(
        description=f"The first {SCENE_PAGE_DEFAULT} scenes; `scenes_next_token` pages on through "
        "GET /videos/{id}/scenes"
    )
    scenes_next_token: str | None = Field(
        default=None,
        description="More scenes: pass as `next_token` to GET /videos/{id}/scenes; null when `scenes` "
        "ends with the last scene",
    )
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


class VideoScenePage(BaseModel):
    """A page of a video's scenes (GET /videos/{id}/scenes), with their clips' presigned URLs."""

    items: list[VideoSceneView]
    next_token: str | None = Field(description="Pass as `next_token` for the next page; null on the last")
    urls_expire_at: str | None = Field(description="When the clip URLs stop working")


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
    problems: list[FieldProblem] | None = Field(
        default=None, description="Each invalid field (422), the first twenty when there are more"
    )
