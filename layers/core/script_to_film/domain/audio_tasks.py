"""What a film's sound asks a provider for: dialogue as speech requests within the model's text
limit, and a scene's ambience as a sound-effect request. Pure: no I/O.

A line longer than the speech model's limit (1000 UTF-16 code units for Runway's
`eleven_multilingual_v2`) is split into several requests: at a sentence end when one falls
within the limit, else between words, else (one unbroken run of text) at the limit itself. The
pieces rejoin to the text exactly, so nothing said is lost or doubled.

The ambience of a scene is described from where it happens and what happens there, and asked
for as a seamless loop the mixer repeats for the scene's length: the model makes at most 30 s.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from script_to_film.domain.catalog import PROMPT_LIMIT, SOUND_MODEL, SPEECH_MODEL
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import IntExt, Scene

_CLOSERS = re.escape("\"'”’»)]")
SENTENCE_END = re.compile(rf"[.!?…]+[{_CLOSERS}]*(?=\s)|[。！？]+[{_CLOSERS}]*")
"""Where a sentence ends: Latin punctuation followed by a space, or CJK full stops, which are
written without one. A cut goes just after the punctuation (and any closing quote)."""

_SPACE = re.compile(r"\s+")

SOUND_PROMPT_LIMIT = 400
"""UTF-16 units of a sound-effect prompt: a short description is what the model follows best
(and well inside Runway's prompt limit)."""


class SpeechRequest(BaseModel):
    """One text-to-speech task: the words and the preset voice that speaks them."""

    model_config = ConfigDict(frozen=True)

    text: str = Field(min_length=1)
    voice: str = Field(description="The provider's voice id (a Runway preset such as Maya)")


class SoundRequest(BaseModel):
    """One sound-effect task: what it sounds like, how long, and whether it loops seamlessly."""

    model_config = ConfigDict(frozen=True)

    prompt: str = Field(min_length=1)
    duration: float = Field(ge=SOUND_MODEL.min_seconds, le=SOUND_MODEL.max_seconds)
    loop: bool = False


def split_text(text: str, limit: int = PROMPT_LIMIT) -> list[str]:
    """`text` in pieces of at most `limit` UTF-16 units that rejoin to it exactly.

    Each cut is the last sentence end that keeps the piece within the limit; failing one, the
    last space; failing that, the limit itself (between code points, so a character outside the
    BMP, two units, is never halved). Text within the limit is one piece; empty text none.
    """
    if limit < 2:
        raise InvalidOptionError(f"a text limit must be at least 2 UTF-16 units, not {limit}")
    pieces: list[str] = []
    start = 0
    while start < len(text):
        end = _furthest_within(text, start, limit)
        if end == len(text):
            pieces.append(text[start:])
            break
        cut = _last_cut(text, start, end)
        pieces.append(text[start:cut])
        start = cut
    return pieces


def _furthest_within(text: str, start: int, limit: int) -> int:
    """The largest end such that text[start:end] is at most `limit` UTF-16 units."""
    units = 0
    for index in range(start, len(text)):
        units += 2 if ord(text[index]) > 0xFFFF else 1
        if units > limit:
            return index
    return len(text)


def _last_cut(text: str, start: int, end: int) -> int:
    window = text[start:end]
    # A sentence end at the window's very edge only counts if what follows in the text makes it one.
    sentence = [m.end() for m in SENTENCE_END.finditer(text, start, min(len(text), end + 1))]
    sentence = [cut for cut in sentence if start < cut <= end]
    if sentence:
        return sentence[-1]
    spaces = [start + m.start() for m in _SPACE.finditer(window) if m.start() > 0]
    if spaces:
        return spaces[-1]
    return end


def speech_pieces(text: str, limit: int = SPEECH_MODEL.prompt_limit) -> list[str]:
    """What is sent to be spoken for one line: its words with runs of space (a line break in the
    screenplay) made one, split within `limit`, each piece without leading or trailing space."""
    normal = " ".join(text.split())
    return [piece.strip() for piece in split_text(normal, limit) if piece.strip()]


def speech_requests(text: str, voice: str) -> list[SpeechRequest]:
    """The speech tasks for one line spoken by `voice` (none for a line with no words)."""
    if voice not in SPEECH_MODEL.presets:
        raise InvalidOptionError(
            f"{voice!r} is not one of {SPEECH_MODEL.id}'s preset voices: {', '.join(SPEECH_MODEL.presets)}"
        )
    return [SpeechRequest(text=piece, voice=voice) for piece in speech_pieces(text)]


def ambience_prompt(scene: Scene) -> str:
    """A description of the scene's sound: its place, inside or out, the time, and its action."""
    place = scene.location.strip() or scene.heading.strip() or "an unnamed place"
    setting = {IntExt.INT: "indoors", IntExt.EXT: "outdoors"}.get(scene.int_ext) if scene.int_ext else None
    when = scene.time_of_day.strip().lower() if scene.time_of_day else None
    where = ", ".join(part for part in (place.lower(), setting, when) if part)
    prompt = f"Ambient sound of {where}, no music, no speech."
    action = " ".join(scene.action.split())
    if action:
        prompt = f"{prompt} {action}"
    return _shorten(prompt, SOUND_PROMPT_LIMIT)


def _shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` UTF-16 units, at the last sentence end or space that fits."""
    pieces = split_text(text, limit)
    return pieces[0].strip() if pieces else text


def ambience_request(scene: Scene, seconds: float) -> SoundRequest:
    """The scene's ambience: a loop as long as the scene, up to the model's longest sound (the
    mixer repeats a loop for a longer scene)."""
    duration = min(SOUND_MODEL.max_seconds, max(SOUND_MODEL.min_seconds, round(seconds, 1)))
    return SoundRequest(prompt=ambience_prompt(scene), duration=duration, loop=True)


def audio_generations(scenes: Sequence[Scene]) -> dict[str, int]:
    """The speech and sound tasks the scenes' voices and ambience take, by model id: what a
    film's account preflight counts against each model's daily allowance, beside its videos."""
    speech = sum(len(speech_pieces(line.text)) for scene in scenes for line in scene.dialogue)
    counts = {SPEECH_MODEL.id: speech, SOUND_MODEL.id: len(scenes)}
    return {model: count for model, count in counts.items() if count}
