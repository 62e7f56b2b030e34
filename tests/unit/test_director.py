"""The director: camera, lighting, environment, people described from the script, and prompts that
always fit the model. Scenes are built directly from the models, independent of the parser."""

from __future__ import annotations

import re
from collections.abc import Sequence

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from script_to_film.domain import catalog
from script_to_film.domain.catalog import utf16_len
from script_to_film.domain.director import (
    CAMERAS,
    DEFAULT_STYLE,
    LIGHTING,
    MAX_CAMERA_UNITS,
    MAX_EXTRA_BEATS,
    NEUTRAL_LIGHTING,
    QUALITY_DESCRIPTORS,
    STYLES,
    cast,
    direct,
    get_style,
    lighting_for,
)
from script_to_film.domain.errors import InvalidOptionError, UnknownModelError
from script_to_film.domain.models import (
    DialogueLine,
    Direction,
    Element,
    ElementType,
    IntExt,
    Scene,
    Screenplay,
    Shot,
)

NEGATIVE = re.compile(r"\b(?:no|not|never|none|nothing|without|avoid\w*|cannot|\w+n't)\b", re.IGNORECASE)
"""Runway's prompting guide: describe what should be there, never what should not."""


def scene(
    action: str = "A kettle boils.",
    *,
    number: int = 1,
    int_ext: IntExt | None = IntExt.INT,
    location: str = "KITCHEN",
    time_of_day: str | None = "DAY",
    dialogue: Sequence[DialogueLine] = (),
    direction: Direction | None = None,
    seconds: int = 6,
    elements: Sequence[Element] = (),
    qualifiers: Sequence[str] = (),
) -> Scene:
    heading = " - ".join(part for part in (f"{int_ext or ''}. {location}".strip(". "), time_of_day) if part)
    return Scene(
        number=number,
        heading=heading,
        int_ext=int_ext,
        location=location,
        time_of_day=time_of_day,
        qualifiers=list(qualifiers),
        action=action,
        dialogue=list(dialogue),
        characters=list(dict.fromkeys(line.character for line in dialogue)),
        direction=direction or Direction(),
        estimated_seconds=seconds,
        elements=list(elements),
    )


def film(*scenes: Scene) -> Screenplay:
    return Screenplay(scenes=[s.model_copy(update={"number": n}) for n, s in enumerate(scenes, start=1)])


def one(s: Scene, **options: str) -> Shot:
    """The scene's master shot: the one that opens it and carries its camera note."""
    return direct(film(s), **options)[0]  # type: ignore[arg-type]


def masters(screenplay: Screenplay, **options: str) -> list[Shot]:
    """Each scene's master shot, in order."""
    return [shot for shot in direct(screenplay, **options) if shot.number == 1]  # type: ignore[arg-type]


def line(character: str, text: str, parenthetical: str | None = None, **fields: object) -> DialogueLine:
    return DialogueLine(character=character, text=text, parenthetical=parenthetical, **fields)  # type: ignore[arg-type]


TALK = [line("MARA", "You're late."), line("JONAH", "The train was late.")]


# --- the shot -------------------------------------------------------------------------------------


def test_a_shot_per_scene_in_order_with_the_template_shape() -> None:
    shots = direct(
        film(
            scene("Fog lifts off the rails. A board flickers.", int_ext=IntExt.EXT, location="STATION"),
            scene("Steam rises from the cups.", location="CAFE", time_of_day="NIGHT"),
        )
    )

    assert [shot.scene for shot in shots] == [1, 2]
    first = shots[0]
    assert first.prompt == (
        "Wide establishing shot: Fog lifts off the rails. A board flickers. "
        "Bright natural daylight with soft shadows. Exterior, Station. "
        "Cinematic composition, photorealistic live action, natural colour grading, shot on 35mm film, "
        "shallow depth of field, highly detailed, sharp focus, smooth natural motion."
    )
    assert (first.camera, first.lighting, first.environment) == (
        "Wide establishing shot",
        "Bright natural daylight with soft shadows",
        "Exterior, Station",
    )
    assert (first.style, first.model, first.provider, first.ratio) == (
        "realistic",
        "gen4.5",
        "runway",
        "1280:720",
    )
    assert shots[1].prompt.startswith("Medium shot: Steam rises from the cups. Night, ")


def test_the_same_screenplay_gives_the_same_shots() -> None:
    screenplay = film(
        scene("MARA (70s), wiry, walks in. She sits.", dialogue=TALK),
        scene("Jonah runs.", int_ext=IntExt.EXT, location="STREET", time_of_day="CONTINUOUS"),
    )
    assert direct(screenplay) == direct(screenplay)


def test_model_ratio_and_provider_are_carried() -> None:
    assert one(scene(), model="veo3.1", ratio="1080:1920").ratio == "1080:1920"
    animatic = one(scene(), model="animatic")
    assert (animatic.provider, animatic.model, animatic.ratio) == ("animatic", "animatic", "1280:720")
    assert one(scene(), model="gen4_turbo", ratio="960:960").ratio == "960:960"


def test_unknown_model_style_and_ratio_are_refused() -> None:
    with pytest.raises(UnknownModelError, match=r"gen4\.5"):
        direct(film(scene()), model="gen5_ultra")
    with pytest.raises(UnknownModelError, match="retired"):
        direct(film(scene()), model="gen3a_turbo")
    with pytest.raises(
        InvalidOptionError, match="realistic, film noir, animated, documentary, vintage, anime"
    ):
        direct(film(scene()), style="sepia-vaporwave")
    with pytest.raises(InvalidOptionError, match="1280:720, 720:1280"):
        direct(film(scene()), ratio="960:960")  # gen4.5 text-to-video is landscape or portrait only


# --- camera ---------------------------------------------------------------------------------------


def camera_of(s: Scene) -> str:
    return one(s).camera


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        (scene("The skyline.", int_ext=IntExt.EST, location="CITY"), "Wide establishing shot"),
        (scene("Waves roll in.", int_ext=IntExt.EXT, location="BEACH"), "Wide establishing shot"),
        (scene("He raises the gun, shaking."), "Dutch angle"),
        (scene("She walks down the corridor."), "Tracking shot"),
        (scene("The car drives into the night."), "Tracking shot"),
        (scene("They sit.", dialogue=TALK), "Over-the-shoulder shot"),
        (scene("She sits.", dialogue=[line("MARA", "Fifty years."), line("MARA", "Fifty.")]), "Close-up"),
        (scene("Tears roll down her face."), "Close-up"),
        (scene("The tower looms over the village."), "Low angle shot"),
        (scene("She sits alone, trapped in the lift."), "High angle shot"),
        (scene("A kettle boils."), "Medium shot"),
    ],
)
def test_the_camera_fits_the_scene(s: Scene, expected: str) -> None:
    assert camera_of(s) == expected


def test_an_exterior_already_established_is_not_established_again() -> None:
    shots = direct(
        film(
            scene("Waves roll in.", int_ext=IntExt.EXT, location="BEACH"),
            scene("A kettle boils.", location="HUT"),
            scene("Gulls circle.", int_ext=IntExt.EXT, location="BEACH"),
        )
    )
    assert [shot.camera for shot in shots] == ["Wide establishing shot", "Medium shot", "Close-up"]


def test_neighbouring_scenes_get_different_cameras() -> None:
    talk = scene("They sit.", dialogue=TALK)
    walk = scene("She walks home.")
    shots = masters(film(talk, talk, talk, walk, walk, walk))
    cameras = [shot.camera for shot in shots]
    assert cameras == [
        "Over-the-shoulder shot",
        "Medium shot",
        "Over-the-shoulder shot",
        "Tracking shot",
        "Medium shot",
        "Tracking shot",
    ]


def test_the_next_best_fit_is_taken_before_a_general_shot() -> None:
    tense_walk = scene("She runs, screaming.")
    assert [shot.camera for shot in direct(film(tense_walk, tense_walk))] == ["Dutch angle", "Tracking shot"]


def test_a_camera_note_overrides_the_choice() -> None:
    shots = direct(
        film(
            scene("She walks home.", direction=Direction(camera="close up")),
            scene("She walks home.", direction=Direction(camera="tracking")),
            scene("She walks home."),
        )
    )
    assert [shot.camera for shot in shots] == ["Close-up", "Tracking shot", "Medium shot"]
    assert shots[0].prompt.startswith("Close-up: She walks home. ")


def test_a_free_camera_note_is_kept_with_people_described() -> None:
    screenplay = film(
        scene(
            "JONAH (70s), a tall man with a beard, rubs the glass.",
            direction=Direction(camera="close-up on Jonah's eyes in the window reflection"),
        ),
        scene("A kettle boils.", dialogue=[line("JONAH", "Fifty years."), line("JONAH", "Fifty.")]),
    )
    first, second = masters(screenplay)
    assert (
        first.camera == "Close-up on the eyes of a tall man in his 70s with a beard in the window reflection"
    )
    assert first.prompt.startswith(f"{first.camera}: The man rubs the glass.")
    assert "the man's" not in first.camera, "the note names Jonah as he is introduced, never 'the man'"
    assert second.camera == "Medium shot", "the note was a close-up, so the next scene takes another set-up"


def test_a_long_camera_note_is_cut() -> None:
    note = "slow push in over " + "the long wet cobbled street " * 30
    shot = one(scene(direction=Direction(camera=note)))
    assert utf16_len(shot.camera) <= MAX_CAMERA_UNITS
    assert shot.prompt.startswith(f"{shot.camera}: A kettle boils.")


def test_the_camera_set_ups_include_the_seed_eight() -> None:
    labels = {camera.label for camera in CAMERAS}
    assert labels >= {
        "Medium shot",
        "Wide establishing shot",
        "Close-up",
        "Low angle shot",
        "Over-the-shoulder shot",
        "Dutch angle",
        "High angle shot",
        "Tracking shot",
    }


# --- lighting and environment ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("time_of_day", "starts"),
    [
        ("DAY", "Bright natural daylight"),
        ("NIGHT", "Night, low-key"),
        ("DAWN", "Dawn, cool blue"),
        ("DUSK", "Dusk, blue-hour"),
        ("MORNING", "Soft fresh morning"),
        ("AFTERNOON", "Warm afternoon"),
        ("EVENING", "Evening, fading"),
        ("SUNRISE", "Sunrise, low golden"),
        ("SUNSET", "Sunset, warm orange"),
        ("MAGIC HOUR", "Magic hour"),
        ("NOON", "High midday sun"),
        ("MIDNIGHT", "Midnight, deep darkness"),
        ("PRE-DAWN", "Pre-dawn"),
        ("pre dawn", "Pre-dawn"),
        ("LATE AFTERNOON", "Warm afternoon"),
        ("GOLDEN HOUR", "Magic hour"),
        ("night", "Night, low-key"),
    ],
)
def test_lighting_follows_the_time_of_day(time_of_day: str, starts: str) -> None:
    shot = one(scene(time_of_day=time_of_day))
    assert shot.lighting.startswith(starts)
    assert f" {shot.lighting}. " in shot.prompt


def test_every_time_of_day_has_its_own_lighting() -> None:
    assert len(set(LIGHTING.values())) == len(LIGHTING) == 13


@pytest.mark.parametrize("relative", ["CONTINUOUS", "LATER", "SAME", "MOMENTS LATER", "1973", None])
def test_a_relative_or_unknown_time_carries_the_previous_lighting(relative: str | None) -> None:
    shots = direct(
        film(scene(time_of_day="SUNSET"), scene(time_of_day=relative), scene(time_of_day=relative))
    )
    assert [shot.lighting for shot in shots] == [LIGHTING["SUNSET"]] * 3


def test_a_first_scene_without_a_time_gets_neutral_light() -> None:
    assert one(scene(time_of_day="CONTINUOUS")).lighting == NEUTRAL_LIGHTING
    assert lighting_for(None) == NEUTRAL_LIGHTING
    assert lighting_for("LATER", previous="Candle light") == "Candle light"


@pytest.mark.parametrize(
    ("int_ext", "location", "qualifiers", "expected"),
    [
        (IntExt.INT, "STATION CAFE", [], "Interior, Station Cafe"),
        (IntExt.EXT, "HARROW STATION - PLATFORM 2", [], "Exterior, Harrow Station, Platform 2"),
        (IntExt.INT_EXT, "MARA'S CAR", [], "Interior and exterior, Mara's Car"),
        (IntExt.EST, "HOUSE OF THE RISING SUN", [], "Exterior, House of the Rising Sun, establishing view"),
        (None, "Somewhere in Rome", [], "Somewhere in Rome"),
        (IntExt.EXT, "LIGHTHOUSE", ["STORM"], "Exterior, Lighthouse, in a storm"),
        (IntExt.INT, "KITCHEN", ["FLASHBACK", "1973"], "Interior, Kitchen, in 1973"),
    ],
)
def test_environment_from_interior_exterior_and_location(
    int_ext: IntExt | None, location: str, qualifiers: list[str], expected: str
) -> None:
    shot = one(scene(int_ext=int_ext, location=location, qualifiers=qualifiers))
    assert shot.environment == expected
    assert f" {expected}. " in shot.prompt


def test_a_location_named_after_a_character_describes_them() -> None:
    shot = one(scene("MARA (40s) waits. She hums.", location="MARA'S KITCHEN"))
    assert shot.environment == "Interior, the woman's Kitchen"
    assert "mara" not in shot.prompt.lower()


def test_a_character_is_described_from_their_introduction() -> None:
    screenplay = film(
        scene("MARA (70s), wiry, in a conductor's coat, sits on a bench. She waits.", int_ext=IntExt.INT),
        scene("Mara stands. Mara waves."),
    )
    mara = cast(screenplay)["MARA"]
    assert (mara.description, mara.short, mara.gender) == (
        "a woman in her 70s, wiry, in a conductor's coat",
        "the woman",
        "female",
    )
    first, second = direct(screenplay)
    assert first.prompt.startswith(
        "Medium shot: A woman in her 70s, wiry, in a conductor's coat, sits on a bench."
    )
    assert second.prompt.startswith(
        "Close-up: A woman in her 70s, wiry, in a conductor's coat, stands. The woman waves."
    )
    for shot in (first, second):
        assert "mara" not in shot.prompt.lower()


def test_an_appositive_introduction() -> None:
    screenplay = film(scene("MARA, 70s, a retired conductor, steps off the train. She smiles."))
    assert cast(screenplay)["MARA"].description == "a retired conductor in her 70s"
    assert cast(screenplay)["MARA"].short == "the conductor"
    assert "A retired conductor in her 70s steps off the train." in one(screenplay.scenes[0]).prompt


def test_the_description_names_the_person_when_it_can() -> None:
    screenplay = film(scene("JONAH (70s), a tall man with a grey beard, rubs the glass."))
    jonah = cast(screenplay)["JONAH"]
    assert (jonah.description, jonah.short, jonah.gender) == (
        "a tall man in his 70s with a grey beard",
        "the man",
        "male",
    )


@pytest.mark.parametrize(
    ("name", "action", "dialogue", "description"),
    [
        ("ALEX", "ALEX walks in. He waves.", [line("ALEX", "Hi.")], "a man"),
        ("ALEX", "ALEX walks in.", [line("ALEX", "Hi.")], "a person"),
        ("ALEX", "ALEX (8) hides. She giggles.", [], "a girl aged 8"),
        ("ALEX", "ALEX (15) hides. He sulks.", [], "a teenage boy aged 15"),
        ("ALEX", "ALEX (30s), barefoot, dances.", [], "a person in their 30s, barefoot"),
        ("ALEX", "ALEX, late twenties, grins.", [], "a person in their late twenties"),
        ("ALEX", "A chair creaks.", [line("ALEX", "Fifty years.", "(to herself)")], "a woman"),
        ("MRS. DALE", "MRS. DALE waters the roses.", [line("MRS. DALE", "Lovely.")], "a woman"),
    ],
)
def test_gender_age_and_fallbacks(
    name: str, action: str, dialogue: list[DialogueLine], description: str
) -> None:
    assert cast(film(scene(action, dialogue=dialogue)))[name].description == description


def test_a_pronoun_counts_only_when_it_can_be_nobody_else() -> None:
    action = "MARA (70s) and JONAH (70s), a tall man, sit. She smiles. ALEX and Mara wave. He nods."
    people = cast(film(scene(action)))
    assert people["MARA"].gender == "female", "JONAH, in between, is a man"
    assert "ALEX" not in people, "a name in capitals without an age or a line is not taken for a character"


def test_people_who_share_a_short_form_are_told_apart() -> None:
    s = scene(
        "JONAH (70s), a tall man, waits. SAM (20s), a young man, runs in. Jonah nods. Sam grins.",
    )
    prompt = one(s).prompt
    assert (
        "A tall man in his 70s waits. A young man in his 20s runs in. The man nods. The other man grins."
        in prompt
    )


def test_a_possessive_mention_uses_the_short_form() -> None:
    prompt = one(scene("Mara's cup steams. MARA (60s), in a red coat, drinks.")).prompt
    assert prompt.startswith(
        "Medium shot: The person's cup steams. A person in their 60s, in a red coat, drinks."
    )


def test_a_voice_heard_only_off_screen_stays_a_word() -> None:
    s = scene(
        "ELSA (40s) wipes the lens. A radio crackles.",
        dialogue=[line("RADIO", "Mayday.", extension="V.O."), line("ELSA", "I see you.")],
    )
    people = cast(film(s))
    assert set(people) == {"ELSA"}
    assert "A radio crackles." in one(s).prompt


# --- dialogue beats -------------------------------------------------------------------------------


def test_dialogue_beats_say_who_speaks_to_whom_and_how() -> None:
    s = scene(
        "MARA (70s) and JONAH (70s), a tall man, share a table. She smiles.",
        dialogue=[
            line("JONAH", "You kept it.", "(turning it over)"),
            line("MARA", "Somebody had to keep a thing like that for fifty years.", "(quietly)"),
            line("JONAH", "Why?"),
        ],
    )
    prompt = one(s).prompt
    assert 'The man, turning it over, speaks to the woman: "You kept it."' in prompt
    assert "The woman quietly speaks to the man." in prompt, "a long speech is shown, not quoted"
    assert 'The man asks the woman: "Why?"' in prompt


def test_a_parenthetical_that_names_someone_describes_them() -> None:
    s = scene(
        "MARA (70s) waits. She smiles.",
        dialogue=[line("JONAH", "Stay.", "(MARA's hand in his)"), line("JONAH", "Please.", "(to Mara)")],
    )
    prompt = one(s).prompt
    assert (
        'A person, the woman\'s hand in his, speaks: "Stay." The person speaks to the woman: "Please."'
        in (prompt)
    )
    assert "mara" not in prompt.lower()


def test_many_undescribed_people_are_counted() -> None:
    s = scene("Rain falls.", dialogue=[line(name, "Hi.") for name in ("ANN", "BEA", "CAL", "DEE")])
    assert (
        'Rain falls. A person speaks to another person: "Hi." '
        'The other person speaks to another person: "Hi." '
        'The third person speaks to another person: "Hi." '
        'The fourth person speaks to the third person: "Hi."'
    ) in one(s).prompt


def test_a_negative_line_is_shown_without_its_words() -> None:
    s = scene(
        "Rain falls.", dialogue=[line("MARA", "I can't stay.", "(not looking up)"), line("JONAH", "Stay.")]
    )
    prompt = one(s).prompt
    assert (
        'Rain falls. A person speaks to another person. The other person speaks to the person: "Stay."'
        in prompt
    )
    assert "can't" not in prompt and "looking" not in prompt


def test_dual_dialogue_is_one_beat() -> None:
    s = scene(
        "They laugh.",
        dialogue=[line("JONAH", "Late.", dual=True), line("MARA", "Never.", dual=True)],
    )
    assert "They laugh. A person and another person speak at the same time." in one(s).prompt


def test_speeches_keep_their_place_between_action_paragraphs() -> None:
    s = scene(
        "Rain on the glass.\n\nShe turns away.",
        dialogue=[line("MARA", "Go.")],
        elements=[
            Element(type=ElementType.ACTION, text="Rain on the glass."),
            Element(type=ElementType.CHARACTER, text="MARA", character="MARA"),
            Element(type=ElementType.DIALOGUE, text="Go.", character="MARA"),
            Element(type=ElementType.ACTION, text="She turns away."),
        ],
    )
    assert 'Rain on the glass. A person speaks: "Go." She turns away.' in one(s).prompt


# --- positive phrasing ----------------------------------------------------------------------------


def test_the_templates_are_phrased_positively() -> None:
    phrases = [
        *(descriptor for style in STYLES.values() for descriptor in style.descriptors),
        *LIGHTING.values(),
        NEUTRAL_LIGHTING,
        *QUALITY_DESCRIPTORS,
        *(camera.label for camera in CAMERAS),
        "Cinematic composition",
    ]
    assert [phrase for phrase in phrases if NEGATIVE.search(phrase)] == []


def test_negative_sentences_are_skipped_as_beats_but_the_first_is_kept() -> None:
    s = scene("Nobody moves. The door is not locked. She opens it. Nothing happens. Light spills in.")
    prompt = one(s).prompt
    assert prompt.startswith("Medium shot: Nobody moves. She opens it. Light spills in. Bright natural")
    assert "locked" not in prompt and "Nothing" not in prompt


# --- styles ---------------------------------------------------------------------------------------


def test_the_style_presets() -> None:
    assert DEFAULT_STYLE == "realistic"
    assert set(STYLES) >= {"realistic", "film noir", "animated", "documentary", "vintage", "anime"}
    for preset in STYLES.values():
        assert len(preset.descriptors) >= 3
        assert preset.summary
    assert get_style("Film_Noir").name == "film noir"
    assert get_style("noir").name == "film noir"


@pytest.mark.parametrize("style", list(STYLES))
def test_the_style_adds_its_descriptors(style: str) -> None:
    shot = one(scene(), style=style)
    assert shot.style == style
    assert f"Cinematic composition, {', '.join(STYLES[style].descriptors)}, highly detailed" in shot.prompt


def test_a_style_note_overrides_the_film_style() -> None:
    shots = direct(film(scene(), scene(direction=Direction(style="documentary"))), style="film noir")
    assert [shot.style for shot in shots] == ["film noir", "documentary"]
    assert "documentary style" in shots[1].prompt
    with pytest.raises(InvalidOptionError, match="scene 2: unknown style 'glitter'"):
        direct(film(scene(), scene(direction=Direction(style="glitter"))))


# --- duration -------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["gen4.5", "gen4_turbo", "animatic", "veo3.1", "veo3.1_fast"])
def test_every_shot_is_a_length_the_model_makes(model: str) -> None:
    long_speech = line("MARA", " ".join(["word"] * 80))
    talk = scene("They sit.", dialogue=[*TALK, long_speech], seconds=1)
    durations = catalog.get_model(model).durations
    assert all(shot.duration in durations for shot in direct(film(talk), model=model))


@pytest.mark.parametrize(
    ("model", "note", "expected"), [("veo3.1", 5, [6]), ("gen4.5", 60, [10] * 6), ("gen4.5", 3, [3])]
)
def test_a_duration_note_sets_the_scene_length_in_shots_the_model_makes(
    model: str, note: int, expected: list[int]
) -> None:
    shots = direct(film(scene(seconds=30, direction=Direction(duration=note))), model=model)
    assert [shot.duration for shot in shots] == expected


# --- the prompt limit -----------------------------------------------------------------------------


def test_extra_beats_go_first_when_the_prompt_is_long() -> None:
    beats = [f"Beat {n} " + "and the crowd surges forward " * 6 + "." for n in range(1, 7)]
    shot = one(scene(" ".join(["The square fills.", *beats])))
    prompt = shot.prompt
    assert utf16_len(prompt) <= 1000
    assert prompt.startswith("Medium shot: The square fills. Beat 1 ")
    kept = [n for n in range(1, 7) if f"Beat {n} " in prompt]
    assert kept == list(range(1, len(kept) + 1)) and len(kept) < 6
    assert "Bright natural daylight" in prompt
    assert prompt.endswith("highly detailed, sharp focus, smooth natural motion.")


def test_at_most_a_few_extra_beats() -> None:
    sentences = [f"Step {n}." for n in range(1, 20)]
    prompt = one(scene(" ".join(sentences))).prompt
    assert f"Step {MAX_EXTRA_BEATS + 1}." in prompt
    assert f"Step {MAX_EXTRA_BEATS + 2}." not in prompt


def test_an_overlong_first_sentence_is_cut_at_a_word() -> None:
    first = "The train " + "rattles past the long grey fence " * 40
    prompt = one(scene(first + ". It stops.")).prompt
    assert utf16_len(prompt) <= 1000
    assert prompt.startswith("Medium shot: The train rattles")
    kept = prompt.removeprefix("Medium shot: ")
    assert first.startswith(kept)
    assert first[len(kept)] == " "


def test_an_overlong_first_word_is_cut_inside_it() -> None:
    prompt = one(scene("🎬" * 800)).prompt
    assert prompt == "Medium shot: " + "🎬" * ((1000 - len("Medium shot: ")) // 2)


def test_a_scene_without_action_opens_with_its_first_speech_or_its_place() -> None:
    spoken = one(scene("", dialogue=[line("MARA", "Hello."), line("MARA", "Anyone?")]))
    assert spoken.prompt.startswith('Close-up: A person speaks: "Hello." The person asks: "Anyone?" Bright')
    silent = one(scene("  \n\n ", location="OLD HARBOUR"))
    assert silent.prompt.startswith("Medium shot: Old Harbour. Bright natural daylight")


def test_control_characters_and_whitespace_are_cleaned() -> None:
    prompt = one(scene("A kettle\x00 boils\x07.\n\n\tSteam\r\n  rises.")).prompt
    assert prompt.startswith("Medium shot: A kettle boils. Steam rises. ")


# --- properties -----------------------------------------------------------------------------------

MODELS = list(catalog.MODELS.values())
WORDS = [
    *"the a lamp turns slowly rain falls on quiet street she he they looks up river light glows".split(),  # noqa: SIM905
    *"across bench platform train arrives coat old young smiles runs walks storm gun waves cup".split(),  # noqa: SIM905
]
TOKEN = st.one_of(
    st.sampled_from(WORDS),
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),
    st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), min_size=1, max_size=4),
    st.text(st.characters(min_codepoint=0x3B1, max_codepoint=0x3C9), min_size=1, max_size=6),
)
SEPARATOR = st.sampled_from([" ", "  ", "\t", "\n", "\u00a0"])


@st.composite
def phrase(draw: st.DrawFn, max_words: int = 40) -> str:
    words = draw(st.lists(TOKEN, min_size=1, max_size=max_words))
    return "".join(word + draw(SEPARATOR) for word in words).strip()


def long_or_short(max_words: int) -> st.SearchStrategy[str]:
    return st.one_of(phrase(8), phrase(max_words), st.text("🎞🎬", min_size=300, max_size=1200))


NAMES = ("ZED", "ZOE")
ANY_TEXT = st.text(max_size=300)
FIRST_SENTENCE = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Lu"), exclude_characters=".!?…\n(,"),
    min_size=1,
    max_size=2000,
).filter(lambda text: text.split() != [])


def dialogue(text: st.SearchStrategy[str]) -> st.SearchStrategy[list[DialogueLine]]:
    one_line = st.builds(
        DialogueLine,
        character=st.sampled_from(NAMES),
        text=text,
        parenthetical=st.none() | text,
        extension=st.none() | st.sampled_from(["V.O.", "O.S.", "CONT'D"]),
        dual=st.booleans(),
    )
    return st.lists(one_line, max_size=5)


def directions(text: st.SearchStrategy[str]) -> st.SearchStrategy[Direction]:
    return st.builds(
        Direction,
        camera=st.none() | st.sampled_from(["close up", "Dutch angle", "wide"]) | text,
        style=st.none() | st.sampled_from(list(STYLES)),
        duration=st.none() | st.integers(1, 60),
    )


@st.composite
def scenes(draw: st.DrawFn, first: st.SearchStrategy[str], rest: st.SearchStrategy[str]) -> tuple[Scene, str]:
    """A scene whose action starts with a known sentence (no terminal punctuation inside it)."""
    sentence = draw(first)
    built = Scene(
        number=1,
        heading="INT. SOMEWHERE",
        int_ext=draw(st.none() | st.sampled_from(list(IntExt))),
        location=draw(st.sampled_from(["", "STATION", "ZOE'S ROOM"]) | rest),
        time_of_day=draw(st.none() | st.sampled_from([*LIGHTING, "CONTINUOUS", "LATER"]) | rest),
        action=f"{sentence}. {draw(rest)}",
        dialogue=draw(dialogue(rest)),
        direction=draw(directions(rest)),
        estimated_seconds=draw(st.integers(1, 600)),
    )
    return built, " ".join(sentence.split())


def check_shot(shot: Shot, first: str | None, model: catalog.VideoModel) -> None:
    """`first`: the sentence a master shot opens on (None for the shots after it)."""
    prompt = shot.prompt
    assert utf16_len(prompt) <= model.prompt_limit
    assert prompt.startswith(f"{shot.camera}: ")
    assert prompt == " ".join(prompt.split()), "one paragraph, single spaces"
    scene_text = prompt.removeprefix(f"{shot.camera}: ")
    if first is not None and first not in prompt:
        assert first.startswith(scene_text), "cut only in the extreme case, and then to a prefix"
        assert first[len(scene_text)] == " " or " " not in scene_text, "at a word boundary"
    assert shot.duration in model.durations
    assert shot.ratio in model.ratios
    assert (shot.model, shot.provider) == (model.id, model.provider)


PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY_SETTINGS
@given(st.lists(scenes(FIRST_SENTENCE, ANY_TEXT), min_size=1, max_size=3))
def test_any_text_gives_prompts_that_fit(built: list[tuple[Scene, str]]) -> None:
    screenplay = film(*(s for s, _ in built))
    for model in MODELS:
        shots = direct(screenplay, model=model.id)
        firsts = dict(enumerate((first for _, first in built), start=1))
        assert [shot.scene for shot in shots if shot.number == 1] == list(firsts)
        for shot in shots:
            check_shot(shot, firsts[shot.scene] if shot.number == 1 else None, model)


@PROPERTY_SETTINGS
@given(st.lists(scenes(long_or_short(250), long_or_short(200)), min_size=1, max_size=3))
def test_positive_scripts_give_positive_prompts(built: list[tuple[Scene, str]]) -> None:
    screenplay = film(*(s for s, _ in built))
    for model in MODELS:
        firsts = dict(enumerate((first for _, first in built), start=1))
        for shot in direct(screenplay, model=model.id):
            check_shot(shot, firsts[shot.scene] if shot.number == 1 else None, model)
            assert not NEGATIVE.search(shot.prompt), shot.prompt
