"""A fake Runway API on 127.0.0.1, speaking the real HTTP surface.

The `runwayml` SDK runs against it unmodified with `RUNWAYML_BASE_URL` pointed at `base_url`
(`fake.env()` gives that, a dummy key and the download allow-list). What it does, as the API does:

- `POST /v1/text_to_video`, `/v1/image_to_video`, `/v1/text_to_image` take camelCase JSON and
  answer `{"id"}`; `GET /v1/tasks/{id}` answers the task (`status`, `createdAt`, `progress`,
  `estimatedCost`/`cost`, `output`, `failure`, `failureCode`); `DELETE /v1/tasks/{id}` cancels a
  task still under way (or deletes a finished one) with 204, after which the task is 404.
- Every API call needs `Authorization: Bearer <key>` and `X-Runway-Version: 2024-11-06` (401).
- Bodies are validated like the real API: a retired model (`gen3a_turbo`) is 403 "Model variant
  … is not available"; an unknown model, a ratio the model does not make ('16:9'), a duration it
  does not make, a missing or over-long `promptText` (over 1000 UTF-16 code units), a missing
  `promptImage` and any field the endpoint does not take (`watermark`) are 400 with `{"error"}`.
- Tasks run at most `concurrency` at a time; beyond that they are THROTTLED, queued in order and
  started as slots free up. A started task is PENDING for `pending_seconds`, RUNNING with
  `progress` for its latency, then SUCCEEDED (or FAILED, as its rule says).
- Outputs are served by the fake itself under signed URLs that expire `output_ttl` seconds after
  the task was read (403 after), as Runway's do; videos are real MP4s (the animatic renderer at
  the requested duration), keyframes real PNGs, speech and sound real MP3s (`audio/mpeg`).
- Audio, as the SDK's `text_to_speech_create_params` and `sound_effect_create_params` type it:
  `POST /v1/text_to_speech` takes `eleven_multilingual_v2` with a non-empty `promptText` of at
  most 1000 UTF-16 code units and `voice: {"type": "runway-preset", "presetId"}`, the preset one
  of the SDK's literal list; its MP3 is a voiced, syllable-paced tone as long as the text takes to
  say at `SPEAKING_CHARS_PER_SECOND`, and it costs a credit per started 50 characters.
  `POST /v1/sound_effect` takes `eleven_text_to_sound_v2` with `promptText`, an optional
  `duration` (a number, 0.5-30 s; `AUTO_SOUND_SECONDS` when left out) and `loop` (a bool); its
  MP3 is pink noise of that length, estimated at 2 credits and charged 1 up to 10 s, 2 beyond.
  Anything else (a missing voice, a voice type or preset the SDK does not list, a duration out of
  range, a field the model does not take) is 400 with `{"error"}`. Creates answer
  `{"id", "estimatedCost": {"credits"}}`, as 5.24's create responses type them.
- veo3.1 and veo3.1_fast take `audio` (a bool). Runway defaults it to true and charges the
  with-sound price (40 and 15 credits a second, against 20 and 10 without), and the clip then has
  a sound track (AAC, 48 kHz stereo: noise in this fake); this fake refuses a
  veo create that leaves it out (400, its own check: `require_veo_audio`, on by default), so no
  code path can pay for sound it did not ask for.

What a test controls: `fake.on(words, Behaviour(...), endpoint=None)` for tasks whose prompt
contains `words` (latency, SAFETY.* or INTERNAL.* failures for every try or the first N, never
finishing, or a create accepted and then answered with an error status, as a gateway that lost
Runway's answer does), on one endpoint or all; `concurrency`; `daily_cap` (creates accepted
before 429 without Retry-After); `fail_next(n, status, kind, retry_after)` for bursts of 5xx or
429 answers given before anything is made; `create_delay` (the task is made, the answer comes
late: a client that gives up cannot know); `hold_until_created` (no task ends before that many
exist: queueing that does not depend on timing); `clock` (the fake's time). Every request is
logged in `calls`; `paid_creates()` are the creates that made a task, the ones Runway bills,
whatever their answer said.

The account, `GET /v1/organization`, answers as the SDK's `OrganizationRetrieveResponse` types
it: `creditBalance` (`credit_balance` less what the fake's tasks have been charged so far),
`tier` (`maxMonthlyCreditSpend`, and per model `maxConcurrentGenerations`, `maxDailyGenerations`:
`concurrency` and no daily limit unless `set_tier` says otherwise) and `usage` (per model,
`dailyGenerations`: `usage_before` plus the tasks the fake made in the last 24 hours of
`wall_clock`, listing only models with some). A model's `maxDailyGenerations` is enforced at
create with 429 and no Retry-After, as Runway does. `fail_next(…, kind="organization")` and
`drop_next` (the connection closed without an answer) make it fail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import struct
import tempfile
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_KEY = "key_fake_runway_0123456789abcdef"
SPEAKING_CHARS_PER_SECOND = 15.0
"""About 150 words a minute."""
AUTO_SOUND_SECONDS = 5.0
SOUND_CREDITS_ESTIMATED = 2
SOUND_SHORT_SECONDS = 10.0
"""A sound up to this long is charged 1 credit, a longer one 2 (Runway's "1-2 credits")."""
SPEECH_CHARS_PER_CREDIT = 50
RUNWAY_VERSION = "2024-11-06"
PROMPT_LIMIT = 1000
RETIRED = frozenset({"gen3a_turbo"})

_IMAGE_RATIOS = ("1280:720", "720:1280", "1104:832", "960:960", "832:1104", "1584:672")
_VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
_TWO_TO_TEN = tuple(range(2, 11))
_GEN4_IMAGE_720P = ("1280:720", "720:1280", "720:720", "960:720", "720:960", "1680:720")
_GEN4_IMAGE_1080P = (
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
)


@dataclass(frozen=True)
class ModelSpec:
    """What one model takes on one endpoint, from the SDK's request types."""

    ratios: tuple[str, ...]
    durations: tuple[int, ...] = ()
    duration_required: bool = False
    prompt_required: bool = True
    fields: frozenset[str] = frozenset({"model", "promptText", "ratio", "duration", "seed"})
    credits_per_second: int = 0
    credits_per_image: int = 0
    audio_credits_per_second: int | None = None
    """The price with the model's own sound (`audio` true, Runway's default); None: no `audio`."""


_VIDEO_FIELDS = frozenset({"model", "promptText", "ratio", "duration", "seed", "contentModeration"})
_VEO_FIELDS = frozenset({"model", "promptText", "ratio", "duration", "seed", "audio", "negativePrompt"})

ENDPOINTS: Mapping[str, Mapping[str, ModelSpec]] = {
    "text_to_video": {
        "gen4.5": ModelSpec(("1280:720", "720:1280"), _TWO_TO_TEN, True, True, _VIDEO_FIELDS, 12),
        "veo3.1": ModelSpec(_VEO_RATIOS, (4, 6, 8), False, True, _VEO_FIELDS, 20, 0, 40),
        "veo3.1_fast": ModelSpec(_VEO_RATIOS, (4, 6, 8), False, True, _VEO_FIELDS, 10, 0, 15),
    },
    "image_to_video": {
        "gen4.5": ModelSpec(_IMAGE_RATIOS, _TWO_TO_TEN, True, True, _VIDEO_FIELDS | {"promptImage"}, 12),
        "gen4_turbo": ModelSpec(_IMAGE_RATIOS, _TWO_TO_TEN, False, False, _VIDEO_FIELDS | {"promptImage"}, 5),
        "veo3.1": ModelSpec(_VEO_RATIOS, (4, 6, 8), False, False, _VEO_FIELDS | {"promptImage"}, 20, 0, 40),
        "veo3.1_fast": ModelSpec(
            _VEO_RATIOS, (4, 6, 8), False, False, _VEO_FIELDS | {"promptImage"}, 10, 0, 15
        ),
    },
    "text_to_image": {
        "gen4_image": ModelSpec(
            _GEN4_IMAGE_720P + _GEN4_IMAGE_1080P,
            fields=frozenset(
                {"model", "promptText", "ratio", "seed", "referenceImages", "contentModeration"}
            ),
            credits_per_image=5,
        ),
    },
}
"""Endpoint → model → what it takes and costs (1 credit = US$0.01; third-party price figures)."""

AUDIO_ENDPOINTS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "text_to_speech": {"eleven_multilingual_v2": frozenset({"model", "promptText", "voice"})},
    "sound_effect": {"eleven_text_to_sound_v2": frozenset({"model", "promptText", "duration", "loop"})},
}
"""Audio endpoint → the model this fake serves there → the fields it takes (the SDK's TypedDicts)."""


def _sdk_voice_presets() -> tuple[str, ...]:
    """The preset ids the SDK's `ElevenMultilingualV2Voice.preset_id` literal allows."""
    import typing

    from runwayml.types import text_to_speech_create_params

    hint = typing.get_type_hints(text_to_speech_create_params.ElevenMultilingualV2Voice, include_extras=True)
    annotated = typing.get_args(hint["preset_id"])[0]  # Required[Annotated[Literal[...], ...]]
    return tuple(typing.get_args(typing.get_args(annotated)[0]))


VOICE_PRESETS = _sdk_voice_presets()
SOUND_SECONDS = (0.5, 30.0)

IMAGE_1080P_CREDITS = 8
DAY_SECONDS = 24 * 60 * 60


@dataclass(frozen=True)
class TierLimits:
    """One model's limits in the account's tier (None: no limit, as Runway's null)."""

    max_concurrent: int | None
    max_daily: int | None = None


@dataclass(frozen=True)
class Behaviour:
    """How the tasks whose prompt matches a rule behave."""

    latency: float = 1.0
    """Seconds RUNNING before the task ends."""
    failure_code: str | None = None
    """End FAILED with this code (`SAFETY.INPUT.TEXT`, `INTERNAL.BAD_OUTPUT.CODE01`, …)."""
    failure: str = "The generation failed."
    failing_tries: int | None = None
    """Fail only the first N tasks created for this rule, then succeed (None: fail every one)."""
    never_finishes: bool = False
    answer_status: int | None = None
    """Make the task (it runs and bills) but answer its create with this HTTP status, e.g. 502 or
    504 from a gateway whose upstream took the request."""


@dataclass(frozen=True)
class Call:
    """One request as the fake saw it and answered it."""

    method: str
    path: str
    body: Any
    status: int
    task_id: str | None
    at: float


@dataclass
class FakeTask:
    id: str
    endpoint: str
    body: dict[str, Any]
    behaviour: Behaviour
    fails: bool
    estimated_credits: int
    created_at: float
    created_iso: str
    created_epoch: float
    duration: int
    ratio: str
    audio_seconds: float = 0.0
    with_sound: bool = False
    """A veo clip made with its own sound (`audio` true, or left to Runway's default)."""
    charged_credits: int | None = None
    """What a finished task costs when less than its estimate (a short sound); None: the estimate."""
    started_at: float | None = None
    ends_at: float | None = None
    finished: bool = False
    cancelled: bool = False
    cancelled_while: str | None = None
    deleted: bool = False

    @property
    def prompt(self) -> str:
        return str(self.body.get("promptText", ""))


@dataclass
class _Injected:
    remaining: int
    status: int
    kind: str
    retry_after: str | None
    drop: bool = False


class ValidationFailure(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


class FakeRunway:
    """`with FakeRunway() as fake:` — a running fake Runway API; see the module docstring."""

    def __init__(
        self,
        *,
        concurrency: int = 20,
        output_ttl: float = 60.0,
        pending_seconds: float = 0.0,
        default: Behaviour | None = None,
        daily_cap: int | None = None,
        api_key: str = API_KEY,
        credit_balance: int = 100_000,
        max_monthly_credit_spend: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # A test may pass a clock it moves itself, so that no state depends on the machine's speed.
        self.clock = clock
        # While fewer tasks exist, none ends; the running ones start their latency afresh when the
        # last is created: work is queued however slowly the creates arrive.
        self.hold_until_created: int | None = None
        self.concurrency = concurrency
        self.output_ttl = output_ttl
        self.pending_seconds = pending_seconds
        self.default = default or Behaviour()
        self.daily_cap = daily_cap
        self.api_key = api_key
        self.credit_balance = credit_balance
        self.max_monthly_credit_spend = max_monthly_credit_spend
        self.usage_before: dict[str, int] = {}
        """Generations per model made before the fake started, within the rolling 24 hours."""
        self.wall_clock: Callable[[], float] = time.time
        """The clock of the 24-hour usage window (a test moves it on to let generations age out)."""
        self._tier: dict[str, TierLimits] = {}
        self.create_delay = 0.0
        self.require_veo_audio = True
        """Refuse a veo create without `audio` (Runway would make and bill it with sound)."""
        self.calls: list[Call] = []
        self.tasks: dict[str, FakeTask] = {}
        self._rules: list[tuple[str, str | None, Behaviour]] = []
        self._rule_tries: dict[str, int] = {}
        self._injected: list[_Injected] = []
        self._lock = threading.RLock()
        self._signing_key = secrets.token_bytes(16)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._clips = _ClipCache()

    # Running -------------------------------------------------------------------------------

    def __enter__(self) -> FakeRunway:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-runway", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self._clips.close()

    @property
    def host(self) -> str:
        assert self._server is not None, "the fake is running"
        return f"127.0.0.1:{self._server.server_address[1]}"

    @property
    def base_url(self) -> str:
        return f"http://{self.host}"

    def env(self) -> dict[str, str]:
        """What a process needs to use this fake through the unmodified SDK and downloader."""
        return {
            "RUNWAYML_BASE_URL": self.base_url,
            "RUNWAYML_API_SECRET": self.api_key,
            "STF_DOWNLOAD_ALLOW_HOSTS": self.host,
        }

    # Test controls -------------------------------------------------------------------------

    def on(self, words: str, behaviour: Behaviour, *, endpoint: str | None = None) -> None:
        """Tasks whose prompt contains `words` (any case), made on `endpoint` ("image_to_video", …;
        None: any), behave so; the first matching rule wins."""
        with self._lock:
            self._rules.append((words.lower(), endpoint, behaviour))

    def fail_next(
        self, count: int, *, status: int = 503, kind: str = "create", retry_after: str | None = None
    ) -> None:
        """Answer the next `count` requests of `kind` ("create", "task", "organization" or "any")
        with `status`."""
        with self._lock:
            self._injected.append(_Injected(count, status, kind, retry_after))

    def drop_next(self, count: int, *, kind: str = "organization") -> None:
        """Close the connection of the next `count` requests of `kind` without answering."""
        with self._lock:
            self._injected.append(_Injected(count, 0, kind, None, drop=True))

    def set_tier(self, model: str, *, max_concurrent: int | None, max_daily: int | None) -> None:
        """The account's tier limits for `model`, as `GET /v1/organization` reports and creates obey."""
        with self._lock:
            self._tier[model] = TierLimits(max_concurrent, max_daily)

    # What tests read -----------------------------------------------------------------------

    def paid_creates(self, endpoint: str | None = None) -> list[Call]:
        """Creates that made a task Runway bills (answered 200, or accepted and answered an error)."""
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == "POST"
                and call.task_id is not None
                and (endpoint is None or call.path == f"/v1/{endpoint}")
            ]

    def creates_containing(self, words: str) -> list[Call]:
        """Every create request whose prompt contains `words`, whatever it was answered."""
        with self._lock:
            return [
                call
                for call in self.calls
                if call.method == "POST"
                and isinstance(call.body, dict)
                and words.lower() in str(call.body.get("promptText", "")).lower()
            ]

    def paid_prompts_containing(self, words: str) -> int:
        return sum(
            1 for call in self.paid_creates() if words.lower() in str(call.body.get("promptText", "")).lower()
        )

    def organization_reads(self) -> list[Call]:
        """Every `GET /v1/organization` the fake was sent, whatever it answered."""
        with self._lock:
            return [call for call in self.calls if call.path == "/v1/organization"]

    def daily_generations(self, model: str) -> int:
        """Generations of `model` in the rolling 24 hours: `usage_before` and the fake's own."""
        with self._lock:
            since = self.wall_clock() - DAY_SECONDS
            made = sum(
                1 for t in self.tasks.values() if t.body.get("model") == model and t.created_epoch > since
            )
            return self.usage_before.get(model, 0) + made

    def deletes(self) -> list[str]:
        with self._lock:
            return [str(call.task_id) for call in self.calls if call.method == "DELETE"]

    def snapshot(self, task_id: str) -> dict[str, Any]:
        """The task as `GET /v1/tasks/{id}` would answer now (deleted tasks included)."""
        with self._lock:
            self._advance(self.clock())
            return self._describe(self.tasks[task_id], self.clock())

    # Scheduling ----------------------------------------------------------------------------

    def _behaviour(self, prompt: str, endpoint: str) -> tuple[Behaviour, bool]:
        lowered = prompt.lower()
        for words, only_on, behaviour in self._rules:
            if words in lowered and only_on in (None, endpoint):
                tries = self._rule_tries.get(words, 0) + 1
                self._rule_tries[words] = tries
                fails = behaviour.failure_code is not None and (
                    behaviour.failing_tries is None or tries <= behaviour.failing_tries
                )
                return behaviour, fails
        return self.default, self.default.failure_code is not None

    def _running(self) -> list[FakeTask]:
        return [
            t for t in self.tasks.values() if t.started_at is not None and not t.finished and not t.cancelled
        ]

    def _queued(self) -> list[FakeTask]:
        waiting = [t for t in self.tasks.values() if t.started_at is None and not t.cancelled]
        return sorted(waiting, key=lambda t: t.created_at)

    def _start(self, task: FakeTask, at: float) -> None:
        task.started_at = at
        if not task.behaviour.never_finishes:
            task.ends_at = at + self.pending_seconds + task.behaviour.latency

    def _advance(self, now: float) -> None:
        """Finish what has ended by `now`, in order, starting queued tasks in the slots freed."""
        if self.hold_until_created is not None and len(self.tasks) < self.hold_until_created:
            return
        while True:
            ending = [t for t in self._running() if t.ends_at is not None and t.ends_at <= now]
            if not ending:
                break
            first = min(ending, key=lambda t: t.ends_at or 0)
            first.finished = True
            self._fill_slots(first.ends_at or now)
        self._fill_slots(now)

    def _fill_slots(self, at: float) -> None:
        for task in self._queued()[: max(0, self.concurrency - len(self._running()))]:
            self._start(task, max(at, task.created_at))

    def _state(self, task: FakeTask, now: float) -> str:
        if task.cancelled:
            return "CANCELLED"
        if task.started_at is None:
            return "THROTTLED"
        if task.finished:
            return "FAILED" if task.fails else "SUCCEEDED"
        if now < task.started_at + self.pending_seconds:
            return "PENDING"
        return "RUNNING"

    def _charged(self, task: FakeTask, state: str) -> int:
        if state == "SUCCEEDED":
            return task.estimated_credits if task.charged_credits is None else task.charged_credits
        if state == "FAILED":
            # Moderated generations are still billed; Runway's own failures are refunded.
            return task.estimated_credits if str(task.behaviour.failure_code).startswith("SAFETY") else 0
        return task.estimated_credits if task.cancelled_while == "RUNNING" else 0

    def _describe(self, task: FakeTask, now: float) -> dict[str, Any]:
        state = self._state(task, now)
        answer: dict[str, Any] = {"id": task.id, "status": state, "createdAt": task.created_iso}
        if state in ("PENDING", "THROTTLED", "RUNNING"):
            answer["estimatedCost"] = {"credits": task.estimated_credits}
        else:
            answer["cost"] = {"credits": self._charged(task, state)}
        if state == "RUNNING":
            assert task.started_at is not None
            elapsed = now - task.started_at - self.pending_seconds
            answer["progress"] = round(min(0.95, elapsed / max(task.behaviour.latency, 0.001)), 3)
        if state == "FAILED":
            answer["failure"] = task.behaviour.failure
            answer["failureCode"] = task.behaviour.failure_code
        if state == "SUCCEEDED":
            answer["output"] = [self._signed_output(task)]
        return answer

    # Outputs -------------------------------------------------------------------------------

    def _signature(self, task_id: str, expires: str) -> str:
        return hmac.new(self._signing_key, f"{task_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def _signed_output(self, task: FakeTask) -> str:
        extension = {"text_to_image": "png", "text_to_speech": "mp3", "sound_effect": "mp3"}.get(
            task.endpoint, "mp4"
        )
        expires = f"{time.time() + self.output_ttl:.3f}"
        signature = self._signature(task.id, expires)
        return f"{self.base_url}/outputs/{task.id}.{extension}?exp={expires}&sig={signature}"

    def _output(self, path: str, query: str) -> tuple[int, str, bytes]:
        match = re.fullmatch(r"/outputs/([0-9a-f-]{36})\.(mp4|png|mp3)", path)
        params = parse_qs(query)
        expires, signature = params.get("exp", [""])[0], params.get("sig", [""])[0]
        with self._lock:
            task = self.tasks.get(match[1]) if match else None
        if task is None or task.deleted or not match:
            return 404, "application/xml", b"<Error><Code>NoSuchKey</Code></Error>"
        good = hmac.compare_digest(signature, self._signature(task.id, expires))
        if not good or not expires or float(expires) < time.time():
            return (
                403,
                "application/xml",
                b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            )
        if match[2] == "png":
            return 200, "image/png", _png()
        if match[2] == "mp3":
            kind = "speech" if task.endpoint == "text_to_speech" else "sound"
            return 200, "audio/mpeg", self._clips.audio(kind, task.audio_seconds)
        if task.with_sound:
            return 200, "video/mp4", self._clips.sounding_clip(task.duration, task.ratio)
        return 200, "video/mp4", self._clips.clip(task.duration, task.ratio)

    # Requests ------------------------------------------------------------------------------

    def _injected_failure(self, kind: str) -> _Injected | None:
        with self._lock:
            for injected in self._injected:
                if injected.remaining > 0 and injected.kind in (kind, "any"):
                    injected.remaining -= 1
                    return injected
        return None

    def _create(self, endpoint: str, body: dict[str, Any], spec: ModelSpec | AudioSpec) -> FakeTask:
        with self._lock:
            now = self.clock()
            self._advance(now)
            behaviour, fails = self._behaviour(str(body.get("promptText", "")), endpoint)
            audio_seconds, charged = 0.0, None
            if isinstance(spec, AudioSpec):
                duration, ratio = 0, ""
                audio_seconds, credits, charged = spec.seconds, spec.estimated_credits, spec.charged_credits
            else:
                duration = int(body.get("duration") or (spec.durations[-1] if spec.durations else 0))
                ratio = str(body["ratio"])
                credits = _video_credits(spec, body, duration, ratio)
            task = FakeTask(
                id=str(uuid.uuid4()),
                endpoint=endpoint,
                body=body,
                behaviour=behaviour,
                fails=fails,
                estimated_credits=credits,
                created_at=now,
                created_iso=datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                created_epoch=self.wall_clock(),
                duration=duration,
                ratio=ratio,
                audio_seconds=audio_seconds,
                with_sound=not isinstance(spec, AudioSpec) and _makes_sound(spec, body),
                charged_credits=charged,
            )
            self.tasks[task.id] = task
            self._fill_slots(now)
            if len(self.tasks) == self.hold_until_created:
                for running in self._running():
                    if running.ends_at is not None:
                        running.ends_at = now + self.pending_seconds + running.behaviour.latency
            return task

    def _cancel(self, task: FakeTask) -> None:
        with self._lock:
            now = self.clock()
            self._advance(now)
            state = self._state(task, now)
            if state in ("PENDING", "THROTTLED", "RUNNING"):
                task.cancelled, task.cancelled_while = True, state
            task.deleted = True
            self._fill_slots(now)

    def handle(
        self, method: str, target: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one request; every API request is logged in `calls`."""
        split = urlsplit(target)
        path = split.path
        if method == "GET" and path.startswith("/outputs/"):
            status, content_type, data = self._output(path, split.query)
            return status, {"Content-Type": content_type}, data
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        status, extra, answer, task_id = self._api(method, path, headers, body)
        with self._lock:
            self.calls.append(Call(method, path, body, status, task_id, self.clock()))
        if method == "POST" and status == 200 and self.create_delay:
            time.sleep(self.create_delay)  # the task exists and is billed; its id comes late
        data = b"" if answer is None else json.dumps(answer).encode()
        return status, {"Content-Type": "application/json", **extra}, data

    def _api(
        self, method: str, path: str, headers: Mapping[str, str], body: Any
    ) -> tuple[int, dict[str, str], Any, str | None]:
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {}, {"error": "Invalid API key or API key is missing."}, None
        if headers.get("x-runway-version") != RUNWAY_VERSION:
            return 401, {}, {"error": f"The X-Runway-Version header must be {RUNWAY_VERSION}."}, None
        create = re.fullmatch(
            r"/v1/(text_to_video|image_to_video|text_to_image|text_to_speech|sound_effect)", path
        )
        task_path = re.fullmatch(r"/v1/tasks/([^/]+)", path)
        if create and method == "POST":
            return self._api_create(create[1], body)
        if task_path and method in ("GET", "DELETE"):
            return self._api_task(method, task_path[1])
        if path == "/v1/organization" and method == "GET":
            return self._api_organization()
        if create or task_path or path == "/v1/organization":
            return 405, {}, {"error": f"{method} is not supported here"}, None
        return 404, {}, {"error": "Not found"}, None

    def _api_create(self, endpoint: str, body: Any) -> tuple[int, dict[str, str], Any, str | None]:
        injected = self._injected_failure("create")
        if injected is not None:
            extra = {"Retry-After": injected.retry_after} if injected.retry_after else {}
            return injected.status, extra, {"error": f"injected HTTP {injected.status}"}, None
        with self._lock:
            try:
                spec = (
                    _validate_audio(endpoint, body)
                    if endpoint in AUDIO_ENDPOINTS
                    else _validate(endpoint, body, self.base_url, require_audio=self.require_veo_audio)
                )
            except ValidationFailure as failure:
                return failure.status, {}, {"error": failure.message}, None
            if self.daily_cap is not None and len(self.paid_creates()) >= self.daily_cap:
                return 429, {}, {"error": "You have reached your daily generation limit."}, None
            daily = self._tier_of(str(body["model"])).max_daily
            if daily is not None and self.daily_generations(str(body["model"])) >= daily:
                return 429, {}, {"error": "You have reached your daily generation limit."}, None
            task = self._create(endpoint, body, spec)
        if task.behaviour.answer_status is not None:
            status = task.behaviour.answer_status
            return status, {}, {"error": f"HTTP {status} from the gateway (the task was made)"}, task.id
        return 200, {}, {"id": task.id, "estimatedCost": {"credits": task.estimated_credits}}, task.id

    def _tier_of(self, model: str) -> TierLimits:
        return self._tier.get(model, TierLimits(self.concurrency))

    def _api_organization(self) -> tuple[int, dict[str, str], Any, str | None]:
        injected = self._injected_failure("organization")
        if injected is not None:
            if injected.drop:
                return 0, {}, None, None
            extra = {"Retry-After": injected.retry_after} if injected.retry_after else {}
            return injected.status, extra, {"error": f"injected HTTP {injected.status}"}, None
        with self._lock:
            now = self.clock()
            self._advance(now)
            charged = sum(self._charged(task, self._state(task, now)) for task in self.tasks.values())
            served = [*ENDPOINTS.values(), *AUDIO_ENDPOINTS.values()]
            models = sorted({model for spec in served for model in spec} | set(self._tier))
            tier = {
                model: {
                    "maxConcurrentGenerations": self._tier_of(model).max_concurrent,
                    "maxDailyGenerations": self._tier_of(model).max_daily,
                }
                for model in models
            }
            used = {model: self.daily_generations(model) for model in models}
        answer = {
            "creditBalance": self.credit_balance - charged,
            "tier": {"maxMonthlyCreditSpend": self.max_monthly_credit_spend, "models": tier},
            "usage": {"models": {model: {"dailyGenerations": n} for model, n in used.items() if n}},
        }
        return 200, {}, answer, None

    def _api_task(self, method: str, task_id: str) -> tuple[int, dict[str, str], Any, str | None]:
        injected = self._injected_failure("task")
        if injected is not None:
            extra = {"Retry-After": injected.retry_after} if injected.retry_after else {}
            return injected.status, extra, {"error": f"injected HTTP {injected.status}"}, task_id
        with self._lock:
            task = self.tasks.get(task_id)
            if task is None or task.deleted:
                return 404, {}, {"error": "Task not found."}, task_id
            if method == "DELETE":
                self._cancel(task)
                return 204, {}, None, task_id
            now = self.clock()
            self._advance(now)
            return 200, {}, self._describe(task, now), task_id


def _makes_sound(spec: ModelSpec, body: dict[str, Any]) -> bool:
    return spec.audio_credits_per_second is not None and body.get("audio", True) is True


def _video_credits(spec: ModelSpec, body: dict[str, Any], duration: int, ratio: str) -> int:
    if spec.credits_per_image:
        return spec.credits_per_image if ratio in _GEN4_IMAGE_720P else IMAGE_1080P_CREDITS
    if spec.audio_credits_per_second is not None and _makes_sound(spec, body):
        return spec.audio_credits_per_second * duration
    return spec.credits_per_second * duration


@dataclass(frozen=True)
class AudioSpec:
    """What an accepted audio create makes: its length and its price."""

    seconds: float
    estimated_credits: int
    charged_credits: int


def _validate_audio(endpoint: str, body: Any) -> AudioSpec:
    """The checks of `text_to_speech` and `sound_effect` creates, as the SDK's types describe them."""
    if not isinstance(body, dict):
        raise ValidationFailure(400, "Validation of body failed: expected a JSON object")
    models = AUDIO_ENDPOINTS[endpoint]
    model = body.get("model")
    if model not in models:
        raise ValidationFailure(
            400, f"Validation of body failed: model must be one of {', '.join(models)}, not {model!r}"
        )
    unknown = sorted(set(body) - models[model])
    if unknown:
        raise ValidationFailure(400, f"Validation of body failed: unrecognized key(s) {', '.join(unknown)}")
    prompt = body.get("promptText")
    if prompt is None:
        raise ValidationFailure(400, "Validation of body failed: promptText is required")
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValidationFailure(400, "Validation of body failed: promptText must be a non-empty string")
    units = utf16_units(prompt)
    if units > PROMPT_LIMIT:
        raise ValidationFailure(
            400, f"Validation of body failed: promptText must be at most {PROMPT_LIMIT} characters"
        )
    if endpoint == "text_to_speech":
        _check_voice(body.get("voice"))
        credits = max(1, -(-units // SPEECH_CHARS_PER_CREDIT))
        seconds = max(0.5, round(len(prompt) / SPEAKING_CHARS_PER_SECOND, 1))
        return AudioSpec(seconds, credits, credits)
    duration = body.get("duration", AUTO_SOUND_SECONDS)
    low, high = SOUND_SECONDS
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not low <= duration <= high:
        raise ValidationFailure(
            400, f"Validation of body failed: duration must be a number from {low:g} to {high:g} seconds"
        )
    if "loop" in body and not isinstance(body["loop"], bool):
        raise ValidationFailure(400, "Validation of body failed: loop must be a boolean")
    charged = 1 if duration <= SOUND_SHORT_SECONDS else SOUND_CREDITS_ESTIMATED
    return AudioSpec(float(duration), SOUND_CREDITS_ESTIMATED, charged)


def _check_voice(voice: Any) -> None:
    if voice is None:
        raise ValidationFailure(400, "Validation of body failed: voice is required")
    if not isinstance(voice, dict) or set(voice) != {"type", "presetId"}:
        raise ValidationFailure(
            400, 'Validation of body failed: voice must be {"type": "runway-preset", "presetId": …}'
        )
    if voice["type"] != "runway-preset":
        raise ValidationFailure(
            400, f"Validation of body failed: voice.type must be 'runway-preset', not {voice['type']!r}"
        )
    if voice["presetId"] not in VOICE_PRESETS:
        raise ValidationFailure(
            400,
            f"Validation of body failed: voice.presetId must be one of {', '.join(VOICE_PRESETS)}, "
            f"not {voice['presetId']!r}",
        )


def _validate(endpoint: str, body: Any, own_base_url: str, *, require_audio: bool = True) -> ModelSpec:
    """The checks the real API makes on a create, with its status codes (and, when
    `require_audio`, this fake's own: a veo create must say whether it pays for sound)."""
    if not isinstance(body, dict):
        raise ValidationFailure(400, "Validation of body failed: expected a JSON object")
    model = body.get("model")
    if model in RETIRED:
        raise ValidationFailure(403, f"Model variant {model} is not available")
    models = ENDPOINTS[endpoint]
    if model not in models:
        raise ValidationFailure(
            400, f"Validation of body failed: model must be one of {', '.join(models)}, not {model!r}"
        )
    spec = models[model]
    unknown = sorted(set(body) - spec.fields)
    if unknown:
        raise ValidationFailure(400, f"Validation of body failed: unrecognized key(s) {', '.join(unknown)}")
    prompt = body.get("promptText")
    if prompt is None and spec.prompt_required:
        raise ValidationFailure(400, "Validation of body failed: promptText is required")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        raise ValidationFailure(400, "Validation of body failed: promptText must be a non-empty string")
    if isinstance(prompt, str) and utf16_units(prompt) > PROMPT_LIMIT:
        raise ValidationFailure(
            400, f"Validation of body failed: promptText must be at most {PROMPT_LIMIT} characters"
        )
    if body.get("ratio") not in spec.ratios:
        raise ValidationFailure(
            400,
            f"Validation of body failed: ratio must be one of {', '.join(spec.ratios)}, "
            f"not {body.get('ratio')!r}",
        )
    duration = body.get("duration")
    if duration is None and spec.duration_required:
        raise ValidationFailure(400, "Validation of body failed: duration is required")
    if duration is not None and (type(duration) is not int or duration not in spec.durations):
        allowed = ", ".join(map(str, spec.durations)) or "none"
        raise ValidationFailure(400, f"Validation of body failed: duration must be one of {allowed}")
    if spec.audio_credits_per_second is not None:
        if "audio" in body and not isinstance(body["audio"], bool):
            raise ValidationFailure(400, "Validation of body failed: audio must be a boolean")
        if "audio" not in body and require_audio:
            raise ValidationFailure(
                400,
                f"fake Runway: {model} defaults audio to true and charges for it; send audio explicitly",
            )
    if endpoint == "image_to_video":
        image = body.get("promptImage")
        if image is None:
            raise ValidationFailure(400, "Validation of body failed: promptImage is required")
        accepted = ("https://", "runway://", "data:image/", f"{own_base_url}/outputs/")
        if not isinstance(image, str) or not image.startswith(accepted):
            raise ValidationFailure(
                400, "Validation of body failed: promptImage must be an HTTPS URL or data URI"
            )
    return spec


class _Handler(BaseHTTPRequestHandler):
    fake: FakeRunway

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, extra, data = self.fake.handle(method, self.path, headers, raw)
        if status == 0:
            self.close_connection = True  # dropped: the client sees the connection end unanswered
            return
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if data:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a test of what happens then)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the call log is what tests read."""


class _ClipCache:
    """Real MP4s, rendered once per duration and ratio by the project's animatic renderer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._clips: dict[tuple[int, str], bytes] = {}
        self._audio: dict[tuple[str, float], bytes] = {}
        self._sounding: dict[tuple[int, str], bytes] = {}
        self._work = tempfile.TemporaryDirectory(prefix="fake-runway-")

    def clip(self, duration: int, ratio: str) -> bytes:
        from script_to_film.adapters import media
        from script_to_film.domain.errors import MediaError
        from script_to_film.domain.models import Scene, Shot

        try:
            media.frame_size(ratio)
        except MediaError:
            ratio = "1280:720"
        key = (max(1, duration), ratio)
        with self._lock:
            if key not in self._clips:
                scene = Scene(number=1, heading="INT. FAKE RUNWAY - DAY", estimated_seconds=key[0])
                shot = Shot(
                    scene=1,
                    camera="Static shot",
                    lighting="Even studio light",
                    environment="A render of the fake Runway API",
                    style="realistic",
                    prompt="A clip made by the fake Runway API",
                    duration=key[0],
                    ratio=ratio,
                    model="gen4.5",
                    provider="runway",
                )
                out = Path(self._work.name) / f"clip_{key[0]}_{ratio.replace(':', 'x')}.mp4"
                self._clips[key] = media.render_animatic(scene, shot, out).read_bytes()
            return self._clips[key]

    def sounding_clip(self, duration: int, ratio: str) -> bytes:
        """The clip of `clip` with a sound track (AAC, 48 kHz stereo), as veo makes with `audio`."""
        import subprocess

        import imageio_ffmpeg

        silent = self.clip(duration, ratio)
        key = (max(1, duration), ratio)
        with self._lock:
            if key not in self._sounding:
                stem = Path(self._work.name) / f"sounding_{key[0]}_{ratio.replace(':', 'x')}"
                source, out = stem.with_suffix(".silent.mp4"), stem.with_suffix(".mp4")
                source.write_bytes(silent)
                noise = f"anoisesrc=d={key[0]}:c=brown:a=0.1:r=48000:seed=3"
                command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
                command += ["-i", str(source), "-f", "lavfi", "-i", noise, "-map", "0:v:0", "-map", "1:a:0"]
                command += ["-c:v", "copy", "-c:a", "aac", "-ac", "2", "-shortest", "-y", str(out)]
                subprocess.run(command, check=True, capture_output=True, timeout=60)
                self._sounding[key] = out.read_bytes()
            return self._sounding[key]

    def audio(self, kind: str, seconds: float) -> bytes:
        """An MP3 `seconds` long: for speech a voiced tone in syllables and pauses, for sound
        pink noise, 44.1 kHz mono at 128 kb/s (ElevenLabs' default format)."""
        import subprocess

        import imageio_ffmpeg  # type: ignore[import-untyped]

        key = (kind, round(seconds, 1))
        with self._lock:
            if key not in self._audio:
                length = f"{key[1]:.1f}"
                if kind == "speech":
                    # A 150 Hz voice with two harmonics, in 4 syllables a second, silent between words.
                    source = (
                        "aevalsrc='0.5*(sin(2*PI*150*t)+0.5*sin(2*PI*300*t)+0.25*sin(2*PI*450*t))"
                        f"*(0.5-0.5*cos(2*PI*4*t))*gt(sin(2*PI*0.7*t)+0.7,0)':s=44100:d={length}"
                    )
                else:
                    source = f"anoisesrc=d={length}:c=pink:a=0.2:r=44100:seed=7"
                out = Path(self._work.name) / f"{kind}_{length}.mp3"
                command = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-v", "error"]
                command += ["-f", "lavfi", "-i", source, "-ac", "1", "-c:a", "libmp3lame", "-b:a", "128k"]
                subprocess.run([*command, "-y", str(out)], check=True, capture_output=True, timeout=60)
                self._audio[key] = out.read_bytes()
            return self._audio[key]

    def close(self) -> None:
        self._work.cleanup()


def _png(width: int = 16, height: int = 9) -> bytes:
    """A small, valid, grey PNG: what a keyframe looks like to everything but a person."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80\x80\x80" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
