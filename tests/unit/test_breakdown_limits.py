"""What a stored script may be, and its stored breakdown: refused before directing when it has more
scenes than a script may, or a heading no scene has, or control characters no text holds; priced on
every model from one direction, exactly as directing for that model would price it."""

from __future__ import annotations

from pathlib import Path

import pytest

from script_to_film.domain import breakdown, catalog, director
from script_to_film.domain.breakdown import ScriptTooLongError, StoredBreakdown
from script_to_film.domain.errors import NotTextError, ScreenplayError
from script_to_film.domain.limits import MAX_HEADING_CHARS, MAX_SCRIPT_SCENES, MAX_TITLE_CHARS

REPO = Path(__file__).resolve().parents[2]
NOTED = b"""INT. ROOM - DAY

[[duration: 3]]

A clock ticks.

EXT. FIELD - NIGHT

[[duration: 13]]

Wind in the grass for a long while. MARA (70s) walks slowly towards the old oak.
"""
"""Clip lengths asked for by notes, which each model snaps its own way."""
SCREENPLAYS = {
    "notes": NOTED,
    **{
        path.name: path.read_bytes()
        for path in sorted(
            [
                *(REPO / "events").rglob("*.fountain"),
                *(REPO.parent / "shared" / "corpus").glob("[A-Z]*.fountain"),
            ]
        )
    },
}


def scenes(count: int) -> str:
    return "".join(f"INT. ROOM {n} - DAY\n\nA clock ticks.\n\n" for n in range(count))


def test_the_scene_limit_is_checked_before_anything_is_directed(monkeypatch: pytest.MonkeyPatch) -> None:
    directed: list[int] = []
    direct = director.direct
    monkeypatch.setattr(director, "direct", lambda play, **kw: directed.append(1) or direct(play, **kw))

    with pytest.raises(
        ScriptTooLongError, match=f"{MAX_SCRIPT_SCENES + 1:,} scenes.*at most {MAX_SCRIPT_SCENES:,}"
    ):
        breakdown.plan(scenes(MAX_SCRIPT_SCENES + 1), max_scenes=MAX_SCRIPT_SCENES)
    assert directed == []

    assert (
        len(breakdown.plan(scenes(MAX_SCRIPT_SCENES), max_scenes=MAX_SCRIPT_SCENES).shots)
        == MAX_SCRIPT_SCENES
    )
    assert len(breakdown.plan(scenes(MAX_SCRIPT_SCENES + 1)).shots) == MAX_SCRIPT_SCENES + 1, (
        "no limit unless asked"
    )


def test_the_stored_script_limit_leaves_room_for_films_of_a_thousand_scenes() -> None:
    assert MAX_SCRIPT_SCENES >= 1_000


def test_a_heading_longer_than_any_scene_has_is_refused() -> None:
    with pytest.raises(ScreenplayError, match=f"scene 2's heading is .* at most {MAX_HEADING_CHARS}"):
        breakdown.plan("INT. ROOM - DAY\n\nA.\n\nEXT. " + "FIELD " * 100 + "- DAY\n\nB.\n")


def test_a_title_longer_than_the_api_allows_is_cut() -> None:
    title = breakdown.plan(f"Title: {'Long ' * 100}\n\nINT. ROOM - DAY\n\nA.\n").screenplay.title

    assert title is not None
    assert len(title) == MAX_TITLE_CHARS
    assert title.endswith("…")


@pytest.mark.parametrize("text", ["INT. ROOM - DAY\n\nA\x01B.\n", "INT. ROOM - DAY\n\n\x1b[31mRed.\n"])
def test_control_characters_are_not_text(text: str) -> None:
    with pytest.raises(NotTextError, match="control character"):
        breakdown.plan(text)


def test_tabs_form_feeds_and_line_endings_are_text() -> None:
    assert breakdown.plan("INT. ROOM - DAY\r\n\r\n\tA clock.\x0c\n").shots


def test_a_lone_surrogate_is_not_text() -> None:
    with pytest.raises(NotTextError, match="surrogate"):
        breakdown.plan("INT. ROOM - DAY\n\nA \ud800.\n")


@pytest.mark.parametrize("name", SCREENPLAYS)
def test_the_stored_estimates_are_those_of_directing_for_each_model(name: str) -> None:
    text = SCREENPLAYS[name]
    stored = StoredBreakdown.of(breakdown.plan(text))

    assert set(stored.estimates) == set(catalog.MODELS)
    for model in catalog.MODELS:
        directed = breakdown.plan(text, model=model).to_breakdown().estimate
        assert stored.estimates[model] == directed, model
    assert stored.breakdown == breakdown.plan(text).to_breakdown()
