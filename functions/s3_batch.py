"""The S3 trigger on `incoming/`: see `script_to_film.services.batch` for what an upload starts, why bad
input is recorded and answered while AWS errors are raised (so that Lambda retries the delivery),
and how a repeated delivery starts nothing twice."""

from __future__ import annotations

from typing import Any

from script_to_film.runtime import backend, logger, tracer
from script_to_film.services.batch import handle_event


@logger.inject_lambda_context(correlation_id_path="Records[0].s3.object.key", clear_state=True)
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = handle_event(event, backend(), remaining_seconds=context.get_remaining_time_in_millis() / 1000)
    for batch in result.batches:
        logger.info(
            "batch delivered",
            batch_id=batch.batch_id,
            key=batch.key,
            duplicate=batch.duplicate,
            started=batch.started,
            failed=len(batch.failed),
        )
    for ignored in result.ignored:
        logger.info("record ignored", key=ignored.key, reason=ignored.reason)
    return result.model_dump(mode="json")
