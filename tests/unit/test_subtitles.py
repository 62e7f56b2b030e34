"""Subtitles: cues that fit on screen, in time with the line, written as SRT and WebVTT that parse
back to the same cues."""

from __future__ import annotations

import itertools
import re

import pysubs2
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from script_to_film.domain import subtitles
from script_to_film.domain.subtitles import MAX_LINE_CHARS, Cue

LONG = (
    "I waited forty years for this train, and it never came. Not once. Not in rain, not in snow, "
    "not when my brother died and I needed to get to the coast."
)
_VTT_TIMING = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3} --> \d{2}:\d{2}:\d{2}\.\d{3}$")
_SRT_TIMING = re.compile(r"^\d{2}:\d{2}:\d{2},\d{3} --> \d{2}:\d{2}:\d{2},\d{3}$")


def test_a_long_line_becomes_cues_in_sequence_that_cover_its_time() -> None:
    cues = subtitles.cues_for(LONG, 2.0, 11.0, "MARA")
    assert len(cues) > 1
    assert cues[0].start == 2.0 and cues[-1].end == 11.0
    assert all(a.end == b.start for a, b in itertools.pairwise(cues)), "no gap, no overlap"
    assert " ".join(cue.text for cue in cues) == LONG, "every word, once, in order"
    assert cues[0].text.endswith("Not once."), "split at a sentence end where one fits"


@given(
    st.lists(st.text(alphabet="abcdefghij klm,.!?", min_size=1, max_size=12), min_size=1, max_size=40),
    st.sampled_from([None, "MARA", "YOUNG EDWARD"]),
)
def test_every_cue_fits_two_lines_of_42_characters(words: list[str], speaker: str | None) -> None:
    text = " ".join(words)
    assume(text.strip())
    srt = subtitles.to_srt(subtitles.cues_for(text, 0.0, 30.0, speaker))
    for block in srt.strip().split("\n\n"):
        lines = block.split("\n")[2:]
        assert 1 <= len(lines) <= 2
        assert all(len(line) <= MAX_LINE_CHARS for line in lines), lines


def test_srt_parses_back_to_the_same_cues_with_speaker_names() -> None:
    cues = [
        *subtitles.cues_for("The last train left.", 1.0, 2.5, "MARA"),
        Cue(start=3.0, end=4.2, text="Wait."),
    ]
    srt = subtitles.to_srt(cues)
    blocks = srt.strip().split("\n\n")
    assert [block.split("\n")[0] for block in blocks] == ["1", "2"]
    assert all(_SRT_TIMING.match(block.split("\n")[1]) for block in blocks)
    parsed = pysubs2.SSAFile.from_string(srt, format_="srt")
    assert [(e.start, e.end, e.plaintext) for e in parsed] == [
        (1000, 2500, "MARA: The last train left."),
        (3000, 4200, "Wait."),
    ]


def test_webvtt_is_well_formed_and_escapes_what_the_format_reserves() -> None:
    cues = [Cue(start=0.5, end=2.0, text="Fish & chips <now> --> go", speaker="JONAH")]
    vtt = subtitles.to_webvtt(cues, speakers=False)
    lines = vtt.split("\n")
    assert lines[0] == "WEBVTT" and lines[1] == ""
    timing = [line for line in lines if "-->" in line]
    assert len(timing) == 1 and _VTT_TIMING.match(timing[0])
    assert "Fish &amp; chips &lt;now&gt; -&gt; go" in vtt
    assert "JONAH" not in vtt, "speaker names are optional"
    parsed = pysubs2.SSAFile.from_string(vtt, format_="vtt")
    assert [(e.start, e.end) for e in parsed] == [(500, 2000)]


def test_cues_are_written_in_time_order() -> None:
    cues = [Cue(start=5, end=6, text="second"), Cue(start=1, end=2, text="first")]
    assert subtitles.to_srt(cues).index("first") < subtitles.to_srt(cues).index("second")


def test_a_cue_that_ends_before_it_starts_is_refused() -> None:
    with pytest.raises(ValueError, match="ends after it starts"):
        Cue(start=2.0, end=2.0, text="x")
