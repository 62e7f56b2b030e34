"""Properties of the parser over generated input: it never crashes, and what it builds holds together."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from script_to_film.domain.errors import NoScenesError, ScreenplayError
from script_to_film.domain.models import Screenplay
from script_to_film.domain.screenplay import parse, parse_bytes

SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Pieces of text that mean something in Fountain, so random text reaches every branch of the parser.
FOUNTAIN_PIECES = [*"INTEXSinte./ -#@!^~=><()[]*_:\\\n\r\t ", "  ", "[[", "]]", "/*", "*/", "\ufeff"]
fountain_noise = st.lists(st.sampled_from(FOUNTAIN_PIECES), max_size=200).map("".join)

names = st.sampled_from(["JOHN", "MARY", "DR. BENNETT", "@McCLANE", "R2-D2", "HANS", "GIRL", "GUY"])
extensions = st.sampled_from(["", " (V.O.)", " (O.S.)", " (CONT'D)", " (on the radio)", " ^", "^"])
words = st.text(alphabet=st.sampled_from(list("abcdefgh *_.,!?'")), min_size=1, max_size=30)
headings = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["INT. ", "EXT. ", "EST. ", "INT./EXT. ", "I/E ", "int ", ".", "EXT./INT. "]),
    st.sampled_from(["KITCHEN", "BIG-TOP", "VW GTI, NORTHBOUND", "HOUSE [MID/LATE '70'S]", "(PARIS) ROOM"]),
    st.sampled_from(
        ["", " - DAY", " - NIGHT (1973)", ", A MOMENT LATER", " - [THE NEXT] MORNING", " - DAY - X"]
    ),
    st.sampled_from(["", " #1#", " #2-B#", "#"]),
)
notes = st.builds(
    "[[{}]]".format,
    st.sampled_from(["camera: wide", "style: noir", "duration: 8", "Duration: 99", "duration: x", "a\nb"]),
)
fragments = st.one_of(
    headings,
    st.builds("{}{}\n{}".format, names, extensions, words),
    st.builds("({})".format, words),
    words,
    notes,
    st.sampled_from(
        ["/*", "*/", "CUT TO:", "> FADE OUT.", "> THE END <", "===", "# Act", "## Scene", "= syn"]
    ),
    st.sampled_from(["~la la la", "!FORCED", "  ", "", "Title: X", "\t\tindented", "\ufeff"]),
)
separators = st.sampled_from(["\n", "\n\n", "\r\n", "\r\n\r\n", "\r", "\n  \n", " "])
plausible_fountain = st.lists(st.tuples(fragments, separators), max_size=40).map(
    lambda pairs: "".join(fragment + separator for fragment, separator in pairs)
)


def check(screenplay: Screenplay) -> None:
    assert screenplay.scenes
    assert [scene.number for scene in screenplay.scenes] == list(range(1, len(screenplay.scenes) + 1))
    for scene in screenplay.scenes:
        assert scene.estimated_seconds >= 1
        assert len(set(scene.characters)) == len(scene.characters)
        assert {line.character for line in scene.dialogue} == set(scene.characters)
        assert scene.direction.duration is None or 1 <= scene.direction.duration <= 600


def parses_or_refuses(text: str) -> None:
    try:
        screenplay = parse(text)
    except ScreenplayError:
        return
    check(screenplay)


@SETTINGS
@given(st.text())
def test_any_text_gives_a_screenplay_or_a_screenplay_error(text: str) -> None:
    parses_or_refuses(text)


@SETTINGS
@given(fountain_noise)
def test_fountain_punctuation_gives_a_screenplay_or_a_screenplay_error(text: str) -> None:
    parses_or_refuses(text)


@SETTINGS
@given(plausible_fountain)
def test_plausible_fountain_gives_a_screenplay_or_a_screenplay_error(text: str) -> None:
    parses_or_refuses(text)


@SETTINGS
@given(st.binary(max_size=300))
def test_any_bytes_give_a_screenplay_or_a_screenplay_error(data: bytes) -> None:
    try:
        screenplay = parse_bytes(data)
    except ScreenplayError:
        return
    check(screenplay)


# Well-formed screenplays built from paragraphs: what goes in must come out.

clean_headings = st.builds(
    "{} {} - {}".format,
    st.sampled_from(["INT.", "EXT.", "EST.", "INT./EXT.", "I/E"]),
    st.sampled_from(["KITCHEN", "THE BIG TOP", "ROAD"]),
    st.sampled_from(["DAY", "NIGHT", "DUSK", "MOMENTS LATER"]),
)
clean_names = st.sampled_from(["JOHN", "MARY", "DR. BENNETT", "R2-D2"])
# Lower-case sentences that start with a letter: never a heading, a cue, a transition or a key.
sentences = st.builds(
    str.__add__,
    st.sampled_from(list("abcdefghij")),
    st.text(alphabet=st.sampled_from(list("abcdefghij ,.?")), max_size=40).map(str.rstrip),
)
# Each paragraph: (kind, its Fountain text, the speech it holds as (character, text) if any).
paragraphs = st.one_of(
    clean_headings.map(lambda heading: ("heading", heading, None)),
    sentences.map(lambda sentence: ("action", sentence, None)),
    st.tuples(clean_names, sentences).map(lambda speech: ("speech", "\n".join(speech), speech)),
    sentences.map(lambda sentence: ("note", f"[[{sentence}]]", None)),
    sentences.map(lambda sentence: ("section", f"# {sentence}", None)),
)


@SETTINGS
@given(st.lists(paragraphs, max_size=25))
def test_every_heading_makes_one_scene_and_every_speech_is_kept(
    script: list[tuple[str, str, tuple[str, str] | None]],
) -> None:
    text = "\n\n".join(fountain for _, fountain, _ in script)
    kinds = [kind for kind, _, _ in script]
    if "heading" not in kinds:
        with pytest.raises(NoScenesError):
            parse(text)
        return
    screenplay = parse(text)
    assert [scene.heading for scene in screenplay.scenes] == [
        fountain for kind, fountain, _ in script if kind == "heading"
    ]
    in_scenes = script[kinds.index("heading") :]
    speeches = [speech for _, _, speech in in_scenes if speech is not None]
    assert [(line.character, line.text) for scene in screenplay.scenes for line in scene.dialogue] == [
        (name, " ".join(said.split())) for name, said in speeches
    ]
    assert sum(len(scene.notes) for scene in screenplay.scenes) == sum(
        kind == "note" for kind, _, _ in in_scenes
    )
    assert all("[[" not in scene.action for scene in screenplay.scenes)
