"""Runway, through its own `runwayml` SDK: one clip per shot, submitted and polled, never waited on.

Two ways to film a shot (PROVIDERS.md has the API as it is today):

- **text_to_video** (`gen4.5`, the default, and `veo3.1` / `veo3.1_fast`): one task.
- **the keyframe path** (`gen4_turbo`, which only animates images, or any video whose job asks
  for a keyframe): `text_to_image` with `gen4_image` makes the first frame, then `image_to_video`
  animates it. The Step Functions Wait loop is the only poller, so the two tasks are chained
  across polls rather than waited for: `submit` creates the image task and returns the id
  `keyframe/<video>/<scene>/<image task>`; the poll that finds the image SUCCEEDED loads the
  scene's job, creates the `image_to_video` task from the image's output URL (at once: it
  expires) and reports RUNNING under the id `keyframe/<video>/<scene>/<image task>/<image
  credits>/<video task>`. The workflow polls, stores and cancels under the id a poll reports, so
  from then on it follows the video task. Progress is the image's for the first fifth of the bar,
  the video's for the rest; credits are the image's plus the video's.

Errors are classified here, once, into the workflow's typed errors (the ASL matches class
names). A create is paid at most once, so only an answer that proves Runway accepted nothing is
retried: a 429 or a 503 with Retry-After (Runway, or its edge, turning the request away before
it starts anything) and a connection that failed before the request was sent are
`TransientProviderError`, retried a bounded number of times by the workflow. Runway refusing
the request (400/401/403/404/422, any 4xx but 408 and 429) is `PermanentProviderError` (code
`INVALID_REQUEST`, `AUTH`, `FORBIDDEN`, `NOT_FOUND`), and a 429 without Retry-After is its daily
generation cap (`DailyCapError`), neither ever retried. Anything else once the request was sent
(another 5xx, a 503 without Retry-After, a 408, a read timeout, a dropped connection, an answer
that cannot be read) may come after Runway made the task: a gateway's 502 or 504 does, and so
does a timeout. That is `SubmitInDoubtError` (failure code SUBMIT_IN_DOUBT): the scene fails and
is never resubmitted automatically, rather than risk paying twice. The SDK's own retries are off
for creates: a paid create is never repeated behind our back. The keyframe path's second create
follows the same rules under its once-only claim, which only a transient answer gives back.
Status reads are idempotent: the SDK may retry them once, and 5xx, 429 and connection errors
are transient. A task Runway no longer knows (404) was cancelled or deleted: CANCELLED.

Voices and sound are tasks like a shot's video, created with the same classification and polled,
cancelled and read through the same `status`, `cancel` and output code: `submit_speech` sends a
line (within `eleven_multilingual_v2`'s 1000 UTF-16 units; `audio_tasks.speech_requests` splits a
longer one at sentence ends) to `text_to_speech` in a preset voice, `submit_sound` a described
sound of 0.5-30 s, looped for ambience, to `sound_effect`; `open_audio` streams the result
(`audio/*`). Models that make their own sound (veo3.1, veo3.1_fast) always get `audio` sent, true
only when the job asks for the model's sound: Runway's default is true, at twice the price.

The account (`account`, for the film's preflight) is one idempotent `GET /v1/organization`
through the reader client, classified like a status read and kept for `ACCOUNT_CACHE_SECONDS`:
Runway keys its tier limits and daily usage by the model ids the catalog uses, so one answer
serves a film's video model and its keyframe model.

Output URLs are signed and expire: `open_output` reads the task again and streams its first
output through `download.open_download` straight away. No URL is stored, returned or logged.
The API key comes from `secrets.runway_api_key()` (Secrets Manager on AWS, `RUNWAYML_API_SECRET`
locally), is given to the SDK only, and is read again after Runway refuses it (a rotated key).
The base URL is the SDK's own setting (`RUNWAYML_BASE_URL`), so tests point the unmodified SDK
at a local fake.

The SDK is imported on first use, so a process that never calls Runway never loads it.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, BinaryIO

from script_to_film.adapters import secrets
from script_to_film.adapters.download import DownloadPolicy, DropQueryStrings
from script_to_film.domain import catalog
from script_to_film.domain.audio_tasks import SoundRequest, SpeechRequest
from script_to_film.domain.catalog import Endpoint, VideoModel
from script_to_film.domain.errors import (
    InvalidInputError,
    NoOutputError,
    PermanentProviderError,
    ProviderError,
    SubmitInDoubtError,
    TransientProviderError,
)
from script_to_film.domain.models import SceneJob
from script_to_film.domain.ports import AccountLimits, Claims, ProviderTask, TaskState

if TYPE_CHECKING:
    from runwayml import APIError, RunwayML
    from runwayml.types import OrganizationRetrieveResponse

KEYFRAME_SHARE = 0.2
"""The share of the progress bar given to making the keyframe image (it takes seconds, the video
minutes)."""

CREATE_TIMEOUT_SECONDS = 30.0
"""A create answers in well under a second; SubmitScene's Task allows 60 s."""

READ_TIMEOUT_SECONDS = 8.0
READ_RETRIES = 1
"""A status read or a cancel may be retried once by the SDK: two tries of 8 s and the SDK's short
backoff fit in CheckScene's 30-second Task timeout."""

CONNECT_TIMEOUT_SECONDS = 5.0
DETAIL_LIMIT = 300

AUDIO_CONTENT_TYPES = frozenset({"audio/*", "application/octet-stream", "binary/octet-stream"})
"""Runway serves speech and sound as `audio/mpeg`; a CDN may call any file generic binary."""
AUDIO_MAX_BYTES = 64 * 1024 * 1024
"""30 s of sound or a 1000-character line is well under a megabyte as MP3, even as WAV."""

ACCOUNT_CACHE_SECONDS = 60.0
"""How long one account answer is used: a film's preflight asks once for all its models, and
balances and daily counts older than a minute are not trusted for the next film."""


class DailyCapError(PermanentProviderError):
    """Runway refused a create with 429 and no Retry-After: the account's daily generation cap is
    reached. Retrying today only wastes calls (failure code DAILY_CAP)."""


# Requests ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateRequest:
    """One create call: the endpoint and the SDK's keyword arguments (snake_case: the SDK sends
    them as the API's camelCase JSON)."""

    endpoint: Endpoint
    params: dict[str, Any]


def uses_keyframe(job: SceneJob) -> bool:
    """Whether the shot is filmed from a keyframe image: asked for, or the model only animates images."""
    return job.keyframe or _video_model(job).needs_keyframe


def video_request(job: SceneJob) -> CreateRequest:
    """The video create for `job`, with only the parameters the catalog allows for its model.

    On the keyframe path this is the `image_to_video` call without its `prompt_image`, which
    exists only once the keyframe is made. Anything the catalog would refuse raises
    `PermanentProviderError` here, before a single credit is spent.
    """
    model = _video_model(job)
    endpoint = Endpoint.IMAGE_TO_VIDEO if uses_keyframe(job) else Endpoint.TEXT_TO_VIDEO
    if endpoint not in model.endpoints:
        raise PermanentProviderError(
            f"{model.id} has no {endpoint} endpoint (it offers {', '.join(model.endpoints)})",
            code="INPUT.ENDPOINT",
        )
    shot = job.shot
    try:
        catalog.check_ratio(model, shot.ratio, endpoint)
    except InvalidInputError as error:
        raise PermanentProviderError(str(error), code="INPUT.RATIO") from error
    if shot.duration not in model.durations:
        allowed = ", ".join(map(str, model.durations))
        raise PermanentProviderError(
            f"{model.id} makes clips of {allowed} seconds, not {shot.duration}", code="INPUT.DURATION"
        )
    _check_prompt(shot.prompt, model.prompt_limit)
    params: dict[str, Any] = {
        "model": model.id,
        "prompt_text": shot.prompt,
        "ratio": shot.ratio,
        "duration": shot.duration,
    }
    if model.makes_audio:
        # Left out, Runway makes the sound and charges for it: the choice is always sent.
        params["audio"] = job.model_audio
    elif job.model_audio:
        raise PermanentProviderError(f"{model.id} makes no sound of its own", code="INPUT.AUDIO")
    return CreateRequest(endpoint, params)


def speech_request(request: SpeechRequest) -> CreateRequest:
    """The `text_to_speech` call speaking `request.text` in the preset voice `request.voice`."""
    model = catalog.SPEECH_MODEL
    _check_prompt(request.text, model.prompt_limit)
    if request.voice not in model.presets:
        raise PermanentProviderError(
            f"{request.voice!r} is not one of Runway's preset voices", code="INPUT.VOICE"
        )
    voice = {"type": "runway-preset", "preset_id": request.voice}
    return CreateRequest(model.endpoint, {"model": model.id, "prompt_text": request.text, "voice": voice})


def sound_request(request: SoundRequest) -> CreateRequest:
    """The `sound_effect` call for the described sound, of its length, looping if asked."""
    model = catalog.SOUND_MODEL
    _check_prompt(request.prompt, model.prompt_limit)
    params = {
        "model": model.id,
        "prompt_text": request.prompt,
        "duration": request.duration,
        "loop": request.loop,
    }
    return CreateRequest(model.endpoint, params)


def keyframe_request(job: SceneJob) -> CreateRequest:
    """The `text_to_image` call that makes the shot's first frame, at the image ratio nearest the video's."""
    image_model = catalog.get_image_model()
    _check_prompt(job.shot.prompt, image_model.prompt_limit)
    params = {
        "model": image_model.id,
        "prompt_text": job.shot.prompt,
        "ratio": keyframe_ratio(job.shot.ratio),
    }
    return CreateRequest(Endpoint.TEXT_TO_IMAGE, params)


def keyframe_ratio(video_ratio: str) -> str:
    """The keyframe model's 720p ratio closest in shape to `video_ratio` (720p images cost least,
    and image_to_video fits the image to the video's ratio anyway)."""
    wanted = _aspect(video_ratio)
    ratios = catalog.get_image_model().ratios_720p
    return min(ratios, key=lambda ratio: abs(math.log(_aspect(ratio) / wanted)))


def _aspect(ratio: str) -> float:
    width, _, height = ratio.partition(":")
    try:
        value = int(width) / int(height)
    except (ValueError, ZeroDivisionError):
        raise PermanentProviderError(f"{ratio!r} is not a ratio like 1280:720", code="INPUT.RATIO") from None
    if value <= 0:
        raise PermanentProviderError(f"{ratio!r} is not a ratio like 1280:720", code="INPUT.RATIO")
    return value


def _video_model(job: SceneJob) -> VideoModel:
    try:
        model = catalog.get_model(job.shot.model)
    except InvalidInputError as error:
        raise PermanentProviderError(str(error), code="INPUT.MODEL") from error
    if model.provider != catalog.RUNWAY:
        raise PermanentProviderError(
            f"{model.id} is a {model.provider} model, not a Runway one", code="INPUT.MODEL"
        )
    return model


def _check_prompt(prompt: str, limit: int) -> None:
    if not prompt.strip():
        raise PermanentProviderError("the prompt is empty", code="INPUT.PROMPT")
    units = catalog.utf16_len(prompt)
    if units > limit:
        raise PermanentProviderError(
            f"the prompt is {units} UTF-16 code units, over Runway's limit of {limit}", code="INPUT.PROMPT"
        )


# Task ids of the keyframe path -------------------------------------------------------------------

_ID_PART = r"[A-Za-z0-9_-]{1,80}"
_KEYFRAME_ID = re.compile(
    rf"keyframe/(?P<video>{_ID_PART})/(?P<scene>[1-9][0-9]{{0,5}})(?:\.(?P<shot>[1-9][0-9]{{0,2}}))?"
    rf"/(?P<image>{_ID_PART})"
    rf"(?:/(?P<credits>[0-9]{{1,9}})/(?P<clip>{_ID_PART}))?"
)


@dataclass(frozen=True, slots=True)
class KeyframeTask:
    """The id of a shot filmed from a keyframe: which job it films, the image task, and once the
    image is made, what it cost and the video task animating it."""

    video_id: str
    scene: int
    image_task: str
    image_credits: int | None = None
    video_task: str | None = None
    shot: int = 1
    """Which shot of the scene (written `scene.shot` after the first, so older ids still read)."""

    def __str__(self) -> str:
        where = f"{self.scene}" if self.shot == 1 else f"{self.scene}.{self.shot}"
        base = f"keyframe/{self.video_id}/{where}/{self.image_task}"
        return base if self.video_task is None else f"{base}/{self.image_credits or 0}/{self.video_task}"

    @classmethod
    def parse(cls, task_id: str) -> KeyframeTask | None:
        """The keyframe task `task_id` names, or None for a plain Runway task id."""
        if not task_id.startswith("keyframe/"):
            return None
        match = _KEYFRAME_ID.fullmatch(task_id)
        if match is None:
            raise PermanentProviderError(f"{task_id!r} is not a keyframe task id", code="UNKNOWN_TASK")
        credits = match["credits"]
        return cls(
            video_id=match["video"],
            scene=int(match["scene"]),
            shot=int(match["shot"] or 1),
            image_task=match["image"],
            image_credits=int(credits) if credits is not None else None,
            video_task=match["clip"],
        )


# Task statuses -----------------------------------------------------------------------------------

_STATES = {state.value: state for state in TaskState}


def task_from_response(task_id: str, response: Any, *, source: str = "Runway") -> ProviderTask:
    """A `tasks.retrieve` answer as a ProviderTask: the six statuses, progress, failure, credits.

    Credits are the estimate (`estimatedCost`) while the task is queued or running and the charge
    (`cost`) once it is final. The output URLs are left out on purpose. A status this code does not
    know is treated as work still under way, which the scene timeout bounds.
    """
    state = _STATES.get(str(getattr(response, "status", "")), TaskState.RUNNING)
    if state.is_final:
        credits = getattr(getattr(response, "cost", None), "credits", None)
    else:
        credits = getattr(getattr(response, "estimated_cost", None), "credits", None)
    progress: float | None = None
    if state is TaskState.SUCCEEDED:
        progress = 1.0
    elif state is TaskState.RUNNING:
        reported = getattr(response, "progress", None)
        progress = min(1.0, max(0.0, float(reported))) if isinstance(reported, int | float) else None
    elif state in (TaskState.PENDING, TaskState.THROTTLED):
        progress = 0.0
    failure = failure_code = None
    if state is TaskState.FAILED:
        failure_code = getattr(response, "failure_code", None) or None
        failure = f"{source}: {getattr(response, 'failure', None) or 'the task failed'}"
    return ProviderTask(
        id=task_id,
        state=state,
        progress=progress,
        failure=failure,
        failure_code=failure_code,
        credits=float(credits) if isinstance(credits, int | float) else None,
    )


def _gone(task_id: str) -> ProviderTask:
    return ProviderTask(
        id=task_id,
        state=TaskState.CANCELLED,
        failure="Runway no longer has this task: it was cancelled or deleted",
    )


def _first_output(response: Any) -> str | None:
    output = getattr(response, "output", None)
    if isinstance(output, list) and output and isinstance(output[0], str) and output[0]:
        return output[0]
    return None


# The account -------------------------------------------------------------------------------------


def limits_from_organization(organization: OrganizationRetrieveResponse, model: str) -> AccountLimits:
    """One model's limits from a `GET /v1/organization` answer (tier and usage keyed by model id).

    A model the tier does not list has no known limit (and says so); a model missing from the
    usage has made nothing in the past 24 hours. An answer without its balance, tier or usage
    cannot be used (BAD_RESPONSE).
    """
    balance = getattr(organization, "credit_balance", None)
    tiers = getattr(getattr(organization, "tier", None), "models", None)
    usage = getattr(getattr(organization, "usage", None), "models", None)
    if not isinstance(balance, int | float) or not isinstance(tiers, dict) or not isinstance(usage, dict):
        raise PermanentProviderError(
            "Runway's account answer has no credit balance, tier or usage", code="BAD_RESPONSE"
        )
    tier = tiers.get(model)
    used = getattr(usage.get(model), "daily_generations", 0)
    return AccountLimits(
        provider="runway",
        model=model,
        max_concurrent=_count(getattr(tier, "max_concurrent_generations", None)),
        daily_limit=_count(getattr(tier, "max_daily_generations", None)),
        daily_used=_count(used) or 0,
        credit_balance=float(balance),
        source="provider",
        note=None if tier is not None else f"Runway's tier lists no limits for {model}",
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# Error classification ----------------------------------------------------------------------------


CreateFailure = ProviderError | SubmitInDoubtError


def create_error(error: APIError, what: str) -> CreateFailure:
    """The workflow's error for a failed create of `what` (e.g. "text_to_video gen4.5"): transient
    only when the answer proves nothing was accepted, in doubt whenever it may have been."""
    import runwayml

    if isinstance(error, runwayml.APIStatusError):
        status = error.status_code
        detail = _detail(error)
        retry_after = _retry_after(error)
        if status == 429 and retry_after is None:
            return DailyCapError(
                f"daily generation cap reached: Runway answered {what} with 429 and no Retry-After{detail}",
                code="DAILY_CAP",
            )
        if status == 429:
            return TransientProviderError(
                f"Runway is rate limiting {what} (429, retry after {retry_after}){detail}",
                code="RATE_LIMITED",
            )
        if status == 503 and retry_after is not None:
            return TransientProviderError(
                f"Runway is unavailable for {what} (503, retry after {retry_after}){detail}",
                code="UNAVAILABLE",
            )
        if 400 <= status < 500 and status != 408:
            codes = {
                400: "INVALID_REQUEST",
                401: "AUTH",
                403: "FORBIDDEN",
                404: "NOT_FOUND",
                422: "INVALID_REQUEST",
            }
            return PermanentProviderError(
                f"Runway refused {what} with HTTP {status}{detail}", code=codes.get(status, f"HTTP_{status}")
            )
        return SubmitInDoubtError(
            f"Runway answered {what} with HTTP {status}{detail} once it had the request, which does "
            "not say whether a paid task was started; it is not sent again"
        )
    if isinstance(error, runwayml.APIConnectionError):
        if _never_reached_runway(error):
            return TransientProviderError(
                f"could not connect to Runway for {what} ({_cause(error)})", code="CONNECTION"
            )
        return SubmitInDoubtError(
            f"{what} was sent to Runway but no answer came back ({_cause(error)}); it may have started "
            "a paid task, so it is not sent again"
        )
    return SubmitInDoubtError(
        f"Runway's answer to {what} could not be read ({type(error).__name__}); it may have started a "
        "paid task, so it is not sent again"
    )


def read_error(error: APIError, what: str) -> ProviderError:
    """The workflow's error for a failed status read or cancel (both safe to repeat)."""
    import runwayml

    if isinstance(error, runwayml.APIStatusError):
        status = error.status_code
        detail = _detail(error)
        if status in (408, 429) or status >= 500:
            return TransientProviderError(
                f"Runway answered {what} with HTTP {status}{detail}", code=f"HTTP_{status}"
            )
        code = {401: "AUTH", 403: "FORBIDDEN"}.get(status, f"HTTP_{status}")
        return PermanentProviderError(f"Runway refused {what} with HTTP {status}{detail}", code=code)
    if isinstance(error, runwayml.APIConnectionError):
        return TransientProviderError(
            f"could not reach Runway for {what} ({_cause(error)})", code="CONNECTION"
        )
    return PermanentProviderError(
        f"Runway's answer to {what} could not be read ({error})", code="BAD_RESPONSE"
    )


def _detail(error: Any) -> str:
    """Runway's own explanation (`{"error": "..."}`), shortened; never headers or the request."""
    body = getattr(error, "body", None)
    message = body.get("error") if isinstance(body, dict) else None
    if not isinstance(message, str) or not message.strip():
        return ""
    text = " ".join(message.split())
    return f": {text[:DETAIL_LIMIT]}"


def _retry_after(error: Any) -> str | None:
    headers = error.response.headers
    for name in ("retry-after-ms", "retry-after"):
        value = headers.get(name)
        if value is not None and value.strip():
            return f"{value.strip()} ms" if name == "retry-after-ms" else f"{value.strip()} s"
    return None


def _never_reached_runway(error: BaseException) -> bool:
    """Whether the request certainly never reached Runway: it failed while connecting."""
    import httpx

    return isinstance(error.__cause__, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


def _cause(error: BaseException) -> str:
    cause = error.__cause__
    return type(cause).__name__ if cause is not None else type(error).__name__


# Logs --------------------------------------------------------------------------------------------


# The SDK logs each request's options at DEBUG, an image_to_video's `promptImage` among them.
logging.getLogger("runwayml._base_client").addFilter(DropQueryStrings(stop_at="'"))


# The provider ------------------------------------------------------------------------------------

JobLoader = Callable[[str, int], SceneJob]


def load_job_from_store(video_id: str, scene: int) -> SceneJob:
    """The job of a scene, from the project's bucket (the keyframe path needs it when the image is made)."""
    from script_to_film.adapters.aws import AwsClients, AwsSettings
    from script_to_film.adapters.objects import ObjectStore
    from script_to_film.adapters.repositories.videos import VideoRepository

    aws = AwsClients(AwsSettings.from_env())
    return VideoRepository(aws, ObjectStore(aws)).get_job(video_id, scene)


def claims_from_store() -> Claims:
    """The project's once-only claims, in its table."""
    from script_to_film.adapters.aws import AwsClients, AwsSettings
    from script_to_film.adapters.repositories.claims import ClaimRepository

    return ClaimRepository(AwsClients(AwsSettings.from_env()))


class RunwayProvider:
    """The Runway provider: `submit`, `status`, `cancel` and `open_output` over the `runwayml` SDK.

    One instance per process (the provider registry's), safe to share between threads; its SDK
    clients are built on first use with the key from `api_key`.
    """

    name = "runway"

    def __init__(
        self,
        *,
        api_key: Callable[[], str] = secrets.runway_api_key,
        load_job: JobLoader = load_job_from_store,
        claims: Callable[[], Claims] = claims_from_store,
        create_timeout_seconds: float = CREATE_TIMEOUT_SECONDS,
        read_timeout_seconds: float = READ_TIMEOUT_SECONDS,
        account_cache_seconds: float = ACCOUNT_CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._api_key = api_key
        self._load_job = load_job
        self._claims_factory = claims
        self._claims: Claims | None = None
        self._create_timeout = create_timeout_seconds
        self._read_timeout = read_timeout_seconds
        self._lock = threading.Lock()
        self._clients: tuple[RunwayML, RunwayML] | None = None
        self._account_cache_seconds = account_cache_seconds
        self._clock = clock
        # Held while asking, so threads preflighting at once share one request.
        self._account_lock = threading.Lock()
        self._organization: tuple[float, OrganizationRetrieveResponse] | None = None

    # SDK clients ---------------------------------------------------------------------------------

    def _client_pair(self) -> tuple[RunwayML, RunwayML]:
        """(reader, creator): one connection pool; creates never retried by the SDK."""
        with self._lock:
            if self._clients is None:
                import httpx
                import runwayml

                reader = runwayml.RunwayML(
                    api_key=self._api_key(),
                    max_retries=READ_RETRIES,
                    timeout=httpx.Timeout(self._read_timeout, connect=CONNECT_TIMEOUT_SECONDS),
                )
                creator = reader.with_options(
                    max_retries=0,
                    timeout=httpx.Timeout(self._create_timeout, connect=CONNECT_TIMEOUT_SECONDS),
                )
                self._clients = (reader, creator)
            return self._clients

    def _forget_key(self, error: CreateFailure) -> None:
        # A refused key may have been rotated in Secrets Manager: read it again on the next call.
        if isinstance(error, ProviderError) and error.code == "AUTH":
            with self._lock:
                self._clients = None

    def _create(self, request: CreateRequest) -> str:
        import runwayml

        creator = self._client_pair()[1]
        what = f"{request.endpoint} {request.params.get('model')}"
        try:
            # Each endpoint is the SDK resource of the same name (client.text_to_speech, …).
            created: Any = getattr(creator, request.endpoint.value).create(**request.params)
        except runwayml.APIError as error:
            failure = create_error(error, what)
            self._forget_key(failure)
            raise failure from error
        return str(created.id)

    def _retrieve(self, task_id: str) -> Any | None:
        """The task as Runway reports it, or None when Runway does not know it (404)."""
        import runwayml

        try:
            return self._client_pair()[0].tasks.retrieve(task_id)
        except runwayml.NotFoundError:
            return None
        except runwayml.APIError as error:
            failure = read_error(error, f"the status of task {task_id}")
            self._forget_key(failure)
            raise failure from error

    # The protocol --------------------------------------------------------------------------------

    def submit(self, job: SceneJob) -> str:
        """Create the shot's task (its keyframe's, on the keyframe path) and return its id."""
        video = video_request(job)  # checked first, so a keyframe is never paid for a video refused later
        if video.endpoint is Endpoint.IMAGE_TO_VIDEO:
            if not re.fullmatch(_ID_PART, job.video_id):
                raise PermanentProviderError(f"video id {job.video_id!r} cannot name a keyframe task")
            image_task = self._create(keyframe_request(job))
            return str(
                KeyframeTask(
                    video_id=job.video_id, scene=job.scene.number, shot=job.shot.number, image_task=image_task
                )
            )
        return self._create(video)

    def status(self, task_id: str) -> ProviderTask:
        """The task now; on the keyframe path, the poll that finds the image made starts the video."""
        keyframe = KeyframeTask.parse(task_id)
        if keyframe is None:
            response = self._retrieve(task_id)
            return _gone(task_id) if response is None else task_from_response(task_id, response)
        if keyframe.video_task is None:
            return self._keyframe_status(keyframe)
        response = self._retrieve(keyframe.video_task)
        if response is None:
            return _gone(task_id)
        video = task_from_response(task_id, response)
        progress = None if video.progress is None else KEYFRAME_SHARE + (1 - KEYFRAME_SHARE) * video.progress
        credits = (keyframe.image_credits or 0) + (video.credits or 0)
        return video.model_copy(
            update={"progress": round(progress, 3) if progress is not None else None, "credits": credits}
        )

    def submit_speech(self, request: SpeechRequest) -> str:
        """Create the task speaking one piece of a line; its id (polled with `status`)."""
        return self._create(speech_request(request))

    def submit_sound(self, request: SoundRequest) -> str:
        """Create the task making one sound (a scene's ambience loop); its id."""
        return self._create(sound_request(request))

    def _keyframe_status(self, keyframe: KeyframeTask) -> ProviderTask:
        task_id = str(keyframe)
        response = self._retrieve(keyframe.image_task)
        if response is None:
            return _gone(task_id)
        image = task_from_response(task_id, response, source="Runway (keyframe image)")
        if image.state is not TaskState.SUCCEEDED:
            progress = None if image.progress is None else round(KEYFRAME_SHARE * image.progress, 3)
            return image.model_copy(update={"progress": progress})
        url = _first_output(response)
        if url is None:
            return image.model_copy(
                update={
                    "state": TaskState.FAILED,
                    "failure_code": "NO_OUTPUT",
                    "failure": "Runway's keyframe image has no output",
                }
            )
        # The keyframe is made: animate it now, while its URL is fresh, under a once-only claim, so
        # a poll retried after the create (a Lambda timeout, say) finds the video task, not a second bill.
        claims = self._claims_store()
        claim = f"KEYFRAME#{keyframe.scene:03d}#{keyframe.image_task}"
        what = f"scene {keyframe.scene}'s video from keyframe {keyframe.image_task}"
        video_task = claims.claim_once(keyframe.video_id, claim, what)
        if video_task is None:
            job = self._load_job(keyframe.video_id, keyframe.scene).at(keyframe.shot)
            request = video_request(job)
            try:
                video_task = self._create(replace(request, params={**request.params, "prompt_image": url}))
            except TransientProviderError:
                # Runway's answer proves nothing was accepted: the retried poll may create. Any other
                # failure (in doubt, or refused) leaves the claim taken and never recorded, so a
                # retried poll raises SubmitInDoubtError instead of creating again.
                claims.release_claim(keyframe.video_id, claim)
                raise
            claims.record_claim(keyframe.video_id, claim, video_task)
        image_credits = int(image.credits or 0)
        advanced = replace(keyframe, image_credits=image_credits, video_task=video_task)
        return ProviderTask(
            id=str(advanced), state=TaskState.RUNNING, progress=KEYFRAME_SHARE, credits=image_credits
        )

    def _claims_store(self) -> Claims:
        with self._lock:
            if self._claims is None:
                self._claims = self._claims_factory()
            return self._claims

    def cancel(self, task_id: str) -> None:
        """Cancel the task (the stage under way, on the keyframe path); one Runway no longer has is fine."""
        import runwayml

        keyframe = KeyframeTask.parse(task_id)
        target = task_id if keyframe is None else keyframe.video_task or keyframe.image_task
        try:
            self._client_pair()[0].tasks.delete(target)
        except runwayml.NotFoundError:
            return
        except runwayml.APIError as error:
            failure = read_error(error, f"cancelling task {target}")
            self._forget_key(failure)
            raise failure from error

    def account(self, model: str) -> AccountLimits:
        """The account's limits for `model` (a catalog id: gen4.5, veo3.1, gen4_turbo, gen4_image…)."""
        return limits_from_organization(self._organization_now(), model)

    def _organization_now(self) -> OrganizationRetrieveResponse:
        import runwayml

        with self._account_lock:
            cached = self._organization
            if cached is not None and self._clock() - cached[0] < self._account_cache_seconds:
                return cached[1]
            try:
                organization = self._client_pair()[0].organization.retrieve()
            except runwayml.APIError as error:
                failure = read_error(error, "the account's limits")
                self._forget_key(failure)
                raise failure from error
            self._organization = (self._clock(), organization)
            return organization

    @contextmanager
    def open_output(self, task: ProviderTask, job: SceneJob) -> Iterator[BinaryIO]:
        """The finished clip as a stream, from a URL read from Runway just now (they expire)."""
        keyframe = KeyframeTask.parse(task.id)
        video_task = task.id if keyframe is None else keyframe.video_task
        if video_task is None:
            raise PermanentProviderError(f"task {task.id} has made its keyframe but no video yet")
        with self._open_task_output(task.id, video_task, None) as stream:
            yield stream

    @contextmanager
    def open_audio(self, task: ProviderTask) -> Iterator[BinaryIO]:
        """The finished speech or sound as a stream (Runway serves MP3), from a fresh URL."""
        policy = DownloadPolicy.from_env()
        policy = policy.model_copy(
            update={"content_types": AUDIO_CONTENT_TYPES, "max_bytes": AUDIO_MAX_BYTES}
        )
        with self._open_task_output(task.id, task.id, policy) as stream:
            yield stream

    @contextmanager
    def _open_task_output(
        self, shown_id: str, runway_task: str, policy: DownloadPolicy | None
    ) -> Iterator[BinaryIO]:
        from script_to_film.adapters.download import open_download

        response = self._retrieve(runway_task)
        if response is None:
            raise PermanentProviderError(f"Runway no longer has task {runway_task}", code="NOT_FOUND")
        current = task_from_response(shown_id, response)
        if current.state is not TaskState.SUCCEEDED:
            raise PermanentProviderError(f"task {runway_task} is {current.state.value}, not SUCCEEDED")
        url = _first_output(response)
        if url is None:
            raise NoOutputError(f"task {runway_task} SUCCEEDED without an output", code="NO_OUTPUT")
        with open_download(url, policy) as stream:
            yield stream
