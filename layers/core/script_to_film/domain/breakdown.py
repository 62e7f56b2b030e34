"""The breakdown: a screenplay, its shots and its cost estimate, in the contract's JSON shape.

`plan` is the one function the CLI, the API and the workflow call to go from screenplay text to
shots, so all three always agree on how a screenplay is filmed and what it costs.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from script_to_film.domain import catalog, cost, director, screenplay
from script_to_film.domain.catalog import DEFAULT_MODEL
from script_to_film.domain.cost import Estimate
from script_to_film.domain.coverage import FULL, Length
from script_to_film.domain.errors import NotTextError, ScreenplayError, ScreenplayTooLargeError
from script_to_film.domain.limits import (
    MAX_FILM_SHOTS,
    MAX_HEADING_CHARS,
    MAX_SCREENPLAY_BYTES,
    MAX_TITLE_CHARS,
)
from script_to_film.domain.models import IntExt, Scene, Screenplay, Shot, ShotKind

_CONTROL = re.compile(rb"[\x01-\x08\x0b\x0e-\x1f]")
"""Control characters no text holds (NUL is the parser's to refuse): JSON escapes each in six
bytes, so a screenplay of them would answer six megabytes where its text is one."""


class ScriptTooLongError(ScreenplayError):
    """The screenplay has more scenes than a stored script may (HTTP 422 `too_many_scenes`)."""


class TooManyShotsError(ScreenplayError):
    """The screenplay is cut into more shots than a film may have (HTTP 422 `too_many_shots`)."""


class ShotView(BaseModel):
    camera: str
    lighting: str
    prompt: str
    duration: int
    ratio: str
    model: str


class CoverageShotView(ShotView):
    """One shot of a scene's coverage: `shot` in the contract is the first of them, the master."""

    number: int
    kind: ShotKind
    subject: str | None
    lines: list[int]
    """Indices into the scene's `dialogue`."""


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
    shots: list[CoverageShotView]
    seconds: int
    """The scene's shots together, as filmed."""


class EstimateView(BaseModel):
    provider: str
    model: str
    credits: int | float
    usd: float
    shots: int = 0
    seconds: int = 0


class Breakdown(BaseModel):
    """`stf breakdown --json`, exactly as ARCHITECTURE.md's contract gives it."""

    title: str | None
    scenes: list[SceneBreakdown]
    total_seconds: int
    film_seconds: int
    """The film's length, its shots together: it tracks `total_seconds`, the screenplay's."""
    shot_count: int
    estimate: EstimateView


class Plan(BaseModel):
    """A screenplay with its shots and estimate: what a run is started from."""

    screenplay: Screenplay
    shots: list[Shot]
    """Every scene's shots, scene by scene in order."""
    estimate: Estimate
    style: str = director.DEFAULT_STYLE
    length: Length = FULL
    max_shots: int | None = None

    def by_scene(self) -> dict[int, list[Shot]]:
        """The shots of each scene, by scene number, in order."""
        grouped: dict[int, list[Shot]] = {}
        for shot in self.shots:
            grouped.setdefault(shot.scene, []).append(shot)
        return grouped

    def to_breakdown(self) -> Breakdown:
        grouped = self.by_scene()
        return Breakdown(
            title=self.screenplay.title,
            scenes=[
                _scene_view(scene, grouped[scene.number])
                for scene in self.screenplay.scenes
                if scene.number in grouped
            ],
            total_seconds=self.screenplay.total_seconds,
            film_seconds=sum(shot.duration for shot in self.shots),
            shot_count=len(self.shots),
            estimate=_estimate_view(self.estimate),
        )

    def retimed(self, model: str) -> list[Shot]:
        """The shots as `model` would make them, for pricing: the same cut (length, shots a
        scene) directed for that model's clip lengths, at its default ratio."""
        return director.direct(
            self.screenplay, model=model, style=self.style, length=self.length, max_shots=self.max_shots
        )


class SceneCost(BaseModel):
    """What filming one scene costs on one model: its shots, their seconds, credits and dollars."""

    number: int
    shots: int
    seconds: int
    credits: int | float
    usd: float


class StoredBreakdown(BaseModel):
    """A script's breakdown as stored beside it: directed once when the script is stored, and read,
    not recomputed, whenever the script is."""

    breakdown: Breakdown
    estimates: dict[str, EstimateView]
    """The cost of filming every scene on each model of the catalog, by model id."""
    scene_costs: dict[str, list[SceneCost]] = Field(default_factory=dict)
    """The same, scene by scene, by model id (empty in a breakdown stored before scenes had shots)."""

    @classmethod
    def of(cls, plan: Plan) -> StoredBreakdown:
        estimates = {model: cost.estimate(plan.retimed(model), model=model) for model in catalog.MODELS}
        return cls(
            breakdown=plan.to_breakdown(),
            estimates={model: _estimate_view(estimate) for model, estimate in estimates.items()},
            scene_costs={
                model: [
                    SceneCost(
                        number=line.number,
                        shots=len(line.shots),
                        seconds=line.duration,
                        credits=line.credits,
                        usd=line.usd,
                    )
                    for line in estimate.scenes
                ]
                for model, estimate in estimates.items()
            },
        )


def _estimate_view(estimate: Estimate) -> EstimateView:
    return EstimateView(
        provider=estimate.provider,
        model=estimate.model,
        credits=estimate.credits,
        usd=estimate.usd,
        shots=estimate.shots,
        seconds=estimate.seconds,
    )


def plan(
    source: str | bytes,
    *,
    model: str = DEFAULT_MODEL,
    style: str = director.DEFAULT_STYLE,
    ratio: str | None = None,
    max_scenes: int | None = None,
    length: Length = FULL,
    max_shots: int | None = None,
) -> Plan:
    """Parse, direct and price a screenplay. Raises `InvalidInputError` subclasses on bad input,
    `ScriptTooLongError` when it has more than `max_scenes` scenes (checked before directing),
    `TooManyShotsError` when it is cut into more than `MAX_FILM_SHOTS` shots.
    `length` and `max_shots` cut the film (see `coverage`)."""
    try:
        data = source if isinstance(source, bytes) else source.encode("utf-8")
    except UnicodeEncodeError as error:
        raise NotTextError(f"not UTF-8 text (a lone UTF-16 surrogate at character {error.start:,})") from None
    if len(data) > MAX_SCREENPLAY_BYTES:
        raise ScreenplayTooLargeError(
            f"screenplay is {len(data):,} bytes; the limit is {MAX_SCREENPLAY_BYTES:,} bytes"
        )
    parsed = screenplay.parse_bytes(data)
    control = _CONTROL.search(data)
    if control:
        raise NotTextError(
            f"not text (control character U+{control[0][0]:04X} at offset {control.start():,}); "
            "a screenplay holds tabs, line breaks and form feeds, no other control characters"
        )
    parsed = _bounded(parsed, max_scenes)
    shots = director.direct(parsed, model=model, style=style, ratio=ratio, length=length, max_shots=max_shots)
    if len(shots) > MAX_FILM_SHOTS:
        raise TooManyShotsError(
            f"the screenplay is cut into {len(shots):,} shots; a film may have at most {MAX_FILM_SHOTS:,}: "
            "cut it shorter (length short, or a target in seconds), with fewer shots a scene (max shots), "
            "or split it into parts"
        )
    return Plan(
        screenplay=parsed,
        shots=shots,
        estimate=cost.estimate(shots),
        style=style,
        length=length,
        max_shots=max_shots,
    )


def _bounded(parsed: Screenplay, max_scenes: int | None) -> Screenplay:
    """The screenplay if its scenes can be stored and filmed: refused with more than `max_scenes`
    scenes or a heading no scene has; its title cut to `MAX_TITLE_CHARS`."""
    if max_scenes is not None and len(parsed.scenes) > max_scenes:
        raise ScriptTooLongError(
            f"the screenplay has {len(parsed.scenes):,} scenes; a script may have at most {max_scenes:,}: "
            "split it into parts"
        )
    for scene in parsed.scenes:
        if len(scene.heading) > MAX_HEADING_CHARS:
            raise ScreenplayError(
                f"scene {scene.number}'s heading is {len(scene.heading):,} characters long; a heading "
                f"is at most {MAX_HEADING_CHARS} (is a blank line missing after it?)"
            )
    if parsed.title and len(parsed.title) > MAX_TITLE_CHARS:
        return parsed.model_copy(update={"title": parsed.title[: MAX_TITLE_CHARS - 1] + "…"})
    return parsed


def _scene_view(scene: Scene, shots: list[Shot]) -> SceneBreakdown:
    master = shots[0]
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
            camera=master.camera,
            lighting=master.lighting,
            prompt=master.prompt,
            duration=master.duration,
            ratio=master.ratio,
            model=master.model,
        ),
        shots=[
            CoverageShotView(
                number=shot.number,
                kind=shot.kind,
                subject=shot.subject,
                lines=shot.lines,
                camera=shot.camera,
                lighting=shot.lighting,
                prompt=shot.prompt,
                duration=shot.duration,
                ratio=shot.ratio,
                model=shot.model,
            )
            for shot in shots
        ],
        seconds=sum(shot.duration for shot in shots),
    )
