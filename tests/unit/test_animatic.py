"""The animatic provider: stateless task ids, simulated latency, and a real clip on download."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from script_to_film.adapters import media
from script_to_film.adapters.providers.animatic import AnimaticProvider
from script_to_film.domain.errors import MediaError, PermanentProviderError, TransientProviderError
from script_to_film.domain.models import Scene, SceneJob, Shot
from script_to_film.domain.ports import ProviderTask, TaskState, VideoProvider


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_750_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_job(ratio: str = "640:360", duration: int = 1) -> SceneJob:
    scene = Scene(
        number=4,
        heading="INT. KITCHEN - NIGHT",
        time_of_day="NIGHT",
        action="Steam rises from a kettle.",
        estimated_seconds=max(1, duration),
    )
    shot = Shot(
        scene=4,
        camera="close-up",
        lighting="practical",
        environment="kitchen",
        style="storyboard",
        prompt="a kettle",
        duration=duration,
        ratio=ratio,
        model="animatic",
        provider="animatic",
    )
    return SceneJob(video_id="vid-1", scene=scene, shot=shot)


def test_it_is_a_video_provider() -> None:
    provider: VideoProvider = AnimaticProvider()
    assert provider.name == "animatic"


def test_submit_returns_a_fresh_id_that_carries_the_submit_time() -> None:
    clock = Clock()
    provider = AnimaticProvider(clock=clock)

    first, second = provider.submit(make_job()), provider.submit(make_job())

    assert first != second
    assert re.fullmatch(rf"animatic-{int(clock.now * 1000)}-[0-9a-f]{{32}}", first)


def test_without_latency_a_task_succeeds_at_once_for_free() -> None:
    provider = AnimaticProvider()
    task = provider.status(provider.submit(make_job()))

    assert (task.state, task.progress, task.credits) == (TaskState.SUCCEEDED, 1.0, 0)
    assert task.output_url is None


def test_with_latency_a_task_runs_then_succeeds() -> None:
    clock = Clock()
    task_id = AnimaticProvider(latency_seconds=10, clock=clock).submit(make_job())
    # Polls come from other processes: a new instance, sharing nothing but the id.
    poller = AnimaticProvider(latency_seconds=10, clock=clock)

    seen = []
    for _ in range(4):
        task = poller.status(task_id)
        seen.append((task.state, task.progress))
        clock.now += 4

    assert seen == [
        (TaskState.RUNNING, 0.0),
        (TaskState.RUNNING, 0.4),
        (TaskState.RUNNING, 0.8),
        (TaskState.SUCCEEDED, 1.0),
    ]


def test_a_clock_behind_the_submitter_counts_as_just_submitted() -> None:
    clock = Clock()
    task_id = AnimaticProvider(clock=clock).submit(make_job())
    clock.now -= 5
    task = AnimaticProvider(latency_seconds=2, clock=clock).status(task_id)
    assert (task.state, task.progress) == (TaskState.RUNNING, 0.0)


def test_a_real_pause_reaches_success() -> None:
    import time

    provider = AnimaticProvider(latency_seconds=0.05)
    task_id = provider.submit(make_job())
    assert provider.status(task_id).state is TaskState.RUNNING
    time.sleep(0.06)
    assert provider.status(task_id).state is TaskState.SUCCEEDED


@pytest.mark.parametrize(
    "task_id",
    ["", "animatic", "animatic-12-xyz", "runway-1750000000000-" + "a" * 32, "animatic-abc-" + "a" * 32],
)
def test_an_id_it_did_not_issue_is_a_permanent_error(task_id: str) -> None:
    with pytest.raises(PermanentProviderError) as raised:
        AnimaticProvider().status(task_id)
    assert raised.value.code == "UNKNOWN_TASK"


def test_a_shot_it_cannot_render_is_refused_at_submit() -> None:
    with pytest.raises(PermanentProviderError) as raised:
        AnimaticProvider().submit(make_job(ratio="widescreen"))
    assert raised.value.code == "INPUT.RATIO"
    with pytest.raises(PermanentProviderError) as raised:
        AnimaticProvider().submit(make_job(duration=0))
    assert raised.value.code == "INPUT.DURATION"


def test_cancel_leaves_everything_as_it_was() -> None:
    provider = AnimaticProvider()
    task_id = provider.submit(make_job())

    provider.cancel(task_id)
    provider.cancel("not-an-animatic-task")

    assert provider.status(task_id).state is TaskState.SUCCEEDED


def test_open_output_renders_a_real_clip_and_cleans_up(tmp_path: Path) -> None:
    provider = AnimaticProvider()
    job = make_job(duration=1)
    task = provider.status(provider.submit(job))

    with provider.open_output(task, job) as stream:
        data = stream.read()
        rendered = Path(stream.name)
        assert rendered.exists()

    assert not rendered.exists() and not rendered.parent.exists()
    assert data[4:8] == b"ftyp"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(data)
    info = media.probe(clip)
    assert (info.width, info.height, info.video_codec) == (640, 360, "h264")
    assert info.duration == pytest.approx(1, abs=0.1)


def test_open_output_wants_a_finished_task() -> None:
    provider = AnimaticProvider(latency_seconds=60)
    job = make_job()
    task = provider.status(provider.submit(job))
    assert task.state is TaskState.RUNNING
    with pytest.raises(PermanentProviderError), provider.open_output(task, job):
        pass


def test_a_render_failure_is_worth_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*_: object, **__: object) -> Path:
        raise MediaError("rendering failed: No space left on device")

    monkeypatch.setattr(media, "render_animatic", fail)
    provider = AnimaticProvider()
    job = make_job()
    task = ProviderTask(id=provider.submit(job), state=TaskState.SUCCEEDED)
    with pytest.raises(TransientProviderError) as raised, provider.open_output(task, job):
        pass
    assert raised.value.code == "RENDER"


def test_latency_cannot_be_negative() -> None:
    with pytest.raises(ValueError, match="latency"):
        AnimaticProvider(latency_seconds=-1)


def test_the_clip_is_rendered_where_the_scene_sits_in_the_film(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict[str, object]] = []

    def render(scene: Scene, shot: Shot, out: Path, **placement: object) -> Path:
        seen.append(placement)
        out.write_bytes(b"clip")
        return out

    monkeypatch.setattr(media, "render_animatic", render)
    provider = AnimaticProvider()
    job = make_job().model_copy(update={"start_seconds": 42.0, "fade_in": True})
    task = ProviderTask(id=provider.submit(job), state=TaskState.SUCCEEDED)
    with provider.open_output(task, job) as stream:
        assert stream.read() == b"clip"
    assert seen == [{"start_seconds": 42.0, "fade_in": True}]
