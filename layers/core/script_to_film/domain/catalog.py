"""The model catalog: what each provider's models accept, and what they cost.

Ratios, durations and prompt limits are read from the `runwayml` SDK's request types
(`text_to_video_create_params`, `image_to_video_create_params`, `text_to_image_create_params`,
`text_to_speech_create_params`, `sound_effect_create_params`);
a model that serves two endpoints (gen4.5) allows different ratios on each, so ratios are kept per
endpoint. The SDK types say nothing about price: the credit figures are third-party figures
(Runway's published API pricing as reported in November 2026), with 1 credit = US$0.01. Runway
reports the real cost of each task (`cost.credits`), which is what the workflow records.

Money is `Decimal` here and in `cost`; credits are whole numbers. Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType

from script_to_film.domain.errors import InvalidOptionError, UnknownModelError

RUNWAY = "runway"
ANIMATIC = "animatic"
PROVIDERS = (RUNWAY, ANIMATIC)

DEFAULT_MODEL = "gen4.5"
DEFAULT_RATIO = "1280:720"
USD_PER_CREDIT = Decimal("0.01")
"""Third-party figure: Runway sells API credits at one US cent each."""

PROMPT_LIMIT = 1000
"""Runway's `promptText` limit, counted in UTF-16 code units (an emoji counts two)."""


class Endpoint(StrEnum):
    """The generation endpoints a model can be called through (Runway's `/v1/<endpoint>`)."""

    TEXT_TO_VIDEO = "text_to_video"
    IMAGE_TO_VIDEO = "image_to_video"
    TEXT_TO_IMAGE = "text_to_image"
    TEXT_TO_SPEECH = "text_to_speech"
    SOUND_EFFECT = "sound_effect"


@dataclass(frozen=True, slots=True)
class EndpointSpec:
    """One endpoint of a model and the output ratios it accepts there."""

    endpoint: Endpoint
    ratios: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VideoModel:
    """A video model: where it is called, what it accepts, what a second of it costs."""

    id: str
    provider: str
    specs: tuple[EndpointSpec, ...]
    """In order of preference: the director films through the first (text_to_video when offered)."""
    durations: tuple[int, ...]
    """Every clip length (seconds) the model accepts, ascending."""
    credits_per_second: int
    """Without sound: the price of every model, and of veo when `audio` is sent false."""
    summary: str
    prompt_limit: int = PROMPT_LIMIT
    default_ratio: str = DEFAULT_RATIO
    audio_credits_per_second: int | None = None
    """The price when the model makes its own sound (veo's `audio: true`); None: it makes none."""

    @property
    def makes_audio(self) -> bool:
        """True when the model takes an `audio` parameter (and Runway defaults it to true)."""
        return self.audio_credits_per_second is not None

    def credits_for_second(self, *, audio: bool = False) -> int:
        """Credits for one second of clip, with the model's own sound or without."""
        if not audio:
            return self.credits_per_second
        if self.audio_credits_per_second is None:
            raise InvalidOptionError(f"{self.id} makes no sound of its own")
        return self.audio_credits_per_second

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return tuple(spec.endpoint for spec in self.specs)

    @property
    def endpoint(self) -> Endpoint:
        """The endpoint shots are generated through."""
        return self.specs[0].endpoint

    @property
    def ratios(self) -> tuple[str, ...]:
        """The ratios of the endpoint shots are generated through."""
        return self.specs[0].ratios

    @property
    def needs_keyframe(self) -> bool:
        """True when the model only animates an image: each shot first needs a keyframe image."""
        return Endpoint.TEXT_TO_VIDEO not in self.endpoints

    def ratios_for(self, endpoint: Endpoint | str) -> tuple[str, ...]:
        for spec in self.specs:
            if spec.endpoint == endpoint:
                return spec.ratios
        offered = ", ".join(self.endpoints)
        raise InvalidOptionError(f"model {self.id} has no {endpoint} endpoint; it offers {offered}")


@dataclass(frozen=True, slots=True)
class ImageModel:
    """A keyframe image model (text_to_image), priced per image by output size, not per second."""

    id: str
    provider: str
    ratios_720p: tuple[str, ...]
    ratios_1080p: tuple[str, ...]
    credits_720p: int
    credits_1080p: int
    summary: str
    prompt_limit: int = PROMPT_LIMIT
    endpoint: Endpoint = Endpoint.TEXT_TO_IMAGE

    @property
    def ratios(self) -> tuple[str, ...]:
        return self.ratios_720p + self.ratios_1080p

    def credits_for(self, ratio: str) -> int:
        """Credits for one image at `ratio` (the 1080p price for a ratio it does not list)."""
        return self.credits_720p if ratio in self.ratios_720p else self.credits_1080p


_GEN45_TEXT_RATIOS = ("1280:720", "720:1280")
_IMAGE_RATIOS = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
_VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
_TWO_TO_TEN = tuple(range(2, 11))

_VIDEO_MODELS: tuple[VideoModel, ...] = (
    VideoModel(
        id="gen4.5",
        provider=RUNWAY,
        specs=(
            EndpointSpec(Endpoint.TEXT_TO_VIDEO, _GEN45_TEXT_RATIOS),
            EndpointSpec(Endpoint.IMAGE_TO_VIDEO, _IMAGE_RATIOS),
        ),
        durations=_TWO_TO_TEN,
        credits_per_second=12,
        summary="Runway Gen-4.5: text or image to video, 2-10 s",
    ),
    VideoModel(
        id="veo3.1",
        provider=RUNWAY,
        specs=(
            EndpointSpec(Endpoint.TEXT_TO_VIDEO, _VEO_RATIOS),
            EndpointSpec(Endpoint.IMAGE_TO_VIDEO, _VEO_RATIOS),
        ),
        durations=(4, 6, 8),
        credits_per_second=20,
        audio_credits_per_second=40,
        summary="Google Veo 3.1 through Runway: text or image to video, 4, 6 or 8 s",
    ),
    VideoModel(
        id="veo3.1_fast",
        provider=RUNWAY,
        specs=(
            EndpointSpec(Endpoint.TEXT_TO_VIDEO, _VEO_RATIOS),
            EndpointSpec(Endpoint.IMAGE_TO_VIDEO, _VEO_RATIOS),
        ),
        durations=(4, 6, 8),
        credits_per_second=10,
        audio_credits_per_second=15,
        summary="Google Veo 3.1 Fast through Runway: text or image to video, 4, 6 or 8 s",
    ),
    VideoModel(
        id="gen4_turbo",
        provider=RUNWAY,
        specs=(EndpointSpec(Endpoint.IMAGE_TO_VIDEO, _IMAGE_RATIOS),),
        # The SDK types leave `duration` a bare int; Runway's API reference gives 2-10 s.
        durations=_TWO_TO_TEN,
        credits_per_second=5,
        summary="Runway Gen-4 Turbo: image to video only (a gen4_image keyframe per shot), 2-10 s",
    ),
    VideoModel(
        id="animatic",
        provider=ANIMATIC,
        specs=(
            EndpointSpec(
                Endpoint.TEXT_TO_VIDEO, ("1280:720", "720:1280", "960:960", "1920:1080", "1080:1920")
            ),
        ),
        durations=_TWO_TO_TEN,
        credits_per_second=0,
        summary="Offline storyboard clips rendered locally with ffmpeg, free",
    ),
)

MODELS: Mapping[str, VideoModel] = MappingProxyType({model.id: model for model in _VIDEO_MODELS})
"""Every video model, by id."""

KEYFRAME_MODEL = "gen4_image"

IMAGE_MODELS: Mapping[str, ImageModel] = MappingProxyType(
    {
        KEYFRAME_MODEL: ImageModel(
            id=KEYFRAME_MODEL,
            provider=RUNWAY,
            ratios_720p=("1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720"),
            ratios_1080p=(
                "1024:1024",
                "1080:1080",
                "1168:880",
                "1360:768",
                "1440:1080",
                "1080:1440",
                "1808:768",
                "1920:1080",
                "1080:1920",
                "2112:912",
            ),
            credits_720p=5,
            credits_1080p=8,
            summary="Runway Gen-4 Image: keyframes, with reference images tagged per character",
        )
    }
)
"""Keyframe image models, by id: kept apart because a video shot cannot be made with them."""

RUNWAY_VOICE_PRESETS: tuple[str, ...] = (
    "Maya", "Arjun", "Serene", "Bernard", "Billy", "Mark", "Clint", "Mabel", "Chad", "Leslie",
    "Eleanor", "Elias", "Elliot", "Grungle", "Brodie", "Sandra", "Kirk", "Kylie", "Lara", "Lisa",
    "Malachi", "Marlene", "Martin", "Miriam", "Monster", "Paula", "Pip", "Rusty", "Ragnar", "Xylar",
    "Maggie", "Jack", "Katie", "Noah", "James", "Rina", "Ella", "Mariah", "Frank", "Claudia",
    "Niki", "Vincent", "Kendrick", "Myrna", "Tom", "Wanda", "Benjamin", "Kiana", "Rachel",
)  # fmt: skip
"""Runway's preset voices (`voice: {type: "runway-preset", presetId}`), as the SDK's literal lists them."""


@dataclass(frozen=True, slots=True)
class SpeechModel:
    """A text-to-speech model: one preset voice speaks one `promptText` per task, priced by length."""

    id: str
    provider: str
    presets: tuple[str, ...]
    characters_per_credit: int
    summary: str
    prompt_limit: int = PROMPT_LIMIT
    endpoint: Endpoint = Endpoint.TEXT_TO_SPEECH

    def credits_for(self, text: str) -> int:
        """Credits for speaking `text` in one task: a credit per started block of characters
        (counted in UTF-16 units, as the limit is), and at least one."""
        return max(1, math.ceil(utf16_len(text) / self.characters_per_credit))


@dataclass(frozen=True, slots=True)
class SoundModel:
    """A sound-effect model: a described sound of a given length, looping seamlessly if asked."""

    id: str
    provider: str
    min_seconds: float
    max_seconds: float
    credits_per_sound: int
    summary: str
    prompt_limit: int = PROMPT_LIMIT
    endpoint: Endpoint = Endpoint.SOUND_EFFECT


SPEECH_MODEL = SpeechModel(
    id="eleven_multilingual_v2",
    provider=RUNWAY,
    presets=RUNWAY_VOICE_PRESETS,
    characters_per_credit=50,
    summary="ElevenLabs Multilingual v2 through Runway: preset voices, about a credit per 50 characters",
)
"""Dialogue: the model whose request takes only text and a preset voice (the newer eleven_v3 and
v4 add language, speed and continuity knobs this project does not use yet)."""

SOUND_MODEL = SoundModel(
    id="eleven_text_to_sound_v2",
    provider=RUNWAY,
    min_seconds=0.5,
    max_seconds=30.0,
    # Runway's figure is "1-2 credits" a sound; the estimate takes the higher, so a budget check
    # never passes a film its sound then takes over the budget.
    credits_per_sound=2,
    summary="ElevenLabs Text to Sound v2 through Runway: ambience and effects of 0.5-30 s, 1-2 credits",
)
"""Ambience and effects per scene."""


RETIRED_MODELS: Mapping[str, str] = MappingProxyType(
    {"gen3a_turbo": "Runway has retired gen3a_turbo and its API refuses it"}
)

_DEFAULT_MODELS = MappingProxyType({RUNWAY: DEFAULT_MODEL, ANIMATIC: "animatic"})


def _known_models() -> str:
    return "; ".join(
        f"{', '.join(model.id for model in models_for(provider))} ({provider})" for provider in PROVIDERS
    )


def get_model(model_id: str) -> VideoModel:
    """The video model called `model_id` (case and surrounding spaces ignored)."""
    key = model_id.strip().lower()
    if key in MODELS:
        return MODELS[key]
    if key in RETIRED_MODELS:
        reason = f"{RETIRED_MODELS[key]}; use {DEFAULT_MODEL} instead"
    elif key in IMAGE_MODELS:
        reason = f"{key} makes keyframe images, not video"
    else:
        reason = "not in the catalog"
    raise UnknownModelError(f"unknown model {model_id!r}: {reason}. Known models: {_known_models()}")


def get_image_model(model_id: str = KEYFRAME_MODEL) -> ImageModel:
    key = model_id.strip().lower()
    if key in IMAGE_MODELS:
        return IMAGE_MODELS[key]
    raise UnknownModelError(
        f"unknown image model {model_id!r}. Known image models: {', '.join(IMAGE_MODELS)}"
    )


def _check_provider(provider: str) -> str:
    key = provider.strip().lower()
    if key not in PROVIDERS:
        raise UnknownModelError(f"unknown provider {provider!r}. Known providers: {', '.join(PROVIDERS)}")
    return key


def models_for(provider: str) -> tuple[VideoModel, ...]:
    """The video models of `provider`, default first."""
    key = _check_provider(provider)
    return tuple(model for model in _VIDEO_MODELS if model.provider == key)


def default_model(provider: str = RUNWAY) -> VideoModel:
    return MODELS[_DEFAULT_MODELS[_check_provider(provider)]]


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Runway counts prompts (a character outside the BMP is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def nearest_duration(model: VideoModel, seconds: float) -> int:
    """The allowed clip length closest to `seconds`; a tie goes to the longer clip."""
    return min(model.durations, key=lambda allowed: (abs(allowed - seconds), -allowed))


def check_ratio(model: VideoModel, ratio: str, endpoint: Endpoint | str | None = None) -> str:
    """`ratio` if `model` accepts it on `endpoint` (default: the one shots use), else InvalidOptionError."""
    where = model.endpoint if endpoint is None else endpoint
    allowed = model.ratios_for(where)
    if ratio not in allowed:
        raise InvalidOptionError(
            f"ratio {ratio!r} is not available for {model.id} ({where}); choose one of: {', '.join(allowed)}"
        )
    return ratio
