"""The screenplay writer, invoked asynchronously by `POST /scripts/generate`: see
`script_to_film.services.scripts.generate_script`. The only Lambda that loads the Anthropic SDK."""

from __future__ import annotations

import math
from typing import Any

from script_to_film.runtime import backend, logger, tracer
from script_to_film.services.scripts import generate_script


@logger.inject_lambda_context(correlation_id_path="script_id", clear_state=True)
# Never in a trace: the answer is the script (its title), errors can quote Claude's answer.
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The claim on the script lasts exactly as long as this invocation may run.
    lease_seconds = math.ceil(context.get_remaining_time_in_millis() / 1000)
    script = generate_script(backend(), event, lease_seconds=lease_seconds)
    logger.info(
        "writer finished", status=script.status, scene_count=script.scene_count, failure=script.failure
    )
    return script.model_dump(mode="json")
