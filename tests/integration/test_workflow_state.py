"""The promises that keep state honest when Lambdas are retried or events arrive late
(RELIABILITY.md 6–8 and 13): one paid submit per try, one transition table, one run per video."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.domain.errors import BudgetExceededError, SubmitInDoubtError
from script_to_film.domain.limits import MAX_SCENES
from script_to_film.domain.models import SceneJob, SceneStatus
from script_to_film.domain.options import VideoOptions
from script_to_film.services.submission import TooManyPollsError, TooManyScenesError, create_video, prepare
from script_to_film.workflow.contract import SceneState
from script_to_film.workflow.scene import SceneTasks
from tests.fakes.scripted_provider import ScriptedProvider

SCREENPLAY = "INT. KITCHEN - DAY\n\nA kettle boils.\n\nEXT. GARDEN - NIGHT\n\nAn owl lands.\n"
OPTIONS = VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=10)


class CrashesAfterSubmitting(ScriptedProvider):
    """The provider accepts (and bills) the task, then the Lambda dies before it can say so."""

    def submit(self, job: SceneJob) -> str:
        super().submit(job)
        raise RuntimeError("Lambda runtime exited after the provider call")


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running
    reset_providers()


def first_scene(video_id: str) -> dict[str, object]:
    return SceneState(
        video_id=video_id, scene=1, provider="animatic", poll_seconds=1, max_polls=10
    ).model_dump()


def test_a_duplicate_submit_returns_the_same_task_without_paying_again(stack: LocalStack) -> None:
    provider = ScriptedProvider()
    register_provider("animatic", lambda: provider)
    video = create_video(stack.backend, SCREENPLAY, OPTIONS)
    tasks = SceneTasks(stack.backend)

    first = tasks.submit_scene(first_scene(video.id))
    again = tasks.submit_scene(first_scene(video.id))

    assert again["task"]["task_id"] == first["task"]["task_id"]
    assert provider.submitted == [1]
    assert stack.backend.videos.get(video.id).scenes[0].status is SceneStatus.SUBMITTED


def test_a_submit_that_crashed_after_the_provider_call_is_never_paid_twice(stack: LocalStack) -> None:
    provider = CrashesAfterSubmitting()
    register_provider("animatic", lambda: provider)
    video = create_video(stack.backend, SCREENPLAY, OPTIONS)
    tasks = SceneTasks(stack.backend)

    with pytest.raises(RuntimeError):
        tasks.submit_scene(first_scene(video.id))
    with pytest.raises(SubmitInDoubtError):
        tasks.submit_scene(first_scene(video.id))  # the workflow's retry of the same try

    assert provider.submitted == [1], "the provider was called once"
    failed = tasks.record_failure(
        {**first_scene(video.id), "error": {"Error": "SubmitInDoubtError", "Cause": "{}"}}
    )
    assert failed["task"]["failure_code"] == "SUBMIT_IN_DOUBT"
    assert stack.backend.videos.get(video.id).scenes[0].status is SceneStatus.FAILED


def test_a_late_status_never_overwrites_a_final_one(stack: LocalStack) -> None:
    video = create_video(stack.backend, SCREENPLAY, OPTIONS)
    backend = stack.backend

    assert backend.videos.set_scene_status(video.id, 1, SceneStatus.SUBMITTED)
    assert backend.videos.set_scene_status(video.id, 1, SceneStatus.RUNNING)
    assert backend.videos.set_scene_status(video.id, 1, SceneStatus.STORING)
    assert backend.videos.set_scene_status(
        video.id, 1, SceneStatus.SUCCEEDED, clip_key="videos/x/scene_001.mp4"
    )
    assert not backend.videos.set_scene_status(video.id, 1, SceneStatus.RUNNING, progress=0.4)
    assert not backend.videos.set_scene_status(video.id, 1, SceneStatus.FAILED, failure_code="TIMEOUT")
    scene = backend.videos.get(video.id).scenes[0]
    assert scene.status is SceneStatus.SUCCEEDED
    assert scene.progress is None
    assert scene.failure_code is None


def test_a_pending_scene_cannot_jump_to_succeeded(stack: LocalStack) -> None:
    video = create_video(stack.backend, SCREENPLAY, OPTIONS)

    assert not stack.backend.videos.set_scene_status(video.id, 2, SceneStatus.SUCCEEDED)
    assert stack.backend.videos.get(video.id).scenes[1].status is SceneStatus.PENDING


def test_a_video_runs_once_under_its_own_name(stack: LocalStack) -> None:
    video = create_video(stack.backend, SCREENPLAY, OPTIONS)
    execution = {"video_id": video.id, "provider": "animatic", "model": "animatic", "poll_seconds": 1}

    first = stack.backend.orchestrator.start(video.id, execution)
    with pytest.raises(stack.sfn.exceptions.ExecutionAlreadyExists):
        stack.backend.orchestrator.start(video.id, {**execution, "poll_seconds": 2})

    assert first.endswith(f":{video.id}")
    stack.backend.videos.record_execution(video.id, first)
    stack.wait(stack.backend.videos.get(video.id), timeout=60)


def test_too_many_scenes_and_over_budget_are_refused_before_anything_runs() -> None:
    many = "\n".join(f"INT. ROOM {n} - DAY\n\nSomeone waits.\n" for n in range(1, MAX_SCENES + 2))
    with pytest.raises(TooManyScenesError, match=f"{MAX_SCENES + 1} scenes"):
        prepare(many, OPTIONS)
    with pytest.raises(TooManyPollsError, match="86400 polls"):
        prepare(SCREENPLAY, VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=86_400))
    with pytest.raises(BudgetExceededError, match="budget"):
        prepare(SCREENPLAY, VideoOptions(provider="runway", model="gen4.5", max_budget_usd=0.5))
