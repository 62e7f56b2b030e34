"""Fountain screenplay text → `Screenplay`: scenes with their headings split up, dialogue, action and notes.

Fountain (https://fountain.io/syntax) is plain text in which blank lines separate paragraphs and a
paragraph's shape says what it is. This parser reads the whole syntax and keeps, per scene, what
the director and the cost estimate need. Where the spec leaves room, it decides as follows:

- A *paragraph* is a run of non-blank lines. A line of exactly two spaces is not blank: it keeps a
  dialogue block (or an action paragraph) going, as the spec intends.
- A scene heading (`INT.`, `EXT.`, `EST.`, `INT./EXT.`, `INT/EXT`, `EXT./INT.`, `I/E`, `I./E.`, any
  case, followed by a dot or a space; or forced with one leading `.`) must start a paragraph. A
  blank line after it is not required: the lines below it are read as a new paragraph, so
  `INT. HALL - DAY` directly followed by action still starts a scene. Sections, synopses and page
  breaks end their paragraph the same way.
- Text before the first heading (`FADE IN:`, a logline) belongs to no scene and is dropped; the
  sections it opens still apply to the scenes that follow.
- A transition is a one-line paragraph forced with `>`, or in upper case ending in `TO:`, or one of
  `FADE OUT.`, `FADE IN:`, `FADE TO BLACK.`, `CUT TO BLACK.` (never action, as the reference
  parser reads them). It belongs to the scene it ends; `closing_transition` says how a scene ends.
- Notes `[[…]]` never span a blank line (the spec's rule); they are removed from the text and kept
  in the scene in force at the end of their paragraph. `[[camera: …]]`, `[[style: …]]` and
  `[[duration: N]]` also set the scene's `Direction`; a `[[shot: …]]` note starts a shot at the
  first element of its paragraph (or, alone in its paragraph, at the element after it).
- A speech is one dialogue block: its lines are joined with single spaces (line breaks inside a
  speech are typographic), its parentheticals are kept as written, `(…)` included, and joined
  with spaces when there are several.
- `^` after a character marks dual dialogue only when the paragraph just before is dialogue in the
  same scene; then both speeches get `dual=True`.

Everything but `parse`, `parse_bytes`, `closing_transition` and `fades_in_after` is internal.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

from pydantic import ValidationError

from script_to_film.domain.errors import NoScenesError, NotTextError
from script_to_film.domain.models import (
    DialogueLine,
    Direction,
    Element,
    ElementType,
    IntExt,
    Scene,
    Screenplay,
    ShotNote,
)

__all__ = ["parse", "parse_bytes"]

# Screen time. The industry's rule of thumb is that a correctly formatted page runs a minute. A
# page (US Letter, Courier 12 pt, 6 lines an inch) holds about 55 printed lines, and Courier sets
# 10 characters an inch, so the standard column widths give the characters a line holds: action
# 6.0" wide, dialogue 3.5", parentheticals about 2.5". A scene's estimate counts the lines its
# paragraphs fill at those widths: the heading, action, character cues, parentheticals, dialogue,
# lyrics, centered text and transitions, plus the blank line after each of them. Sections,
# synopses and notes are not printed, so they take no time.
_SECONDS_PER_PAGE: Final = 60
_LINES_PER_PAGE: Final = 55
_ACTION_CHARS_PER_LINE: Final = 60
_DIALOGUE_CHARS_PER_LINE: Final = 35
_PARENTHETICAL_CHARS_PER_LINE: Final = 25

# What may follow the location in a heading to say when the scene happens, upper-cased with single
# spaces. The first group is the light (what the camera sees, what the director keys the look to);
# the second is continuity (time relative to the scene before). `_RELATIVE_TIME_RE` adds the open
# families of phrases: THE NEXT MORNING, LATER THAT EVENING, TWO DAYS LATER, A BIT LATER…
_TIMES_OF_DAY: Final = frozenset(
    {
        "DAY",
        "NIGHT",
        "DAWN",
        "DUSK",
        "MORNING",
        "AFTERNOON",
        "EVENING",
        "SUNRISE",
        "SUNSET",
        "MAGIC HOUR",
        "GOLDEN HOUR",
        "BLUE HOUR",
        "NOON",
        "MIDDAY",
        "MIDNIGHT",
        "PRE-DAWN",
        "PREDAWN",
        "TWILIGHT",
        "DAYBREAK",
        "NIGHTFALL",
        "FIRST LIGHT",
        "LAST LIGHT",
        "DAYTIME",
        "NIGHTTIME",
        "EARLY MORNING",
        "LATE MORNING",
        "EARLY AFTERNOON",
        "LATE AFTERNOON",
        "EARLY EVENING",
        "LATE EVENING",
        "LATE NIGHT",
        "DAY TO NIGHT",
        "NIGHT TO DAY",
        "DUSK TO NIGHT",
        "DAY FOR NIGHT",
        "PRESENT DAY",
        "CONTINUOUS",
        "CONTINUED",
        "SIMULTANEOUS",
        "LATER",
        "MOMENTS LATER",
        "A MOMENT LATER",
        "SAME",
        "SAME TIME",
        "THE NEXT MORNING",
    }
)
_TIME_NOUNS = r"(?:DAY|NIGHT|MORNING|AFTERNOON|EVENING|DAWN|DUSK|NOON|MIDNIGHT|WEEK|MONTH|YEAR)"
_COUNT = r"(?:A|AN|ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|TEN|A FEW|FEW|SEVERAL|SOME|MANY|\d+)"
_RELATIVE_TIME_RE: Final = re.compile(
    rf"(?:(?:THE )?(?:NEXT|FOLLOWING|PREVIOUS)|ANOTHER|(?:LATER|EARLIER) THAT|THAT|SAME) {_TIME_NOUNS}"
    rf"|{_COUNT} (?:SECOND|MOMENT|MINUTE|HOUR|{_TIME_NOUNS})S? (?:LATER|EARLIER|BEFORE|AGO)"
    r"|(?:MOMENTS|SECONDS|MINUTES|HOURS|DAYS|WEEKS|MONTHS|YEARS|A BIT|A LITTLE|A WHILE|MUCH|SOON|SHORTLY)"
    r" (?:LATER|EARLIER|BEFORE|AFTER)"
)

# Words that say how or in what frame a scene is shot rather than where it is: in a heading they
# go to `qualifiers`, not into the location (`INT. CAR / DRIVING - NIGHT`, `EXT. TOWN - VARIOUS
# SHOTS`, `INT. HOUSE (FLASHBACK)`). Anything in square brackets is a qualifier too, and so is
# everything after the time of day.
_QUALIFIER_WORDS: Final = frozenset(
    {
        "FLASHBACK",
        "FLASH BACK",
        "FLASHFORWARD",
        "FLASH FORWARD",
        "FLASH-FORWARD",
        "PRESENT",
        "DREAM",
        "DREAM SEQUENCE",
        "FANTASY",
        "NIGHTMARE",
        "MEMORY",
        "MONTAGE",
        "SERIES OF SHOTS",
        "VARIOUS SHOTS",
        "VARIOUS",
        "INTERCUT",
        "DRIVING",
        "MOVING",
        "FLYING",
        "IN FLIGHT",
        "TRAVELING",
        "TRAVELLING",
        "ESTABLISHING",
        "ESTABLISHING SHOT",
        "POV",
        "SLOW MOTION",
        "BLACK AND WHITE",
        "B&W",
        "STOCK FOOTAGE",
        "ARCHIVE FOOTAGE",
        "NEWS FOOTAGE",
        "ON TV",
        "ON SCREEN",
        "SPLIT SCREEN",
    }
)
_YEAR_RE: Final = re.compile(r"'?\d{2,4}'?S?")

# The spec's INT, EXT, EST, INT./EXT, INT/EXT and I/E, and the dotted EXT./INT. and I./E. A bare
# `EXT/INT` is not among them (nor is it for screenplain): Big Fish's two `EXT/INT.` lines are action.
_INT_EXT_PREFIX = r"(int\.?/ext|ext\./int|i\.?/e|int|ext|est)"
_HEADING_START_RE: Final = re.compile(_INT_EXT_PREFIX + r"[.\s]", re.IGNORECASE | re.ASCII)
_INT_EXT_RE: Final = re.compile(_INT_EXT_PREFIX + r"(?:[.\s]|$)", re.IGNORECASE | re.ASCII)
_SCENE_NUMBER_RE: Final = re.compile(r"[\w.\-]+")
# Between the parts of a heading: ` - `, ` -- `, an en or em dash, ` / ` and `, `. Brackets are tokens
# too, so a separator inside `[MID/LATE '70S]` is not taken for one.
_HEADING_TOKEN_RE: Final = re.compile(r"[()\[\]]|\s+(?:--?|[\u2013\u2014/])\s+|,\s+")
_BRACKET_RE: Final = re.compile(r"[()\[\]]")

_PAGE_BREAK_RE: Final = re.compile(r"={3,}")
_TITLE_KEY_RE: Final = re.compile(r"([^\W\d_][\w '\-]*?)\s*:(.*)")
_DIRECTION_RE: Final = re.compile(r"\s*(camera|style|duration|shot)\s*:(.*)", re.IGNORECASE | re.DOTALL)
_DURATION_RE: Final = re.compile(r"(\d{1,3})\s*(?:s|secs?|seconds?)?", re.IGNORECASE)
_EXTENSION_RE: Final = re.compile(r"\(([^()]*)\)")
# Emphasis markers and the two escapes (`\*`, `\_`) that make them literal.
_EMPHASIS_TOKEN_RE: Final = re.compile(r"\\([*_])|\*+|_+")
_EMPHASIS_KINDS: Final = frozenset({"*", "**", "***", "_"})

_NO_SCENES_MESSAGE: Final = (
    "no scene headings found: start each scene with a line such as 'INT. KITCHEN - DAY' "
    "(or force one with a leading '.'), after a blank line"
)


def parse(text: str) -> Screenplay:
    """Parse Fountain text. Raises `NoScenesError` when the text holds no scene heading."""
    lines = _lines(text)
    title_page, body_start = _title_page(lines)
    builder = _Builder()
    for paragraph in _paragraphs(lines, body_start):
        builder.add_paragraph(paragraph)
    scenes = builder.scenes()
    if not scenes:
        raise NoScenesError(_NO_SCENES_MESSAGE)
    title = " ".join(title_page.get("title", "").split()) or None
    return Screenplay(title=title, title_page=title_page, scenes=scenes, notes=builder.preamble_notes)


def parse_bytes(data: bytes) -> Screenplay:
    """Parse a Fountain file's bytes: UTF-8, with or without a byte-order mark.

    Raises `NotTextError` for bytes that are not UTF-8 text, `NoScenesError` as `parse` does.
    """
    return parse(_decode(data))


def _decode(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise NotTextError("not UTF-8 text (UTF-16 byte-order mark at offset 0; save the file as UTF-8)")
    start = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[start:].decode("utf-8")
    except UnicodeDecodeError as error:
        raise NotTextError(f"not UTF-8 text (invalid byte at offset {start + error.start})") from None
    # NUL is valid UTF-8 but never in text: UTF-16 without a byte-order mark, or binary data.
    nul = data.find(b"\x00")
    if nul >= 0:
        raise NotTextError(f"not UTF-8 text (NUL byte at offset {nul}: binary data)")
    return text


# Reading the text -------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """The text's lines: byte-order mark dropped, any line ending, boneyard removed, tabs expanded."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return [line.expandtabs(4) for line in _remove_boneyard(text).split("\n")]


def _remove_boneyard(text: str) -> str:
    """Drop every `/* … */`, across lines. An unclosed `/*` stays as text."""
    pieces: list[str] = []
    position = 0
    while (start := text.find("/*", position)) >= 0:
        end = text.find("*/", start + 2)
        if end < 0:
            break
        pieces.append(text[position:start])
        position = end + 2
    pieces.append(text[position:])
    return "".join(pieces)


def _is_blank(line: str) -> bool:
    return line != "  " and not line.strip()


def _runs(lines: list[str], start: int) -> list[tuple[int, int]]:
    """(start, end) of each run of non-blank lines from `start` on."""
    runs: list[tuple[int, int]] = []
    run_start: int | None = None
    for index in range(start, len(lines)):
        if _is_blank(lines[index]):
            if run_start is not None:
                runs.append((run_start, index))
                run_start = None
        elif run_start is None:
            run_start = index
    if run_start is not None:
        runs.append((run_start, len(lines)))
    return runs


@dataclass
class _Paragraph:
    lines: list[str]
    notes: list[str]


def _paragraphs(lines: list[str], start: int) -> list[_Paragraph]:
    """The body's paragraphs with their notes taken out. A paragraph left empty is kept for its notes."""
    paragraphs: list[_Paragraph] = []
    for run_start, run_end in _runs(lines, start):
        run = lines[run_start:run_end]
        notes: list[str] = []
        if any("[[" in line for line in run):
            text, notes = _extract_notes("\n".join(run))
            # A line that held only a note goes with it; a two-space line written as such stays.
            run = [line for line in text.split("\n") if line == "  " or line.strip()]
        first = next((index for index, line in enumerate(run) if line.strip()), len(run))
        last = next((index for index in range(len(run), first, -1) if run[index - 1].strip()), first)
        paragraphs.append(_Paragraph(run[first:last], notes))
    return paragraphs


def _extract_notes(text: str) -> tuple[str, list[str]]:
    """Remove the `[[…]]` notes from one paragraph's text (so none can span a blank line)."""
    pieces: list[str] = []
    notes: list[str] = []
    position = 0
    while (start := text.find("[[", position)) >= 0:
        end = text.find("]]", start + 2)
        if end < 0:
            break
        pieces.append(text[position:start])
        note = "\n".join(line.strip() for line in text[start + 2 : end].split("\n")).strip()
        if note:
            notes.append(note)
        position = end + 2
    pieces.append(text[position:])
    return "".join(pieces), notes


def _title_page(lines: list[str]) -> tuple[dict[str, str], int]:
    """The title page and the index of the first body line; ({}, 0) when the text has none.

    The first paragraph is a title page when every line is `Key: value` or an indented value
    line under a key, and at least one key has a value.
    """
    run_start = next((index for index, line in enumerate(lines) if not _is_blank(line)), len(lines))
    run_end = next((index for index in range(run_start, len(lines)) if _is_blank(lines[index])), len(lines))
    text, _ = _extract_notes("\n".join(lines[run_start:run_end]))
    values: dict[str, list[str]] = {}
    key: str | None = None
    for line in text.split("\n"):
        if not line.strip():
            continue
        if line[:1].isspace():
            if key is None:
                return {}, 0
            values[key].append(_strip_emphasis(line.strip()))
            continue
        match = _TITLE_KEY_RE.fullmatch(line)
        if match is None:
            return {}, 0
        key = "_".join(match.group(1).lower().split())
        values.setdefault(key, [])
        if match.group(2).strip():
            values[key].append(_strip_emphasis(match.group(2).strip()))
    if not any(values.values()):
        return {}, 0
    return {name: "\n".join(parts) for name, parts in values.items()}, run_end


# Inline markup ----------------------------------------------------------------------------------


def _strip_emphasis(line: str) -> str:
    """Remove paired `*italic*`, `**bold**`, `***bold italic***` and `_underline_` markers.

    A marker opens before a non-space and closes after one, on the same line; unpaired markers
    stay as written, and `\\*` / `\\_` give a literal `*` / `_`. One pass, one stack per kind.
    """
    if "*" not in line and "_" not in line:
        return line
    pieces: list[str] = []
    open_markers: dict[str, list[int]] = {kind: [] for kind in _EMPHASIS_KINDS}
    position = 0
    for match in _EMPHASIS_TOKEN_RE.finditer(line):
        pieces.append(line[position : match.start()])
        position = match.end()
        escaped = match.group(1)
        if escaped:
            pieces.append(escaped)
            continue
        marker = match.group(0)
        pieces.append(marker)
        if marker not in _EMPHASIS_KINDS:
            continue
        can_open = match.end() < len(line) and not line[match.end()].isspace()
        can_close = match.start() > 0 and not line[match.start() - 1].isspace()
        stack = open_markers[marker]
        if can_close and stack:
            pieces[stack.pop()] = ""
            pieces[-1] = ""
        elif can_close and marker == "***" and open_markers["*"] and open_markers["**"]:
            pieces[open_markers["*"].pop()] = ""
            pieces[open_markers["**"].pop()] = ""
            pieces[-1] = ""
        elif can_open:
            stack.append(len(pieces) - 1)
    pieces.append(line[position:])
    return "".join(pieces)


def _is_centered(line: str) -> bool:
    text = line.strip()
    return len(text) >= 2 and text[0] == ">" and text[-1] == "<"


def _clean(line: str) -> str:
    """A line as plain text: emphasis removed, whitespace runs collapsed, ends trimmed."""
    return " ".join(_strip_emphasis(line).split())


# Scene headings ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Heading:
    text: str
    scene_number: str | None
    int_ext: IntExt | None
    location: str
    time_of_day: str | None
    qualifiers: list[str]


def _heading_text(line: str) -> str | None:
    """The heading a paragraph's first line holds (forcing `.` removed), or None."""
    if line.startswith(".") and len(line) > 1 and line[1] != "." and not line[1].isspace():
        return line[1:]
    if _HEADING_START_RE.match(line):
        return line
    return None


def _split_heading(text: str) -> _Heading:
    scene_number = None
    if text.endswith("#"):
        start = text.rfind("#", 0, len(text) - 1)
        if start >= 0 and _SCENE_NUMBER_RE.fullmatch(text[start + 1 : -1]):
            scene_number = text[start + 1 : -1]
            text = text[:start]
    heading = _clean(text)
    int_ext = None
    rest = heading
    match = _INT_EXT_RE.match(heading)
    if match:
        prefix = match.group(1).upper().replace(".", "")
        int_ext = IntExt.INT_EXT if "/" in prefix else IntExt(prefix)
        rest = heading[match.end() :].lstrip(" .-")
    location, time_of_day, qualifiers = _split_place_and_time(rest.rstrip(" ,;:-"))
    return _Heading(heading, scene_number, int_ext, location, time_of_day, qualifiers)


def _split_place_and_time(text: str) -> tuple[str, str | None, list[str]]:
    """`WILL'S BEDROOM - NIGHT (1973)` → ("WILL'S BEDROOM", "NIGHT", ["1973"]).

    The first part is the location; the first later part that is a time of day is the time, and
    the location runs up to it; the parts after it are qualifiers, as are bracketed remarks and
    qualifier words (`DRIVING`, `VARIOUS SHOTS`) found in the location.
    """
    parts, separators = _heading_parts(text)
    time_index = None
    time_of_day = None
    for index in range(1, len(parts)):
        remainder, _ = _pull_brackets(parts[index], everything=True)
        time_of_day = _time_of_day(remainder)
        if time_of_day:
            time_index = index
            break
    place_end = len(parts) if time_index is None else time_index
    qualifiers: list[str] = []
    location = ""
    for index in range(place_end):
        remainder, pulled = _pull_brackets(parts[index], everything=False)
        qualifiers.extend(pulled)
        if index and _normal(remainder) in _QUALIFIER_WORDS:
            qualifiers.append(remainder)
        elif remainder:
            location += (separators[index - 1] if index and location else "") + remainder
    for index in range(place_end, len(parts)):
        remainder, pulled = _pull_brackets(parts[index], everything=True)
        if index != time_index and remainder:
            qualifiers.append(remainder)
        qualifiers.extend(pulled)
    return location.rstrip(" ,;:-"), time_of_day, [q for q in qualifiers if q]


def _heading_parts(text: str) -> tuple[list[str], list[str]]:
    """Split at the separators outside brackets; the separators come back too."""
    parts: list[str] = []
    separators: list[str] = []
    depth = 0
    start = 0
    for match in _HEADING_TOKEN_RE.finditer(text):
        token = match.group(0)
        if token in ("(", "["):
            depth += 1
        elif token in (")", "]"):
            depth = max(0, depth - 1)
        elif depth == 0:
            parts.append(text[start : match.start()])
            separators.append(token)
            start = match.end()
    parts.append(text[start:])
    return parts, separators


def _pull_brackets(part: str, *, everything: bool) -> tuple[str, list[str]]:
    """Take bracketed remarks out of one heading part: (what is left, the remarks).

    With `everything`, every `(…)` and `[…]` is a remark. Otherwise (in the location) only `[…]`,
    years and qualifier words in parentheses are; `(LA RUE 14°)` stays part of the place.
    """
    if "(" not in part and "[" not in part:
        return part.strip(), []
    kept: list[str] = []
    pulled: list[str] = []
    depth = 0
    position = 0
    group_start = 0
    opener = ""
    for match in _BRACKET_RE.finditer(part):
        token = match.group(0)
        if token in ("(", "["):
            if depth == 0:
                kept.append(part[position : match.start()])
                group_start = match.start()
                opener = token
            depth += 1
        elif depth:
            depth -= 1
            if depth == 0:
                inner = " ".join(part[group_start + 1 : match.start()].split())
                if (
                    everything
                    or opener == "["
                    or _normal(inner) in _QUALIFIER_WORDS
                    or _YEAR_RE.fullmatch(inner)
                ):
                    pulled.append(inner)
                else:
                    kept.append(part[group_start : match.end()])
                position = match.end()
    kept.append(part[group_start if depth else position :])
    return " ".join("".join(kept).split()), pulled


def _normal(text: str) -> str:
    return " ".join(text.upper().split()).strip(" .,;:")


def _time_of_day(text: str) -> str | None:
    candidate = _normal(text)
    if candidate in _TIMES_OF_DAY or _RELATIVE_TIME_RE.fullmatch(candidate):
        return candidate
    return None


# Dialogue ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cue:
    text: str
    name: str
    extension: str | None
    dual: bool


def _cue(line: str) -> _Cue | None:
    """The character cue a paragraph's first line holds, or None.

    A cue is upper-case before any parenthesis (so at least one letter), or forced with `@`;
    `^` at its end asks for dual dialogue. A line ending in `TO:` is a transition, not a cue.
    """
    text = line.strip()
    dual = text.endswith("^")
    if dual:
        text = text[:-1].rstrip()
    if text.startswith("@"):
        text = text[1:].strip()
    else:
        before_extension = text.split("(", 1)[0]
        if not before_extension.isupper() or text.endswith("TO:"):
            return None
    name, _, extension_text = text.partition("(")
    name = _clean(name)
    if not name:
        return None
    extensions = [_clean(found) for found in _EXTENSION_RE.findall("(" + extension_text)]
    if not extensions and extension_text:
        extensions = [_clean(extension_text.strip("() "))]
    extension = ", ".join(found for found in extensions if found) or None
    return _Cue(_clean(text), name, extension, dual)


_FADE_TRANSITION_RE: Final = re.compile(r"(?:FADE (?:OUT|IN|TO BLACK|TO WHITE)|CUT TO BLACK)[.:]?")
"""The fades that do not end in `TO:` (as the reference parser reads `FADE OUT.`), and `FADE IN:`."""


def _transition(line: str) -> str | None:
    """The transition a one-line paragraph holds: forced with `>`, upper case ending in `TO:`, or
    one of the fades (`FADE OUT.`, `FADE TO BLACK.`, `FADE IN:`), which are never action."""
    if line.startswith(">"):
        return _clean(line[1:]) or None
    if line.isupper() and (line.endswith("TO:") or _FADE_TRANSITION_RE.fullmatch(line.strip())):
        return _clean(line)
    return None


def _wrapped_lines(text: str, width: int) -> int:
    """Printed lines `text` fills in a column `width` characters wide (each line at least one)."""
    return sum(max(1, -(-len(line) // width)) for line in text.split("\n"))


# Building scenes --------------------------------------------------------------------------------


@dataclass(slots=True)
class _Part:
    """An element while its scene is read: dual dialogue changes it after the fact."""

    type: ElementType
    text: str = ""
    character: str | None = None
    dual: bool = False
    depth: int | None = None

    def element(self) -> Element:
        return Element(
            type=self.type, text=self.text, character=self.character, dual=self.dual, depth=self.depth
        )


@dataclass(slots=True)
class _Speech:
    character: str
    extension: str | None
    parenthetical: str | None
    text: str
    parts: list[_Part]
    dual: bool = False

    def line(self) -> DialogueLine:
        return DialogueLine(
            character=self.character,
            extension=self.extension,
            parenthetical=self.parenthetical,
            text=self.text,
            dual=self.dual,
        )


@dataclass
class _SceneDraft:
    number: int
    heading: _Heading
    section: str | None
    parts: list[_Part] = field(default_factory=list)
    speeches: list[_Speech] = field(default_factory=list)
    characters: dict[str, None] = field(default_factory=dict)
    action: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    synopses: list[str] = field(default_factory=list)
    camera: str | None = None
    style: str | None = None
    duration: int | None = None
    shots: list[ShotNote] = field(default_factory=list)
    lines: int = 2
    """Printed lines: the heading and the blank line after it to start with."""
    section_since_heading: bool = False
    last_speech: _Speech | None = None
    """The speech just read, while no other paragraph has followed it."""

    def add_note(self, note: str, element: int) -> None:
        """Keep a note; one that directs sets the scene's direction. `element` is where the note's
        paragraph starts among the scene's elements."""
        self.notes.append(note)
        match = _DIRECTION_RE.fullmatch(note)
        if match is None:
            return
        key, value = match.group(1).lower(), " ".join(match.group(2).split())
        if key == "shot":
            if value:
                self.shots.append(ShotNote(text=value, element=element))
        elif key == "duration":
            seconds = _DURATION_RE.fullmatch(value)
            # Direction holds the bounds a scene may ask for; a value outside them is ignored.
            with contextlib.suppress(ValidationError):
                if seconds:
                    self.duration = Direction(duration=int(seconds.group(1))).duration
        elif value and key == "camera":
            self.camera = value
        elif value:
            self.style = value

    def scene(self) -> Scene:
        heading = self.heading
        return Scene(
            number=self.number,
            scene_number=heading.scene_number,
            heading=heading.text,
            int_ext=heading.int_ext,
            location=heading.location,
            time_of_day=heading.time_of_day,
            qualifiers=heading.qualifiers,
            elements=[part.element() for part in self.parts],
            characters=list(self.characters),
            dialogue=[speech.line() for speech in self.speeches],
            action="\n\n".join(self.action),
            notes=self.notes,
            direction=Direction(
                camera=self.camera, style=self.style, duration=self.duration, shots=tuple(self.shots)
            ),
            section=self.section,
            synopses=self.synopses,
            estimated_seconds=max(1, round(self.lines * _SECONDS_PER_PAGE / _LINES_PER_PAGE)),
        )


class _Builder:
    """Reads paragraphs in order and builds the scenes; text before the first heading is dropped."""

    def __init__(self) -> None:
        self._drafts: list[_SceneDraft] = []
        self._sections: list[tuple[int, str]] = []
        self.preamble_notes: list[str] = []
        """Notes before the first heading: they direct the whole film (`[[voice MARA: en-f-2]]`)."""

    def scenes(self) -> list[Scene]:
        return [draft.scene() for draft in self._drafts]

    @property
    def _current(self) -> _SceneDraft | None:
        return self._drafts[-1] if self._drafts else None

    def add_paragraph(self, paragraph: _Paragraph) -> None:
        lines = paragraph.lines
        before = self._current
        first_element = len(before.parts) if before is not None else 0
        start = 0
        while start < len(lines):
            if lines[start].strip():
                start = self._read(lines, start)
            else:
                start += 1
        current = self._current
        if current is None:
            self.preamble_notes.extend(paragraph.notes)
        else:
            # A paragraph that opened a scene directs that scene from its start.
            element = first_element if current is before else 0
            for note in paragraph.notes:
                current.add_note(note, element)

    def _read(self, lines: list[str], start: int) -> int:
        """Read the element `lines[start]` begins; return where the lines still to read begin.

        Those are read as a new paragraph: a heading, a section, a synopsis or a page break takes
        one line, anything else the rest of the paragraph.
        """
        first = lines[start].strip()
        if first.startswith("!"):
            self._action(lines[start:])
            return len(lines)
        if _PAGE_BREAK_RE.fullmatch(first):
            self._add(_Part(ElementType.PAGE_BREAK), lines=0)
            return start + 1
        if first.startswith("#"):
            self._section(first)
            return start + 1
        if first.startswith("="):
            self._synopsis(_clean(first[1:]))
            return start + 1
        heading = _heading_text(first)
        if heading is not None:
            self._start_scene(_split_heading(heading))
            return start + 1
        rest = lines[start:]
        if all(_is_centered(line) for line in rest):
            text = "\n".join(_clean(line.strip()[1:-1]) for line in rest)
            if text.strip():
                self._add(_Part(ElementType.CENTERED, text), lines=len(rest) + 1)
        elif len(rest) == 1 and (transition := _transition(first)):
            self._add(_Part(ElementType.TRANSITION, transition), lines=2)
        elif first.startswith("~"):
            text = "\n".join(_clean(line.strip().removeprefix("~")) for line in rest)
            self._add(
                _Part(ElementType.LYRIC, text), lines=_wrapped_lines(text, _DIALOGUE_CHARS_PER_LINE) + 1
            )
        elif len(rest) > 1 and (cue := _cue(first)) is not None:
            self._dialogue(cue, rest[1:])
        else:
            self._action(rest)
        return len(lines)

    def _add(self, part: _Part, *, lines: int) -> None:
        current = self._current
        if current is None:
            return
        current.parts.append(part)
        current.lines += lines
        current.last_speech = None

    def _start_scene(self, heading: _Heading) -> None:
        section = (self._sections[-1][1] or None) if self._sections else None
        self._drafts.append(_SceneDraft(number=len(self._drafts) + 1, heading=heading, section=section))

    def _section(self, line: str) -> None:
        title = line.lstrip("#")
        depth = len(line) - len(title)
        title = _clean(title.rstrip("#"))
        while self._sections and self._sections[-1][0] >= depth:
            self._sections.pop()
        self._sections.append((depth, title))
        self._add(_Part(ElementType.SECTION, title, depth=depth), lines=0)
        if self._current is not None:
            self._current.section_since_heading = True

    def _synopsis(self, text: str) -> None:
        current = self._current
        if current is not None and not current.section_since_heading:
            current.synopses.append(text)
        self._add(_Part(ElementType.SYNOPSIS, text), lines=0)

    def _action(self, lines: list[str]) -> None:
        cleaned = []
        for line in lines:
            indent = len(line) - len(line.lstrip())
            body = line[indent:]
            body = body.removeprefix("!")
            cleaned.append(" " * indent + _strip_emphasis(body.rstrip()) if body.strip() else "")
        text = "\n".join(cleaned).strip("\n")
        if not text.strip():
            return
        self._add(
            _Part(ElementType.ACTION, text),
            lines=_wrapped_lines(text, _ACTION_CHARS_PER_LINE) + 1,
        )
        current = self._current
        if current is not None:
            current.action.append(text)

    def _dialogue(self, cue: _Cue, lines: list[str]) -> None:
        current = self._current
        if current is None:
            return
        partner = current.last_speech if cue.dual else None
        dual = partner is not None
        parts = [_Part(ElementType.CHARACTER, cue.text, cue.name, dual)]
        words: list[str] = []
        parentheticals: list[str] = []
        run: list[str] = []
        parenthetical: list[str] = []
        printed = 1

        def flush_run() -> None:
            if run:
                text = " ".join(run)
                parts.append(_Part(ElementType.DIALOGUE, text, cue.name, dual))
                words.append(text)
                run.clear()

        def flush_parenthetical() -> None:
            nonlocal printed
            if parenthetical:
                text = " ".join(parenthetical)
                parts.append(_Part(ElementType.PARENTHETICAL, text, cue.name, dual))
                parentheticals.append(text)
                printed += _wrapped_lines(text, _PARENTHETICAL_CHARS_PER_LINE)
                parenthetical.clear()

        for raw in lines:
            line = _clean(raw)
            if line and (parenthetical or line.startswith("(")):
                flush_run()
                parenthetical.append(line)
                if line.endswith(")"):
                    flush_parenthetical()
            elif not line:
                flush_run()
                printed += 1
            elif line.startswith("~"):
                flush_run()
                lyric = line[1:].strip()
                parts.append(_Part(ElementType.LYRIC, lyric, cue.name, dual))
                words.append(lyric)
                printed += _wrapped_lines(lyric, _DIALOGUE_CHARS_PER_LINE)
            else:
                run.append(line)
                printed += _wrapped_lines(line, _DIALOGUE_CHARS_PER_LINE)
        flush_run()
        flush_parenthetical()

        if partner is not None:
            partner.dual = True
            for part in partner.parts:
                part.dual = True
        speech = _Speech(
            character=cue.name,
            extension=cue.extension,
            parenthetical=" ".join(parentheticals) or None,
            text=" ".join(words),
            parts=parts,
            dual=dual,
        )
        current.parts.extend(parts)
        current.speeches.append(speech)
        current.characters.setdefault(cue.name)
        current.lines += printed + 1
        current.last_speech = speech


# Transitions between scenes ---------------------------------------------------------------------


class Transition(StrEnum):
    """How a scene gives way to the next: a cut, a fade through black, or a dissolve."""

    CUT = "cut"
    FADE = "fade"
    DISSOLVE = "dissolve"


def closing_transition(scene: Scene) -> Transition | None:
    """The transition written at the end of the scene (after its last action or speech), if any:
    `DISSOLVE TO:` (and wipes, irises) dissolves, `FADE OUT.` and `… TO BLACK.` fade, any other
    (`CUT TO:`, `SMASH CUT TO:`) cuts. An opening `FADE IN:` there belongs to the next scene."""
    for element in reversed(scene.elements):
        if element.type is not ElementType.TRANSITION:
            return None
        text = element.text.upper()
        if text.startswith("FADE IN"):
            continue
        if "DISSOLVE" in text or "WIPE" in text or "IRIS" in text:
            return Transition.DISSOLVE
        if "FADE" in text or "BLACK" in text:
            return Transition.FADE
        return Transition.CUT
    return None


def fades_in_after(previous: Scene | None) -> bool:
    """Whether a scene opens from black: the film's first, or one after a fade, a dissolve or a
    `FADE IN:` at the end of the scene before."""
    if previous is None:
        return True
    opening = any(
        element.type is ElementType.TRANSITION and element.text.upper().startswith("FADE IN")
        for element in previous.elements[-2:]
    )
    return opening or closing_transition(previous) in (Transition.FADE, Transition.DISSOLVE)
