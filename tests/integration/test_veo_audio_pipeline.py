"""veo's `audio` through the whole pipeline on the embedded local stack: the option reaches each
scene's job, every veo create says whether it pays for sound, and the estimate is what is paid."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from script_to_film.adapters.providers.registry import reset_providers
from tests.fakes.runway_api import Behaviour, FakeRunway

HARBOUR = (
    "EXT. HARBOUR - DAWN\n\nGulls wheel over the boats.\n\nINT. BAKERY - DAY\n\nA baker slides loaves in.\n"
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeRunway]:
    with FakeRunway(default=Behaviour(latency=0.5)) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        reset_providers()
        yield running
    reset_providers()


@pytest.mark.parametrize(("model_audio", "per_second"), [(False, 10), (True, 15)])
def test_every_veo_create_of_a_film_says_whether_it_pays_for_sound(
    fake: FakeRunway, model_audio: bool, per_second: int
) -> None:
    from infra.local.stack import LocalStack
    from script_to_film.domain.options import VideoOptions
    from script_to_film.services.submission import start_video

    options = VideoOptions(
        provider="runway",
        model="veo3.1_fast",
        model_audio=model_audio,
        poll_seconds=1,
        scene_timeout_seconds=30,
    )
    with LocalStack() as stack:
        started = start_video(stack.backend, HARBOUR, options)
        video = stack.wait(started, timeout=90)

    creates = fake.paid_creates("text_to_video")
    assert video.status.value == "SUCCEEDED"
    assert len(creates) == 2
    assert all(call.body["audio"] is model_audio for call in creates)
    seconds = sum(int(call.body["duration"]) for call in creates)
    assert started.estimated_credits == video.credits == per_second * seconds
