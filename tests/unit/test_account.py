"""The preflight's decision from an account's limits: the run's concurrency, and the refusals of a
film the account cannot pay for or cannot make today. Pure: no provider is asked here."""

from __future__ import annotations

import pytest

from script_to_film.adapters.providers.animatic import AnimaticProvider
from script_to_film.adapters.providers.registry import get_provider, reset_providers
from script_to_film.domain.account import configured_concurrency, generations_needed, plan_run, read_limits
from script_to_film.domain.errors import (
    ConfigurationError,
    DailyAllowanceError,
    InsufficientCreditsError,
    InvalidInputError,
    PermanentProviderError,
    ProviderRefusedError,
    TransientProviderError,
)
from script_to_film.domain.ports import AccountLimits, AccountReporter

MAP_MAX = 40


def runway(
    model: str = "gen4.5",
    *,
    concurrent: int | None = 2,
    daily: int | None = 200,
    used: int | None = 0,
    balance: float | None = 5000,
) -> AccountLimits:
    return AccountLimits(
        provider="runway",
        model=model,
        max_concurrent=concurrent,
        daily_limit=daily,
        daily_used=used,
        credit_balance=balance,
        source="provider",
    )


def fallback(model: str = "gen4.5", concurrency: int = 1) -> AccountLimits:
    return AccountLimits(
        provider="runway",
        model=model,
        max_concurrent=concurrency,
        daily_limit=None,
        daily_used=None,
        credit_balance=None,
        source="configured",
        note="runway's account could not be read (HTTP 503): 1 at a time as configured",
    )


# Concurrency ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tier", "configured", "expected"),
    [
        (2, None, 2),  # the tier alone: no more than Runway runs at once, none queued behind our own
        (2, 5, 2),  # a configured value above the tier would only make THROTTLED tasks
        (5, 3, 3),  # a configured value below the tier is the operator's choice
        (None, None, MAP_MAX),  # Runway says no limit: the Map's own maximum
        (None, 7, 7),
        (50, None, MAP_MAX),  # tier 5 and custom tiers can exceed what an inline Map runs
        (0, None, 1),  # a tier that allows nothing still films, one at a time (Runway queues it)
    ],
)
def test_concurrency_is_the_smallest_of_tier_configuration_and_map(
    tier: int | None, configured: int | None, expected: int
) -> None:
    run = plan_run(
        [runway(concurrent=tier)],
        estimate_credits=100,
        generations={"gen4.5": 3},
        configured_cap=configured,
        map_max=MAP_MAX,
    )

    assert run.concurrency == expected
    assert run.source == "provider"
    assert run.note is None


def test_on_the_keyframe_path_the_image_models_tier_bounds_the_run_too() -> None:
    limits = [runway("gen4_turbo", concurrent=3), runway("gen4_image", concurrent=1)]

    run = plan_run(
        limits,
        estimate_credits=100,
        generations=generations_needed("gen4_turbo", 4),
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert run.concurrency == 1


def test_an_account_that_could_not_be_read_runs_at_the_configured_concurrency_and_says_so() -> None:
    run = plan_run(
        [fallback(concurrency=3)],
        estimate_credits=10**9,  # not checked: the balance is unknown
        generations={"gen4.5": 10**6},  # nor is the allowance
        configured_cap=3,
        map_max=MAP_MAX,
    )

    assert (run.concurrency, run.source, run.credit_balance, run.daily_left) == (3, "configured", None, {})
    assert run.note is not None and "could not be read" in run.note


# Credits -------------------------------------------------------------------------------------


def test_an_estimate_over_the_balance_is_refused_with_the_numbers_and_what_to_do() -> None:
    with pytest.raises(InsufficientCreditsError) as refused:
        plan_run(
            [runway(balance=575)],
            estimate_credits=576,
            generations={"gen4.5": 9},
            configured_cap=None,
            map_max=MAP_MAX,
        )

    message = str(refused.value)
    assert "576 credits (US$5.76)" in message and "575 credits (US$5.75)" in message
    assert "add credits" in message
    assert isinstance(refused.value, InvalidInputError), "the API answers 422, the CLI exits 2"
    assert refused.value.code == "INSUFFICIENT_CREDITS"


def test_an_estimate_equal_to_the_balance_runs() -> None:
    run = plan_run(
        [runway(balance=576)],
        estimate_credits=576,
        generations={"gen4.5": 9},
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert (run.credit_balance, run.estimate_credits) == (576, 576)


# The daily allowance -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("used", "needed"),
    [
        (41, 9),  # exactly what is left
        (0, 50),
    ],
)
def test_a_film_that_fits_in_what_is_left_of_the_daily_allowance_runs(used: int, needed: int) -> None:
    run = plan_run(
        [runway(daily=50, used=used)],
        estimate_credits=0,
        generations={"gen4.5": needed},
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert run.daily_left == {"gen4.5": 50 - used}


@pytest.mark.parametrize(
    ("used", "needed", "left"),
    [
        (42, 9, 8),
        (60, 1, 0),  # over already (a limit lowered since)
    ],
)
def test_a_film_over_what_is_left_of_the_daily_allowance_is_refused_with_the_numbers(
    used: int, needed: int, left: int
) -> None:
    with pytest.raises(DailyAllowanceError) as refused:
        plan_run(
            [runway(daily=50, used=used)],
            estimate_credits=0,
            generations={"gen4.5": needed},
            configured_cap=None,
            map_max=MAP_MAX,
        )

    message = str(refused.value)
    assert f"needs {needed} gen4.5 generation" in message
    assert (
        f"only {left} of the Runway account's 50 a day are left ({used} made in the last 24 hours)" in message
    )
    assert "film fewer scenes" in message and "rolling 24 hours" in message
    assert isinstance(refused.value, InvalidInputError) and refused.value.code == "DAILY_CAP"


def test_without_a_daily_limit_any_number_of_generations_runs() -> None:
    run = plan_run(
        [runway(daily=None, used=10**6)],
        estimate_credits=0,
        generations={"gen4.5": 10**6},
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert run.daily_left == {}


def test_keyframe_images_count_against_the_image_models_own_allowance() -> None:
    limits = [runway("gen4_turbo", daily=50, used=0), runway("gen4_image", daily=50, used=45)]

    with pytest.raises(DailyAllowanceError, match="needs 6 gen4_image generations but only 5"):
        plan_run(
            limits,
            estimate_credits=0,
            generations=generations_needed("gen4_turbo", 6),
            configured_cap=None,
            map_max=MAP_MAX,
        )


def test_what_is_left_of_each_allowance_is_reported() -> None:
    limits = [runway("gen4.5", daily=200, used=12), runway("gen4_image", daily=None)]

    run = plan_run(
        limits,
        estimate_credits=0,
        generations=generations_needed("gen4.5", 3, keyframe=True),
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert run.daily_left == {"gen4.5": 188}


def test_every_model_the_film_uses_needs_its_limits() -> None:
    with pytest.raises(ValueError, match="gen4_image"):
        plan_run(
            [runway("gen4_turbo")],
            estimate_credits=0,
            generations=generations_needed("gen4_turbo", 2),
            configured_cap=None,
            map_max=MAP_MAX,
        )


# Generations per model -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "keyframe", "expected"),
    [
        ("gen4.5", False, {"gen4.5": 5}),
        ("veo3.1_fast", False, {"veo3.1_fast": 5}),
        ("gen4.5", True, {"gen4.5": 5, "gen4_image": 5}),
        ("gen4_turbo", False, {"gen4_turbo": 5, "gen4_image": 5}),  # it only animates images
    ],
)
def test_one_video_per_scene_and_one_keyframe_per_scene_on_the_keyframe_path(
    model: str, keyframe: bool, expected: dict[str, int]
) -> None:
    assert generations_needed(model, 5, keyframe=keyframe) == expected


# Configuration -------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [(None, None), ("", None), ("3", 3), (" 12 ", 12)])
def test_the_configured_concurrency_is_read_when_set(raw: str | None, expected: int | None) -> None:
    env = {} if raw is None else {"STF_RUNWAY_CONCURRENCY": raw}
    assert configured_concurrency("runway", env) == expected


@pytest.mark.parametrize("raw", ["two", "0", "-1", "1.5"])
def test_a_configured_concurrency_that_is_not_a_count_is_refused(raw: str) -> None:
    with pytest.raises(ConfigurationError, match="STF_RUNWAY_CONCURRENCY"):
        configured_concurrency("runway", {"STF_RUNWAY_CONCURRENCY": raw})


# Reading the limits --------------------------------------------------------------------------


def test_the_animatic_is_free_and_unlimited_at_its_configured_concurrency() -> None:
    limits = read_limits(AnimaticProvider(concurrency=6), ["animatic"], fallback_concurrency=4)

    assert [(a.max_concurrent, a.daily_limit, a.credit_balance) for a in limits] == [(6, None, None)]
    run = plan_run(
        limits, estimate_credits=0, generations={"animatic": 30}, configured_cap=6, map_max=MAP_MAX
    )
    assert run.concurrency == 6


class Unreachable:
    name = "runway"

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.asked: list[str] = []

    def account(self, model: str) -> AccountLimits:
        self.asked.append(model)
        raise self.error


def test_an_account_that_cannot_be_read_falls_back_for_every_model_after_one_try() -> None:
    provider = Unreachable(TransientProviderError("Runway answered with HTTP 503", code="HTTP_503"))

    limits = read_limits(provider, ["gen4_turbo", "gen4_image"], fallback_concurrency=2)

    assert provider.asked == ["gen4_turbo"]
    assert [(a.model, a.max_concurrent, a.source) for a in limits] == [
        ("gen4_turbo", 2, "configured"),
        ("gen4_image", 2, "configured"),
    ]
    assert all("HTTP 503" in (a.note or "") for a in limits)


def test_a_refused_key_is_not_a_reason_to_go_on() -> None:
    provider = Unreachable(PermanentProviderError("Runway refused it with HTTP 401", code="AUTH"))

    with pytest.raises(ProviderRefusedError, match="refused this account's API key") as refused:
        read_limits(provider, ["gen4.5"], fallback_concurrency=1)
    assert isinstance(refused.value.__cause__, PermanentProviderError)


def test_a_missing_key_falls_back_so_each_scene_can_say_what_to_set() -> None:
    provider = Unreachable(ConfigurationError("no Runway API key: set RUNWAYML_API_SECRET"))

    [limits] = read_limits(provider, ["gen4.5"], fallback_concurrency=2)

    assert (limits.source, limits.max_concurrent) == ("configured", 2)
    assert "RUNWAYML_API_SECRET" in (limits.note or "")


def test_a_provider_that_does_not_report_its_account_falls_back() -> None:
    class Silent:
        name = "luma"

    [limits] = read_limits(Silent(), ["ray-2"], fallback_concurrency=2)

    assert (limits.max_concurrent, limits.source) == (2, "configured")
    assert "Luma does not report" in (limits.note or "")


@pytest.mark.parametrize(("raw", "expected"), [(None, 4), ("2", 2)])
def test_the_animatic_renders_as_many_at_once_as_configured(
    monkeypatch: pytest.MonkeyPatch, raw: str | None, expected: int
) -> None:
    if raw is None:
        monkeypatch.delenv("STF_ANIMATIC_CONCURRENCY", raising=False)
    else:
        monkeypatch.setenv("STF_ANIMATIC_CONCURRENCY", raw)
    reset_providers()
    try:
        provider = get_provider("animatic")
        assert isinstance(provider, AccountReporter)
        assert provider.account("animatic").max_concurrent == expected
    finally:
        reset_providers()
