"""Money safety on the embedded local stack: a cancel is final for money, every clip is checked
before it counts, nothing is left running, and only transient failures are tried again.

Each fault is injected where it would happen (a held submit, a provider that refuses a cancel, a
spoilt clip, a throttled write, an S3 part that fails) and released or observed through events,
never timed: the tests wait for what the store shows, with a bound that only a hang would reach.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from infra.local.stack import LocalStack
from script_to_film.adapters import media
from script_to_film.adapters.download import ALLOW_HOSTS_ENV, open_download
from script_to_film.adapters.objects import ObjectStore
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.adapters.repositories.claims import ClaimRepository
from script_to_film.adapters.repositories.videos import VideoRepository
from script_to_film.domain.errors import MediaError, VideoEndedError
from script_to_film.domain.models import SceneJob, SceneStatus, VideoRecord, VideoStatus
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.ports import ProviderTask
from script_to_film.domain.status import shots_of
from script_to_film.services import videos
from script_to_film.services.submission import create_video, start_video
from script_to_film.workflow.contract import FilmInput, scene_execution_name
from script_to_film.workflow.film import FilmTasks
from script_to_film.workflow.scene import SceneTasks
from tests.fakes.faults import fail_when
from tests.fakes.scripted_provider import Gate, ScriptedProvider

THREE_SCENES = """Title: Three Doors

EXT. HARBOUR - DAWN

Gulls wheel over the boats. ANNA (30s), in a red coat, waits at the end of the pier.

INT. FERRY CABIN - DAY

A man in a grey suit reads a letter twice.

EXT. PIER - SUNSET

They walk off together.
"""

FAST = VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=20)
BOUND_SECONDS = 120
"""How long a test waits for what the store must come to show; reached only when it never will."""


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running
    reset_providers()


def use(provider: ScriptedProvider) -> ScriptedProvider:
    register_provider("animatic", lambda: provider)
    return provider


def start(stack: LocalStack, options: VideoOptions = FAST) -> VideoRecord:
    return start_video(stack.backend, THREE_SCENES, options, max_concurrency=3)


def wait_until(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not check():
        assert time.monotonic() < deadline, "what the test waits for never happened"
        time.sleep(0.05)


def scene_status(stack: LocalStack, video_id: str, number: int) -> SceneStatus:
    return stack.backend.videos.get_scene(video_id, number).status


def s3_keys(stack: LocalStack, video_id: str) -> set[str]:
    listing = stack.backend.aws.s3.list_objects_v2(
        Bucket=stack.backend.aws.bucket, Prefix=f"videos/{video_id}/"
    )
    return {item["Key"] for item in listing.get("Contents", [])}


def tasks_of(provider: ScriptedProvider, scene: int) -> set[str]:
    return {task for task, number in provider.scene_of.items() if number == scene}


# Cancel is final for money ----------------------------------------------------------------------


def test_a_cancel_that_lands_while_a_submit_creates_its_task_cancels_that_task(stack: LocalStack) -> None:
    gate = Gate()
    provider = use(ScriptedProvider(hold_submit={1: gate}, hang={2, 3}))
    video = start(stack)
    gate.entered.wait(BOUND_SECONDS)  # scene 1 has claimed its try and is asking the provider

    cancelled = videos.cancel(stack.backend, video.id)
    gate.release.set()  # the provider now creates the task the cancel could not see
    wait_until(lambda: bool(tasks_of(provider, 1)) and tasks_of(provider, 1) <= provider.cancelled)
    final = stack.wait(video, timeout=BOUND_SECONDS)

    assert cancelled.status is VideoStatus.CANCELLED
    assert final.status is VideoStatus.CANCELLED
    assert [scene.status for scene in final.scenes] == [SceneStatus.CANCELLED] * 3
    assert set(provider.scene_of) <= provider.cancelled, "every task made for the video was cancelled"
    assert not any(key.endswith(".mp4") for key in s3_keys(stack, video.id))


def test_a_submit_after_the_cancel_never_reaches_the_provider(stack: LocalStack) -> None:
    provider = use(ScriptedProvider())
    video = create_video(stack.backend, THREE_SCENES, FAST)
    stack.backend.videos.set_status(video.id, VideoStatus.RUNNING)
    videos.cancel(stack.backend, video.id)
    state = {"video_id": video.id, "scene": 1, "provider": "animatic", "poll_seconds": 1, "max_polls": 20}

    with pytest.raises(VideoEndedError, match="no longer QUEUED or RUNNING"):
        SceneTasks(stack.backend).submit_scene(state)

    assert provider.submitted == []
    claims = stack.backend.aws.table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :claim)",
        ExpressionAttributeValues={":pk": f"VIDEO#{video.id}", ":claim": "SUBMIT#"},
    )["Items"]
    assert claims == [], "the refused claim was not written"


def test_a_cancel_before_the_execution_arn_is_recorded_still_stops_the_execution(stack: LocalStack) -> None:
    gate = Gate()
    provider = use(ScriptedProvider(hold_submit={1: gate}, hang={2, 3}))
    video = create_video(stack.backend, THREE_SCENES, FAST)
    execution_input = FilmInput(
        video_id=video.id,
        provider="animatic",
        model=video.model,
        poll_seconds=1,
        scene_timeout_seconds=20,
        max_concurrency=3,
    )
    # StartExecution has been called but its answer not yet recorded on the video.
    arn = stack.sfn.start_execution(
        stateMachineArn=stack.state_machine_arn, name=video.id, input=execution_input.model_dump_json()
    )["executionArn"]
    gate.entered.wait(BOUND_SECONDS)
    assert stack.backend.videos.get(video.id).execution_arn is None

    videos.cancel(stack.backend, video.id)
    gate.release.set()
    wait_until(lambda: stack.execution_status(arn) != "RUNNING")
    wait_until(lambda: bool(tasks_of(provider, 1)) and tasks_of(provider, 1) <= provider.cancelled)

    # Stopped: left alone, the execution would have ended SUCCEEDED once its polls found the scenes
    # cancelled. moto ends a stop inside a Map FAILED (States.Runtime) rather than ABORTED.
    assert stack.execution_status(arn) in {"ABORTED", "FAILED"}
    assert stack.backend.videos.get(video.id).status is VideoStatus.CANCELLED
    assert set(provider.scene_of) <= provider.cancelled


def test_a_video_cancelled_before_its_execution_starts_films_nothing(stack: LocalStack) -> None:
    provider = use(ScriptedProvider())
    video = create_video(stack.backend, THREE_SCENES, FAST)
    videos.cancel(stack.backend, video.id)  # the execution does not exist yet: nothing to stop

    execution_input = FilmInput(video_id=video.id, provider="animatic", model=video.model, poll_seconds=1)
    video.execution_arn = stack.backend.orchestrator.start(video.id, execution_input.model_dump())
    final = stack.wait(video, timeout=BOUND_SECONDS)

    assert provider.submitted == []
    assert final.status is VideoStatus.CANCELLED
    assert [scene.status for scene in final.scenes] == [SceneStatus.CANCELLED] * 3


def test_a_scene_whose_cancel_fails_is_noted_and_the_others_are_still_cancelled(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={1, 2, 3}, cancel_fails={2}))
    video = start(stack)
    wait_until(lambda: all(scene_status(stack, video.id, n) is SceneStatus.RUNNING for n in (1, 2, 3)))

    cancelled = videos.cancel(stack.backend, video.id)
    stack.wait(video, timeout=BOUND_SECONDS)

    assert [scene.status for scene in cancelled.scenes] == [SceneStatus.CANCELLED] * 3
    refused = cancelled.scenes[1]
    assert refused.note is not None and "did not confirm cancelling" in refused.note
    assert tasks_of(provider, 1) <= provider.cancelled and tasks_of(provider, 3) <= provider.cancelled
    assert cancelled.scenes[0].note is None
    assert videos.detail(stack.backend, cancelled).scenes[1].note == refused.note


# Nothing is left running ------------------------------------------------------------------------


def test_record_failure_records_before_it_cancels_and_keeps_a_failed_cancel_as_a_note(
    stack: LocalStack,
) -> None:
    use(ScriptedProvider(hang={2}, cancel_fails={2}))
    video = start(stack, VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=3))

    final = stack.wait(video, timeout=BOUND_SECONDS)

    slow = final.scenes[1]
    assert slow.status is SceneStatus.FAILED
    assert slow.failure_code == "TIMEOUT"
    assert slow.note is not None and "did not confirm cancelling" in slow.note
    assert final.status is VideoStatus.PARTIAL


def test_a_task_cancelled_while_running_counts_what_it_may_still_be_billed(stack: LocalStack) -> None:
    use(ScriptedProvider(hang={2}, credits={2: 30}))
    video = start(stack, VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=3))

    final = stack.wait(video, timeout=BOUND_SECONDS)

    slow = final.scenes[1]
    assert (slow.status, slow.failure_code, slow.credits) == (SceneStatus.FAILED, "TIMEOUT", 30)
    assert slow.note is not None and "may still be billed" in slow.note
    assert final.credits == 30


# Every clip is checked before it counts ---------------------------------------------------------


def _garbage(clip: bytes) -> bytes:
    return b"<html><body>502 Bad Gateway</body></html>"


def _cut_in_half(clip: bytes) -> bytes:
    return clip[: len(clip) // 2]


@pytest.mark.parametrize("spoil", [_garbage, _cut_in_half], ids=["not-a-video", "cut-short"])
def test_an_invalid_clip_fails_its_scene_with_its_credits_and_the_film_goes_on(
    stack: LocalStack, spoil: Callable[[bytes], bytes]
) -> None:
    use(ScriptedProvider(spoil={2: spoil}, credits={1: 40, 2: 40, 3: 40}))
    final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    bad = final.scenes[1]
    assert bad.status is SceneStatus.FAILED
    assert bad.failure_code == "INVALID_CLIP"
    assert bad.credits == 40, "the provider billed the clip: it is counted"
    assert final.credits == 120
    assert final.status is VideoStatus.PARTIAL
    keys = s3_keys(stack, video_id := final.id)
    assert f"videos/{video_id}/scene_002.mp4" not in keys
    manifest = stack.backend.objects.get_json(f"videos/{video_id}/manifest.json")
    assert manifest["scenes"][1]["failure_code"] == "INVALID_CLIP"
    assert manifest["cost"]["credits"] == 120


def test_a_task_that_succeeded_without_output_fails_no_output_with_its_credits(stack: LocalStack) -> None:
    use(ScriptedProvider(no_output={3}, credits={3: 25}))
    final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    empty = final.scenes[2]
    assert (empty.status, empty.failure_code, empty.credits) == (SceneStatus.FAILED, "NO_OUTPUT", 25)
    assert final.status is VideoStatus.PARTIAL


def test_a_clip_the_assembly_cannot_read_is_left_out_and_named(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(ScriptedProvider())
    real_download = ObjectStore.download_file

    def corrupted_in_storage(self: ObjectStore, key: str, path: object) -> None:
        real_download(self, key, path)  # type: ignore[arg-type]
        if key.endswith("scene_002.mp4"):
            path.write_bytes(b"\x00" * 1024)  # type: ignore[attr-defined]

    monkeypatch.setattr(ObjectStore, "download_file", corrupted_in_storage)
    final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    assert final.status is VideoStatus.PARTIAL
    assert [left.scene for left in final.left_out] == [2]
    assert final.film_key is not None
    manifest = stack.backend.objects.get_json(f"videos/{final.id}/manifest.json")
    assert [left["scene"] for left in manifest["left_out"]] == [2]
    assert "cannot read" in manifest["left_out"][0]["reason"]
    assert videos.detail(stack.backend, final).left_out[0].scene == 2


def test_a_stitch_that_fails_ends_the_video_failed_with_its_clips_kept_and_listed(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(ScriptedProvider())

    def ffmpeg_dies(clips: object, out: object) -> None:
        raise MediaError("joining the clips failed", stderr_tail="Killed")

    monkeypatch.setattr(media, "stitch", ffmpeg_dies)
    final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    assert final.status is VideoStatus.FAILED
    assert final.failure is not None and "could not be stitched" in final.failure
    assert final.film_key is None
    assert [scene.status for scene in final.scenes] == [SceneStatus.SUCCEEDED] * 3
    assert {f"videos/{final.id}/scene_{n:03d}.mp4" for n in (1, 2, 3)} <= s3_keys(stack, final.id)
    manifest = stack.backend.objects.get_json(f"videos/{final.id}/manifest.json")
    assert [scene["clip"] for scene in manifest["scenes"]] == [f"scene_{n:03d}.mp4" for n in (1, 2, 3)]
    assert manifest["film"] is None and "could not be stitched" in manifest["failure"]


# Retries retry only what is transient -----------------------------------------------------------


def _throttled() -> BaseException:
    return ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}, "UpdateItem"
    )


def transient_retries(stack: LocalStack, video: VideoRecord) -> int:
    history = stack.all_history(video)
    return sum(
        1 for e in history if e["type"] == "TaskFailed" and "TransientAwsError" in json.dumps(e, default=str)
    )


def test_dynamodb_throttling_inside_a_task_is_retried_and_pays_once(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = use(ScriptedProvider())

    def marking_scene_one_submitted(
        video_id: str, number: int, status: SceneStatus, **fields: object
    ) -> bool:
        return number == 1 and status is SceneStatus.SUBMITTED

    with fail_when(
        monkeypatch, VideoRepository, "set_scene_status", _throttled, when=marking_scene_one_submitted
    ):
        video = start(stack)
        final = stack.wait(video, timeout=BOUND_SECONDS)

    assert final.status is VideoStatus.SUCCEEDED
    assert provider.submitted.count(1) == 1, "the retried submit found its recorded task"
    assert transient_retries(stack, video) == 1


def test_an_s3_5xx_during_the_multipart_upload_is_retried_into_one_clip(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    use(ScriptedProvider())
    # Every clip goes up in parts, as a provider's clips of more than 8 MiB do.
    monkeypatch.setattr(ObjectStore, "transfer_config", TransferConfig(multipart_threshold=1))
    failed_parts: list[str] = []

    def a_part_fails_once(params: dict[str, object], **kwargs: object) -> None:
        if not failed_parts and str(params.get("Key", "")).endswith("scene_002.mp4"):
            failed_parts.append(str(params["Key"]))
            raise ClientError(
                {"Error": {"Code": "InternalError"}, "ResponseMetadata": {"HTTPStatusCode": 500}},
                "UploadPart",
            )

    real_upload = ObjectStore.upload_file

    def upload_with_a_failing_part(self: ObjectStore, key: str, path: object, *args: object) -> None:
        events = self.aws.s3.meta.events
        events.register("before-parameter-build.s3.UploadPart", a_part_fails_once, unique_id="fail-a-part")
        real_upload(self, key, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(ObjectStore, "upload_file", upload_with_a_failing_part)
    video = start(stack)
    final = stack.wait(video, timeout=BOUND_SECONDS)

    assert len(failed_parts) == 1
    assert final.status is VideoStatus.SUCCEEDED
    assert final.scenes[1].status is SceneStatus.SUCCEEDED
    assert transient_retries(stack, video) == 1
    stored = tmp_path / "scene_002.mp4"
    stack.backend.objects.download_file(f"videos/{final.id}/scene_002.mp4", stored)
    assert media.verify_clip(stored, expected_seconds=final.scenes[1].duration_seconds)


def test_a_store_that_times_out_is_tried_again_into_one_clip(monkeypatch: pytest.MonkeyPatch) -> None:
    def short_store(name: str, definition: dict[str, object]) -> None:
        if name == "scene":
            definition["States"]["StoreClip"]["TimeoutSeconds"] = 10  # type: ignore[index]

    gate = Gate()
    with LocalStack(adjust_definition=short_store) as stack:
        try:
            use(ScriptedProvider(hold_output_once={2: gate}))
            video = start(stack, FAST.model_copy(update={"scenes": [2]}))
            final = stack.wait(video, timeout=BOUND_SECONDS)
        finally:
            gate.release.set()  # the first try, timed out long ago, may now run to its end
            reset_providers()
        history = stack.all_history(video)

    assert gate.entered.is_set()
    assert [e["type"] for e in history].count("TaskTimedOut") == 1
    assert final.status is VideoStatus.SUCCEEDED
    assert final.scenes[0].attempts == 1


# Nothing is left running when an execution ends outside the workflow ---------------------------


def test_an_external_stop_ends_the_video_and_cancels_its_tasks(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={1, 2, 3}))
    video = start(stack)
    wait_until(lambda: all(scene_status(stack, video.id, n) is SceneStatus.RUNNING for n in (1, 2, 3)))

    stack.sfn.stop_execution(executionArn=video.execution_arn, cause="stopped from the console")
    final = stack.wait(video, timeout=BOUND_SECONDS)

    # AWS ends a stopped execution ABORTED (the video CANCELLED); moto ends a stop inside a Map
    # FAILED, so here the cleanup reports a failed execution. Either way nothing is left running.
    assert final.status in {VideoStatus.CANCELLED, VideoStatus.FAILED}
    assert final.failure is not None and final.failure.startswith("the execution")
    assert all(scene.status in {SceneStatus.CANCELLED, SceneStatus.FAILED} for scene in final.scenes)
    assert {scene.failure_code for scene in final.scenes} <= {"EXECUTION_ABORTED", "EXECUTION_FAILED"}
    assert set(provider.scene_of) <= provider.cancelled
    manifest = stack.backend.objects.get_json(f"videos/{video.id}/manifest.json")
    assert manifest["status"] == final.status.value


def test_an_execution_that_times_out_is_cleaned_up() -> None:
    def one_minute_film(name: str, definition: dict[str, object]) -> None:
        if name == "film":
            definition["TimeoutSeconds"] = 4

    with LocalStack(adjust_definition=one_minute_film) as stack:
        try:
            provider = use(ScriptedProvider(hang={1, 2, 3}))
            video = start(stack)
            final = stack.wait(video, timeout=BOUND_SECONDS)
        finally:
            reset_providers()
        status = stack.execution_status(str(video.execution_arn))

    assert status == "TIMED_OUT"
    assert final.status is VideoStatus.FAILED
    assert final.failure == "the execution ran past its time limit before the film was finished"
    assert {scene.failure_code for scene in final.scenes} == {"EXECUTION_TIMED_OUT"}
    assert set(provider.scene_of) <= provider.cancelled


def test_a_finalize_that_fails_leaves_no_video_running(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(ScriptedProvider())

    def broken(*args: object, **kwargs: object) -> BaseException:
        return RuntimeError("the manifest could not be written")

    with fail_when(monkeypatch, FilmTasks, "finalize", broken, times=10):
        final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    assert stack.execution_status(str(final.execution_arn)) == "FAILED"
    assert final.status is VideoStatus.FAILED
    assert final.failure is not None and "FilmFailed" in final.failure
    assert stack.backend.objects.get_json(f"videos/{final.id}/manifest.json")["status"] == "FAILED"


EVENTS = Path(__file__).resolve().parents[2] / "events" / "sfn"


def status_change(sample: str, video: VideoRecord, stack: LocalStack) -> dict[str, object]:
    event = json.loads((EVENTS / f"{sample}.json").read_text(encoding="utf-8"))
    event["detail"].update(
        name=video.id,
        executionArn=stack.backend.orchestrator.execution_arn(video.id),
        stateMachineArn=stack.state_machine_arn,
    )
    return dict(event)


@pytest.mark.parametrize(
    ("sample", "video_status", "scene_status", "code"),
    [
        ("execution-aborted", VideoStatus.CANCELLED, SceneStatus.CANCELLED, "EXECUTION_ABORTED"),
        ("execution-timed-out", VideoStatus.FAILED, SceneStatus.FAILED, "EXECUTION_TIMED_OUT"),
        ("execution-failed", VideoStatus.FAILED, SceneStatus.FAILED, "EXECUTION_FAILED"),
    ],
)
def test_the_cleanup_ends_a_running_video_as_its_execution_ended(
    stack: LocalStack, sample: str, video_status: VideoStatus, scene_status: SceneStatus, code: str
) -> None:
    provider = use(ScriptedProvider(hang={1}))
    video = create_video(stack.backend, THREE_SCENES, FAST)
    stack.backend.videos.set_status(video.id, VideoStatus.RUNNING)
    tasks = SceneTasks(stack.backend)
    state = {"video_id": video.id, "scene": 1, "provider": "animatic", "poll_seconds": 1, "max_polls": 20}
    task = tasks.submit_scene(state)["task"]["task_id"]

    answer = stack.invoke("Cleanup", status_change(sample, video, stack))
    again = stack.invoke("Cleanup", status_change(sample, video, stack))

    ended = stack.backend.videos.get(video.id)
    assert answer["cleaned"] is True and again["cleaned"] is False, "a repeated event changes nothing"
    assert ended.status is video_status
    assert [scene.status for scene in ended.scenes] == [scene_status] * 3
    assert {scene.failure_code for scene in ended.scenes} == {code}
    assert task in provider.cancelled
    assert stack.backend.objects.get_json(f"videos/{video.id}/manifest.json")["status"] == video_status.value


@pytest.mark.parametrize("scene_cleanup_first", [True, False], ids=["scene first", "film first"])
def test_a_film_that_timed_out_names_its_scenes_timed_out_whichever_cleanup_runs_first(
    stack: LocalStack, scene_cleanup_first: bool
) -> None:
    # A film that times out stops its scenes' executions, so two cleanups run: the film's
    # (TIMED_OUT) and each stopped scene's (ABORTED), in either order.
    provider = use(ScriptedProvider(hang={1}))
    video = create_video(stack.backend, THREE_SCENES, FAST)
    stack.backend.videos.set_status(video.id, VideoStatus.RUNNING)
    state = {"video_id": video.id, "scene": 1, "provider": "animatic", "poll_seconds": 1, "max_polls": 20}
    task = SceneTasks(stack.backend).submit_scene(state)["task"]["task_id"]
    film = status_change("execution-timed-out", video, stack)
    scene = status_change("execution-aborted", video, stack)
    scene["detail"].update(name=scene_execution_name(video.id, 1))  # type: ignore[union-attr]

    for event in [scene, film] if scene_cleanup_first else [film, scene]:
        stack.invoke("Cleanup", event)

    ended = stack.backend.videos.get(video.id)
    assert ended.status is VideoStatus.FAILED
    assert [scene.status for scene in ended.scenes] == [SceneStatus.FAILED] * 3
    assert {scene.failure_code for scene in ended.scenes} == {"EXECUTION_TIMED_OUT"}
    assert all("time limit" in str(scene.failure) for scene in ended.scenes)
    assert task in provider.cancelled
    manifest = stack.backend.objects.get_json(f"videos/{video.id}/manifest.json")
    assert {scene["failure_code"] for scene in manifest["scenes"]} == {"EXECUTION_TIMED_OUT"}


def test_a_scene_stopped_on_its_own_stays_cancelled_when_its_film_is_cancelled(stack: LocalStack) -> None:
    use(ScriptedProvider(hang={1}))
    video = create_video(stack.backend, THREE_SCENES, FAST)
    stack.backend.videos.set_status(video.id, VideoStatus.RUNNING)
    scene = status_change("execution-aborted", video, stack)
    scene["detail"].update(name=scene_execution_name(video.id, 2))  # type: ignore[union-attr]

    stack.invoke("Cleanup", scene)
    stack.invoke("Cleanup", status_change("execution-aborted", video, stack))

    ended = stack.backend.videos.get(video.id)
    assert [scene.status for scene in ended.scenes] == [SceneStatus.CANCELLED] * 3
    assert {scene.failure_code for scene in ended.scenes} == {"EXECUTION_ABORTED"}


def test_the_cleanup_leaves_a_video_that_ended_on_its_own_alone(stack: LocalStack) -> None:
    use(ScriptedProvider())
    final = stack.wait(start(stack), timeout=BOUND_SECONDS)

    answer = stack.invoke("Cleanup", status_change("execution-succeeded", final, stack))
    failed = stack.invoke("Cleanup", status_change("execution-failed", final, stack))

    assert answer["cleaned"] is False and failed["cleaned"] is False
    assert stack.backend.videos.get(final.id).status is VideoStatus.SUCCEEDED


# A download that fails is DOWNLOAD, through the whole workflow ----------------------------------


class _ClipServer(ThreadingHTTPServer):
    daemon_threads = True


class _ClipHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.startswith("/expired"):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        # Promises a whole clip, sends a little of it, then the connection drops.
        self.send_response(200)
        self.send_header("Content-Type", "video/mp4")
        self.send_header("Content-Length", str(4 * 1024 * 1024))
        self.end_headers()
        self.wfile.write(b"\x00\x00\x00\x18ftypmp42" * 64)
        self.wfile.flush()
        self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args: object) -> None:
        return


class DownloadingProvider(ScriptedProvider):
    """Its clips come over HTTP through the project's downloader, as Runway's do."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.url = url

    @contextmanager
    def open_output(self, task: ProviderTask, job: SceneJob) -> Iterator[BinaryIO]:
        with open_download(f"{self.url}?task={task.id}") as stream:
            yield stream


@pytest.mark.parametrize("path", ["/expired/clip.mp4", "/cut/clip.mp4"], ids=["404", "cut-mid-stream"])
def test_a_download_that_fails_ends_its_scene_download_without_a_retry(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    server = _ClipServer(("127.0.0.1", 0), _ClipHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    monkeypatch.setenv(ALLOW_HOSTS_ENV, f"{host}:{port}")
    try:
        use(DownloadingProvider(f"http://{host}:{port}{path}"))
        video = start(stack, FAST.model_copy(update={"scenes": [1]}))
        final = stack.wait(video, timeout=BOUND_SECONDS)
    finally:
        server.shutdown()
        server.server_close()

    scene = final.scenes[0]
    assert (scene.status, scene.failure_code) == (SceneStatus.FAILED, "DOWNLOAD")
    assert final.status is VideoStatus.FAILED
    history = stack.all_history(video)
    stores = [
        e
        for e in history
        if e["type"] == "TaskStateEntered" and e["stateEnteredEventDetails"]["name"] == "StoreClip"
    ]
    assert len(stores) == 1, "a refused download is not fetched again"


# Across the film and its scenes' executions -----------------------------------------------------


def test_a_cancel_stops_every_scene_execution_and_its_provider_task(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={1, 2, 3}))
    video = start(stack)
    wait_until(lambda: all(scene_status(stack, video.id, n) is SceneStatus.RUNNING for n in (1, 2, 3)))
    children = stack.scene_executions(video.id)
    assert len(children) == 3

    videos.cancel(stack.backend, video.id)
    final = stack.wait(video, timeout=BOUND_SECONDS)
    wait_until(lambda: all(stack.execution_status(arn) != "RUNNING" for arn in children.values()))

    assert stack.execution_status(str(video.execution_arn)) == "ABORTED"
    assert {stack.execution_status(arn) for arn in children.values()} == {"ABORTED"}
    assert final.status is VideoStatus.CANCELLED
    assert [scene.status for scene in final.scenes] == [SceneStatus.CANCELLED] * 3
    assert set(provider.scene_of) <= provider.cancelled


def test_a_scene_execution_that_ends_badly_ends_its_scene_never_the_film(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={2}))
    video = start(stack)
    wait_until(lambda: scene_status(stack, video.id, 2) is SceneStatus.RUNNING)
    child = stack.scene_executions(video.id)[f"{video.id}-s002"]

    stack.sfn.stop_execution(executionArn=child, cause="stopped from the console")
    final = stack.wait(video, timeout=BOUND_SECONDS)

    stopped = final.scenes[1]
    assert (stopped.status, stopped.failure_code) == (SceneStatus.CANCELLED, "EXECUTION_ABORTED")
    assert tasks_of(provider, 2) <= provider.cancelled
    assert [final.scenes[0].status, final.scenes[2].status] == [SceneStatus.SUCCEEDED] * 2
    assert final.status is VideoStatus.PARTIAL
    assert stack.execution_status(str(video.execution_arn)) == "SUCCEEDED"


# Scenes of several shots -------------------------------------------------------------------------

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
"""Scene 1 is cut into four shots (master, insert, two over-the-shoulders); scene 2 into one."""


def start_covered(stack: LocalStack) -> VideoRecord:
    return start_video(stack.backend, COVERED, FAST, max_concurrency=2)


def claims_of(stack: LocalStack, video_id: str) -> list[str]:
    items = stack.backend.aws.table.query(
        KeyConditionExpression="pk = :pk AND begins_with(sk, :s)",
        ExpressionAttributeValues={":pk": f"VIDEO#{video_id}", ":s": "SUBMIT#"},
    )["Items"]
    return sorted(str(item["sk"]) for item in items)


def test_a_cancel_during_a_later_shot_cancels_that_shots_task_and_submits_no_more(stack: LocalStack) -> None:
    provider = use(ScriptedProvider(hang={(1, 2)}))
    video = start_covered(stack)
    assert len(video.scenes[0].shots) == 4
    wait_until(
        lambda: (
            (1, 2) in provider.shot_of.values() and scene_status(stack, video.id, 1) is SceneStatus.RUNNING
        )
    )

    videos.cancel(stack.backend, video.id)
    final = stack.wait(video, timeout=BOUND_SECONDS)

    in_flight = {task for task, shot in provider.shot_of.items() if shot == (1, 2)}
    assert in_flight and in_flight <= provider.cancelled, "the shot at the provider is cancelled"
    assert (1, 3) not in provider.shot_of.values(), "no shot is paid for after the cancel"
    scene = final.scenes[0]
    assert scene.status is SceneStatus.CANCELLED
    assert [shot.status for shot in shots_of(scene)] == [
        SceneStatus.SUCCEEDED,
        SceneStatus.CANCELLED,
        SceneStatus.PENDING,
        SceneStatus.PENDING,
    ]
    assert claims_of(stack, video.id).count("SUBMIT#001#002#1") == 1


def test_each_shot_is_paid_for_once_under_its_own_claim(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    provider = use(ScriptedProvider())

    def recording_shot_two(video_id: str, number: int, attempt: int, task_id: str, shot: int = 1) -> bool:
        return number == 1 and shot == 2

    def lost() -> BaseException:
        return ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "UpdateItem")

    # The claim of shot 2 is written, the provider called, and recording its task fails once:
    # SubmitScene cancels that task at once, and the retry finds the claim without a task, so it
    # never pays again (SUBMIT_IN_DOUBT) — shot 2's money is never spent twice.
    with fail_when(monkeypatch, ClaimRepository, "record_submit", lost, when=recording_shot_two) as fault:
        final = stack.wait(start_covered(stack), timeout=BOUND_SECONDS)

    assert fault.fired >= 1
    shots = [shot for shot in provider.shot_of.values() if shot[0] == 1]
    assert shots.count((1, 1)) == 1 and shots.count((1, 2)) == 1, "one create per shot"
    assert (1, 3) not in shots, "a scene whose shot fails films no further shot"
    scene = final.scenes[0]
    assert scene.status is SceneStatus.FAILED
    assert [shot.status for shot in shots_of(scene)] == [
        SceneStatus.SUCCEEDED,
        SceneStatus.FAILED,
        SceneStatus.PENDING,
        SceneStatus.PENDING,
    ]
    assert final.scenes[1].status is SceneStatus.SUCCEEDED, "the film goes on"
    assert final.status is VideoStatus.PARTIAL
