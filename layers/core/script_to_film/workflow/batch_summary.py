"""A batch's summary, `batches/<batch_id>/summary.json`: how every video of the batch ended.

Written by whoever finishes last, without anyone waiting: the workflow's Finalize (or the
cleanup) of the batch's last video, or the S3 batch delivery itself when its videos were all
over (or refused) before it finished starting them. Every party records its own end before
reading the others' with consistent reads, so the last one always sees them all ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from script_to_film.domain import cost
from script_to_film.domain.keys import batch_summary_key
from script_to_film.domain.models import BatchItemState, BatchRecord, BatchStatus, VideoRecord, VideoStatus
from script_to_film.domain.ports import Backend
from script_to_film.domain.status import VIDEO_FINAL

ItemStatus = Literal["SUCCEEDED", "PARTIAL", "FAILED", "CANCELLED"]


_FINAL_STATUS: dict[VideoStatus, ItemStatus] = {
    VideoStatus.SUCCEEDED: "SUCCEEDED",
    VideoStatus.PARTIAL: "PARTIAL",
    VideoStatus.FAILED: "FAILED",
    VideoStatus.CANCELLED: "CANCELLED",
}


class BatchSource(BaseModel):
    bucket: str
    key: str
    version_id: str | None
    sequencer: str | None


class ItemCost(BaseModel):
    estimated_usd: float
    credits: int | float
    usd: float


class SummaryItem(BaseModel):
    number: int
    name: str
    key: str | None
    video_id: str | None
    status: ItemStatus
    film_key: str | None = None
    manifest_key: str | None = None
    error: str | None = None
    cost: ItemCost


class BatchSummary(BaseModel):
    """`batches/<batch_id>/summary.json`: how every video of the batch ended."""

    batch_id: str
    name: str
    source: BatchSource
    status: Literal["SUCCEEDED", "PARTIAL", "FAILED"]
    items: list[SummaryItem]
    cost: ItemCost
    completed_at: str


def batch_source(batch: BatchRecord) -> BatchSource:
    return BatchSource(
        bucket=batch.bucket, key=batch.key, version_id=batch.version_id, sequencer=batch.sequencer
    )


def summarize_batch(backend: Backend, batch_id: str) -> BatchSummary | None:
    """Write the batch's summary if every screenplay in it has been started (or refused) and every
    video has ended; None (and nothing written) while something is still going on.

    Safe to call from every party at any time: it writes the same summary however often it runs.
    """
    batch = backend.batches.get(batch_id)
    if batch.status is BatchStatus.STARTING:
        return None
    videos: dict[str, VideoRecord] = {}
    for item in batch.items:
        if item.video_id is None or item.state is not BatchItemState.STARTED:
            continue
        video = backend.videos.get_header(item.video_id)
        if video is None or video.status not in VIDEO_FINAL:
            return None
        videos[item.video_id] = video
    summary = build_summary(batch, videos)
    backend.objects.put_json(batch_summary_key(batch_id), summary.model_dump(mode="json"))
    backend.batches.set_status(batch_id, BatchStatus.DONE, expected=BatchStatus.STARTED)
    return summary


def build_summary(batch: BatchRecord, videos: Mapping[str, VideoRecord]) -> BatchSummary:
    items: list[SummaryItem] = []
    for item in batch.items:
        video = videos.get(item.video_id or "")
        if video is None:
            items.append(
                SummaryItem(
                    number=item.number,
                    name=item.name,
                    key=item.key,
                    video_id=None,
                    status="FAILED",
                    error=item.error,
                    cost=ItemCost(estimated_usd=0.0, credits=0, usd=0.0),
                )
            )
            continue
        credits = video.credits or 0
        items.append(
            SummaryItem(
                number=item.number,
                name=item.name,
                key=item.key,
                video_id=video.id,
                status=_FINAL_STATUS[video.status],
                film_key=video.film_key,
                manifest_key=video.manifest_key,
                cost=ItemCost(estimated_usd=video.estimated_usd, credits=credits, usd=_usd(credits)),
            )
        )
    total_credits = sum(i.cost.credits for i in items)
    ended = [v.updated_at or v.created_at for v in videos.values()] or [batch.updated_at or batch.created_at]
    return BatchSummary(
        batch_id=batch.id,
        name=batch.name,
        source=batch_source(batch),
        status=batch_status(item.status for item in items),
        items=items,
        cost=ItemCost(
            estimated_usd=round(sum(i.cost.estimated_usd for i in items), 2),
            credits=total_credits,
            usd=_usd(total_credits),
        ),
        completed_at=max(ended),
    )


def _usd(credits: int | float) -> float:
    return float(cost.usd(Decimal(str(credits))))


def batch_status(statuses: Iterable[str]) -> Literal["SUCCEEDED", "PARTIAL", "FAILED"]:
    """SUCCEEDED when every video did, FAILED when none made a film, PARTIAL in between."""
    seen = list(statuses)
    if seen and all(status == "SUCCEEDED" for status in seen):
        return "SUCCEEDED"
    if all(status in ("FAILED", "CANCELLED") for status in seen):
        return "FAILED"
    return "PARTIAL"
