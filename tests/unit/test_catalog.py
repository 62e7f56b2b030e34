"""The model catalog: today's Runway models, the free animatic, and the helpers around them."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from script_to_film.domain import catalog
from script_to_film.domain.catalog import (
    DEFAULT_MODEL,
    DEFAULT_RATIO,
    USD_PER_CREDIT,
    Endpoint,
    check_ratio,
    default_model,
    get_image_model,
    get_model,
    models_for,
    nearest_duration,
    utf16_len,
)
from script_to_film.domain.errors import InvalidInputError, InvalidOptionError, UnknownModelError

TEXT, IMAGE = Endpoint.TEXT_TO_VIDEO, Endpoint.IMAGE_TO_VIDEO
SIX_IMAGE_RATIOS = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")


def test_defaults() -> None:
    assert DEFAULT_MODEL == "gen4.5"
    assert DEFAULT_RATIO == "1280:720"
    assert Decimal("0.01") == USD_PER_CREDIT
    assert default_model().id == "gen4.5"
    assert default_model("runway").id == "gen4.5"
    assert default_model("animatic").id == "animatic"


def test_the_catalog_holds_todays_video_models() -> None:
    assert set(catalog.MODELS) == {"gen4.5", "veo3.1", "veo3.1_fast", "gen4_turbo", "animatic"}
    assert [model.id for model in models_for("runway")] == ["gen4.5", "veo3.1", "veo3.1_fast", "gen4_turbo"]
    assert [model.id for model in models_for("animatic")] == ["animatic"]
    for model in catalog.MODELS.values():
        assert model.prompt_limit == 1000
        assert model.default_ratio in model.ratios
        assert list(model.durations) == sorted(model.durations)


def test_gen45_serves_both_endpoints_with_different_ratios() -> None:
    model = get_model("gen4.5")
    assert model.endpoints == (TEXT, IMAGE)
    assert model.endpoint is TEXT
    assert model.ratios_for(TEXT) == ("1280:720", "720:1280")
    assert model.ratios_for(IMAGE) == SIX_IMAGE_RATIOS
    assert model.durations == tuple(range(2, 11))
    assert model.credits_per_second == 12
    assert not model.needs_keyframe


@pytest.mark.parametrize("model_id", ["veo3.1", "veo3.1_fast"])
def test_veo_makes_four_six_or_eight_seconds(model_id: str) -> None:
    model = get_model(model_id)
    assert model.durations == (4, 6, 8)
    assert model.ratios_for(TEXT) == ("1280:720", "720:1280", "1080:1920", "1920:1080")
    assert model.endpoints == (TEXT, IMAGE)


def test_gen4_turbo_only_animates_an_image() -> None:
    model = get_model("gen4_turbo")
    assert model.endpoints == (IMAGE,)
    assert model.ratios == SIX_IMAGE_RATIOS
    assert model.needs_keyframe
    with pytest.raises(InvalidOptionError, match="no text_to_video endpoint"):
        model.ratios_for(TEXT)


def test_the_animatic_is_free_and_offline() -> None:
    model = get_model("animatic")
    assert (model.provider, model.endpoint, model.credits_per_second) == ("animatic", TEXT, 0)
    assert model.ratios == ("1280:720", "720:1280", "960:960", "1920:1080", "1080:1920")
    assert model.durations == tuple(range(2, 11))


def test_prices_are_credits_per_second() -> None:
    prices = {model_id: get_model(model_id).credits_per_second for model_id in catalog.MODELS}
    assert prices == {"gen4.5": 12, "veo3.1": 20, "veo3.1_fast": 10, "gen4_turbo": 5, "animatic": 0}


def test_veo_costs_more_with_its_own_sound_and_no_other_model_makes_any() -> None:
    with_sound = {m.id: m.credits_for_second(audio=True) for m in catalog.MODELS.values() if m.makes_audio}
    assert with_sound == {"veo3.1": 40, "veo3.1_fast": 15}


def test_voice_and_sound_prices() -> None:
    assert (catalog.SPEECH_MODEL.id, catalog.SPEECH_MODEL.endpoint) == (
        "eleven_multilingual_v2",
        "text_to_speech",
    )
    assert [catalog.SPEECH_MODEL.credits_for(text) for text in ("a", "a" * 50, "a" * 51, "😀" * 25)] == [
        1,
        1,
        2,
        1,
    ]
    assert (catalog.SOUND_MODEL.endpoint, catalog.SOUND_MODEL.credits_per_sound) == ("sound_effect", 2)


def test_the_keyframe_model_is_priced_per_image_and_kept_apart() -> None:
    image = get_image_model("gen4_image")
    assert image.endpoint is Endpoint.TEXT_TO_IMAGE
    assert image.credits_for("1280:720") == 5
    assert image.credits_for("1920:1080") == 8
    assert "1080:1080" in image.ratios
    assert "gen4_image" not in catalog.MODELS
    with pytest.raises(UnknownModelError, match="keyframe images, not video"):
        get_model("gen4_image")
    with pytest.raises(UnknownModelError):
        get_image_model("dall-e")


def test_models_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        get_model("gen4.5").credits_per_second = 1  # type: ignore[misc]


def test_lookup_ignores_case_and_spaces() -> None:
    assert get_model("  GEN4.5 ").id == "gen4.5"


def test_an_unknown_model_lists_the_known_ones() -> None:
    with pytest.raises(UnknownModelError) as raised:
        get_model("sora")
    message = str(raised.value)
    assert "'sora'" in message
    for model_id in catalog.MODELS:
        assert model_id in message
    assert isinstance(raised.value, InvalidInputError)


def test_gen3a_turbo_is_refused_as_retired() -> None:
    with pytest.raises(UnknownModelError, match="retired") as raised:
        get_model("gen3a_turbo")
    assert "gen4.5" in str(raised.value)


def test_an_unknown_provider() -> None:
    with pytest.raises(UnknownModelError, match="runway, animatic"):
        models_for("luma")
    with pytest.raises(UnknownModelError):
        default_model("luma")


def test_utf16_len_counts_astral_characters_twice() -> None:
    assert utf16_len("") == 0
    assert utf16_len("abc") == 3
    assert utf16_len("é") == 1
    assert utf16_len("🎬") == 2
    assert utf16_len("a🎬b") == 4
    assert utf16_len("👩‍👩‍👧") == 8  # three astral people joined by two zero-width joiners
    text = "plain, accentué, 漢字 and 🎞️🎬"
    assert utf16_len(text) == len(text.encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("model_id", "seconds", "expected"),
    [
        ("gen4.5", 1, 2),
        ("gen4.5", 2, 2),
        ("gen4.5", 6, 6),
        ("gen4.5", 6.5, 7),
        ("gen4.5", 10, 10),
        ("gen4.5", 75, 10),
        ("gen4_turbo", 4, 4),
        ("gen4_turbo", 30, 10),
        ("animatic", 1, 2),
        ("animatic", 9, 9),
        ("veo3.1", 1, 4),
        ("veo3.1", 4, 4),
        ("veo3.1", 5, 6),
        ("veo3.1", 6, 6),
        ("veo3.1", 7, 8),
        ("veo3.1", 60, 8),
        ("veo3.1_fast", 3, 4),
        ("veo3.1_fast", 5.2, 6),
        ("veo3.1_fast", 4.9, 4),
    ],
)
def test_nearest_duration_ties_go_to_the_longer_clip(model_id: str, seconds: float, expected: int) -> None:
    assert nearest_duration(get_model(model_id), seconds) == expected


def test_check_ratio_accepts_what_the_endpoint_allows() -> None:
    assert check_ratio(get_model("gen4.5"), "720:1280") == "720:1280"
    assert check_ratio(get_model("gen4.5"), "960:960", IMAGE) == "960:960"
    assert check_ratio(get_model("veo3.1"), "1080:1920") == "1080:1920"
    assert check_ratio(get_model("animatic"), "1920:1080") == "1920:1080"
    assert check_ratio(get_model("gen4_turbo"), "1584:672") == "1584:672"


def test_check_ratio_refuses_with_the_allowed_list() -> None:
    with pytest.raises(InvalidOptionError) as raised:
        check_ratio(get_model("gen4.5"), "960:960")
    assert "1280:720, 720:1280" in str(raised.value)
    assert "text_to_video" in str(raised.value)
    with pytest.raises(InvalidOptionError, match="1280:720, 720:1280, 1080:1920, 1920:1080"):
        check_ratio(get_model("veo3.1_fast"), "16:9")
    with pytest.raises(InvalidOptionError, match="no text_to_video endpoint"):
        check_ratio(get_model("gen4_turbo"), "1280:720", TEXT)
