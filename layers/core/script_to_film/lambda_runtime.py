"""What every workflow Lambda shares: Powertools Logger, Tracer and Metrics, and the workflow.

Created once per cold start. Settings are validated here, so a misconfigured function fails at
its first invocation with a clear message rather than half-way through a scene.
"""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools import Logger, Metrics, Tracer

from script_to_film.store import FilmStore, StoreSettings
from script_to_film.workflow import FilmWorkflow

SERVICE = "script-to-film"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="ScriptToFilm", service=SERVICE)


@cache
def workflow() -> FilmWorkflow:
    return FilmWorkflow(FilmStore(StoreSettings.from_env()))
