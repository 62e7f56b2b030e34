"""What filming the shots will cost, per scene and in total, and the budget check made before paying.

Prices come from the catalog: credits per second of clip for each video model, and per image for
the keyframe model that image-only models (gen4_turbo) need one of per shot. They are third-party
figures (Runway's published API pricing, 1 credit = US$0.01), so this is an estimate; Runway
reports what each task really cost, and the workflow records that. Money is `Decimal` until it
leaves this module as US dollars rounded to the cent. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal

from pydantic import BaseModel, Field

from script_to_film.domain.catalog import (
    DEFAULT_MODEL,
    USD_PER_CREDIT,
    VideoModel,
    get_image_model,
    get_model,
)
from script_to_film.domain.errors import BudgetExceededError, InvalidOptionError
from script_to_film.domain.models import Shot

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


def estimate(shots: Sequence[Shot], *, model: str | None = None, keyframe: bool = False) -> Estimate:
    """The cost of generating `shots`, all of one model (`model` names it when there are none),
    per shot, per scene (in the order the shots come) and in total, with a keyframe image per
    shot when the model needs one or `keyframe` asks for one.

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
        credits = Decimal(chosen.credits_per_second) * shot.duration + image
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
