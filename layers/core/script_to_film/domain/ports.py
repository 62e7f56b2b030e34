"""Every seam between the core and the outside world, as Protocols, with the values that cross them.

The adapters (`script_to_film.adapters`) implement these structurally, without subclassing them,
and so can a test's fake. Providers: submit a shot, poll its task, cancel it, read the finished
clip, and optionally say what the account allows (`AccountReporter`); the Step Functions Wait
loop is the poller, so a provider never sleeps or waits for a task itself. Media: what ffmpeg
says about a clip (`ClipInfo`) and a stitched film (`StitchResult`).
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from script_to_film.domain.models import SceneJob

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


class StitchResult(BaseModel):
    """A stitched film and how it was made."""

    output: Path
    clip_count: int
    reencoded: list[int]
    """Positions (0-based, in the order given) of the clips that were re-encoded before joining."""
    duration: float
    elapsed_seconds: float
