"""The cleanup after an execution ended FAILED, TIMED_OUT or ABORTED: EventBridge's "Step
Functions Execution Status Change" event (and the local stack's replay of it): see
`script_to_film.workflow.cleanup.Cleanup.clean_up`."""

from __future__ import annotations

from typing import Any

from script_to_film.runtime import cleanup, logger, tracer, transient_aws_errors


@logger.inject_lambda_context(correlation_id_path="detail.name", clear_state=True)
@tracer.capture_lambda_handler
@transient_aws_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = cleanup().clean_up(event)
    logger.info("execution cleaned up", **result)
    return result
