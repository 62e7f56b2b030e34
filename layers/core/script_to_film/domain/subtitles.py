"""Subtitles: cues timed from the voice audio as placed, written as WebVTT and SRT.

The writing is pysubs2's (one small, pure-Python, maintained library that reads and writes both
formats; `srt` has no WebVTT and `webvtt-py` no SRT writer worth the name), so the files are
what players expect; what is ours is the timing and the layout. A cue holds at most two lines of
at most `MAX_LINE_CHARS` characters (the common broadcast limit), broken at a word near the
middle; a longer speech becomes several cues in sequence, split at sentence ends where it can,
each shown for a share of the line's time in proportion to its characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import pysubs2
from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_LINE_CHARS = 42
MAX_LINES = 2


class Cue(BaseModel):
    """Text on screen from `start` to `end` (seconds of the film)."""

    model_config = ConfigDict(frozen=True)

    start: float = Field(ge=0)
    end: float
    text: str
    speaker: str | None = None

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Cue:
        if self.end <= self.start:
            raise ValueError(f"a cue ends after it starts ({self.start:.3f} → {self.end:.3f})")
        return self


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def _chunks(text: str, fits: Callable[[str], bool]) -> list[str]:
    """`text` in pieces that each `fits` on screen: whole sentences where they fit (short ones
    together), else as many words as fit."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        current = ""
        for word in sentence.split():
            candidate = f"{current} {word}".strip()
            if fits(candidate) or not current:
                current = candidate
            else:
                pieces.append(current)
                current = word
        if current:
            pieces.append(current)
    merged: list[str] = []
    for piece in pieces:
        if merged and fits(f"{merged[-1]} {piece}"):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged


def _fits(text: str) -> bool:
    lines = _two_lines(text).split("\n")
    return len(lines) <= MAX_LINES and all(len(line) <= MAX_LINE_CHARS for line in lines)


def _two_lines(text: str) -> str:
    """`text` on one line when it fits, else broken at the space nearest its middle that leaves
    both lines within the limit."""
    if len(text) <= MAX_LINE_CHARS:
        return text
    spaces = [index for index, char in enumerate(text) if char == " "]
    fitting = [i for i in spaces if i <= MAX_LINE_CHARS and len(text) - i - 1 <= MAX_LINE_CHARS]
    cut = min(fitting or spaces or [len(text)], key=lambda i: abs(i - len(text) / 2))
    return f"{text[:cut]}\n{text[cut + 1 :]}".rstrip()


def cues_for(text: str, start: float, end: float, speaker: str | None = None) -> list[Cue]:
    """One spoken line, placed from `start` to `end`, as cues that each fit on screen."""
    words = " ".join(text.split())
    if not words or end <= start:
        return []
    label = f"{speaker}: " if speaker else ""
    chunks = _chunks(words, lambda chunk: _fits(f"{label}{chunk}"))
    total = sum(len(chunk) for chunk in chunks)
    cues: list[Cue] = []
    at = start
    for index, chunk in enumerate(chunks):
        until = end if index == len(chunks) - 1 else at + (end - start) * len(chunk) / total
        cues.append(Cue(start=at, end=until, text=chunk, speaker=speaker))
        at = until
    return cues


def _layout(cue: Cue, speakers: bool) -> str:
    label = f"{cue.speaker}: " if speakers and cue.speaker else ""
    # `-->` ends a cue's timing line in both formats: never in its text.
    return _two_lines(f"{label}{cue.text}".replace("-->", "->"))


def _file(cues: Iterable[Cue], speakers: bool, escape: bool) -> pysubs2.SSAFile:
    subs = pysubs2.SSAFile()
    for cue in sorted(cues, key=lambda c: (c.start, c.end)):
        text = _layout(cue, speakers)
        if escape:
            text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        # pysubs2 keeps lines as SubStation text: `\N` is its line break.
        subs.append(pysubs2.SSAEvent(start=_ms(cue.start), end=_ms(cue.end), text=text.replace("\n", r"\N")))
    return subs


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def to_srt(cues: Sequence[Cue], *, speakers: bool = True) -> str:
    """SubRip text of the cues, numbered in time order."""
    # keep_ssa_tags: a `{` in a line is text, not a SubStation override to interpret.
    return str(_file(cues, speakers, escape=False).to_string("srt", keep_ssa_tags=True))


def to_webvtt(cues: Sequence[Cue], *, speakers: bool = True) -> str:
    """WebVTT text of the cues, in time order; `&`, `<` and `>` escaped as the format wants."""
    return str(_file(cues, speakers, escape=True).to_string("vtt", keep_ssa_tags=True))
