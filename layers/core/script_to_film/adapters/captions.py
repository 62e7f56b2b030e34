"""Subtitles on disk and in the picture: the SRT and WebVTT files beside a film, and burn-in.

Burn-in uses ffmpeg's `subtitles` filter (libass, which the bundled ffmpeg has) with the fonts
this package ships (`fontsdir`): Lambda has no system fonts, and libass would otherwise draw
nothing. Burning in re-encodes the picture, in the house encoding so that the result still joins
other house clips by stream copy; the sound is copied.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from script_to_film.adapters.media import _HOUSE_COLOUR, _HOUSE_VIDEO, _MP4, _escape, _fonts, _run_ffmpeg
from script_to_film.domain.subtitles import Cue, to_srt, to_webvtt

_FONT_NAME = "DejaVu Sans"
_STYLE = f"FontName={_FONT_NAME},FontSize=20,Outline=1.5,Shadow=0,MarginV=28,BorderStyle=1"
"""libass style: its sizes are in a 384×288 script space, scaled to the picture's height."""
_TIMEOUT = 1800


def write_subtitles(cues: Sequence[Cue], folder: Path, stem: str, *, speakers: bool = True) -> list[Path]:
    """`stem.srt` and `stem.vtt` in `folder`, UTF-8."""
    folder.mkdir(parents=True, exist_ok=True)
    srt, vtt = folder / f"{stem}.srt", folder / f"{stem}.vtt"
    srt.write_text(to_srt(cues, speakers=speakers), encoding="utf-8")
    vtt.write_text(to_webvtt(cues, speakers=speakers), encoding="utf-8")
    return [srt, vtt]


def burn_subtitles(video: Path, subtitles: Path, out: Path) -> Path:
    """`video` with `subtitles` (SRT or WebVTT) drawn into its picture."""
    with tempfile.TemporaryDirectory(prefix="stf-burn-") as work, _fonts() as fonts:
        # The filter's file name goes through two levels of filter-graph quoting; a copy at a
        # plain path keeps a user's file name out of it.
        plain = Path(work) / f"subtitles{subtitles.suffix.lower()}"
        shutil.copyfile(subtitles, plain)
        options = {"filename": str(plain), "fontsdir": str(fonts), "force_style": _STYLE, "charenc": "UTF-8"}
        burn = "subtitles=" + ":".join(f"{key}={_escape(value)}" for key, value in options.items())
        _run_ffmpeg(
            [
                "-y",
                "-i",
                str(video),
                "-map",
                "0:v:0",
                "-map",
                "0:a?",
                "-vf",
                f"{burn},{_HOUSE_COLOUR}",
                *_HOUSE_VIDEO,
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "copy",
                *_MP4,
                str(out),
            ],
            what="burning in the subtitles",
            timeout=_TIMEOUT,
            background=True,
        )
    return out
