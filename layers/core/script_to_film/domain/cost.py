"""What filming the shots will cost, per scene and in total, and the budget check made before paying.

Prices come from the catalog: credits per second of clip for each video model, and per image for
the keyframe model that image-only models (gen4_turbo) need one of per shot (veo's price with
its own sound when asked for), per started 50 characters of each speech task for voices, and per
sound for ambience (`audio_estimate`, `speech_credits`, `sound_credits`). They are third-party
figures (Runway's published API pricing, 1 credit = US$0.01), so this is an estimate; Runway
reports what each task really cost, and the workflow records that. Money is `Decimal` until it
leaves this module as US dollars rounded to the cent. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from script_to_film.domain.audio_tasks import speech_pieces
from script_to_film.domain.catalog import (
    DEFAULT_MODEL,
    SOUND_MODEL,
    SPEECH_MODEL,
    USD_PER_CREDIT,
    VideoModel,
    get_image_model,
    get_model,
)
from script_to_film.domain.errors import BudgetExceededError, InvalidOptionError
from script_to_film.domain.models import Scene, Shot

CENT = Decimal("0.01")


class ShotEstimate(BaseModel):
    number: int = Field(description="The shot's number (1-based) within its scene")
    duration: int = Field(description="Clip length in seconds")
    credits: int | float = Field(description="Credits for the clip, and its keyframe if the model needs one")


class SceneEstimate(BaseModel):
    number: int = Field(description="The scene number (1-based) the shots film")
    duration: int = Field(description="Seconds of clip: the scene's shots together")
    credits: int | float = Field(
        description="Credits for the clips, and their keyframes if the model needs them"
    )
    usd: float = Field(description="US dollars, rounded to the cent")
    keyframe_credits: int | float = Field(default=0, description="Of `credits`, those for keyframe images")
    shots: list[ShotEstimate] = Field(default_factory=list)


class Estimate(BaseModel):
    provider: str
    model: str
    credits: int | float
    usd: float = Field(description="US dollars for all the credits, rounded to the cent")
    shots: int = Field(default=0, description="Shots to generate, in all")
    seconds: int = Field(default=0, description="Seconds of film, in all")
    scenes: list[SceneEstimate] = Field(default_factory=list)


def usd(credits: Decimal | int) -> Decimal:
    """US dollars for `credits`, rounded half up to the cent."""
    return (Decimal(credits) * USD_PER_CREDIT).quantize(CENT, rounding=ROUND_HALF_UP)


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _keyframe_credits(model: VideoModel, ratio: str, keyframe: bool) -> Decimal:
    needed = keyframe or model.needs_keyframe
    return Decimal(get_image_model().credits_for(ratio)) if needed else Decimal(0)


def estimate(
    shots: Sequence[Shot], *, model: str | None = None, keyframe: bool = False, model_audio: bool = False
) -> Estimate:
    """The cost of generating `shots`, all of one model (`model` names it when there are none),
    per shot, per scene (in the order the shots come) and in total, with a keyframe image per
    shot when the model needs one or `keyframe` asks for one, and at the model's price with its
    own sound when `model_audio` asks for it (veo's `audio: true`).

    Raises UnknownModelError for a model not in the catalog, and InvalidOptionError when the
    shots mix models or ask for a clip length their model does not make.
    """
    models = {shot.model for shot in shots} | ({model} if model else set())
    if len(models) > 1:
        raise InvalidOptionError(f"an estimate is for one model; the shots use {', '.join(sorted(models))}")
    chosen = get_model(models.pop() if models else DEFAULT_MODEL)
    scenes: dict[int, tuple[list[ShotEstimate], Decimal, Decimal]] = {}
    total = Decimal(0)
    for shot in shots:
        if shot.duration not in chosen.durations:
            allowed = ", ".join(map(str, chosen.durations))
            raise InvalidOptionError(
                f"scene {shot.scene} shot {shot.number}: {chosen.id} makes clips of {allowed} seconds, "
                f"not {shot.duration}"
            )
        image = _keyframe_credits(chosen, shot.ratio, keyframe)
        credits = Decimal(chosen.credits_for_second(audio=model_audio)) * shot.duration + image
        total += credits
        lines, scene_credits, scene_images = scenes.get(shot.scene, ([], Decimal(0), Decimal(0)))
        lines.append(ShotEstimate(number=shot.number, duration=shot.duration, credits=_number(credits)))
        scenes[shot.scene] = (lines, scene_credits + credits, scene_images + image)
    return Estimate(
        provider=chosen.provider,
        model=chosen.id,
        credits=_number(total),
        usd=float(usd(total)),
        shots=len(shots),
        seconds=sum(shot.duration for shot in shots),
        scenes=[
            SceneEstimate(
                number=number,
                duration=sum(line.duration for line in lines),
                credits=_number(credits),
                usd=float(usd(credits)),
                keyframe_credits=_number(images),
                shots=lines,
            )
            for number, (lines, credits, images) in scenes.items()
        ],
    )


# Voices and sound ---------------------------------------------------------------------------------


class SceneAudioEstimate(BaseModel):
    number: int = Field(description="The scene number (1-based)")
    voice_credits: int = Field(description="Credits to speak the scene's dialogue, a task per piece")
    sound_credits: int = Field(description="Credits for the scene's ambience")
    usd: float


class AudioEstimate(BaseModel):
    """What the voices and ambience of a film cost on Runway, per scene and in total."""

    voice_credits: int
    sound_credits: int
    credits: int
    usd: float
    scenes: list[SceneAudioEstimate] = Field(default_factory=list)


def speech_credits(lines: Iterable[str]) -> int:
    """Credits to speak `lines` (the words of each line of dialogue): each is sent as the speech
    tasks `audio_tasks.speech_pieces` makes of it, and each task is priced on its own."""
    return sum(SPEECH_MODEL.credits_for(piece) for line in lines for piece in speech_pieces(line))


def sound_credits(sounds: int = 1) -> int:
    """Credits for `sounds` sound-effect tasks (one ambience loop per scene), at Runway's higher figure."""
    return SOUND_MODEL.credits_per_sound * sounds


def audio_estimate(scenes: Sequence[Scene]) -> AudioEstimate:
    """Voices for every line of `scenes` and one ambience per scene."""
    lines = []
    for scene in scenes:
        voice = speech_credits(line.text for line in scene.dialogue)
        sound = sound_credits(1)
        lines.append(
            SceneAudioEstimate(
                number=scene.number, voice_credits=voice, sound_credits=sound, usd=float(usd(voice + sound))
            )
        )
    voice_total = sum(line.voice_credits for line in lines)
    sound_total = sum(line.sound_credits for line in lines)
    total = voice_total + sound_total
    return AudioEstimate(
        voice_credits=voice_total,
        sound_credits=sound_total,
        credits=total,
        usd=float(usd(total)),
        scenes=lines,
    )


def check_budget(estimate: Estimate, max_usd: float | None) -> None:
    """Raise BudgetExceededError when the estimate is over `max_usd` (no budget: no check)."""
    if max_usd is None:
        return
    if not math.isfinite(max_usd) or max_usd < 0:
        raise InvalidOptionError(f"the budget must be an amount of US dollars of 0 or more, not {max_usd}")
    cost = Decimal(str(estimate.usd))
    if cost > Decimal(str(max_usd)):
        raise BudgetExceededError(
            f"estimated cost ${cost:,.2f} exceeds the budget of ${max_usd:,.2f} "
            f"({_number(Decimal(str(estimate.credits))):,} credits on {estimate.model})"
        )
