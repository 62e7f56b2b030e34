"""Writing a requested screenplay, as the asynchronous writer Lambda does for `POST /scripts/generate`.

The API stores the script as WRITING and invokes the writer with a `WriteScriptEvent`; it never
waits (Claude can take minutes, API Gateway gives 29 s). `generate_script` then moves the script
to READY, with its text in S3 at `scripts/<id>.fountain`, its breakdown beside it (as
`POST /scripts` stores one), its title and scene count, or to FAILED with a message a person can
act on.

Async invokes are at-least-once, so the writer first claims the script (`claim_script_writing`):
a duplicate delivery finds the claim and returns the script as it stands, without asking Claude
again, and nothing can rewrite a READY script. A claim lasts as long as the delivery may run (the
Lambda passes its remaining time): a delivery that died (timed out, ran out of memory) leaves a
claim that has expired by the time Lambda retries the event, a minute or more later, so the retry
takes over.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from script_to_film.domain import breakdown
from script_to_film.domain.breakdown import StoredBreakdown
from script_to_film.domain.errors import ConfigurationError, InvalidInputError, WriterError
from script_to_film.domain.limits import MAX_SCRIPT_SCENES
from script_to_film.domain.models import ScriptRecord, ScriptStatus
from script_to_film.domain.ports import Backend
from script_to_film.domain.screenwriting import WriteRequest, Written

DEFAULT_CLAIM_SECONDS: Final = 900
"""How long a claim lasts when the caller does not say: Lambda's longest run."""

FAILURE_TEXT_LIMIT: Final = 500


class WriteScriptEvent(BaseModel):
    """The writer Lambda's event, exactly as `POST /scripts/generate` sends it."""

    model_config = ConfigDict(extra="forbid")

    script_id: str = Field(min_length=1, max_length=100)
    prompt: str
    genre: str | None
    duration_seconds: int
    tone: str | None


def generate_script(
    backend: Backend,
    event: Mapping[str, Any],
    *,
    model: str | None = None,
    lease_seconds: int = DEFAULT_CLAIM_SECONDS,
) -> ScriptRecord:
    """Write the screenplay of a WRITING script and record the outcome; returns the script.

    `lease_seconds` is how long this delivery may run: the claim on the script lasts that long.

    The writer's own errors (a refusal, an overloaded API, an unusable answer, a missing key) end
    the script FAILED with their message: the event is not retried for them. Anything unexpected
    gives the claim back and is raised, so that Lambda's retry of the event may succeed.
    """
    job = WriteScriptEvent.model_validate(event)
    if not backend.scripts.claim_writing(job.script_id, lease_seconds):
        return backend.scripts.get(job.script_id)
    try:
        outcome = _write(backend, job, model)
        if isinstance(outcome, str):
            backend.scripts.finish(job.script_id, ScriptStatus.FAILED, failure=outcome)
        else:
            written, stored = outcome
            backend.scripts.finish(
                job.script_id,
                ScriptStatus.READY,
                text=written.text,
                breakdown=stored.model_dump(mode="json"),
                title=written.title,
                scene_count=written.scene_count,
            )
    except Exception:
        backend.scripts.release_writing(job.script_id)
        raise
    return backend.scripts.get(job.script_id)


def _write(
    backend: Backend, job: WriteScriptEvent, model: str | None
) -> tuple[Written, StoredBreakdown] | str:
    """The screenplay and its breakdown, or why it could not be written (or stored: too many
    scenes), in words for the person who asked."""
    try:
        request = WriteRequest(
            prompt=job.prompt, genre=job.genre, duration_seconds=job.duration_seconds, tone=job.tone
        )
    except ValidationError as error:
        first = error.errors()[0]
        return _limited(f"{'.'.join(str(part) for part in first['loc'])}: {first['msg']}")
    try:
        written = backend.screenwriter.write_screenplay(request, model=model)
    except (WriterError, ConfigurationError) as error:
        return _limited(str(error))
    try:
        return written, StoredBreakdown.of(breakdown.plan(written.text, max_scenes=MAX_SCRIPT_SCENES))
    except InvalidInputError as error:
        return _limited(str(error))


def _limited(text: str) -> str:
    return text if len(text) <= FAILURE_TEXT_LIMIT else text[: FAILURE_TEXT_LIMIT - 1] + "…"
