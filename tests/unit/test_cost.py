"""Estimates in credits and US dollars, and the budget check made before anything is paid for."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from script_to_film.domain.audio_tasks import speech_pieces
from script_to_film.domain.cost import (
    Estimate,
    SceneEstimate,
    audio_estimate,
    check_budget,
    estimate,
    sound_credits,
    speech_credits,
    usd,
)
from script_to_film.domain.director import direct
from script_to_film.domain.errors import (
    BudgetExceededError,
    InvalidInputError,
    InvalidOptionError,
    UnknownModelError,
)
from script_to_film.domain.models import DialogueLine, Scene, Screenplay, Shot


def shot(
    scene: int,
    duration: int,
    model: str = "gen4.5",
    ratio: str = "1280:720",
    provider: str = "runway",
    number: int = 1,
) -> Shot:
    return Shot(
        scene=scene,
        number=number,
        camera="Medium shot",
        lighting="Soft natural light",
        environment="Interior, Kitchen",
        style="realistic",
        prompt="Medium shot: A kettle boils.",
        duration=duration,
        ratio=ratio,
        model=model,
        provider=provider,
    )


def test_gen45_costs_twelve_credits_a_second() -> None:
    result = estimate([shot(1, 10), shot(2, 10), shot(3, 5)])

    assert (result.provider, result.model) == ("runway", "gen4.5")
    assert [line.model_dump(exclude={"shots"}) for line in result.scenes] == [
        SceneEstimate(number=1, duration=10, credits=120, usd=1.2).model_dump(exclude={"shots"}),
        SceneEstimate(number=2, duration=10, credits=120, usd=1.2).model_dump(exclude={"shots"}),
        SceneEstimate(number=3, duration=5, credits=60, usd=0.6).model_dump(exclude={"shots"}),
    ]
    assert (result.credits, result.usd, result.shots, result.seconds) == (300, 3.0, 3, 25)


def test_a_scene_costs_its_shots_and_each_shot_is_priced() -> None:
    result = estimate([shot(1, 4, number=1), shot(1, 7, number=2), shot(1, 2, number=3), shot(2, 10)])
    first, second = result.scenes
    assert [(line.number, line.duration, line.credits) for line in first.shots] == [
        (1, 4, 48),
        (2, 7, 84),
        (3, 2, 24),
    ]
    assert (first.number, first.duration, first.credits, first.usd) == (1, 13, 156, 1.56)
    assert (second.number, second.duration, second.credits) == (2, 10, 120)
    assert (result.shots, result.seconds, result.credits) == (4, 23, 276)


@pytest.mark.parametrize(
    ("model", "duration", "credits", "dollars"),
    [("veo3.1", 8, 160, 1.6), ("veo3.1", 4, 80, 0.8), ("veo3.1_fast", 6, 60, 0.6), ("gen4.5", 2, 24, 0.24)],
)
def test_price_per_model(model: str, duration: int, credits: int, dollars: float) -> None:
    result = estimate([shot(1, duration, model)])
    assert (result.credits, result.usd) == (credits, dollars)


@pytest.mark.parametrize(
    ("model", "with_sound", "without"), [("veo3.1", 40 * 8, 20 * 8), ("veo3.1_fast", 15 * 8, 10 * 8)]
)
def test_veo_with_its_own_sound_is_priced_as_runway_prices_it(
    model: str, with_sound: int, without: int
) -> None:
    assert estimate([shot(1, 8, model)], model_audio=True).credits == with_sound
    assert estimate([shot(1, 8, model)], model_audio=False).credits == without


def test_a_model_without_sound_of_its_own_cannot_be_asked_for_it() -> None:
    with pytest.raises(InvalidOptionError, match=r"gen4\.5 makes no sound of its own"):
        estimate([shot(1, 5)], model_audio=True)


def _speaking(number: int, *lines: str) -> Scene:
    return Scene(
        number=number,
        heading="INT. KITCHEN - DAY",
        estimated_seconds=20,
        dialogue=[DialogueLine(character="MARA", text=text) for text in lines],
    )


def test_a_line_costs_a_credit_per_started_fifty_characters() -> None:
    assert speech_credits(["Hi."]) == 1
    assert speech_credits(["x" * 50]) == 1
    assert speech_credits(["x" * 51]) == 2
    assert speech_credits(["x" * 50, "y" * 50]) == 2
    assert speech_credits(["", "   "]) == 0


def test_a_line_over_the_limit_is_priced_as_the_tasks_it_is_sent_as() -> None:
    long_line = "The harbour was quiet that morning. " * 20 + "Nobody came. " * 30
    pieces = speech_pieces(long_line)

    assert len(pieces) == 2
    assert speech_credits([long_line]) == sum(math.ceil(len(piece) / 50) for piece in pieces)


def test_voices_and_one_ambience_per_scene() -> None:
    result = audio_estimate([_speaking(1, "x" * 120, "Yes."), _speaking(2)])

    assert [(s.number, s.voice_credits, s.sound_credits) for s in result.scenes] == [(1, 4, 2), (2, 0, 2)]
    assert (result.voice_credits, result.sound_credits, result.credits, result.usd) == (4, 4, 8, 0.08)
    assert sound_credits(3) == 6


def test_the_animatic_is_free() -> None:
    result = estimate(
        [shot(1, 10, "animatic", provider="animatic"), shot(2, 3, "animatic", provider="animatic")]
    )
    assert (result.provider, result.credits, result.usd) == ("animatic", 0, 0.0)
    assert [line.usd for line in result.scenes] == [0.0, 0.0]


def test_gen4_turbo_pays_for_a_keyframe_image_per_shot() -> None:
    result = estimate([shot(1, 5, "gen4_turbo"), shot(2, 10, "gen4_turbo", ratio="960:960")])

    first, second = result.scenes
    assert (first.credits, first.keyframe_credits) == (5 * 5 + 5, 5)  # a 720p keyframe costs 5
    assert (second.credits, second.keyframe_credits) == (10 * 5 + 8, 8)  # other sizes the 1080p price, 8
    assert (result.credits, result.usd) == (88, 0.88)


def test_credits_are_whole_numbers_and_totals_add_up() -> None:
    result = estimate([shot(number, duration) for number, duration in enumerate([2, 3, 7, 10, 9], start=1)])

    assert isinstance(result.credits, int)
    assert all(isinstance(line.credits, int) for line in result.scenes)
    assert result.credits == sum(line.credits for line in result.scenes) == 31 * 12
    assert result.usd == pytest.approx(sum(line.usd for line in result.scenes))
    assert result.usd == 3.72


def test_dollars_round_half_up_to_the_cent() -> None:
    assert usd(1) == Decimal("0.01")
    assert usd(Decimal("0.5")) == Decimal("0.01")
    assert usd(Decimal("0.49")) == Decimal("0.00")
    assert usd(123_456) == Decimal("1234.56")


def test_an_estimate_of_directed_shots() -> None:
    screenplay = Screenplay(
        scenes=[
            Scene(number=1, heading="INT. KITCHEN - DAY", action="A kettle boils.", estimated_seconds=5),
            Scene(number=2, heading="EXT. GARDEN - DAY", action="Rain falls.", estimated_seconds=40),
        ]
    )
    result = estimate(direct(screenplay, model="veo3.1_fast"))
    # Each scene is its master shot: its one short action paragraph, the shortest clip veo makes.
    assert [(line.number, line.duration) for line in result.scenes] == [(1, 4), (2, 4)]
    assert (result.model, result.credits, result.usd) == ("veo3.1_fast", 80, 0.8)


def test_no_shots_cost_nothing() -> None:
    assert estimate([]) == Estimate(provider="runway", model="gen4.5", credits=0, usd=0.0, scenes=[])
    assert estimate([], model="animatic").provider == "animatic"


def test_an_estimate_is_for_one_model() -> None:
    with pytest.raises(InvalidOptionError, match=r"gen4\.5, veo3\.1"):
        estimate([shot(1, 4, "veo3.1"), shot(2, 4, "gen4.5")])
    with pytest.raises(InvalidOptionError):
        estimate([shot(1, 4)], model="animatic")


def test_a_duration_the_model_cannot_make_is_refused() -> None:
    with pytest.raises(
        InvalidOptionError, match=r"scene 2 shot 1: veo3\.1 makes clips of 4, 6, 8 seconds, not 5"
    ):
        estimate([shot(1, 4, "veo3.1"), shot(2, 5, "veo3.1")])


def test_an_unknown_or_retired_model_is_refused() -> None:
    with pytest.raises(UnknownModelError, match="retired"):
        estimate([shot(1, 5, "gen3a_turbo")])


def test_no_budget_means_no_check() -> None:
    check_budget(Estimate(provider="runway", model="veo3.1", credits=10**9, usd=10**7, scenes=[]), None)


def test_within_or_exactly_at_the_budget() -> None:
    result = estimate([shot(1, 10), shot(2, 10)])  # $2.40
    check_budget(result, 2.40)
    check_budget(result, 100)


def test_over_the_budget() -> None:
    over = Estimate(provider="runway", model="gen4.5", credits=1234, usd=12.34, scenes=[])
    with pytest.raises(BudgetExceededError) as raised:
        check_budget(over, 10)
    assert str(raised.value).startswith("estimated cost $12.34 exceeds the budget of $10.00")
    assert "1,234 credits on gen4.5" in str(raised.value)
    assert isinstance(raised.value, InvalidInputError)

    with pytest.raises(BudgetExceededError, match=r"\$0\.24 exceeds the budget of \$0\.23"):
        check_budget(estimate([shot(1, 2)]), 0.23)


def test_a_free_film_fits_a_zero_budget() -> None:
    check_budget(estimate([shot(1, 10, "animatic", provider="animatic")]), 0)


@pytest.mark.parametrize("budget", [-1.0, math.nan, math.inf])
def test_a_budget_must_be_an_amount(budget: float) -> None:
    with pytest.raises(InvalidOptionError, match="budget"):
        check_budget(estimate([shot(1, 2)]), budget)


def test_a_keyframe_run_of_a_text_to_video_model_pays_for_its_images_too() -> None:
    shots = [shot(1, 5), shot(2, 5)]

    plain = estimate(shots)
    keyframed = estimate(shots, keyframe=True)

    assert [line.keyframe_credits for line in keyframed.scenes] == [5, 5]  # a 720p keyframe costs 5
    assert keyframed.credits == plain.credits + 10
