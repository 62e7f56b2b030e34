"""How to film a screenplay: the options every entry point takes (the API, batch manifests and
`stf run`), with the provider's defaults."""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

from script_to_film.domain import casting, director
from script_to_film.domain.coverage import MAX_SHOTS_PER_SCENE, Length
from script_to_film.domain.errors import InvalidOptionError

LENGTH_PATTERN = r"^(full|short|[1-9][0-9]{0,4})$"
"""`full`, `short`, or a target in whole seconds for the whole film (see `coverage.Length`)."""


def check_length(value: str) -> str:
    """`value` if it is a length (`full`, `short`, 1 to 86,400 seconds); else ValueError, which
    a model's validation reports as an invalid field."""
    try:
        Length.parse(value)
    except InvalidOptionError as error:
        raise ValueError(str(error)) from None
    return value


DEFAULT_POLL_SECONDS = {"animatic": 1, "runway": 10}
"""Seconds between status polls when none is asked for: the animatic costs nothing to ask (and
renders in seconds); Runway asks not to be polled more often than every 5 s."""


class VideoOptions(BaseModel):
    """How to film a screenplay: every knob the API, batch manifests and `stf run` expose."""

    provider: str = "animatic"
    model: str | None = Field(default=None, description="default: the provider's default model")
    style: str = director.DEFAULT_STYLE
    ratio: str | None = None
    scenes: list[int] | None = Field(default=None, description="1-based scene numbers; default: all")
    poll_seconds: int | None = Field(
        default=None, ge=1, le=300, description="default: the provider's (animatic 1 s, runway 10 s)"
    )
    scene_timeout_seconds: int = Field(default=300, ge=1, le=86_400)
    max_budget_usd: float | None = Field(default=None, ge=0)
    keyframe: bool = Field(
        default=False,
        description="animate a generated keyframe image (image_to_video) instead of text_to_video",
    )
    model_audio: bool = Field(
        default=False,
        description="let a model that makes its own sound (veo3.1, veo3.1_fast) make it, at its higher "
        "price; otherwise it is asked for none",
    )
    fps: int | None = Field(
        default=None, description="frame rate asked for; recorded, as providers render at their own rate"
    )
    length: str = Field(
        default="full",
        pattern=LENGTH_PATTERN,
        description="full (every beat its own length), short (a condensed cut), or seconds for the film",
    )
    max_shots: int | None = Field(
        default=None, ge=1, le=MAX_SHOTS_PER_SCENE, description="the most shots a scene is cut into"
    )

    @field_validator("length")
    @classmethod
    def _length_in_range(cls, value: str) -> str:
        return check_length(value)

    @property
    def cut(self) -> Length:
        """How long the film is cut (`length` read)."""
        return Length.parse(self.length)

    voices: dict[str, str] | None = Field(
        default=None,
        description='voices overriding the casting: {"MARA": "en-f-2"} (voice ids or Runway presets)',
    )

    @field_validator("voices")
    @classmethod
    def _known_voices(cls, voices: dict[str, str] | None) -> dict[str, str] | None:
        return casting.check_voices(voices)

    @property
    def poll_interval(self) -> int:
        """The seconds between polls: as asked, else the provider's default."""
        return self.poll_seconds or DEFAULT_POLL_SECONDS.get(self.provider, 10)
