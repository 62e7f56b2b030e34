"""`stf run FILE --provider runway` on the embedded local stack against the fake Runway API: the
same command a person runs with a real key, with only `RUNWAYML_BASE_URL` pointing elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from script_to_film.adapters import media
from script_to_film.adapters.providers.registry import reset_providers
from stf.cli import main
from tests.fakes.runway_api import Behaviour, FakeRunway

SCREENPLAY = """Title: Four Places

EXT. HARBOUR - DAWN

Gulls wheel over the boats. ANNA (30s), in a red coat, waits at the end of the pier.

INT. BAKERY - DAY

A baker slides loaves into the oven.

EXT. OBSERVATORY - NIGHT

The dome opens to the stars.

INT. LIGHTHOUSE - NIGHT

The lamp turns.
"""

DURATIONS = {1: 4, 2: 3, 3: 3, 4: 3}
"""What the director makes of the four scenes (seconds per clip: each is one master shot, as long
as its one action paragraph reads); gen4.5 costs 12 credits a second."""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunway]:
    with FakeRunway(default=Behaviour(latency=0.8)) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        # The provider keeps its SDK client for the process: each test starts with a new one.
        reset_providers()
        yield running
    reset_providers()


@pytest.fixture
def screenplay(tmp_path: Path) -> Path:
    path = tmp_path / "four-places.fountain"
    path.write_text(SCREENPLAY, encoding="utf-8")
    return path


def run(capsys: pytest.CaptureFixture[str], screenplay: Path, out: Path, *options: str) -> tuple[int, dict]:
    status = main(
        [
            "run",
            str(screenplay),
            "--provider",
            "runway",
            "--poll-seconds",
            "1",
            "--out",
            str(out),
            "--json",
            *options,
        ]
    )
    return status, json.loads(capsys.readouterr().out)


def test_the_film_is_made_paying_once_per_scene(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STF_RUNWAY_CONCURRENCY", "4")
    # One scene's first submit is turned away (503 with Retry-After: nothing was made), one poll meets a 503.
    fake.fail_next(1, status=503, kind="create", retry_after="1")
    fake.fail_next(1, status=503, kind="task")

    status, manifest = run(capsys, screenplay, tmp_path)

    assert status == 0
    assert manifest["status"] == "SUCCEEDED"
    paid = fake.paid_creates("text_to_video")
    assert [call.status for call in fake.calls if call.method == "POST"].count(503) == 1
    assert len(paid) == 4, "each scene paid for once, the 503 retried without paying twice"
    assert {scene["provider_task_id"] for scene in manifest["scenes"]} == {call.task_id for call in paid}
    assert [scene["attempts"] for scene in manifest["scenes"]] == [1, 1, 1, 1]
    assert manifest["cost"]["credits"] == 12 * sum(DURATIONS.values())
    assert manifest["cost"]["credits"] == sum(fake.snapshot(str(c.task_id))["cost"]["credits"] for c in paid)
    folder = tmp_path / manifest["video_id"]
    for scene in manifest["scenes"]:
        assert media.probe(folder / scene["clip"]).duration == pytest.approx(
            DURATIONS[scene["number"]], abs=0.1
        )
    assert media.probe(folder / "film.mp4").duration == pytest.approx(sum(DURATIONS.values()), abs=0.5)


def test_moderation_throttling_resubmits_and_a_timeout_end_in_a_partial_film(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The tier allows 4 at once, but another film on the account holds two of them: Runway runs
    # 2 and queues the rest THROTTLED, which this film cannot see in its preflight.
    fake.set_tier("gen4.5", max_concurrent=4, max_daily=None)
    fake.concurrency = 2
    fake.hold_until_created = 4  # and queued however far apart the four submits arrive
    fake.on(
        "harbour", Behaviour(latency=0.8, failure_code="SAFETY.INPUT.TEXT", failure="The prompt was flagged.")
    )
    fake.on("bakery", Behaviour(latency=0.8, failure_code="INTERNAL.BAD_OUTPUT.CODE01", failing_tries=1))
    fake.on("observatory", Behaviour(never_finishes=True))

    status, manifest = run(capsys, screenplay, tmp_path, "--scene-timeout", "8")

    assert status == 3
    assert manifest["status"] == "PARTIAL"
    scenes = {scene["number"]: scene for scene in manifest["scenes"]}
    assert [scenes[n]["status"] for n in (1, 2, 3, 4)] == ["FAILED", "SUCCEEDED", "FAILED", "SUCCEEDED"]

    moderated = scenes[1]
    assert (moderated["failure_code"], moderated["attempts"], moderated["clip"]) == (
        "SAFETY.INPUT.TEXT",
        1,
        None,
    )
    assert "The prompt was flagged." in moderated["failure"]
    assert fake.paid_prompts_containing("harbour") == 1, "a SAFETY failure is never resubmitted"

    assert scenes[2]["attempts"] == 2
    assert fake.paid_prompts_containing("bakery") == 2, (
        "an INTERNAL failure is resubmitted, a bounded number of times"
    )

    timed_out = scenes[3]
    assert timed_out["failure_code"] == "TIMEOUT"
    assert timed_out["provider_task_id"] in fake.deletes(), "the slow task was cancelled at Runway"
    assert fake.snapshot(timed_out["provider_task_id"])["status"] == "CANCELLED"
    assert fake.paid_prompts_containing("observatory") == 1

    assert fake.paid_prompts_containing("lighthouse") == 1
    # Two slots, four scenes submitted before any task could end: two waited at least until a
    # 0.8-second task ended.
    assert sum((task.started_at or 0) - task.created_at > 0.4 for task in fake.tasks.values()) >= 2, (
        "work was queued"
    )

    # Billed: the moderated generation, the bakery's second try (its INTERNAL failure is refunded)
    # and the lighthouse. The task cancelled while running may still be billed and can never be
    # read back: its last estimate is counted, and the scene says so.
    assert manifest["cost"]["credits"] == 12 * (DURATIONS[1] + DURATIONS[2] + DURATIONS[3] + DURATIONS[4])
    assert "may still be billed" in timed_out["note"]
    film = media.probe(tmp_path / manifest["video_id"] / "film.mp4")
    assert film.duration == pytest.approx(DURATIONS[2] + DURATIONS[4], abs=0.5)


def test_a_create_accepted_behind_a_gateway_error_fails_its_scene_in_doubt_and_is_paid_once(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STF_RUNWAY_CONCURRENCY", "4")
    # Runway makes (and bills) these tasks, but the answers are lost behind a gateway error.
    fake.on("bakery", Behaviour(latency=0.8, answer_status=502))
    fake.on("observatory", Behaviour(latency=0.8, answer_status=504))

    status, manifest = run(capsys, screenplay, tmp_path)

    assert status == 3
    assert manifest["status"] == "PARTIAL"
    scenes = {scene["number"]: scene for scene in manifest["scenes"]}
    assert [scenes[n]["status"] for n in (1, 2, 3, 4)] == ["SUCCEEDED", "FAILED", "FAILED", "SUCCEEDED"]
    for number, words, answer in ((2, "bakery", 502), (3, "observatory", 504)):
        assert scenes[number]["failure_code"] == "SUBMIT_IN_DOUBT"
        assert f"HTTP {answer}" in scenes[number]["failure"]
        creates = fake.creates_containing(words)
        assert [call.status for call in creates] == [answer], f"{words}: one create, never resubmitted"
        assert creates[0] in fake.paid_creates(), f"{words}: Runway made the task, and bills it"
    assert fake.paid_prompts_containing("harbour") == fake.paid_prompts_containing("lighthouse") == 1
    film = media.probe(tmp_path / manifest["video_id"] / "film.mp4")
    assert film.duration == pytest.approx(DURATIONS[1] + DURATIONS[4], abs=0.5)


def test_a_keyframe_animated_behind_a_gateway_error_fails_in_doubt_and_is_never_animated_again(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STF_RUNWAY_CONCURRENCY", "2")
    fake.on("harbour", Behaviour(latency=0.8, answer_status=504), endpoint="image_to_video")

    status, manifest = run(capsys, screenplay, tmp_path, "--model", "gen4_turbo", "--scenes", "1,2")

    assert status == 3
    assert manifest["status"] == "PARTIAL"
    harbour, bakery = manifest["scenes"]
    assert (harbour["status"], harbour["failure_code"]) == ("FAILED", "SUBMIT_IN_DOUBT")
    assert bakery["status"] == "SUCCEEDED"
    animations = [call for call in fake.creates_containing("harbour") if call.path == "/v1/image_to_video"]
    assert [call.status for call in animations] == [504], (
        "the poll that animates is never retried into a second"
    )


def test_gen4_turbo_films_from_keyframes(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STF_RUNWAY_CONCURRENCY", "2")
    status, manifest = run(capsys, screenplay, tmp_path, "--model", "gen4_turbo", "--scenes", "1,2")

    assert status == 0
    assert [call.path for call in fake.paid_creates()].count("/v1/text_to_image") == 2
    assert [call.path for call in fake.paid_creates()].count("/v1/image_to_video") == 2
    assert all(scene["provider_task_id"].startswith("keyframe/") for scene in manifest["scenes"])
    assert manifest["cost"]["credits"] == 2 * 5 + 5 * (DURATIONS[1] + DURATIONS[2])


def test_the_daily_cap_fails_the_scenes_it_stops_without_retrying(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("STF_RUNWAY_CONCURRENCY", "1")
    fake.daily_cap = 1

    status, manifest = run(capsys, screenplay, tmp_path, "--scenes", "1,2")

    assert status == 3
    capped = manifest["scenes"][1]
    assert (capped["status"], capped["failure_code"]) == ("FAILED", "DAILY_CAP")
    assert "daily generation cap reached" in capped["failure"]
    assert [call.status for call in fake.calls if call.method == "POST"] == [200, 429], (
        "asked once, not retried"
    )


def test_without_a_key_stf_run_refuses_before_anything_starts(
    fake: FakeRunway,
    screenplay: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET")

    status = main(["run", str(screenplay), "--provider", "runway", "--out", str(tmp_path / "out")])

    assert status == 2
    assert capsys.readouterr().err.strip() == "error: no Runway API key: set RUNWAYML_API_SECRET"
    assert not (tmp_path / "out").exists()
    assert fake.calls == []


def test_a_workflow_without_a_key_fails_each_scene_saying_what_to_set(
    fake: FakeRunway, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.local.stack import LocalStack
    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import start_video

    monkeypatch.delenv("RUNWAYML_API_SECRET")
    options = VideoOptions(provider="runway", poll_seconds=1, scene_timeout_seconds=10, scenes=[1])
    with LocalStack() as stack:
        video = stack.wait(start_video(stack.backend, SCREENPLAY, options), timeout=60)

    failed = video.scenes[0]
    assert video.status.value == "FAILED"
    assert failed.failure_code == "CONFIGURATION"
    assert "RUNWAYML_API_SECRET" in str(failed.failure)
    assert fake.calls == []


# The account decides ----------------------------------------------------------------------------


NINE_ROOMS = "\n".join(f"INT. ROOM {n} - DAY\n\nA clock ticks in room {n}.\n" for n in range(1, 10))


def test_scenes_run_at_the_tiers_concurrency_with_nothing_configured(
    fake: FakeRunway, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("STF_RUNWAY_CONCURRENCY", raising=False)
    fake.set_tier("gen4.5", max_concurrent=9, max_daily=None)
    # No task ends before nine exist: the film finishes only if its nine scenes run at once.
    fake.hold_until_created = 9
    screenplay = tmp_path / "nine-rooms.fountain"
    screenplay.write_text(NINE_ROOMS, encoding="utf-8")

    status, manifest = run(capsys, screenplay, tmp_path, "--scene-timeout", "60")

    assert status == 0, manifest
    assert manifest["limits"] == {"concurrency": 9, "source": "provider", "note": None}
    assert len(fake.paid_creates()) == 9
    assert fake.organization_reads(), "the account was asked"


def test_a_film_over_the_credit_balance_is_refused_before_any_create(
    fake: FakeRunway, screenplay: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.credit_balance = 100  # the four scenes are estimated at 156 credits

    status = main(["run", str(screenplay), "--provider", "runway", "--out", str(tmp_path / "out")])

    assert status == 2
    line = capsys.readouterr().err.strip()
    assert line.startswith("error: the film is estimated at 156 credits"), line
    assert "has 100 credits (US$1.00) left" in line
    assert fake.paid_creates() == []
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
