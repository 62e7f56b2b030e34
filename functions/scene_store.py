"""The workflow's `StoreClip` task: see `script_to_film.workflow.scene.SceneTasks.store_clip`."""

from __future__ import annotations

from typing import Any

from script_to_film.runtime import logger, scene_tasks, tracer, transient_aws_errors


@logger.inject_lambda_context(correlation_id_path="video_id", clear_state=True)
@tracer.capture_lambda_handler
@transient_aws_errors
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    logger.append_keys(scene=event.get("scene"))
    return scene_tasks().store_clip(event)
