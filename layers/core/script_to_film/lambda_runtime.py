"""What every workflow Lambda shares: Powertools Logger, Tracer and Metrics, and the workflow.

Created once per cold start. Settings are validated here, so a misconfigured function fails at
its first invocation with a clear message rather than half-way through a scene.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

from script_to_film.domain.errors import ScriptToFilmError
from script_to_film.store import FilmStore, StoreSettings, TransientAwsError, is_transient_aws_error
from script_to_film.workflow import FilmWorkflow

Result = TypeVar("Result")

SERVICE = "script-to-film"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="ScriptToFilm", service=SERVICE)


@cache
def workflow() -> FilmWorkflow:
    return FilmWorkflow(FilmStore(StoreSettings.from_env()))


def transient_aws_errors(handler: Callable[..., Result]) -> Callable[..., Result]:
    """Raise an AWS failure worth retrying (throttling, 5xx, a lost connection) as
    `TransientAwsError`, the one name the workflow's Retry matches for it; anything else keeps
    its own class and reaches the Catch at once."""

    @wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Result:
        try:
            return handler(*args, **kwargs)
        except ScriptToFilmError:
            raise
        except Exception as error:
            if is_transient_aws_error(error):
                raise TransientAwsError(f"{type(error).__name__}: {error}") from error
            raise

    return run
