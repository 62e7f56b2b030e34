"""Ending a scene the workflow will not finish (a cancel, an execution that ended outside it):
shared by the scene tasks, the cleanup and `services.videos.cancel`."""

from __future__ import annotations

import logging
from typing import Any

from script_to_film.domain.models import SceneStatus
from script_to_film.domain.ports import Backend, VideoProvider
from script_to_film.domain.status import SCENE_FINAL
from script_to_film.workflow.contract import FAILURE_TEXT_LIMIT

LOG = logging.getLogger(__name__)

IN_FLIGHT = frozenset({SceneStatus.SUBMITTED, SceneStatus.THROTTLED, SceneStatus.RUNNING})
"""A scene whose provider task may be running, and billing."""


def cancel_quietly(
    provider: VideoProvider, backend: Backend, video_id: str, number: int, task_id: str
) -> str | None:
    """Cancel a provider task; a cancel that fails is logged and kept on the scene as a note
    (returned too), never raised: whoever cancels goes on with the next scene."""
    try:
        provider.cancel(task_id)
    except Exception as error:  # any failure here must not stop the other scenes' cancels
        note = f"the provider did not confirm cancelling task {task_id}: {type(error).__name__}: {error}"
        LOG.warning("cancel failed", extra={"video_id": video_id, "scene": number, "error": str(error)})
        backend.videos.update_scene(video_id, number, note=note[:FAILURE_TEXT_LIMIT])
        return note[:FAILURE_TEXT_LIMIT]
    return None


def end_scene(
    backend: Backend,
    provider: VideoProvider,
    video_id: str,
    number: int,
    status: SceneStatus,
    *,
    include_storing: bool = False,
    **fields: Any,
) -> SceneStatus:
    """End a scene that the workflow will not finish (a cancel, an execution that ended): cancel
    its provider task if one may be running, then write `status`, only while the scene still has
    the task that was cancelled. A submit that records a new task meanwhile makes the write fail:
    the scene is read again and that task cancelled too. A scene storing its clip is left to
    finish unless `include_storing`. Returns the scene's status afterwards."""
    scene = backend.videos.get_scene(video_id, number)
    for _ in range(3):
        if scene.status in SCENE_FINAL or (scene.status is SceneStatus.STORING and not include_storing):
            return scene.status
        note = None
        if scene.status in IN_FLIGHT and scene.provider_task_id:
            note = cancel_quietly(provider, backend, video_id, number, scene.provider_task_id)
        extra = {"note": note} if note else {}
        if backend.videos.set_scene_status_if_task(
            video_id, number, status, scene.provider_task_id, **fields, **extra
        ):
            return status
        scene = backend.videos.get_scene(video_id, number)
    return scene.status
