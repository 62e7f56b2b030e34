"""ffmpeg helpers: render an animatic clip, probe a clip, stitch clips into a film.

The ffmpeg binary is the one the `imageio-ffmpeg` wheel ships (or `IMAGEIO_FFMPEG_EXE`, which
that package honours); it is looked up on first use, so importing this module stays cheap for
the Lambdas that never touch video. ffmpeg always runs with an argument list, never a shell.

Every clip this module encodes uses one "house" encoding: H.264 (x264 `ultrafast`, tuned for
still images), yuv420p tagged BT.709, `+faststart`. Animatics are 24 fps with no audio track,
consistently: the film has no soundtrack yet (speech is shown as subtitles), Runway's Gen-4
clips are silent too, and AAC's priming samples would shift each joined clip by 21 ms. A clip
that differs (audio, size, rate, encoder) is brought to the film's layout by `stitch`. A card is
drawn once as a still and then moved over by the camera, so `ultrafast` costs little in size and
keeps a clip near 0.06 s of rendering per second of 1280x720 video (0.08 s with grain or a grade).

Two clips may be joined by stream copy only when their codec configuration is the same, down
to the H.264 parameter sets: an MP4 keeps one set for the whole file, so a clip encoded with
other settings would decode with the wrong ones. `ClipInfo.stream_signature` therefore holds
what `ffmpeg -i` reports plus a digest of the MP4's decoder configuration record (`avcC`).
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import re
import struct
import subprocess
import tempfile
import threading
import time
import unicodedata
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from script_to_film.domain.errors import InvalidClipError, MediaError
from script_to_film.domain.models import DialogueLine, Scene, Shot
from script_to_film.domain.ports import AudioInfo, ClipInfo, StitchResult
from script_to_film.domain.preview import END_CARD_SECONDS, TITLE_CARD_SECONDS
from script_to_film.domain.screenplay import Transition, closing_transition

FPS = 24
MAX_LONG_SIDE = 1280
"""Larger frames are scaled down (aspect ratio kept) so that rendering stays fast."""
ASPECT_ONLY_LONG_SIDE = 256
"""A ratio whose long side is below this (`16:9`) is an aspect ratio, not a size: it is scaled up."""

_HOUSE_VIDEO = ("-c:v", "libx264", "-preset", "ultrafast", "-tune", "stillimage", "-crf", "23")
_HOUSE_COLOUR = "setparams=colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv"
"""Fixed colour tags, so that every house-encoded clip has the same H.264 parameter sets."""
_MP4 = ("-movflags", "+faststart", "-f", "mp4")
_STDERR_LINES = 8


CLIP_DURATION_TOLERANCE_SECONDS = 0.5
CLIP_DURATION_TOLERANCE_SHARE = 0.05
"""A clip may be this much (0.5 s plus 5 %) longer or shorter than asked: providers round to
their frame rate and encoders pad the last frame, but a clip cut short is refused."""


# Rendering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Palette:
    """Card colours (`0xRRGGBB`) for one time of day; text stays readable on the background."""

    background: str
    band: str
    text: str
    accent: str
    muted: str


NEUTRAL = Palette(
    background="0x353c4a", band="0x262c38", text="0xeceff4", accent="0x88c0d0", muted="0xa3abb9"
)
_PALETTES: tuple[tuple[tuple[str, ...], Palette], ...] = (
    # Order matters: DAYBREAK is dawn and NIGHTFALL dusk, before DAY and NIGHT match them.
    (
        ("DAWN", "SUNRISE", "DAYBREAK", "FIRST LIGHT", "EARLY MORNING"),
        Palette(background="0xe8b7b3", band="0xdca5a1", text="0x33181d", accent="0x7e2638", muted="0x55303a"),
    ),
    (
        ("DUSK", "SUNSET", "MAGIC HOUR", "GOLDEN HOUR", "EVENING", "TWILIGHT", "NIGHTFALL", "SUNDOWN"),
        Palette(background="0xe2a244", band="0xd3913a", text="0x2a1804", accent="0x5e2400", muted="0x47290a"),
    ),
    (
        ("NIGHT", "MIDNIGHT"),
        Palette(background="0x0e1a33", band="0x07101f", text="0xe8eef7", accent="0xf2c14e", muted="0x8fa3c0"),
    ),
    (
        ("DAY", "MORNING", "NOON", "AFTERNOON"),
        Palette(background="0xc5d3e0", band="0xa9bccd", text="0x142030", accent="0x1f4f82", muted="0x33455a"),
    ),
)


def palette_for(time_of_day: str | None) -> Palette:
    """DAY light sky blue-grey, NIGHT deep navy, DAWN rose, DUSK amber; anything else slate."""
    words = (time_of_day or "").upper()
    for keys, palette in _PALETTES:
        if any(key in words for key in keys):
            return palette
    return NEUTRAL


def frame_size(ratio: str) -> tuple[int, int]:
    """The frame size of a shot ratio (`1280:720` or `1280x720`), even-sized, long side ≤ 1280.

    A size beyond 1280 on its long side is scaled down, and a bare aspect ratio (`16:9`) is
    scaled up to 1280, both keeping the aspect ratio; each side is rounded to an even number,
    as yuv420p needs.
    """
    match = re.fullmatch(r"\s*(\d{1,5})\s*[:xX]\s*(\d{1,5})\s*", ratio)
    if match is None or 0 in (int(match[1]), int(match[2])):
        raise MediaError(f"ratio {ratio!r} is not WIDTH:HEIGHT")
    width, height = int(match[1]), int(match[2])
    long_side = max(width, height)
    scale = 1.0
    if long_side > MAX_LONG_SIDE or long_side < ASPECT_ONLY_LONG_SIDE:
        scale = MAX_LONG_SIDE / long_side
    return _even(width * scale), _even(height * scale)


@dataclass(frozen=True)
class Look:
    """How a style preset shows on a card: ffmpeg filters, the dearer ones applied once.

    `rgb` and `still` grade the static card (one frame, before it is repeated), in RGB and in
    YUV; `frame` runs on every frame, so it holds only cheap filters (it also greys what is drawn
    on each frame: subtitles, timecode, progress line). Grain is drawn once too: grain that
    changed every frame would make a clip of a few seconds weigh tens of megabytes.
    """

    rgb: str = ""
    still: str = ""
    frame: str = ""
    handheld: bool = False
    """The camera shakes a little whatever the shot (documentary)."""


LOOKS: dict[str, Look] = {
    # The default style is the reference the others are graded away from.
    "realistic": Look(),
    "film noir": Look(
        rgb=(
            "colorchannelmixer=rr=0.3:rg=0.59:rb=0.11:gr=0.3:gg=0.59:gb=0.11:br=0.3:bg=0.59:bb=0.11,"
            "curves=master='0/0 0.3/0.1 0.7/0.92 1/1'"
        ),
        still="vignette=angle=PI/4",
        frame="hue=s=0",
    ),
    "animated": Look(still="eq=saturation=1.7:brightness=0.04:gamma=1.1"),
    "documentary": Look(still="eq=saturation=0.7:contrast=1.06,noise=alls=8:allf=u", handheld=True),
    "vintage": Look(
        rgb=(
            "colorchannelmixer=rr=0.95:rg=0.2:rb=0.05:gr=0.12:gg=0.82:gb=0.06:br=0.06:bg=0.2:bb=0.56,"
            "curves=master='0/0.08 1/0.92'"
        ),
        still="noise=alls=10:allf=u,vignette=angle=PI/5",
    ),
    "anime": Look(
        rgb="lutrgb=r='floor(val/32)*32+16':g='floor(val/32)*32+16':b='floor(val/32)*32+16'",
        still="eq=saturation=2.2:contrast=1.12",
    ),
}
"""A look per style preset of the director, by name; a style without one is drawn as `realistic`."""


class Motion(StrEnum):
    """How the camera moves over the card during the shot."""

    STATIC = "static"
    PUSH_IN = "push_in"
    PULL_OUT = "pull_out"
    PAN = "pan"
    DRIFT = "drift"
    TILT_UP = "tilt_up"
    TILT_DOWN = "tilt_down"
    DUTCH = "dutch"
    HANDHELD = "handheld"


_CAMERA_WORDS: tuple[tuple[tuple[str, ...], Motion], ...] = (
    # The camera's own words come first (a `[[camera: …]]` note), longest meaning first.
    (("static", "locked off", "locked-off", "still frame"), Motion.STATIC),
    (("handheld", "hand-held", "shaky"), Motion.HANDHELD),
    (("pull back", "pull out", "pulls back", "zoom out", "dolly out", "reveal"), Motion.PULL_OUT),
    (
        ("push in", "push-in", "pushes in", "dolly in", "zoom in", "close-up", "close up", "closeup"),
        Motion.PUSH_IN,
    ),
    (("insert", "extreme close", "detail"), Motion.PUSH_IN),
    (("dutch", "canted"), Motion.DUTCH),
    (("low angle", "low-angle"), Motion.TILT_UP),
    (("high angle", "high-angle", "overhead", "bird's-eye"), Motion.TILT_DOWN),
    (
        ("wide", "establishing", "pan", "tracking", "dolly", "aerial", "crane", "long shot", "master"),
        Motion.PAN,
    ),
    (("over-the-shoulder", "over the shoulder", "two-shot", "two shot", "medium", "mid shot"), Motion.DRIFT),
)
_CAMERA_PATTERNS = tuple(
    (re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b"), motion)
    for words, motion in _CAMERA_WORDS
)
"""Whole words only: a "pan" is not the "panic" in a camera note."""
_KIND_MOTION = {
    "master": Motion.PAN,
    "single": Motion.PUSH_IN,
    "insert": Motion.PUSH_IN,
    "over_the_shoulder": Motion.DRIFT,
    "two_shot": Motion.DRIFT,
    "medium": Motion.DRIFT,
}


def motion_for(shot: Shot) -> Motion:
    """The camera's move: from its words (a close-up pushes in, a wide pans), else from the
    shot's kind (a master pans, a single pushes in), else a slow drift; a documentary shakes."""
    camera = shot.camera.lower()
    motion = next((m for pattern, m in _CAMERA_PATTERNS if pattern.search(camera)), None)
    if motion is None:
        # `kind` comes with shot lists; a shot without one is directed by its camera alone.
        kind = str(getattr(shot, "kind", None) or "")
        motion = _KIND_MOTION.get(kind, Motion.DRIFT)
    if LOOKS.get(shot.style, LOOKS["realistic"]).handheld and motion is not Motion.STATIC:
        return Motion.HANDHELD
    return motion


FADE_OUT_SECONDS = 1.0
DISSOLVE_SECONDS = 0.5
FADE_IN_SECONDS = 0.75


def closing_fade(scene: Scene) -> float:
    """Seconds of fade to black at the end of the scene's clip: a fade (`FADE OUT.`) fades, a
    dissolve (`DISSOLVE TO:`) is drawn as a short dip to black, since each clip is rendered
    alone and joined by stream copy; a cut (`CUT TO:`) is a plain cut."""
    return _CLOSING_FADE.get(closing_transition(scene), 0.0)


_CLOSING_FADE: dict[Transition | None, float] = {
    Transition.FADE: FADE_OUT_SECONDS,
    Transition.DISSOLVE: DISSOLVE_SECONDS,
}


@dataclass(frozen=True)
class _Text:
    """One block of lines at a position, optionally shown only between two times."""

    lines: list[str]
    left: float
    baseline: float
    """Of the first line, in pixels from the top."""
    size: int
    colour: str
    bold: bool = False
    centred: bool = False
    """Each line centred across `width` pixels from `left`."""
    width: float = 0.0
    box: bool = False
    """A translucent box behind the block (subtitles)."""
    between: tuple[float, float] | None = None


@dataclass(frozen=True)
class _Card:
    """The layout of one animatic: a band at the top, static text, timed text."""

    palette: Palette
    band_height: float
    rule_height: float
    static: list[_Text]
    timed: list[_Text]
    unit: float
    progress: bool = True
    """A line along the bottom edge that fills up as the clip plays (not on title cards)."""


_ELLIPSIS = "…"
MISSING_GLYPH = "\ufffd"
"""What is drawn for a character none of the bundled fonts has (an emoji): never nothing."""
_REGULAR, _BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
_NOTO_SCRIPTS = (
    "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Tamil", "Telugu", "Kannada", "Malayalam",
    "Sinhala", "Thai", "Lao", "Khmer", "Myanmar", "Ethiopic",
)  # fmt: skip
_FALLBACKS = (
    "DroidSansFallbackFull.ttf",
    "NanumSquareR.ttf",
    *(f"NotoSans{script}-Regular.ttf" for script in _NOTO_SCRIPTS),
)
"""After DejaVu (Latin, Greek, Cyrillic, Armenian, Georgian, Arabic, Hebrew…): Chinese and
Japanese, Korean, then the scripts of South and South-East Asia and Ethiopia."""


@dataclass(frozen=True)
class _Canvas:
    """The static card's size: larger than the frame when the camera moves across it."""

    width: int
    height: int
    x: int
    """Where the frame's content starts on the canvas."""
    y: int

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def render_animatic(
    scene: Scene, shot: Shot, out: Path, *, start_seconds: float = 0.0, fade_in: bool = False
) -> Path:
    """Render a storyboard clip of `shot.duration` seconds at the size of `shot.ratio`.

    The card shows the scene number and heading in a band at the top, the camera set-up, the
    action (wrapped, cut with an ellipsis where it no longer fits) and each speech as
    `NAME: text` for its share of the clip (shares follow the length of the speeches): in a
    subtitle box, or in place of the action when the scene has none. The style's look grades
    it, the camera moves over it as the shot's camera says (`motion_for`), the timecode runs
    from `start_seconds` (where the clip sits in the film), and the clip fades in from black
    when `fade_in` and out to black when the scene ends on a fade or a dissolve.
    Text in any script is drawn (a character no bundled font has is drawn as `MISSING_GLYPH`).
    The static part is drawn once and repeated, so a 5-second 1280x720 clip takes about 0.3 s.
    In an animatic film the title card starts the timecode, so scene 1 starts after it.
    """
    if shot.duration <= 0:
        raise MediaError(f"shot duration must be positive, got {shot.duration}")
    if start_seconds < 0:
        raise MediaError(f"a clip cannot start before the film, got {start_seconds}")
    width, height = frame_size(shot.ratio)
    with _fonts() as fonts:
        card = _layout(scene, shot, width, height, fonts)
        _render(
            card,
            width,
            height,
            shot.duration,
            out,
            fonts,
            look=LOOKS.get(shot.style, LOOKS["realistic"]),
            motion=motion_for(shot),
            timecode_from=start_seconds,
            fade_in=FADE_IN_SECONDS if fade_in else 0.0,
            fade_out=closing_fade(scene),
            mirror=scene.number % 2 == 0,
            what=f"rendering the animatic of scene {scene.number}",
        )
    return out


def render_title_card(
    title_page: Mapping[str, str], ratio: str, out: Path, *, style: str = "realistic"
) -> Path:
    """A `TITLE_CARD_SECONDS` clip of the title page: the title large, then its credit and
    author, and its source when it gives one; it fades in and out of black, and the film's
    timecode starts on it. Keys are as the parser gives them (`title`, `credit`, `author`)."""
    title = title_page.get("title") or "Untitled"
    lines = [
        (title, 2.2, True),
        *((text, 0.9, False) for text in (title_page.get("credit"), title_page.get("author")) if text),
        *((text, 0.7, False) for text in (title_page.get("source"),) if text),
    ]
    return _render_card_clip(lines, ratio, TITLE_CARD_SECONDS, out, style, 0.0, "rendering the title card")


def render_end_card(
    title: str | None, ratio: str, out: Path, *, style: str = "realistic", start_seconds: float = 0.0
) -> Path:
    """An `END_CARD_SECONDS` clip: THE END, and the film's title under it, fading in and out;
    its timecode runs on from `start_seconds`, where it sits in the film."""
    lines = [("THE END", 1.8, True), *(((title, 0.9, False),) if title else ())]
    what = "rendering the end card"
    return _render_card_clip(lines, ratio, END_CARD_SECONDS, out, style, start_seconds, what)


def _render_card_clip(
    lines: Sequence[tuple[str, float, bool]],
    ratio: str,
    seconds: int,
    out: Path,
    style: str,
    start_seconds: float,
    what: str,
) -> Path:
    width, height = frame_size(ratio)
    unit = math.sqrt(width * height / (1280 * 720))
    with _fonts() as fonts:
        regular, bold = _chain(fonts, bold=False), _chain(fonts, bold=True)
        blocks: list[tuple[list[str], int, bool, _FontMetrics]] = []
        for text, scale, is_bold in lines:
            font = bold if is_bold else regular
            size = max(8, round(38 * scale * unit))
            wrapped = _fit(_wrap(_clean(text, font), font, size, width * 0.8), 3, font, size, width * 0.8)
            if wrapped:
                blocks.append((wrapped, size, is_bold, font))
        gap = 28 * unit
        total = sum(font.block_height(len(w), size) for w, size, _, font in blocks) + gap * (len(blocks) - 1)
        top = (height - total) / 2
        static = []
        for wrapped, size, is_bold, font in blocks:
            colour = NEUTRAL.text if is_bold else NEUTRAL.muted
            baseline = top + font.ascent * size
            static.append(_Text(wrapped, 0, baseline, size, colour, bold=is_bold, centred=True, width=width))
            top += font.block_height(len(wrapped), size) + gap
        card = _Card(NEUTRAL, 0, 0, static, [], unit, progress=False)
        _render(
            card,
            width,
            height,
            seconds,
            out,
            fonts,
            look=LOOKS.get(style, LOOKS["realistic"]),
            motion=Motion.PUSH_IN,
            timecode_from=start_seconds,
            fade_in=FADE_IN_SECONDS,
            fade_out=FADE_OUT_SECONDS,
            mirror=False,
            what=what,
        )
    return out


def _render(
    card: _Card,
    width: int,
    height: int,
    seconds: int,
    out: Path,
    fonts: Path,
    *,
    look: Look,
    motion: Motion,
    timecode_from: float | None,
    fade_in: float,
    fade_out: float,
    mirror: bool,
    what: str,
) -> None:
    frames = seconds * FPS
    out.parent.mkdir(parents=True, exist_ok=True)
    canvas = _canvas(width, height, motion)
    with tempfile.TemporaryDirectory(prefix="stf-animatic-") as work:
        graph = _card_graph(
            card,
            frames,
            fonts,
            Path(work),
            canvas=canvas,
            size=(width, height),
            look=look,
            motion=motion,
            mirror=mirror,
            timecode_from=timecode_from,
            fades=(fade_in, fade_out),
        )
        # From a file: a scene of hundreds of speeches makes a graph longer than one argument
        # may be (128 KiB on Linux).
        script = Path(work) / "graph.txt"
        script.write_text(graph, encoding="utf-8")
        bar = f"{width}x{_even(4 * card.unit)}"
        args = [
            "-loglevel", "error",
            "-f", "lavfi", "-i", f"color=c={card.palette.background}:s={canvas.size}:r={FPS}",
            "-f", "lavfi", "-i", f"color=c={card.palette.accent}:s={bar}:r={FPS}",
            "-/filter_complex", str(script), "-map", "[v]",
            "-frames:v", str(frames), "-r", str(FPS), *_HOUSE_VIDEO, "-pix_fmt", "yuv420p", "-an",
            *_MP4, "-y", str(out),
        ]  # fmt: skip
        _run_ffmpeg(args, what=what, timeout=60 + frames / 4, background=True)


def _fonts() -> AbstractContextManager[Path]:
    """The bundled fonts' folder: DejaVu Sans, Droid Sans Fallback, NanumSquare and Noto Sans
    (Lambda has no fonts; their licences, beside them, allow it)."""
    return resources.as_file(resources.files(__package__) / "fonts")


def _layout(scene: Scene, shot: Shot, width: int, height: int, fonts: Path) -> _Card:
    regular, bold = _chain(fonts, bold=False), _chain(fonts, bold=True)
    palette = palette_for(scene.time_of_day)
    unit = math.sqrt(width * height / (1280 * 720))
    margin = 56 * unit
    text_width = width - 2 * margin
    label_size, heading_size, camera_size, body_size = (
        max(8, round(size * unit)) for size in (19, 38, 24, 28)
    )

    def lines(
        text: str, font: _FontMetrics, size: float, max_lines: int, width: float = text_width
    ) -> list[str]:
        return _fit(_wrap(_clean(text, font), font, size, width), max_lines, font, size, width)

    top = 26 * unit
    label = f"SCENE {scene.scene_number or scene.number}  ·  {shot.duration} SEC"
    static = [_Text([label], margin, top + regular.ascent * label_size, label_size, palette.muted, bold=True)]
    top += regular.block_height(1, label_size) + 8 * unit
    heading = lines(scene.heading.upper(), bold, heading_size, 2)
    static.append(
        _Text(heading, margin, top + bold.ascent * heading_size, heading_size, palette.text, bold=True)
    )
    band_height = top + bold.block_height(len(heading), heading_size) + 22 * unit

    top = band_height + 30 * unit
    camera = lines(shot.camera.upper(), bold, camera_size, 2)
    if camera:
        baseline = top + bold.ascent * camera_size
        static.append(_Text(camera, margin, baseline, camera_size, palette.accent, bold=True))
        top += bold.block_height(len(camera), camera_size) + 22 * unit

    bottom = height - 40 * unit
    timed: list[_Text] = []
    has_action = bool(scene.action.strip())
    if not has_action:
        # A scene of dialogue alone: the speeches take the action's place, larger, one at a time.
        size = round(body_size * 1.3)
        room = regular.lines_within(bottom - top, size)
        speeches = [lines(_speech(line), regular, size, room) for line in scene.dialogue]
        speeches = [speech for speech in speeches if speech]
        slices = _slices([sum(map(len, speech)) for speech in speeches], shot.duration)
        for speech, between in zip(speeches, slices, strict=True):
            if between[0] == between[1]:
                continue  # its share of the clip is not one frame: nothing of it would show
            middle = top + (bottom - top - regular.block_height(len(speech), size)) / 2
            baseline = middle + regular.ascent * size
            timed.append(
                _Text(
                    speech,
                    margin,
                    baseline,
                    size,
                    palette.text,
                    centred=True,
                    width=text_width,
                    between=between,
                )
            )
        return _Card(palette, band_height, 4 * unit, static, timed, unit)

    speeches = [
        lines(_speech(line), regular, body_size, 3, text_width - 40 * unit) for line in scene.dialogue
    ]
    speeches = [speech for speech in speeches if speech]
    slices = _slices([sum(map(len, speech)) for speech in speeches], shot.duration)
    for speech, between in zip(speeches, slices, strict=True):
        if between[0] == between[1]:
            continue
        baseline = bottom - regular.block_height(len(speech), body_size) + regular.ascent * body_size
        timed.append(
            _Text(
                speech,
                margin,
                baseline,
                body_size,
                "white",
                centred=True,
                width=text_width,
                box=True,
                between=between,
            )
        )
    if speeches:
        bottom -= regular.block_height(max(map(len, speeches)), body_size) + 44 * unit

    room = regular.lines_within(bottom - top, body_size)
    paragraphs = _wrap_paragraphs(scene.action.strip(), regular, body_size, text_width)
    action = _fit(paragraphs, room, regular, body_size, text_width)
    if action:
        static.append(_Text(action, margin, top + regular.ascent * body_size, body_size, palette.text))
    return _Card(palette, band_height, 4 * unit, static, timed, unit)


_TRAVEL = {Motion.PAN: (0.035, 0.0), Motion.DRIFT: (0.018, 0.018), Motion.HANDHELD: (0.012, 0.012)}
_TRAVEL |= {Motion.TILT_UP: (0.0, 0.035), Motion.TILT_DOWN: (0.0, 0.035)}
"""How far the frame travels across a larger canvas (a share of the frame's width, height each
way): less than the card's margins, so no text leaves the frame."""
PUSH_IN_ZOOM = 1.07
DUTCH_RADIANS = 0.06
DUTCH_SCALE = 0.92


def _canvas(width: int, height: int, motion: Motion) -> _Canvas:
    share_x, share_y = _TRAVEL.get(motion, (0.0, 0.0))
    x = _even(share_x * width) if share_x else 0
    y = _even(share_y * height) if share_y else 0
    return _Canvas(width + 2 * x, height + 2 * y, x, y)


def _camera_filter(motion: Motion, canvas: _Canvas, size: tuple[int, int], frames: int, mirror: bool) -> str:
    """The move, on frames of the repeated card: a crop that travels (pan, drift, tilt, shake)
    or a zoom into the middle (push-in, pull-out; a Dutch angle, tilted once, pushes in too).
    `n` is the frame number."""
    width, height = size
    last = max(1, frames - 1)
    if motion in (Motion.PUSH_IN, Motion.PULL_OUT, Motion.DUTCH):
        grow = f"{PUSH_IN_ZOOM - 1:.3f}*on/{last}"
        zoom = f"1+{grow}" if motion is Motion.PUSH_IN else f"{PUSH_IN_ZOOM:.3f}-{grow}"
        return f"zoompan=z='{zoom}':x='(iw-iw/zoom)/2':y='(ih-ih/zoom)/2':d=1:s={width}x{height}:fps={FPS}"
    if motion is Motion.HANDHELD:
        x = f"{canvas.x}+{canvas.x * 0.8:.1f}*sin(2*PI*n/{FPS * 2.3:.1f})*cos(2*PI*n/{FPS * 5.1:.1f})"
        y = f"{canvas.y}+{canvas.y * 0.8:.1f}*sin(2*PI*n/{FPS * 1.7:.1f}+1)"
        return f"crop=w={width}:h={height}:x='{x}':y='{y}'"
    if motion in _TRAVEL:
        forward = f"2*{{}}*n/{last}"
        x = forward.format(canvas.x) if canvas.x else "0"
        y = forward.format(canvas.y) if canvas.y else "0"
        if mirror and canvas.x:
            x = f"{2 * canvas.x}-{x}"  # alternate scenes pan the other way
        if motion is Motion.TILT_DOWN:
            y = f"{2 * canvas.y}-{y}"
        return f"crop=w={width}:h={height}:x='{x}':y='{y}'"
    return ""


def _card_graph(
    card: _Card,
    frames: int,
    fonts: Path,
    work: Path,
    *,
    canvas: _Canvas,
    size: tuple[int, int],
    look: Look,
    motion: Motion,
    mirror: bool,
    timecode_from: float | None,
    fades: tuple[float, float],
) -> str:
    """The filter graph: the card (band, static text, the look's grade and grain) drawn once in
    RGB on the canvas, converted once and repeated; then, on every frame, the camera's move, the
    progress line, the timed text (timecode, speeches), the cheap part of the look, the fades."""
    palette = card.palette
    counter = itertools.count()
    static = ["[0:v]trim=end_frame=1,format=rgb24"]
    if card.band_height:
        static += [
            f"drawbox=x=0:y=0:w=iw:h={card.band_height + canvas.y:.0f}:color={palette.band}:t=fill",
            f"drawbox=x=0:y={card.band_height + canvas.y:.0f}:w=iw:h={card.rule_height:.0f}"
            f":color={palette.accent}:t=fill",
        ]
    for text in card.static:
        static += _drawtexts(text, fonts, work, counter, offset=(canvas.x, canvas.y))
    if motion is Motion.DUTCH:
        # Shrunk first, so that the tilted corners and the push-in keep the text in the frame.
        static += [
            f"scale=w=trunc(iw*{DUTCH_SCALE / 2})*2:h=trunc(ih*{DUTCH_SCALE / 2})*2",
            f"pad={canvas.width}:{canvas.height}:(ow-iw)/2:(oh-ih)/2:color={palette.background}",
            f"rotate=-{DUTCH_RADIANS}:fillcolor={palette.background}",
            "setsar=1",  # scaling by a share rounds each side apart, which would skew the SAR
        ]
    static += [look.rgb] if look.rgb else []
    # Converting each frame from RGB would cost three times the whole encode.
    static += ["scale=out_color_matrix=bt709:out_range=tv", "format=yuv420p"]
    static += [look.still] if look.still else []
    static += [f"loop=loop={frames - 1}:size=1:start=0"]
    camera = _camera_filter(motion, canvas, size, frames, mirror)
    static += [camera] if camera else []
    chain = [",".join(static) + "[card]"]
    progress = f"-W+W*(t+{1 / FPS:.6f})/{frames / FPS:.6f}" if card.progress else "W"
    per_frame = [f"[card][1:v]overlay=x={_escape(progress)}:y=H-h:eval=frame:shortest=1"]
    if timecode_from is not None:
        per_frame.append(_timecode(card, fonts, timecode_from))
    for text in card.timed:
        per_frame += _drawtexts(text, fonts, work, counter, offset=(0, 0))
    per_frame += [look.frame] if look.frame else []
    fade_in, fade_out = (round(seconds * FPS) for seconds in fades)
    if fade_in:
        per_frame.append(f"fade=t=in:s=0:n={fade_in}")
    if fade_out:
        per_frame.append(f"fade=t=out:s={frames - fade_out}:n={fade_out}")
    # Last: zoompan makes new frames without the colour tags the house encoding needs.
    per_frame.append(_HOUSE_COLOUR)
    chain.append(",".join(per_frame) + "[v]")
    return ";".join(chain)


def _timecode(card: _Card, fonts: Path, start_seconds: float) -> str:
    """The film's running SMPTE timecode (24 fps, no drop frame) from where the clip starts."""
    frame = round(start_seconds * FPS)
    seconds, frames = divmod(frame, FPS)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    margin = 56 * card.unit
    size = max(8, round(19 * card.unit))
    top = 26 * card.unit + _chain(fonts, bold=True).ascent * size
    options = {
        "fontfile": str(fonts / _BOLD),
        "fontsize": str(size),
        "fontcolor": card.palette.muted,
        "x": f"w-tw-{margin:.0f}",
        "y": f"{top:.0f}",
        "y_align": "baseline",
        "timecode": f"{hours % 100:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}",
        "timecode_rate": str(FPS),
    }
    return "drawtext=" + ":".join(f"{key}={_escape(value)}" for key, value in options.items())


def _drawtexts(
    text: _Text, fonts: Path, work: Path, counter: Iterator[int], *, offset: tuple[int, int]
) -> list[str]:
    """drawtext filters for a block: one per run of a line that one font draws (a line in one
    script is one run; `MARA: 日本` is two), placed by the fonts' advance widths."""
    chain = _chain(fonts, bold=text.bold)
    line_advance = chain.line_advance(text.size)
    filters: list[str] = []
    enable = None if text.between is None else f"between(t,{text.between[0]:.4f},{text.between[1]:.4f})"
    if text.box:
        widest = max(chain.width(line, text.size) for line in text.lines)
        border = _even(14 * math.sqrt(text.size / 28))
        top = text.baseline - chain.ascent * text.size - border
        height = chain.block_height(len(text.lines), text.size) + 2 * border
        left = text.left + (text.width - widest) / 2 - border
        box = {
            "x": f"{left + offset[0]:.0f}",
            "y": f"{top + offset[1]:.0f}",
            "w": f"{widest + 2 * border:.0f}",
        }
        box |= {"h": f"{height:.0f}", "color": "black@0.55", "t": "fill"}
        if enable:
            box["enable"] = enable
        filters.append("drawbox=" + ":".join(f"{key}={_escape(value)}" for key, value in box.items()))
    for index, line in enumerate(text.lines):
        if not line:
            continue
        x = text.left + ((text.width - chain.width(line, text.size)) / 2 if text.centred else 0)
        baseline = text.baseline + index * line_advance
        for face, run in chain.runs(line):
            textfile = work / f"text-{next(counter)}.txt"
            textfile.write_text(run, encoding="utf-8")
            options = {
                "fontfile": str(fonts / face),
                "fontsize": str(text.size),
                "fontcolor": text.colour,
                "x": f"{x + offset[0]:.0f}",
                "y": f"{baseline + offset[1]:.0f}",
                "y_align": "baseline",
                # expansion=none: a % or a backslash in a screenplay is text, never a function.
                "textfile": str(textfile),
                "expansion": "none",
            }
            if enable:
                options["enable"] = enable
            filters.append(
                "drawtext=" + ":".join(f"{key}={_escape(value)}" for key, value in options.items())
            )
            x += chain.width(run, text.size)
    return filters


def _escape(value: str) -> str:
    """Quote a filter option value for both levels of ffmpeg's filter graph parsing."""
    for special in "\\':":
        value = value.replace(special, "\\" + special)
    for special in "\\'[],;":
        value = value.replace(special, "\\" + special)
    return value


def _slices(weights: Sequence[int], duration: int) -> list[tuple[float, float]]:
    """Split the clip between the speeches in proportion to their length, on frame boundaries.

    Each boundary sits half a frame before a frame's time, so no frame shows two speeches and
    the last speech stays up to the end.
    """
    padded = [weight + 20 for weight in weights]  # a short line still gets time to be read
    total, frames = sum(padded), duration * FPS
    edges, running = [0], 0
    for weight in padded:
        running += weight
        edges.append(round(frames * running / total))
    return [((start - 0.5) / FPS, (end - 0.5) / FPS) for start, end in itertools.pairwise(edges)]


def _speech(line: DialogueLine) -> str:
    """`NAME (V.O.): (quietly) words`, as a subtitle."""
    name = f"{line.character} ({line.extension})" if line.extension else line.character
    words = f"({line.parenthetical.strip('() ')}) {line.text}" if line.parenthetical else line.text
    return f"{name}: {words}"


def _line_spacing(size: float) -> int:
    return round(size * 0.3)


def _even(value: float) -> int:
    return max(2, round(value / 2) * 2)


# Text: cleaning and wrapping by the font's own advance widths ----------------------------------


@dataclass(frozen=True)
class _FontMetrics:
    """What layout needs of a font; lengths in font units, converted with `size / units_per_em`.

    A chain of fonts (`_chain`) is one `_FontMetrics` whose advances come from the first font that
    has each character, scaled to the first font's units, with `faces` saying which font that is.
    """

    units_per_em: int
    ascender: int
    descender: int
    """Negative, below the baseline. drawtext advances a line by ascender - descender + line_spacing."""
    advances: dict[int, int]
    """Advance width of every code point the font (or chain) has a glyph for."""
    faces: tuple[str, ...] = ()
    """The chain's font files, first first."""
    face_of: dict[int, int] = field(default_factory=dict)
    """The index in `faces` of the font that draws a code point, for those the first one lacks."""
    face_codes: tuple[frozenset[int], ...] = ()
    """What each of `faces` has a glyph for."""

    @property
    def ascent(self) -> float:
        """Baseline below the top of a line, in font sizes."""
        return self.ascender / self.units_per_em

    def covers(self, char: str) -> bool:
        return ord(char) in self.advances

    def width(self, text: str, size: float) -> float:
        units = sum(self.advances.get(ord(char), self.units_per_em) for char in text)
        return units * size / self.units_per_em

    def line_advance(self, size: float) -> float:
        return (self.ascender - self.descender) * size / self.units_per_em + _line_spacing(size)

    def block_height(self, lines: int, size: float) -> float:
        return lines * self.line_advance(size) - _line_spacing(size)

    def lines_within(self, height: float, size: float) -> int:
        return max(0, int((height + _line_spacing(size)) // self.line_advance(size)))

    def runs(self, line: str) -> list[tuple[str, str]]:
        """(font file, text) runs of a line of a chain: a character stays in the run before it
        when that run's font has it (spaces, digits, punctuation), so a script is not split."""
        runs: list[tuple[int, str]] = []
        for char in line:
            face = self.face_of.get(ord(char), 0)
            if runs and (runs[-1][0] == face or ord(char) in self.face_codes[runs[-1][0]]):
                runs[-1] = (runs[-1][0], runs[-1][1] + char)
            else:
                runs.append((face, char))
        return [(self.faces[face], text) for face, text in runs]


@cache
def _chain(fonts: Path, *, bold: bool) -> _FontMetrics:
    """DejaVu Sans (bold or regular), then the fallbacks for what it lacks."""
    faces = (_BOLD if bold else _REGULAR, *_FALLBACKS)
    first = _metrics(fonts / faces[0])
    advances = dict(first.advances)
    face_of: dict[int, int] = {}
    codes = [frozenset(first.advances)]
    for index, face in enumerate(faces[1:], start=1):
        metrics = _metrics(fonts / face)
        codes.append(frozenset(metrics.advances))
        scale = first.units_per_em / metrics.units_per_em
        for code, advance in metrics.advances.items():
            if code not in advances:
                advances[code] = round(advance * scale)
                face_of[code] = index
    return _FontMetrics(
        first.units_per_em, first.ascender, first.descender, advances, faces, face_of, tuple(codes)
    )


@cache
def _metrics(font: Path) -> _FontMetrics:
    """Metrics from the TrueType `head`, `hhea`, `hmtx` and `cmap` tables."""
    data = font.read_bytes()
    (count,) = struct.unpack_from(">H", data, 4)
    tables = {}
    for index in range(count):
        tag, _, offset, _ = struct.unpack_from(">4sIII", data, 12 + 16 * index)
        tables[tag] = offset
    (units_per_em,) = struct.unpack_from(">H", data, tables[b"head"] + 18)
    ascender, descender = struct.unpack_from(">hh", data, tables[b"hhea"] + 4)
    (metric_count,) = struct.unpack_from(">H", data, tables[b"hhea"] + 34)
    hmtx = tables[b"hmtx"]
    widths = [struct.unpack_from(">H", data, hmtx + 4 * i)[0] for i in range(metric_count)]
    glyphs = _cmap(data, tables[b"cmap"])
    advances = {code: widths[min(glyph, metric_count - 1)] for code, glyph in glyphs.items() if glyph}
    return _FontMetrics(units_per_em, ascender, descender, advances)


def _cmap(data: bytes, cmap: int) -> dict[int, int]:
    """Code point → glyph id from the Windows Unicode BMP subtable (format 4).

    Characters beyond the BMP (emoji) count as missing, which is what the font's coverage says too.
    """
    (count,) = struct.unpack_from(">H", data, cmap + 2)
    start = None
    for index in range(count):
        platform, encoding, offset = struct.unpack_from(">HHI", data, cmap + 4 + 8 * index)
        if (platform, encoding) in ((3, 1), (0, 3)) and struct.unpack_from(">H", data, cmap + offset)[0] == 4:
            start = cmap + offset
    if start is None:
        raise MediaError("the bundled font has no Unicode character map")
    segments = struct.unpack_from(">H", data, start + 6)[0] // 2
    ends = struct.unpack_from(f">{segments}H", data, start + 14)
    starts = struct.unpack_from(f">{segments}H", data, start + 16 + 2 * segments)
    deltas = struct.unpack_from(f">{segments}H", data, start + 16 + 4 * segments)
    range_offsets_at = start + 16 + 6 * segments
    range_offsets = struct.unpack_from(f">{segments}H", data, range_offsets_at)
    glyphs: dict[int, int] = {}
    for segment in range(segments):
        for code in range(starts[segment], min(ends[segment], 0xFFFE) + 1):
            glyph = code
            if range_offsets[segment]:
                at = range_offsets_at + 2 * segment + range_offsets[segment] + 2 * (code - starts[segment])
                (glyph,) = struct.unpack_from(">H", data, at)
            if glyph:
                glyphs[code] = (glyph + deltas[segment]) & 0xFFFF
    return glyphs


_INVISIBLE = frozenset({"Cf", "Mn", "Me", "Cc", "Co", "Cs", "Cn"})
"""Categories with nothing of their own to see (joiners, variation selectors, combining marks a
font lacks, controls), left out when no font has them rather than drawn as a marker."""


def _clean(text: str, font: _FontMetrics) -> str:
    """One line of drawable text: NFC, whitespace collapsed, and every visible character that no
    font of the chain has (an emoji) replaced by `MISSING_GLYPH`, so nothing vanishes unseen."""
    text = unicodedata.normalize("NFC", text)
    kept = []
    for char in text:
        if char.isspace() or (font.covers(char) and unicodedata.category(char) != "Cc"):
            kept.append(char)
        elif unicodedata.category(char) not in _INVISIBLE:
            kept.append(MISSING_GLYPH)
    return " ".join("".join(kept).split())


def _wrap(text: str, font: _FontMetrics, size: float, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels; a word wider than a line is broken where it must be
    (text without spaces, as Chinese and Japanese are written, is broken between characters)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if font.width(candidate, size) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while font.width(word, size) > width:
            cut = _fitting(word, font, size, width)
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines


def _wrap_paragraphs(text: str, font: _FontMetrics, size: float, width: float) -> list[str]:
    """Wrap each paragraph (split at blank lines), with an empty line between paragraphs."""
    lines: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        wrapped = _wrap(_clean(paragraph, font), font, size, width)
        if wrapped:
            lines.extend(["", *wrapped] if lines else wrapped)
    return lines


def _fit(lines: list[str], max_lines: int, font: _FontMetrics, size: float, width: float) -> list[str]:
    """The first `max_lines` lines; when some are left out, the last one kept ends in an ellipsis,
    in place of its last word if the line would otherwise grow too wide."""
    if len(lines) <= max_lines:
        return lines
    kept = lines[:max_lines]
    while kept and not kept[-1]:
        kept.pop()
    if not kept:
        return []
    last = kept[-1]
    while last and font.width(last.rstrip(" ,.;:-") + _ELLIPSIS, size) > width:
        last = last.rpartition(" ")[0] if " " in last else last[:-1]
    kept[-1] = last.rstrip(" ,.;:-") + _ELLIPSIS
    return kept


def _fitting(word: str, font: _FontMetrics, size: float, width: float) -> int:
    """How many characters of `word` fit in `width` (at least one), in one pass over it."""
    used = 0.0
    for cut, char in enumerate(word):
        used += font.width(char, size)
        if used > width:
            return max(1, cut)
    return len(word)


# Probing --------------------------------------------------------------------------------------

_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_STREAM = re.compile(r"^\s*Stream #0:\d+\S*: (Video|Audio): (.*)$", re.MULTILINE)
_CODEC = re.compile(r"^(\w+)(?: \(([^()/]+)\))?")
_SIZE = re.compile(r"(?<![\w.])(\d{2,5})x(\d{2,5})(?![\w.])")
_SAR = re.compile(r"\[SAR (\d+:\d+)")
_FRAME_RATE = re.compile(r"([\d.]+)(k?) (?:fps|tbr)")
_SAMPLE_RATE = re.compile(r"(\d+) Hz")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def probe(path: Path) -> ClipInfo:
    """Duration, size, rate and codecs of a clip, from `ffmpeg -i` (there is no ffprobe)."""
    completed = _run_ffmpeg(["-i", str(path)], what=f"probing {path.name}", timeout=30, check=False)
    stderr = completed.stderr.decode("utf-8", "replace")
    if "Input #0" not in stderr:
        raise MediaError(f"cannot read {path.name}", stderr_tail=_tail(stderr))
    return _parse_probe(stderr, _video_config_digest(path), path.name)


def verify_clip(path: Path, expected_seconds: float) -> ClipInfo:
    """Check a clip before it counts: a video stream ffmpeg reads, about `expected_seconds` long,
    and every frame decodable to the end (a clip cut short in transfer keeps its index, so only a
    full decode tells). Raises `InvalidClipError` saying what is wrong."""
    try:
        info = probe(path)
    except MediaError as error:
        raise InvalidClipError(f"not a readable video: {error}") from error
    tolerance = CLIP_DURATION_TOLERANCE_SECONDS + CLIP_DURATION_TOLERANCE_SHARE * expected_seconds
    if abs(info.duration - expected_seconds) > tolerance:
        raise InvalidClipError(
            f"the clip is {info.duration:.2f} s long; "
            f"{expected_seconds:g} s (± {tolerance:.2f} s) was asked for"
        )
    decoded = _run_ffmpeg(
        ["-v", "error", "-xerror", "-i", str(path), "-map", "0:v:0", "-f", "null", "-"],
        what=f"decoding {path.name}",
        timeout=60 + 2 * info.duration,
        check=False,
    )
    if decoded.returncode != 0:
        tail = _tail(decoded.stderr.decode("utf-8", "replace"))
        raise InvalidClipError(
            "the clip is cut short or corrupt: its frames do not decode to the end", stderr_tail=tail
        )
    return info


_PROGRESS_TO_NULL = ("-progress", "pipe:1", "-f", "null", "-")
_DECODED_US = re.compile(rb"^out_time_us=(\d+)$", re.MULTILINE)


def verify_audio(path: Path, expected_seconds: float | None = None) -> AudioInfo:
    """Check a speech or sound file before it counts: an audio stream ffmpeg reads, decodable to
    the end and as long as its header says, and about `expected_seconds` long when that is known.
    An MP3 cut short in transfer keeps the length in its header and decodes without an error, so
    the length that counts is the one decoded. Raises `InvalidClipError` saying what is wrong."""
    completed = _run_ffmpeg(["-i", str(path)], what=f"probing {path.name}", timeout=30, check=False)
    stderr = completed.stderr.decode("utf-8", "replace")
    duration = _DURATION.search(stderr)
    audio = next((_split_top_level(spec) for kind, spec in _STREAM.findall(stderr) if kind == "Audio"), None)
    if "Input #0" not in stderr or duration is None or audio is None:
        raise InvalidClipError(f"not a readable audio file: {path.name}", stderr_tail=_tail(stderr))
    hours, minutes, seconds = duration.groups()
    header_seconds = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    decoded = _run_ffmpeg(
        [*("-v", "error", "-xerror", "-nostats", "-i", str(path), "-map", "0:a:0"), *_PROGRESS_TO_NULL],
        what=f"decoding {path.name}",
        timeout=60 + 2 * header_seconds,
        check=False,
    )
    times = _DECODED_US.findall(decoded.stdout)
    length = int(times[-1]) / 1_000_000 if times else 0.0
    tolerance = CLIP_DURATION_TOLERANCE_SECONDS + CLIP_DURATION_TOLERANCE_SHARE * header_seconds
    if decoded.returncode != 0 or length < header_seconds - tolerance:
        raise InvalidClipError(
            f"the audio is cut short or corrupt: {length:.2f} s of its {header_seconds:.2f} s decode",
            stderr_tail=_tail(decoded.stderr.decode("utf-8", "replace")),
        )
    if expected_seconds is not None:
        tolerance = CLIP_DURATION_TOLERANCE_SECONDS + CLIP_DURATION_TOLERANCE_SHARE * expected_seconds
        if abs(length - expected_seconds) > tolerance:
            raise InvalidClipError(
                f"the audio is {length:.2f} s long; "
                f"{expected_seconds:g} s (± {tolerance:.2f} s) was asked for"
            )
    codec = _CODEC.match(audio[0])
    rate = next((m for m in map(_SAMPLE_RATE.search, audio[1:]) if m), None)
    layout = audio[2].split("(")[0].strip() if len(audio) > 2 else ""
    channels = re.match(r"(\d+) channels", layout)
    return AudioInfo(
        duration=length,
        codec=codec[1] if codec else audio[0],
        sample_rate=int(rate[1]) if rate else None,
        channels=int(channels[1]) if channels else _CHANNELS.get(layout),
    )


def _parse_probe(stderr: str, config_digest: str | None, name: str) -> ClipInfo:
    duration = _DURATION.search(stderr)
    streams = [(kind, _split_top_level(spec)) for kind, spec in _STREAM.findall(stderr)]
    video = next(
        (parts for kind, parts in streams if kind == "Video" and "attached pic" not in parts[-1]), None
    )
    if duration is None or video is None:
        raise MediaError(f"{name} has no video stream of known duration", stderr_tail=_tail(stderr))
    hours, minutes, seconds = duration.groups()
    codec = _CODEC.match(video[0])
    size = next((m for m in map(_SIZE.search, video[1:]) if m), None)
    rate = next((m for m in map(_FRAME_RATE.search, video[1:]) if m), None)
    if codec is None or size is None or rate is None:
        raise MediaError(f"cannot parse the video stream of {name}", stderr_tail=_tail(stderr))
    pixel_format, _, properties = video[1].partition("(")
    colour = ", ".join(p for p in properties.rstrip(")").split(", ") if p and p != "progressive")
    sar = next((m[1] for m in map(_SAR.search, video[1:]) if m), None)
    fields: dict[str, object] = {
        "duration": int(hours) * 3600 + int(minutes) * 60 + float(seconds),
        "width": int(size[1]),
        "height": int(size[2]),
        "fps": float(rate[1]) * (1000 if rate[2] else 1),
        "video_codec": codec[1],
        "video_profile": codec[2],
        "pixel_format": pixel_format.strip(),
        "colour": colour or None,
        "sample_aspect_ratio": sar,
        "video_config_digest": config_digest,
    }
    audio = next((parts for kind, parts in streams if kind == "Audio"), None)
    if audio is not None:
        audio_codec = _CODEC.match(audio[0])
        sample_rate = next((m for m in map(_SAMPLE_RATE.search, audio[1:]) if m), None)
        layout = audio[2].split("(")[0].strip() if len(audio) > 2 else ""
        channels = re.match(r"(\d+) channels", layout)
        fields |= {
            "audio_codec": audio_codec[1] if audio_codec else audio[0],
            "audio_profile": audio_codec[2] if audio_codec else None,
            "audio_sample_rate": int(sample_rate[1]) if sample_rate else None,
            "audio_channels": int(channels[1]) if channels else _CHANNELS.get(layout),
        }
    return ClipInfo.model_validate(fields)


def _split_top_level(spec: str) -> list[str]:
    """Split a stream description on the commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for char in spec:
        depth += (char == "(") - (char == ")")
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += char
    parts.append(current.strip())
    return parts


_VIDEO_ENTRIES = {b"avc1", b"avc3", b"hvc1", b"hev1", b"av01", b"vp09"}
_VIDEO_CONFIGS = {b"avcC", b"hvcC", b"av1C", b"vpcC"}
_VISUAL_ENTRY_HEADER = 78
_MAX_MOOV = 64 * 1024 * 1024


def _video_config_digest(path: Path) -> str | None:
    """SHA-256 (16 hex digits) of the first video track's decoder configuration in an MP4/MOV."""
    try:
        with path.open("rb") as file:
            moov = _top_level_box(file, b"moov")
    except OSError:
        return None
    if moov is None:
        return None
    for trak in _children(moov, b"trak"):
        for stsd in _descend(trak, (b"mdia", b"minf", b"stbl", b"stsd")):
            for kind, entry in _boxes(stsd[8:]):
                if kind not in _VIDEO_ENTRIES:
                    continue
                for config_kind, config in _boxes(entry[_VISUAL_ENTRY_HEADER:]):
                    if config_kind in _VIDEO_CONFIGS:
                        return hashlib.sha256(config_kind + config).hexdigest()[:16]
    return None


def _top_level_box(file: BinaryIO, wanted: bytes) -> bytes | None:
    while header := file.read(8):
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            (size,) = struct.unpack(">Q", file.read(8))
            header_size = 16
        if kind == wanted:
            if size == 0:
                return file.read(_MAX_MOOV)
            if size - header_size > _MAX_MOOV:
                return None
            return file.read(size - header_size)
        if size < header_size:
            return None
        file.seek(size - header_size, 1)
    return None


def _boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack_from(">I4s", data, offset)
        header_size = 8
        if size == 1 and offset + 16 <= len(data):
            (size,) = struct.unpack_from(">Q", data, offset + 8)
            header_size = 16
        elif size == 0:
            size = len(data) - offset
        if size < header_size:
            return
        yield kind, data[offset + header_size : offset + size]
        offset += size


def _children(data: bytes, wanted: bytes) -> Iterator[bytes]:
    return (payload for kind, payload in _boxes(data) if kind == wanted)


def _descend(data: bytes, path: Sequence[bytes]) -> Iterator[bytes]:
    if not path:
        yield data
        return
    for child in _children(data, path[0]):
        yield from _descend(child, path[1:])


# Stitching ------------------------------------------------------------------------------------


def stitch(clips: Sequence[Path], out: Path) -> StitchResult:
    """Join clips into one MP4 (`+faststart`) with the concat demuxer and stream copy.

    The clips that share the most common stream signature (the first such clip on a tie) set
    the film's parameters; only the others are re-encoded to them (house encoding, scaled to fit
    and letterboxed, silent audio added or audio dropped to match) before the copy. If a
    re-encoded clip still differs (the majority came from another encoder, so their H.264
    parameter sets cannot be reproduced), every clip that differs from the house encoding is
    re-encoded instead. One clip is remuxed as it is.
    """
    return _stitch(clips, out, reencode_everything=False)


def reencode_all(clips: Sequence[Path], out: Path) -> StitchResult:
    """The baseline that `stitch` is measured against: re-encode every clip, then join them."""
    return _stitch(clips, out, reencode_everything=True)


def _stitch(clips: Sequence[Path], out: Path, *, reencode_everything: bool) -> StitchResult:
    started = time.perf_counter()
    if not clips:
        raise MediaError("there are no clips to stitch")
    with ThreadPoolExecutor(max_workers=min(8, len(clips))) as pool:  # each probe waits on ffmpeg
        infos = list(pool.map(probe, clips))
    signatures = [info.stream_signature for info in infos]
    most = Counter(signatures).most_common(1)[0][1]
    majority = next(info for info in infos if signatures.count(info.stream_signature) == most)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="stf-stitch-") as work:
        conformed = _conform_all(clips, infos, majority, Path(work) / "to-majority", reencode_everything)
        if isinstance(conformed, ClipInfo):
            # The majority came from another encoder, whose parameter sets the house encoding
            # does not reproduce: bring every clip to the house encoding at the same size instead.
            conformed = _conform_all(clips, infos, conformed, Path(work) / "to-house", reencode_everything)
            if isinstance(conformed, ClipInfo):
                raise MediaError("the clips cannot be brought to one encoding")
        sources, reencoded = conformed
        _concat(sources, out, Path(work) / "clips.ffconcat")
    return StitchResult(
        output=out,
        clip_count=len(clips),
        reencoded=reencoded,
        duration=probe(out).duration,
        elapsed_seconds=round(time.perf_counter() - started, 3),
    )


def _conform_all(
    clips: Sequence[Path], infos: Sequence[ClipInfo], target: ClipInfo, work: Path, everything: bool
) -> tuple[list[Path], list[int]] | ClipInfo:
    """The clips to join and the positions re-encoded to match `target`; or, when a re-encoded
    clip still does not match, what the house encoding made of it."""
    work.mkdir()
    sources, reencoded = list(clips), []
    for index, info in enumerate(infos):
        if info.stream_signature == target.stream_signature and not everything:
            continue
        sources[index] = _conform(clips[index], info, target, work / f"{index}.mp4")
        reencoded.append(index)
        made = probe(sources[index])
        if made.stream_signature != target.stream_signature:
            return made
    return sources, reencoded


def _conform(clip: Path, info: ClipInfo, target: ClipInfo, out: Path) -> Path:
    """Re-encode a clip to the target's size, rate and audio layout, in the house encoding."""
    width, height = target.width, target.height
    video = (
        f"scale={width}:{height}:force_original_aspect_ratio=decrease:out_color_matrix=bt709:out_range=tv,"
        f"pad={width}:{height}:(ow-iw)/2:(oh-ih)/2:color=black,setsar=1,"
        f"fps={_rate(target.fps)},format=yuv420p,{_HOUSE_COLOUR}"
    )
    args = ["-loglevel", "error", "-i", str(clip)]
    audio: list[str] = ["-an"]
    if target.audio_codec is not None:
        rate, channels = target.audio_sample_rate or 48000, target.audio_channels or 2
        if info.audio_codec is None:
            args += ["-f", "lavfi", "-i", f"anullsrc=r={rate}:cl={'mono' if channels == 1 else 'stereo'}"]
            audio = ["-map", "1:a:0", "-t", f"{info.duration:.3f}"]
        else:
            audio = ["-map", "0:a:0"]
        audio += ["-c:a", "aac", "-ar", str(rate), "-ac", str(channels)]
    args += [
        "-map",
        "0:v:0",
        "-vf",
        video,
        *_HOUSE_VIDEO,
        "-pix_fmt",
        "yuv420p",
        *audio,
        *_MP4,
        "-y",
        str(out),
    ]
    _run_ffmpeg(args, what=f"re-encoding {clip.name}", timeout=60 + 10 * info.duration)
    return out


def _concat(clips: Sequence[Path], out: Path, listing: Path) -> None:
    lines = ["ffconcat version 1.0"]
    for clip in clips:
        quoted = str(clip.resolve()).replace("'", "'\\''")
        lines.append(f"file '{quoted}'")
    listing.write_text("\n".join(lines) + "\n", encoding="utf-8")
    args = ["-loglevel", "error", "-f", "concat", "-safe", "0", "-i", str(listing)]
    args += ["-map", "0:v:0", "-map", "0:a:0?", "-c", "copy", *_MP4, "-y", str(out)]
    _run_ffmpeg(args, what="joining the clips", timeout=600)


def _rate(fps: float) -> str:
    """An exact frame rate for ffmpeg: 23.98 and 29.97 are the NTSC rates 24000/1001 and 30000/1001."""
    for nominal in (24, 30, 60):
        if abs(fps - nominal * 1000 / 1001) < 0.01:
            return f"{nominal * 1000}/1001"
    return f"{fps:g}"


# Running ffmpeg -------------------------------------------------------------------------------


@cache
def _ffmpeg() -> str:
    import imageio_ffmpeg  # type: ignore[import-untyped]

    return str(imageio_ffmpeg.get_ffmpeg_exe())


BACKGROUND_NICENESS = 10
"""How much lower than this process's a background ffmpeg's CPU priority is (POSIX niceness)."""
_BACKGROUND_SLOTS = threading.BoundedSemaphore(os.cpu_count() or 1)
"""Background ffmpeg runs at once in this process: one per CPU. More would only share the CPUs."""


def _run_ffmpeg(
    args: list[str], *, what: str, timeout: float, check: bool = True, background: bool = False
) -> subprocess.CompletedProcess[bytes]:
    """Run ffmpeg; `background` work (a render, CPU-bound for seconds) waits for one of a bounded
    number of slots and runs at a lower priority, so that a process that also answers requests
    (`stf serve` makes films in-process) keeps answering while films render. `timeout` counts
    from ffmpeg's start, not from the wait for a slot."""
    command = [_ffmpeg(), "-hide_banner", "-nostdin", *args]
    with _BACKGROUND_SLOTS if background else nullcontext():
        try:
            with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
                if background:
                    _lower_priority(process.pid)
                try:
                    stdout, stderr = process.communicate(timeout=timeout)
                except subprocess.TimeoutExpired as exc:
                    process.kill()
                    process.communicate()
                    raise MediaError(f"{what}: ffmpeg did not finish within {timeout:.0f} s") from exc
        except OSError as exc:
            raise MediaError(f"{what}: ffmpeg could not be started ({exc})") from exc
    completed = subprocess.CompletedProcess(command, process.returncode, stdout, stderr)
    if check and completed.returncode != 0:
        raise MediaError(f"{what} failed", stderr_tail=_tail(completed.stderr.decode("utf-8", "replace")))
    return completed


def _lower_priority(pid: int) -> None:
    # Set from here rather than in the child (`preexec_fn` is unsafe in a threaded process). The
    # child has run for microseconds at the normal priority; where there is no niceness, as on
    # Windows, it keeps that.
    if not hasattr(os, "setpriority"):
        return
    with suppress(OSError):  # the process has already ended
        os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + BACKGROUND_NICENESS)


def _tail(stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    return " | ".join(lines[-_STDERR_LINES:])
