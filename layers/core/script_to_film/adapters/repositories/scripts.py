"""Scripts: the `SCRIPT#<id>` item, its Fountain text and its breakdown in the bucket, and the
writer's claim on a script being written."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from script_to_film.adapters.aws import AwsClients
from script_to_film.adapters.dynamo import conditional_update, from_item, list_kind, to_item
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.keys import breakdown_key, script_key
from script_to_film.domain.models import ScriptRecord, ScriptStatus


class ScriptRepository:
    """Scripts in the table and the bucket."""

    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws

    def put(self, script: ScriptRecord, text: str, breakdown: Any = None) -> None:
        """The text (and its breakdown, a JSON document) to S3 first, then the item that points at it."""
        self.aws.s3.put_object(
            Bucket=self.aws.bucket,
            Key=script_key(script.id),
            Body=text.encode("utf-8"),
            ContentType="text/plain",
        )
        if breakdown is not None:
            self.put_breakdown(script.id, breakdown)
        fields = script.model_dump(mode="json")
        self.aws.table.put_item(
            Item=to_item({"pk": f"SCRIPT#{script.id}", "sk": "SCRIPT", "kind": "script", **fields})
        )

    def put_item(self, script: ScriptRecord) -> None:
        """The item alone, for a script whose text does not exist yet (WRITING)."""
        fields = script.model_dump(mode="json")
        self.aws.table.put_item(
            Item=to_item({"pk": f"SCRIPT#{script.id}", "sk": "SCRIPT", "kind": "script", **fields}),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, script_id: str) -> ScriptRecord:
        item = self.aws.table.get_item(
            Key={"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"}, ConsistentRead=True
        ).get("Item")
        if item is None:
            raise NotFoundError(f"no script {script_id}")
        return ScriptRecord.model_validate(from_item(item))

    def get_text(self, script_id: str) -> str:
        try:
            body = self.aws.s3.get_object(Bucket=self.aws.bucket, Key=script_key(script_id))["Body"].read()
        except self.aws.s3.exceptions.NoSuchKey:
            raise NotFoundError(f"script {script_id} has no text") from None
        return bytes(body).decode("utf-8")

    def put_breakdown(self, script_id: str, breakdown: Any) -> None:
        """The script's breakdown, computed once when it is stored, so that reading it costs a read."""
        self.aws.s3.put_object(
            Bucket=self.aws.bucket,
            Key=breakdown_key(script_id),
            Body=json.dumps(breakdown, separators=(",", ":")).encode("utf-8"),
            ContentType="application/json",
        )

    def get_breakdown(self, script_id: str) -> bytes | None:
        """The stored breakdown's JSON, or None for a script stored without one."""
        try:
            body = self.aws.s3.get_object(Bucket=self.aws.bucket, Key=breakdown_key(script_id))["Body"].read()
        except self.aws.s3.exceptions.NoSuchKey:
            return None
        return bytes(body)

    def list(self, limit: int, page_token: str | None = None) -> tuple[list[ScriptRecord], str | None]:
        """A page of scripts, newest first, and the token of the next page (None on the last)."""
        items, token = list_kind(self.aws.table, "script", limit, page_token)
        return [ScriptRecord.model_validate(item) for item in items], token

    def claim_writing(self, script_id: str, lease_seconds: int) -> bool:
        """Take the right to write a WRITING script for `lease_seconds`; False when it is not
        WRITING any more or another delivery holds an unexpired claim.

        The writer is invoked asynchronously, and async invokes are at-least-once: the claim keeps
        a duplicate delivery from paying Claude for a second screenplay. A claim lasts as long as
        the writer may run, so Lambda's retry of a delivery that died finds it expired and takes over.
        """
        now = int(datetime.now(UTC).timestamp())
        client_errors = self.aws.table.meta.client.exceptions
        try:
            self.aws.table.update_item(
                Key={"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
                UpdateExpression="SET writer_claim_expires = :expires",
                ConditionExpression="#status = :writing AND "
                "(attribute_not_exists(writer_claim_expires) OR writer_claim_expires < :now)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expires": now + lease_seconds,
                    ":now": now,
                    ":writing": ScriptStatus.WRITING.value,
                },
            )
        except client_errors.ConditionalCheckFailedException:
            return False
        return True

    def release_writing(self, script_id: str) -> None:
        """Give the claim back, so that a retry may write the script after an unexpected failure."""
        conditional_update(
            self.aws.table,
            {"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
            None,
            None,
            {"writer_claim_expires": None},
        )

    def finish(
        self,
        script_id: str,
        status: ScriptStatus,
        text: str | None = None,
        breakdown: Any = None,
        **fields: Any,
    ) -> bool:
        """Move a WRITING script to READY (its text and breakdown to S3 first) or FAILED, once;
        False when it was not WRITING."""
        if text is not None:
            self.aws.s3.put_object(
                Bucket=self.aws.bucket,
                Key=script_key(script_id),
                Body=text.encode("utf-8"),
                ContentType="text/plain",
            )
        if breakdown is not None:
            self.put_breakdown(script_id, breakdown)
        return conditional_update(
            self.aws.table,
            {"pk": f"SCRIPT#{script_id}", "sk": "SCRIPT"},
            status.value,
            {ScriptStatus.WRITING},
            {**fields, "writer_claim_expires": None},
        )
