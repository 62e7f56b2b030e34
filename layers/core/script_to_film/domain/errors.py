"""Typed errors, mapped to answers in one place each (HTTP status in the API, exit status in the CLI).

The message of an `InvalidInputError` is written for the person who sent the input: it says what
is wrong and, where it can, what would be accepted. Workflow code raises these by type; the state
machine's Retry/Catch match the class names, never message text.
"""

from __future__ import annotations


class ScriptToFilmError(Exception):
    """Base class of every error this project raises on purpose."""


class InvalidInputError(ScriptToFilmError):
    """The caller's input cannot be used as given (HTTP 4xx, CLI exit status 2)."""


class ScreenplayError(InvalidInputError):
    """The screenplay cannot be read or broken down."""


class NotTextError(ScreenplayError):
    """The bytes are not UTF-8 text."""


class NoScenesError(ScreenplayError):
    """The text parses but holds no scene heading, so there is nothing to film."""


class UnknownModelError(InvalidInputError):
    """The provider or model is not in the catalog."""


class InvalidOptionError(InvalidInputError):
    """An option (ratio, style, duration…) is not allowed for the chosen model."""


class BudgetExceededError(InvalidInputError):
    """The estimate is over the caller's budget: refused before anything is paid for."""


class InsufficientCreditsError(InvalidInputError):
    """The estimate is more than the provider account's credit balance: refused before anything
    is paid for."""

    code = "INSUFFICIENT_CREDITS"


class DailyAllowanceError(InvalidInputError):
    """The film needs more generations of a model than the account has left of its rolling daily
    allowance: refused before anything is paid for (the same limit as Runway's 429, DAILY_CAP)."""

    code = "DAILY_CAP"


class ScreenplayTooLargeError(ScreenplayError):
    """The screenplay is over the size limit (HTTP 413)."""


class ConfigurationError(ScriptToFilmError):
    """Something the operator sets is missing or wrong (an API key, a table name)."""


class ProviderRefusedError(InvalidInputError):
    """The provider refused the account itself (its API key) before the film started: nothing was
    made or paid for (HTTP 422, CLI exit 2)."""


# Storage and the workflow ---------------------------------------------------------------------


class NotFoundError(ScriptToFilmError):
    """No such script, video or scene."""


class InvalidPageTokenError(InvalidInputError):
    """A page token that this store did not hand out (or one for another listing)."""


class VideoEndedError(ScriptToFilmError):
    """The video is no longer QUEUED or RUNNING (cancelled, or ended by the cleanup): nothing more
    is paid for it. A claim on a paid provider call is refused with this error."""


class TransientAwsError(ScriptToFilmError):
    """An AWS call failed in a way worth retrying (throttling, a 5xx, a dropped connection, a
    transaction conflict): the workflow's Retry matches this class name, never `States.TaskFailed`."""


class ObjectRefusedError(ScriptToFilmError):
    """S3 refuses an object for good (AccessDenied, InvalidObjectState, NoSuchBucket…): asking
    again will not change the answer. `code` is S3's error code."""

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class SubmitInDoubtError(ScriptToFilmError):
    """An earlier try claimed this submit and never recorded a task id.

    The provider may have been called (and paid) before that try crashed, and nothing can tell:
    the scene fails rather than risk paying twice.
    """


# Providers, media and downloads ------------------------------------------------------------


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


class MediaError(ScriptToFilmError):
    """ffmpeg failed, or a clip cannot be read or joined."""

    def __init__(self, message: str, *, stderr_tail: str = "") -> None:
        super().__init__(f"{message}: {stderr_tail}" if stderr_tail else message)
        self.stderr_tail = stderr_tail


class InvalidClipError(MediaError):
    """A clip that cannot count: not a video, of the wrong length, or cut short (INVALID_CLIP)."""


class DownloadError(ScriptToFilmError):
    """A clip could not be fetched, or was refused (the workflow's failure code DOWNLOAD)."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


# The screenplay writer ------------------------------------------------------------------------


class WriterError(ScriptToFilmError):
    """The screenplay could not be written."""


class WriterUnavailableError(WriterError):
    """The Anthropic API is overloaded, rate limited or unreachable, after the SDK's retries."""


class WriterOutputError(WriterError):
    """Claude answered, but not with a screenplay that breaks down into scenes, even after the repair."""


class WriterRefusedError(WriterError, InvalidInputError):
    """Claude declined to write this screenplay (stop reason `refusal`): change the prompt."""


class WriterRequestError(WriterError, InvalidInputError):
    """The Anthropic API refused the request itself (an unknown model, a malformed request)."""


class RetiredModelError(WriterError, InvalidInputError):
    """The model asked for is at or past its end of life."""
