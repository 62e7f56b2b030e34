"""The workflow's `LoadShots` task: see `script_to_film.workflow.film.FilmTasks.load_shots`."""

from __future__ import annotations

from typing import Any

from script_to_film.runtime import film_tasks, logger, tracer, transient_aws_errors


@logger.inject_lambda_context(correlation_id_path="video_id", clear_state=True)
@tracer.capture_lambda_handler
@transient_aws_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return film_tasks().load_shots(event)
