"""Offline speech: eSpeak NG, from the `espeakng-loader` wheel, driven through ctypes.

The wheel ships `libespeak-ng` and its voice data, so speaking needs no network and no system
package (on Lambda too: the wheel goes in the layer of the functions that speak). The library
holds one synthesiser as global state (the voice, the parameters, the callback), so every call
into it goes through one lock: two threads speaking at once would mix their voices' samples.

Each `casting.Voice` is spoken as the English voice with its eSpeak variant (`en-us+f3`), pitch,
pitch range and rate; the samples come back through the synchronous callback and are written as
a 16-bit mono WAV at the library's own rate (22 050 Hz).
"""

from __future__ import annotations

import array
import ctypes
import threading
import wave
from functools import cache
from pathlib import Path

from script_to_film.domain.casting import Voice
from script_to_film.domain.errors import MediaError

_AUDIO_OUTPUT_SYNCHRONOUS = 0x02
_INITIALIZE_DONT_EXIT = 0x8000
_POS_CHARACTER = 1
_CHARS_UTF8 = 1
_RATE, _VOLUME, _PITCH, _RANGE = 1, 2, 3, 4
_LANGUAGE = "en-us"
SILENT_LINE_SECONDS = 0.3
"""A line with nothing to say aloud (`...`) still takes a beat."""

_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)
_LOCK = threading.Lock()


class _Engine:
    """The loaded library, its sample rate, and the buffer its callback fills."""

    def __init__(self) -> None:
        import espeakng_loader  # type: ignore[import-untyped]

        lib = ctypes.CDLL(espeakng_loader.get_library_path())
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.restype = ctypes.c_int
        data = espeakng_loader.get_data_path().encode()
        self.rate: int = int(lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, data, _INITIALIZE_DONT_EXIT))
        if self.rate <= 0:
            raise MediaError(f"eSpeak NG could not start (it answered {self.rate})")
        self.samples = array.array("h")
        # Kept on the instance: ctypes calls a freed callback otherwise.
        self._callback = _CALLBACK(self._receive)
        lib.espeak_SetSynthCallback(self._callback)
        self.lib = lib

    def _receive(self, wav: ctypes._Pointer[ctypes.c_short], count: int, _events: int | None) -> int:
        if wav and count > 0:
            self.samples.frombytes(ctypes.string_at(wav, count * 2))
        return 0  # go on

    def speak(self, text: str, voice: Voice) -> array.array[int]:
        name = f"{_LANGUAGE}+{voice.espeak_variant}".encode()
        if self.lib.espeak_SetVoiceByName(name) != 0:
            raise MediaError(f"eSpeak NG has no voice {name.decode()}")
        for parameter, value in (
            (_RATE, voice.espeak_rate),
            (_PITCH, voice.espeak_pitch),
            (_RANGE, voice.espeak_range),
            (_VOLUME, 100),
        ):
            self.lib.espeak_SetParameter(parameter, value, 0)
        self.samples = array.array("h")
        encoded = text.encode("utf-8")
        status = self.lib.espeak_Synth(
            encoded, len(encoded) + 1, 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None
        )
        if status != 0 or self.lib.espeak_Synchronize() != 0:
            raise MediaError(f"eSpeak NG could not speak a line (status {status})")
        return self.samples


@cache
def _engine() -> _Engine:
    return _Engine()


def sample_rate() -> int:
    """The rate of the WAVs `synthesize` writes."""
    with _LOCK:
        return _engine().rate


def synthesize(text: str, voice: Voice, out: Path) -> float:
    """Speak `text` in `voice` into a mono 16-bit WAV at `out`; its length in seconds."""
    spoken = " ".join(text.split())
    with _LOCK:
        engine = _engine()
        samples = engine.speak(spoken, voice) if spoken else array.array("h")
        rate = engine.rate
    if len(samples) < rate * SILENT_LINE_SECONDS:
        samples.extend([0] * (int(rate * SILENT_LINE_SECONDS) - len(samples)))
    out.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(out), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return len(samples) / rate
