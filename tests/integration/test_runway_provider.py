"""The Runway provider against a fake Runway API over real HTTP: the unmodified `runwayml` SDK sends
its real requests, so these show the wire format, the status mapping, the error classes, queueing,
cancellation, expiring outputs and the keyframe path as a deployment would meet them."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import runwayml

from script_to_film.adapters import media
from script_to_film.adapters.download import open_download
from script_to_film.adapters.providers.runway import DailyCapError, KeyframeTask, RunwayProvider
from script_to_film.domain.errors import (
    DownloadError,
    PermanentProviderError,
    SubmitInDoubtError,
    TransientProviderError,
)
from script_to_film.domain.models import Scene, SceneJob, Shot
from script_to_film.domain.ports import ProviderTask, TaskState
from tests.fakes.claims import MemoryClaims
from tests.fakes.runway_api import API_KEY, RUNWAY_VERSION, Behaviour, FakeRunway

FAST = Behaviour(latency=0.4)


def make_job(
    words: str = "a harbour at dawn",
    *,
    number: int = 1,
    model: str = "gen4.5",
    ratio: str = "1280:720",
    duration: int = 5,
    keyframe: bool = False,
) -> SceneJob:
    scene = Scene(number=number, heading="EXT. HARBOUR - DAWN", estimated_seconds=duration)
    shot = Shot(
        scene=number,
        camera="Wide establishing shot",
        lighting="dawn",
        environment="harbour",
        style="realistic",
        prompt=f"Wide establishing shot: {words}. Cinematic composition.",
        duration=duration,
        ratio=ratio,
        model=model,
        provider="runway",
    )
    return SceneJob(video_id="video-0123456789abcdef", scene=scene, shot=shot, keyframe=keyframe)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunway]:
    with FakeRunway(default=FAST) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        yield running


@pytest.fixture
def provider(fake: FakeRunway) -> RunwayProvider:
    return RunwayProvider()


def wait_for(
    provider: RunwayProvider, task_id: str, *, until: set[TaskState] | None = None, timeout: float = 10
) -> list[ProviderTask]:
    """Poll as the workflow does (following a new id when a poll reports one) until a final state."""
    wanted = until or {TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED}
    seen: list[ProviderTask] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = provider.status(task_id)
        seen.append(task)
        task_id = task.id
        if task.state in wanted:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"task {task_id} still {seen[-1].state} after {timeout} s")


# Success -------------------------------------------------------------------------------------


def test_a_shot_is_filmed_with_camel_case_json_and_streamed(
    fake: FakeRunway, provider: RunwayProvider, tmp_path: Path
) -> None:
    job = make_job(duration=5)

    task_id = provider.submit(job)
    seen = wait_for(provider, task_id)

    [create] = fake.paid_creates()
    assert create.path == "/v1/text_to_video"
    assert create.body == {
        "model": "gen4.5",
        "promptText": job.shot.prompt,
        "ratio": "1280:720",
        "duration": 5,
    }
    assert create.task_id == task_id
    running = [task for task in seen if task.state is TaskState.RUNNING]
    assert running and all(0 <= (task.progress or 0) < 1 and task.credits == 60 for task in running)
    done = seen[-1]
    assert (done.state, done.progress, done.credits, done.output_url) == (TaskState.SUCCEEDED, 1.0, 60, None)

    clip = tmp_path / "clip.mp4"
    with provider.open_output(done, job) as stream:
        clip.write_bytes(stream.read())
    info = media.probe(clip)
    assert info.duration == pytest.approx(5, abs=0.1)
    assert (info.width, info.height) == (1280, 720)


@pytest.mark.parametrize(
    ("model", "model_audio", "per_second"),
    [("veo3.1_fast", False, 10), ("veo3.1_fast", True, 15), ("veo3.1", False, 20), ("veo3.1", True, 40)],
)
def test_veo_is_asked_for_with_its_own_ratios_durations_and_always_an_explicit_audio(
    fake: FakeRunway, provider: RunwayProvider, model: str, model_audio: bool, per_second: int, tmp_path: Path
) -> None:
    job = make_job(model=model, ratio="1080:1920", duration=6).model_copy(update={"model_audio": model_audio})
    task_id = provider.submit(job)

    done = wait_for(provider, task_id)[-1]
    assert done.credits == per_second * 6
    clip = tmp_path / "veo.mp4"
    with provider.open_output(done, job) as stream:
        clip.write_bytes(stream.read())
    assert media.verify_clip(clip, 6).audio_codec == ("aac" if model_audio else None)
    assert fake.paid_creates()[0].body == {
        "model": model,
        "promptText": make_job().shot.prompt,
        "ratio": "1080:1920",
        "duration": 6,
        "audio": model_audio,
    }


def test_a_veo_create_without_audio_is_billed_with_sound_as_runway_does(fake: FakeRunway) -> None:
    fake.require_veo_audio = False  # the fake as lenient as Runway: no `audio` means sound, paid for
    client = runwayml.RunwayML(max_retries=0)
    created = client.text_to_video.create(
        model="veo3.1", prompt_text="a harbour", ratio="1280:720", duration=8
    )

    assert fake.snapshot(created.id)["estimatedCost"] == {"credits": 40 * 8}


def test_the_fake_refuses_a_veo_create_that_does_not_say_whether_it_pays_for_sound(fake: FakeRunway) -> None:
    client = runwayml.RunwayML(max_retries=0)
    with pytest.raises(runwayml.BadRequestError) as refused:
        client.text_to_video.create(
            model="veo3.1_fast", prompt_text="a harbour", ratio="1280:720", duration=4
        )

    assert "send audio explicitly" in str(refused.value.body)
    assert fake.paid_creates() == []


def test_a_model_without_sound_of_its_own_is_never_sent_audio(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    provider.submit(make_job(model="gen4.5"))
    assert "audio" not in fake.paid_creates()[0].body

    with pytest.raises(PermanentProviderError, match=r"gen4\.5 makes no sound") as refused:
        provider.submit(make_job(model="gen4.5").model_copy(update={"model_audio": True}))
    assert refused.value.code == "INPUT.AUDIO"
    assert len(fake.calls) == 1


# Validation like the real API ----------------------------------------------------------------


GEN45 = {"model": "gen4.5", "ratio": "1280:720", "duration": 5}
DENIED, BAD = runwayml.PermissionDeniedError, runwayml.BadRequestError


@pytest.mark.parametrize(
    ("params", "error", "message"),
    [
        ({**GEN45, "model": "gen3a_turbo"}, DENIED, "Model variant gen3a_turbo is not available"),
        ({**GEN45, "ratio": "16:9"}, BAD, "ratio must be one of"),
        ({**GEN45, "duration": 11}, BAD, "duration must be one of"),
        ({**GEN45, "model": "veo3.1"}, BAD, "duration must be one of"),
        ({**GEN45, "prompt_text": "🎬" * 500 + "!"}, BAD, "promptText must be at most 1000"),
    ],
    ids=["retired-model", "ratio-16:9", "duration-11", "veo-duration-5", "prompt-1001-units"],
)
def test_the_fake_refuses_what_runway_refuses(
    fake: FakeRunway, params: dict[str, object], error: type[runwayml.APIStatusError], message: str
) -> None:
    client = runwayml.RunwayML(max_retries=0)
    with pytest.raises(error) as refused:
        client.text_to_video.create(**{"prompt_text": "a harbour", **params})  # type: ignore[call-overload]
    assert message in str(refused.value.body)
    assert fake.paid_creates() == []


TURBO = {"model": "gen4_turbo", "ratio": "1280:720", "promptText": "x"}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/v1/image_to_video", TURBO, "promptImage is required"),
        (
            "/v1/image_to_video",
            {**TURBO, "model": "gen3a_turbo", "promptImage": "https://x/y.png"},
            "Model variant",
        ),
        ("/v1/text_to_video", {**GEN45, "promptText": "x", "watermark": False}, "watermark"),
        (
            "/v1/text_to_image",
            {"model": "gen4_image", "ratio": "16:9", "promptText": "x"},
            "ratio must be one of",
        ),
    ],
    ids=["no-prompt-image", "retired-image-model", "watermark", "image-ratio"],
)
def test_bodies_the_sdk_would_not_even_send_are_refused_too(
    fake: FakeRunway, path: str, body: dict[str, object], message: str
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Runway-Version": RUNWAY_VERSION}
    answer = httpx.post(f"{fake.base_url}{path}", json=body, headers=headers)

    assert answer.status_code in (400, 403)
    assert message in answer.json()["error"]


def test_the_key_and_the_api_version_are_checked(fake: FakeRunway) -> None:
    body = {"model": "gen4.5", "ratio": "1280:720", "duration": 5, "promptText": "x"}
    no_version = httpx.post(
        f"{fake.base_url}/v1/text_to_video", json=body, headers={"Authorization": f"Bearer {API_KEY}"}
    )
    assert no_version.status_code == 401
    with pytest.raises(runwayml.AuthenticationError):
        runwayml.RunwayML(api_key="key_wrong", max_retries=0).tasks.retrieve("any")


def test_a_refused_key_is_permanent_and_read_again_on_the_next_call(fake: FakeRunway) -> None:
    keys = iter(["key_revoked", API_KEY])
    provider = RunwayProvider(api_key=lambda: next(keys))

    with pytest.raises(PermanentProviderError) as refused:
        provider.submit(make_job())
    assert refused.value.code == "AUTH"
    assert "key_revoked" not in str(refused.value)

    assert wait_for(provider, provider.submit(make_job()))[-1].state is TaskState.SUCCEEDED


# THROTTLED: queued beyond the concurrency limit ----------------------------------------------


class ManualClock:
    """The fake's time, moved by the test alone."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_work_beyond_the_concurrency_limit_is_throttled_then_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = ManualClock()
    with FakeRunway(default=FAST, concurrency=1, clock=clock) as fake:
        for name, value in fake.env().items():
            monkeypatch.setenv(name, value)
        provider = RunwayProvider()
        tasks = [provider.submit(make_job(f"scene {n}", number=n)) for n in (1, 2, 3)]

        def states() -> list[TaskState]:
            return [provider.status(task).state for task in tasks]

        seen = [states()]
        queued = provider.status(tasks[2])
        for _ in tasks:
            clock.now += FAST.latency  # one task's generation time: the running one ends
            seen.append(states())
        runs = sorted((fake.tasks[task].started_at or 0, task) for task in tasks)
        ends = [fake.tasks[task].ends_at for task in tasks[:2]]
        starts = [fake.tasks[task].started_at for task in tasks[1:]]

    running, throttled, succeeded = TaskState.RUNNING, TaskState.THROTTLED, TaskState.SUCCEEDED
    assert seen == [
        [running, throttled, throttled],
        [succeeded, running, throttled],
        [succeeded, succeeded, running],
        [succeeded, succeeded, succeeded],
    ]
    assert (queued.progress, queued.credits) == (0.0, 60), "queued work shows its estimate"
    assert [task for _, task in runs] == tasks, "the queue starts in order"
    assert starts == ends, "each starts as the slot before frees"


# 429 and 5xx -----------------------------------------------------------------------------------


def test_a_429_without_retry_after_is_the_daily_cap_and_is_asked_once(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.daily_cap = 1
    provider.submit(make_job("the first"))

    with pytest.raises(DailyCapError) as capped:
        provider.submit(make_job("the second"))

    assert capped.value.code == "DAILY_CAP"
    assert "daily generation cap reached" in str(capped.value)
    assert [call.status for call in fake.calls if call.method == "POST"] == [200, 429], (
        "the SDK did not retry"
    )


def test_a_429_with_retry_after_is_transient(fake: FakeRunway, provider: RunwayProvider) -> None:
    fake.fail_next(1, status=429, retry_after="2")

    with pytest.raises(TransientProviderError) as limited:
        provider.submit(make_job())

    assert limited.value.code == "RATE_LIMITED"
    assert len([call for call in fake.calls if call.method == "POST"]) == 1
    assert provider.submit(make_job())


def test_a_503_with_retry_after_is_transient_and_the_retry_is_paid_once(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.fail_next(1, status=503, retry_after="1")

    with pytest.raises(TransientProviderError) as unavailable:
        provider.submit(make_job())
    assert unavailable.value.code == "UNAVAILABLE"
    assert provider.submit(make_job())

    assert [call.status for call in fake.calls] == [503, 200], "the SDK did not retry on its own"
    assert len(fake.paid_creates()) == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_any_other_error_answer_to_a_create_is_in_doubt_and_never_repeated(
    fake: FakeRunway, provider: RunwayProvider, status: int
) -> None:
    fake.fail_next(1, status=status)

    with pytest.raises(SubmitInDoubtError):
        provider.submit(make_job())

    assert [call.status for call in fake.calls] == [status], "the SDK did not retry"


@pytest.mark.parametrize("status", [502, 504])
def test_a_create_runway_accepted_behind_a_gateway_error_is_in_doubt(
    fake: FakeRunway, provider: RunwayProvider, status: int
) -> None:
    fake.on("harbour", Behaviour(latency=0.4, answer_status=status))

    with pytest.raises(SubmitInDoubtError, match=f"HTTP {status}"):
        provider.submit(make_job("a harbour at dawn"))

    (paid,) = fake.paid_creates()
    assert paid.status == status, "the task exists and is billed, though the answer was an error"
    assert fake.creates_containing("harbour") == [paid]


def test_a_5xx_blip_on_status_is_absorbed_and_an_outage_is_transient(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.on("never", Behaviour(never_finishes=True))
    task_id = provider.submit(make_job("a shot that never ends"))
    fake.fail_next(1, status=502, kind="task")
    assert provider.status(task_id).state is TaskState.RUNNING, "the SDK read it again once"

    fake.fail_next(5, status=503, kind="task")
    with pytest.raises(TransientProviderError):
        provider.status(task_id)


def test_runway_out_of_reach_is_transient(monkeypatch: pytest.MonkeyPatch, fake: FakeRunway) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    monkeypatch.setenv("RUNWAYML_BASE_URL", f"http://127.0.0.1:{closed}")
    provider = RunwayProvider()

    with pytest.raises(TransientProviderError) as unreachable:
        provider.submit(make_job())
    assert unreachable.value.code == "CONNECTION"
    with pytest.raises(TransientProviderError):
        provider.status("0b1c2d3e-aaaa-bbbb-cccc-0123456789ab")


def test_a_create_that_was_sent_but_never_answered_is_in_doubt_and_not_repeated(fake: FakeRunway) -> None:
    fake.create_delay = 1.5
    provider = RunwayProvider(create_timeout_seconds=0.3)

    with pytest.raises(SubmitInDoubtError):
        provider.submit(make_job())

    assert len(fake.paid_creates()) == 1, "Runway made (and bills) the task; it was asked for once"


# SAFETY and INTERNAL failures ------------------------------------------------------------------


def test_a_moderated_prompt_fails_with_runways_code_and_is_billed(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.on(
        "lighthouse",
        Behaviour(latency=0.2, failure_code="SAFETY.INPUT.TEXT", failure="The prompt was flagged."),
    )

    failed = wait_for(provider, provider.submit(make_job("a lighthouse in a storm")))[-1]

    assert failed.state is TaskState.FAILED
    assert failed.failure_code == "SAFETY.INPUT.TEXT"
    assert failed.failure == "Runway: The prompt was flagged."
    assert failed.credits == 60, "moderated generations still cost credits"


def test_an_internal_failure_is_reported_for_the_workflow_to_resubmit(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.on("bakery", Behaviour(latency=0.2, failure_code="INTERNAL.BAD_OUTPUT.CODE01", failing_tries=1))

    failed = wait_for(provider, provider.submit(make_job("a bakery")))[-1]
    again = wait_for(provider, provider.submit(make_job("a bakery")))[-1]

    assert (failed.state, failed.failure_code, failed.credits) == (
        TaskState.FAILED,
        "INTERNAL.BAD_OUTPUT.CODE01",
        0,
    )
    assert again.state is TaskState.SUCCEEDED


# Expiring output URLs --------------------------------------------------------------------------


def test_output_urls_expire_so_the_clip_is_fetched_from_a_fresh_one(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.output_ttl = 0.3
    job = make_job()
    done = wait_for(provider, provider.submit(job))[-1]
    old_url = runwayml.RunwayML().tasks.retrieve(done.id).output[0]  # type: ignore[union-attr]
    time.sleep(0.5)

    with pytest.raises(DownloadError) as expired, open_download(old_url):
        pass
    assert expired.value.status_code == 403
    assert "sig=" not in str(expired.value), "a signed URL is never shown whole"

    with provider.open_output(done, job) as stream:
        assert stream.read(12)[4:8] == b"ftyp"


# Cancellation and timeouts -------------------------------------------------------------------


def test_cancel_deletes_the_task_at_runway(fake: FakeRunway, provider: RunwayProvider) -> None:
    fake.on("never", Behaviour(never_finishes=True))
    task_id = provider.submit(make_job("a shot that never ends"))
    assert provider.status(task_id).state is TaskState.RUNNING

    provider.cancel(task_id)

    assert fake.deletes() == [task_id]
    assert fake.snapshot(task_id)["status"] == "CANCELLED"
    assert provider.status(task_id).state is TaskState.CANCELLED, "Runway answers 404 for a deleted task"
    provider.cancel(task_id)  # already gone: fine


def test_a_throttled_task_cancelled_frees_nothing_it_never_held_and_costs_nothing(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.concurrency = 1
    running, queued = provider.submit(make_job("first")), provider.submit(make_job("second"))
    assert provider.status(queued).state is TaskState.THROTTLED

    provider.cancel(queued)

    assert fake.snapshot(queued)["cost"] == {"credits": 0}
    assert wait_for(provider, running)[-1].state is TaskState.SUCCEEDED


# The keyframe path ------------------------------------------------------------------------------


def keyframe_provider(job: SceneJob, claims: MemoryClaims | None = None) -> RunwayProvider:
    shared = claims or MemoryClaims()
    return RunwayProvider(load_job=lambda video_id, scene: job, claims=lambda: shared)


def test_a_later_shot_is_animated_from_its_own_prompt_and_length(fake: FakeRunway) -> None:
    master = make_job("an observatory dome", model="gen4_turbo", ratio="1104:832", duration=5)
    close_up = master.shot.model_copy(
        update={"number": 2, "prompt": "Close-up on the astronomer: she smiles.", "duration": 3}
    )
    job = master.model_copy(update={"shots": [master.shot, close_up]})
    provider = keyframe_provider(job)  # loads the scene's job, as the workflow stores it

    task_id = provider.submit(job.at(2))
    assert KeyframeTask.parse(task_id).shot == 2  # type: ignore[union-attr]
    assert wait_for(provider, task_id)[-1].state is TaskState.SUCCEEDED

    image_create, video_create = fake.paid_creates()
    assert image_create.body["promptText"] == video_create.body["promptText"] == close_up.prompt
    assert video_create.body["duration"] == 3


def test_the_keyframe_path_makes_an_image_then_animates_it(fake: FakeRunway, tmp_path: Path) -> None:
    job = make_job("an observatory dome", model="gen4_turbo", ratio="1104:832", duration=5)
    provider = keyframe_provider(job)

    first_id = provider.submit(job)
    assert KeyframeTask.parse(first_id) == KeyframeTask(job.video_id, 1, fake.paid_creates()[0].task_id or "")
    seen = wait_for(provider, first_id)

    image_create, video_create = fake.paid_creates()
    assert image_create.path == "/v1/text_to_image"
    assert image_create.body == {"model": "gen4_image", "promptText": job.shot.prompt, "ratio": "960:720"}
    assert video_create.path == "/v1/image_to_video"
    prompt_image = video_create.body.pop("promptImage")
    assert prompt_image.startswith(f"{fake.base_url}/outputs/{image_create.task_id}.png?")
    assert video_create.body == {
        "model": "gen4_turbo",
        "promptText": job.shot.prompt,
        "ratio": "1104:832",
        "duration": 5,
    }

    progress = [task.progress for task in seen if task.progress is not None]
    assert progress == sorted(progress), "the bar only moves forward across the two stages"
    making = [task for task in seen if task.id == first_id]
    assert all((task.progress or 0) <= 0.2 for task in making)
    done = seen[-1]
    assert done.state is TaskState.SUCCEEDED
    assert KeyframeTask.parse(done.id) == KeyframeTask(
        job.video_id, 1, str(image_create.task_id), 5, video_create.task_id
    )
    assert done.credits == 5 + 5 * 5, "the keyframe's credits and the video's"
    assert len(fake.paid_creates("image_to_video")) == 1, "polls after the keyframe never start another video"

    clip = tmp_path / "clip.mp4"
    with provider.open_output(done, job) as stream:
        clip.write_bytes(stream.read())
    assert media.probe(clip).duration == pytest.approx(5, abs=0.1)


def test_a_poll_retried_after_the_video_create_never_pays_for_a_second_video(fake: FakeRunway) -> None:
    job = make_job("a lighthouse", model="gen4_turbo")
    provider = keyframe_provider(job)
    keyframe_id = provider.submit(job)
    while (first := provider.status(keyframe_id)).id == keyframe_id and first.state is not TaskState.FAILED:
        time.sleep(0.1)

    again = provider.status(keyframe_id)  # the same CheckScene input, delivered again

    assert KeyframeTask.parse(again.id) == KeyframeTask.parse(first.id)
    assert len(fake.paid_creates("image_to_video")) == 1


def test_a_video_create_claimed_and_never_recorded_is_not_tried_again(fake: FakeRunway) -> None:
    job = make_job("a harbour", model="gen4_turbo")
    claims = MemoryClaims()
    provider = keyframe_provider(job, claims)
    keyframe_id = provider.submit(job)
    task = KeyframeTask.parse(keyframe_id)
    assert task is not None
    while fake.snapshot(task.image_task)["status"] != "SUCCEEDED":
        time.sleep(0.1)
    # An earlier delivery of this poll claimed the create and died before recording its answer.
    claims.claim_once(job.video_id, f"KEYFRAME#001#{task.image_task}", "a crashed poll")

    with pytest.raises(SubmitInDoubtError):
        provider.status(keyframe_id)

    assert fake.paid_creates("image_to_video") == []


@pytest.mark.parametrize("status", [502, 504])
def test_a_video_create_in_doubt_keeps_its_claim_so_a_retried_poll_never_creates_again(
    fake: FakeRunway, status: int
) -> None:
    job = make_job("a harbour", model="gen4_turbo")
    claims = MemoryClaims()
    provider = keyframe_provider(job, claims)
    fake.on("harbour", Behaviour(latency=0.4, answer_status=status), endpoint="image_to_video")
    keyframe_id = provider.submit(job)
    task = KeyframeTask.parse(keyframe_id)
    assert task is not None
    while fake.snapshot(task.image_task)["status"] != "SUCCEEDED":
        time.sleep(0.05)

    with pytest.raises(SubmitInDoubtError, match=f"HTTP {status}"):
        provider.status(keyframe_id)
    with pytest.raises(SubmitInDoubtError, match="never recorded"):
        provider.status(keyframe_id)  # CheckScene delivered again

    (video_create,) = fake.creates_containing("harbour")[1:]
    assert (video_create.path, video_create.status) == ("/v1/image_to_video", status)
    assert fake.paid_creates("image_to_video") == [video_create]
    assert claims.claims == {(job.video_id, f"KEYFRAME#001#{task.image_task}"): None}, "claimed, unrecorded"


def test_a_video_create_runway_turned_away_gives_its_claim_back(fake: FakeRunway) -> None:
    job = make_job("a harbour", model="gen4_turbo")
    claims = MemoryClaims()
    provider = keyframe_provider(job, claims)
    keyframe_id = provider.submit(job)
    task = KeyframeTask.parse(keyframe_id)
    assert task is not None
    while fake.snapshot(task.image_task)["status"] != "SUCCEEDED":
        time.sleep(0.05)
    fake.fail_next(1, status=429, retry_after="1")

    with pytest.raises(TransientProviderError):
        provider.status(keyframe_id)
    assert claims.claims == {}
    animating = provider.status(keyframe_id)  # the retried poll

    assert KeyframeTask.parse(animating.id) == KeyframeTask(
        job.video_id, 1, task.image_task, 5, fake.paid_creates("image_to_video")[0].task_id
    )
    assert [call.status for call in fake.calls if call.path == "/v1/image_to_video"] == [429, 200]


def test_gen45_takes_the_keyframe_path_when_the_job_asks(fake: FakeRunway) -> None:
    job = make_job("a ferry", keyframe=True)
    provider = keyframe_provider(job)

    done = wait_for(provider, provider.submit(job))[-1]

    assert done.state is TaskState.SUCCEEDED
    assert [call.path for call in fake.paid_creates()] == ["/v1/text_to_image", "/v1/image_to_video"]
    assert fake.paid_creates()[1].body["model"] == "gen4.5"


def test_a_moderated_keyframe_fails_the_shot_before_any_video_is_paid_for(fake: FakeRunway) -> None:
    fake.on("storm", Behaviour(latency=0.2, failure_code="SAFETY.INPUT.TEXT", failure="Flagged."))
    job = make_job("a storm", model="gen4_turbo")
    provider = keyframe_provider(job)

    failed = wait_for(provider, provider.submit(job))[-1]

    assert (failed.state, failed.failure_code) == (TaskState.FAILED, "SAFETY.INPUT.TEXT")
    assert failed.failure == "Runway (keyframe image): Flagged."
    assert fake.paid_creates("image_to_video") == []


def test_cancelling_on_the_keyframe_path_cancels_the_stage_under_way(fake: FakeRunway) -> None:
    fake.on("endless", Behaviour(never_finishes=True))
    job = make_job("an endless corridor", model="gen4_turbo")
    provider = keyframe_provider(job)
    task_id = provider.submit(job)

    provider.cancel(task_id)

    assert fake.deletes() == [fake.paid_creates()[0].task_id]
    assert provider.status(task_id).state is TaskState.CANCELLED


# Secrets and signed URLs stay out of logs ------------------------------------------------------


def test_neither_the_key_nor_a_signed_url_is_ever_logged(
    fake: FakeRunway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    job = make_job("a quiet street", model="gen4_turbo")
    provider = keyframe_provider(job)

    done = wait_for(provider, provider.submit(job))[-1]
    with provider.open_output(done, job) as stream:
        stream.read()

    assert caplog.records, "the SDK and httpx logged at DEBUG"
    assert API_KEY not in caplog.text
    assert "sig=" not in caplog.text
