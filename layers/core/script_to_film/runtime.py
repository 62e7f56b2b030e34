"""What every Lambda shares, made once per cold start: Powertools Logger, Tracer and Metrics, the
backend (`adapters.backend.AwsBackend`, from the environment) and the workflow's tasks over it. The
composition root: the one module that wires the adapters to the code that uses them.

Settings are validated here, so a misconfigured function fails at its first invocation with a
clear message rather than half-way through a scene.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, wraps
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer

from script_to_film.adapters.aws import AwsSettings, is_transient_aws_error
from script_to_film.adapters.backend import AwsBackend
from script_to_film.domain.errors import ScriptToFilmError, TransientAwsError
from script_to_film.workflow.cleanup import Cleanup
from script_to_film.workflow.film import FilmTasks
from script_to_film.workflow.scene import SceneTasks

Result = TypeVar("Result")

SERVICE = "script-to-film"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="ScriptToFilm", service=SERVICE)


def backend() -> AwsBackend:
    """The backend the environment names, made once per configuration: a Lambda has one; the
    local stack sets another for each stack it starts, and calls `reset` around it."""
    return _backend_for(AwsSettings.from_env().model_dump_json())


@cache
def _backend_for(settings_json: str) -> AwsBackend:
    return AwsBackend(AwsSettings.model_validate_json(settings_json))


def film_tasks() -> FilmTasks:
    return FilmTasks(backend())


def scene_tasks() -> SceneTasks:
    return SceneTasks(backend())


def cleanup() -> Cleanup:
    return Cleanup(backend())


def reset() -> None:
    """Forget the backend, so that the next call builds it from the environment."""
    _backend_for.cache_clear()


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
