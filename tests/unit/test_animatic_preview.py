"""The animatic as a preview of the film: styles that show, a camera that moves, one timecode,
fades for fade transitions, title and end cards, and text in any script drawn (or marked)."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import imageio_ffmpeg
import pytest

from script_to_film.adapters import media
from script_to_film.domain.director import STYLES
from script_to_film.domain.models import DialogueLine, Element, ElementType, Scene, Shot, ShotKind
from script_to_film.domain.screenplay import Transition, closing_transition, fades_in_after, parse

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
WIDTH, HEIGHT = 640, 360


def make_scene(
    action: str = "Fog lifts off the rails. A departures board flickers through its letters.",
    *,
    time_of_day: str = "DAWN",
    dialogue: list[DialogueLine] | None = None,
    elements: list[Element] | None = None,
    number: int = 1,
) -> Scene:
    return Scene(
        number=number,
        heading=f"EXT. HARROW STATION - {time_of_day}",
        time_of_day=time_of_day,
        action=action,
        dialogue=dialogue or [],
        elements=elements or [],
        estimated_seconds=2,
    )


def make_shot(camera: str = "Static shot", style: str = "realistic", duration: int = 1) -> Shot:
    return Shot(
        scene=1,
        camera=camera,
        lighting="dawn light",
        environment="a station",
        style=style,
        prompt="PROMPT FOR THE VIDEO MODEL",
        duration=duration,
        ratio=f"{WIDTH}:{HEIGHT}",
        model="animatic",
        provider="animatic",
    )


def frame(clip: Path, index: int) -> bytes:
    """Frame `index` (0-based; -1 the last) as packed RGB, as a player shows it."""
    info = media.probe(clip)
    if index < 0:
        index = round(info.duration * media.FPS) + index
    args = [FFMPEG, "-v", "error", "-i", str(clip), "-vf", f"select=eq(n\\,{index}),"]
    args[-1] += "scale=in_color_matrix=bt709:in_range=tv"
    args += ["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    pixels = subprocess.run(args, capture_output=True, check=True).stdout
    assert len(pixels) == info.width * info.height * 3
    return pixels


def rows(pixels: bytes, top: int, bottom: int) -> bytes:
    return pixels[top * WIDTH * 3 : bottom * WIDTH * 3]


def mean(values: list[float]) -> float:
    return sum(values) / len(values)


def saturation(pixels: bytes) -> float:
    """Mean HSV saturation, 0 (grey) to 1."""
    triples = zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True)
    return mean([(max(t) - min(t)) / max(t) if max(t) else 0.0 for t in triples])


def channel(pixels: bytes, index: int) -> float:
    return mean(list(pixels[index::3]))


def difference(a: bytes, b: bytes) -> float:
    """Mean absolute difference per channel value."""
    return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)


def ink(pixels: bytes, background: tuple[int, int, int], threshold: int = 60) -> int:
    """Pixels far from the background colour: drawn text."""
    triples = zip(pixels[0::3], pixels[1::3], pixels[2::3], strict=True)
    return sum(1 for t in triples if sum(abs(c - b) for c, b in zip(t, background, strict=True)) > threshold)


def background_of(time_of_day: str) -> tuple[int, int, int]:
    value = int(media.palette_for(time_of_day).background, 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


# Styles ---------------------------------------------------------------------------------------


def test_every_style_preset_has_a_look_of_its_own() -> None:
    assert set(STYLES) <= set(media.LOOKS)
    looks = {name: media.LOOKS[name] for name in STYLES}
    assert all(look != media.Look() for name, look in looks.items() if name != "realistic")
    assert len(set(looks.values())) == len(looks)


@pytest.fixture(scope="module")
def styled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The middle frame of one static card in every style."""
    folder = tmp_path_factory.mktemp("styles")
    dialogue = [DialogueLine(character="MARA", text="You're late.")]
    frames = {}
    for name in STYLES:
        scene = make_scene(dialogue=dialogue, time_of_day="DAY")
        clip = media.render_animatic(scene, make_shot(style=name), folder / f"{name}.mp4")
        frames[name] = frame(clip, 12)
    return frames


def test_styles_change_the_pixels(styled: dict[str, bytes]) -> None:
    for (one, a), (other, b) in itertools.combinations(styled.items(), 2):
        assert difference(a, b) > 2, (one, other)


def test_film_noir_is_monochrome_with_hard_contrast(styled: dict[str, bytes]) -> None:
    noir, realistic = styled["film noir"], styled["realistic"]
    assert saturation(noir) < 0.03 < saturation(realistic)

    # Hard contrast: the brightest and darkest tenths are further apart than in the plain card.
    def spread(pixels: bytes) -> float:
        luma = sorted(pixels[1::3])
        tenth = len(luma) // 10
        return mean(list(luma[-tenth:])) - mean(list(luma[:tenth]))

    assert spread(noir) > spread(realistic) + 20


def test_vintage_is_warm_and_grainy(styled: dict[str, bytes]) -> None:
    vintage, realistic = styled["vintage"], styled["realistic"]

    def warmth(pixels: bytes) -> float:
        return channel(pixels, 0) - channel(pixels, 2)

    assert warmth(vintage) > warmth(realistic) + 8
    # Grain: neighbouring pixels of a flat background differ; on the plain card they do not.
    flat = slice(3 * (WIDTH * 250 + 400), 3 * (WIDTH * 250 + 600))
    assert (
        difference(vintage[flat][3:], vintage[flat][:-3])
        > 2 * difference(realistic[flat][3:], realistic[flat][:-3]) + 1
    )


def test_anime_is_flat_and_saturated(styled: dict[str, bytes]) -> None:
    anime, realistic = styled["anime"], styled["realistic"]
    assert saturation(anime) > 1.5 * saturation(realistic)


# Camera ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("camera", "motion"),
    [
        ("Close-up", media.Motion.PUSH_IN),
        ("close-up on Jonah's eyes in the window reflection", media.Motion.PUSH_IN),
        ("Wide establishing shot", media.Motion.PAN),
        ("Tracking shot", media.Motion.PAN),
        ("Over-the-shoulder shot", media.Motion.DRIFT),
        ("Low angle shot", media.Motion.TILT_UP),
        ("High angle shot", media.Motion.TILT_DOWN),
        ("Dutch angle", media.Motion.DUTCH),
        ("Static shot of the door", media.Motion.STATIC),
        ("slow pull back to reveal the room", media.Motion.PULL_OUT),
        ("Something else entirely", media.Motion.DRIFT),
        ("Her panic, widening eyes", media.Motion.DRIFT),
    ],
)
def test_the_camera_moves_as_its_shot_says(camera: str, motion: media.Motion) -> None:
    # A two-shot's kind moves the camera least (a drift), so its words decide.
    shot = make_shot(camera).model_copy(update={"kind": ShotKind.TWO_SHOT})
    assert media.motion_for(shot) is motion


def test_a_shot_list_kind_moves_the_camera_when_its_words_do_not() -> None:
    base = make_shot("Shot 2")
    assert media.motion_for(base.model_copy(update={"kind": ShotKind.SINGLE})) is media.Motion.PUSH_IN
    assert media.motion_for(base.model_copy(update={"kind": ShotKind.MASTER})) is media.Motion.PAN
    assert media.motion_for(base.model_copy(update={"kind": ShotKind.TWO_SHOT})) is media.Motion.DRIFT


def test_a_documentary_is_handheld_unless_the_camera_is_locked_off() -> None:
    assert media.motion_for(make_shot("Medium shot", style="documentary")) is media.Motion.HANDHELD
    assert media.motion_for(make_shot("Static shot", style="documentary")) is media.Motion.STATIC


@pytest.fixture(scope="module")
def moves(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("moves")
    return {
        camera: media.render_animatic(make_scene(), make_shot(camera, duration=2), folder / f"{camera}.mp4")
        for camera in ("Static shot", "Close-up", "Wide establishing shot")
    }


BODY = (110, 300)
"""Rows of the action text, away from the band's timecode and the progress line."""


CAMERA_OF = {
    media.Motion.STATIC: "Static shot",
    media.Motion.PUSH_IN: "Close-up",
    media.Motion.PULL_OUT: "Pull back",
    media.Motion.PAN: "Wide establishing shot",
    media.Motion.DRIFT: "Medium shot",
    media.Motion.TILT_UP: "Low angle shot",
    media.Motion.TILT_DOWN: "High angle shot",
    media.Motion.DUTCH: "Dutch angle",
    media.Motion.HANDHELD: "Handheld",
}


@pytest.mark.parametrize("motion", list(media.Motion))
def test_every_move_renders_in_the_house_encoding_and_moves(
    motion: media.Motion, moves: dict[str, Path], tmp_path: Path
) -> None:
    shot = make_shot(CAMERA_OF[motion], duration=2)
    assert media.motion_for(shot) is motion
    clip = media.render_animatic(make_scene(), shot, tmp_path / "clip.mp4")
    # Joined to the others by stream copy: the same codec parameters as a still card.
    assert media.probe(clip).stream_signature == media.probe(moves["Static shot"]).stream_signature
    moved = difference(rows(frame(clip, 0), *BODY), rows(frame(clip, -1), *BODY))
    assert moved < 0.3 if motion is media.Motion.STATIC else moved > 0.5


def test_a_static_shot_holds_still(moves: dict[str, Path]) -> None:
    clip = moves["Static shot"]
    assert difference(rows(frame(clip, 0), *BODY), rows(frame(clip, -1), *BODY)) < 0.3


def ink_span(pixels: bytes, background: tuple[int, int, int]) -> tuple[int, int]:
    """The leftmost and rightmost columns of ink in the body rows."""
    columns = [
        x
        for y in range(*BODY)
        for x in range(0, WIDTH, 2)
        if ink(pixels[(y * WIDTH + x) * 3 : (y * WIDTH + x + 1) * 3], background)
    ]
    return min(columns), max(columns)


def test_a_close_up_pushes_in(moves: dict[str, Path]) -> None:
    clip = moves["Close-up"]
    background = background_of("DAWN")
    (left, right), (last_left, last_right) = (ink_span(frame(clip, i), background) for i in (0, -1))
    # Pushing in on the middle of the card spreads its text outwards.
    assert last_left < left and last_right > right
    assert (last_right - last_left) > 1.04 * (right - left)


def test_a_wide_shot_pans_across_the_card(moves: dict[str, Path]) -> None:
    clip = moves["Wide establishing shot"]
    first, last = frame(clip, 0), frame(clip, -1)
    travel = 2 * media._canvas(WIDTH, HEIGHT, media.Motion.PAN).x
    assert travel >= 20

    def shifted(pixels: bytes, by: int) -> bytes:
        return b"".join(
            pixels[(y * WIDTH + by) * 3 : (y * WIDTH + WIDTH - travel + by) * 3] for y in range(*BODY)
        )

    # What was `travel` pixels to the right at the start is where the frame looks at the end.
    assert difference(shifted(last, 0), shifted(first, travel)) < 0.4
    assert difference(shifted(last, 0), shifted(first, 0)) > 1


# Timecode, fades, transitions ----------------------------------------------------------------------


def test_the_timecode_runs_on_from_where_the_clip_sits_in_the_film(tmp_path: Path) -> None:
    card = media._Card(media.NEUTRAL, 0, 0, [], [], 1.0)
    with media._fonts() as fonts:
        assert r"timecode=00\\:01\\:05\\:12" in media._timecode(card, fonts, 65.5)
        assert r"timecode=01\\:00\\:00\\:00" in media._timecode(card, fonts, 3600)
    at_start = media.render_animatic(make_scene(), make_shot(), tmp_path / "a.mp4")
    later = media.render_animatic(make_scene(), make_shot(), tmp_path / "b.mp4", start_seconds=65.5)
    band = (0, 30)
    assert difference(rows(frame(at_start, 0), *band), rows(frame(later, 0), *band)) > 0.5


def test_a_clip_cannot_start_before_the_film(tmp_path: Path) -> None:
    with pytest.raises(media.MediaError, match="before the film"):
        media.render_animatic(make_scene(), make_shot(), tmp_path / "x.mp4", start_seconds=-1)


def test_fade_out_is_a_transition_not_action() -> None:
    screenplay = parse(
        "INT. A - DAY\n\nShe leaves.\n\nFADE OUT.\n\nINT. B - NIGHT\n\nRain.\n\nCUT TO:\n\n"
        "EXT. C - DAY\n\nWind.\n\nDISSOLVE TO:\n\nEXT. D - DAY\n\nSun.\n\nFADE TO BLACK.\n\nFADE IN:\n\n"
        "EXT. E - DAY\n\nSnow.\n"
    )
    a, b, c, d, _ = screenplay.scenes
    assert a.action == "She leaves."
    assert a.elements[-1] == Element(type=ElementType.TRANSITION, text="FADE OUT.")
    assert [closing_transition(scene) for scene in screenplay.scenes] == [
        Transition.FADE,
        Transition.CUT,
        Transition.DISSOLVE,
        Transition.FADE,
        None,
    ]
    assert [fades_in_after(previous) for previous in (None, a, b, c, d)] == [True, True, False, True, True]
    assert "FADE" not in " ".join(scene.action for scene in screenplay.scenes)


def brightness(pixels: bytes) -> float:
    return mean(list(pixels))


def test_a_fade_out_ends_in_black_and_a_cut_does_not(tmp_path: Path) -> None:
    fade = [
        Element(type=ElementType.ACTION, text="x"),
        Element(type=ElementType.TRANSITION, text="FADE OUT."),
    ]
    cut = [Element(type=ElementType.ACTION, text="x"), Element(type=ElementType.TRANSITION, text="CUT TO:")]
    faded = media.render_animatic(make_scene(elements=fade), make_shot(duration=2), tmp_path / "f.mp4")
    cutting = media.render_animatic(make_scene(elements=cut), make_shot(duration=2), tmp_path / "c.mp4")
    assert brightness(frame(faded, -1)) < 8
    assert brightness(frame(faded, 0)) > 100
    assert brightness(frame(cutting, -1)) > 100


def test_a_scene_that_fades_in_starts_black(tmp_path: Path) -> None:
    clip = media.render_animatic(make_scene(), make_shot(duration=2), tmp_path / "in.mp4", fade_in=True)
    assert brightness(frame(clip, 0)) < 8
    assert brightness(frame(clip, 30)) > 100


# Title and end cards ----------------------------------------------------------------------------


def test_the_title_card_shows_the_title_page_between_fades(tmp_path: Path) -> None:
    page = {"title": "The 6:40 to Harrow", "credit": "Written by", "author": "Mara Okafor"}
    clip = media.render_title_card(page, f"{WIDTH}:{HEIGHT}", tmp_path / "title.mp4")
    info = media.probe(clip)
    assert info.duration == pytest.approx(media.TITLE_CARD_SECONDS, abs=0.1)
    assert (
        info.stream_signature
        == media.probe(
            media.render_animatic(make_scene(), make_shot(), tmp_path / "scene.mp4")
        ).stream_signature
    )
    middle = frame(clip, media.TITLE_CARD_SECONDS * media.FPS // 2)
    assert brightness(frame(clip, 0)) < 8 and brightness(frame(clip, -1)) < 8
    background = background_of("NEUTRAL")
    # The title, its credit and its author, each drawn in its own band of rows.
    assert ink(rows(middle, 100, 170), background) > 1500
    assert ink(rows(middle, 170, 260), background) > 500
    without_author = media.render_title_card(
        {"title": page["title"]}, f"{WIDTH}:{HEIGHT}", tmp_path / "bare.mp4"
    )
    assert difference(middle, frame(without_author, media.TITLE_CARD_SECONDS * media.FPS // 2)) > 1


def test_the_end_card_says_the_end(tmp_path: Path) -> None:
    clip = media.render_end_card("Keeper", f"{WIDTH}:{HEIGHT}", tmp_path / "end.mp4", style="film noir")
    assert media.probe(clip).duration == pytest.approx(media.END_CARD_SECONDS, abs=0.1)
    middle = frame(clip, media.END_CARD_SECONDS * media.FPS // 2)
    assert saturation(middle) < 0.03
    assert ink(middle, background_of("NEUTRAL")) > 1000


# Text in any script -------------------------------------------------------------------------------

SCRIPTS = {
    "japanese": "東京行きの電車はもう出ましたか",
    "chinese": "我们明天在车站见面",
    "korean": "서울에 도착하면 전화할게요",
    "arabic": "مرحبا بالعالم",
    "hebrew": "שלום עולם",
    "cyrillic": "Привет, как дела",
    "greek": "Γειά σου κόσμε",
    "latin": "Ça va, Zoë? Très bien, naïve",
    "devanagari": "नमस्ते दुनिया, ट्रेन कब आएगी",
    "thai": "ฝนตกหนักที่สถานีรถไฟ",
    "emoji": "🎬🙂🚂",
}


@pytest.fixture(scope="module")
def scripts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The action rows of a card per script, the action being that text alone."""
    folder = tmp_path_factory.mktemp("scripts")
    drawn = {}
    for name, text in SCRIPTS.items():
        clip = media.render_animatic(make_scene(text, time_of_day="DAY"), make_shot(), folder / f"{name}.mp4")
        drawn[name] = rows(frame(clip, 0), 100, 140)
    return drawn


@pytest.mark.parametrize("name", list(SCRIPTS))
def test_text_in_any_script_is_drawn(scripts: dict[str, bytes], name: str) -> None:
    assert ink(scripts[name], background_of("DAY")) > 150


def test_each_script_is_drawn_as_itself_and_only_emoji_as_markers(scripts: dict[str, bytes]) -> None:
    for one, other in itertools.combinations(SCRIPTS, 2):
        assert difference(scripts[one], scripts[other]) > 0.3, (one, other)
    fonts = media._chain(media._fonts().__enter__(), bold=False)
    assert media._clean(SCRIPTS["emoji"], fonts) == media.MISSING_GLYPH * 3
    assert all(
        media.MISSING_GLYPH not in media._clean(text, fonts)
        for name, text in SCRIPTS.items()
        if name != "emoji"
    )


def test_a_line_mixing_scripts_is_drawn_in_runs_of_one_font() -> None:
    with media._fonts() as folder:
        fonts = media._chain(folder, bold=False)
        assert fonts.runs("HANAKO: 東京へ。") == [
            ("DejaVuSans.ttf", "HANAKO: "),
            ("DroidSansFallbackFull.ttf", "東京へ。"),
        ]
        assert fonts.runs("MINJUN: 서울 2번") == [
            ("DejaVuSans.ttf", "MINJUN: "),
            ("NanumSquareR.ttf", "서울 2번"),
        ]
        assert fonts.runs("OLGA: Привет, שלום") == [("DejaVuSans.ttf", "OLGA: Привет, שלום")]


def test_long_text_without_spaces_wraps_between_characters() -> None:
    with media._fonts() as folder:
        fonts = media._chain(folder, bold=False)
    lines = media._wrap(SCRIPTS["chinese"] * 20, fonts, 28, 300)
    assert len(lines) > 5
    assert all(fonts.width(line, 28) <= 300 for line in lines)
    assert "".join(lines) == SCRIPTS["chinese"] * 20


# A scene of dialogue alone ----------------------------------------------------------------------


def test_a_scene_of_dialogue_alone_shows_the_speech_not_the_prompt(tmp_path: Path) -> None:
    dialogue = [
        DialogueLine(character="MARA", text="You're late."),
        DialogueLine(character="JONAH", text="Never."),
    ]
    scene = make_scene("", dialogue=dialogue, time_of_day="DAY")
    one = media.render_animatic(scene, make_shot(), tmp_path / "one.mp4")
    other_prompt = make_shot().model_copy(update={"prompt": "SOMETHING ELSE ENTIRELY, MUCH LONGER " * 5})
    other = media.render_animatic(scene, other_prompt, tmp_path / "other.mp4")
    assert frame(one, 0) == frame(other, 0)
    middle = rows(frame(one, 0), 150, 260)
    assert ink(middle, background_of("DAY")) > 300
    # The second speech replaces the first.
    assert difference(middle, rows(frame(one, -1), 150, 260)) > 0.5


def test_a_scene_of_hundreds_of_speeches_still_renders(tmp_path: Path) -> None:
    # Its filter graph is longer than one command-line argument may be.
    dialogue = [
        DialogueLine(
            character="ハナコ" if n % 2 else "MARA", text="東京へ行きましょう。" if n % 3 else f"Go, {n}."
        )
        for n in range(300)
    ]
    clip = media.render_animatic(make_scene(dialogue=dialogue), make_shot(duration=10), tmp_path / "many.mp4")
    assert media.probe(clip).duration == pytest.approx(10, abs=0.1)
