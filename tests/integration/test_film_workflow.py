"""The film workflow end to end on the embedded local stack: moto runs the real ASL, the real
handlers run the Lambda tasks, and the provider is the offline animatic (or a scripted wrapper
of it that fails, hangs or crashes on purpose)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError

from infra.local.stack import LocalStack
from script_to_film.adapters import media
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.adapters.repositories.videos import VideoRepository
from script_to_film.domain.limits import EVENTS_PER_SCENE_IN_FILM, film_history_events, scene_history_events
from script_to_film.domain.manifest import build_manifest
from script_to_film.domain.models import SceneStatus, VideoRecord, VideoStatus
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.status import shots_of
from script_to_film.services.submission import start_video
from script_to_film.workflow.contract import MAX_SUBMITS_PER_SCENE
from tests.fakes.faults import fail_when
from tests.fakes.scripted_provider import ScriptedProvider

CARDS = media.TITLE_CARD_SECONDS + media.END_CARD_SECONDS
"""An animatic film opens on a title card and closes on an end card."""

SCREENPLAY = """Title: Four Rooms

EXT. HARBOUR - DAWN

Gulls wheel over the boats. ANNA (30s), in a red coat, waits at the end of the pier.

INT. FERRY CABIN - DAY

A man in a grey suit reads a letter twice.

INT. FERRY CABIN - NIGHT

ANNA
(quietly)
You read it, then.

EXT. PIER - SUNSET

They walk off together.
"""

FAST = VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=20)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running
    reset_providers()


def use(provider: ScriptedProvider) -> ScriptedProvider:
    register_provider("animatic", lambda: provider)
    return provider


def run(stack: LocalStack, options: VideoOptions = FAST, source: str = SCREENPLAY) -> VideoRecord:
    video = start_video(stack.backend, source, options, max_concurrency=4)
    return stack.wait(video, timeout=120)


def s3_keys(stack: LocalStack, video_id: str) -> list[str]:
    listing = stack.backend.aws.s3.list_objects_v2(
        Bucket=stack.backend.aws.bucket, Prefix=f"videos/{video_id}/"
    )
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_every_scene_succeeds_and_the_film_is_stitched(stack: LocalStack, tmp_path: Path) -> None:
    video = run(stack)

    assert video.status is VideoStatus.SUCCEEDED
    assert [scene.status for scene in video.scenes] == [SceneStatus.SUCCEEDED] * 4
    assert stack.execution_status(str(video.execution_arn)) == "SUCCEEDED"
    keys = s3_keys(stack, video.id)
    assert {f"videos/{video.id}/scene_{n:03d}.mp4" for n in range(1, 5)} <= set(keys)
    assert f"videos/{video.id}/film.mp4" in keys
    manifest = stack.backend.objects.get_json(f"videos/{video.id}/manifest.json")
    assert manifest == build_manifest(video, execution=video.execution_arn)
    assert manifest["status"] == "SUCCEEDED"
    assert [scene["clip"] for scene in manifest["scenes"]] == [f"scene_{n:03d}.mp4" for n in range(1, 5)]

    folder = stack.export(video, tmp_path)
    film = media.probe(folder / "film.mp4")
    assert film.duration == pytest.approx(
        CARDS + sum(scene.duration_seconds for scene in video.scenes), abs=0.5
    )
    assert json.loads((folder / "manifest.json").read_text())["video_id"] == video.id


def test_a_failed_scene_leaves_a_partial_film(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(fail={2: "SAFETY.INPUT.TEXT"}))

    video = run(stack)

    assert video.status is VideoStatus.PARTIAL
    statuses = {scene.number: scene.status for scene in video.scenes}
    assert statuses == {
        1: SceneStatus.SUCCEEDED,
        2: SceneStatus.FAILED,
        3: SceneStatus.SUCCEEDED,
        4: SceneStatus.SUCCEEDED,
    }
    failed = video.scenes[1]
    assert failed.failure_code == "SAFETY.INPUT.TEXT"
    assert failed.clip_key is None
    assert provider.submitted.count(2) == 1, "a SAFETY failure is never resubmitted"
    assert f"videos/{video.id}/film.mp4" in s3_keys(stack, video.id)
    assert stack.execution_status(str(video.execution_arn)) == "SUCCEEDED"


def test_an_internal_failure_is_resubmitted_a_bounded_number_of_times(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(fail={3: "INTERNAL.BAD_OUTPUT.CODE01"}))

    video = run(stack)

    assert video.status is VideoStatus.PARTIAL
    scene = video.scenes[2]
    assert scene.status is SceneStatus.FAILED
    assert scene.failure_code == "INTERNAL.BAD_OUTPUT.CODE01"
    assert scene.attempts == MAX_SUBMITS_PER_SCENE
    assert provider.submitted.count(3) == MAX_SUBMITS_PER_SCENE


def test_every_billed_try_of_a_resubmitted_scene_is_counted(stack: LocalStack) -> None:
    # Each failed try bills 10 credits: a resubmit must carry the earlier tries' charges on.
    use(ScriptedProvider(fail={3: "INTERNAL.BAD_OUTPUT.CODE01"}, credits={3: 10}))

    video = run(stack)

    scene = video.scenes[2]
    assert scene.attempts == MAX_SUBMITS_PER_SCENE
    assert scene.credits == 10 * MAX_SUBMITS_PER_SCENE


def test_when_every_scene_fails_the_video_fails(stack: LocalStack) -> None:
    use(ScriptedProvider(fail={n: "SAFETY.OUTPUT.VIDEO" for n in range(1, 5)}))

    video = run(stack)

    assert video.status is VideoStatus.FAILED
    assert video.film_key is None
    assert stack.execution_status(str(video.execution_arn)) == "FAILED"
    assert build_manifest(video, execution=None)["film"] is None


def test_a_slow_task_times_out_and_is_cancelled_at_the_provider(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={4}))

    video = run(stack, VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=3))

    slow = video.scenes[3]
    assert slow.status is SceneStatus.FAILED
    assert slow.failure_code == "TIMEOUT"
    assert slow.provider_task_id in provider.cancelled
    assert provider.status(str(slow.provider_task_id)).state == "CANCELLED"
    assert video.status is VideoStatus.PARTIAL


def test_a_store_that_loses_its_connection_after_uploading_is_retried_into_one_clip(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = use(ScriptedProvider())

    def lost() -> BaseException:
        return EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    def marking_scene_one_succeeded(
        video_id: str, number: int, status: SceneStatus, **fields: object
    ) -> bool:
        return number == 1 and status is SceneStatus.SUCCEEDED

    with fail_when(
        monkeypatch, VideoRepository, "set_scene_status", lost, when=marking_scene_one_succeeded
    ) as fault:
        video = run(stack)

    assert fault.fired == 1
    assert video.status is VideoStatus.SUCCEEDED
    assert video.scenes[0].status is SceneStatus.SUCCEEDED
    assert s3_keys(stack, video.id).count(f"videos/{video.id}/scene_001.mp4") == 1
    assert provider.submitted.count(1) == 1
    history = stack.all_history(video)
    retried = [
        e for e in history if e["type"] == "TaskFailed" and "TransientAwsError" in json.dumps(e, default=str)
    ]
    assert len(retried) == 1


def test_selected_scenes_only(stack: LocalStack) -> None:
    video = run(stack, FAST.model_copy(update={"scenes": [2, 4]}))

    assert [scene.number for scene in video.scenes] == [2, 4]
    assert video.status is VideoStatus.SUCCEEDED


def test_each_scene_is_its_own_execution_named_after_the_video_and_the_scene(stack: LocalStack) -> None:
    use(ScriptedProvider(running_polls={n: 2 for n in range(1, 5)}))
    video = run(stack)

    children = stack.scene_executions(video.id)
    assert sorted(children) == [f"{video.id}-s{n:03d}" for n in range(1, 5)]
    shots = {f"{video.id}-s{scene.number:03d}": len(scene.shots) for scene in video.scenes}
    assert max(shots.values()) > 1, "a scene of several shots is among them"
    for name, arn in children.items():
        assert stack.execution_status(arn) == "SUCCEEDED", name
        history = stack.history(arn)
        polls = sum(1 for e in history if e["type"] == "WaitStateEntered")
        assert polls == 3 * shots[name], "each shot: two polls find its task running, the third done"
        assert len(history) <= scene_history_events(polls, 1, shots[name])
        started = json.loads(history[0]["executionStartedEventDetails"]["input"])
        assert set(started) == {
            "video_id",
            "scene",
            "provider",
            "poll_seconds",
            "max_polls",
            "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID",
        }, "a scene's input is ids and settings only"


def test_the_film_history_grows_by_a_constant_per_scene_whatever_the_scenes_poll(stack: LocalStack) -> None:
    def film_events(scenes: list[int], polls: int) -> int:
        use(ScriptedProvider(running_polls={n: polls for n in scenes}))
        video = run(stack, FAST.model_copy(update={"scenes": scenes}))
        assert video.status is VideoStatus.SUCCEEDED
        return len(stack.history(str(video.execution_arn)))

    two, two_polling_longer, four = (
        film_events([1, 2], 0),
        film_events([1, 2], 4),
        film_events([1, 2, 3, 4], 0),
    )

    assert two_polling_longer == two, "a scene's polls stay in its own execution's history"
    per_scene = (four - two) / 2
    assert per_scene == int(per_scene) <= EVENTS_PER_SCENE_IN_FILM
    assert four <= film_history_events(4)


COVERED = """Title: Two Rooms

INT. KITCHEN - NIGHT

MARA (70s), wiry, waits by the stove.

The kettle begins to whistle.

MARA
You're late.

JONAH
The train was late.

EXT. PIER - SUNSET

They walk off together.
"""


def test_a_scene_of_several_shots_generates_each_and_joins_them_into_its_clip(
    stack: LocalStack, tmp_path: Path
) -> None:
    provider = use(ScriptedProvider())
    video = run(stack, source=COVERED)

    assert video.status is VideoStatus.SUCCEEDED
    kitchen = video.scenes[0]
    assert [shot.kind.value for shot in kitchen.shots] == [
        "master",
        "insert",
        "over_the_shoulder",
        "over_the_shoulder",
    ]
    assert [shot.status for shot in shots_of(kitchen)] == [SceneStatus.SUCCEEDED] * 4
    assert [shot.lines for shot in kitchen.shots] == [[], [], [0], [1]]
    tasks = [task for task, (scene, _) in provider.shot_of.items() if scene == 1]
    assert sorted(provider.shot_of[task][1] for task in tasks) == [1, 2, 3, 4], "each shot generated once"
    assert {shot.provider_task_id for shot in kitchen.shots} == set(tasks)
    keys = s3_keys(stack, video.id)
    assert [key for key in keys if "/shots/" in key] == [
        f"videos/{video.id}/shots/scene_001_shot_{n:03d}.mp4" for n in range(1, 5)
    ], "a one-shot scene stores its shot as its clip"
    clip = tmp_path / "scene_001.mp4"
    stack.backend.objects.download_file(f"videos/{video.id}/scene_001.mp4", clip)
    assert media.probe(clip).duration == pytest.approx(kitchen.duration_seconds, abs=0.2)
    assert kitchen.duration_seconds == sum(shot.duration_seconds for shot in kitchen.shots)
    manifest = build_manifest(video, execution=video.execution_arn)
    assert [shot["status"] for shot in manifest["scenes"][0]["shots"]] == ["SUCCEEDED"] * 4
    assert len(manifest["scenes"][1]["shots"]) == 1


def test_a_failed_shot_fails_its_scene_and_the_film_goes_on(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(fail={(1, 3): "SAFETY.INPUT.TEXT"}))
    video = run(stack, source=COVERED)

    kitchen = video.scenes[0]
    assert (kitchen.status, kitchen.failure_code) == (SceneStatus.FAILED, "SAFETY.INPUT.TEXT")
    assert kitchen.failure is not None and kitchen.failure.startswith("shot 3 of 4: ")
    assert [(shot.status, shot.failure_code) for shot in shots_of(kitchen)] == [
        (SceneStatus.SUCCEEDED, None),
        (SceneStatus.SUCCEEDED, None),
        (SceneStatus.FAILED, "SAFETY.INPUT.TEXT"),
        (SceneStatus.PENDING, None),
    ]
    assert (1, 4) not in provider.shot_of.values()
    assert list(provider.shot_of.values()).count((1, 3)) == 1, "a SAFETY failure is never resubmitted"
    assert video.scenes[1].status is SceneStatus.SUCCEEDED
    assert video.status is VideoStatus.PARTIAL
