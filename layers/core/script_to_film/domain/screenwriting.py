"""Writing a screenplay with a model: what to ask for, how large, and how to read the answer.

Pure text rules, used by the Claude client (`adapters.claude`): the request (`WriteRequest`) and
what was written (`Written`), the size in scenes and tokens for a screen time, the prompts, the
models refused for their end of life, and `clean_fountain`, which takes the screenplay out of an
answer wrapped in a code fence or chat.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from script_to_film.domain.errors import RetiredModelError

MODEL_ENV: Final = "STF_CLAUDE_MODEL"
DEFAULT_CLAUDE_MODEL: Final = "claude-sonnet-4-6"
"""A current model from the SDK's `ModelParam`; `STF_CLAUDE_MODEL` or `--model` choose another."""

RETIRED_MODELS: Final[Mapping[str, str]] = {
    "claude-sonnet-4-5": "30 November 2026",
    "claude-sonnet-4-5-20250929": "30 November 2026",
    "claude-mythos-preview": "30 June 2026",
}
"""Models refused before any call, with their end of life. A film pipeline must not start to
depend on a model that stops answering within weeks: its scripts would fail in production."""

SECONDS_PER_SCENE: Final = 8
"""Each scene becomes one shot, and a shot is at most 10 s (gen4.5 takes 2–10 s): asking for
scenes of about 8 s leaves the director room for a scene that runs a little long."""

TOKENS_PER_SCENE: Final = 200
"""Generous for a heading, two sentences of action and a line or two of dialogue (about 120)."""

MAX_OUTPUT_TOKENS: Final = 16_000
"""The SDK refuses a non-streaming request whose `max_tokens` could take over ten minutes
(above about 21,000); 75 scenes of 10 minutes need about 9,000."""


class WriteRequest(BaseModel):
    """What to write: the idea, and optionally the genre, the screen time and the tone."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid")

    prompt: str = Field(min_length=3, max_length=2000, description="The story idea, in a sentence or a few")
    genre: str | None = Field(default=None, min_length=1, max_length=100)
    duration_seconds: int = Field(default=60, ge=15, le=600, description="Screen time of the film")
    tone: str | None = Field(default=None, min_length=1, max_length=100)


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
        )


class Written(BaseModel):
    """A screenplay Claude wrote, checked to break down into scenes."""

    text: str
    title: str | None
    scene_count: int
    estimated_seconds: int = Field(description="Screen time as the breakdown estimates it")
    model: str = Field(description="The model that answered, as the API names it")
    usage: TokenUsage = Field(description="Tokens of every request, the repair included")
    requests: int = Field(ge=1, le=2, description="2 when the first answer needed the repair attempt")


# Sizing and the prompt -------------------------------------------------------------------------


def scene_target(duration_seconds: int) -> int:
    """How many scenes a film of this length should have: one shot of about 8 s each (halves round up)."""
    return max(2, (duration_seconds + SECONDS_PER_SCENE // 2) // SECONDS_PER_SCENE)


def max_tokens_for(scenes: int) -> int:
    """Room for the title page and `scenes` short scenes, within what a non-streaming call allows."""
    return min(MAX_OUTPUT_TOKENS, 1024 + TOKENS_PER_SCENE * scenes)


_SYSTEM_PROMPT: Final = """\
You write screenplays for Script-to-Film, which turns a screenplay into a short film. Every scene \
becomes exactly one shot of at most 10 seconds, made by a text-to-video model that sees only the \
scene's heading and action, so write what a camera can see.

Size: write {scenes} scenes, about {seconds} seconds of screen time in all. The breakdown estimates \
screen time at a page a minute and each shot lasts at most 10 seconds, so keep every scene to about \
{per_scene} seconds: a heading, one or two short sentences of action, and at most one or two short \
lines of dialogue.

Format: Fountain, as plain text only. No markdown, no code fences, no commentary before or after the \
screenplay: your whole answer is the screenplay file.
- Begin with a title page: a line `Title: <the title>`, a line `Credit: Written by`, a line \
`Author: Script-to-Film`, then a blank line.
- Start every scene with a heading on its own line, with a blank line before and after it: INT. or \
EXT., the place, a spaced hyphen, then DAY or NIGHT (or DAWN, DUSK, MORNING, EVENING). For example \
`INT. LIGHTHOUSE KITCHEN - NIGHT` or `EXT. HARBOUR WALL - DAWN`.
- The first time a character appears, introduce them in the action with their name in capitals, \
their age and a short visual description, for example: `MARA (70s), small and wiry in a conductor's \
old wool coat, sits alone on a bench.` The film's director describes people from this text alone, \
so never rely on a name to show who someone is. Afterwards, write the name normally.
- Dialogue: the speaker's name in capitals on its own line, the words on the line below it.
- No camera directions, no transitions between scenes, no inner thoughts: only what can be seen and heard.
- End with the line `FADE OUT.`
"""


def system_prompt(request: WriteRequest) -> str:
    """The instructions, with the size worked out from the requested screen time."""
    return _SYSTEM_PROMPT.format(
        scenes=scene_target(request.duration_seconds),
        seconds=request.duration_seconds,
        per_scene=SECONDS_PER_SCENE,
    )


def user_prompt(request: WriteRequest) -> str:
    lines = [f"Write a short film of about {request.duration_seconds} seconds."]
    if request.genre:
        lines.append(f"Genre: {request.genre}")
    if request.tone:
        lines.append(f"Tone: {request.tone}")
    lines += ["", f"The idea: {request.prompt}"]
    return "\n".join(lines)


def resolve_model(model: str | None = None, env: Mapping[str, str] = os.environ) -> str:
    """The model to ask: the argument, else `STF_CLAUDE_MODEL`, else the default. Retired ones are refused."""
    chosen = (model or env.get(MODEL_ENV) or DEFAULT_CLAUDE_MODEL).strip()
    end_of_life = RETIRED_MODELS.get(chosen)
    if end_of_life is not None:
        raise RetiredModelError(
            f"{chosen} reaches its end of life on {end_of_life} and is not used here; "
            f"choose a current model such as {DEFAULT_CLAUDE_MODEL} (the default)"
        )
    return chosen


# Cleaning the answer ---------------------------------------------------------------------------

_FENCE: Final = re.compile(r"[ \t]*(`{3,}|~{3,})[ \t]*([^`\s]*)[ \t]*")
_HEADING_PREFIX: Final = r"(?:int\.?/ext|ext\./int|i\.?/e|int|ext|est)[.\s]"
_HEADING: Final = re.compile(_HEADING_PREFIX, re.IGNORECASE)
# Where the screenplay itself starts: its title page (Fountain's keys, and a few common ones), its
# first scene heading, or FADE IN. Chat before that ("Here is your screenplay:") is dropped.
_START: Final = re.compile(
    r"(?:title|credit|authors?|source|draft[ \t]+date|date|contact|copyright|revision)[ \t]*:"
    rf"|{_HEADING_PREFIX}|fade[ \t]+in\b",
    re.IGNORECASE,
)
_END_MARKER: Final = re.compile(
    r">?[ \t]*(?:fade[ \t]+out|fade[ \t]+to[ \t]+black|cut[ \t]+to[ \t]+black|the[ \t]+end)"
    r"[.:!]?[ \t]*<?[ \t]*",
    re.IGNORECASE,
)
_RULE: Final = re.compile(r"[ \t]*(?:-{3,}|\*{3,}|_{3,})[ \t]*")
# The first words of chat after a screenplay with no end marker.
_CHAT: Final = re.compile(
    r"[ \t]*(?:\*\*)?(?:i hope|i've|i have|hope (?:you|this)|let me know|feel free|would you like"
    r"|if you(?:'d| would)? like|enjoy|happy to|this (?:screenplay|script|short)"
    r"|the (?:screenplay|script|film) (?:is|runs|has|should|comes)|notes?:"
    r"|(?:estimated )?(?:run|running) ?time)",
    re.IGNORECASE,
)


def clean_fountain(answer: str) -> str:
    """The screenplay in a model's answer: code fence, preamble and closing chat removed.

    - A fenced block (```, ``` fountain, ~~~…) is taken alone; with several, the longest. An
      opening fence that is never closed (the answer ran out) runs to the end.
    - Lines before the title page, the first scene heading or FADE IN are chat, and go.
    - After the last scene, whatever follows `FADE OUT.` / `THE END` (or a markdown rule `---`)
      goes, and so do trailing paragraphs that read as chat ("Let me know if…").
    """
    lines = answer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = _unfenced(lines)
    start = next((i for i, line in enumerate(lines) if _START.match(line.lstrip())), 0)
    lines = lines[start:]
    last_heading = max((i for i, line in enumerate(lines) if _HEADING.match(line.lstrip())), default=-1)
    if last_heading >= 0:
        for index in range(last_heading + 1, len(lines)):
            if _END_MARKER.fullmatch(lines[index]):
                lines = lines[: index + 1]
                break
            if _RULE.fullmatch(lines[index]):
                lines = lines[:index]
                break
        lines = _without_closing_chat(lines, last_heading)
    return "\n".join(lines).strip() + "\n" if any(line.strip() for line in lines) else ""


def _unfenced(lines: list[str]) -> list[str]:
    blocks: list[list[str]] = []
    index = 0
    while index < len(lines):
        opening = _FENCE.fullmatch(lines[index])
        if opening is None:
            index += 1
            continue
        mark = opening.group(1)
        end = next(
            (
                j
                for j in range(index + 1, len(lines))
                if (closing := _FENCE.fullmatch(lines[j])) is not None
                and closing.group(1)[0] == mark[0]
                and len(closing.group(1)) >= len(mark)
                and not closing.group(2)
            ),
            len(lines),
        )
        blocks.append(lines[index + 1 : end])
        index = end + 1
    # A block without a scene heading is an example or a note, not the screenplay.
    screenplays = [block for block in blocks if any(_HEADING.match(line.lstrip()) for line in block)]
    if not screenplays:
        return lines
    return max(screenplays, key=lambda block: sum(len(line) for line in block))


def _without_closing_chat(lines: list[str], last_heading: int) -> list[str]:
    """Drop trailing paragraphs after the last heading whose first line reads as chat."""
    end = len(lines)
    while True:
        while end > last_heading + 1 and not lines[end - 1].strip():
            end -= 1
        start = end
        while start > last_heading + 1 and lines[start - 1].strip():
            start -= 1
        if start >= end or start <= last_heading or not _CHAT.match(lines[start]):
            return lines[:end]
        end = start
