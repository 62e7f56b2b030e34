"""An animatic film as a preview: each scene's job says where the scene sits in the film (for
the running timecode and the fades), and the film opens on a title card from the title page and
closes on an end card, joined to the scenes by stream copy."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import pytest

from infra.local.stack import LocalStack
from script_to_film.adapters import media
from script_to_film.domain.models import VideoStatus
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.screenplay import parse
from script_to_film.services.submission import create_video, start_video

SCREENPLAY = (
    "INT. KITCHEN - DAY\n\nA kettle boils.\n\nCUT TO:\n\n"
    "EXT. GARDEN - NIGHT\n\nAn owl lands.\n\nFADE OUT.\n\n"
    "INT. HALL - NIGHT\n\nA door closes.\n"
)
TITLED = (
    "Title: Keeper\nCredit: Written by\nAuthor: Elsa Marr\n\n"
    "INT. KITCHEN - DAY\n\nA kettle boils.\n\n[[duration: 2]]\n\n"
    "EXT. GARDEN - NIGHT\n\nAn owl lands.\n\n[[duration: 2]]\n"
)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def test_jobs_carry_their_start_in_the_film_and_their_fade_in(stack: LocalStack) -> None:
    video = create_video(stack.backend, SCREENPLAY, VideoOptions(provider="animatic"))
    jobs = [stack.backend.videos.get_job(video.id, number) for number in (1, 2, 3)]
    durations = [job.shot.duration for job in jobs]

    # The title card comes first, and the timecode runs across it.
    title = media.TITLE_CARD_SECONDS
    assert [job.start_seconds for job in jobs] == [title, title + durations[0], title + sum(durations[:2])]
    # The film opens from black; a cut cuts; the scene after a fade comes up from black.
    assert [job.fade_in for job in jobs] == [True, False, True]


def frame_at(clip: Path, seconds: float) -> bytes:
    args = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-ss", f"{seconds:.3f}", "-i", str(clip)]
    args += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    return subprocess.run(args, capture_output=True, check=True).stdout


def difference(a: bytes, b: bytes) -> float:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def test_the_film_opens_on_its_title_card_and_closes_on_its_end_card(
    stack: LocalStack, tmp_path: Path
) -> None:
    options = VideoOptions(provider="animatic", poll_seconds=1, scene_timeout_seconds=30)
    video = stack.wait(start_video(stack.backend, TITLED, options, max_concurrency=2), timeout=120)
    assert video.status is VideoStatus.SUCCEEDED
    film = stack.export(video, tmp_path) / "film.mp4"
    scenes = sum(scene.duration_seconds for scene in video.scenes)
    info = media.probe(film)
    assert info.duration == pytest.approx(media.TITLE_CARD_SECONDS + scenes + media.END_CARD_SECONDS, abs=0.2)

    title = media.render_title_card(parse(TITLED).title_page, video.ratio, tmp_path / "title.mp4")
    end = media.render_end_card(
        "Keeper", video.ratio, tmp_path / "end.mp4", start_seconds=media.TITLE_CARD_SECONDS + scenes
    )
    assert media.probe(title).stream_signature == info.stream_signature
    middle = media.TITLE_CARD_SECONDS / 2
    assert difference(frame_at(film, middle), frame_at(title, middle)) < 1
    end_middle = media.END_CARD_SECONDS / 2
    at_end = media.TITLE_CARD_SECONDS + scenes + end_middle
    assert difference(frame_at(film, at_end), frame_at(end, end_middle)) < 1
    # The first scene follows the title card.
    assert difference(frame_at(film, media.TITLE_CARD_SECONDS + 1), frame_at(title, middle)) > 5
