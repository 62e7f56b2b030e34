"""The provider protocol: submit a shot, poll its task, cancel it, read the finished clip; and,
optionally, say what the account allows (`AccountReporter`).

The Step Functions Wait loop is the poller: a provider never sleeps or waits for a task itself.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO, Protocol, runtime_checkable

from pydantic import BaseModel

from script_to_film.domain.errors import ScriptToFilmError
from script_to_film.domain.models import SceneJob

if TYPE_CHECKING:
    from script_to_film.domain.account import AccountLimits


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


class ProviderError(ScriptToFilmError):
    """A provider call failed."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class TransientProviderError(ProviderError):
    """Worth resubmitting a bounded number of times (INTERNAL.*, 5xx, connection errors)."""


class PermanentProviderError(ProviderError):
    """Never resubmitted (SAFETY.*, validation, daily cap reached, bad key)."""


class NoOutputError(PermanentProviderError):
    """The provider reports the task SUCCEEDED but gives no clip to fetch (NO_OUTPUT); it was
    still billed."""


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
