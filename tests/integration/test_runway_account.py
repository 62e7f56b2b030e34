"""Runway's account (GET /v1/organization) through the unmodified SDK against the fake over real
HTTP: the SDK parses the fake's answer, limits map per model, usage counts the account's own
generations in a rolling 24 hours, a failed lookup falls back with a note, and one lookup serves
a film's preflight."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import pytest

from script_to_film.adapters.providers.runway import DailyCapError, RunwayProvider
from script_to_film.domain.account import generations_needed, plan_run, read_limits
from script_to_film.domain.errors import (
    DailyAllowanceError,
    InsufficientCreditsError,
    PermanentProviderError,
    ProviderRefusedError,
    TransientProviderError,
)
from script_to_film.domain.ports import AccountLimits
from tests.fakes.runway_api import API_KEY, DAY_SECONDS, Behaviour, FakeRunway
from tests.integration.test_runway_provider import make_job, wait_for

MAP_MAX = 40


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunway]:
    with FakeRunway(default=Behaviour(latency=0.2), credit_balance=5000) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        running.set_tier("gen4.5", max_concurrent=2, max_daily=200)
        running.set_tier("gen4_turbo", max_concurrent=3, max_daily=50)
        running.set_tier("gen4_image", max_concurrent=1, max_daily=50)
        yield running


def test_the_sdk_reads_the_account_and_each_model_gets_its_own_limits(fake: FakeRunway) -> None:
    fake.usage_before.update({"gen4.5": 12, "gen4_image": 45})
    provider = RunwayProvider()

    assert provider.account("gen4.5") == AccountLimits(
        provider="runway",
        model="gen4.5",
        max_concurrent=2,
        daily_limit=200,
        daily_used=12,
        credit_balance=5000,
        source="provider",
    )
    image = provider.account("gen4_image")
    assert (image.max_concurrent, image.daily_limit, image.daily_used) == (1, 50, 45)
    turbo = provider.account("gen4_turbo")
    assert (turbo.max_concurrent, turbo.daily_used) == (3, 0), "no usage listed: none made"
    [read] = fake.organization_reads()
    assert read.method == "GET" and read.status == 200


def test_usage_counts_the_accounts_own_generations_in_a_rolling_24_hours(fake: FakeRunway) -> None:
    clock = Clock()
    provider = RunwayProvider(clock=clock)
    fake.usage_before["gen4.5"] = 10
    provider.submit(make_job("a pier"))
    provider.submit(make_job("a lighthouse"))

    assert provider.account("gen4.5").daily_used == 12

    real = fake.wall_clock
    fake.wall_clock = lambda: real() + DAY_SECONDS + 1
    clock.now += 61
    assert provider.account("gen4.5").daily_used == 10, "the fake's own generations aged out"


def test_the_balance_is_what_is_left_after_the_accounts_charges(fake: FakeRunway) -> None:
    provider = RunwayProvider()
    task_id = provider.submit(make_job("a harbour", duration=5))  # 60 credits at 12 a second
    assert wait_for(provider, task_id)[-1].credits == 60

    assert provider.account("gen4.5").credit_balance == 5000 - 60


def test_one_lookup_serves_a_films_models_and_the_next_minute(fake: FakeRunway) -> None:
    clock = Clock()
    provider = RunwayProvider(clock=clock)

    read_limits(provider, ["gen4_turbo", "gen4_image"], fallback_concurrency=1)
    clock.now += 59
    provider.account("gen4.5")
    assert len(fake.organization_reads()) == 1

    clock.now += 2
    provider.account("gen4.5")
    assert len(fake.organization_reads()) == 2, "past the minute the account is asked again"


def test_the_keyframe_path_runs_at_the_smallest_tier_of_its_two_models(fake: FakeRunway) -> None:
    limits = read_limits(RunwayProvider(), ["gen4_turbo", "gen4_image"], fallback_concurrency=1)

    run = plan_run(
        limits,
        estimate_credits=300,
        generations=generations_needed("gen4_turbo", 6),
        configured_cap=None,
        map_max=MAP_MAX,
    )

    assert (run.concurrency, run.source, run.credit_balance) == (1, "provider", 5000)
    assert run.daily_left == {"gen4_turbo": 50, "gen4_image": 50}


def test_a_film_over_the_balance_is_refused_before_anything_is_made(fake: FakeRunway) -> None:
    limits = read_limits(RunwayProvider(), ["gen4.5"], fallback_concurrency=1)

    with pytest.raises(InsufficientCreditsError, match=r"5001 credits .* has 5000 credits"):
        plan_run(
            limits,
            estimate_credits=5001,
            generations={"gen4.5": 9},
            configured_cap=None,
            map_max=MAP_MAX,
        )
    assert fake.paid_creates() == []


def test_the_daily_allowance_refused_by_the_preflight_is_the_one_runway_enforces(fake: FakeRunway) -> None:
    fake.set_tier("gen4.5", max_concurrent=2, max_daily=3)
    fake.usage_before["gen4.5"] = 1
    provider = RunwayProvider()

    with pytest.raises(DailyAllowanceError, match=r"needs 3 gen4\.5 generations but only 2"):
        plan_run(
            read_limits(provider, ["gen4.5"], fallback_concurrency=1),
            estimate_credits=0,
            generations={"gen4.5": 3},
            configured_cap=None,
            map_max=MAP_MAX,
        )

    # Had it been sent anyway: two scenes made, the third refused with Runway's daily 429.
    provider.submit(make_job("one"))
    provider.submit(make_job("two"))
    with pytest.raises(DailyCapError):
        provider.submit(make_job("three"))


@pytest.mark.parametrize("failure", ["5xx", "dropped"])
def test_an_account_that_cannot_be_read_falls_back_to_the_configured_concurrency(
    fake: FakeRunway, failure: str
) -> None:
    if failure == "5xx":
        fake.fail_next(2, status=503, kind="organization")  # the SDK's one retry sees the second
    else:
        fake.drop_next(2)
    provider = RunwayProvider()

    with pytest.raises(TransientProviderError):
        provider.account("gen4.5")
    if failure == "5xx":
        fake.fail_next(2, status=503, kind="organization")
    else:
        fake.drop_next(2)
    limits = read_limits(provider, ["gen4_turbo", "gen4_image"], fallback_concurrency=2)
    run = plan_run(
        limits,
        estimate_credits=10**6,
        generations=generations_needed("gen4_turbo", 500),
        configured_cap=2,
        map_max=MAP_MAX,
    )

    assert (run.concurrency, run.source, run.credit_balance) == (2, "configured", None)
    assert run.note is not None
    assert run.note.startswith("Runway's account could not be read")
    assert "2 at a time as configured" in run.note and "not checked" in run.note
    assert len(fake.organization_reads()) == 4, "asked once per lookup (each with the SDK's one retry)"

    assert provider.account("gen4.5").source == "provider", "a failure is not cached"


def test_runway_out_of_reach_falls_back(monkeypatch: pytest.MonkeyPatch, fake: FakeRunway) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("RUNWAYML_BASE_URL", f"http://127.0.0.1:{closed}")

    [limits] = read_limits(RunwayProvider(), ["gen4.5"], fallback_concurrency=1)

    assert (limits.source, limits.max_concurrent) == ("configured", 1)
    assert "could not reach Runway" in (limits.note or "")


def test_a_refused_key_stops_the_preflight_and_is_read_again_next_time(fake: FakeRunway) -> None:
    keys = iter(["key_revoked", API_KEY])
    provider = RunwayProvider(api_key=lambda: next(keys))

    with pytest.raises(ProviderRefusedError) as refused:
        read_limits(provider, ["gen4.5"], fallback_concurrency=1)
    assert isinstance(refused.value.__cause__, PermanentProviderError)
    assert refused.value.__cause__.code == "AUTH"
    assert "key_revoked" not in str(refused.value)

    assert provider.account("gen4.5").source == "provider"


def test_the_key_is_never_logged(fake: FakeRunway, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    fake.fail_next(1, status=503, kind="organization")

    RunwayProvider().account("gen4.5")

    assert "/v1/organization" in caplog.text, "the SDK and httpx logged the request at DEBUG"
    assert API_KEY not in caplog.text
