"""ffmpeg helpers: animatic cards that survive any screenplay text, probing, and stitching that
re-encodes only the clips that differ."""

from __future__ import annotations

import contextlib
import itertools
import shutil
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from script_to_film.adapters import media
from script_to_film.domain.errors import InvalidClipError, MediaError
from script_to_film.domain.models import DialogueLine, Scene, Shot

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
FONTS = Path(media.__file__).parent / "fonts"

TRICKY_ACTION = (
    'Maya\'s note reads "50% off: EVERYTHING" \\ signed C:\\Users\\ö; a [bracket], a {brace}, a ; and a , '
    "then café crème, naïve Zoë, Ωmega, 🎬🙂 and 日本 — " * 6
).strip() + "\n\nA second paragraph: 100% certain."
TRICKY_DIALOGUE = [
    DialogueLine(character="MAYA", parenthetical="(whispering)", text="It's 50%: take it or 'leave' it!"),
    DialogueLine(
        character="JONAS", extension="V.O.", text='He said "\\n" means newline; %{pts} is not a time.'
    ),
    DialogueLine(character="ZOË", text="🙂 Très bien."),
]


def make_scene(time_of_day: str | None = "DAY", *, number: int = 1, dialogue: bool = True) -> Scene:
    return Scene(
        number=number,
        heading=f"EXT. HARBOUR: PIER 9 (\"THE 'OLD' ONE\") - {time_of_day or 'LATER'}",
        time_of_day=time_of_day,
        action=TRICKY_ACTION,
        dialogue=TRICKY_DIALOGUE if dialogue else [],
        estimated_seconds=2,
    )


def make_shot(ratio: str = "640:360", duration: int = 2, camera: str = "Wide establishing shot") -> Shot:
    return Shot(
        scene=1,
        camera=camera,
        lighting="flat daylight",
        environment="harbour",
        style="storyboard",
        prompt="a harbour",
        duration=duration,
        ratio=ratio,
        model="animatic",
        provider="animatic",
    )


def frame_rgb(clip: Path, at: float) -> tuple[int, int, bytes]:
    """One decoded frame as packed RGB, read back through ffmpeg as a player would show it."""
    info = media.probe(clip)
    args = [FFMPEG, "-v", "error", "-ss", str(at), "-i", str(clip), "-frames:v", "1"]
    args += ["-vf", "scale=in_color_matrix=bt709:in_range=tv", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    pixels = subprocess.run(args, capture_output=True, check=True).stdout
    assert len(pixels) == info.width * info.height * 3
    return info.width, info.height, pixels


def pixel(frame: tuple[int, int, bytes], x: int, y: int) -> tuple[int, int, int]:
    width, _, pixels = frame
    offset = (y * width + x) * 3
    r, g, b = pixels[offset : offset + 3]
    return r, g, b


def decodes_cleanly(clip: Path) -> bool:
    """Every frame of every stream decodes without a complaint."""
    args = [FFMPEG, "-v", "error", "-i", str(clip), "-f", "null", "-"]
    completed = subprocess.run(args, capture_output=True, check=False)
    return completed.returncode == 0 and not completed.stderr


def rgb(hex_colour: str) -> tuple[int, int, int]:
    value = int(hex_colour, 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def foreign_clip(path: Path, *, size: str, rate: int, seconds: int = 1, audio: bool = False) -> Path:
    """A clip from "another encoder": x264 veryfast (High profile), unlike the house encoding."""
    args = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", f"testsrc2=s={size}:r={rate}:d={seconds}"]
    if audio:
        args += [
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=440:sample_rate=44100:duration={seconds}",
            "-c:a",
            "aac",
        ]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-y", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A DAY and a NIGHT animatic of the tricky scene, rendered once for the module."""
    folder = tmp_path_factory.mktemp("animatics")
    return {
        time_of_day: media.render_animatic(
            make_scene(time_of_day), make_shot(), folder / f"{time_of_day}.mp4"
        )
        for time_of_day in ("DAY", "NIGHT")
    }


# Frame sizes and colours --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1280:720", (1280, 720)),
        ("720:1280", (720, 1280)),
        ("960:960", (960, 960)),
        ("1280x720", (1280, 720)),
        ("1920:1080", (1280, 720)),
        ("1584:672", (1280, 544)),
        ("3840:2160", (1280, 720)),
        ("16:9", (1280, 720)),
        ("642:362", (642, 362)),
    ],
)
def test_frame_size_keeps_the_aspect_ratio_within_1280_and_even(ratio: str, size: tuple[int, int]) -> None:
    assert media.frame_size(ratio) == size


@pytest.mark.parametrize("ratio", ["", "wide", "1280:", "0:720", "1280:720:1", "-1280:720"])
def test_frame_size_rejects_what_is_not_a_ratio(ratio: str) -> None:
    with pytest.raises(MediaError, match="WIDTH:HEIGHT"):
        media.frame_size(ratio)


@pytest.mark.parametrize(
    ("time_of_day", "expected"),
    [
        ("DAY", "DAY"),
        ("MORNING", "DAY"),
        ("LATE AFTERNOON", "DAY"),
        ("NIGHT", "NIGHT"),
        ("LATER THAT NIGHT", "NIGHT"),
        ("MIDNIGHT", "NIGHT"),
        ("DAWN", "DAWN"),
        ("SUNRISE", "DAWN"),
        ("DAYBREAK", "DAWN"),
        ("DUSK", "DUSK"),
        ("SUNSET", "DUSK"),
        ("MAGIC HOUR", "DUSK"),
        ("NIGHTFALL", "DUSK"),
        ("continuous", "OTHER"),
        (None, "OTHER"),
    ],
)
def test_palette_follows_the_time_of_day(time_of_day: str | None, expected: str) -> None:
    reference = {
        "DAY": media.palette_for("DAY"),
        "NIGHT": media.palette_for("NIGHT"),
        "DAWN": media.palette_for("DAWN"),
        "DUSK": media.palette_for("DUSK"),
        "OTHER": media.NEUTRAL,
    }
    assert len({p.background for p in reference.values()}) == 5
    assert media.palette_for(time_of_day) == reference[expected]


def contrast(a: str, b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [c / 255 for c in rgb(hex_colour)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("time_of_day", ["DAY", "NIGHT", "DAWN", "DUSK", None])
def test_every_palette_keeps_text_readable(time_of_day: str | None) -> None:
    palette = media.palette_for(time_of_day)
    # WCAG: 7 is AAA for body text, 4.5 AA (and AAA for large text like the heading).
    assert contrast(palette.text, palette.background) >= 7
    assert contrast(palette.text, palette.band) >= 4.5
    assert contrast(palette.accent, palette.background) >= 4.5
    assert contrast(palette.muted, palette.band) >= 4.5


# Text: cleaning, wrapping, timing ---------------------------------------------------------------


def regular_font() -> media._FontMetrics:
    return media._metrics(FONTS / "DejaVuSans.ttf")


def test_font_metrics_are_read_from_the_bundled_font() -> None:
    font = regular_font()
    assert font.units_per_em == 2048
    assert font.covers("é") and font.covers("Ω") and font.covers("—")
    assert not font.covers("🎬") and not font.covers("日")
    assert font.width("WWW", 30) > font.width("iii", 30) > 0
    assert font.line_advance(100) == pytest.approx(116.4 + 30, abs=0.1)  # what drawtext draws


def test_clean_keeps_every_script_and_marks_what_no_font_has() -> None:
    fonts = media._chain(FONTS, bold=False)
    assert media._clean("Zoe\u0301 says 🎬 hi 日本.\tOK 🙂!", fonts) == "Zoé says \ufffd hi 日本. OK \ufffd!"
    # A tag or control character has nothing to see of its own: no font, and no marker for it.
    assert media._clean("a\U000e0001b\x07 한국", fonts) == "ab 한국"
    assert media._clean('50% "quoted" C:\\path: [a,b] ; x', fonts) == '50% "quoted" C:\\path: [a,b] ; x'


@given(st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "S", "Zs"]), max_size=300))
def test_wrapped_lines_fit_the_width_and_keep_every_word(text: str) -> None:
    font = regular_font()
    cleaned = media._clean(text, font)
    lines = media._wrap(cleaned, font, 28, 400)
    assert all(font.width(line, 28) <= 400 for line in lines)
    assert "".join(lines).replace(" ", "") == cleaned.replace(" ", "")


def test_fit_ends_cut_text_with_an_ellipsis_within_the_width() -> None:
    font = regular_font()
    lines = media._wrap("word " * 200, font, 28, 300)
    kept = media._fit(lines, 3, font, 28, 300)
    assert len(kept) == 3
    assert kept[-1].endswith("…")
    assert all(font.width(line, 28) <= 300 for line in kept)
    assert media._fit(lines[:2], 3, font, 28, 300) == lines[:2]


def test_paragraphs_are_wrapped_apart_and_a_cut_never_ends_on_a_blank_line() -> None:
    font = regular_font()
    lines = media._wrap_paragraphs("one\n\n\ntwo\n  \nthree", font, 28, 500)
    assert lines == ["one", "", "two", "", "three"]
    assert media._fit(lines, 2, font, 28, 500) == ["one…"]


def test_speeches_share_the_clip_by_length_on_half_frame_boundaries() -> None:
    slices = media._slices([10, 100, 10], duration=5)
    assert slices[0][0] < 0 and slices[-1][1] == pytest.approx((5 * 24 - 0.5) / 24)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(slices))
    lengths = [end - start for start, end in slices]
    assert lengths[1] > lengths[0] and lengths[0] == pytest.approx(lengths[2], abs=1 / 24)
    for start, _ in slices:
        assert (start * 24 + 0.5) == pytest.approx(round(start * 24 + 0.5))


def test_escape_protects_both_levels_of_the_filter_graph() -> None:
    assert media._escape("C:\\a'b[1],c;d") == r"C\\:\\\\a\\\'b\[1\]\,c\;d"


# Rendering --------------------------------------------------------------------------------------


@pytest.mark.parametrize("time_of_day", ["DAY", "NIGHT"])
def test_animatic_is_an_h264_clip_of_the_shot_duration_and_size(
    clips: dict[str, Path], time_of_day: str
) -> None:
    info = media.probe(clips[time_of_day])

    assert info.duration == pytest.approx(2, abs=0.1)
    assert (info.width, info.height) == (640, 360)
    assert info.fps == 24
    assert info.video_codec == "h264"
    assert info.pixel_format == "yuv420p"
    assert info.audio_codec is None
    assert clips[time_of_day].read_bytes()[4:8] == b"ftyp"


def test_animatic_moov_comes_first_for_streaming(clips: dict[str, Path]) -> None:
    data = clips["DAY"].read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")


def test_day_and_night_have_their_own_background(clips: dict[str, Path]) -> None:
    day, night = frame_rgb(clips["DAY"], 1), frame_rgb(clips["NIGHT"], 1)
    # The right margin at mid-height is background in every layout.
    day_pixel, night_pixel = pixel(day, 636, 180), pixel(night, 636, 180)

    assert sum(day_pixel) / 3 > 150 and sum(night_pixel) / 3 < 60
    for seen, wanted in ((day_pixel, "DAY"), (night_pixel, "NIGHT")):
        expected = rgb(media.palette_for(wanted).background)
        assert all(abs(a - b) <= 12 for a, b in zip(seen, expected, strict=True)), (seen, expected)


def test_dialogue_changes_over_the_clip_and_text_is_drawn(clips: dict[str, Path]) -> None:
    early, late = frame_rgb(clips["NIGHT"], 0.2), frame_rgb(clips["NIGHT"], 1.9)
    width, height, _ = early
    subtitle_rows = slice(width * 3 * (height - 80), width * 3 * (height - 8))
    assert early[2][subtitle_rows] != late[2][subtitle_rows]
    # The action is drawn: its rows are not all background.
    background = rgb(media.palette_for("NIGHT").background)
    area = [pixel(early, x, y) for y in range(120, 220, 2) for x in range(28, 400, 2)]
    assert sum(abs(p[0] - background[0]) > 100 for p in area) > 100


def test_a_scene_without_dialogue_or_action_still_renders(tmp_path: Path) -> None:
    scene = make_scene(None, dialogue=False).model_copy(update={"action": ""})
    info = media.probe(
        media.render_animatic(scene, make_shot("360:640", 1, camera=""), tmp_path / "bare.mp4")
    )
    assert (info.width, info.height) == (360, 640)
    assert info.duration == pytest.approx(1, abs=0.1)


def test_font_paths_with_filter_syntax_in_them_do_not_break_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fonts = tmp_path / "it's: [a,b]; 100%\\x"
    shutil.copytree(FONTS, fonts)
    monkeypatch.setattr(media, "_fonts", lambda: contextlib.nullcontext(fonts))
    out = media.render_animatic(make_scene("DUSK"), make_shot(duration=1), tmp_path / "out dir" / "clip.mp4")
    assert media.probe(out).duration == pytest.approx(1, abs=0.1)


def test_a_shot_without_duration_is_refused(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="duration"):
        media.render_animatic(make_scene(), make_shot(duration=0), tmp_path / "x.mp4")


def test_animatics_share_one_codec_configuration(clips: dict[str, Path], tmp_path: Path) -> None:
    other = foreign_clip(tmp_path / "other.mp4", size="640x360", rate=24)
    day, night = media.probe(clips["DAY"]), media.probe(clips["NIGHT"])

    assert day.video_config_digest is not None
    assert day.stream_signature == night.stream_signature
    assert media.probe(other).video_config_digest not in (None, day.video_config_digest)


# Probing ------------------------------------------------------------------------------------------

RUNWAY_LIKE = """\
Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'clip.mp4':
  Metadata:
    major_brand     : isom
  Duration: 00:01:02.53, start: 0.000000, bitrate: 2051 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), \
1280x768 [SAR 1:1 DAR 5:3], 1998 kb/s, 23.98 fps, 23.98 tbr, 24k tbn (default)
    Metadata:
      handler_name    : VideoHandler
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, 5.1(side), fltp, 48 kb/s (default)
  Stream #0:2[0x3](und): Video: mjpeg (Baseline), yuvj420p(pc, bt470bg/unknown/unknown), 300x300, 90k tbn \
(attached pic)
At least one output file must be specified
"""


def test_probe_parses_what_ffmpeg_prints() -> None:
    info = media._parse_probe(RUNWAY_LIKE, "abc", "clip.mp4")

    assert info.duration == pytest.approx(62.53)
    assert (info.width, info.height, info.fps) == (1280, 768, 23.98)
    assert (info.video_codec, info.video_profile, info.pixel_format) == ("h264", "High", "yuv420p")
    assert info.colour == "tv, bt709"
    assert info.sample_aspect_ratio == "1:1"
    assert (info.audio_codec, info.audio_profile, info.audio_sample_rate, info.audio_channels) == (
        "aac",
        "LC",
        44100,
        6,
    )
    assert info.stream_signature == "h264/High/yuv420p/tv, bt709/1280x768/1:1/23.98fps/abc|aac/LC/44100Hz/6ch"
    assert media._rate(info.fps) == "24000/1001"


def test_probe_refuses_what_is_not_a_video(tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video")
    with pytest.raises(MediaError, match=r"notes\.mp4"):
        media.probe(text)
    with pytest.raises(MediaError, match=r"missing\.mp4"):
        media.probe(tmp_path / "missing.mp4")
    assert media._video_config_digest(text) is None


# Stitching ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def three_scenes(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("scenes")
    times = ["DAWN", "DAY", "NIGHT"]
    return [
        media.render_animatic(make_scene(t, number=n), make_shot(duration=n), folder / f"scene_{n:03d}.mp4")
        for n, t in enumerate(times, start=1)
    ]


def test_clips_of_one_encoding_are_joined_without_re_encoding(
    three_scenes: list[Path], tmp_path: Path
) -> None:
    result = media.stitch(three_scenes, tmp_path / "film.mp4")
    film = media.probe(result.output)

    assert result.reencoded == []
    assert result.clip_count == 3
    assert film.duration == pytest.approx(1 + 2 + 3, abs=0.1) == result.duration
    assert film.stream_signature == media.probe(three_scenes[0]).stream_signature
    assert decodes_cleanly(result.output)
    data = result.output.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")


def test_only_the_clip_that_differs_is_re_encoded(three_scenes: list[Path], tmp_path: Path) -> None:
    odd = foreign_clip(tmp_path / "odd.mp4", size="480x360", rate=30, seconds=1)
    clips = [three_scenes[0], odd, three_scenes[1]]

    result = media.stitch(clips, tmp_path / "film.mp4")
    film = media.probe(result.output)

    assert result.reencoded == [1]
    assert (film.width, film.height, film.fps, film.video_codec) == (640, 360, 24, "h264")
    assert film.duration == pytest.approx(1 + 1 + 2, abs=0.1)
    assert decodes_cleanly(result.output)


@pytest.mark.parametrize(("audio", "reencoded"), [(False, [0, 1]), (True, [0, 1, 2])])
def test_when_the_majority_cannot_be_matched_everything_is_brought_to_the_house_encoding(
    three_scenes: list[Path], tmp_path: Path, audio: bool, reencoded: list[int]
) -> None:
    foreign = [
        foreign_clip(tmp_path / f"foreign-{i}.mp4", size="640x360", rate=24, audio=audio) for i in range(2)
    ]
    result = media.stitch([*foreign, three_scenes[0]], tmp_path / "film.mp4")
    film = media.probe(result.output)

    # The animatic has the house encoding already: it is re-encoded only to gain a silent track.
    assert result.reencoded == reencoded
    assert film.duration == pytest.approx(3, abs=0.1)
    assert film.video_config_digest == media.probe(three_scenes[0]).video_config_digest
    assert (film.audio_codec, film.audio_channels) == (("aac", 1) if audio else (None, None))
    assert decodes_cleanly(result.output)


def test_one_clip_is_remuxed_and_quotes_in_paths_are_fine(three_scenes: list[Path], tmp_path: Path) -> None:
    folder = tmp_path / "Maya's film"
    folder.mkdir()
    clip = folder / "scene 'one'.mp4"
    shutil.copyfile(three_scenes[0], clip)

    result = media.stitch([clip], folder / "film.mp4")

    assert result.reencoded == []
    assert result.duration == pytest.approx(1, abs=0.1)


def test_the_baseline_re_encodes_every_clip(three_scenes: list[Path], tmp_path: Path) -> None:
    result = media.reencode_all(three_scenes[:2], tmp_path / "film.mp4")
    assert result.reencoded == [0, 1]
    assert result.duration == pytest.approx(3, abs=0.1)


def test_nothing_to_stitch_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MediaError, match="no clips"):
        media.stitch([], tmp_path / "film.mp4")


def test_ffmpeg_failures_carry_its_last_words(tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    with pytest.raises(MediaError) as raised:
        media.stitch([broken], tmp_path / "film.mp4")
    assert raised.value.stderr_tail


def test_importing_media_does_not_load_ffmpeg() -> None:
    code = "import sys, script_to_film.adapters.media; print('imageio_ffmpeg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# Checking a clip before it counts ---------------------------------------------------------------


@pytest.fixture(scope="module")
def whole_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 4-second clip from another encoder, index first, as a provider's would be."""
    path = tmp_path_factory.mktemp("verify") / "whole.mp4"
    args = [FFMPEG, "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=640x360:r=24:d=4"]
    args += ["-c:v", "libx264", "-preset", "veryfast", "-movflags", "+faststart", "-y", str(path)]
    subprocess.run(args, check=True, capture_output=True)
    return path


def test_a_whole_clip_of_the_asked_length_passes(whole_clip: Path) -> None:
    info = media.verify_clip(whole_clip, expected_seconds=4)

    assert info.duration == pytest.approx(4, abs=0.1)


def test_a_clip_within_the_tolerance_passes(whole_clip: Path) -> None:
    # 4 s asked as 4.6: within 0.5 s + 5 %, as a provider rounding to its frames would be.
    assert media.verify_clip(whole_clip, expected_seconds=4.6).duration < 4.6


def test_a_clip_cut_short_in_transfer_is_refused_though_its_index_says_four_seconds(
    whole_clip: Path, tmp_path: Path
) -> None:
    data = whole_clip.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    assert media.probe(cut).duration == pytest.approx(4, abs=0.1), "the index is whole"

    with pytest.raises(InvalidClipError, match="cut short or corrupt"):
        media.verify_clip(cut, expected_seconds=4)


def test_a_clip_of_the_wrong_length_is_refused(whole_clip: Path) -> None:
    with pytest.raises(InvalidClipError, match=r"4\.\d\d s long; 10 s"):
        media.verify_clip(whole_clip, expected_seconds=10)


@pytest.mark.parametrize("content", [b"", b"<html>Access denied</html>", b"\x00\x00\x00\x18ftypmp42" * 10])
def test_what_is_not_a_video_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)

    with pytest.raises(InvalidClipError, match="not a readable video"):
        media.verify_clip(path, expected_seconds=4)
