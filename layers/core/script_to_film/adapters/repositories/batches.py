"""Batches: the `BATCH#<id>` item, one per object version dropped into `incoming/`, with an
`ITEM#<nnn>` claim per screenplay, and the lease of the one delivery working on it."""

from __future__ import annotations

from typing import Any

from script_to_film.adapters.aws import AwsClients
from script_to_film.adapters.dynamo import from_item, read_partition, to_item, update_if
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.models import BatchItemRecord, BatchRecord, BatchStatus, now_iso


class BatchRepository:
    """Batches and their items, in the table."""

    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws

    def claim(self, batch: BatchRecord) -> BatchRecord | None:
        """Create the batch unless an earlier delivery of its object version did: None when this
        call created it, else the batch as it stands (with its items)."""
        fields = batch.model_dump(mode="json", exclude={"items"})
        client_errors = self.aws.table.meta.client.exceptions
        try:
            self.aws.table.put_item(
                Item=to_item({"pk": f"BATCH#{batch.id}", "sk": "BATCH", "kind": "batch", **fields}),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except client_errors.ConditionalCheckFailedException:
            return self.get(batch.id)

    def get(self, batch_id: str) -> BatchRecord:
        """The batch and its items, read consistently: a claim just written is always seen."""
        items = read_partition(self.aws.table, f"BATCH#{batch_id}")
        header = next((item for item in items if item["sk"] == "BATCH"), None)
        if header is None:
            raise NotFoundError(f"no batch {batch_id}")
        entries = [BatchItemRecord.model_validate(from_item(i)) for i in items if i["sk"].startswith("ITEM#")]
        return BatchRecord.model_validate(
            {**from_item(header), "items": sorted(entries, key=lambda item: item.number)}
        )

    def take_over(self, batch: BatchRecord, owner: str, lease_until: float, now: float) -> bool:
        """Become the delivery that starts the batch's videos, if the one that held it is certainly
        over (its lease has run out) and nobody else took over first."""
        return update_if(
            self.aws.table,
            {"pk": f"BATCH#{batch.id}", "sk": "BATCH"},
            {"owner": owner, "lease_until": lease_until},
            "#status = :starting AND #owner = :previous AND lease_until < :now",
            {":starting": BatchStatus.STARTING.value, ":previous": batch.owner, ":now": now},
        )

    def release(self, batch_id: str, owner: str) -> None:
        """End this delivery's lease early, so that the retry of a delivery that failed need not
        wait for it to run out."""
        update_if(
            self.aws.table,
            {"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
            {"lease_until": 0},
            "#owner = :owner",
            {":owner": owner},
        )

    def set_status(
        self,
        batch_id: str,
        status: BatchStatus,
        *,
        expected: BatchStatus,
        owner: str | None = None,
        **fields: Any,
    ) -> bool:
        """Move the batch from `expected` to `status` (only as `owner`, when given), with `fields`;
        False when refused."""
        condition = "#status = :expected" + (" AND #owner = :owner" if owner else "")
        values: dict[str, Any] = {":expected": expected.value}
        if owner:
            values[":owner"] = owner
        return update_if(
            self.aws.table,
            {"pk": f"BATCH#{batch_id}", "sk": "BATCH"},
            {**fields, "status": status.value},
            condition,
            values,
        )

    def claim_item(self, batch_id: str, item: BatchItemRecord) -> BatchItemRecord | None:
        """Claim one screenplay of a batch before starting it: None when claimed now, else the
        item as an earlier delivery left it."""
        key = {"pk": f"BATCH#{batch_id}", "sk": f"ITEM#{item.number:03d}"}
        client_errors = self.aws.table.meta.client.exceptions
        try:
            self.aws.table.put_item(
                Item=to_item({**key, **item.model_dump(mode="json"), "updated_at": now_iso()}),
                ConditionExpression="attribute_not_exists(pk)",
            )
            return None
        except client_errors.ConditionalCheckFailedException:
            existing = self.aws.table.get_item(Key=key, ConsistentRead=True)["Item"]
        return BatchItemRecord.model_validate(from_item(existing))

    def update_item(self, batch_id: str, number: int, holder: str, **fields: Any) -> bool:
        """Record what became of a claimed screenplay, only while `holder` still holds its claim
        (a delivery that lost the batch to another must not write over it); False when refused.
        Passing `owner` hands the claim over."""
        return update_if(
            self.aws.table,
            {"pk": f"BATCH#{batch_id}", "sk": f"ITEM#{number:03d}"},
            fields,
            "#owner = :holder",
            {":holder": holder},
        )
