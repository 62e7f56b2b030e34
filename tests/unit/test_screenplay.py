"""The Fountain parser, one feature at a time, on small inline screenplays."""

from __future__ import annotations

from textwrap import dedent

import pytest

from script_to_film.domain.errors import NoScenesError, NotTextError, ScreenplayError
from script_to_film.domain.models import DialogueLine, ElementType, IntExt, Scene
from script_to_film.domain.screenplay import parse, parse_bytes


def fountain(text: str) -> str:
    return dedent(text).lstrip("\n")


def only_scene(body: str, heading: str = "INT. ROOM - DAY") -> Scene:
    """The one scene of a screenplay made of `heading` and `body`."""
    (scene,) = parse(f"{heading}\n\n{body}").scenes
    return scene


def types(scene: Scene) -> list[ElementType]:
    return [element.type for element in scene.elements]


# Title page -------------------------------------------------------------------------------------


def test_title_page_keys_values_and_title() -> None:
    screenplay = parse(
        "Title:\n"
        "\t_**BRICK & STEEL**_\n"
        "\t_**FULL RETIRED**_\n"
        "Credit: Written by\n"
        "Author: *Stu* Maschwitz\n"
        "Authors: A and B\n"
        "Source: Story by KTM\n"
        "Draft date: 1/27/2012\n"
        "Contact:\n"
        "    Next Level Productions\n"
        "    1588 Mission Dr.\n"
        "Copyright: (c) 2012\n"
        "Notes: first draft\n"
        "\n"
        "EXT. PATIO - DAY\n"
    )
    assert screenplay.title_page == {
        "title": "BRICK & STEEL\nFULL RETIRED",
        "credit": "Written by",
        "author": "Stu Maschwitz",
        "authors": "A and B",
        "source": "Story by KTM",
        "draft_date": "1/27/2012",
        "contact": "Next Level Productions\n1588 Mission Dr.",
        "copyright": "(c) 2012",
        "notes": "first draft",
    }
    assert screenplay.title == "BRICK & STEEL FULL RETIRED"
    assert [scene.heading for scene in screenplay.scenes] == ["EXT. PATIO - DAY"]


def test_title_page_keys_are_case_insensitive_and_a_value_may_follow_the_key_with_a_tab() -> None:
    screenplay = parse("TITLE:\tThe Card\nDRAFT DATE:\t7/8/1998\n\nINT. ROOM - DAY\n")
    assert screenplay.title_page == {"title": "The Card", "draft_date": "7/8/1998"}
    assert screenplay.title == "The Card"


@pytest.mark.parametrize(
    "opening",
    [
        "FADE IN:",  # a key with no value anywhere is not a title page
        "Title: Big Fish\nThe river runs deep.",  # a line that is neither key nor indented value
    ],
)
def test_no_title_page_unless_the_first_paragraph_is_key_value_lines(opening: str) -> None:
    screenplay = parse(f"{opening}\n\nINT. ROOM - DAY\n")
    assert screenplay.title_page == {}
    assert screenplay.title is None
    assert len(screenplay.scenes) == 1


def test_title_page_must_be_the_first_paragraph() -> None:
    screenplay = parse("INT. ROOM - DAY\n\nTitle: Not a title\n")
    assert screenplay.title_page == {}
    assert screenplay.scenes[0].action == "Title: Not a title"


# Scene headings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "int_ext"),
    [
        ("INT. KITCHEN - DAY", IntExt.INT),
        ("EXT. KITCHEN - DAY", IntExt.EXT),
        ("EST. KITCHEN - DAY", IntExt.EST),
        ("INT./EXT. KITCHEN - DAY", IntExt.INT_EXT),
        ("INT./EXT KITCHEN - DAY", IntExt.INT_EXT),
        ("INT/EXT KITCHEN - DAY", IntExt.INT_EXT),
        ("INT/EXT. KITCHEN - DAY", IntExt.INT_EXT),
        ("EXT./INT. KITCHEN - DAY", IntExt.INT_EXT),
        ("I/E KITCHEN - DAY", IntExt.INT_EXT),
        ("I/E. KITCHEN - DAY", IntExt.INT_EXT),
        ("I./E. KITCHEN - DAY", IntExt.INT_EXT),
        ("INT KITCHEN - DAY", IntExt.INT),
        ("int. kitchen - day", IntExt.INT),
        ("Ext. Kitchen - Day", IntExt.EXT),
    ],
)
def test_scene_heading_prefixes(heading: str, int_ext: IntExt) -> None:
    (scene,) = parse(f"{heading}\n\nShe cooks.\n").scenes
    assert scene.heading == heading
    assert scene.int_ext is int_ext
    assert scene.location.upper() == "KITCHEN"
    assert scene.time_of_day == "DAY"
    assert scene.action == "She cooks."


@pytest.mark.parametrize(
    "line",
    [
        "INTERIOR OF THE CAR - DAY",  # the prefix must be followed by a dot or a space
        "EXTRA! EXTRA!",
        "INT",
        "EXT/INT. HOUSE - DAY",  # not one of the forms (screenplain agrees)
        "...and then the door opens.",  # `..` does not force a heading
        "!INT. HOUSE - DAY",  # `!` forces action
    ],
)
def test_lines_that_are_not_scene_headings(line: str) -> None:
    scene = only_scene(f"{line}\n")
    assert scene.action == line.removeprefix("!")


def test_a_heading_needs_a_blank_line_before_it() -> None:
    scene = only_scene("The door opens.\nINT. HALL - DAY\n")
    assert scene.action == "The door opens.\nINT. HALL - DAY"


def test_a_heading_needs_no_blank_line_after_it() -> None:
    screenplay = parse("INT. ROOM - DAY\n\nShe waits.\n\nINT. HALL - DAY\nHe runs.\nJOHN\nHello.\n")
    assert [scene.heading for scene in screenplay.scenes] == ["INT. ROOM - DAY", "INT. HALL - DAY"]
    hall = screenplay.scenes[1]
    assert hall.action == "He runs.\nJOHN\nHello."


def test_lines_under_a_heading_start_a_new_paragraph() -> None:
    (scene,) = parse("INT. HALL - DAY\n  \nJOHN\nHello.\n").scenes
    assert scene.dialogue == [DialogueLine(character="JOHN", text="Hello.")]


def test_a_heading_at_the_start_of_the_text_and_at_its_end() -> None:
    screenplay = parse("INT. ROOM - DAY\n\nShe waits.\n\nEXT. STREET - NIGHT")
    assert [scene.heading for scene in screenplay.scenes] == ["INT. ROOM - DAY", "EXT. STREET - NIGHT"]


def test_forced_heading() -> None:
    screenplay = parse(".BACK IN THE APARTMENT\n\nScott sorts the mail.\n\n.sniper scope pov\n")
    first, second = screenplay.scenes
    assert (first.heading, first.int_ext, first.location, first.time_of_day) == (
        "BACK IN THE APARTMENT",
        None,
        "BACK IN THE APARTMENT",
        None,
    )
    assert first.action == "Scott sorts the mail."
    assert second.heading == "sniper scope pov"


@pytest.mark.parametrize(
    ("line", "heading", "scene_number"),
    [
        ("INT. THE FIRST PLACE - DAY #1#", "INT. THE FIRST PLACE - DAY", "1"),
        ("INT. A FIFTH PLACE - DAY #2-B#", "INT. A FIFTH PLACE - DAY", "2-B"),
        ("EXT. HOUSE - NIGHT #110A#  ", "EXT. HOUSE - NIGHT", "110A"),
        ("INT. HOUSE - DAY#I-1-A.#", "INT. HOUSE - DAY", "I-1-A."),
        (".FLASHBACK #7#", "FLASHBACK", "7"),
        ("INT. ROOM #5 - DAY", "INT. ROOM #5 - DAY", None),
        ("INT. ROOM - DAY #one two#", "INT. ROOM - DAY #one two#", None),
    ],
)
def test_scene_numbers(line: str, heading: str, scene_number: str | None) -> None:
    (scene,) = parse(line + "\n").scenes
    assert scene.heading == heading
    assert scene.scene_number == scene_number


def test_scenes_are_numbered_from_one_in_order() -> None:
    screenplay = parse("INT. A - DAY #9#\n\nEXT. B - DAY\n\n.C\n")
    assert [scene.number for scene in screenplay.scenes] == [1, 2, 3]


@pytest.mark.parametrize(
    ("line", "heading", "int_ext", "location", "time_of_day", "qualifiers"),
    [
        # Big Fish
        ("INT.  WILL'S BEDROOM - NIGHT (1973)", "INT. WILL'S BEDROOM - NIGHT (1973)",
         IntExt.INT, "WILL'S BEDROOM", "NIGHT", ["1973"]),
        ("EXT.  BLOOM BACK YARD - NIGHT [CONTINUOUS]", "EXT. BLOOM BACK YARD - NIGHT [CONTINUOUS]",
         IntExt.EXT, "BLOOM BACK YARD", "NIGHT", ["CONTINUOUS"]),
        ("INT.  BIG-TOP - NIGHT / LATER", "INT. BIG-TOP - NIGHT / LATER",
         IntExt.INT, "BIG-TOP", "NIGHT", ["LATER"]),
        ("INT.  SANDRA'S BEDROOM - [THE NEXT] MORNING", "INT. SANDRA'S BEDROOM - [THE NEXT] MORNING",
         IntExt.INT, "SANDRA'S BEDROOM", "MORNING", ["THE NEXT"]),
        ("EXT.  BLOOM HOUSE [MID/LATE '70'S] - DAY", "EXT. BLOOM HOUSE [MID/LATE '70'S] - DAY",
         IntExt.EXT, "BLOOM HOUSE", "DAY", ["MID/LATE '70'S"]),
        ("INT. WILL'S CAR - DAY / DRIVING", "INT. WILL'S CAR - DAY / DRIVING",
         IntExt.INT, "WILL'S CAR", "DAY", ["DRIVING"]),
        ("EXT. TOWN OF SPECTRE - VARIOUS SHOTS", "EXT. TOWN OF SPECTRE - VARIOUS SHOTS",
         IntExt.EXT, "TOWN OF SPECTRE", None, ["VARIOUS SHOTS"]),
        ("INT.  TINY PARIS RESTAURANT (LA RUE 14°) - NIGHT (1998)",
         "INT. TINY PARIS RESTAURANT (LA RUE 14°) - NIGHT (1998)",
         IntExt.INT, "TINY PARIS RESTAURANT (LA RUE 14°)", "NIGHT", ["1998"]),
        ("INT.  HALF-DARK PARIS APARTMENT - (PRESENT) DAY", "INT. HALF-DARK PARIS APARTMENT - (PRESENT) DAY",
         IntExt.INT, "HALF-DARK PARIS APARTMENT", "DAY", ["PRESENT"]),
        ("INT./EXT.  BLOOM HOUSE - (PRESENT) DAY", "INT./EXT. BLOOM HOUSE - (PRESENT) DAY",
         IntExt.INT_EXT, "BLOOM HOUSE", "DAY", ["PRESENT"]),
        ("INT.  747 / FLYING - NIGHT", "INT. 747 / FLYING - NIGHT", IntExt.INT, "747", "NIGHT", ["FLYING"]),
        ("INT.  WILL'S BEDROOM - DAY  [FLASHBACK]", "INT. WILL'S BEDROOM - DAY [FLASHBACK]",
         IntExt.INT, "WILL'S BEDROOM", "DAY", ["FLASHBACK"]),
        ("INT. EDWARD'S CAR - NIGHT - [THE STORM]", "INT. EDWARD'S CAR - NIGHT - [THE STORM]",
         IntExt.INT, "EDWARD'S CAR", "NIGHT", ["THE STORM"]),
        ("EXT. BY THE RIVER - NIGHT - CONTINUOUS", "EXT. BY THE RIVER - NIGHT - CONTINUOUS",
         IntExt.EXT, "BY THE RIVER", "NIGHT", ["CONTINUOUS"]),
        ("EXT. CREEPY OLD HOUSE - THE GATE - NIGHT", "EXT. CREEPY OLD HOUSE - THE GATE - NIGHT",
         IntExt.EXT, "CREEPY OLD HOUSE - THE GATE", "NIGHT", []),
        ("EXT. FURTHER ALONG - ROUGH PATH", "EXT. FURTHER ALONG - ROUGH PATH",
         IntExt.EXT, "FURTHER ALONG - ROUGH PATH", None, []),
        ("EXT.  THE TOWN OF SPECTRE   - DAY", "EXT. THE TOWN OF SPECTRE - DAY",
         IntExt.EXT, "THE TOWN OF SPECTRE", "DAY", []),
        ("EXT.  SPECTRE - MAGIC HOUR", "EXT. SPECTRE - MAGIC HOUR", IntExt.EXT, "SPECTRE", "MAGIC HOUR", []),
        ("EXT.  JENNY HILL'S HOUSE - DAY TO NIGHT", "EXT. JENNY HILL'S HOUSE - DAY TO NIGHT",
         IntExt.EXT, "JENNY HILL'S HOUSE", "DAY TO NIGHT", []),
        ("INT.  JENNY HILL'S KITCHEN - PRESENT DAY", "INT. JENNY HILL'S KITCHEN - PRESENT DAY",
         IntExt.INT, "JENNY HILL'S KITCHEN", "PRESENT DAY", []),
        ("EXT.  FIELD - PRE-DAWN", "EXT. FIELD - PRE-DAWN", IntExt.EXT, "FIELD", "PRE-DAWN", []),
        ("EXT.  SWAMP - ANOTHER DAY", "EXT. SWAMP - ANOTHER DAY", IntExt.EXT, "SWAMP", "ANOTHER DAY", []),
        ("EXT. ON STAGE", "EXT. ON STAGE", IntExt.EXT, "ON STAGE", None, []),
        # The Last Birthday Card: commas between the parts
        ("INT. SAN FRANCISCO APARTMENT, DAY", "INT. SAN FRANCISCO APARTMENT, DAY",
         IntExt.INT, "SAN FRANCISCO APARTMENT", "DAY", []),
        ("INT. VW GTI, NORTHBOUND ON THE GOLDEN GATE BRIDGE, MINUTES LATER",
         "INT. VW GTI, NORTHBOUND ON THE GOLDEN GATE BRIDGE, MINUTES LATER",
         IntExt.INT, "VW GTI, NORTHBOUND ON THE GOLDEN GATE BRIDGE", "MINUTES LATER", []),
        ("INT. HALLWAY, SCOTT'S APARTMENT BUILDING, A MOMENT LATER",
         "INT. HALLWAY, SCOTT'S APARTMENT BUILDING, A MOMENT LATER",
         IntExt.INT, "HALLWAY, SCOTT'S APARTMENT BUILDING", "A MOMENT LATER", []),
        ("INT. SAUSALITO HOME, THE NEXT MORNING", "INT. SAUSALITO HOME, THE NEXT MORNING",
         IntExt.INT, "SAUSALITO HOME", "THE NEXT MORNING", []),
        ("INT SCOTT'S APARTMENT, SAME TIME", "INT SCOTT'S APARTMENT, SAME TIME",
         IntExt.INT, "SCOTT'S APARTMENT", "SAME TIME", []),
        ("EXT. NAK'S HOUSE, CONTINUED", "EXT. NAK'S HOUSE, CONTINUED",
         IntExt.EXT, "NAK'S HOUSE", "CONTINUED", []),
        ("INT. LANDCRUISER, DRIVING -- A BIT LATER", "INT. LANDCRUISER, DRIVING -- A BIT LATER",
         IntExt.INT, "LANDCRUISER", "A BIT LATER", ["DRIVING"]),
        ("INT. SCOTT'S NEW APARTMENT, A FEW DAYS LATER", "INT. SCOTT'S NEW APARTMENT, A FEW DAYS LATER",
         IntExt.INT, "SCOTT'S NEW APARTMENT", "A FEW DAYS LATER", []),
        ("INT. BAXTER'S APARTMENT, LATER THAT EVENING", "INT. BAXTER'S APARTMENT, LATER THAT EVENING",
         IntExt.INT, "BAXTER'S APARTMENT", "LATER THAT EVENING", []),
        ("INT. SOUTHERN EXPOSURE GALLERY, SOUTH OF MARKET", "INT. SOUTHERN EXPOSURE GALLERY, SOUTH OF MARKET",
         IntExt.INT, "SOUTHERN EXPOSURE GALLERY, SOUTH OF MARKET", None, []),
        (".BACK IN THE APARTMENT", "BACK IN THE APARTMENT", None, "BACK IN THE APARTMENT", None, []),
        (".SCOTT REENTERING HIS APARTMENT,", "SCOTT REENTERING HIS APARTMENT,",
         None, "SCOTT REENTERING HIS APARTMENT", None, []),
        # Others
        ("EXT. LIGHTHOUSE - NIGHT - STORM", "EXT. LIGHTHOUSE - NIGHT - STORM",
         IntExt.EXT, "LIGHTHOUSE", "NIGHT", ["STORM"]),
        ("INT. CAR (MOVING) - DAY", "INT. CAR (MOVING) - DAY", IntExt.INT, "CAR", "DAY", ["MOVING"]),
        ("EXT. PARIS, FRANCE - SUNSET", "EXT. PARIS, FRANCE - SUNSET",
         IntExt.EXT, "PARIS, FRANCE", "SUNSET", []),
        ("INT. HOUSE \u2014 MOMENTS LATER", "INT. HOUSE \u2014 MOMENTS LATER",
         IntExt.INT, "HOUSE", "MOMENTS LATER", []),
        ("EXT. QUAY \u2013 DAWN", "EXT. QUAY \u2013 DAWN", IntExt.EXT, "QUAY", "DAWN", []),
        ("int. kitchen - night.", "int. kitchen - night.", IntExt.INT, "kitchen", "NIGHT", []),
        (".INT. FORCED ANYWAY - DUSK", "INT. FORCED ANYWAY - DUSK", IntExt.INT, "FORCED ANYWAY", "DUSK", []),
        ("INT. *DARK* ROOM - NIGHT", "INT. DARK ROOM - NIGHT", IntExt.INT, "DARK ROOM", "NIGHT", []),
        ("EST.", "EST.", IntExt.EST, "", None, []),
    ],
)  # fmt: skip
def test_heading_parts(
    line: str,
    heading: str,
    int_ext: IntExt | None,
    location: str,
    time_of_day: str | None,
    qualifiers: list[str],
) -> None:
    (scene,) = parse(line + "\n").scenes
    assert (scene.heading, scene.int_ext, scene.location, scene.time_of_day, scene.qualifiers) == (
        heading,
        int_ext,
        location,
        time_of_day,
        qualifiers,
    )


# Characters and dialogue ------------------------------------------------------------------------


def test_dialogue_lines_are_joined_with_spaces() -> None:
    scene = only_scene(
        fountain(
            """
            DAN
            Then let's retire them.
            _Permanently_.
            """
        )
    )
    assert scene.dialogue == [DialogueLine(character="DAN", text="Then let's retire them. Permanently.")]
    assert scene.characters == ["DAN"]
    assert types(scene) == [ElementType.CHARACTER, ElementType.DIALOGUE]
    assert scene.action == ""


@pytest.mark.parametrize(
    ("cue", "name", "extension"),
    [
        ("EDWARD (V.O.)", "EDWARD", "V.O."),
        ("EDWARD (O.S.)", "EDWARD", "O.S."),
        ("EDWARD (O.C.)", "EDWARD", "O.C."),
        ("EDWARD (CONT'D)", "EDWARD", "CONT'D"),
        ("HANS (on the radio)", "HANS", "on the radio"),
        ("EDWARD (V.O.)(CONT'D)", "EDWARD", "V.O., CONT'D"),
        ("MAN #2 (V.O.", "MAN #2", "V.O."),
        ("R2-D2", "R2-D2", None),
        ("DR. BENNETT", "DR. BENNETT", None),
        ("\t\t\tJACK", "JACK", None),
        ("@McCLANE", "McCLANE", None),
        ("@McCLANE (V.O.)", "McCLANE", "V.O."),
        ("@mom", "mom", None),
    ],
)
def test_character_names_and_extensions(cue: str, name: str, extension: str | None) -> None:
    scene = only_scene(f"{cue}\nWhat was it you said?\n")
    assert scene.dialogue == [DialogueLine(character=name, extension=extension, text="What was it you said?")]
    assert scene.characters == [name]
    assert scene.elements[0].type is ElementType.CHARACTER
    assert scene.elements[0].character == name


@pytest.mark.parametrize(
    "paragraph",
    [
        "McCLANE\nYippee ki-yay.",  # not all upper case: needs `@`
        "THE DOOR SLAMS.",  # no line below: an upper-case action line
        "(V.O.)\nNo name.",  # no letters before the extension
        "1984\nA year.",  # no letter at all
        "CUT TO:\nThe next thing.",  # ends like a transition
        "!THIS IS FORCED ACTION\nThis is another line of action!",
    ],
)
def test_paragraphs_that_are_not_dialogue(paragraph: str) -> None:
    scene = only_scene(paragraph + "\n")
    assert scene.dialogue == []
    assert scene.characters == []
    assert types(scene) == [ElementType.ACTION]


def test_a_character_needs_a_blank_line_before_it() -> None:
    scene = only_scene("The phone rings.\nBAXTER\nWhat?\n")
    assert scene.dialogue == []
    assert scene.action == "The phone rings.\nBAXTER\nWhat?"


def test_parentheticals() -> None:
    scene = only_scene(
        fountain(
            """
            STEEL
            (beer raised)
            To retirement.

            STEEL
            They're coming out of the woodwork!
            (pause)
            No, everybody we've put away!
            (a long
            pause)
            Point Blank Sniper?

            BAXTER
            (nods)
            """
        )
    )
    raised, woodwork, nods = scene.dialogue
    assert (raised.parenthetical, raised.text) == ("(beer raised)", "To retirement.")
    assert woodwork.parenthetical == "(pause) (a long pause)"
    assert (
        woodwork.text
        == "They're coming out of the woodwork! No, everybody we've put away! Point Blank Sniper?"
    )
    assert (nods.parenthetical, nods.text) == ("(nods)", "")
    assert types(scene)[3:9] == [
        ElementType.CHARACTER,
        ElementType.DIALOGUE,
        ElementType.PARENTHETICAL,
        ElementType.DIALOGUE,
        ElementType.PARENTHETICAL,
        ElementType.DIALOGUE,
    ]


def test_a_two_space_line_keeps_a_dialogue_block_going() -> None:
    scene = only_scene("DEALER\nTen.\nFour.\n  \nDealer gets twenty.\n\nShe sighs.\n")
    assert scene.dialogue == [DialogueLine(character="DEALER", text="Ten. Four. Dealer gets twenty.")]
    assert scene.action == "She sighs."


def test_dual_dialogue_marks_both_speeches() -> None:
    scene = only_scene(
        fountain(
            """
            BRICK
            Screw retirement.

            STEEL ^
            Screw retirement.

            They drink.

            GIRL
            Hey!

            GUY^
            (waving)
            Hello!
            """
        )
    )
    assert [(line.character, line.dual) for line in scene.dialogue] == [
        ("BRICK", True),
        ("STEEL", True),
        ("GIRL", True),
        ("GUY", True),
    ]
    assert all(element.dual for element in scene.elements if element.type is not ElementType.ACTION)
    assert scene.characters == ["BRICK", "STEEL", "GIRL", "GUY"]


def test_a_caret_without_dialogue_just_before_is_not_dual() -> None:
    scene = only_scene("She turns.\n\nGUY ^\nHello!\n\nGIRL\nHi.\n\nMOM\nDinner!\n")
    assert [(line.character, line.dual) for line in scene.dialogue] == [
        ("GUY", False),
        ("GIRL", False),
        ("MOM", False),
    ]


def test_scene_characters_are_speakers_in_order_of_first_line_without_extensions() -> None:
    scene = only_scene(
        fountain(
            """
            EDWARD (V.O.)
            There are some fish that cannot be caught.

            WILL
            Dad.

            EDWARD (CONT'D)
            Gold.

            @McCLANE
            Yippee.
            """
        )
    )
    assert scene.characters == ["EDWARD", "WILL", "McCLANE"]
    assert [line.extension for line in scene.dialogue] == ["V.O.", None, "CONT'D", None]


def test_lyrics_in_dialogue_and_on_their_own() -> None:
    scene = only_scene(
        fountain(
            """
            ~Willy Wonka! Willy Wonka!
            ~The amazing chocolatier!

            JENNY
            ~Row, row, row your boat
            gently down the stream.
            """
        )
    )
    assert types(scene) == [ElementType.LYRIC, ElementType.CHARACTER, ElementType.LYRIC, ElementType.DIALOGUE]
    assert scene.elements[0].text == "Willy Wonka! Willy Wonka!\nThe amazing chocolatier!"
    assert scene.elements[2].character == "JENNY"
    assert scene.dialogue[0].text == "Row, row, row your boat gently down the stream."
    assert scene.action == ""


# Transitions, centered text, page breaks --------------------------------------------------------


def test_transitions() -> None:
    scene = only_scene(
        fountain(
            """
            She leaves.

            CUT TO:

            > Burn to White.

            \t\t\t\tSMASH CUT TO:

            cut to:

            CUT TO:
            The next room.
            """
        )
    )
    transitions = [element.text for element in scene.elements if element.type is ElementType.TRANSITION]
    assert transitions == ["CUT TO:", "Burn to White.", "SMASH CUT TO:"]
    assert scene.action == "She leaves.\n\ncut to:\n\nCUT TO:\nThe next room."


def test_centered_text() -> None:
    scene = only_scene("> BRICK BRADDOCK <\n>  & DICK STEEL IN  <\n\n>THE END<\n")
    assert [(element.type, element.text) for element in scene.elements] == [
        (ElementType.CENTERED, "BRICK BRADDOCK\n& DICK STEEL IN"),
        (ElementType.CENTERED, "THE END"),
    ]
    assert scene.action == ""


@pytest.mark.parametrize("marker", ["===", "====", "==========="])
def test_page_breaks(marker: str) -> None:
    scene = only_scene(f"First some action.\n\n{marker}\n\nMore action.\n")
    assert types(scene) == [ElementType.ACTION, ElementType.PAGE_BREAK, ElementType.ACTION]
    assert scene.action == "First some action.\n\nMore action."


# Sections and synopses --------------------------------------------------------------------------


def test_sections_set_the_innermost_section_in_force_when_a_scene_starts() -> None:
    screenplay = parse(
        fountain(
            """
            # ACT I

            ## Meet Scott
            ### Scott's SF Apartment

            INT. APARTMENT - DAY

            ### Baxter's Music Studio

            INT. STUDIO - DAY

            # ACT II: A New Day

            INT. LOFT - NIGHT

            ## Scott and Nak Meet on the Job ##

            EXT. HILLSIDE - DAY
            """
        )
    )
    assert [scene.section for scene in screenplay.scenes] == [
        "Scott's SF Apartment",
        "Baxter's Music Studio",
        "ACT II: A New Day",
        "Scott and Nak Meet on the Job",
    ]
    apartment = screenplay.scenes[0]
    assert [(element.text, element.depth) for element in apartment.elements] == [("Baxter's Music Studio", 3)]
    assert types(apartment) == [ElementType.SECTION]


def test_a_scene_before_any_section_or_under_an_untitled_one_has_none() -> None:
    assert only_scene("Action.\n").section is None
    assert parse("#\n\nINT. ROOM - DAY\n").scenes[0].section is None


def test_synopses_attach_to_the_scene_they_follow() -> None:
    screenplay = parse(
        fountain(
            """
            # First level

            = Synopsis for level one.

            EXT. STREET - DAWN

            = Synopsis for the street scene
            =   And a second one.

            DAWN walks down the street.

            ## Second level again

            = A section's synopsis, not the street's.

            EXT. ALLEY - CONTINUOUS
            """
        )
    )
    street, alley = screenplay.scenes
    assert street.synopses == ["Synopsis for the street scene", "And a second one."]
    assert street.action == "DAWN walks down the street."
    assert alley.synopses == []
    assert alley.section == "Second level again"
    assert [element.text for element in street.elements if element.type is ElementType.SYNOPSIS] == [
        "Synopsis for the street scene",
        "And a second one.",
        "A section's synopsis, not the street's.",
    ]


# Notes ------------------------------------------------------------------------------------------


def test_notes_are_removed_from_the_text_and_kept_in_the_scene() -> None:
    scene = only_scene(
        fountain(
            """
            Before1 [[some notes]]After1

            Before2 [[multiline
            note
            here]]After2

            Multiple [[notes]]on one[[line]]

            This is not [[
            a proper note

            because it contains a blank line
            ]]

            Before full paragraph note

            [[Note as its own paragraph
            on several lines]]

            After full paragraph note
            """
        )
    )
    assert scene.notes == [
        "some notes",
        "multiline\nnote\nhere",
        "notes",
        "line",
        "Note as its own paragraph\non several lines",
    ]
    assert scene.action.split("\n\n") == [
        "Before1 After1",
        "Before2 After2",
        "Multiple on one",
        "This is not [[\na proper note",
        "because it contains a blank line\n]]",
        "Before full paragraph note",
        "After full paragraph note",
    ]
    assert types(scene) == [ElementType.ACTION] * 7


def test_a_note_may_hold_a_two_space_line() -> None:
    scene = only_scene("Before3 [[multiline\nnote\n  \nwith a blank line]]After3\n")
    assert scene.notes == ["multiline\nnote\n\nwith a blank line"]
    assert scene.action == "Before3 After3"


def test_notes_in_dialogue_and_in_the_heading() -> None:
    (scene,) = parse(
        "INT. ROOM - DAY [[wide and slow]]\n\nJOHN [[tired]]\nHello. [[beat]]\n[[a note line]]\nBye.\n"
    ).scenes
    assert scene.heading == "INT. ROOM - DAY"
    assert scene.time_of_day == "DAY"
    assert scene.notes == ["wide and slow", "tired", "beat", "a note line"]
    assert scene.dialogue == [DialogueLine(character="JOHN", text="Hello. Bye.")]


def test_notes_before_the_first_scene_belong_to_no_scene() -> None:
    (scene,) = parse("[[a loose note]]\n\nINT. ROOM - DAY\n\nAction.\n").scenes
    assert scene.notes == []


def test_direction_notes_set_the_scene_direction() -> None:
    scene = only_scene(
        fountain(
            """
            [[camera: slow dolly in]]
            [[STYLE :  film noir,
            rain-soaked]]

            She waits. [[Duration: 8]]
            """
        )
    )
    assert scene.direction.camera == "slow dolly in"
    assert scene.direction.style == "film noir, rain-soaked"
    assert scene.direction.duration == 8
    assert scene.notes == ["camera: slow dolly in", "STYLE :  film noir,\nrain-soaked", "Duration: 8"]
    assert scene.action == "She waits."


@pytest.mark.parametrize(
    ("value", "duration"), [("8s", 8), ("12 seconds", 12), ("60", 60), ("1", 1), ("92", 92), ("600", 600)]
)
def test_duration_notes_accept_seconds(value: str, duration: int) -> None:
    assert only_scene(f"[[duration: {value}]]\n").direction.duration == duration


@pytest.mark.parametrize("value", ["0", "601", "-3", "2.5", "eight", "", "9999"])
def test_invalid_durations_are_ignored_but_the_note_is_kept(value: str) -> None:
    scene = only_scene(f"[[duration: 5]]\n\n[[duration: {value}]]\n")
    assert scene.direction.duration == 5
    assert scene.notes == ["duration: 5", f"duration: {value}".strip()]


def test_shot_notes_start_a_shot_where_they_stand() -> None:
    scene = only_scene(
        "[[shot: wide on the platform]]\n\nThe train pulls in.\n\n[[shot: close-up on Jonah's eyes]]\n\n"
        "JONAH\nFifty years.\n\nHe steps down. [[shot: insert of the ticket]]\n"
    )
    notes = [(note.text, scene.elements[note.element].type.value) for note in scene.direction.shots]
    assert notes == [
        ("wide on the platform", "action"),
        ("close-up on Jonah's eyes", "character"),
        ("insert of the ticket", "action"),
    ]
    assert scene.elements[scene.direction.shots[2].element].text == "He steps down."
    assert scene.notes[0] == "shot: wide on the platform", "a shot note is kept among the notes too"


def test_the_last_direction_note_wins_and_other_scenes_keep_their_own() -> None:
    screenplay = parse("INT. A - DAY\n\n[[camera: wide]]\n[[camera: close-up]]\n\nINT. B - DAY\n\nAction.\n")
    first, second = screenplay.scenes
    assert first.direction.camera == "close-up"
    assert second.direction.camera is None
    assert second.notes == []


# Boneyard ---------------------------------------------------------------------------------------


def test_boneyard_is_removed_across_lines_and_hides_headings() -> None:
    screenplay = parse(
        fountain(
            """
            INT. ROOM - DAY

            This is going to be BAD. /* cut this */ Really.

            CUT TO:
            /*
            INT. GARAGE - DAY

            BRICK
            This is everybody.
            */
            EXT. PALATIAL MANSION - DAY

            A man drinks a beer.
            """
        )
    )
    assert [scene.heading for scene in screenplay.scenes] == [
        "INT. ROOM - DAY",
        "EXT. PALATIAL MANSION - DAY",
    ]
    room = screenplay.scenes[0]
    assert room.action == "This is going to be BAD.  Really."
    assert room.characters == []


def test_an_unclosed_boneyard_stays_as_text() -> None:
    assert only_scene("The /* never closes.\n").action == "The /* never closes."


# Emphasis ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "plain"),
    [
        ("*italic*", "italic"),
        ("**bold**", "bold"),
        ("***bold italic***", "bold italic"),
        ("_underline_", "underline"),
        ("_**BRICK & STEEL**_", "BRICK & STEEL"),
        ("**bold *and italic***", "bold and italic"),
        ("From *what* seems like **INCHES** away.", "From what seems like INCHES away."),
        (r"A literal \*star\* here", "A literal *star* here"),
        (r"snake\_case", "snake_case"),
        ("2 * 3 = 6", "2 * 3 = 6"),
        ("an * unpaired star", "an * unpaired star"),
        ("a *dangling opener", "a *dangling opener"),
        ("****", "****"),
        ("* not italic *", "* not italic *"),
    ],
)
def test_emphasis_markup_is_stripped(written: str, plain: str) -> None:
    assert only_scene(written + "\n").action == plain


def test_emphasis_is_stripped_everywhere_it_is_printed() -> None:
    scene = only_scene(
        "**JOHN** (V.O.)\n*Hello*.\n(_softly_)\n_Bye_.\n\n> **THE END** <\n\n> _BURN_ TO PINK.\n"
    )
    assert scene.dialogue == [
        DialogueLine(character="JOHN", extension="V.O.", parenthetical="(softly)", text="Hello. Bye.")
    ]
    assert [element.text for element in scene.elements][-2:] == ["THE END", "BURN TO PINK."]


# Text and bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_any_line_ending(newline: str) -> None:
    text = newline.join(
        ["\ufeffINT. ROOM - DAY", "", "It's a sunny day.", "Sunnier than normal.", "", "GUY", "Hi."]
    )
    (scene,) = parse(text).scenes
    assert scene.heading == "INT. ROOM - DAY"
    assert scene.action == "It's a sunny day.\nSunnier than normal."
    assert scene.dialogue == [DialogueLine(character="GUY", text="Hi.")]


def test_tabs_indent_action_and_are_ignored_around_dialogue() -> None:
    (scene,) = parse(
        "INT. ROOM - DAY\n\n\tScott --\n\n\t\t\tJACK\n\t\t(in Vietnamese)\n\tDid you know?\n"
    ).scenes
    assert scene.action == "    Scott --"
    assert scene.dialogue == [
        DialogueLine(character="JACK", parenthetical="(in Vietnamese)", text="Did you know?")
    ]


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_parse_bytes_reads_utf8_with_or_without_bom(bom: bytes) -> None:
    screenplay = parse_bytes(bom + "EXT. CAFÉ \u2013 DAY\r\n\r\nZoë orders crème brûlée.\r\n".encode())
    (scene,) = screenplay.scenes
    assert scene.heading == "EXT. CAFÉ \u2013 DAY"
    assert scene.location == "CAFÉ"
    assert scene.action == "Zoë orders crème brûlée."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"INT. ROOM - DAY\n\n\xff\xfe oops", "not UTF-8 text (invalid byte at offset 17)"),
        (b"\xef\xbb\xbfINT. ROOM\xc3(", "not UTF-8 text (invalid byte at offset 12)"),
        (b"INT. ROOM - DAY\n\x00\x01\x02", "not UTF-8 text (NUL byte at offset 16: binary data)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8 text (invalid byte at offset 0)"),
        (b"I\x00N\x00T\x00", "not UTF-8 text (NUL byte at offset 1: binary data)"),
        (
            "INT. ROOM".encode("utf-16"),
            "not UTF-8 text (UTF-16 byte-order mark at offset 0; save the file as UTF-8)",
        ),
    ],
)
def test_parse_bytes_refuses_what_is_not_utf8_text(data: bytes, message: str) -> None:
    with pytest.raises(NotTextError) as raised:
        parse_bytes(data)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "",
        "\n\n  \n",
        "FADE IN:\n\nA river.\n\nEDWARD (V.O.)\nThere are some fish.",
        "Title: Only a title page\nAuthor: Someone",
        "/*\nINT. HIDDEN - DAY\n*/\n",
        "!INT. FORCED ACTION - DAY",
    ],
)
def test_no_scene_heading_is_an_error(text: str) -> None:
    with pytest.raises(NoScenesError, match=r"^no scene headings found"):
        parse(text)


def test_errors_are_screenplay_errors() -> None:
    assert issubclass(NoScenesError, ScreenplayError)
    assert issubclass(NotTextError, ScreenplayError)


# Scene content ----------------------------------------------------------------------------------


def test_text_before_the_first_heading_is_not_a_scene() -> None:
    screenplay = parse(
        "FADE IN:\n\nA RIVER.\n\nEDWARD (V.O.)\nThere are fish.\n\nINT. BEDROOM - NIGHT\n\nWill listens.\n"
    )
    (scene,) = screenplay.scenes
    assert scene.action == "Will listens."
    assert scene.characters == []


def test_action_paragraphs_and_elements_in_script_order() -> None:
    scene = only_scene(
        fountain(
            """
            A gorgeous day.  The sun is shining.

            STEEL
            Beer's ready!

            And then there's a long beat.
            Longer than is funny.

            CUT TO:
            """
        )
    )
    assert (
        scene.action
        == "A gorgeous day.  The sun is shining.\n\nAnd then there's a long beat.\nLonger than is funny."
    )
    assert [(element.type, element.text) for element in scene.elements] == [
        (ElementType.ACTION, "A gorgeous day.  The sun is shining."),
        (ElementType.CHARACTER, "STEEL"),
        (ElementType.DIALOGUE, "Beer's ready!"),
        (ElementType.ACTION, "And then there's a long beat.\nLonger than is funny."),
        (ElementType.TRANSITION, "CUT TO:"),
    ]


def test_forced_action_loses_its_exclamation_mark() -> None:
    scene = only_scene("!SCANNING THE AISLES...\nWhere is that pit boss?\n")
    assert scene.action == "SCANNING THE AISLES...\nWhere is that pit boss?"
    assert scene.dialogue == []


# Duration ---------------------------------------------------------------------------------------


def test_a_heading_alone_lasts_two_printed_lines() -> None:
    # The heading and the blank line after it: 2 lines of 55 a minute.
    assert only_scene("").estimated_seconds == 2


def test_a_page_of_action_lasts_about_a_minute() -> None:
    # 53 full action lines + the blank after them + heading and its blank = 56 lines → 61 s.
    page = "\n".join(["x" * 60] * 53)
    assert only_scene(page + "\n").estimated_seconds == 61


def test_duration_counts_wrapped_action_and_dialogue_lines() -> None:
    # Heading 2; action of 61 characters wraps to 2 lines, +1 blank; cue 1, a parenthetical of 26
    # characters wraps to 2, dialogue of 36 characters wraps to 2, +1 blank: 11 lines → 12 s.
    scene = only_scene(f"{'a' * 61}\n\nJOHN\n({'p' * 24})\n{'d' * 36}\n")
    assert scene.estimated_seconds == 12


def test_unprinted_elements_take_no_time() -> None:
    plain = only_scene("She waits.\n")
    annotated = only_scene("# Act\n\n= synopsis\n\n[[camera: wide]]\n\nShe waits. [[a note]]\n")
    assert annotated.estimated_seconds == plain.estimated_seconds == 4


def test_total_seconds_sums_the_scenes() -> None:
    screenplay = parse("INT. A - DAY\n\nAction.\n\nINT. B - DAY\n\n" + "\n".join(["x" * 60] * 30))
    assert [scene.estimated_seconds for scene in screenplay.scenes] == [4, 36]
    assert screenplay.total_seconds == 40
