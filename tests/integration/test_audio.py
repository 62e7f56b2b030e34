"""The film's sound with the real engines: eSpeak NG voices that differ, scene mixes with speech
where the lines were placed and only ambience elsewhere, a master at −16 LUFS / −1 dBTP as
ffmpeg's EBU R128 scanner measures it, a mux that copies the video, and burnt-in subtitles."""

from __future__ import annotations

import array
import itertools
import math
import subprocess
import threading
import wave
from pathlib import Path

import imageio_ffmpeg
import pytest

from script_to_film.adapters import audio, captions, media, speech
from script_to_film.domain import casting, subtitles
from script_to_film.domain.models import IntExt

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RATE = 8_000
"""Samples per second the tests read mixes at: enough to see speech energy and edges."""

MARA = casting.VOICES["en-f-18"]
JONAH = casting.VOICES["en-m-1"]
LINES = (
    ("You missed the last train. There will not be another until morning.", MARA),
    ("Then I will wait. I have waited longer for less.", JONAH),
)


def ffmpeg(*args: str) -> bytes:
    return subprocess.run(
        [FFMPEG, "-hide_banner", "-loglevel", "error", *args], check=True, capture_output=True
    ).stdout


def mono(path: Path, rate: int = RATE) -> array.array[int]:
    """A file's first audio stream, mixed to mono 16-bit at `rate`."""
    raw = ffmpeg("-i", str(path), "-map", "0:a:0", "-ac", "1", "-ar", str(rate), "-f", "s16le", "-")
    return array.array("h", raw)


def rms_db(samples: array.array[int] | list[int]) -> float:
    if not samples:
        return -math.inf
    mean = sum(x * x for x in samples) / len(samples)
    return 10 * math.log10(mean / 32768**2) if mean else -math.inf


def wav_samples(path: Path) -> tuple[array.array[int], int]:
    with wave.open(str(path), "rb") as wav:
        assert wav.getnchannels() == 1 and wav.getsampwidth() == 2
        return array.array("h", wav.readframes(wav.getnframes())), wav.getframerate()


def fundamental(path: Path) -> float:
    """The median fundamental frequency of a voice (autocorrelation over its loudest frames)."""
    samples, rate = wav_samples(path)
    step = 2
    signal = samples[::step]
    rate //= step
    frame = 512
    frames = [signal[i : i + frame] for i in range(0, len(signal) - frame, frame)]
    voiced = sorted(frames, key=lambda f: -sum(abs(x) for x in f))[:24]
    lags = range(rate // 400, rate // 60)
    estimates = []
    for chunk in voiced:
        best = max(lags, key=lambda lag: sum(chunk[i] * chunk[i + lag] for i in range(0, frame - lag, 2)))
        estimates.append(rate / best)
    estimates.sort()
    return estimates[len(estimates) // 2]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("audio")


@pytest.fixture(scope="module")
def voices(work: Path) -> list[tuple[Path, float]]:
    made = []
    for index, (text, voice) in enumerate(LINES):
        out = work / f"line{index}.wav"
        made.append((out, speech.synthesize(text, voice, out)))
    return made


@pytest.fixture(scope="module")
def scene(work: Path, voices: list[tuple[Path, float]]) -> tuple[Path, list[tuple[float, float]]]:
    """A 14-second scene at a station at night: two lines with a pause between them."""
    bed = audio.ambience(
        audio.bed_for(IntExt.EXT, "HARROW STATION - PLATFORM 2", "NIGHT"), 14, work / "bed.wav"
    )
    starts = [1.0, 1.0 + voices[0][1] + 1.5]
    placed = [audio.PlacedLine(path, start) for (path, _), start in zip(voices, starts, strict=True)]
    mix = audio.mix_scene(placed, bed, 14, work / "scene.wav")
    return mix, [(start, start + seconds) for start, (_, seconds) in zip(starts, voices, strict=True)]


# Speech ----------------------------------------------------------------------------------------


def test_a_line_is_spoken_into_a_mono_wav_whose_length_is_returned(voices: list[tuple[Path, float]]) -> None:
    for path, seconds in voices:
        samples, rate = wav_samples(path)
        assert rate == speech.sample_rate() == 22_050
        assert seconds == pytest.approx(len(samples) / rate)
        assert 2.0 < seconds < 6.0
        assert rms_db(samples) > -30, "speech, not silence"


def test_distinct_characters_sound_distinct(work: Path) -> None:
    text = "Nobody waits on this platform any more, not since the line closed."
    pitches = {}
    for voice_id in ("en-f-1", "en-f-2", "en-m-1", "en-m-2", "en-c-1"):
        speech.synthesize(text, casting.VOICES[voice_id], work / f"{voice_id}.wav")
        pitches[voice_id] = fundamental(work / f"{voice_id}.wav")
    assert pitches["en-m-1"] < 160 < pitches["en-f-1"], pitches
    assert pitches["en-c-1"] > max(pitches["en-f-1"], pitches["en-f-2"]), pitches
    ordered = sorted(pitches.values())
    assert all(b / a > 1.05 for a, b in itertools.pairwise(ordered)), pitches


def test_voices_spoken_from_two_threads_at_once_are_each_what_one_thread_makes(work: Path) -> None:
    """The library is one global synthesiser: without the lock the two lines' samples would land
    in one buffer. (eSpeak's wave generator keeps a little state from line to line, so a line is
    the same to a few samples, not to the byte.)"""
    alone = {}
    for name, (text, voice) in zip(("a", "b"), LINES, strict=True):
        seconds = speech.synthesize(text, voice, work / f"alone-{name}.wav")
        alone[name] = (seconds, fundamental(work / f"alone-{name}.wav"))
    start = threading.Barrier(2)
    made: dict[str, list[float]] = {"a": [], "b": []}

    def speak(name: str, text: str, voice: casting.Voice) -> None:
        start.wait()
        for round_ in range(4):
            made[name].append(speech.synthesize(text, voice, work / f"together-{name}-{round_}.wav"))

    threads = [
        threading.Thread(target=speak, args=(name, text, voice))
        for name, (text, voice) in zip(("a", "b"), LINES, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in ("a", "b"):
        seconds, pitch = alone[name]
        assert made[name] == pytest.approx([seconds] * 4, abs=0.05), name
        assert fundamental(work / f"together-{name}-3.wav") == pytest.approx(pitch, rel=0.15), name


# Mixing ----------------------------------------------------------------------------------------


def test_speech_is_inside_each_placed_window_and_only_ambience_outside(
    scene: tuple[Path, list[tuple[float, float]]],
) -> None:
    mix, windows = scene
    samples = mono(mix)
    assert len(samples) == 14 * RATE, "exactly the scene's length"

    def window(start: float, end: float) -> list[int]:
        return list(samples[round(start * RATE) : round(end * RATE)])

    gaps = [
        (0.1, windows[0][0] - 0.1),
        (windows[0][1] + 0.2, windows[1][0] - 0.1),
        (windows[1][1] + 0.5, 13.9),
    ]
    ambience = [rms_db(window(*gap)) for gap in gaps]
    for start, end in windows:
        # The loudest half second of each line, against the bed around it.
        inside = max(
            rms_db(window(t, t + 0.5)) for t in [start + 0.25 * k for k in range(int((end - start) * 4) - 2)]
        )
        assert inside > max(ambience) + 15, (inside, ambience)
    assert all(-60 < level < -30 for level in ambience), (
        f"the bed is heard, well under the voices: {ambience}"
    )
    first_sound = next(i for i, x in enumerate(samples) if abs(x) > 3000) / RATE
    assert first_sound == pytest.approx(windows[0][0], abs=0.1), "the voice starts where it was placed"


def test_the_bed_is_ducked_under_the_voices(work: Path, voices: list[tuple[Path, float]]) -> None:
    """With a voice that is only a low tone, the bed's hiss above it shows the compressor at work."""
    tone = work / "tone.wav"
    ffmpeg(
        "-y",
        "-f",
        "lavfi",
        "-i",
        "sine=f=120:d=3:sample_rate=22050",
        "-af",
        "volume=-6dB",
        "-ac",
        "1",
        str(tone),
    )
    bed = audio.ambience(audio.bed_for(IntExt.EXT, "BEACH", "DAY"), 8, work / "surf.wav")
    mix = audio.mix_scene([audio.PlacedLine(tone, 3.0)], bed, 8, work / "ducked.wav")
    # The bed alone, above the tone's band: before, during and after the tone.
    filtered = array.array(
        "h",
        ffmpeg(
            "-i",
            str(mix),
            "-af",
            "highpass=f=400,highpass=f=400",
            "-ac",
            "1",
            "-ar",
            str(RATE),
            "-f",
            "s16le",
            "-",
        ),
    )
    level = {
        name: rms_db(filtered[round(a * RATE) : round(b * RATE)])
        for name, (a, b) in {"before": (1.0, 2.8), "during": (3.5, 5.8), "after": (7.0, 7.9)}.items()
    }
    assert level["during"] < level["before"] - 6 and level["during"] < level["after"] - 6, level


def test_nothing_clicks_at_a_cut_between_scenes(
    work: Path, scene: tuple[Path, list[tuple[float, float]]]
) -> None:
    mix, _ = scene
    other = audio.mix_scene(
        [], audio.ambience(audio.bed_for(IntExt.INT, "CAFE", "DAY"), 3, work / "room.wav"), 3, work / "b.wav"
    )
    joined = work / "joined.wav"
    ffmpeg(
        "-y", "-i", str(mix), "-i", str(other), "-filter_complex", "[0:a][1:a]concat=n=2:v=0:a=1", str(joined)
    )
    samples, rate = _stereo_left(joined)
    cut = 14 * rate
    edge = samples[cut - rate // 100 : cut + rate // 100]
    assert max(abs(x) for x in edge) < 0.02 * 32768, "the cut is at silence on both sides"
    jumps = [abs(b - a) for a, b in itertools.pairwise(edge)]
    assert max(jumps) < 0.01 * 32768, "no step in the waveform at the cut"
    assert abs(samples[0]) < 50 and abs(samples[-1]) < 50, "each scene starts and ends at zero"


def _stereo_left(path: Path) -> tuple[array.array[int], int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        both = array.array("h", wav.readframes(wav.getnframes()))
    return both[:: wav.getnchannels()], rate


# Loudness, master, mux ---------------------------------------------------------------------------


def test_loudness_reads_ebur128_on_a_known_signal(work: Path) -> None:
    tone = work / "sine.wav"
    sine = "0.1*sin(2*PI*1000*t)"  # −20 dBFS in both channels: −20 LUFS
    ffmpeg("-y", "-f", "lavfi", "-i", f"aevalsrc={sine}|{sine}:s=48000:d=5", str(tone))
    measured = audio.loudness(tone)
    assert measured.integrated_lufs == pytest.approx(-20.0, abs=0.2), "a stereo 1 kHz sine reads its dBFS"
    assert measured.true_peak_dbtp == pytest.approx(-20.0, abs=0.3)


def test_the_master_is_at_minus_16_lufs_with_true_peaks_under_minus_1(
    work: Path, scene: tuple[Path, list[tuple[float, float]]]
) -> None:
    mix, _ = scene
    quiet = work / "quiet.wav"
    ffmpeg("-y", "-i", str(mix), "-af", "volume=-12dB", str(quiet))
    before = audio.loudness(quiet)
    assert before.integrated_lufs < -25
    result = audio.master([quiet, mix], work / "master.wav")
    measured = audio.loudness(work / "master.wav")
    assert measured == result
    assert abs(measured.integrated_lufs - audio.TARGET_LUFS) <= audio.LUFS_TOLERANCE, measured
    assert measured.true_peak_dbtp <= audio.MAX_TRUE_PEAK_DBTP, measured
    assert len(mono(work / "master.wav")) == 28 * RATE, "the scenes in order, nothing lost"


def test_mux_copies_the_video_and_adds_aac_at_48_khz_stereo(
    work: Path, scene: tuple[Path, list[tuple[float, float]]]
) -> None:
    mix, _ = scene
    video = work / "picture.mp4"
    ffmpeg(
        "-y",
        "-f",
        "lavfi",
        "-i",
        "testsrc=s=320x180:r=24:d=14",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(video),
    )
    audio.master([mix], work / "film.wav")
    film = audio.mux(video, work / "film.wav", work / "film.mp4")

    def packets(path: Path) -> bytes:
        return ffmpeg("-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framemd5", "-")

    assert packets(film) == packets(video), "every video packet as it was"
    info, source = media.probe(film), media.probe(video)
    assert info.video_config_digest == source.video_config_digest is not None
    assert (info.audio_codec, info.audio_sample_rate, info.audio_channels) == ("aac", 48_000, 2)
    assert info.duration == pytest.approx(14, abs=0.1)
    final = audio.loudness(film)
    assert abs(final.integrated_lufs - audio.TARGET_LUFS) <= audio.LUFS_TOLERANCE, final
    assert final.true_peak_dbtp <= audio.MAX_TRUE_PEAK_DBTP, "the AAC encode keeps the true peak"


def test_subtitles_are_burnt_into_the_picture_only_while_their_cue_is_on(work: Path) -> None:
    video = work / "plain.mp4"
    ffmpeg(
        "-y",
        "-f",
        "lavfi",
        "-i",
        "color=c=0x203040:s=320x180:r=24:d=4",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        str(video),
    )
    cues = subtitles.cues_for("The last train left an hour ago.", 1.0, 2.0, "MARA")
    srt, _ = captions.write_subtitles(cues, work, "burn")
    burnt = captions.burn_subtitles(video, srt, work / "burnt.mp4")

    def frame(path: Path, at: float) -> bytes:
        return ffmpeg(
            "-ss", f"{at}", "-i", str(path), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"
        )

    def difference(a: bytes, b: bytes) -> float:
        return sum(abs(x - y) for x, y in zip(a, b, strict=True)) / len(a)

    before, during, after = (frame(burnt, at) for at in (0.5, 1.5, 3.0))
    assert difference(before, during) > 1, "the cue's text is drawn while it is on"
    assert difference(before, after) < 0.05, "and not before or after"
    # The colour is kept: re-encoding moves a pixel value by one at most.
    assert difference(frame(video, 0.5), before) <= 1.0


def test_each_subtitle_cue_is_on_while_its_voice_is_heard(
    scene: tuple[Path, list[tuple[float, float]]], voices: list[tuple[Path, float]]
) -> None:
    """Cues come from where each voice was placed and how long it is: within 100 ms of the speech."""
    mix, windows = scene
    samples = mono(mix)
    cues = [
        subtitles.cues_for(text, start, start + seconds, "X")
        for (text, _), (start, _), (_, seconds) in zip(LINES, windows, voices, strict=True)
    ]
    block = RATE // 50  # 20 ms

    def loud(at: int) -> bool:
        return rms_db(samples[at : at + block]) > -40

    for line_cues, (start, end) in zip(cues, windows, strict=True):
        search = range(round((start - 0.3) * RATE), round((end + 0.3) * RATE), block)
        heard = [at for at in search if loud(at)]
        onset, offset = heard[0] / RATE, (heard[-1] + block) / RATE
        assert line_cues[0].start == pytest.approx(onset, abs=0.1)
        assert line_cues[-1].end == pytest.approx(offset, abs=0.1)
