"""ffmpeg helpers: render an animatic clip, probe a clip, stitch clips into a film.

The ffmpeg binary is the one the `imageio-ffmpeg` wheel ships (or `IMAGEIO_FFMPEG_EXE`, which
that package honours); it is looked up on first use, so importing this module stays cheap for
the Lambdas that never touch video. ffmpeg always runs with an argument list, never a shell.

Every clip this module encodes uses one "house" encoding: H.264 (x264 `ultrafast`, tuned for
still images), yuv420p tagged BT.709, `+faststart`. Animatics are 24 fps with no audio track,
consistently: the film has no soundtrack yet (speech is shown as subtitles), Runway's Gen-4
clips are silent too, and AAC's priming samples would shift each joined clip by 21 ms. A clip
that differs (audio, size, rate, encoder) is brought to the film's layout by `stitch`. A card is
a still image, so `ultrafast` costs little in size and keeps a 5-second 1280x720 clip near 0.2 s.

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
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import BinaryIO

from script_to_film.domain.errors import InvalidClipError, MediaError
from script_to_film.domain.models import DialogueLine, Scene, Shot
from script_to_film.domain.ports import AudioInfo, ClipInfo, StitchResult

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
class _Text:
    """One drawtext block: lines of text at a position, optionally shown only between two times."""

    lines: list[str]
    x: str
    baseline: float
    """Of the first line: drawtext's `y_align=font` loses the last lines of some texts (ffmpeg 9.0)."""
    size: int
    colour: str
    bold: bool = False
    centred: bool = False
    box_border: int | None = None
    between: tuple[float, float] | None = None
    timecode: bool = False
    """Draw the running SMPTE timecode instead of `lines`."""


@dataclass(frozen=True)
class _Card:
    """The layout of one animatic: a band at the top, static text, timed dialogue."""

    palette: Palette
    band_height: float
    rule_height: float
    static: list[_Text]
    timed: list[_Text]
    unit: float


_ELLIPSIS = "…"
_REGULAR, _BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"


def render_animatic(scene: Scene, shot: Shot, out: Path) -> Path:
    """Render a storyboard clip of `shot.duration` seconds at the size of `shot.ratio`.

    The card shows the scene number and heading in a band at the top, the camera set-up, the
    action (wrapped, cut with an ellipsis where it no longer fits) and, in a subtitle box, each
    speech as `NAME: text` for its share of the clip (shares follow the length of the speeches),
    with a running timecode and a progress line, on colours that follow the time of day.
    The static part is drawn once and repeated, so a 5-second 1280x720 clip takes about 0.2 s.
    """
    if shot.duration <= 0:
        raise MediaError(f"shot duration must be positive, got {shot.duration}")
    width, height = frame_size(shot.ratio)
    frames = shot.duration * FPS
    out.parent.mkdir(parents=True, exist_ok=True)
    with _fonts() as fonts:
        card = _layout(scene, shot, width, height, fonts)
        with tempfile.TemporaryDirectory(prefix="stf-animatic-") as work:
            graph = _card_graph(card, frames, fonts, Path(work))
            bar = f"{width}x{_even(4 * card.unit)}"
            args = [
                "-loglevel", "error",
                "-f", "lavfi", "-i", f"color=c={card.palette.background}:s={width}x{height}:r={FPS}",
                "-f", "lavfi", "-i", f"color=c={card.palette.accent}:s={bar}:r={FPS}",
                "-filter_complex", graph, "-map", "[v]",
                "-frames:v", str(frames), "-r", str(FPS), *_HOUSE_VIDEO, "-pix_fmt", "yuv420p", "-an",
                *_MP4, "-y", str(out),
            ]  # fmt: skip
            _run_ffmpeg(
                args,
                what=f"rendering the animatic of scene {scene.number}",
                timeout=60 + frames / 4,
                background=True,
            )
    return out


def _fonts() -> AbstractContextManager[Path]:
    """The bundled fonts' folder (DejaVu Sans: Lambda has no fonts, and its license allows it)."""
    return resources.as_file(resources.files(__package__) / "fonts")


def _layout(scene: Scene, shot: Shot, width: int, height: int, fonts: Path) -> _Card:
    regular, bold = _metrics(fonts / _REGULAR), _metrics(fonts / _BOLD)
    palette = palette_for(scene.time_of_day)
    unit = math.sqrt(width * height / (1280 * 720))
    margin = 56 * unit
    text_width = width - 2 * margin
    left = f"{margin:.0f}"
    label_size, heading_size, camera_size, body_size = (
        max(8, round(size * unit)) for size in (19, 38, 24, 28)
    )

    def lines(
        text: str, font: _FontMetrics, size: float, max_lines: int, width: float = text_width
    ) -> list[str]:
        return _fit(_wrap(_clean(text, font), font, size, width), max_lines, font, size, width)

    top = 26 * unit
    label = f"SCENE {scene.scene_number or scene.number}  ·  {shot.duration} SEC"
    static = [_Text([label], left, top + regular.ascent * label_size, label_size, palette.muted, bold=True)]
    timecode = _Text([], f"w-tw-{margin:.0f}", static[0].baseline, label_size, palette.muted, timecode=True)
    top += regular.block_height(1, label_size) + 8 * unit
    heading = lines(scene.heading.upper(), bold, heading_size, 2)
    static.append(
        _Text(heading, left, top + bold.ascent * heading_size, heading_size, palette.text, bold=True)
    )
    band_height = top + bold.block_height(len(heading), heading_size) + 22 * unit

    top = band_height + 30 * unit
    camera = lines(shot.camera.upper(), bold, camera_size, 2)
    if camera:
        baseline = top + bold.ascent * camera_size
        static.append(_Text(camera, left, baseline, camera_size, palette.accent, bold=True))
        top += bold.block_height(len(camera), camera_size) + 22 * unit

    bottom = height - 40 * unit
    speeches = [
        lines(_speech(line), regular, body_size, 3, text_width - 40 * unit) for line in scene.dialogue
    ]
    speeches = [speech for speech in speeches if speech]
    timed = [timecode]
    slices = _slices([sum(map(len, speech)) for speech in speeches], shot.duration)
    for speech, between in zip(speeches, slices, strict=True):
        baseline = bottom - regular.block_height(len(speech), body_size) + regular.ascent * body_size
        border = _even(14 * unit)
        timed.append(
            _Text(
                speech,
                "(w-tw)/2",
                baseline,
                body_size,
                "white",
                centred=True,
                box_border=border,
                between=between,
            )
        )
    if speeches:
        bottom -= regular.block_height(max(map(len, speeches)), body_size) + 44 * unit

    room = regular.lines_within(bottom - top, body_size)
    paragraphs = _wrap_paragraphs(scene.action.strip() or shot.prompt, regular, body_size, text_width)
    action = _fit(paragraphs, room, regular, body_size, text_width)
    if action:
        static.append(_Text(action, left, top + regular.ascent * body_size, body_size, palette.text))
    return _Card(palette, band_height, 4 * unit, static, timed, unit)


def _card_graph(card: _Card, frames: int, fonts: Path, work: Path) -> str:
    """The filter graph: band and static text drawn once in RGB, converted once and looped;
    then the progress line and the timed text (timecode, speeches) on every frame."""
    palette = card.palette
    static = [
        "[0:v]trim=end_frame=1,format=rgb24",
        f"drawbox=x=0:y=0:w=iw:h={card.band_height:.0f}:color={palette.band}:t=fill",
        f"drawbox=x=0:y={card.band_height:.0f}:w=iw:h={card.rule_height:.0f}:color={palette.accent}:t=fill",
        *(_drawtext(text, fonts, work / f"static-{i}.txt") for i, text in enumerate(card.static)),
        # Converting each frame from RGB would cost three times the whole encode.
        "scale=out_color_matrix=bt709:out_range=tv",
        "format=yuv420p",
        _HOUSE_COLOUR,
        f"loop=loop={frames - 1}:size=1:start=0",
    ]
    # A thin line along the bottom edge that fills up as the clip plays.
    progress = f"-W+W*(t+{1 / FPS:.6f})/{frames / FPS:.6f}"
    overlay = f"[card][1:v]overlay=x={_escape(progress)}:y=H-h:eval=frame:shortest=1"
    timed = [_drawtext(text, fonts, work / f"timed-{i}.txt") for i, text in enumerate(card.timed)]
    return ",".join(static) + f"[card];{overlay}," + ",".join(timed) + "[v]"


def _drawtext(text: _Text, fonts: Path, textfile: Path) -> str:
    options = {
        "fontfile": str(fonts / (_BOLD if text.bold else _REGULAR)),
        "fontsize": str(text.size),
        "fontcolor": text.colour,
        "x": text.x,
        "y": f"{text.baseline:.0f}",
        "y_align": "baseline",
        "line_spacing": str(_line_spacing(text.size)),
    }
    if text.timecode:
        options |= {"timecode": "00:00:00:00", "timecode_rate": str(FPS)}
    else:
        textfile.write_text("\n".join(text.lines), encoding="utf-8")
        # expansion=none: a % or a backslash in a screenplay is text, never a drawtext function.
        options |= {"textfile": str(textfile), "expansion": "none"}
    if text.centred:
        options["text_align"] = "center"
    if text.box_border is not None:
        options |= {"box": "1", "boxcolor": "black@0.55", "boxborderw": str(text.box_border)}
    if text.between is not None:
        options["enable"] = f"between(t,{text.between[0]:.4f},{text.between[1]:.4f})"
    return "drawtext=" + ":".join(f"{key}={_escape(value)}" for key, value in options.items())


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
    """What layout needs of a font; lengths in font units, converted with `size / units_per_em`."""

    units_per_em: int
    ascender: int
    descender: int
    """Negative, below the baseline. drawtext advances a line by ascender - descender + line_spacing."""
    advances: dict[int, int]
    """Advance width of every code point the font has a glyph for."""

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


def _clean(text: str, font: _FontMetrics) -> str:
    """One line of drawable text: NFC, whitespace collapsed, characters the font lacks dropped.

    DejaVu Sans has no emoji and no CJK: drawn, they would be empty boxes.
    """
    text = unicodedata.normalize("NFC", text)
    marked = "".join(char if char.isspace() or font.covers(char) else "\0" for char in text)
    # "scatter 🎬." reads "scatter.": a dropped run goes with the space before it when
    # punctuation follows.
    marked = re.sub(r"\s*\0[\0\s]*(?=[.,;:!?)])", "", marked)
    return " ".join(marked.replace("\0", "").split())


def _wrap(text: str, font: _FontMetrics, size: float, width: float) -> list[str]:
    """Greedy word wrap to `width` pixels; a word wider than a line is broken where it must be."""
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
    for cut in range(len(word) - 1, 1, -1):
        if font.width(word[:cut], size) <= width:
            return cut
    return 1


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
