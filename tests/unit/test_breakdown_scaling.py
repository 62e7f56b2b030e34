"""Breaking a screenplay down costs time in proportion to its length, whatever its shape.

A request of a few kilobytes must never hold the API for long: one scene of thousands of
speeches, thousands of speaking parts, a character per scene. Time is not measured (a busy machine
would make that flaky); the work is, as the number of Python and C function calls the breakdown
makes. Four times the input may cost at most a little over four times the calls: a rescan per
speech, or per character, would cost sixteen times.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest

from script_to_film.domain import breakdown

GROWTH = 4
LINEAR = GROWTH * 1.3
"""What four times the input may cost at most, with room for the fixed costs not quite dividing."""


def calls(work: Callable[[], object]) -> int:
    """Function calls (Python and built-in) made while `work` runs: the same count on any machine."""
    count = 0

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profile)
    try:
        work()
    finally:
        sys.setprofile(None)
    return count


def growth(screenplay: Callable[[int], str], size: int) -> float:
    small, large = screenplay(size), screenplay(size * GROWTH)
    breakdown.plan(small)  # warm caches (compiled patterns, lazy imports) out of the count
    return calls(lambda: breakdown.plan(large)) / calls(lambda: breakdown.plan(small))


def a_conversation(speeches: int) -> str:
    lines = "".join(f"{('MARA', 'JONAH')[n % 2]}\nLine {n}.\n\n" for n in range(speeches))
    return f"INT. WAITING ROOM - NIGHT\n\nMARA (70s) waits. JONAH (40s) paces.\n\n{lines}"


def a_monologue(speeches: int) -> str:
    lines = "".join(f"MARA\nLine {n}.\n\n" for n in range(speeches))
    return f"INT. WAITING ROOM - NIGHT\n\nMARA (70s) waits.\n\n{lines}"


def a_crowd(speakers: int) -> str:
    lines = "".join(f"PASSENGER {n}\nExcuse me.\n\n" for n in range(speakers))
    return f"INT. CONCOURSE - DAY\n\nA crowd pushes past.\n\n{lines}"


def a_roll_call(names: int) -> str:
    return f"INT. HALL - DAY\n\nMARA (70s) reads the list: {', '.join(['MARA'] * names)}\n\nMARA\nHere.\n"


def a_character_a_scene(scenes: int) -> str:
    return "".join(
        f"INT. ROOM {n} - DAY\n\nGUEST{n} (30s) waits. She looks at the door.\n\nGUEST{n}\nHello?\n\n"
        for n in range(scenes)
    )


@pytest.mark.parametrize(
    ("screenplay", "size"),
    [(a_conversation, 300), (a_monologue, 300), (a_crowd, 60), (a_roll_call, 300), (a_character_a_scene, 60)],
    ids=[
        "one scene of many speeches",
        "one speaker's long monologue",
        "many speakers",
        "a name at every word",
        "many characters",
    ],
)
def test_a_breakdown_costs_in_proportion_to_the_screenplay(
    screenplay: Callable[[int], str], size: int
) -> None:
    assert growth(screenplay, size) <= LINEAR
