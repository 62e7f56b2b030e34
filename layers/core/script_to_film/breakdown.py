"""The breakdown: a screenplay, its shots and its cost estimate, in the contract's JSON shape.

`plan` is the one function the CLI, the API and the workflow call to go from screenplay text to
shots, so all three always agree on how a screenplay is filmed and what it costs.
"""

from __future__ import annotations

from pydantic import BaseModel

from script_to_film import cost, director, screenplay
from script_to_film.catalog import DEFAULT_MODEL
from script_to_film.cost import Estimate
from script_to_film.errors import ScreenplayTooLargeError
from script_to_film.limits import MAX_SCREENPLAY_BYTES
from script_to_film.models import IntExt, Scene, Screenplay, Shot


class ShotView(BaseModel):
    camera: str
    lighting: str
    prompt: str
    duration: int
    ratio: str
    model: str


class DialogueView(BaseModel):
    character: str
    parenthetical: str | None
    text: str
    dual: bool


class SceneBreakdown(BaseModel):
    number: int
    scene_number: str | None
    heading: str
    int_ext: IntExt | None
    location: str
    time_of_day: str | None
    characters: list[str]
    dialogue: list[DialogueView]
    action: str
    estimated_seconds: int
    shot: ShotView


class EstimateView(BaseModel):
    provider: str
    model: str
    credits: int | float
    usd: float


class Breakdown(BaseModel):
    """`stf breakdown --json`, exactly as ARCHITECTURE.md's contract gives it."""

    title: str | None
    scenes: list[SceneBreakdown]
    total_seconds: int
    estimate: EstimateView


class Plan(BaseModel):
    """A screenplay with its shots and estimate: what a run is started from."""

    screenplay: Screenplay
    shots: list[Shot]
    estimate: Estimate

    def to_breakdown(self) -> Breakdown:
        return Breakdown(
            title=self.screenplay.title,
            scenes=[
                _scene_view(scene, shot)
                for scene, shot in zip(self.screenplay.scenes, self.shots, strict=True)
            ],
            total_seconds=self.screenplay.total_seconds,
            estimate=EstimateView(
                provider=self.estimate.provider,
                model=self.estimate.model,
                credits=self.estimate.credits,
                usd=self.estimate.usd,
            ),
        )


def plan(
    source: str | bytes,
    *,
    model: str = DEFAULT_MODEL,
    style: str = director.DEFAULT_STYLE,
    ratio: str | None = None,
) -> Plan:
    """Parse, direct and price a screenplay. Raises `InvalidInputError` subclasses on bad input."""
    data = source if isinstance(source, bytes) else source.encode("utf-8")
    if len(data) > MAX_SCREENPLAY_BYTES:
        raise ScreenplayTooLargeError(
            f"screenplay is {len(data):,} bytes; the limit is {MAX_SCREENPLAY_BYTES:,} bytes"
        )
    parsed = screenplay.parse_bytes(data)
    shots = director.direct(parsed, model=model, style=style, ratio=ratio)
    return Plan(screenplay=parsed, shots=shots, estimate=cost.estimate(shots))


def _scene_view(scene: Scene, shot: Shot) -> SceneBreakdown:
    return SceneBreakdown(
        number=scene.number,
        scene_number=scene.scene_number,
        heading=scene.heading,
        int_ext=scene.int_ext,
        location=scene.location,
        time_of_day=scene.time_of_day,
        characters=scene.characters,
        dialogue=[
            DialogueView(
                character=line.character, parenthetical=line.parenthetical, text=line.text, dual=line.dual
            )
            for line in scene.dialogue
        ],
        action=scene.action,
        estimated_seconds=scene.estimated_seconds,
        shot=ShotView(
            camera=shot.camera,
            lighting=shot.lighting,
            prompt=shot.prompt,
            duration=shot.duration,
            ratio=shot.ratio,
            model=shot.model,
        ),
    )
