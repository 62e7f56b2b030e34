"""Dialogue split into speech requests within Runway's text limit, and a scene's ambience request."""

from __future__ import annotations

import typing

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runwayml.types import sound_effect_create_params, text_to_speech_create_params

from script_to_film.domain.audio_tasks import (
    SENTENCE_END,
    SOUND_PROMPT_LIMIT,
    SoundRequest,
    ambience_prompt,
    ambience_request,
    audio_generations,
    speech_pieces,
    speech_requests,
    split_text,
)
from script_to_film.domain.catalog import RUNWAY_VOICE_PRESETS, SOUND_MODEL, SPEECH_MODEL, utf16_len
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import IntExt, Scene

# Sentences of words, with punctuation, CJK and characters outside the BMP (two UTF-16 units).
_WORD = st.text(alphabet="abcdefghij😀好Ωé", min_size=1, max_size=12)
_SENTENCE = st.builds(
    lambda words, end, closer: " ".join(words) + end + closer,
    st.lists(_WORD, min_size=1, max_size=30),
    st.sampled_from([".", "!", "?", "…", "?!", "。", "！", ""]),
    st.sampled_from(["", '"', "’", ")"]),
)
_TEXT = st.builds(
    lambda sentences, joiner: joiner.join(sentences),
    st.lists(_SENTENCE, max_size=40),
    st.sampled_from([" ", "  ", "\n", " \t"]),
)


@settings(max_examples=400, deadline=None)
@given(text=st.one_of(_TEXT, st.text(max_size=400)), limit=st.integers(min_value=2, max_value=300))
def test_pieces_rejoin_to_the_text_each_within_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)

    assert "".join(pieces) == text
    assert all(piece and utf16_len(piece) <= limit for piece in pieces)


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, limit=st.integers(min_value=20, max_value=300))
def test_a_cut_falls_at_a_sentence_end_whenever_one_fits(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    start = 0
    for piece in pieces[:-1]:
        # The sentence ends a piece starting here could have been cut at, within the limit.
        fitting = [
            m.end()
            for m in SENTENCE_END.finditer(text, start)
            if start < m.end() and utf16_len(text[start : m.end()]) <= limit
        ]
        end = start + len(piece)
        if fitting:
            assert end == max(fitting), (piece, text[end : end + 10])
        start = end


def test_a_long_line_is_cut_after_its_last_sentence_that_fits() -> None:
    first = "The harbour was quiet that morning. " * 20  # 720 units
    second = "Nobody came. " * 30  # 390 units
    pieces = speech_pieces(first + second)

    assert len(pieces) == 2
    assert pieces[0].endswith("Nobody came.")
    assert utf16_len(pieces[0]) <= SPEECH_MODEL.prompt_limit
    assert " ".join(pieces) == (first + second).strip()


def test_text_without_sentence_ends_is_cut_between_words_then_at_the_limit() -> None:
    assert split_text("one two three four", 10) == ["one two", " three", " four"]
    assert split_text("abcdefghijkl", 5) == ["abcde", "fghij", "kl"]
    # An emoji is two units: it goes whole into the next piece rather than being halved.
    assert split_text("abcd😀", 5) == ["abcd", "😀"]


def test_a_line_within_the_limit_is_one_request_with_its_space_made_one() -> None:
    requests = speech_requests("  I never said\nthat.  ", "Maya")

    assert [(r.text, r.voice) for r in requests] == [("I never said that.", "Maya")]
    assert speech_requests("   ", "Maya") == []


def test_a_voice_that_is_not_a_runway_preset_is_refused() -> None:
    with pytest.raises(InvalidOptionError, match="preset voices"):
        speech_requests("Hello.", "alloy")


def test_the_presets_are_the_sdks_literal_list() -> None:
    for voice in (
        text_to_speech_create_params.ElevenMultilingualV2Voice,
        text_to_speech_create_params.ElevenV3Voice,
    ):
        hint = typing.get_type_hints(voice, include_extras=True)["preset_id"]
        literal = typing.get_args(typing.get_args(hint)[0])[0]
        assert typing.get_args(literal) == RUNWAY_VOICE_PRESETS
    assert len(RUNWAY_VOICE_PRESETS) == 49


def test_the_sound_models_range_is_the_sdks() -> None:
    doc = sound_effect_create_params.ElevenTextToSoundV2.__annotations__
    assert "duration" in doc and "loop" in doc
    assert (SOUND_MODEL.id, SOUND_MODEL.min_seconds, SOUND_MODEL.max_seconds) == (
        "eleven_text_to_sound_v2",
        0.5,
        30.0,
    )


def _scene(action: str = "", **fields: object) -> Scene:
    defaults: dict[str, object] = {
        "number": 3,
        "heading": "EXT. HARBOUR - NIGHT",
        "int_ext": IntExt.EXT,
        "location": "HARBOUR",
        "time_of_day": "NIGHT",
        "estimated_seconds": 40,
    }
    return Scene.model_validate({**defaults, **fields, "action": action})


def test_the_ambience_describes_the_place_the_time_and_the_action() -> None:
    prompt = ambience_prompt(_scene("Rain drums on the tin roofs. A foghorn sounds."))

    assert prompt == (
        "Ambient sound of harbour, outdoors, night, no music, no speech. "
        "Rain drums on the tin roofs. A foghorn sounds."
    )


def test_a_long_action_is_shortened_at_a_sentence_end() -> None:
    prompt = ambience_prompt(_scene("Waves break on the pier. " * 40))

    assert utf16_len(prompt) <= SOUND_PROMPT_LIMIT
    assert prompt.endswith("pier.")


@pytest.mark.parametrize(("seconds", "duration"), [(40, 30.0), (12.34, 12.3), (0.2, 0.5)])
def test_the_ambience_is_a_loop_within_the_models_range(seconds: float, duration: float) -> None:
    request = ambience_request(_scene(), seconds)

    assert request == SoundRequest(prompt=ambience_prompt(_scene()), duration=duration, loop=True)


def test_a_sound_longer_than_the_model_makes_cannot_be_asked_for() -> None:
    with pytest.raises(ValueError, match="less than or equal to 30"):
        SoundRequest(prompt="rain", duration=30.5)


def test_the_generations_a_films_sound_takes_per_model() -> None:
    long_line = "Nobody came that night. " * 60  # two tasks
    scenes = [
        _scene(dialogue=[{"character": "MARA", "text": "Hello."}, {"character": "JONAH", "text": long_line}]),
        _scene(number=4),
    ]

    assert audio_generations(scenes) == {"eleven_multilingual_v2": 3, "eleven_text_to_sound_v2": 2}
    assert audio_generations([]) == {}


@settings(max_examples=200, deadline=None)
@given(
    location=st.text(max_size=300),
    action=st.text(max_size=2000),
    time_of_day=st.one_of(st.none(), st.text(max_size=40)),
)
def test_any_scene_gets_a_sound_prompt_runway_accepts(
    location: str, action: str, time_of_day: str | None
) -> None:
    prompt = ambience_prompt(_scene(action, location=location, time_of_day=time_of_day))

    assert prompt.strip() == prompt and prompt
    assert utf16_len(prompt) <= SOUND_PROMPT_LIMIT
    SoundRequest(prompt=prompt, duration=SOUND_MODEL.max_seconds, loop=True)
