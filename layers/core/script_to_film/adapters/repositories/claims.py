"""Once-only claims on paid provider calls: `SUBMIT#<nnn>#<try>` (a scene's first shot),
`SUBMIT#<nnn>#<shot>#<try>` (its later shots) and `KEYFRAME#…` items under the
video, each written only while the video is live, so that a provider is paid at most once per
claim and never after a cancel."""

from __future__ import annotations

from script_to_film.adapters.aws import AwsClients
from script_to_film.domain.errors import SubmitInDoubtError, VideoEndedError
from script_to_film.domain.models import now_iso
from script_to_film.domain.status import LIVE_VIDEO


def submit_claim(number: int, attempt: int, shot: int = 1) -> str:
    """The claim of one try of one shot of a scene. A first shot keeps the name a scene's one
    shot had, so a video started before scenes had several shots is never paid for twice."""
    return f"SUBMIT#{number:03d}#{attempt}" if shot == 1 else f"SUBMIT#{number:03d}#{shot:03d}#{attempt}"


class ClaimRepository:
    """The claims of every video, in the table."""

    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws

    def claim_submit(self, video_id: str, number: int, attempt: int, shot: int = 1) -> str | None:
        """Claim the right to call the provider for this try of a scene's shot (see `claim_once`)."""
        return self.claim_once(
            video_id, submit_claim(number, attempt, shot), f"scene {number} shot {shot} try {attempt}"
        )

    def release_submit(self, video_id: str, number: int, attempt: int, shot: int = 1) -> None:
        self.release_claim(video_id, submit_claim(number, attempt, shot))

    def record_submit(self, video_id: str, number: int, attempt: int, task_id: str, shot: int = 1) -> None:
        self.record_claim(video_id, submit_claim(number, attempt, shot), task_id)

    def claim_once(self, video_id: str, claim: str, what: str) -> str | None:
        """Claim the right to make one paid provider call, named `claim` within the video.

        Returns None when the claim is new (go ahead and call), the task id when an earlier
        delivery already made the call and recorded it, and raises `SubmitInDoubtError` when an
        earlier delivery claimed it and never recorded what happened.
        """
        key = {"pk": f"VIDEO#{video_id}", "sk": claim}
        client = self.aws.table.meta.client
        live = sorted(status.value for status in LIVE_VIDEO)
        try:
            # One transaction: the claim is written only while the video is live, so a cancel that
            # has been written is final for money, however late this call comes.
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self.aws.settings.table_name,
                            "Item": {**key, "claimed_at": now_iso()},
                            "ConditionExpression": "attribute_not_exists(pk)",
                        }
                    },
                    {
                        "ConditionCheck": {
                            "TableName": self.aws.settings.table_name,
                            "Key": {"pk": f"VIDEO#{video_id}", "sk": "VIDEO"},
                            "ConditionExpression": "#status IN (:live0, :live1)",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":live0": live[0], ":live1": live[1]},
                        }
                    },
                ]
            )
            return None
        except client.exceptions.TransactionCanceledException as error:
            reasons = [str(r.get("Code")) for r in error.response.get("CancellationReasons") or []]
            if len(reasons) == 2 and reasons[1] == "ConditionalCheckFailed":
                raise VideoEndedError(
                    f"video {video_id} is no longer QUEUED or RUNNING: {what} is not sent to the provider"
                ) from None
            if not reasons or reasons[0] != "ConditionalCheckFailed":
                raise
        existing = self.aws.table.get_item(Key=key, ConsistentRead=True).get("Item", {})
        task_id = existing.get("task_id")
        if task_id is None:
            raise SubmitInDoubtError(
                f"{what} was claimed at {existing.get('claimed_at')} and never recorded a provider "
                "task; not calling the provider again so it is never paid for twice"
            )
        return str(task_id)

    def release_claim(self, video_id: str, claim: str) -> None:
        """Give a claim back when the provider certainly accepted nothing (it answered an error)."""
        self.aws.table.delete_item(Key={"pk": f"VIDEO#{video_id}", "sk": claim})

    def record_claim(self, video_id: str, claim: str, task_id: str) -> None:
        self.aws.table.update_item(
            Key={"pk": f"VIDEO#{video_id}", "sk": claim},
            UpdateExpression="SET task_id = :t",
            ExpressionAttributeValues={":t": task_id},
        )
