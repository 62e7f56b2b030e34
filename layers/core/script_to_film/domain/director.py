"""The director: turns each scene of a screenplay into a `Shot`, the request one video model gets.

Every prompt has one shape::

    [Camera]: [Scene]. [Lighting]. [Environment]. Cinematic composition, [style], [quality].

- **Camera**: a `[[camera: …]]` note, or a set-up chosen from the scene (see `CAMERAS`), never
  the same as the previous scene's when another one fits.
- **Scene**: the first sentence of the action, always, then further beats in script order:
  action sentences and dialogue beats (who speaks to whom, and how). A video model cannot know
  who "MARA" is, so every character name becomes a description built from the screenplay
  (`MARA (70s), wiry, in a conductor's coat` → "a woman in her 70s, wiry, in a conductor's
  coat"), given in full at its first mention in the prompt and short ("the woman") after.
- **Lighting** from the time of day (CONTINUOUS, LATER, SAME and unknown times carry the
  previous scene's), **Environment** from INT/EXT and the location.
- **Style** from a preset (`STYLES`), then quality descriptors.

The prompt always fits the model's limit in UTF-16 code units. The camera and the first action
sentence are always kept; the other parts are added by priority while the prompt still fits
(lighting, environment, the style, its detail, quality descriptors, then the extra beats in
script order), so what is dropped first is extra beats, then quality descriptors, then style
detail. Only when the camera and the first sentence alone are over the limit is that sentence
cut, at a word boundary (inside a word only when its first word alone is too long).

Runway's prompting guide asks for positive phrasing, so the templates never say "no", "not",
"without" or "avoid", and script sentences that do are skipped as extra beats (the first action
sentence is kept as written). Everything here is deterministic and pure.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from script_to_film.domain.catalog import (
    DEFAULT_MODEL,
    VideoModel,
    check_ratio,
    get_model,
    utf16_len,
)
from script_to_film.domain.coverage import (
    FULL,
    MAX_SHOTS_PER_SCENE,
    SHORT_CUT_MAX_SHOTS,
    SHORT_CUT_SHARE,
    Length,
    Planned,
    listeners_of,
    plan_scene,
)
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import (
    DialogueLine,
    ElementType,
    IntExt,
    Scene,
    Screenplay,
    Shot,
    ShotKind,
)

DEFAULT_STYLE = "realistic"


# --- style presets --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StylePreset:
    """A look for the whole film. The first descriptor is the look itself and is kept longest."""

    name: str
    summary: str
    descriptors: tuple[str, ...]


STYLES: Mapping[str, StylePreset] = MappingProxyType(
    {
        preset.name: preset
        for preset in (
            StylePreset(
                "realistic",
                "live-action photorealism (the default)",
                (
                    "photorealistic live action",
                    "natural colour grading",
                    "shot on 35mm film",
                    "shallow depth of field",
                ),
            ),
            StylePreset(
                "film noir",
                "1940s black-and-white crime drama",
                (
                    "black-and-white film noir",
                    "hard chiaroscuro lighting",
                    "deep shadows and high contrast",
                    "1940s crime-drama mood",
                ),
            ),
            StylePreset(
                "animated",
                "a 3D animated feature",
                (
                    "3D animated feature film style",
                    "stylised expressive characters",
                    "vibrant saturated colours",
                    "soft global illumination",
                ),
            ),
            StylePreset(
                "documentary",
                "handheld, observational, available light",
                (
                    "documentary style",
                    "handheld camera with natural movement",
                    "available light",
                    "candid observational framing",
                ),
            ),
            StylePreset(
                "vintage",
                "a 1970s film print",
                (
                    "vintage 1970s film look",
                    "warm faded colours",
                    "visible film grain",
                    "soft halation on highlights",
                ),
            ),
            StylePreset(
                "anime",
                "hand-drawn Japanese animation",
                ("anime style", "hand-drawn cel shading", "clean expressive linework", "painted backgrounds"),
            ),
        )
    }
)
"""The style presets, by name: what each adds to every prompt."""

_STYLE_ALIASES = MappingProxyType(
    {
        "noir": "film noir",
        "animation": "animated",
        "cartoon": "animated",
        "photorealistic": "realistic",
        "live action": "realistic",
        "retro": "vintage",
    }
)

QUALITY_DESCRIPTORS = ("highly detailed", "sharp focus", "smooth natural motion")


def get_style(name: str) -> StylePreset:
    """The preset called `name` (case, `-` and `_` ignored), else InvalidOptionError listing them."""
    key = " ".join(name.replace("_", " ").replace("-", " ").lower().split())
    key = _STYLE_ALIASES.get(key, key)
    if key in STYLES:
        return STYLES[key]
    raise InvalidOptionError(f"unknown style {name!r}; choose one of: {', '.join(STYLES)}")


# --- camera set-ups -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CameraSetup:
    key: str
    label: str
    """How the prompt names it: the prompt starts with this."""
    chosen_when: str


CAMERAS: tuple[CameraSetup, ...] = (
    CameraSetup(
        "wide", "Wide establishing shot", "an EST heading, or an exterior at a location not seen before"
    ),
    CameraSetup("dutch", "Dutch angle", "tension: weapons, screams, panic, explosions, struggles"),
    CameraSetup("tracking", "Tracking shot", "movement: walks, runs, drives, chases, climbs, wades"),
    CameraSetup("ots", "Over-the-shoulder shot", "two or more people on screen talk"),
    CameraSetup("close-up", "Close-up", "one person talks at length, or a quiet emotional moment"),
    CameraSetup("low", "Low angle shot", "power: towering, looming, triumphant"),
    CameraSetup("high", "High angle shot", "vulnerability: alone, small, trapped, collapsing"),
    CameraSetup("medium", "Medium shot", "anything else"),
)
"""Camera set-ups in order of preference when a scene fits several."""

_CAMERA_BY_KEY = MappingProxyType({camera.key: camera for camera in CAMERAS})
_FALLBACK_CAMERAS = ("medium", "close-up", "high")
_CAMERA_ALIASES = MappingProxyType(
    {
        **{
            alias: "wide"
            for alias in ("wide", "wide shot", "establishing", "establishing shot", "ws", "long shot")
        },
        **{alias: "wide" for alias in ("wide establishing shot", "extreme wide shot")},
        **{alias: "dutch" for alias in ("dutch", "dutch angle", "dutch tilt", "canted angle")},
        **{
            alias: "tracking" for alias in ("tracking", "tracking shot", "dolly", "dolly shot", "follow shot")
        },
        **{alias: "ots" for alias in ("ots", "over the shoulder", "over the shoulder shot")},
        **{alias: "close-up" for alias in ("close up", "closeup", "cu", "close up shot")},
        **{alias: "low" for alias in ("low angle", "low angle shot", "low")},
        **{alias: "high" for alias in ("high angle", "high angle shot", "high")},
        **{alias: "medium" for alias in ("medium", "medium shot", "ms", "mid shot")},
    }
)

MAX_CAMERA_UNITS = 150
"""A `[[camera: …]]` note longer than this is cut, so the scene always has room in the prompt."""


def _words(*phrases: str) -> frozenset[str]:
    return frozenset(word for phrase in phrases for word in phrase.split())


_MOVEMENT = _words(
    "walk walks walking run runs running drive drives driving chase chases chasing race races racing",
    "ride rides riding follow follows following flee flees fleeing sprint sprints sprinting stride strides",
    "striding march marches marching wander wanders wandering pace paces pacing climb climbs climbing",
    "cross crosses crossing hurry hurries hurrying rush rushes rushing dash dashes dashing stroll strolls",
    "strolling jog jogs jogging gallop gallops galloping swim swims swimming wade wades wading fly flies",
    "flying sail sails sailing skate skates skating cycle cycles cycling pursue pursues pursuing speeds",
    "speeding approaches approaching travels travelling traveling",
)
_TENSION = _words(
    "gun guns pistol rifle knife knives blade blood bloody bleeding scream screams screaming panic panics",
    "panicked terrified terror threat threatens threatening tremble trembles trembling shaking explode",
    "explodes exploding explosion crash crashes crashing gunshot gunshots danger dangerous alarm alarms",
    "siren sirens struggle struggles struggling fight fights fighting attack attacks frantic frantically",
    "desperate desperately dread menace menacing lunge lunges smash smashes shatter shatters shattering",
    "chaos chaotic nightmare hostage bomb storm",
)
_EMOTION = _words(
    "tears tearful cries crying weeps weeping sobs sobbing smiles smiling stares staring gazes gazing",
    "whispers whispering remembers hesitates swallows blinks grief grieving heartbroken eyes",
)
_POWER = _words(
    "towers towering looms looming giant giants colossal enormous statue monument skyscraper skyscrapers",
    "triumphant triumphantly victorious mighty throne commanding dominates",
)
_VULNERABLE = _words(
    "alone lonely lost trapped helpless collapses collapsed kneels kneeling crumpled abandoned",
    "huddled huddles cowers cowering sprawled",
)


# --- lighting -------------------------------------------------------------------------------------

LIGHTING: Mapping[str, str] = MappingProxyType(
    {
        "DAY": "Bright natural daylight with soft shadows",
        "NIGHT": "Night, low-key lighting with pools of practical light and deep shadows",
        "DAWN": "Dawn, cool blue light with a pale glow on the horizon",
        "PRE-DAWN": "Pre-dawn, deep blue darkness with faint ambient light",
        "SUNRISE": "Sunrise, low golden light raking across the scene",
        "MORNING": "Soft fresh morning light with a gentle warmth",
        "NOON": "High midday sun with crisp short shadows",
        "AFTERNOON": "Warm afternoon sun with long soft shadows",
        "EVENING": "Evening, fading warm light and the first glowing lamps",
        "DUSK": "Dusk, blue-hour twilight with glowing windows and streetlights",
        "SUNSET": "Sunset, warm orange backlight and long shadows",
        "MAGIC HOUR": "Magic hour, soft golden backlight and a warm glow",
        "MIDNIGHT": "Midnight, deep darkness with cool moonlight and small practical lights",
    }
)
"""Lighting by time of day (the heading's last part)."""

NEUTRAL_LIGHTING = "Soft natural light"
"""For a first scene whose time of day is missing or relative (CONTINUOUS, LATER…)."""

_TIME_ALIASES = MappingProxyType(
    {
        "DAYTIME": "DAY",
        "DAYLIGHT": "DAY",
        "NIGHTTIME": "NIGHT",
        "PREDAWN": "PRE-DAWN",
        "PRE DAWN": "PRE-DAWN",
        "FIRST LIGHT": "DAWN",
        "DAYBREAK": "DAWN",
        "MIDDAY": "NOON",
        "MID-DAY": "NOON",
        "GOLDEN HOUR": "MAGIC HOUR",
        "TWILIGHT": "DUSK",
        "NIGHTFALL": "DUSK",
        "SUNDOWN": "SUNSET",
        "SUNUP": "SUNRISE",
    }
)
_TIME_WORDS = sorted([*LIGHTING, *_TIME_ALIASES], key=len, reverse=True)
_TIME_PATTERN = re.compile(r"(?<![\w-])(" + "|".join(re.escape(word) for word in _TIME_WORDS) + r")(?![\w-])")


def lighting_for(time_of_day: str | None, previous: str | None = None) -> str:
    """Lighting for a time of day; a relative or unknown time carries `previous` (or the neutral light)."""
    key = " ".join((time_of_day or "").upper().split())
    key = _TIME_ALIASES.get(key, key)
    if key in LIGHTING:
        return LIGHTING[key]
    match = _TIME_PATTERN.search(key)
    if match:
        word = match.group(1)
        return LIGHTING[_TIME_ALIASES.get(word, word)]
    return previous or NEUTRAL_LIGHTING


# --- environment ----------------------------------------------------------------------------------

_PLACES = MappingProxyType(
    {
        IntExt.INT: "Interior",
        IntExt.EXT: "Exterior",
        IntExt.INT_EXT: "Interior and exterior",
        IntExt.EST: "Exterior",
    }
)
_WEATHER = MappingProxyType(
    {
        "STORM": "in a storm",
        "RAIN": "in the rain",
        "RAINING": "in the rain",
        "SNOW": "in falling snow",
        "SNOWING": "in falling snow",
        "FOG": "in thick fog",
        "FOGGY": "in thick fog",
        "WIND": "in a strong wind",
        "WINDY": "in a strong wind",
        "THUNDERSTORM": "in a thunderstorm",
        "BLIZZARD": "in a blizzard",
        "HEATWAVE": "in a heatwave",
    }
)
_SMALL_WORDS = frozenset({"a", "an", "and", "at", "by", "for", "in", "of", "on", "or", "the", "to"})


def _title(text: str) -> str:
    """Title case for an all-capitals location; a location written in mixed case is kept."""
    if any(char.islower() for char in text):
        return text
    words = text.lower().split(" ")
    return " ".join(
        word if index and word in _SMALL_WORDS else word[:1].upper() + word[1:]
        for index, word in enumerate(words)
    )


def _location(scene: Scene) -> str:
    parts = [_clean(part) for part in re.split(r"\s+[-\u2013\u2014]+\s+", scene.location)]
    return ", ".join(_title(part) for part in parts if part)


def _environment(scene: Scene, location: str) -> str:
    parts = [_PLACES[scene.int_ext]] if scene.int_ext else []
    if location:
        parts.append(location)
    if scene.int_ext is IntExt.EST:
        parts.append("establishing view")
    for qualifier in scene.qualifiers:
        word = " ".join(qualifier.upper().split())
        if word in _WEATHER:
            parts.append(_WEATHER[word])
        elif re.fullmatch(r"1[0-9]{3}|20[0-9]{2}", word):
            parts.append(f"in {word}")
    return ", ".join(parts)


# --- text -----------------------------------------------------------------------------------------

_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
"""Unicode categories Cc (C0, DEL, C1) and Cs (surrogates), less tab, newline and carriage return."""


def _strip_controls(text: str) -> str:
    """Text without control characters and lone surrogates, which no prompt should carry."""
    return _CONTROLS.sub("", text)


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _clean(text: str) -> str:
    return _collapse(_strip_controls(text))


_NEGATIVE = re.compile(
    r"(?<![\w'\u2019])(?:no|not|never|none|nobody|nothing|nowhere|neither|nor|without|avoids?|avoiding|cannot"
    r"|\w+n['\u2019]t)(?![\w'\u2019])",
    re.IGNORECASE,
)


def _is_negative(text: str) -> bool:
    return _NEGATIVE.search(text) is not None


_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_SENTENCE_BREAK = re.compile(
    r"(?:(?<=[.!?…])|(?<=[.!?…][\"'\u201d\u2019)\]]))(?<!\bMr\.)(?<!\bMs\.)(?<!\bDr\.)(?<!\bSt\.)(?<!\bMrs\.)\s+"
)
_TERMINAL = re.compile(r"[.!?…][\"'\u201d\u2019)\]]*$")


_TRANSITION = re.compile(
    r"(?:FADE (?:IN|OUT|TO BLACK)|(?:[A-Z]+ )?CUT TO|DISSOLVE TO|THE END|CONTINUED|END CREDITS)[.:!]?"
)
"""Editing cues written as action (`FADE OUT.` without Fountain's `>`): they are not something to film."""


def _paragraphs(text: str) -> list[str]:
    return [paragraph for paragraph in _PARAGRAPH_BREAK.split(text) if paragraph.strip()]


def _sentences(paragraph: str) -> list[str]:
    return [
        sentence
        for sentence in _SENTENCE_BREAK.split(_collapse(paragraph))
        if sentence and not _TRANSITION.fullmatch(sentence)
    ]


def _ended(sentence: str) -> str:
    return sentence if _TERMINAL.search(sentence) else f"{sentence}."


def _last_visible(text: str, end: int) -> str:
    """The last character before `end` that is not white space ("" when there is none), found
    without copying the text before it: a sentence may hold a name at every other word."""
    index = end - 1
    while index >= 0 and text[index].isspace():
        index -= 1
    return text[index] if index >= 0 else ""


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _cut(text: str, units: int) -> str:
    """The longest prefix of `text` within `units` UTF-16 code units that ends at a word boundary;
    inside the first word only when that word alone is over (never inside a surrogate pair)."""
    if utf16_len(text) <= units:
        return text
    used = 0
    end = 0
    for end, char in enumerate(text):  # noqa: B007 - `end` is the first character that is over
        used += 2 if ord(char) > 0xFFFF else 1
        if used > units:
            break
    if text[end] == " ":
        return text[:end].rstrip()
    space = text.rfind(" ", 0, end)
    return text[:space].rstrip() if space > 0 else text[:end]


# --- characters -----------------------------------------------------------------------------------

Gender = Literal["female", "male"]

_CAPS_WORD = r"[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ0-9'\u2019\-]*"
_CAPS_NAME = rf"(?:(?:MR|MRS|MS|DR)\.?\s)?{_CAPS_WORD}(?:[^\S\n]+{_CAPS_WORD}){{0,2}}"
_DECADES = "twenties|thirties|forties|fifties|sixties|seventies|eighties|nineties|teens"
_TENS = "twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety"
_YEARS_OLD = r"years?[-\s]old|yrs?\.?(?:\s+old)?|y/?o"
_AGE_SOURCE = (
    rf"(?:aged?\s+)?(?:(?:early|mid|late)[-\s]?)?(?:\d{{1,2}}(?:['\u2019]?s)?|{_DECADES}|(?:{_TENS})(?:-[a-z]+)?)"
    rf"(?:\s+(?:{_YEARS_OLD}))?"
)
_AGE = re.compile(_AGE_SOURCE, re.IGNORECASE)
_INTRO_WITH_PARENS = re.compile(rf"(?<![\w'\u2019])({_CAPS_NAME})[^\S\n]*\(([^()\n]{{1,60}})\)")
_INTRO_WITH_AGE = re.compile(rf"(?<![\w'\u2019])({_CAPS_NAME}),\s*(?i:{_AGE_SOURCE})\s*[,.]")
_NOT_NAMES = frozenset({"INT", "EXT", "EST", "SUPER", "INSERT", "TITLE", "CUT", "FADE", "THE END", "CONT'D"})
_OFF_SCREEN = re.compile(r"\b(?:V\.?\s?O|O\.?\s?S|O\.?\s?C|PHONE|RADIO|FILTERED|PRE-?LAP)\b", re.IGNORECASE)
_PARENS = re.compile(r"[^\S\n]*\(([^()\n]{1,60})\)")
_COMMA = re.compile(r",\s*")
_SENTENCE_END = r"[.!?…](?=\s|$)|\n[^\S\n]*\n"
_SENTENCE_ENDS = re.compile(f"(?=(?:{_SENTENCE_END}))")
"""Every place a sentence end starts, overlapping ones included."""

_FEMALE_NOUNS = _words(
    "woman women girl lady mother mom mum grandmother grandma granny wife daughter sister aunt niece queen",
    "princess actress waitress widow nun bride girlfriend duchess businesswoman policewoman stewardess",
)
_MALE_NOUNS = _words(
    "man men boy gentleman guy father dad grandfather grandpa husband son brother uncle nephew king prince",
    "waiter widower monk priest groom boyfriend duke businessman policeman fisherman lad",
)
_FEMALE_TITLES = _words("MRS MRS. MS MS. MISS LADY QUEEN SISTER MOTHER AUNT GRANDMA MADAME")
_MALE_TITLES = _words("MR MR. SIR LORD KING FATHER BROTHER UNCLE GRANDPA")
_PRONOUN = re.compile(r"\b(?:(she|her|hers|herself)|(he|him|his|himself))\b", re.IGNORECASE)
_ARTICLE = re.compile(r"(?:a|an|the|one)\s", re.IGNORECASE)
_NOUN_PHRASE_STOP = re.compile(r"\s(?:with|in|wearing|carrying|holding|who|from|of|at|on|dressed)\s")
_NOT_VERBS = _words(
    "his hers its this is as us yes always perhaps glasses sunglasses jeans pants trousers boots shoes",
    "clothes overalls tattoos whiskers sideburns dreadlocks braids curls freckles muscles scrubs",
    "fatigues pyjamas pajamas earrings gloves heels less unless",
)
_CLAUSE_WORDS = _words("and but then he she they it we i as while when")
MAX_DESCRIPTION_UNITS = 160
"""A character description longer than this (a runaway appositive) is cut at a word."""


@dataclass(frozen=True, slots=True)
class Character:
    """How the prompts show one character: `description` at its first mention, `short` after."""

    name: str
    description: str
    short: str
    gender: Gender | None


@dataclass(frozen=True, slots=True)
class _Intro:
    end: int
    age: str | None
    descriptors: tuple[str, ...]


def _name_of(line: DialogueLine) -> str:
    return _clean(line.character)


def _name_variants(name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys((name, name.title(), " ".join(word.capitalize() for word in name.split()))))


def _name_pattern(names: Iterable[str]) -> re.Pattern[str] | None:
    """Mentions of any of `names` in capitals or title case (`MARA`, `Mara`, `Mara's`), never lower case."""
    variants = {variant for name in names for variant in _name_variants(name)}
    if not variants:
        return None
    return re.compile(rf"(?<![\w'\u2019])({_alternatives(variants)})(?!\w)(['\u2019]s(?!\w))?")


def _owners(names: Iterable[str]) -> dict[str, str]:
    """Whose name each variant `_name_pattern` matches is (the last of `names` that has it)."""
    return {variant: name for name in names for variant in _name_variants(name)}


_Trie = dict[str, "_Trie"]


def _alternatives(words: Iterable[str]) -> str:
    """A pattern matching any of `words`, the longest first, built as a trie: a screenplay can name
    thousands of speakers, and a plain alternation would try every one at every character.

    Where a word ends inside a longer one (`MARA`, `MARA JONES`) the rest is an optional group,
    which regular expressions try greedily: the longer word first, as a sorted alternation would."""
    root: _Trie = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}
    return _trie_pattern(root)


def _trie_pattern(node: _Trie) -> str:
    branches = [re.escape(char) + _trie_pattern(rest) for char, rest in node.items() if char]
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
    return f"(?:{body})?" if "" in node else body


def _is_age(text: str) -> bool:
    return _AGE.fullmatch(text.strip()) is not None


def _looks_like_clause(segment: str) -> bool:
    """Does a segment after a name and a comma start the sentence's main clause (`sits alone`)?"""
    words = segment.lower().split()
    first = words[0].strip("\"'\u201c\u201d\u2018\u2019")
    if first in _CLAUSE_WORDS:
        return True
    if first.endswith("ly") and len(words) > 1:
        first = words[1]
    return first.endswith("s") and not first.endswith("ss") and first not in _NOT_VERBS


def _parse_intro(text: str, name_end: int, sentence_end: Callable[[int], int]) -> _Intro | None:
    """Age and description written after a name (`NAME (70s), wiry, in a coat, sits…` or
    `NAME, 70s, a retired conductor, …`), and where they end; None when there are none.

    `sentence_end(pos)` is where the sentence holding `pos` ends (see `_sentence_ends`)."""
    age: str | None = None
    descriptors: list[str] = []
    pos = name_end
    parens = _PARENS.match(text, pos)
    if not parens and not _COMMA.match(text, pos):
        return None
    if parens:
        for part in parens.group(1).split(","):
            part = _clean(part)
            if age is None and _is_age(part):
                age = part
            elif part and not _is_negative(part) and not _OFF_SCREEN.fullmatch(part):
                descriptors.append(part)
        pos = parens.end()
    end = sentence_end(pos)
    taken = 0
    while taken < 3 and (comma := _COMMA.match(text, pos)):
        next_comma = text.find(",", comma.end(), end)
        closed = next_comma != -1
        segment = _clean(text[comma.end() : next_comma if closed else end])
        if not segment:
            break
        if age is None and _is_age(segment):
            age = segment
        elif _looks_like_clause(segment) or not (closed or _ARTICLE.match(segment)):
            break
        elif not _is_negative(segment):
            descriptors.append(segment)
        taken += 1
        pos = next_comma if closed else comma.end() + len(text[comma.end() : end].rstrip())
    if not (parens or taken):
        return None
    if text.startswith(",", pos):
        pos += 1
    return _Intro(pos, age, tuple(descriptors))


def _age_phrase(age: str, possessive: str) -> tuple[str, int | None]:
    """(`in her 70s` or `aged 8`, the age in years when it is given as a number)."""
    words = _collapse(age.lower().replace("\u2019", "'").replace("'s", "s"))
    words = re.sub(r"^aged?\s+", "", words)
    words = re.sub(rf"\s+(?:{_YEARS_OLD})$", "", words)
    if words.isdigit():
        return f"aged {words}", int(words)
    return f"in {possessive} {words}", 15 if "teens" in words else None


def _nouns(gender: Gender | None, years: int | None) -> tuple[str, str]:
    """(the noun of a description, the noun of later mentions)."""
    if years is not None and years < 13:
        noun = {"female": "girl", "male": "boy", None: "child"}[gender]
        return noun, noun
    if years is not None and years < 18:
        short = {"female": "girl", "male": "boy", None: "teenager"}[gender]
        return (f"teenage {short}" if gender else short), short
    noun = {"female": "woman", "male": "man", None: "person"}[gender]
    return noun, noun


def _describe(intro: _Intro | None, gender: Gender | None) -> tuple[str, str]:
    possessive = {"female": "her", "male": "his", None: "their"}[gender]
    age, years = _age_phrase(intro.age, possessive) if intro and intro.age else ("", None)
    noun, short_noun = _nouns(gender, years)
    descriptors = list(intro.descriptors) if intro else []
    short = f"the {short_noun}"
    if descriptors and _ARTICLE.match(descriptors[0]):
        phrase = descriptors.pop(0)
        stop = _NOUN_PHRASE_STOP.search(phrase)
        head = phrase[: stop.start()] if stop else phrase
        if age:
            phrase = f"{head} {age}{phrase[len(head) :]}"
        head_noun = head.split()[-1].lower()
        if len(head.split()) > 1 and head_noun.isalpha() and len(head_noun) > 2:
            short = f"the {head_noun}"
        description = ", ".join([phrase, *descriptors])
    else:
        description = ", ".join([f"a {noun} {age}".rstrip(), *descriptors])
    return _cut(description, MAX_DESCRIPTION_UNITS).rstrip(" ,;:"), short


def _on_screen(line: DialogueLine) -> bool:
    return not (line.extension and _OFF_SCREEN.search(line.extension))


def _discover_names(actions: Sequence[str]) -> list[str]:
    """Characters introduced in capitals with an age (`MARA (70s)`, `MARA, 70s,`), speaking or not."""
    found: list[str] = []
    for text in actions:
        for match in _INTRO_WITH_PARENS.finditer(text):
            if any(_is_age(part) for part in match.group(2).split(",")):
                found.append(_collapse(match.group(1)))
        found.extend(_collapse(match.group(1)) for match in _INTRO_WITH_AGE.finditer(text))
    return [name for name in found if len(name) > 1 and name not in _NOT_NAMES]


MAX_CAST = 200
"""Characters the prompts describe, in order of introduction, then of first speech. A feature has
30 to 100 speaking parts (Big Fish: 51); past this a screenplay is a list of names, and whoever is
past it is "someone" in the prompts."""
MAX_NAME_CHARS = 50
"""A longer character cue is not a name to describe, nor one to look for in the action."""


def _people_names(speeches: Mapping[str, Sequence[DialogueLine]], actions: Sequence[str]) -> list[str]:
    """Everyone a prompt may mention: characters introduced in action, and speakers seen on screen
    (a voice heard only off screen, like a RADIO, stays a word of the action unless the action
    names it), at most `MAX_CAST` of them."""
    names = _discover_names(actions)
    candidates = {name: spoken for name, spoken in speeches.items() if 0 < len(name) <= MAX_NAME_CHARS}
    on_screen = {name for name, spoken in candidates.items() if any(_on_screen(line) for line in spoken)}
    heard = [name for name in candidates if name not in on_screen]
    mentioned = {mention.name for mentions in _find_mentions(actions, heard) for mention in mentions}
    names += [name for name in candidates if name in on_screen or name in mentioned]
    return [name for name in dict.fromkeys(names) if len(name) <= MAX_NAME_CHARS][:MAX_CAST]


@dataclass(frozen=True, slots=True)
class _Mention:
    start: int
    end: int
    """After the name, and after its `'s` when possessive."""
    name: str
    possessive: bool


_NOT_WORD_CHAR = re.compile(r"\W")
_POSSESSIVE = re.compile(r"['\u2019]s(?!\w)")


def _find_mentions(texts: Sequence[str], names: Sequence[str]) -> list[list[_Mention]]:
    """Each text's mentions of each of `names`, in order, as searching it for that name alone would
    find them (`EDWARD` inside `YOUNG EDWARD` is a mention of both), in one scan of the text for
    all the names: wherever a name starts, the longest name there, then the shorter ones it begins
    with."""
    owners = _owners(names)
    if not owners:
        return [[] for _ in texts]
    starts = re.compile(rf"(?<![\w'\u2019])(?=({_alternatives(owners)})(?!\w))")
    nested: dict[str, list[tuple[int, str]]] = {}

    def names_in(longest: str) -> list[tuple[int, str]]:
        """(length, name) of each name `longest` begins with, ending where a word does; each
        name once, at its longest."""
        if longest not in nested:
            longest_of: dict[str, int] = {}
            for cut in (len(longest), *reversed([cut.start() for cut in _NOT_WORD_CHAR.finditer(longest)])):
                name = owners.get(longest[:cut])
                if name is not None:
                    longest_of.setdefault(name, cut)
            nested[longest] = [(cut, name) for name, cut in longest_of.items()]
        return nested[longest]

    found: list[list[_Mention]] = []
    for text in texts:
        in_text: list[_Mention] = []
        free_from: dict[str, int] = {}
        for match in starts.finditer(text):
            start = match.start()
            for length, name in names_in(match.group(1)):
                if start < free_from.get(name, 0):
                    continue
                end = start + length
                possessive = _POSSESSIVE.match(text, end)
                free_from[name] = end = possessive.end() if possessive else end
                in_text.append(_Mention(start, end, name, possessive is not None))
        found.append(in_text)
    return found


def _sentence_ends(text: str) -> Callable[[int], int]:
    """Where the sentence holding a position of `text` ends: found once for the whole text, so a
    long paragraph naming a character at every word is not searched again at each name."""
    starts = [match.start() for match in _SENTENCE_ENDS.finditer(text)]

    def end_after(pos: int) -> int:
        index = bisect_left(starts, pos)
        return starts[index] if index < len(starts) else len(text)

    return end_after


def _speeches_by_speaker(screenplay: Screenplay) -> dict[str, list[DialogueLine]]:
    """Every speech of the screenplay under its speaker's name, speakers in order of first line."""
    speeches: dict[str, list[DialogueLine]] = {}
    for scene in screenplay.scenes:
        for line in scene.dialogue:
            speeches.setdefault(_name_of(line), []).append(line)
    return speeches


def _stated_gender(name: str, intro: _Intro | None) -> Gender | None:
    """The gender the screenplay states: a noun of the introduction (`a tall man`), or a title (MRS)."""
    for word in re.findall(r"[a-z]+", " ".join(intro.descriptors).lower() if intro else ""):
        if word in _FEMALE_NOUNS:
            return "female"
        if word in _MALE_NOUNS:
            return "male"
    title = name.split()[0]
    if title in _FEMALE_TITLES:
        return "female"
    if title in _MALE_TITLES:
        return "male"
    return None


PRONOUN_WINDOW = 300
"""How far after a mention a pronoun may be and still be taken as that character's."""


def _pronoun_of(found: re.Match[str]) -> Gender:
    return "female" if found.group(1) else "male"


class _Pronouns:
    """Whose a pronoun after a mention can be, from one scan of each text: its pronouns, and its
    mentions of the cast as the prompts read them (the longest name wherever names overlap), with
    how many of each gender come before each one."""

    def __init__(
        self, actions: Sequence[str], names: Sequence[str], genders: Mapping[str, Gender | None]
    ) -> None:
        pattern = _name_pattern(names)
        owners = _owners(names)
        self.pronouns: list[list[tuple[int, int, Gender]]] = []
        self.starts: list[list[int]] = []
        self.before: list[dict[Gender | None, list[int]]] = []
        self.own: dict[str, dict[int, list[int]]] = {}
        """Per name, per text: the indexes of the name's own mentions among the text's."""
        for text_index, text in enumerate(actions):
            self.pronouns.append(
                [(found.start(), found.end(), _pronoun_of(found)) for found in _PRONOUN.finditer(text)]
            )
            scanned = (
                [(match.start(), owners[match.group(1)]) for match in pattern.finditer(text)]
                if pattern
                else []
            )
            self.starts.append([start for start, _ in scanned])
            counts: dict[Gender | None, list[int]] = {gender: [0] for gender in (None, "female", "male")}
            for index, (_, name) in enumerate(scanned):
                self.own.setdefault(name, {}).setdefault(text_index, []).append(index)
                for gender, running in counts.items():
                    running.append(running[-1] + int(genders[name] == gender))
            self.before.append(counts)

    def gender(self, name: str, mentions: Iterable[tuple[int, int]]) -> Gender | None:
        """The first pronoun after one of `name`'s mentions (text index, end) that can only be
        theirs: one with no other character mentioned in between, or only characters known to be
        of the other gender. `name`'s own gender is not stated (else there is nothing to find)."""
        for text, after in mentions:
            pronouns = self.pronouns[text]
            first = bisect_left(pronouns, (after,))
            if first == len(pronouns) or pronouns[first][1] > after + PRONOUN_WINDOW:
                continue
            start, _, gender = pronouns[first]
            low, high = bisect_left(self.starts[text], after), bisect_left(self.starts[text], start)
            kinds: tuple[Gender | None, ...] = (None, gender)
            unknown_or_same = sum(
                self.before[text][kind][high] - self.before[text][kind][low] for kind in kinds
            )
            own = self.own.get(name, {}).get(text, [])
            if unknown_or_same == bisect_left(own, high) - bisect_left(own, low):
                return gender
        return None


def _reflexive_gender(spoken: Sequence[DialogueLine]) -> Gender | None:
    """From one of a character's speeches marked `(to herself)` or `(to himself)`."""
    for line in spoken:
        if line.parenthetical:
            reflexive = re.search(r"\b(?:(herself)|(himself))\b", line.parenthetical, re.IGNORECASE)
            if reflexive:
                return "female" if reflexive.group(1) else "male"
    return None


@dataclass(frozen=True, slots=True)
class _Cast:
    people: dict[str, Character]
    intros: dict[int, list[tuple[int, int, str]]]
    """Per scene index: (start, end, name) of each character's introduction in its action."""


def _cast(screenplay: Screenplay) -> _Cast:
    actions = [_strip_controls(scene.action) for scene in screenplay.scenes]
    speeches = _speeches_by_speaker(screenplay)
    names = _people_names(speeches, actions)
    found: dict[str, _Intro | None] = dict.fromkeys(names)
    intros: dict[int, list[tuple[int, int, str]]] = {}
    mentions: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    for index, (text, in_text) in enumerate(zip(actions, _find_mentions(actions, names), strict=True)):
        sentence_end: Callable[[int], int] | None = None
        for mention in in_text:
            mentions[mention.name].append((index, mention.end))
            if mention.possessive or found[mention.name] is not None:
                continue
            sentence_end = sentence_end or _sentence_ends(text)
            intro = _parse_intro(text, mention.end, sentence_end)
            if intro:
                found[mention.name] = intro
                intros.setdefault(index, []).append((mention.start, intro.end, mention.name))
    stated = {name: _stated_gender(name, found[name]) for name in names}
    pronouns = _Pronouns(actions, names, stated)
    people: dict[str, Character] = {}
    for name in names:
        gender = (
            stated[name] or pronouns.gender(name, mentions[name]) or _reflexive_gender(speeches.get(name, []))
        )
        description, short = _describe(found[name], gender)
        people[name] = Character(name=name, description=description, short=short, gender=gender)
    return _Cast(_unnamed_descriptions(people), intros)


def _unnamed_descriptions(people: dict[str, Character]) -> dict[str, Character]:
    """A description that names another character (`JONAH's wife`) uses that character's short form."""
    pattern = _name_pattern(people)
    if pattern is None:
        return people
    owners = _owners(people)

    def short(match: re.Match[str]) -> str:
        return people[owners[match.group(1)]].short + (match.group(2) or "")

    return {
        name: Character(person.name, pattern.sub(short, person.description), person.short, person.gender)
        for name, person in people.items()
    }


def cast(screenplay: Screenplay) -> dict[str, Character]:
    """The characters prompts may mention, by name, described from the screenplay's own words.

    A character's first introduction in action text (`MARA (70s), wiry, in a conductor's coat,`
    or `MARA, 70s, a retired conductor,`) gives age and description; the nouns of that
    description, a title (MRS, MR…), the first pronoun after a mention, or a `(to herself)`
    parenthetical give the gender. With none of these a character is "a person".
    """
    return _cast(screenplay).people


# --- mentions: names become placeholders, rendered in prompt order ---------------------------------

_MARK = re.compile("\x00([0-9]+)([nps])\x01")
"""A mention of person N: `n` plain, `p` possessive, `s` short whatever comes before it. Control
characters are stripped from the screenplay's text first, so these never collide with it."""


_ORDINALS = ("", "other", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth")
"""Later mentions of people who share a noun: the man, the other man, the third man…"""


def _mark(index: int, kind: str) -> str:
    return f"\x00{index}{kind}\x01"


class _Mentions:
    """Names in text become placeholders; rendering a prompt's segments in order gives each person
    their full description at the first plain mention and the short form everywhere else."""

    def __init__(self, people: Mapping[str, Character]) -> None:
        self.people = list(people.values())
        self.pattern = _name_pattern([person.name for person in self.people])
        self.index = {
            variant: index
            for index, person in enumerate(self.people)
            for variant in _name_variants(person.name)
        }

    def mark(self, text: str, *, short: bool = False) -> str:
        if self.pattern is None:
            return text

        def placeholder(match: re.Match[str]) -> str:
            kind = "p" if match.group(2) else "s" if short else "n"
            return _mark(self.index[match.group(1)], kind)

        return self.pattern.sub(placeholder, text)

    def person(self, name: str) -> str:
        index = self.index.get(name)
        return "someone" if index is None else _mark(index, "n")

    def named(self, text: str) -> bool:
        return self.pattern is not None and self.pattern.search(text) is not None

    def first_named(self, text: str) -> str | None:
        """The character `text` names first (None: nobody the prompts describe)."""
        found = self.pattern.search(text) if self.pattern is not None else None
        return self.people[self.index[found.group(1)]].name if found else None

    def render(self, segments: Sequence[str]) -> list[str]:
        introduced: set[int] = set()
        described: set[str] = set()
        shorts: dict[int, str] = {}

        def short_of(index: int) -> str:
            if index not in shorts:
                base = self.people[index].short
                noun = base.removeprefix("the ")
                taken = sum(1 for other in shorts.values() if other.endswith(f" {noun}"))
                if not taken:
                    shorts[index] = base
                else:
                    shorts[index] = (
                        f"the {_ORDINALS[taken]} {noun}" if taken < len(_ORDINALS) else f"another {noun}"
                    )
            return shorts[index]

        def rendered(segment: str) -> str:
            def text_of(match: re.Match[str]) -> str:
                index, kind = int(match.group(1)), match.group(2)
                short = short_of(index)
                if kind == "n" and index not in introduced:
                    introduced.add(index)
                    text = self.people[index].description
                    if text in described:
                        text = re.sub(r"^an? ", "another ", text)
                    described.add(self.people[index].description)
                    if "," in text and re.match(r" \w", segment[match.end() : match.end() + 2]):
                        text += ","
                else:
                    text = short + ("'s" if kind == "p" else "")
                before = _last_visible(segment, match.start())
                return _capitalised(text) if not before or before in ".!?…" else text

            return _MARK.sub(text_of, segment)

        return [rendered(segment) for segment in segments]


# --- beats ----------------------------------------------------------------------------------------

MAX_EXTRA_BEATS = 6
"""Beats after the first sentence: a clip of a few seconds shows a handful of actions at most."""
MAX_QUOTE_WORDS = 6
"""A speech this short is quoted (Veo voices quoted lines); longer ones are shown, not quoted."""
_IGNORED_PARENTHETICALS = frozenset({"beat", "a beat", "pause", "cont'd", "continuing", "then"})


def _dialogue_beats(lines: Sequence[DialogueLine], mentions: _Mentions) -> dict[int, str]:
    """Beats for the speeches seen on screen, keyed by the index of their (first) line.

    A dual-dialogue pair is one beat: the two speak at the same time."""
    on_screen = [index for index, line in enumerate(lines) if _on_screen(line) and _name_of(line)]
    speakers = [_name_of(lines[index]) for index in on_screen]
    listeners = listeners_of(speakers)
    beats: dict[int, str] = {}
    position = 0
    while position < len(on_screen):
        line = lines[on_screen[position]]
        partner = lines[on_screen[position + 1]] if position + 1 < len(on_screen) else None
        if (
            line.dual
            and partner is not None
            and partner.dual
            and speakers[position + 1] != speakers[position]
        ):
            first, second = mentions.person(speakers[position]), mentions.person(speakers[position + 1])
            beats[on_screen[position]] = f"{first} and {second} speak at the same time."
            position += 2
            continue
        beats[on_screen[position]] = _speech(line, listeners[position], mentions)
        position += 1
    return beats


def _speech(line: DialogueLine, listener: str | None, mentions: _Mentions) -> str:
    words = _clean(line.text)
    if words.endswith("?"):
        bare, aimed = "asks", "asks {}"
    elif words.endswith("!"):
        bare, aimed = "calls out", "calls out to {}"
    else:
        bare, aimed = "speaks", "speaks to {}"
    phrase = aimed.format(mentions.person(listener)) if listener else bare
    aside = ""
    note = _clean(line.parenthetical or "").strip("()[] ")
    if note and not _is_negative(note) and note.lower() not in _IGNORED_PARENTHETICALS:
        note = mentions.mark(note)
        if not note.startswith("\x00") and not note.split()[0].isupper():
            note = note[:1].lower() + note[1:]
        if note.startswith("to "):
            phrase = f"{bare} {note}"
        elif re.fullmatch(r"[a-z]+ly", note):
            phrase = f"{note} {phrase}"
        else:
            aside = f", {note},"
    beat = f"{mentions.person(_name_of(line))}{aside} {phrase}"
    short_enough = 0 < len(words.split()) <= MAX_QUOTE_WORDS
    if short_enough and not _is_negative(words) and not mentions.named(words) and '"' not in words:
        return f'{beat}: "{_ended(words)}"'
    return f"{beat}."


def _script_beats(
    scene: Scene, action: str, mentions: _Mentions, speeches: Mapping[int, str]
) -> tuple[str | None, list[str]]:
    """(the first action sentence, the further beats in script order) with names as placeholders.

    Action sentences and speeches are interleaved as the scene's elements order them; negative
    sentences are left out of the further beats, and at most `MAX_EXTRA_BEATS` are kept."""
    paragraphs = _paragraphs(action)
    action_elements = sum(1 for element in scene.elements if element.type is ElementType.ACTION)
    speech_elements = sum(1 for element in scene.elements if element.type is ElementType.CHARACTER)
    sequence: list[tuple[bool, str]] = []
    if scene.elements and action_elements == len(paragraphs) and speech_elements == len(scene.dialogue):
        texts = iter(paragraphs)
        line = 0
        for element in scene.elements:
            if element.type is ElementType.ACTION:
                sequence.extend((True, sentence) for sentence in _sentences(next(texts)))
            elif element.type is ElementType.CHARACTER:
                if line in speeches:
                    sequence.append((False, speeches[line]))
                line += 1
    else:
        sequence = [(True, sentence) for paragraph in paragraphs for sentence in _sentences(paragraph)]
        sequence.extend((False, speeches[line]) for line in sorted(speeches))
    first = next((index for index, (is_action, _) in enumerate(sequence) if is_action), None)
    extra = [
        text
        for index, (_, text) in enumerate(sequence)
        if index != first and not _is_negative(_MARK.sub(" ", text))
    ]
    return (sequence[first][1] if first is not None else None), extra[:MAX_EXTRA_BEATS]


def _marked_action(text: str, intros: Sequence[tuple[int, int, str]], mentions: _Mentions) -> str:
    """Action text with names as placeholders; a character's introduction (`MARA (70s), wiry,`)
    becomes a plain mention, since the description it renders already says all that."""
    pieces: list[str] = []
    pos = 0
    for start, end, name in sorted(intros):
        if start < pos:
            continue
        pieces += [mentions.mark(text[pos:start]), mentions.person(name)]
        pos = end
    pieces.append(mentions.mark(text[pos:]))
    return "".join(pieces)


# --- choosing the camera --------------------------------------------------------------------------


def _camera_candidates(scene: Scene, new_location: bool) -> list[str]:
    """The set-ups that fit a scene, in order of preference (see `CAMERAS`)."""
    words = set(re.findall(r"[a-z]+", scene.action.lower()))
    on_screen = [line for line in scene.dialogue if _on_screen(line)]
    speakers = set(map(_name_of, on_screen))
    spoken_words = sum(len(line.text.split()) for line in on_screen)
    candidates = []
    if scene.int_ext is IntExt.EST or (scene.int_ext is IntExt.EXT and new_location):
        candidates.append("wide")
    if words & _TENSION:
        candidates.append("dutch")
    if words & _MOVEMENT:
        candidates.append("tracking")
    if len(speakers) >= 2:
        candidates.append("ots")
    monologue = len(speakers) == 1 and (len(on_screen) >= 2 or spoken_words >= len(scene.action.split()))
    if monologue or (len(speakers) <= 1 and words & _EMOTION):
        candidates.append("close-up")
    if words & _POWER:
        candidates.append("low")
    if words & _VULNERABLE:
        candidates.append("high")
    return candidates


def _choose_camera(candidates: Sequence[str], previous: str | None) -> str:
    """The first fitting set-up that differs from the previous scene's, else a general one."""
    return next(key for key in (*candidates, *_FALLBACK_CAMERAS) if key != previous)


_ALIASES_LONGEST_FIRST = sorted(_CAMERA_ALIASES, key=len, reverse=True)


def _camera_note(note: str | None, mentions: _Mentions) -> tuple[str, str] | None:
    """(key, text) for a `[[camera: …]]` note: a set-up's own name becomes its label; any other
    text is kept as written (names as placeholders), keyed by the set-up it starts with."""
    text = _clean(note or "").strip(" :;,.")
    if not text:
        return None
    alias = _collapse(text.lower().replace("-", " "))
    if alias in _CAMERA_ALIASES:
        camera = _CAMERA_BY_KEY[_CAMERA_ALIASES[alias]]
        return camera.key, camera.label
    key = next(
        (_CAMERA_ALIASES[known] for known in _ALIASES_LONGEST_FIRST if alias.startswith(f"{known} ")), alias
    )
    return key, _capitalised(mentions.mark(_possessed_after(_cut(text, MAX_CAMERA_UNITS), mentions)))


_POSSESSED_STOPS = _words(
    "in on at with as and or but while from to by of into onto through under over behind against near"
)
_WORD = re.compile(r"[^\W\d_][\w'\u2019-]*")


def _possessed_after(text: str, mentions: _Mentions) -> str:
    """A camera note's possessives turned round, so the person is described where the note first
    names them: `close-up on Jonah's eyes in the glass` → `close-up on the eyes of Jonah in the
    glass`, which renders as the person Jonah is introduced as, never "the man". A camera note is a
    noun phrase, so what is possessed runs to the next preposition, conjunction or punctuation."""
    if mentions.pattern is None:
        return text
    pieces: list[str] = []
    pos = 0
    for found in mentions.pattern.finditer(text):
        if found.start() < pos or not found.group(2):
            continue
        end = found.end()
        words: list[str] = []
        while len(words) < 4:
            word = _WORD.match(text, end + 1) if text[end : end + 1] == " " else None
            if word is None or word.group().lower() in _POSSESSED_STOPS:
                break
            words.append(word.group())
            end = word.end()
        if words:
            pieces += [text[pos : found.start()], f"the {' '.join(words)} of {found.group(1)}"]
            pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


# --- assembling the prompt ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Draft:
    """What a prompt may say, before it is fitted to the model's limit."""

    camera: str
    first: str
    beats: tuple[str, ...]
    lighting: str
    environment: str
    looks: tuple[str, ...]
    """The style's descriptors, then the quality descriptors."""


def _fit(draft: _Draft, mentions: _Mentions, limit: int) -> tuple[str, str]:
    """(prompt, camera as the prompt names it), the prompt within `limit` UTF-16 code units.

    Optional parts are added by priority while they fit: lighting, environment, the style, its
    detail, the quality descriptors, then the extra beats in order."""
    optional: list[tuple[str, int]] = [("lighting", 0)]
    optional += [("environment", 0)] if draft.environment else []
    optional += [("look", index) for index in range(len(draft.looks))]
    optional += [("beat", index) for index in range(len(draft.beats))]

    def render(chosen: set[tuple[str, int]]) -> tuple[str, str]:
        segments = [draft.camera, _ended(draft.first)]
        segments += [beat for index, beat in enumerate(draft.beats) if ("beat", index) in chosen]
        segments += [_ended(draft.lighting)] if ("lighting", 0) in chosen else []
        segments += [_ended(draft.environment)] if ("environment", 0) in chosen else []
        looks = [look for index, look in enumerate(draft.looks) if ("look", index) in chosen]
        segments += [f"Cinematic composition, {', '.join(looks)}."] if looks else []
        camera, *rest = mentions.render(segments)
        # A note is cut to MAX_CAMERA_UNITS before its people are described in it.
        camera = _cut(camera, MAX_CAMERA_UNITS + 2 * MAX_DESCRIPTION_UNITS).rstrip(" :;,.")
        return _collapse(f"{camera}: {' '.join(rest)}"), camera

    chosen: set[tuple[str, int]] = set()
    prompt, camera = render(chosen)
    if utf16_len(prompt) > limit:
        scene = _collapse(mentions.render([draft.camera, draft.first])[1])
        return f"{camera}: {_cut(scene, limit - utf16_len(camera) - 2)}", camera
    everything = render(set(optional))
    if utf16_len(everything[0]) <= limit:
        return everything  # the usual case: no need to try the parts one by one
    for part in optional:
        if part[0] == "look" and part[1] > 0 and ("look", 0) not in chosen:
            continue
        trial = render(chosen | {part})
        if utf16_len(trial[0]) <= limit:
            chosen.add(part)
            prompt, camera = trial
    return prompt, camera


# --- directing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Context:
    model: VideoModel
    style: StylePreset
    ratio: str
    mentions: _Mentions
    intros: Mapping[int, Sequence[tuple[int, int, str]]]


def direct(
    screenplay: Screenplay,
    *,
    model: str = DEFAULT_MODEL,
    style: str = DEFAULT_STYLE,
    ratio: str | None = None,
    length: Length = FULL,
    max_shots: int | None = None,
) -> list[Shot]:
    """Every scene's shots (see `coverage`), scene by scene in order. Raises UnknownModelError or
    InvalidOptionError on bad options.

    `ratio` defaults to the model's. A scene's `[[camera: …]]` note sets its master shot's camera,
    `[[style: …]]` its style, `[[duration: N]]` its length (the sum of its shots), and each
    `[[shot: …]]` note starts a shot filmed as it says. `length` cuts the film `full`, `short` or
    to a target number of seconds; `max_shots` bounds each scene's shots.
    """
    chosen = get_model(model)
    if max_shots is not None and not 1 <= max_shots <= MAX_SHOTS_PER_SCENE:
        raise InvalidOptionError(
            f"max shots must be from 1 to {MAX_SHOTS_PER_SCENE} a scene, not {max_shots}"
        )
    people = _cast(screenplay)
    context = _Context(
        model=chosen,
        style=get_style(style),
        ratio=check_ratio(chosen, chosen.default_ratio if ratio is None else ratio),
        mentions=_Mentions(people.people),
        intros=people.intros,
    )
    scale = 1.0
    if length.mode == "short":
        scale = SHORT_CUT_SHARE
        max_shots = min(max_shots or SHORT_CUT_MAX_SHOTS, SHORT_CUT_MAX_SHOTS)
    elif length.seconds is not None:
        scale = _scale_to(screenplay, context, length.seconds)
    shots: list[Shot] = []
    previous_camera: str | None = None
    previous_lighting: str | None = None
    seen_locations: set[str] = set()
    for index, scene in enumerate(screenplay.scenes):
        location = _location(scene)
        new_location = location.lower() not in seen_locations
        seen_locations.add(location.lower())
        covered, previous_camera = _cover(
            scene,
            index,
            context,
            _Setting(previous_camera, previous_lighting, location, new_location),
            scale=scale,
            max_shots=max_shots,
        )
        previous_lighting = covered[0].lighting
        shots.extend(covered)
    return shots


def _plan(scene: Scene, context: _Context, *, scale: float, max_shots: int | None) -> list[Planned]:
    texts = [
        paragraph if _sentences(paragraph) else "" for paragraph in _paragraphs(_strip_controls(scene.action))
    ]
    return plan_scene(
        scene,
        context.model,
        texts=texts,
        subject_of=context.mentions.first_named,
        name_of=_name_of,
        scale=scale,
        max_shots=max_shots,
    )


def _scale_to(screenplay: Screenplay, context: _Context, target: int) -> float:
    """How much every shot is stretched or condensed for the film to run `target` seconds: scenes
    whose `[[duration: N]]` note sets their length keep it."""
    fixed = flexible = 0.0
    for scene in screenplay.scenes:
        seconds = sum(shot.seconds for shot in _plan(scene, context, scale=1.0, max_shots=None))
        if scene.direction.duration is None:
            flexible += seconds
        else:
            fixed += seconds
    return max(target - fixed, 1.0) / flexible if flexible else 1.0


@dataclass(frozen=True, slots=True)
class _Setting:
    """What the scenes before say about this one."""

    previous_camera: str | None
    previous_lighting: str | None
    location: str
    new_location: bool


_KIND_LABELS = MappingProxyType(
    {
        ShotKind.SINGLE: "Close-up on {subject}",
        ShotKind.OVER_THE_SHOULDER: "Over-the-shoulder shot on {subject}",
        ShotKind.TWO_SHOT: "Two-shot of {subject} and {partner}",
        ShotKind.MEDIUM: "Medium shot on {subject}",
        ShotKind.INSERT: "Insert shot",
    }
)


def _cover(
    scene: Scene,
    index: int,
    context: _Context,
    setting: _Setting,
    *,
    scale: float,
    max_shots: int | None,
) -> tuple[list[Shot], str]:
    """The scene's shots, and the camera set-up of its master (the next scene takes another)."""
    mentions = context.mentions
    direction = scene.direction
    note = _camera_note(direction.camera, mentions)
    if note:
        camera_key, camera = note
    else:
        camera_key = _choose_camera(_camera_candidates(scene, setting.new_location), setting.previous_camera)
        camera = _CAMERA_BY_KEY[camera_key].label
    try:
        style = get_style(direction.style) if direction.style and direction.style.strip() else context.style
    except InvalidOptionError as error:
        raise InvalidOptionError(f"scene {scene.number}: {error}") from None
    lighting = lighting_for(scene.time_of_day, setting.previous_lighting)
    place = mentions.mark(setting.location, short=True)
    environment = _environment(scene, place)
    action = _marked_action(_strip_controls(scene.action), context.intros.get(index, ()), mentions)
    speeches = _dialogue_beats(scene.dialogue, mentions)
    first, beats = _script_beats(scene, action, mentions, speeches)
    fallback = place or mentions.mark(_clean(scene.heading), short=True) or "An empty room"
    if first is None:
        first, beats = (beats[0], beats[1:]) if beats else (fallback, [])
    looks = (*style.descriptors, *QUALITY_DESCRIPTORS)
    rendered_environment = mentions.render([environment])[0]
    marked = _paragraphs(action)
    raw = _paragraphs(_strip_controls(scene.action))
    if len(marked) != len(raw):
        marked = [mentions.mark(paragraph) for paragraph in raw]
    sentences: dict[int, list[str]] = {}

    def sentences_of(paragraph: int) -> list[str]:
        if paragraph not in sentences:
            sentences[paragraph] = _sentences(marked[paragraph])
        return sentences[paragraph]

    shots: list[Shot] = []
    for number, planned in enumerate(_plan(scene, context, scale=scale, max_shots=max_shots), start=1):
        shot_camera, shot_first, shot_beats = camera, first, beats
        if number > 1 or planned.note:
            shot_camera = _shot_camera(planned, mentions, camera)
            if number > 1:
                shot_first, shot_beats = _carried(
                    planned, sentences_of, speeches, fallback, context.model.prompt_limit
                )
        draft = _Draft(
            camera=shot_camera,
            first=shot_first,
            beats=tuple(shot_beats),
            lighting=lighting,
            environment=environment,
            looks=looks,
        )
        prompt, camera_text = _fit(draft, mentions, context.model.prompt_limit)
        shots.append(
            Shot(
                scene=scene.number,
                number=number,
                kind=planned.kind,
                lines=planned.lines,
                subject=planned.subject,
                camera=camera_text,
                lighting=lighting,
                environment=rendered_environment,
                style=style.name,
                prompt=prompt,
                duration=planned.duration,
                ratio=context.ratio,
                model=context.model.id,
                provider=context.model.provider,
            )
        )
    return shots, camera_key


def _shot_camera(planned: Planned, mentions: _Mentions, master_camera: str) -> str:
    """How a shot after the master is framed: its `[[shot: …]]` note, else its kind on its subject."""
    if planned.note:
        note = _camera_note(planned.note, mentions)
        if note:
            return note[1]
    if planned.kind is ShotKind.MASTER:
        return master_camera
    label = _KIND_LABELS[planned.kind]
    if planned.kind is ShotKind.OVER_THE_SHOULDER and planned.partner:
        label += ", from behind {partner}"
    subject = mentions.person(planned.subject) if planned.subject else "someone"
    if planned.kind in (ShotKind.SINGLE, ShotKind.MEDIUM) and not planned.subject:
        label = "Medium shot"
    partner = mentions.person(planned.partner) if planned.partner else "someone"
    return label.format(subject=subject, partner=partner)


def _carried(
    planned: Planned,
    sentences_of: Callable[[int], Sequence[str]],
    speeches: Mapping[int, str],
    fallback: str,
    limit: int,
) -> tuple[str, list[str]]:
    """(the first beat, the further ones) a shot after the master shows: its action sentences and
    its speeches seen on screen, positive ones only after the first. Each is cut to the prompt's
    limit before it is written out, so a paragraph filmed over many shots costs each of them
    no more than a prompt's worth."""
    carried: list[str] = []
    for paragraph in planned.paragraphs:
        carried += sentences_of(paragraph)[: MAX_EXTRA_BEATS + 1 - len(carried)]
    carried += [speeches[line] for line in planned.lines[: MAX_EXTRA_BEATS + 1] if line in speeches]
    if not carried:
        return fallback, []
    first, *rest = (_PARTIAL_MARK.sub("", _cut(text, limit)) for text in carried)
    extra = [text for text in rest if not _is_negative(_MARK.sub(" ", text))]
    return first, extra[:MAX_EXTRA_BEATS]


_PARTIAL_MARK = re.compile("\x00[0-9]*[nps]?$")
"""What is left of a person's placeholder cut at its end."""
