"""A video's manifest: what was made, as `manifest.json` beside the clips says it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from script_to_film.domain.casting import CastMember, manifest_cast
from script_to_film.domain.models import VideoRecord
from script_to_film.domain.status import shots_of


def build_manifest(
    video: VideoRecord, *, execution: str | None, cast: Sequence[CastMember] | None = None
) -> dict[str, Any]:
    """The manifest contract of ARCHITECTURE.md; paths are relative to the manifest's folder.
    `cast` (each speaking character's voice) is listed when the film was cast."""
    manifest = {
        "video_id": video.id,
        "status": video.status.value,
        "execution": execution or video.execution_arn,
        "film": "film.mp4" if video.film_key else None,
        "scenes": [
            {
                "number": scene.number,
                "heading": scene.heading,
                "status": scene.status.value,
                "clip": f"scene_{scene.number:03d}.mp4" if scene.clip_key else None,
                "duration_seconds": scene.duration_seconds,
                "provider_task_id": scene.provider_task_id,
                "attempts": scene.attempts,
                "failure_code": scene.failure_code,
                "failure": scene.failure,
                "note": scene.note,
                "shots": [
                    {
                        "number": shot.number,
                        "kind": shot.kind.value,
                        "status": shot.status.value,
                        "duration_seconds": shot.duration_seconds,
                        "lines": shot.lines,
                        "provider_task_id": shot.provider_task_id,
                        "attempts": shot.attempts,
                        "failure_code": shot.failure_code,
                        "failure": shot.failure,
                        "credits": shot.credits,
                    }
                    for shot in shots_of(scene)
                ],
            }
            for scene in video.scenes
        ],
        "cost": {"estimated_usd": video.estimated_usd, "credits": video.credits or 0},
        "failure": video.failure,
        "left_out": [left.model_dump() for left in video.left_out],
        "limits": {
            "concurrency": video.concurrency,
            "source": video.concurrency_source,
            "note": video.limits_note,
        },
    }
    if cast is not None:
        manifest["cast"] = manifest_cast(cast)
    return manifest
