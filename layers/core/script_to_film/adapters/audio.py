"""The film's sound, with ffmpeg: ambience beds, each scene's mix, the master, the mux, loudness.

Everything between the steps is 48 kHz stereo 16-bit WAV, so scene mixes join sample-exactly and
only the mux encodes (AAC). A scene's mix is its dialogue, each line placed at its start time,
over an ambience bed that a sidechain compressor ducks under the voices; each line and the whole
scene get short fades, so that neither a line's edge nor a cut between scenes clicks.

The master is measured, then gained, then limited: EBU R128 integrated loudness −16 LUFS (±1 LU)
and a true peak at most −1 dBTP. ffmpeg's `loudnorm` would do it in two passes too, but when its
linear mode cannot reach the target it silently switches to dynamic processing (and 192 kHz);
a plain gain with a lookahead limiter keeps the dynamics of the mix and is checked by measuring
the result again.
"""

from __future__ import annotations

import hashlib
import math
import re
import tempfile
import wave
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from script_to_film.adapters.media import _run_ffmpeg, _tail
from script_to_film.domain.errors import MediaError
from script_to_film.domain.models import IntExt

SAMPLE_RATE = 48_000
TARGET_LUFS = -16.0
LUFS_TOLERANCE = 1.0
MAX_TRUE_PEAK_DBTP = -1.0
_LIMIT_DBFS = -2.5
"""The limiter's ceiling: 1.5 dB under the true-peak target leaves room for the peaks between
samples that a sample-peak limiter does not see, and for the AAC encoder's overshoot."""
LINE_FADE_SECONDS = 0.008
CUT_FADE_SECONDS = 0.015
"""Fades at a line's edges and at a scene's: 8 and 15 ms are inaudible as fades, and enough that
the waveform reaches zero where it is cut."""
_PCM = ("-c:a", "pcm_s16le", "-ar", str(SAMPLE_RATE), "-ac", "2", "-f", "wav")
_TIMEOUT = 600


# Ambience -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bed:
    """How a place sounds, as shaped noise: a colour, a band, a level and a slow swell."""

    name: str
    colour: str
    """anoisesrc's colour: brown is a rumble, pink is wind and traffic, white hiss."""
    highpass: int
    lowpass: int
    level_lufs: float
    """The bed's loudness before the master's gain: well under the voices (about −20 LUFS)."""
    swell_hz: float = 0.0
    """A slow tremolo (waves, gusts); 0 for a steady bed."""
    swell_depth: float = 0.0


_ROOM = Bed("room tone", "brown", 40, 300, -42.0)
_BEDS: tuple[tuple[re.Pattern[str], Bed], ...] = (
    (
        re.compile(r"\b(?:sea|beach|shore|harbou?r|ocean|lighthouse|coast|dock|pier|boat|ship)\w*"),
        Bed("surf", "brown", 30, 900, -32.0, 0.09, 0.55),
    ),
    (
        re.compile(r"\b(?:street|road|city|station|platform|traffic|town|avenue|square|car park|highway)\w*"),
        Bed("traffic", "pink", 60, 1800, -36.0, 0.05, 0.25),
    ),
    (
        re.compile(r"\b(?:forest|wood|field|garden|park|meadow|farm|hill|mountain|jungle|desert)\w*"),
        Bed("wind", "pink", 200, 3500, -37.0, 0.15, 0.45),
    ),
    (
        re.compile(r"\b(?:rain|storm)\w*"),
        Bed("rain", "white", 800, 7000, -35.0),
    ),
)


def bed_for(int_ext: IntExt | None, location: str, time_of_day: str | None) -> Bed:
    """The ambience of a scene's place: outdoors by what the location names (surf, traffic, wind,
    rain), indoors a room tone; night is quieter and darker."""
    place = location.lower()
    outdoors = int_ext in (IntExt.EXT, IntExt.INT_EXT, IntExt.EST)
    bed = _ROOM
    for pattern, candidate in _BEDS:
        if pattern.search(place) and (outdoors or candidate.name == "rain"):
            bed = candidate
            break
    else:
        if outdoors:
            bed = Bed("open air", "pink", 80, 1200, -39.0, 0.1, 0.3)
    if time_of_day and re.search(r"\b(?:night|midnight|dusk|evening)\b", time_of_day.lower()):
        bed = replace(
            bed, name=f"{bed.name} at night", lowpass=int(bed.lowpass * 0.7), level_lufs=bed.level_lufs - 4
        )
    return bed


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "big") % 2_000_000_000


def ambience(bed: Bed, seconds: float, out: Path, *, seed_text: str = "") -> Path:
    """A stereo bed of `seconds`: two decorrelated noise channels (seeded from `seed_text`, so a
    scene sounds the same in every run), filtered, swelling, at the bed's loudness."""
    if seconds <= 0:
        raise MediaError("an ambience bed needs a positive length")
    _render_bed(bed, seconds, out, seed_text=seed_text, gain_db=_bed_gain(bed))
    return out


def _render_bed(bed: Bed, seconds: float, out: Path, *, seed_text: str, gain_db: float) -> None:
    seed = _seed(f"{bed.name}:{seed_text}")
    shape = f"highpass=f={bed.highpass},lowpass=f={bed.lowpass},lowpass=f={bed.lowpass}"
    if bed.swell_hz > 0:
        shape += f",tremolo=f={max(bed.swell_hz, 0.1):.3f}:d={bed.swell_depth:.2f}"
    noise = [
        f"anoisesrc=d={seconds:.3f}:c={bed.colour}:r={SAMPLE_RATE}:a=0.5:seed={seed + side},{shape}[n{side}]"
        for side in (0, 1)
    ]
    graph = ";".join([*noise, f"[n0][n1]amerge=inputs=2,volume={gain_db:.2f}dB[out]"])
    _run_ffmpeg(
        ["-y", "-filter_complex", graph, "-map", "[out]", "-t", f"{seconds:.3f}", *_PCM, str(out)],
        what="generating ambience",
        timeout=_TIMEOUT,
        background=True,
    )


_BED_PROBE_SECONDS = 6.0


@cache
def _bed_gain(bed: Bed) -> float:
    """The gain that brings a bed to its loudness: the filters take an amount off the noise that
    depends on its colour and band, so it is measured once per kind of bed (a few milliseconds
    of ffmpeg), rather than guessed."""
    with tempfile.TemporaryDirectory(prefix="stf-bed-") as work:
        probe_bed = Path(work) / "bed.wav"
        _render_bed(bed, _BED_PROBE_SECONDS, probe_bed, seed_text="probe", gain_db=0.0)
        measured = loudness(probe_bed).integrated_lufs
    return bed.level_lufs - measured


_DIALOGUE_COMPRESSOR = "acompressor=threshold=0.1:ratio=2.5:attack=3:release=120:knee=4:makeup=2"
"""Dialogue is compressed gently, as a mixer would ride it: synthetic speech has sharp onsets
(about 18 dB from its peaks to its loudness), which would otherwise leave the master's limiter
several dB to take off and the film short of its loudness."""


# Mixing ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlacedLine:
    """A line's voice audio and where in the scene it starts (seconds)."""

    audio: Path
    start: float


def wav_seconds(path: Path) -> float:
    """A WAV's length, from its header."""
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


def mix_scene(lines: Sequence[PlacedLine], ambience_bed: Path | None, seconds: float, out: Path) -> Path:
    """The scene's sound: each line at its start, ambience ducked under the voices, `seconds` long
    exactly, faded in and out at its edges."""
    if seconds <= 0:
        raise MediaError("a scene's mix needs a positive length")
    inputs: list[str] = []
    chains: list[str] = []
    voices: list[str] = []
    for index, line in enumerate(lines):
        if line.start < 0:
            raise MediaError(f"line {index + 1} starts before its scene ({line.start:.3f} s)")
        length = wav_seconds(line.audio)
        fade_out = max(0.0, length - LINE_FADE_SECONDS)
        delay = round(line.start * 1000)
        inputs += ["-i", str(line.audio)]
        chains.append(
            f"[{index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=mono,"
            f"afade=t=in:d={LINE_FADE_SECONDS},afade=t=out:st={fade_out:.4f}:d={LINE_FADE_SECONDS},"
            f"pan=stereo|c0=c0|c1=c0,adelay={delay}|{delay}[v{index}]"
        )
        voices.append(f"[v{index}]")
    silence = f"anullsrc=r={SAMPLE_RATE}:cl=stereo,atrim=0:{seconds:.4f}"
    if voices:
        chains.append(
            f"{''.join(voices)}amix=inputs={len(voices)}:normalize=0:dropout_transition=0,"
            f"{_DIALOGUE_COMPRESSOR},apad,atrim=0:{seconds:.4f}[speech]"
        )
    else:
        chains.append(f"{silence}[speech]")
    if ambience_bed is not None:
        bed_index = len(lines)
        inputs += ["-i", str(ambience_bed)]
        chains.append(
            f"[{bed_index}:a]aresample={SAMPLE_RATE},aformat=channel_layouts=stereo,"
            f"apad,atrim=0:{seconds:.4f}[bed]"
        )
        chains.append("[speech]asplit=2[say][key]")
        # The voices key a compressor on the bed: about 10 dB under speech, back within 0.4 s.
        chains.append(
            "[bed][key]sidechaincompress=threshold=0.01:ratio=6:attack=15:release=400:makeup=1[ducked]"
        )
        chains.append("[say][ducked]amix=inputs=2:normalize=0:dropout_transition=0[mixed]")
    else:
        chains.append("[speech]anull[mixed]")
    fade_out = max(0.0, seconds - CUT_FADE_SECONDS)
    chains.append(
        f"[mixed]atrim=0:{seconds:.4f},asetpts=N/SR/TB,afade=t=in:d={CUT_FADE_SECONDS},"
        f"afade=t=out:st={fade_out:.4f}:d={CUT_FADE_SECONDS}[out]"
    )
    _run_ffmpeg(
        ["-y", *inputs, "-filter_complex", ";".join(chains), "-map", "[out]", *_PCM, str(out)],
        what="mixing a scene",
        timeout=_TIMEOUT,
        background=True,
    )
    return out


# Loudness -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Loudness:
    integrated_lufs: float
    true_peak_dbtp: float
    range_lu: float


_SUMMARY = re.compile(r"Summary:(.*)", re.DOTALL)
_INTEGRATED = re.compile(r"I:\s+(-?[\d.]+|-inf) LUFS")
_RANGE = re.compile(r"LRA:\s+(-?[\d.]+) LU")
_TRUE_PEAK = re.compile(r"True peak:\s+Peak:\s+(-?[\d.]+|-inf) dBFS")


def loudness(path: Path) -> Loudness:
    """Integrated loudness, true peak and loudness range of a file's first audio stream, as
    ffmpeg's EBU R128 scanner (`ebur128=peak=true`) measures them."""
    completed = _run_ffmpeg(
        [
            "-nostats",
            "-i",
            str(path),
            "-map",
            "0:a:0",
            "-af",
            "ebur128=peak=true:framelog=quiet",
            "-f",
            "null",
            "-",
        ],
        what=f"measuring the loudness of {path.name}",
        timeout=_TIMEOUT,
    )
    stderr = completed.stderr.decode("utf-8", "replace")
    summary = _SUMMARY.search(stderr)
    found = summary and (
        _INTEGRATED.search(summary.group(1)),
        _TRUE_PEAK.search(summary.group(1)),
        _RANGE.search(summary.group(1)),
    )
    if not found or not all(found):
        raise MediaError(f"no loudness summary for {path.name}", stderr_tail=_tail(stderr))
    integrated, peak, spread = (float(match.group(1)) for match in found if match)
    return Loudness(integrated, peak, spread)


_CORRECTIONS = 3


def master(parts: Sequence[Path], out: Path) -> Loudness:
    """Join the scenes' mixes in order into the film's audio at −16 LUFS, true peak ≤ −1 dBTP."""
    if not parts:
        raise MediaError("a master needs at least one part")
    joined = out.with_name(f"{out.stem}.joined.wav")
    _join(parts, joined)
    try:
        measured = loudness(joined)
        if math.isinf(measured.integrated_lufs):
            raise MediaError("the film's audio is silent: there is nothing to master")
        # The limiter takes loudness off the loudest passages, so a dB of gain gives less than a
        # dB of loudness: corrections follow the slope measured between passes (the secant).
        gain, slope = TARGET_LUFS - measured.integrated_lufs, 1.0
        previous = (0.0, measured.integrated_lufs)
        result = _gain_and_limit(joined, out, gain)
        for _ in range(_CORRECTIONS):
            miss = TARGET_LUFS - result.integrated_lufs
            if abs(miss) <= LUFS_TOLERANCE / 4:
                break
            if gain != previous[0]:
                slope = min(1.0, max(0.2, (result.integrated_lufs - previous[1]) / (gain - previous[0])))
            previous = (gain, result.integrated_lufs)
            gain += miss / slope
            result = _gain_and_limit(joined, out, gain)
        return result
    finally:
        joined.unlink(missing_ok=True)


def _join(parts: Sequence[Path], out: Path) -> None:
    inputs = [argument for part in parts for argument in ("-i", str(part))]
    streams = "".join(f"[{index}:a]" for index in range(len(parts)))
    graph = f"{streams}concat=n={len(parts)}:v=0:a=1[out]"
    _run_ffmpeg(
        ["-y", *inputs, "-filter_complex", graph, "-map", "[out]", *_PCM, str(out)],
        what="joining the scenes' sound",
        timeout=_TIMEOUT,
        background=True,
    )


def _gain_and_limit(source: Path, out: Path, gain_db: float) -> Loudness:
    ceiling = 10 ** (_LIMIT_DBFS / 20)
    chain = (
        f"volume={gain_db:.2f}dB,alimiter=limit={ceiling:.4f}:attack=5:release=50:level=disabled"
        f",aresample={SAMPLE_RATE}"
    )
    _run_ffmpeg(
        ["-y", "-i", str(source), "-af", chain, *_PCM, str(out)],
        what="mastering the film's sound",
        timeout=_TIMEOUT,
        background=True,
    )
    return loudness(out)


# Muxing ---------------------------------------------------------------------------------------

AAC_BITRATE = "160k"


def mux(video: Path, audio: Path, out: Path) -> Path:
    """The film with its sound: the video stream copied as it is, the audio AAC 48 kHz stereo,
    padded with silence or cut to the video's length."""
    from script_to_film.adapters.media import probe

    seconds = probe(video).duration
    _run_ffmpeg(
        [
            "-y",
            "-i",
            str(video),
            "-i",
            str(audio),
            "-map",
            "0:v:0",
            "-map",
            "1:a:0",
            "-c:v",
            "copy",
            "-af",
            "apad",
            "-c:a",
            "aac",
            # The fast coder: a third of the default's time (3.7 s against 11 s for 5 minutes),
            # and at this bitrate speech and noise beds do not tell them apart.
            "-aac_coder",
            "fast",
            "-b:a",
            AAC_BITRATE,
            "-ar",
            str(SAMPLE_RATE),
            "-ac",
            "2",
            "-t",
            f"{seconds:.3f}",
            "-movflags",
            "+faststart",
            "-f",
            "mp4",
            str(out),
        ],
        what="adding the sound to the film",
        timeout=_TIMEOUT,
        background=True,
    )
    return out
