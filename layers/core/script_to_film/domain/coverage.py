"""Coverage: how a scene is cut into shots, and how long each shot runs.

A scene is covered the way a film is cut. It opens on a **master** (establishing) shot that
carries the scene's opening action; then each beat gets its own shot, in script order:

- an action paragraph is a **medium** shot on the character it names first, or an **insert**
  (a detail: a thing, the place) when it names nobody;
- a speech is a shot on its speaker: **over the shoulder** of the one they talk to when the scene
  has two or more speakers on screen, a **single** (close-up) when it has one; consecutive
  speeches of one speaker are one shot (an exchange stays on them until someone else talks);
- a dual-dialogue pair is a **two-shot**;
- a voice heard off screen (V.O., O.S.) is carried by the shot it is heard over.

A `[[shot: …]]` note starts a shot at the beat it stands before, filmed as it says.

A shot's length is what it carries: its speeches at `SPEECH_WORDS_PER_MINUTE` with
`LINE_PAUSE_SECONDS` after each, and its action at the page-a-minute reading time the parser
uses for a scene's estimate (`ACTION_CHARS_PER_LINE` characters a printed line, a blank line
after each paragraph, `LINES_PER_MINUTE` lines a minute). A shot longer than the model's longest
clip becomes several shots (never a squeezed one), each then rounded up to a length the model
makes. The film's length therefore tracks the screenplay's reading time. `Length` trades that for
cost: `short` (a condensed cut), or a target in seconds for the whole film; `max_shots` bounds
the shots of each scene. Pure and linear in a scene's size.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from pydantic import BaseModel, Field, model_validator

from script_to_film.domain.catalog import VideoModel
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import DialogueLine, ElementType, Scene, ShotKind

SPEECH_WORDS_PER_MINUTE = 150
"""Conversational English on screen: 140–160 words a minute."""
LINE_PAUSE_SECONDS = 0.5
"""The beat between one speech and the next."""
ACTION_CHARS_PER_LINE = 60
LINES_PER_MINUTE = 55
"""A page a minute, 55 printed lines a page: the parser's screen-time rule, for action."""
ESTABLISHING_SECONDS = 3.0
"""A master shot with no action to carry still shows the place this long."""
SHORT_CUT_SHARE = 0.5
"""`--length short`: the film at about half its full length..."""
SHORT_CUT_MAX_SHOTS = 3
"""... and at most this many shots a scene."""
MAX_LENGTH_SECONDS = 86_400
"""The longest target length a film may be cut to: a day."""
MAX_SHOTS_PER_SCENE = 40
"""Shots one scene is cut into at most (longer scenes get longer shots): each shot is generated,
polled and stored inside its scene's own execution, whose history this bounds (see `limits`)."""

_OFF_SCREEN = re.compile(r"\b(?:V\.?\s?O|O\.?\s?S|O\.?\s?C|PHONE|RADIO|FILTERED|PRE-?LAP)\b", re.IGNORECASE)

_KIND_WORDS: tuple[tuple[ShotKind, re.Pattern[str]], ...] = (
    (ShotKind.TWO_SHOT, re.compile(r"\btwo[- ]?shot\b", re.IGNORECASE)),
    (ShotKind.OVER_THE_SHOULDER, re.compile(r"\bover[- ]the[- ]shoulder\b|\bots\b", re.IGNORECASE)),
    (ShotKind.INSERT, re.compile(r"\binsert\b", re.IGNORECASE)),
    (ShotKind.SINGLE, re.compile(r"\bclose[- ]?up\b|\bcu\b|\bsingle\b", re.IGNORECASE)),
    (ShotKind.MASTER, re.compile(r"\bwide\b|\bestablishing\b|\bmaster\b|\blong shot\b", re.IGNORECASE)),
    (ShotKind.MEDIUM, re.compile(r"\bmedium\b|\bmid shot\b", re.IGNORECASE)),
)


class Length(BaseModel):
    """How long a film is cut: `full` (every beat its own length), `short`, or `seconds` in all."""

    mode: str = Field(default="full", pattern="^(full|short|seconds)$")
    seconds: int | None = Field(default=None, ge=1, le=MAX_LENGTH_SECONDS)

    @model_validator(mode="after")
    def _seconds_with_a_target(self) -> Length:
        if (self.mode == "seconds") != (self.seconds is not None):
            raise ValueError("a target length needs its seconds, and only a target has them")
        return self

    @classmethod
    def parse(cls, text: str | int) -> Length:
        """`full`, `short` or a whole number of seconds; else InvalidOptionError."""
        value = str(text).strip().lower()
        if value in ("full", "short"):
            return cls(mode=value)
        if value.isdigit() and 1 <= int(value) <= MAX_LENGTH_SECONDS:
            return cls(mode="seconds", seconds=int(value))
        raise InvalidOptionError(
            f"length must be full, short or a number of seconds from 1 to {MAX_LENGTH_SECONDS}, "
            f"not {str(text)[:40]!r}"
        )

    def __str__(self) -> str:
        return str(self.seconds) if self.mode == "seconds" else self.mode


FULL = Length()


def speech_seconds(line: DialogueLine) -> float:
    """How long a speech takes to say, with the pause after it."""
    return len(line.text.split()) * 60 / SPEECH_WORDS_PER_MINUTE + LINE_PAUSE_SECONDS


def action_seconds(paragraph: str) -> float:
    """How long an action paragraph reads on screen: its printed lines and the blank after it."""
    printed = sum(
        max(1, math.ceil(len(row.strip()) / ACTION_CHARS_PER_LINE)) for row in paragraph.splitlines()
    )
    return (printed + 1) * 60 / LINES_PER_MINUTE


def on_screen(line: DialogueLine) -> bool:
    """Whether the speaker is seen: a V.O., O.S., PHONE… voice is only heard."""
    return not (line.extension and _OFF_SCREEN.search(line.extension))


def kind_of_note(text: str) -> ShotKind | None:
    """The kind of shot a `[[shot: …]]` or camera note names, if it names one."""
    return next((kind for kind, pattern in _KIND_WORDS if pattern.search(text)), None)


@dataclass(slots=True)
class Planned:
    """A shot of a scene before it is written as a prompt."""

    kind: ShotKind
    subject: str | None = None
    partner: str | None = None
    """Over the shoulder: whose shoulder; a two-shot: the second person."""
    lines: list[int] = field(default_factory=list)
    paragraphs: list[int] = field(default_factory=list)
    """Indices into the scene's action paragraphs this shot carries."""
    seconds: float = 0.0
    note: str | None = None
    part: int = 0
    """When one beat runs longer than a clip: which clip of it (0 the first)."""
    duration: int = 0
    """The clip length asked for: one the model makes."""


@dataclass(frozen=True, slots=True)
class _Beat:
    element: int
    paragraph: int | None = None
    line: int | None = None


def _beats(scene: Scene, action_paragraphs: Sequence[str]) -> list[_Beat]:
    """Action paragraphs and speeches in script order (the order of the scene's elements when they
    agree with its action and dialogue, else all action first)."""
    actions = sum(1 for element in scene.elements if element.type is ElementType.ACTION)
    speeches = sum(1 for element in scene.elements if element.type is ElementType.CHARACTER)
    if scene.elements and actions == len(action_paragraphs) and speeches == len(scene.dialogue):
        beats: list[_Beat] = []
        paragraph = line = 0
        for index, element in enumerate(scene.elements):
            if element.type is ElementType.ACTION:
                beats.append(_Beat(index, paragraph=paragraph))
                paragraph += 1
            elif element.type is ElementType.CHARACTER:
                beats.append(_Beat(index, line=line))
                line += 1
        return beats
    return [_Beat(0, paragraph=index) for index in range(len(action_paragraphs))] + [
        _Beat(0, line=index) for index in range(len(scene.dialogue))
    ]


def listeners_of(speakers: Sequence[str | None]) -> list[str | None]:
    """Who each on-screen speech is to: the next other speaker, else the last one before. One
    pass each way, so linear in a scene's speeches (a scene may hold thousands)."""
    count = len(speakers)
    after: list[str | None] = [None] * count
    for position in range(count - 2, -1, -1):
        following = speakers[position + 1]
        after[position] = following if following != speakers[position] else after[position + 1]
    before: list[str | None] = [None] * count
    for position in range(1, count):
        preceding = speakers[position - 1]
        before[position] = preceding if preceding != speakers[position] else before[position - 1]
    return [later or earlier for later, earlier in zip(after, before, strict=True)]


def plan_scene(
    scene: Scene,
    model: VideoModel,
    *,
    texts: Sequence[str],
    subject_of: Callable[[str], str | None],
    name_of: Callable[[DialogueLine], str],
    scale: float = 1.0,
    max_shots: int | None = None,
) -> list[Planned]:
    """The scene's shots, in order, each with the clip length it is asked for.

    `texts` are the scene's action paragraphs in order (a blank one has nothing to film);
    `subject_of(paragraph)` the character an action paragraph is about (None: nobody);
    `name_of(line)` a speaker's name as the prompts know it. `scale` stretches or condenses every
    shot (a film cut to a target length); `max_shots` merges neighbouring shots down to that many.
    A `[[duration: N]]` note sets the scene's own length, which `scale` then leaves alone."""
    beats = _beats(scene, texts)
    notes = sorted(scene.direction.shots, key=lambda note: note.element)
    lines = scene.dialogue
    seen = [index for index, line in enumerate(lines) if on_screen(line)]
    listener = dict(zip(seen, listeners_of([name_of(lines[index]) for index in seen]), strict=True))
    speakers = {name_of(lines[index]) for index in seen}
    master = Planned(ShotKind.MASTER)
    shots = [master]
    note_at = 0
    position = 0
    while position < len(beats):
        beat = beats[position]
        note: str | None = None
        while note_at < len(notes) and notes[note_at].element <= beat.element:
            note = notes[note_at].text
            note_at += 1
        current = shots[-1]
        if note is not None and position == 0:
            current.note, note = note, None
        if beat.paragraph is not None and not texts[beat.paragraph].strip():
            position += 1  # nothing to film (an editing cue written as action: FADE OUT.)
            continue
        if beat.paragraph is not None:
            seconds = action_seconds(texts[beat.paragraph])
            if position == 0 and note is None:
                current.paragraphs.append(beat.paragraph)
                current.seconds += seconds
            else:
                subject = subject_of(texts[beat.paragraph])
                kind = ShotKind.MEDIUM if subject else ShotKind.INSERT
                shots.append(Planned(kind, subject, paragraphs=[beat.paragraph], seconds=seconds, note=note))
            position += 1
            continue
        assert beat.line is not None
        line = lines[beat.line]
        name = name_of(line)
        following = beats[position + 1] if position + 1 < len(beats) else None
        pair = following.line if following is not None and following.line is not None else None
        if not on_screen(line):
            if note is None:
                current.lines.append(beat.line)
                current.seconds += speech_seconds(line)
            else:
                shots.append(
                    Planned(ShotKind.INSERT, lines=[beat.line], seconds=speech_seconds(line), note=note)
                )
            position += 1
        elif line.dual and pair is not None and lines[pair].dual and on_screen(lines[pair]):
            seconds = max(speech_seconds(line), speech_seconds(lines[pair]))
            shots.append(
                Planned(
                    ShotKind.TWO_SHOT,
                    name,
                    name_of(lines[pair]),
                    [beat.line, pair],
                    seconds=seconds,
                    note=note,
                )
            )
            position += 2
        else:
            same = current.kind in (ShotKind.SINGLE, ShotKind.OVER_THE_SHOULDER) and current.subject == name
            if same and note is None:
                current.lines.append(beat.line)
                current.seconds += speech_seconds(line)
            else:
                kind = ShotKind.OVER_THE_SHOULDER if len(speakers) >= 2 else ShotKind.SINGLE
                partner = listener.get(beat.line) if kind is ShotKind.OVER_THE_SHOULDER else None
                shots.append(
                    Planned(kind, name, partner, [beat.line], seconds=speech_seconds(line), note=note)
                )
            position += 1
    if note_at < len(notes):
        shots[-1].note = notes[-1].text
    if not master.seconds:
        master.seconds = ESTABLISHING_SECONDS
    natural = sum(shot.seconds for shot in shots)
    if scene.direction.duration is not None:
        scale = scene.direction.duration / natural
    for shot in shots:
        shot.seconds *= scale
    shots = _split(shots, model.durations[-1], lines, texts)
    limit = min(max_shots or MAX_SHOTS_PER_SCENE, MAX_SHOTS_PER_SCENE)
    if len(shots) > limit:
        shots = _merge(shots, limit)
    for shot in shots:
        shot.duration = clip_length(model, shot.seconds)
    return shots


def clip_length(model: VideoModel, seconds: float) -> int:
    """The shortest clip the model makes that holds `seconds` (its longest when none does)."""
    return next((allowed for allowed in model.durations if allowed >= seconds - 1e-9), model.durations[-1])


def _split(
    shots: list[Planned], longest: int, lines: Sequence[DialogueLine], texts: Sequence[str]
) -> list[Planned]:
    """Shots that each fit one clip: a shot over `longest` seconds is cut between the beats it
    carries, and a beat (a speech, a paragraph) longer than a clip runs over several shots."""
    result: list[Planned] = []
    for shot in shots:
        if shot.seconds <= longest or shot.kind is ShotKind.TWO_SHOT:
            result.append(shot)
            continue
        pieces: list[tuple[list[int], list[int], float]] = [
            ([], [paragraph], action_seconds(texts[paragraph])) for paragraph in shot.paragraphs
        ]
        pieces += [([index], [], speech_seconds(lines[index])) for index in shot.lines]
        natural = sum(seconds for _, _, seconds in pieces)
        if not natural:
            pieces, natural = [([], [], shot.seconds)], shot.seconds
        ratio = shot.seconds / natural  # what scaling the film's length did to this shot
        group = replace(shot, lines=[], paragraphs=[], seconds=0.0)
        for piece_lines, piece_paragraphs, natural_seconds in pieces:
            seconds = natural_seconds * ratio
            if group.seconds and group.seconds + seconds > longest:
                result.append(group)
                group = replace(shot, lines=[], paragraphs=[], seconds=0.0, note=None)
            if seconds <= longest:
                group.lines += piece_lines
                group.paragraphs += piece_paragraphs
                group.seconds += seconds
                continue
            parts = math.ceil(seconds / longest)
            for part in range(parts):
                result.append(
                    replace(
                        group,
                        lines=list(piece_lines),
                        paragraphs=list(piece_paragraphs),
                        seconds=seconds / parts,
                        part=part,
                    )
                )
                group = replace(shot, lines=[], paragraphs=[], seconds=0.0, note=None)
        if group.seconds:
            result.append(group)
    return result


def _merge(shots: list[Planned], limit: int) -> list[Planned]:
    """`limit` shots from more, by joining neighbours into groups of about equal length (in one
    pass): each group is filmed as its first shot, carrying all their speeches and action."""
    total = sum(shot.seconds for shot in shots) or 1.0
    groups: list[list[Planned]] = [[] for _ in range(limit)]
    elapsed = 0.0
    for shot in shots:
        # The master opens the first group, so it stays the scene's first shot.
        groups[min(int(elapsed / total * limit), limit - 1)].append(shot)
        elapsed += shot.seconds
    merged = []
    for group in groups:
        if not group:
            continue
        first = group[0]
        merged.append(
            replace(
                first,
                lines=[index for shot in group for index in shot.lines],
                paragraphs=[index for shot in group for index in shot.paragraphs],
                seconds=sum(shot.seconds for shot in group),
            )
        )
    return merged
