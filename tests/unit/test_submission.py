"""What every entry point refuses before anything is stored or paid for (`submission.prepare`),
and the options' defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from script_to_film.domain.errors import BudgetExceededError, InvalidOptionError
from script_to_film.domain.limits import EXECUTION_TIMEOUT_SECONDS
from script_to_film.domain.options import VideoOptions
from script_to_film.services.submission import RunTooLongError, prepare, worst_case_seconds

ASL = Path(__file__).resolve().parents[2] / "infra" / "statemachine" / "film.asl.json"


def screenplay(scenes: int) -> str:
    return "\n\n".join(f"INT. ROOM {n} - DAY\n\nA clock ticks." for n in range(1, scenes + 1))


@pytest.mark.parametrize(("provider", "seconds"), [("animatic", 1), ("runway", 10)])
def test_each_provider_polls_at_its_own_default(provider: str, seconds: int) -> None:
    assert VideoOptions(provider=provider).poll_interval == seconds
    assert VideoOptions(provider=provider, poll_seconds=7).poll_interval == 7


def test_the_execution_timeout_is_the_state_machines() -> None:
    assert json.loads(ASL.read_text(encoding="utf-8"))["TimeoutSeconds"] == EXECUTION_TIMEOUT_SECONDS


def test_scenes_of_a_day_each_one_at_a_time_are_refused_up_front() -> None:
    options = VideoOptions(provider="animatic", poll_seconds=300, scene_timeout_seconds=86_400)

    prepare(screenplay(6), options, concurrency=1)
    with pytest.raises(RunTooLongError, match=r"could run 2\d\d\.\d h, past the 168 h"):
        prepare(screenplay(10), options, concurrency=1)


def test_scenes_one_at_a_time_are_refused_when_their_worst_case_passes_the_limit() -> None:
    options = VideoOptions(provider="runway", model="gen4.5", poll_seconds=300, scene_timeout_seconds=3_600)
    fits = max(n for n in range(1, 1000) if worst_case_seconds(n, 1, 300, 3_600) <= EXECUTION_TIMEOUT_SECONDS)

    prepare(screenplay(fits), options, concurrency=1)
    with pytest.raises(RunTooLongError):
        prepare(screenplay(fits + 1), options, concurrency=1)
    prepare(screenplay(fits + 1), options, concurrency=2)


def test_the_worst_case_grows_by_waves_of_the_concurrency() -> None:
    one_wave = worst_case_seconds(4, 4, 10, 300)

    assert worst_case_seconds(5, 4, 10, 300) > one_wave
    assert worst_case_seconds(8, 4, 10, 300) == worst_case_seconds(5, 4, 10, 300)


def test_a_keyframe_run_is_priced_with_its_images_before_the_budget_check() -> None:
    plain = prepare(screenplay(2), VideoOptions(provider="runway", model="gen4.5"), concurrency=2)
    keyframed = prepare(
        screenplay(2), VideoOptions(provider="runway", model="gen4.5", keyframe=True), concurrency=2
    )

    assert keyframed.estimate.credits > plain.estimate.credits
    assert all(line.keyframe_credits > 0 for line in keyframed.estimate.scenes)


def test_a_scene_of_many_shots_is_bounded_by_its_poll_budget() -> None:
    from script_to_film.domain.limits import max_polls_per_scene, scene_history_events
    from script_to_film.workflow.contract import MAX_SUBMITS_PER_SCENE as SUBMITS

    # Each shot may poll to the scene timeout, but a scene's shots share its history's polls.
    one, forty = worst_case_seconds(1, 1, 1, 300, 1), worst_case_seconds(1, 1, 1, 300, 40)
    budget = max_polls_per_scene(SUBMITS, 40)
    assert forty < 40 * one
    assert (
        scene_history_events(budget, SUBMITS, 40) <= 22_500 < scene_history_events(budget + 20, SUBMITS, 40)
    )


def test_veos_own_sound_is_priced_before_the_budget_check() -> None:
    quiet = prepare(screenplay(2), VideoOptions(provider="runway", model="veo3.1"), concurrency=2)
    seconds = sum(shot.duration for shot in quiet.shots)
    with_sound = VideoOptions(provider="runway", model="veo3.1", model_audio=True)

    assert quiet.estimate.credits == 20 * seconds
    assert prepare(screenplay(2), with_sound, concurrency=2).estimate.credits == 40 * seconds
    with pytest.raises(BudgetExceededError):
        prepare(screenplay(2), with_sound.model_copy(update={"max_budget_usd": 0.2 * seconds}), concurrency=2)
    with pytest.raises(InvalidOptionError, match="makes no sound of its own"):
        prepare(screenplay(2), VideoOptions(provider="runway", model_audio=True), concurrency=2)


def test_scenes_of_unequal_shots_are_bounded_by_their_spread_over_the_slots() -> None:
    # One long scene among many short ones: the waves bound assumes every scene is the longest.
    shots = [39] + [5] * 189
    waves = worst_case_seconds(190, 4, 1, 300, 39)
    spread = worst_case_seconds(190, 4, 1, 300, shots_per_scene=shots)

    assert spread < waves
    assert spread <= EXECUTION_TIMEOUT_SECONDS < waves
    assert worst_case_seconds(8, 4, 10, 300, shots_per_scene=[1] * 8) == worst_case_seconds(8, 4, 10, 300)


def test_a_feature_at_one_second_polls_is_not_refused_for_its_run_time() -> None:
    corpus = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "Big-Fish.fountain"
    if not corpus.exists():
        pytest.skip("the public corpus is not beside the repository")
    options = VideoOptions(provider="animatic", poll_seconds=1)

    plan = prepare(corpus.read_text(encoding="utf-8"), options, concurrency=4)

    assert len(plan.screenplay.scenes) == 190
