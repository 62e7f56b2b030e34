"""Coverage: each scene cut into shots the way a film is, timed to what each shot carries, and the
film cut to a length or a number of shots a scene. Scenes come from the parser, as a user writes
them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from script_to_film.domain import breakdown, catalog
from script_to_film.domain.coverage import (
    LINE_PAUSE_SECONDS,
    MAX_SHOTS_PER_SCENE,
    SHORT_CUT_MAX_SHOTS,
    SPEECH_WORDS_PER_MINUTE,
    Length,
)
from script_to_film.domain.director import direct
from script_to_film.domain.errors import InvalidOptionError
from script_to_film.domain.models import Shot, ShotKind
from script_to_film.domain.screenplay import parse

EXAMPLES = Path(__file__).resolve().parents[2] / "events" / "scripts"
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"

KITCHEN = """\
INT. KITCHEN - NIGHT

MARA (70s), wiry, in a conductor's coat, waits by the stove.

The kettle begins to whistle.

MARA
You're late.

JONAH
The train was late.

JONAH
It always is.

Mara turns off the gas.

MARA
Sit down.

JONAH
Why?

MARA ^
Because.

RADIO (V.O.)
The 6:40 to Harrow is cancelled.
"""


def shots_of(text: str, **options: object) -> list[Shot]:
    return direct(parse(text), **options)  # type: ignore[arg-type]


def test_a_scene_is_cut_into_a_master_then_a_shot_per_beat() -> None:
    shots = shots_of(KITCHEN)
    assert [(shot.kind, shot.subject, shot.lines) for shot in shots] == [
        (ShotKind.MASTER, None, []),  # the place and Mara waiting: the opening action
        (ShotKind.INSERT, None, []),  # the kettle: a paragraph that names nobody is a detail
        (ShotKind.OVER_THE_SHOULDER, "MARA", [0]),
        (ShotKind.OVER_THE_SHOULDER, "JONAH", [1, 2]),  # one speaker's exchange is one shot
        (ShotKind.MEDIUM, "MARA", []),  # an action paragraph about Mara
        (ShotKind.OVER_THE_SHOULDER, "MARA", [3]),
        (ShotKind.TWO_SHOT, "JONAH", [4, 5, 6]),  # dual dialogue; the radio is heard over it
    ]
    assert [shot.number for shot in shots] == list(range(1, 8))
    assert {shot.scene for shot in shots} == {1}
    assert shots[2].camera == (
        "Over-the-shoulder shot on a person in their 70s, wiry, in a conductor's coat, from behind a person"
    ), "each shot's prompt stands alone, so it describes whoever it shows"
    assert shots[6].prompt.startswith("Two-shot of ")


def test_a_scene_with_one_speaker_gets_close_ups() -> None:
    shots = shots_of("INT. CAR - DAY\n\nJONAH (40s) drives. He hums.\n\nJONAH\nAlmost there.\n")
    assert [shot.kind for shot in shots] == [ShotKind.MASTER, ShotKind.SINGLE]
    assert shots[1].camera == "Close-up on a man in his 40s"
    assert shots[1].prompt.startswith('Close-up on a man in his 40s: The man speaks: "Almost there."')


def test_every_line_is_carried_once_in_order() -> None:
    for path in sorted(EXAMPLES.glob("*.fountain")):
        screenplay = parse(path.read_text())
        shots = direct(screenplay)
        for scene in screenplay.scenes:
            carried = [line for shot in shots if shot.scene == scene.number for line in shot.lines]
            assert carried == list(range(len(scene.dialogue))), (path.name, scene.number)


def speech(words: int) -> str:
    return " ".join(["word"] * words)


@pytest.mark.parametrize(
    ("model", "words", "expected"),
    [
        ("gen4.5", 10, [5]),  # 10 words at 150 wpm = 4 s, and the pause: 4.5 s → 5
        ("veo3.1", 10, [6]),  # veo makes 4, 6 or 8 s: the shortest that holds 4.5 s
        ("gen4.5", 30, [7, 7]),  # 12.5 s is over the longest clip: two shots of 6.25 s, not one squeezed
        ("veo3.1_fast", 30, [8, 8]),
        ("animatic", 60, [9, 9, 9]),  # 24.5 s in three shots of 8.2 s
    ],
)
def test_a_shot_is_as_long_as_its_lines_take_to_say(model: str, words: int, expected: list[int]) -> None:
    seconds = words * 60 / SPEECH_WORDS_PER_MINUTE + LINE_PAUSE_SECONDS
    shots = shots_of(f"INT. ROOM - DAY\n\nMARA\n{speech(words)}\n", model=model)
    speaking = [shot for shot in shots if shot.lines]
    assert [shot.duration for shot in speaking] == expected
    assert all(shot.lines == [0] for shot in speaking), "a long speech runs over several shots"
    assert sum(expected) >= seconds > sum(expected) - len(expected) * 2
    assert all(shot.duration in catalog.get_model(model).durations for shot in shots)


def test_an_action_paragraph_is_as_long_as_it_reads() -> None:
    short, long = shots_of(f"INT. ROOM - DAY\n\nA cup.\n\n{'Rain falls on the roof. ' * 20}\n")
    assert (short.kind, long.kind) == (ShotKind.MASTER, ShotKind.INSERT)
    assert short.duration < long.duration


def test_shot_notes_start_a_shot_filmed_as_they_say() -> None:
    shots = shots_of(
        "INT. TRAIN CARRIAGE - DAY\n\nJONAH (70s), a tall man with a beard, sits by the window.\n\n"
        "[[shot: close-up on Jonah's eyes in the window reflection]]\n\nHe sees the platform.\n\n"
        "JONAH\nFifty years.\n\n[[shot: insert on the ticket]]\n\nJONAH\nFifty.\n"
    )
    assert [(shot.kind, shot.lines) for shot in shots] == [
        (ShotKind.MASTER, []),
        (ShotKind.INSERT, []),
        (ShotKind.SINGLE, [0]),
        (ShotKind.SINGLE, [1]),  # the note cuts the exchange: a shot starts where it stands
    ]
    eyes, _, ticket = shots[1], shots[2], shots[3]
    assert (
        eyes.camera == "Close-up on the eyes of a tall man in his 70s with a beard in the window reflection"
    )
    assert "the man's" not in eyes.prompt, "Jonah stays the person he is introduced as"
    assert ticket.camera == "Insert on the ticket"


def test_a_camera_note_directs_the_master_and_keeps_the_person() -> None:
    master = shots_of(
        "INT. CARRIAGE - DAY\n\n[[camera: close-up on Jonah's eyes]]\n\n"
        "JONAH (70s), a tall man with a beard, rubs the glass.\n"
    )[0]
    assert master.camera == "Close-up on the eyes of a tall man in his 70s with a beard"


def test_a_duration_note_sets_the_scene_length() -> None:
    shots = shots_of(f"INT. ROOM - DAY\n\n[[duration: 40]]\n\nMARA (30s) waits.\n\nMARA\n{speech(10)}\n")
    assert sum(shot.duration for shot in shots) == pytest.approx(40, abs=len(shots))


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.fountain")), ids=lambda path: path.name)
def test_the_film_runs_as_long_as_the_screenplay_reads(path: Path) -> None:
    plan = breakdown.plan(path.read_text())
    film = sum(shot.duration for shot in plan.shots)
    assert abs(film - plan.screenplay.total_seconds) <= 0.25 * plan.screenplay.total_seconds


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the public Fountain corpus is not beside the project")
def test_a_feature_runs_as_long_as_it_reads() -> None:
    plan = breakdown.plan((CORPUS / "Big-Fish.fountain").read_text())
    film = sum(shot.duration for shot in plan.shots)
    assert abs(film - plan.screenplay.total_seconds) <= 0.25 * plan.screenplay.total_seconds
    assert all(
        len([shot for shot in plan.shots if shot.scene == scene.number]) <= MAX_SHOTS_PER_SCENE
        for scene in plan.screenplay.scenes
    )


def test_short_is_a_condensed_cut() -> None:
    text = (EXAMPLES / "train-station.fountain").read_text()
    full, short = breakdown.plan(text), breakdown.plan(text, length=Length.parse("short"))
    assert sum(s.duration for s in short.shots) < 0.7 * sum(s.duration for s in full.shots)
    per_scene = [len(shots) for shots in short.by_scene().values()]
    assert max(per_scene) <= SHORT_CUT_MAX_SHOTS
    assert short.estimate.usd < full.estimate.usd


@pytest.mark.parametrize("target", [30, 120])
def test_a_target_length_is_what_the_film_runs(target: int) -> None:
    plan = breakdown.plan((EXAMPLES / "train-station.fountain").read_text(), length=Length.parse(str(target)))
    film = sum(shot.duration for shot in plan.shots)
    # Each shot is rounded up to a whole clip length, and no clip is shorter than the model makes.
    assert target <= film <= target + 2 * len(plan.shots)
    assert all(shot.duration in catalog.get_model("gen4.5").durations for shot in plan.shots)


@pytest.mark.parametrize("most", [1, 2])
def test_max_shots_bounds_each_scene_and_keeps_every_line(most: int) -> None:
    text = (EXAMPLES / "train-station.fountain").read_text()
    plan = breakdown.plan(text, max_shots=most)
    for scene in plan.screenplay.scenes:
        shots = [shot for shot in plan.shots if shot.scene == scene.number]
        assert 1 <= len(shots) <= most
        assert shots[0].kind is ShotKind.MASTER
        assert [line for shot in shots for line in shot.lines] == list(range(len(scene.dialogue)))


def test_a_huge_scene_is_cut_into_at_most_the_shots_a_scene_may_have() -> None:
    lines = "".join(f"{('MARA', 'JONAH')[n % 2]}\nLine {n} of many.\n\n" for n in range(6_000))
    shots = shots_of(f"INT. WAITING ROOM - NIGHT\n\nMARA (70s) waits.\n\n{lines}")
    assert len(shots) == MAX_SHOTS_PER_SCENE
    assert [line for shot in shots for line in shot.lines] == list(range(6_000))
    assert all(shot.duration == 10 for shot in shots[1:]), "squeezed only because the cap asks for it"


@pytest.mark.parametrize("text", ["0", "-5", "long", "86401", "", "1.5"])
def test_a_length_is_full_short_or_seconds(text: str) -> None:
    with pytest.raises(InvalidOptionError, match="length must be full, short or a number of seconds"):
        Length.parse(text)
    assert str(Length.parse("90")) == "90"
    assert Length.parse(" Short ").mode == "short"


@pytest.mark.parametrize("most", [0, MAX_SHOTS_PER_SCENE + 1])
def test_max_shots_is_bounded(most: int) -> None:
    with pytest.raises(InvalidOptionError, match="max shots"):
        shots_of("INT. ROOM - DAY\n\nA cup.\n", max_shots=most)


def test_the_estimate_shows_shots_seconds_and_cost_per_scene() -> None:
    plan = breakdown.plan((EXAMPLES / "train-station.fountain").read_text())
    estimate = plan.estimate
    assert estimate.shots == len(plan.shots)
    assert estimate.seconds == sum(shot.duration for shot in plan.shots)
    for line in estimate.scenes:
        shots = [shot for shot in plan.shots if shot.scene == line.number]
        assert [(s.number, s.duration) for s in line.shots] == [(s.number, s.duration) for s in shots]
        assert line.credits == sum(s.credits for s in line.shots) == line.duration * 12
    assert math.isclose(estimate.usd, sum(line.usd for line in estimate.scenes), abs_tol=0.01)


def test_a_screenplay_cut_into_more_shots_than_a_film_may_have_is_refused() -> None:
    scene = "INT. ROOM {n} - DAY\n\nA cup.\n\nThe clock ticks.\n\nRain falls.\n\n"
    text = "".join(scene.format(n=n) for n in range(1_700))
    with pytest.raises(breakdown.TooManyShotsError, match=r"5,100 shots; a film may have at most 5,000"):
        breakdown.plan(text)
    assert len(breakdown.plan(text, max_shots=2).shots) == 3_400, "fewer shots a scene fit"
