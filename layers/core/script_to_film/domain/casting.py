"""Casting: one voice for each speaking character, for the whole film, on either speech engine.

A voice id (`en-f-2`) names one voice of the catalogue below, and each voice has what both
engines need: eSpeak NG parameters for the offline animatic (a variant, pitch, pitch range and
rate) and a Runway preset (`presetId` of its `text_to_speech` models). The catalogue holds one
voice per Runway preset, 49 in all: 23 women's, 22 men's, a child-like one and three creature
voices (`en-x-*`) that only an override chooses. Runway describes its presets by name alone, so
the gender and age band given to each is a judgement from that name, heard on the offline engine
as the parameters below.

A character's voice comes from the screenplay's own words, as `director.cast` reads them (the
gender and age in a character's introduction), then from their order of first speech, so the
same screenplay casts the same voices in every run and every process (`hashlib`, never `hash()`,
which is salted per process). Distinct characters get distinct voices while the catalogue has an
unused one of the right kind. A `[[voice MARA: en-f-2]]` note, or the `voices` option, overrides
the choice; either may name a voice id or a Runway preset (`Maya`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from script_to_film.domain import director
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import Screenplay

Gender = Literal["female", "male"]


class AgeBand(StrEnum):
    CHILD = "child"
    YOUNG = "young"
    ADULT = "adult"
    OLD = "old"


class VoiceSource(StrEnum):
    """Where a character's voice came from, as the manifest reports it."""

    SCREENPLAY = "screenplay"
    """Chosen from the character's introduction (gender, age) and order of first speech."""
    NOTE = "note"
    """A `[[voice NAME: id]]` note in the screenplay."""
    OPTION = "option"
    """The `voices` option of the request (it wins over a note)."""


class Voice(BaseModel):
    """One voice, as each speech engine makes it."""

    model_config = ConfigDict(frozen=True)

    id: str
    gender: Gender | None
    age_band: AgeBand
    runway_preset: str
    espeak_variant: str = Field(description="an eSpeak NG voice variant (`f3`, `m2`, `grandma`)")
    espeak_pitch: int = Field(ge=0, le=100, description="eSpeak NG pitch, 50 is the variant's own")
    espeak_range: int = Field(ge=0, le=100, description="eSpeak NG pitch range, 50 is the variant's own")
    espeak_rate: int = Field(ge=80, le=450, description="words per minute")
    auto: bool = True
    """False for the creature voices, which casting never picks by itself."""


class CastMember(BaseModel):
    """A speaking character and their voice, as the manifest lists them."""

    model_config = ConfigDict(frozen=True)

    character: str
    voice: Voice
    source: VoiceSource


Cast = dict[str, Voice]
"""Speaking character (as their dialogue cues name them) → voice."""


# The catalogue --------------------------------------------------------------------------------

_RATE = {AgeBand.CHILD: 185, AgeBand.YOUNG: 180, AgeBand.ADULT: 168, AgeBand.OLD: 145}
_PITCH = {AgeBand.CHILD: 90, AgeBand.YOUNG: 62, AgeBand.ADULT: 48, AgeBand.OLD: 38}
_VARIANTS: Mapping[tuple[Gender | None, AgeBand], tuple[str, ...]] = MappingProxyType(
    {
        ("female", AgeBand.YOUNG): ("f5", "f2", "f4", "Annie"),
        ("female", AgeBand.ADULT): ("f1", "f2", "f3", "f4", "f5"),
        ("female", AgeBand.OLD): ("grandma", "f1", "f3"),
        ("male", AgeBand.YOUNG): ("m3", "m2", "m6"),
        ("male", AgeBand.ADULT): ("m1", "m2", "m3", "m4", "m5", "m7"),
        ("male", AgeBand.OLD): ("grandpa", "m1", "m7"),
        (None, AgeBand.CHILD): ("f5",),
        (None, AgeBand.ADULT): ("croak", "klatt3", "whisper"),
    }
)
_PITCH_STEPS = (0, 16, -10, 8, -16, 24)
"""Pitch offsets from the band's pitch, voice by voice within a kind: with the variants (whose
formants differ) they set apart voices of one kind; past six voices the pitch range moves too."""

_PRESETS: tuple[tuple[Gender | None, AgeBand, tuple[str, ...]], ...] = (
    ("female", AgeBand.ADULT, ("Maya", "Serene", "Leslie", "Sandra", "Lisa", "Rachel", "Claudia", "Paula")),
    ("female", AgeBand.ADULT, ("Miriam",)),
    ("female", AgeBand.YOUNG, ("Lara", "Kylie", "Katie", "Ella", "Niki", "Kiana", "Rina", "Mariah")),
    ("female", AgeBand.OLD, ("Eleanor", "Mabel", "Marlene", "Myrna", "Wanda", "Maggie")),
    ("male", AgeBand.ADULT, ("Mark", "James", "Arjun", "Elias", "Kirk", "Martin", "Vincent", "Clint")),
    ("male", AgeBand.ADULT, ("Ragnar", "Malachi", "Tom")),
    ("male", AgeBand.YOUNG, ("Noah", "Billy", "Chad", "Elliot", "Brodie", "Kendrick", "Jack")),
    ("male", AgeBand.OLD, ("Bernard", "Frank", "Rusty", "Benjamin")),
    (None, AgeBand.CHILD, ("Pip",)),
    (None, AgeBand.ADULT, ("Grungle", "Monster", "Xylar")),
)
"""Runway's 49 presets (the `presetId` literal of the SDK's text-to-speech types), grouped by the
kind of voice each name suggests; a test holds this list equal to the installed SDK's."""


def _catalogue() -> dict[str, Voice]:
    voices: dict[str, Voice] = {}
    counters: dict[str, int] = {}
    seen: dict[tuple[Gender | None, AgeBand], int] = {}
    for gender, band, presets in _PRESETS:
        letter = {"female": "f", "male": "m", None: "c" if band is AgeBand.CHILD else "x"}[gender]
        variants = _VARIANTS[(gender, band)]
        for preset in presets:
            counters[letter] = counters.get(letter, 0) + 1
            index = seen.get((gender, band), 0)
            seen[(gender, band)] = index + 1
            step = _PITCH_STEPS[index % len(_PITCH_STEPS)]
            voice_id = f"en-{letter}-{counters[letter]}"
            voices[voice_id] = Voice(
                id=voice_id,
                gender=gender,
                age_band=band,
                runway_preset=preset,
                espeak_variant=variants[index % len(variants)],
                espeak_pitch=max(0, min(100, _PITCH[band] + step)),
                espeak_range=50 + 12 * (index // len(_PITCH_STEPS)),
                espeak_rate=_RATE[band] - 4 * (index % 3),
                auto=letter != "x",
            )
    return voices


VOICES: Mapping[str, Voice] = MappingProxyType(_catalogue())
"""Every voice, by id, in catalogue order."""
_BY_PRESET = MappingProxyType({voice.runway_preset.lower(): voice for voice in VOICES.values()})


def voice(name: str) -> Voice:
    """The voice a user names: a voice id (`en-f-2`) or a Runway preset (`Maya`), any case."""
    key = name.strip().lower()
    found = VOICES.get(key) or _BY_PRESET.get(key)
    if found is None:
        raise InvalidOptionError(
            f"unknown voice {name!r}: use a voice id (en-f-1…en-f-{_count('f')}, en-m-1…en-m-{_count('m')}, "
            f"en-c-1, en-x-1…en-x-{_count('x')}) or a Runway preset name such as Maya"
        )
    return found


def _count(letter: str) -> int:
    return sum(1 for voice_id in VOICES if voice_id.startswith(f"en-{letter}-"))


# Casting --------------------------------------------------------------------------------------

_VOICE_NOTE = re.compile(r"\s*voice\s+(?P<name>[^:\n]+?)\s*:\s*(?P<voice>\S+)\s*", re.IGNORECASE)
"""`[[voice MARA: en-f-2]]` (or a preset: `[[voice MARA: Maya]]`), in any scene."""
_DECADE_WORDS = {
    "teens": 15,
    "twenties": 20,
    "thirties": 30,
    "forties": 40,
    "fifties": 50,
    "sixties": 60,
    "seventies": 70,
    "eighties": 80,
    "nineties": 90,
}
_YEARS = re.compile(r"\baged (\d{1,3})\b|\bin (?:her|his|their) (?:(?:early|mid|late)[- ])?(\d{1,2})0s\b")
_DECADE = re.compile(
    r"\bin (?:her|his|their) (?:(?:early|mid|late)[- ])?(" + "|".join(_DECADE_WORDS) + r")\b"
)
_CHILD_WORDS = re.compile(r"\b(?:girl|boy|child|kid|toddler|baby)\b")
_YOUNG_WORDS = re.compile(r"\b(?:teenage|teenager|young|youthful|student)\b")
_OLD_WORDS = re.compile(r"\b(?:old|elderly|aged|ageing|aging|grey-haired|gray-haired|wizened|retired)\b")


def age_band(description: str) -> AgeBand:
    """The age band a character's description (as `director.cast` writes it) suggests."""
    text = description.lower()
    years: int | None = None
    if match := _YEARS.search(text):
        years = int(match.group(1)) if match.group(1) else int(match.group(2)) * 10
    elif match := _DECADE.search(text):
        years = _DECADE_WORDS[match.group(1)]
    if years is not None:
        if years < 13:
            return AgeBand.CHILD
        return AgeBand.YOUNG if years < 30 else AgeBand.ADULT if years < 60 else AgeBand.OLD
    if _CHILD_WORDS.search(text) and not _YOUNG_WORDS.search(text):
        return AgeBand.CHILD
    if _YOUNG_WORDS.search(text):
        return AgeBand.YOUNG
    if _OLD_WORDS.search(text):
        return AgeBand.OLD
    return AgeBand.ADULT


def speakers(screenplay: Screenplay) -> list[str]:
    """Everyone who speaks, as their dialogue cues name them, in order of first speech."""
    return list(dict.fromkeys(line.character for scene in screenplay.scenes for line in scene.dialogue))


def voice_notes(screenplay: Screenplay) -> dict[str, str]:
    """The `[[voice NAME: id]]` notes, by character name in capitals; a later note wins."""
    notes = [*screenplay.notes, *(note for scene in screenplay.scenes for note in scene.notes)]
    found: dict[str, str] = {}
    for note in notes:
        if match := _VOICE_NOTE.fullmatch(note):
            found[_key(match.group("name"))] = match.group("voice")
    return found


def _key(name: str) -> str:
    return " ".join(name.split()).upper()


_AGE_ORDER = (AgeBand.CHILD, AgeBand.YOUNG, AgeBand.ADULT, AgeBand.OLD)


def _preferences(gender: Gender | None, band: AgeBand) -> list[list[Voice]]:
    """Groups of voices to choose from, best first: the same gender and age band, then the same
    gender at the nearest age bands, then (for a child) the child voice; a character of no known
    gender takes any adult voice."""
    pool = [voice for voice in VOICES.values() if voice.auto]
    if gender is None and band is not AgeBand.CHILD:
        return [[v for v in pool if v.age_band is band], [v for v in pool if v.gender is not None]]
    if band is AgeBand.CHILD:
        child = [v for v in pool if v.age_band is AgeBand.CHILD]
        young = [v for v in pool if v.age_band is AgeBand.YOUNG and (gender is None or v.gender == gender)]
        return [child, young]
    position = _AGE_ORDER.index(band)
    by_distance = sorted(
        (b for b in _AGE_ORDER if b is not AgeBand.CHILD), key=lambda b: abs(_AGE_ORDER.index(b) - position)
    )
    return [[v for v in pool if v.gender == gender and v.age_band is b] for b in by_distance]


def _stable_index(name: str, size: int) -> int:
    """Where in a group a character's search starts: from the name, the same in every process."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % size


def _choose(name: str, groups: Iterable[list[Voice]], used: Mapping[str, int]) -> Voice:
    groups = [group for group in groups if group]
    for group in groups:
        start = _stable_index(name, len(group))
        for offset in range(len(group)):
            candidate = group[(start + offset) % len(group)]
            if candidate.id not in used:
                return candidate
    # Every voice of the right kind is taken: share the least used one of the best group.
    best = groups[0]
    start = _stable_index(name, len(best))
    rotated = best[start:] + best[:start]
    return min(rotated, key=lambda candidate: used.get(candidate.id, 0))


def cast_members(screenplay: Screenplay, overrides: Mapping[str, str] | None = None) -> list[CastMember]:
    """Each speaking character's voice and where it came from, in order of first speech.

    `overrides` (the `voices` option) maps a character, in any case, to a voice id or preset; it
    wins over a `[[voice …]]` note. An override for nobody who speaks, or an unknown voice, is an
    `InvalidOptionError`."""
    names = speakers(screenplay)
    by_key = {_key(name): name for name in names}
    chosen: dict[str, tuple[Voice, VoiceSource]] = {}
    for source, wanted in (
        (VoiceSource.NOTE, voice_notes(screenplay)),
        (VoiceSource.OPTION, overrides or {}),
    ):
        for who, voice_name in wanted.items():
            name = by_key.get(_key(who))
            if name is None:
                spoken = ", ".join(names) or "nobody"
                where = "note" if source is VoiceSource.NOTE else "option"
                raise InvalidOptionError(
                    f"voice {where} for {who!r}: no character of that name speaks (speaking: {spoken})"
                )
            chosen[name] = (voice(voice_name), source)
    used: dict[str, int] = {}
    for picked, _ in chosen.values():
        used[picked.id] = used.get(picked.id, 0) + 1
    people = director.cast(screenplay)
    described = {_key(person.name): person for person in people.values()}
    members: list[CastMember] = []
    for name in names:
        if name in chosen:
            picked, source = chosen[name]
        else:
            person = described.get(_key(name))
            gender = person.gender if person else None
            band = age_band(person.description) if person else AgeBand.ADULT
            picked, source = _choose(name, _preferences(gender, band), used), VoiceSource.SCREENPLAY
            used[picked.id] = used.get(picked.id, 0) + 1
        members.append(CastMember(character=name, voice=picked, source=source))
    return members


def cast_voices(screenplay: Screenplay, overrides: Mapping[str, str] | None = None) -> Cast:
    """Each speaking character's voice (see `cast_members`)."""
    return {member.character: member.voice for member in cast_members(screenplay, overrides)}


def manifest_cast(members: Iterable[CastMember]) -> list[dict[str, str]]:
    """The cast list as the manifest shows it."""
    return [
        {
            "character": member.character,
            "voice": member.voice.id,
            "runway_preset": member.voice.runway_preset,
            "gender": member.voice.gender or "any",
            "age_band": member.voice.age_band.value,
            "source": member.source.value,
        }
        for member in members
    ]


def check_voices(voices: dict[str, str] | None) -> dict[str, str] | None:
    """`voices` as given, if every voice is known; ValueError naming one that is not (for a
    pydantic validator: the API answers 422, the CLI exit 2)."""
    for name in (voices or {}).values():
        try:
            voice(name)
        except InvalidOptionError as error:
            raise ValueError(str(error)) from None
    return voices
