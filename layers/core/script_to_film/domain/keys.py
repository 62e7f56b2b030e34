"""Where things are in the project's bucket: pure names, the one layout every part agrees on.

The bucket holds `scripts/<id>.fountain` and its breakdown `scripts/<id>.breakdown.json`, and
under `videos/<video_id>/` the scene jobs (`jobs/scene_NNN.json`), the clips (`scene_NNN.mp4`),
`film.mp4` and `manifest.json`; under `batches/<batch_id>/` what an S3 batch started
(`batch.json`) and how it ended (`summary.json`).
"""

from __future__ import annotations


def video_prefix(video_id: str) -> str:
    return f"videos/{video_id}/"


def job_key(video_id: str, number: int) -> str:
    return f"{video_prefix(video_id)}jobs/scene_{number:03d}.json"


def clip_key(video_id: str, number: int) -> str:
    return f"{video_prefix(video_id)}scene_{number:03d}.mp4"


def shot_clip_key(video_id: str, number: int, shot: int) -> str:
    """A shot's own clip, kept until the scene's shots are joined into its clip."""
    return f"{video_prefix(video_id)}shots/scene_{number:03d}_shot_{shot:03d}.mp4"


def film_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}film.mp4"


def manifest_key(video_id: str) -> str:
    return f"{video_prefix(video_id)}manifest.json"


def script_key(script_id: str) -> str:
    return f"scripts/{script_id}.fountain"


def breakdown_key(script_id: str) -> str:
    return f"scripts/{script_id}.breakdown.json"


def batch_record_key(batch_id: str) -> str:
    return f"batches/{batch_id}/batch.json"


def batch_summary_key(batch_id: str) -> str:
    return f"batches/{batch_id}/summary.json"
