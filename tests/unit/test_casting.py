"""Casting: one voice per speaking character, from the screenplay's words, the same in every run,
overridable by a note or the `voices` option, and a catalogue that serves both speech engines."""

from __future__ import annotations

import subprocess
import sys
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError
from runwayml.types import text_to_speech_create_params as tts

from script_to_film.domain import casting, options, screenplay
from script_to_film.domain.casting import AgeBand, VoiceSource
from script_to_film.domain.errors import InvalidOptionError

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """Title: Platforms

INT. STATION CAFE - NIGHT

MARA (70s), a retired conductor in a faded coat, stirs her tea. JONAH (30s), a nervous man, sits.

LILY (8), a girl with a kite, runs past. TOMAS, 20, a young man in a porter's cap, sweeps.

MARA
The last train left an hour ago.

JONAH
Then I'll wait.

LILY
Can I come too?

TOMAS
Nobody waits here.

RADIO (V.O.)
The eleven fifteen is cancelled.
"""


def parsed(text: str = SCRIPT) -> screenplay.Screenplay:
    return screenplay.parse(text)


def test_every_speaker_gets_a_voice_of_the_kind_their_introduction_says() -> None:
    members = {member.character: member for member in casting.cast_members(parsed())}
    assert list(members) == ["MARA", "JONAH", "LILY", "TOMAS", "RADIO"], "in order of first speech"
    mara, jonah, lily, tomas = (members[name].voice for name in ("MARA", "JONAH", "LILY", "TOMAS"))
    assert (mara.gender, mara.age_band) == ("female", AgeBand.OLD)
    assert (jonah.gender, jonah.age_band) == ("male", AgeBand.ADULT)
    assert lily.age_band is AgeBand.CHILD
    assert (tomas.gender, tomas.age_band) == ("male", AgeBand.YOUNG)
    assert members["RADIO"].voice.auto, "a voice of unknown gender is still a human one"
    assert {member.source for member in members.values()} == {VoiceSource.SCREENPLAY}


def test_distinct_characters_get_distinct_voices_while_the_catalogue_has_them() -> None:
    names = [f"WOMAN {n}" for n in range(1, 24)]
    intro = " ".join(f"{name} (40s), a woman," for name in names)
    speeches = "\n\n".join(f"{name}\nLine {i}." for i, name in enumerate(names))
    cast = casting.cast_voices(parsed(f"INT. HALL - DAY\n\n{intro}\n\n{speeches}\n"))
    assert len({voice.id for voice in cast.values()}) == len(names) == 23
    assert all(voice.gender == "female" for voice in cast.values())


def test_a_crowd_larger_than_the_catalogue_shares_voices_evenly() -> None:
    names = [f"MAN {n}" for n in range(1, 31)]
    intro = " ".join(f"{name} (40s), a man," for name in names)
    speeches = "\n\n".join(f"{name}\nLine {i}." for i, name in enumerate(names))
    cast = casting.cast_voices(parsed(f"INT. HALL - DAY\n\n{intro}\n\n{speeches}\n"))
    uses: dict[str, int] = {}
    for voice in cast.values():
        uses[voice.id] = uses.get(voice.id, 0) + 1
    assert len(uses) == 22, "every man's voice is used before any is shared"
    assert max(uses.values()) == 2


def test_the_cast_is_the_same_in_another_process() -> None:
    """`hash()` is salted per process; the choice must not depend on it."""
    code = (
        "import sys; from script_to_film.domain import casting, screenplay; "
        "print({n: v.id for n, v in casting.cast_voices(screenplay.parse(sys.stdin.read())).items()})"
    )
    runs = {
        subprocess.run(
            [sys.executable, "-c", code],
            input=SCRIPT,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(runs) == 1, runs
    assert runs.pop().strip() == str({n: v.id for n, v in casting.cast_voices(parsed()).items()})


def test_a_note_and_the_option_override_the_choice_and_the_option_wins() -> None:
    text = SCRIPT.replace("INT.", "[[voice mara: Maya]]\n\nINT.") + "\n[[voice JONAH: en-m-3]]\n"
    assert parsed(text).title == "Platforms", "a note before the first heading is not part of the title page"
    members = {m.character: m for m in casting.cast_members(parsed(text), {"Jonah": "en-m-5"})}
    assert members["MARA"].voice.id == "en-f-1" and members["MARA"].source is VoiceSource.NOTE
    assert members["JONAH"].voice.id == "en-m-5" and members["JONAH"].source is VoiceSource.OPTION
    others = [m.voice.id for name, m in members.items() if name not in ("MARA", "JONAH")]
    assert "en-f-1" not in others and "en-m-5" not in others, "a chosen voice is not cast twice"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"MARA": "en-f-99"}, "unknown voice 'en-f-99'"), ({"NOBODY": "en-f-1"}, "no character of that name")],
)
def test_an_unusable_override_is_refused_with_what_would_do(overrides: dict[str, str], message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        casting.cast_voices(parsed(), overrides)


def test_the_voices_option_refuses_an_unknown_voice_before_anything_runs() -> None:
    assert options.VideoOptions(voices={"MARA": "maya"}).voices == {"MARA": "maya"}
    with pytest.raises(ValidationError, match="unknown voice 'robot-9'"):
        options.VideoOptions(voices={"MARA": "robot-9"})


def test_the_catalogue_holds_exactly_runways_presets_once_each() -> None:
    hint = typing.get_type_hints(tts.ElevenV3Voice, include_extras=True)["preset_id"]
    while typing.get_origin(hint) is not typing.Literal:  # Required[Annotated[Literal[...], ...]]
        hint = typing.get_args(hint)[0]
    literal = typing.get_args(hint)
    assert len(literal) == len(set(literal)) == 49
    assert sorted(voice.runway_preset for voice in casting.VOICES.values()) == sorted(literal)


def test_voices_sharing_a_kind_differ_on_the_offline_engine() -> None:
    offline = [(v.espeak_variant, v.espeak_pitch, v.espeak_range) for v in casting.VOICES.values()]
    assert len(set(offline)) == len(offline)


@pytest.mark.parametrize(
    ("description", "band"),
    [
        ("a woman in her 70s, wiry", AgeBand.OLD),
        ("a man in his early thirties", AgeBand.ADULT),
        ("a girl aged 8", AgeBand.CHILD),
        ("a teenage boy aged 15", AgeBand.YOUNG),
        ("a person", AgeBand.ADULT),
        ("an elderly man", AgeBand.OLD),
    ],
)
def test_the_age_band_comes_from_the_description(description: str, band: AgeBand) -> None:
    assert casting.age_band(description) is band


def test_the_manifest_lists_each_character_with_both_engines_voices() -> None:
    listed = casting.manifest_cast(casting.cast_members(parsed(), {"MARA": "en-f-2"}))
    assert listed[0] == {
        "character": "MARA",
        "voice": "en-f-2",
        "runway_preset": "Serene",
        "gender": "female",
        "age_band": "adult",
        "source": "option",
    }
