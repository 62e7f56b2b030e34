"""The parser on real screenplays: the public Fountain corpus beside the repository.

Scene headings must agree with screenplain (the reference Fountain implementation in Python)
paragraph for paragraph. Skipped when the corpus is absent.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from script_to_film.domain.errors import NoScenesError
from script_to_film.domain.models import IntExt
from script_to_film.domain.screenplay import parse_bytes

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus"

pytestmark = pytest.mark.corpus

SCREENPLAYS = {"Big-Fish.fountain": 190, "Brick-and-Steel.fountain": 8, "The-Last-Birthday-Card.fountain": 48}
SPEC_FILES = sorted(path.name for path in CORPUS.glob("spec-*.fountain"))


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"the Fountain corpus is not at {CORPUS}")
    return path


def collapsed(text: str) -> str:
    return " ".join(text.split())


def screenplain_headings(path: Path) -> list[str]:
    fountain = pytest.importorskip("screenplain.parsers.fountain")
    from screenplain.types import Slug

    with path.open(encoding="utf-8-sig") as stream:
        paragraphs = fountain.parse(stream).paragraphs
    return [collapsed(str(paragraph.line)) for paragraph in paragraphs if isinstance(paragraph, Slug)]


def our_headings(path: Path) -> list[str]:
    try:
        screenplay = parse_bytes(path.read_bytes())
    except NoScenesError:
        return []
    return [collapsed(scene.heading) for scene in screenplay.scenes]


@pytest.mark.parametrize(("name", "count"), SCREENPLAYS.items())
def test_scene_headings_agree_with_screenplain(name: str, count: int) -> None:
    path = corpus_file(name)
    ours = our_headings(path)
    assert len(ours) == count
    assert ours == screenplain_headings(path)


@pytest.mark.parametrize("name", SPEC_FILES or ["spec-*.fountain"])
def test_spec_file_headings_agree_with_screenplain(name: str) -> None:
    path = corpus_file(name)
    assert our_headings(path) == screenplain_headings(path)


def test_scene_numbers_agree_with_screenplain() -> None:
    path = corpus_file("spec-scene-numbers.fountain")
    fountain = pytest.importorskip("screenplain.parsers.fountain")
    from screenplain.types import Slug

    with path.open(encoding="utf-8-sig") as stream:
        theirs = [
            None if paragraph.scene_number is None else str(paragraph.scene_number)
            for paragraph in fountain.parse(stream).paragraphs
            if isinstance(paragraph, Slug)
        ]
    ours = [scene.scene_number for scene in parse_bytes(path.read_bytes()).scenes]
    assert ours == theirs == ["1", "2", None, None, "2-B"]


def test_big_fish_parses_fast() -> None:
    data = corpus_file("Big-Fish.fountain").read_bytes()
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        parse_bytes(data)
        timings.append(time.perf_counter() - started)
    assert min(timings) < 0.25, f"best of three: {min(timings) * 1000:.0f} ms"


def test_big_fish_title_page_and_first_scene() -> None:
    screenplay = parse_bytes(corpus_file("Big-Fish.fountain").read_bytes())
    assert screenplay.title == "Big Fish"
    assert screenplay.title_page["notes"] == (
        "FINAL PRODUCTION DRAFT\nincludes post-production dialogue\nand omitted scenes"
    )
    first = screenplay.scenes[0]
    assert (first.int_ext, first.location, first.time_of_day, first.qualifiers) == (
        IntExt.INT,
        "WILL'S BEDROOM",
        "NIGHT",
        ["1973"],
    )
    assert first.characters == ["EDWARD"]
    assert first.dialogue[0].parenthetical == "(closer)"
    assert "RIVER" not in first.action  # FADE IN and the prologue come before the first heading
    assert all(scene.estimated_seconds >= 1 for scene in screenplay.scenes)
    # A feature runs about two hours; a page a minute from the page geometry should land near it.
    assert 90 * 60 <= screenplay.total_seconds <= 150 * 60


def test_brick_and_steel() -> None:
    screenplay = parse_bytes(corpus_file("Brick-and-Steel.fountain").read_bytes())
    assert screenplay.title_page["draft_date"] == "1/27/2012"
    assert screenplay.title_page["contact"] == "Next Level Productions\n1588 Mission Dr.\nSolvang, CA 93463"
    patio, trailer, pool, scope = screenplay.scenes[:4]
    assert [(line.character, line.dual) for line in patio.dialogue[-2:]] == [("STEEL", True), ("BRICK", True)]
    assert trailer.dialogue[0].parenthetical == "(in Vietnamese, subtitled)"
    assert trailer.dialogue[0].text == "Did you know Brick and Steel are retired?"
    assert pool.dialogue[0].parenthetical == "(pause) (pause)"
    assert (scope.heading, scope.int_ext) == ("SNIPER SCOPE POV", None)
    assert "Steel's face FILLS the Leupold Mark 4 scope." in scope.action


def test_the_last_birthday_card_sections() -> None:
    screenplay = parse_bytes(corpus_file("The-Last-Birthday-Card.fountain").read_bytes())
    sections = [scene.section for scene in screenplay.scenes]
    assert sections[:3] == ["Scott's SF Apartment"] * 3
    assert sections[-1] == "Scott's New Life"
    assert {scene.time_of_day for scene in screenplay.scenes} >= {
        "A MOMENT LATER",
        "THE NEXT MORNING",
        "SAME",
    }


def test_spec_utf8_bom_file() -> None:
    (scene,) = parse_bytes(corpus_file("spec-utf-8-bom.fountain").read_bytes()).scenes
    assert scene.heading == "EXT. SOMEWHERE - DAY"
    assert scene.characters == ["GUY", "GURL"]
    assert scene.dialogue[1].text == "Nothing much. Just thinking. And you?"
