"""Every seam between the core and the outside world, as Protocols, with the values that cross them.

The adapters (`script_to_film.adapters`) implement these structurally, without subclassing them,
and so can a test's fake. Providers: submit a shot, poll its task, cancel it, read the finished
clip, and optionally say what the account allows (`AccountReporter`) and make voices and sound
(`AudioProvider`, through the same tasks); the Step Functions Wait loop is the poller, so a
provider never sleeps or waits for a task itself. Media: ffmpeg, and what it says about a clip
(`ClipInfo`), an audio file (`AudioInfo`) and a stitched film (`StitchResult`). The screenwriter:
Claude. Storage: one repository per aggregate of the table (scripts, videos, claims, batches),
the bucket's objects, and the executions. A `Backend` gathers them all; `Providers`, `Media` and
`Screenwriter` are satisfied by the adapters' modules themselves, so a test that patches a
function of one patches what the core calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from script_to_film.domain.audio_tasks import SoundRequest, SpeechRequest
from script_to_film.domain.limits import PRESIGNED_URL_MAX_SECONDS
from script_to_film.domain.models import (
    BatchItemRecord,
    BatchRecord,
    BatchStatus,
    SceneJob,
    SceneRecord,
    SceneStatus,
    ScriptRecord,
    ScriptStatus,
    VideoRecord,
    VideoStatus,
)
from script_to_film.domain.screenwriting import WriteRequest, Written

# Providers --------------------------------------------------------------------------------------

LimitSource = Literal["provider", "configured"]
"""`provider`: the provider's account said so just now; `configured`: this project's settings."""


class AccountLimits(BaseModel):
    """What one model of a provider account allows. None means no limit, or not known."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    max_concurrent: int | None
    daily_limit: int | None
    daily_used: int | None
    credit_balance: float | None
    source: LimitSource
    note: str | None = None

    @property
    def daily_left(self) -> int | None:
        """Generations left in the rolling 24 hours, or None when there is no known limit."""
        if self.daily_limit is None:
            return None
        return max(0, self.daily_limit - (self.daily_used or 0))


class TaskState(StrEnum):
    """The six states of a provider task (Runway's, which the other providers map onto)."""

    PENDING = "PENDING"
    THROTTLED = "THROTTLED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_final(self) -> bool:
        return self in (TaskState.SUCCEEDED, TaskState.FAILED, TaskState.CANCELLED)


class ProviderTask(BaseModel):
    """A provider task as last seen. `output_url` is transient: it is never stored or returned."""

    id: str
    state: TaskState
    progress: float | None = None
    failure: str | None = None
    failure_code: str | None = None
    credits: float | None = None
    output_url: str | None = None


class VideoProvider(Protocol):
    """What the workflow's scene tasks call. Implementations do I/O; callers stay pure."""

    name: str

    def submit(self, job: SceneJob) -> str:
        """Start generating the job's shot; return the provider's task id."""
        ...

    def status(self, task_id: str) -> ProviderTask:
        """The task as it is now (never waits)."""
        ...

    def cancel(self, task_id: str) -> None:
        """Cancel a pending, throttled or running task; a finished or unknown task is left alone."""
        ...

    def open_output(self, task: ProviderTask, job: SceneJob) -> AbstractContextManager[BinaryIO]:
        """A readable stream of the finished clip (MP4), for streaming into S3."""
        ...


class AudioProvider(Protocol):
    """Voices and sound made by a provider's tasks, submitted and polled like a shot's video."""

    name: str

    def submit_speech(self, request: SpeechRequest) -> str:
        """Start speaking `request.text` in `request.voice`; the provider's task id."""
        ...

    def submit_sound(self, request: SoundRequest) -> str:
        """Start making the described sound; the provider's task id."""
        ...

    def status(self, task_id: str) -> ProviderTask: ...

    def cancel(self, task_id: str) -> None: ...

    def open_audio(self, task: ProviderTask) -> AbstractContextManager[BinaryIO]:
        """A readable stream of the finished audio file, for streaming into S3."""
        ...


@runtime_checkable
class AccountReporter(Protocol):
    """A provider that can say what its account allows: optional, so a provider without it still
    films (`account.read_limits` then falls back to the configured concurrency)."""

    name: str

    def account(self, model: str) -> AccountLimits:
        """The account's limits for `model` now (idempotent; may be cached briefly)."""
        ...


# Media ------------------------------------------------------------------------------------------


class ClipInfo(BaseModel):
    """What `ffmpeg -i` says about a clip's first video and first audio stream."""

    model_config = ConfigDict(frozen=True)

    duration: float
    width: int
    height: int
    fps: float
    video_codec: str
    video_profile: str | None = None
    pixel_format: str
    colour: str | None = None
    """Range and colour space as ffmpeg prints them (`tv, bt709`), when tagged."""
    sample_aspect_ratio: str | None = None
    video_config_digest: str | None = None
    """Digest of the MP4 decoder configuration (H.264 SPS/PPS); None for other containers."""
    audio_codec: str | None = None
    audio_profile: str | None = None
    audio_sample_rate: int | None = None
    audio_channels: int | None = None

    @property
    def stream_signature(self) -> str:
        """Equal for two clips exactly when the concat demuxer may join them with stream copy."""
        video = "/".join(
            str(part)
            for part in (
                self.video_codec,
                self.video_profile,
                self.pixel_format,
                self.colour,
                f"{self.width}x{self.height}",
                self.sample_aspect_ratio,
                f"{self.fps:g}fps",
                self.video_config_digest,
            )
        )
        if self.audio_codec is None:
            return f"{video}|no-audio"
        audio = f"{self.audio_codec}/{self.audio_profile}/{self.audio_sample_rate}Hz/{self.audio_channels}ch"
        return f"{video}|{audio}"


class AudioInfo(BaseModel):
    """What `ffmpeg -i` says about a file's first audio stream."""

    model_config = ConfigDict(frozen=True)

    duration: float
    codec: str
    sample_rate: int | None = None
    channels: int | None = None


class StitchResult(BaseModel):
    """A stitched film and how it was made."""

    output: Path
    clip_count: int
    reencoded: list[int]
    """Positions (0-based, in the order given) of the clips that were re-encoded before joining."""
    duration: float
    elapsed_seconds: float


class Providers(Protocol):
    """The video providers by name (the module `adapters.providers.registry`)."""

    def get_provider(self, name: str) -> VideoProvider:
        """UnknownModelError for a name no provider has."""
        ...

    def available_providers(self) -> list[str]: ...


class Media(Protocol):
    """ffmpeg (the module `adapters.media`)."""

    def verify_clip(self, path: Path, expected_seconds: float) -> ClipInfo:
        """The clip's facts; InvalidClipError for one that cannot count."""
        ...

    def verify_audio(self, path: Path, expected_seconds: float | None = None) -> AudioInfo:
        """The audio's facts; InvalidClipError for a file that is no whole audio (of about
        `expected_seconds`, when given)."""
        ...

    def probe(self, path: Path) -> ClipInfo:
        """MediaError for a file ffmpeg cannot read."""
        ...

    def stitch(self, clips: Sequence[Path], out: Path) -> StitchResult:
        """MediaError when the clips cannot be joined."""
        ...

    def render_title_card(
        self, title_page: Mapping[str, str], ratio: str, out: Path, *, style: str = ...
    ) -> Path:
        """A clip of the title page (title, credit, author) in the animatic's encoding."""
        ...

    def render_end_card(
        self, title: str | None, ratio: str, out: Path, *, style: str = ..., start_seconds: float = ...
    ) -> Path:
        """A closing clip (THE END, the title) in the animatic's encoding, its timecode from
        `start_seconds`."""
        ...


class Screenwriter(Protocol):
    """A model that writes screenplays (the module `adapters.claude`)."""

    def write_screenplay(self, request: WriteRequest, *, model: str | None = None) -> Written: ...


# Storage ----------------------------------------------------------------------------------------


class StoredObject(BaseModel):
    """An object read from S3, up to a size limit."""

    body: bytes
    truncated: bool
    metadata: dict[str, str]
    version_id: str | None = None


class ScriptRepository(Protocol):
    """Scripts: the item, its Fountain text and its breakdown (`adapters.repositories.scripts`)."""

    def put(self, script: ScriptRecord, text: str, breakdown: Any = None) -> None: ...

    def put_item(self, script: ScriptRecord) -> None:
        """The item alone, for a script whose text does not exist yet (WRITING)."""
        ...

    def get(self, script_id: str) -> ScriptRecord:
        """The script; NotFoundError when there is none."""
        ...

    def get_text(self, script_id: str) -> str: ...

    def put_breakdown(self, script_id: str, breakdown: Any) -> None: ...

    def get_breakdown(self, script_id: str) -> bytes | None: ...

    def list(self, limit: int, page_token: str | None = None) -> tuple[list[ScriptRecord], str | None]: ...

    def claim_writing(self, script_id: str, lease_seconds: int) -> bool: ...

    def release_writing(self, script_id: str) -> None: ...

    def finish(
        self,
        script_id: str,
        status: ScriptStatus,
        text: str | None = None,
        breakdown: Any = None,
        **fields: Any,
    ) -> bool: ...


class VideoRepository(Protocol):
    """Videos, their scenes and the scenes' jobs (`adapters.repositories.videos`). Status writes
    follow the transition table and answer False when it refuses them."""

    def create(self, video: VideoRecord, jobs: Iterable[SceneJob]) -> None: ...

    def get(self, video_id: str) -> VideoRecord:
        """The video with its scenes, read consistently; NotFoundError when there is none."""
        ...

    def get_header(self, video_id: str) -> VideoRecord | None: ...

    def list(self, limit: int, page_token: str | None = None) -> tuple[list[VideoRecord], str | None]: ...

    def set_status(self, video_id: str, status: VideoStatus, **fields: Any) -> bool: ...

    def update(self, video_id: str, **fields: Any) -> None: ...

    def record_execution(self, video_id: str, execution_arn: str) -> None: ...

    def get_scene(self, video_id: str, number: int) -> SceneRecord: ...

    def set_scene_status(self, video_id: str, number: int, status: SceneStatus, **fields: Any) -> bool: ...

    def set_scene_status_if_task(
        self, video_id: str, number: int, status: SceneStatus, task_id: str | None, **fields: Any
    ) -> bool: ...

    def restate_stopped_scene(
        self, video_id: str, number: int, status: SceneStatus, stopped_code: str, **fields: Any
    ) -> bool: ...

    def update_scene(self, video_id: str, number: int, **fields: Any) -> None: ...

    def update_shot(self, video_id: str, number: int, shot: int, **fields: Any) -> None:
        """Record facts about one shot of a scene (its status, task, tries, failure)."""
        ...

    def get_job(self, video_id: str, number: int) -> SceneJob: ...


class Claims(Protocol):
    """Once-only claims on paid calls, by name within a video: what Runway's keyframe path needs,
    whose second create happens inside a poll, so a retried poll must find it already made."""

    def claim_once(self, video_id: str, claim: str, what: str) -> str | None:
        """None: go ahead and call; a task id: an earlier delivery made the call. Raises
        VideoEndedError (the video is over) and SubmitInDoubtError (claimed, never recorded)."""
        ...

    def record_claim(self, video_id: str, claim: str, task_id: str) -> None: ...

    def release_claim(self, video_id: str, claim: str) -> None: ...


class ClaimRepository(Claims, Protocol):
    """Claims, and the submit claim of each try of a scene (`adapters.repositories.claims`)."""

    def claim_submit(self, video_id: str, number: int, attempt: int, shot: int = 1) -> str | None: ...

    def record_submit(
        self, video_id: str, number: int, attempt: int, task_id: str, shot: int = 1
    ) -> None: ...

    def release_submit(self, video_id: str, number: int, attempt: int, shot: int = 1) -> None: ...


class BatchRepository(Protocol):
    """Batches and their items, and the lease of the delivery working on one
    (`adapters.repositories.batches`)."""

    def claim(self, batch: BatchRecord) -> BatchRecord | None: ...

    def get(self, batch_id: str) -> BatchRecord: ...

    def take_over(self, batch: BatchRecord, owner: str, lease_until: float, now: float) -> bool: ...

    def release(self, batch_id: str, owner: str) -> None: ...

    def set_status(
        self,
        batch_id: str,
        status: BatchStatus,
        *,
        expected: BatchStatus,
        owner: str | None = None,
        **fields: Any,
    ) -> bool: ...

    def claim_item(self, batch_id: str, item: BatchItemRecord) -> BatchItemRecord | None: ...

    def update_item(self, batch_id: str, number: int, holder: str, **fields: Any) -> bool: ...


class ObjectStore(Protocol):
    """Objects in the project's bucket (`adapters.objects`)."""

    @property
    def bucket(self) -> str: ...

    def read(self, bucket: str, key: str, version_id: str | None, max_bytes: int) -> StoredObject:
        """At most `max_bytes` of one version of an object. NotFoundError when it is gone,
        ObjectRefusedError when S3 refuses it for good; an error that may pass is raised as it came."""
        ...

    def put_json(self, key: str, document: Any) -> None: ...

    def get_json(self, key: str) -> Any: ...

    def upload_file(self, key: str, path: Path, content_type: str = "video/mp4") -> None: ...

    def download_file(self, key: str, path: Path) -> None:
        """NotFoundError when there is no such object."""
        ...

    def presigned_url(self, key: str, expires_seconds: int = PRESIGNED_URL_MAX_SECONDS) -> str: ...


class Orchestrator(Protocol):
    """The state machines' executions and the writer Lambda (`adapters.orchestrator`)."""

    def execution_arn(self, video_id: str) -> str: ...

    def scene_execution_arn(self, execution_name: str) -> str | None: ...

    def start(self, video_id: str, execution_input: Mapping[str, Any]) -> str:
        """Start the video's film execution (named after it); its ARN."""
        ...

    def find(self, video_id: str) -> str | None: ...

    def stop(self, execution_arn: str, cause: str) -> None: ...

    def invoke_writer(self, event: Mapping[str, Any]) -> None: ...


class Backend(Protocol):
    """Everything the workflow and the services reach the outside world through
    (`adapters.backend.AwsBackend` on AWS and on the local stack)."""

    @property
    def scripts(self) -> ScriptRepository: ...

    @property
    def videos(self) -> VideoRepository: ...

    @property
    def claims(self) -> ClaimRepository: ...

    @property
    def batches(self) -> BatchRepository: ...

    @property
    def objects(self) -> ObjectStore: ...

    @property
    def orchestrator(self) -> Orchestrator: ...

    @property
    def providers(self) -> Providers: ...

    @property
    def media(self) -> Media: ...

    @property
    def screenwriter(self) -> Screenwriter: ...
