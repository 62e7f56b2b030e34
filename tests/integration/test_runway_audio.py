"""Runway's voices and sound against the fake Runway API over real HTTP: the unmodified SDK sends
`text_to_speech` and `sound_effect` creates, the tasks are polled, cancelled and classified like
video tasks, and what comes back is real audio, streamed through the downloader and verified."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from script_to_film.adapters import media
from script_to_film.adapters.providers import runway
from script_to_film.adapters.providers.runway import DailyCapError, RunwayProvider
from script_to_film.domain import cost
from script_to_film.domain.account import generations_needed, plan_run, read_limits
from script_to_film.domain.audio_tasks import (
    SoundRequest,
    SpeechRequest,
    ambience_request,
    audio_generations,
    speech_requests,
)
from script_to_film.domain.catalog import utf16_len
from script_to_film.domain.errors import (
    DailyAllowanceError,
    DownloadError,
    InsufficientCreditsError,
    InvalidClipError,
    PermanentProviderError,
    SubmitInDoubtError,
    TransientProviderError,
)
from script_to_film.domain.models import DialogueLine, IntExt, Scene, SceneJob, Shot
from script_to_film.domain.ports import AudioProvider, ProviderTask, TaskState
from tests.fakes.runway_api import (
    API_KEY,
    RUNWAY_VERSION,
    SPEAKING_CHARS_PER_SECOND,
    Behaviour,
    FakeRunway,
)

LINE = "I waited at the harbour all night. Nobody came."


class Clock:
    """The fake's time, moved by the test: a task's state never depends on the machine's speed."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch, clock: Clock) -> Iterator[FakeRunway]:
    with FakeRunway(default=Behaviour(latency=2.0), clock=clock) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        yield running


@pytest.fixture
def provider(fake: FakeRunway) -> RunwayProvider:
    return RunwayProvider()


def finish(provider: RunwayProvider, clock: Clock, task_id: str) -> tuple[ProviderTask, ProviderTask]:
    """The task as polled while it runs, then once its latency has passed."""
    running = provider.status(task_id)
    clock.now += 10
    return running, provider.status(task_id)


def fetch(provider: RunwayProvider, task: ProviderTask, out: Path) -> Path:
    with provider.open_audio(task) as stream, out.open("wb") as file:
        while chunk := stream.read(64 * 1024):
            file.write(chunk)
    return out


def harbour(action: str = "Rain drums on the tin roofs.") -> Scene:
    return Scene(
        number=2,
        heading="EXT. HARBOUR - NIGHT",
        int_ext=IntExt.EXT,
        location="HARBOUR",
        time_of_day="NIGHT",
        action=action,
        estimated_seconds=40,
    )


def video_job() -> SceneJob:
    shot = Shot(
        scene=2,
        camera="Wide shot",
        lighting="night",
        environment="harbour",
        style="realistic",
        prompt="Wide shot: the harbour at night.",
        duration=5,
        ratio="1280:720",
        model="gen4.5",
        provider="runway",
    )
    return SceneJob(video_id="video-0123456789abcdef", scene=harbour(), shot=shot)


# Speech ---------------------------------------------------------------------------------------


def test_a_line_is_spoken_in_a_preset_voice_and_comes_back_as_real_speech(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock, tmp_path: Path
) -> None:
    task_id = provider.submit_speech(SpeechRequest(text=LINE, voice="Maya"))

    [create] = fake.paid_creates()
    assert create.path == "/v1/text_to_speech"
    assert create.body == {
        "model": "eleven_multilingual_v2",
        "promptText": LINE,
        "voice": {"type": "runway-preset", "presetId": "Maya"},
    }
    running, done = finish(provider, clock, task_id)
    assert (running.state, running.credits) == (TaskState.RUNNING, 1)
    assert (done.state, done.credits, done.output_url) == (TaskState.SUCCEEDED, 1, None)

    audio = media.verify_audio(
        fetch(provider, done, tmp_path / "line.mp3"), len(LINE) / SPEAKING_CHARS_PER_SECOND
    )
    assert (audio.codec, audio.sample_rate, audio.channels) == ("mp3", 44100, 1)


def test_a_long_line_is_several_tasks_each_within_the_limit_and_priced_as_estimated(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock
) -> None:
    speech = "The tide came in over the stones, slow and grey. " * 30  # 1,500 characters

    tasks = [provider.submit_speech(request) for request in speech_requests(speech, "Bernard")]
    charged = [finish(provider, clock, task)[1].credits for task in tasks]

    creates = fake.paid_creates("text_to_speech")
    assert len(creates) == len(tasks) == 2
    assert all(utf16_len(call.body["promptText"]) <= 1000 for call in creates)
    assert " ".join(call.body["promptText"] for call in creates) == speech.strip()
    assert (
        sum(c or 0 for c in charged)
        == cost.speech_credits([speech])
        == sum(math.ceil(len(call.body["promptText"]) / 50) for call in creates)
    )


def test_a_voice_runway_does_not_have_is_refused_before_anything_is_sent(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    with pytest.raises(PermanentProviderError) as refused:
        provider.submit_speech(SpeechRequest(text=LINE, voice="alloy"))

    assert refused.value.code == "INPUT.VOICE"
    assert fake.calls == []


# Sound ----------------------------------------------------------------------------------------


def test_a_scenes_ambience_is_a_looped_sound_as_long_as_the_model_makes(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock, tmp_path: Path
) -> None:
    request = ambience_request(harbour(), seconds=40)

    running, done = finish(provider, clock, provider.submit_sound(request))

    [create] = fake.paid_creates("sound_effect")
    assert create.body == {
        "model": "eleven_text_to_sound_v2",
        "promptText": request.prompt,
        "duration": 30.0,
        "loop": True,
    }
    assert "harbour, outdoors, night" in request.prompt
    assert (running.credits, done.credits) == (2, 2)  # estimated at the most, charged 2 beyond 10 s
    audio = media.verify_audio(fetch(provider, done, tmp_path / "ambience.mp3"), 30.0)
    assert audio.codec == "mp3"


def test_a_short_sound_is_charged_less_than_its_estimate(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock
) -> None:
    running, done = finish(
        provider, clock, provider.submit_sound(SoundRequest(prompt="a door slams", duration=1.5))
    )

    assert (running.credits, done.credits) == (cost.sound_credits(1), 1)


# Validation as the SDK types describe it -------------------------------------------------------

SPEECH: dict[str, Any] = {
    "model": "eleven_multilingual_v2",
    "promptText": "Hello.",
    "voice": {"type": "runway-preset", "presetId": "Maya"},
}
SOUND: dict[str, Any] = {
    "model": "eleven_text_to_sound_v2",
    "promptText": "rain",
    "duration": 5,
    "loop": True,
}


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("text_to_speech", {**SPEECH, "model": "eleven_monolingual_v1"}, "model must be one of"),
        ("text_to_speech", {**SPEECH, "promptText": "😀" * 500 + "!"}, "at most 1000"),
        ("text_to_speech", {**SPEECH, "promptText": "   "}, "non-empty"),
        ("text_to_speech", {k: v for k, v in SPEECH.items() if k != "voice"}, "voice is required"),
        ("text_to_speech", {**SPEECH, "voice": {"type": "custom", "presetId": "Maya"}}, "voice.type"),
        ("text_to_speech", {**SPEECH, "voice": {"type": "runway-preset", "presetId": "alloy"}}, "presetId"),
        (
            "text_to_speech",
            {**SPEECH, "voice": {"type": "runway-preset", "preset_id": "Maya"}},
            "voice must be",
        ),
        ("text_to_speech", {**SPEECH, "speed": 1.1}, "unrecognized key(s) speed"),
        ("sound_effect", {**SOUND, "duration": 0.4}, "duration must be"),
        ("sound_effect", {**SOUND, "duration": 30.5}, "duration must be"),
        ("sound_effect", {**SOUND, "duration": "5"}, "duration must be"),
        ("sound_effect", {**SOUND, "duration": True}, "duration must be"),
        ("sound_effect", {**SOUND, "loop": "yes"}, "loop must be a boolean"),
        ("sound_effect", {k: v for k, v in SOUND.items() if k != "promptText"}, "promptText is required"),
        ("sound_effect", {**SOUND, "model": "mirelo_sfx_2_0"}, "model must be one of"),
    ],
    ids=[
        "unknown-model",
        "1001-units",
        "blank",
        "no-voice",
        "voice-type",
        "unknown-preset",
        "snake-case-preset",
        "extra-field",
        "too-short",
        "too-long",
        "duration-string",
        "duration-bool",
        "loop-string",
        "no-prompt",
        "sound-model-not-served",
    ],
)
def test_the_fake_refuses_what_the_sdks_types_do_not_allow(
    fake: FakeRunway, path: str, body: dict[str, Any], message: str
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Runway-Version": RUNWAY_VERSION}
    answer = httpx.post(f"{fake.base_url}/v1/{path}", json=body, headers=headers)

    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert fake.paid_creates() == []


@pytest.mark.parametrize(("path", "body"), [("text_to_speech", SPEECH), ("sound_effect", SOUND)])
def test_a_create_answers_its_id_and_the_most_it_may_charge(
    fake: FakeRunway, path: str, body: dict[str, Any]
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}", "X-Runway-Version": RUNWAY_VERSION}
    answer = httpx.post(f"{fake.base_url}/v1/{path}", json=body, headers=headers).json()

    assert set(answer) == {"id", "estimatedCost"}
    assert answer["estimatedCost"]["credits"] >= 1


# Creates classified as video creates are ------------------------------------------------------


def test_an_answer_that_proves_nothing_was_made_is_transient(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.fail_next(1, status=503, retry_after="3")
    with pytest.raises(TransientProviderError) as unavailable:
        provider.submit_speech(SpeechRequest(text=LINE, voice="Maya"))
    fake.fail_next(1, status=429, retry_after="1")
    with pytest.raises(TransientProviderError) as limited:
        provider.submit_sound(SoundRequest(prompt="rain", duration=4))

    assert (unavailable.value.code, limited.value.code) == ("UNAVAILABLE", "RATE_LIMITED")
    assert fake.paid_creates() == []


def test_an_answer_after_the_task_may_have_been_made_is_in_doubt_and_never_repeated(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    fake.on("gateway", Behaviour(answer_status=504), endpoint="sound_effect")

    with pytest.raises(SubmitInDoubtError):
        provider.submit_sound(SoundRequest(prompt="gateway hum", duration=4))
    assert len(fake.paid_creates("sound_effect")) == 1  # made and billed; the provider cannot know
    assert len(fake.creates_containing("gateway")) == 1  # and not sent again behind our back


def test_the_daily_cap_is_permanent(fake: FakeRunway, provider: RunwayProvider) -> None:
    fake.daily_cap = 0
    with pytest.raises(DailyCapError):
        provider.submit_speech(SpeechRequest(text=LINE, voice="Maya"))


def test_a_connection_that_never_opened_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeRunway() as gone:
        env = gone.env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)  # the port is closed now: nothing listens there

    with pytest.raises(TransientProviderError) as refused:
        RunwayProvider().submit_sound(SoundRequest(prompt="rain", duration=4))
    assert refused.value.code == "CONNECTION"


# Cancel and failures --------------------------------------------------------------------------


def test_an_audio_task_can_be_cancelled_like_a_video_task(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock
) -> None:
    fake.on("foghorn", Behaviour(never_finishes=True))
    task_id = provider.submit_sound(SoundRequest(prompt="a foghorn far away", duration=8, loop=True))
    assert provider.status(task_id).state is TaskState.RUNNING

    provider.cancel(task_id)

    assert fake.deletes() == [task_id]
    assert provider.status(task_id).state is TaskState.CANCELLED
    provider.cancel(task_id)  # one Runway no longer has is fine


def test_a_moderated_line_fails_with_its_code(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock
) -> None:
    fake.on(
        "forbidden words", Behaviour(latency=1, failure_code="SAFETY.INPUT.TEXT"), endpoint="text_to_speech"
    )

    _, done = finish(
        provider, clock, provider.submit_speech(SpeechRequest(text="Forbidden words.", voice="Kirk"))
    )

    assert (done.state, done.failure_code) == (TaskState.FAILED, "SAFETY.INPUT.TEXT")


def test_the_runway_provider_is_an_audio_provider(provider: RunwayProvider) -> None:
    audio: AudioProvider = provider
    assert audio.name == "runway"


# What counts as audio -------------------------------------------------------------------------


def test_audio_of_the_wrong_length_or_cut_short_or_not_audio_does_not_count(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock, tmp_path: Path
) -> None:
    _, done = finish(provider, clock, provider.submit_sound(SoundRequest(prompt="wind", duration=12)))
    whole = fetch(provider, done, tmp_path / "wind.mp3")

    with pytest.raises(InvalidClipError, match=r"12\.0\d s long"):
        media.verify_audio(whole, 20)
    cut = tmp_path / "cut.mp3"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3])  # its header still says 12 s
    with pytest.raises(InvalidClipError, match=r"cut short or corrupt: [34]\.\d\d s of its 12\.00 s"):
        media.verify_audio(cut)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(whole.read_bytes()[: whole.stat().st_size // 3] + b"\xff\xfb" + bytes(64))
    with pytest.raises(InvalidClipError, match="cut short or corrupt"):
        media.verify_audio(corrupt, 12)
    text = tmp_path / "text.mp3"
    text.write_text("not audio")
    with pytest.raises(InvalidClipError, match="not a readable audio file"):
        media.verify_audio(text)


# The account preflight ------------------------------------------------------------------------


def _dialogue_scene(number: int, *lines: str) -> Scene:
    spoken = [DialogueLine(character="MARA", text=text) for text in lines]
    return harbour().model_copy(update={"number": number, "dialogue": spoken})


def test_the_preflight_counts_voices_and_sound_against_their_models_allowances_and_the_balance(
    fake: FakeRunway, provider: RunwayProvider
) -> None:
    scenes = [_dialogue_scene(1, LINE, "Yes."), _dialogue_scene(2, "x" * 120)]
    video = 2 * 5 * 12  # two 5-second gen4.5 shots
    audio = cost.audio_estimate(scenes)
    needed = generations_needed("gen4.5", len(scenes)) | audio_generations(scenes)
    assert needed == {"gen4.5": 2, "eleven_multilingual_v2": 3, "eleven_text_to_sound_v2": 2}

    def preflight() -> None:
        limits = read_limits(provider, list(needed), fallback_concurrency=1)
        plan_run(
            limits,
            estimate_credits=video + audio.credits,
            generations=needed,
            configured_cap=None,
            map_max=40,
        )

    fake.credit_balance = video + audio.credits
    preflight()  # exactly enough
    fake.credit_balance = video + audio.credits - 1
    provider = RunwayProvider()  # a fresh account answer
    with pytest.raises(InsufficientCreditsError):
        preflight()

    fake.credit_balance = 10_000
    fake.set_tier("eleven_multilingual_v2", max_concurrent=2, max_daily=2)
    provider = RunwayProvider()
    with pytest.raises(DailyAllowanceError, match="3 eleven_multilingual_v2 generations but only 2"):
        preflight()


def test_an_audio_download_is_capped_and_must_be_audio(
    fake: FakeRunway, provider: RunwayProvider, clock: Clock, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _, done = finish(provider, clock, provider.submit_sound(SoundRequest(prompt="surf", duration=20)))
    monkeypatch.setattr(runway, "AUDIO_MAX_BYTES", 64 * 1024)  # 20 s of MP3 is about 320 KB
    with pytest.raises(DownloadError, match="over the 65536 allowed"):
        fetch(provider, done, tmp_path / "surf.mp3")

    _, clip = finish(provider, clock, provider.submit(video_job()))
    with pytest.raises(DownloadError, match="serves 'video/mp4', not one of"):
        fetch(provider, clip, tmp_path / "clip.mp3")  # a video is not taken for sound
