"""Each scene's job says where the scene sits in the film, for the animatic's running timecode
and its fades: the sum of the shots before it, and whether it opens from black."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from infra.local.stack import LocalStack
from script_to_film.domain.options import VideoOptions
from script_to_film.services.submission import create_video

SCREENPLAY = (
    "INT. KITCHEN - DAY\n\nA kettle boils.\n\nCUT TO:\n\n"
    "EXT. GARDEN - NIGHT\n\nAn owl lands.\n\nFADE OUT.\n\n"
    "INT. HALL - NIGHT\n\nA door closes.\n"
)


@pytest.fixture
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        yield running


def test_jobs_carry_their_start_in_the_film_and_their_fade_in(stack: LocalStack) -> None:
    video = create_video(stack.backend, SCREENPLAY, VideoOptions(provider="animatic"))
    jobs = [stack.backend.videos.get_job(video.id, number) for number in (1, 2, 3)]
    durations = [job.shot.duration for job in jobs]

    assert [job.start_seconds for job in jobs] == [0, durations[0], durations[0] + durations[1]]
    # The film opens from black; a cut cuts; the scene after a fade comes up from black.
    assert [job.fade_in for job in jobs] == [True, False, True]
