"""The project's bucket: JSON documents, files uploaded and downloaded in parts, presigned URLs,
and reading a bounded part of an object an uploader dropped in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from script_to_film.adapters.aws import AwsClients
from script_to_film.domain.errors import NotFoundError, ObjectRefusedError
from script_to_film.domain.limits import PRESIGNED_URL_MAX_SECONDS
from script_to_film.domain.ports import StoredObject

CLIP_CONTENT_TYPE = "video/mp4"

_S3_RETRY_CODES = frozenset(
    {
        # botocore's own transient and throttling codes for S3 …
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        # … and the function's own credentials or clock, which the next invocation has afresh.
        "ExpiredToken",
        "ExpiredTokenException",
        "RequestExpired",
        "RequestTimeTooSkewed",
    }
)


def _may_pass(error: Any) -> bool:
    """Whether an error S3 answered may pass, so that asking again later may succeed (throttling,
    timeouts, 5xx, the caller's own credentials or clock), rather than being this object's own
    (AccessDenied, NoSuchBucket, InvalidObjectState, …)."""
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error.response.get("Error", {}).get("Code")
    return code in _S3_RETRY_CODES or (isinstance(status, int) and (status >= 500 or status == 429))


class ObjectStore:
    """Objects in the project's bucket (and, for `read`, any bucket the function may read)."""

    transfer_config: Any = None
    """boto3's `TransferConfig` for file uploads and downloads; None keeps its defaults
    (multipart above 8 MiB)."""

    def __init__(self, aws: AwsClients) -> None:
        self.aws = aws

    @property
    def bucket(self) -> str:
        return self.aws.bucket

    def read(self, bucket: str, key: str, version_id: str | None, max_bytes: int) -> StoredObject:
        """One version of an object (the current one without `version_id`), at most `max_bytes`
        of it: `truncated` says there was more. Raises NotFoundError when it is gone, and
        ObjectRefusedError when S3 refuses it for good (AccessDenied, InvalidObjectState…); an
        error that may pass (throttling, timeouts, 5xx, the caller's expired credentials) is
        raised as botocore raised it."""
        kwargs = {"Bucket": bucket, "Key": key, **({"VersionId": version_id} if version_id else {})}
        try:
            response = self.aws.s3.get_object(**kwargs)
        except self.aws.s3.exceptions.ClientError as error:
            problem = error.response.get("Error", {})
            if problem.get("Code") in ("NoSuchKey", "NoSuchVersion", "404"):
                raise NotFoundError(f"s3://{bucket}/{key} does not exist (any more)") from None
            if _may_pass(error):
                raise
            raise ObjectRefusedError(
                f"s3://{bucket}/{key} cannot be read: {problem.get('Code')} ({problem.get('Message')})",
                code=problem.get("Code"),
            ) from None
        with response["Body"] as body:
            data: bytes = body.read(max_bytes + 1)
        return StoredObject(
            body=data[:max_bytes],
            truncated=len(data) > max_bytes,
            metadata=dict(response.get("Metadata") or {}),
            version_id=response.get("VersionId"),
        )

    def put_json(self, key: str, document: Any) -> None:
        self.aws.s3.put_object(
            Bucket=self.aws.bucket,
            Key=key,
            Body=json.dumps(document, indent=2).encode("utf-8"),
            ContentType="application/json",
        )

    def get_json(self, key: str) -> Any:
        return json.loads(self.aws.s3.get_object(Bucket=self.aws.bucket, Key=key)["Body"].read())

    def upload_file(self, key: str, path: Path, content_type: str = CLIP_CONTENT_TYPE) -> None:
        """Upload a file, in parts above boto3's multipart threshold: memory stays constant."""
        self.aws.s3.upload_file(
            str(path),
            self.aws.bucket,
            key,
            ExtraArgs={"ContentType": content_type},
            Config=self.transfer_config,
        )

    def download_file(self, key: str, path: Path) -> None:
        """Download an object to a file; a missing object is NotFoundError."""
        try:
            self.aws.s3.download_file(self.aws.bucket, key, str(path), Config=self.transfer_config)
        except self.aws.s3.exceptions.ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                raise NotFoundError(f"s3://{self.aws.bucket}/{key} does not exist") from None
            raise

    def presigned_url(self, key: str, expires_seconds: int = PRESIGNED_URL_MAX_SECONDS) -> str:
        """A URL anyone holding it can GET the object with, for `expires_seconds` (an hour at most)."""
        if not 1 <= expires_seconds <= PRESIGNED_URL_MAX_SECONDS:
            raise ValueError(f"presigned URLs live 1 to {PRESIGNED_URL_MAX_SECONDS} s, not {expires_seconds}")
        url = self.aws.presigner.generate_presigned_url(
            "get_object", Params={"Bucket": self.aws.bucket, "Key": key}, ExpiresIn=expires_seconds
        )
        return str(url)
