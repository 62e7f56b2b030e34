"""AWS for every adapter of a backend: the names and ARNs the environment gives (never secrets),
one boto3 session with its clients, and which of boto3's errors are worth retrying."""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel


class AwsSettings(BaseModel):
    """Names and ARNs from the environment (never secrets)."""

    table_name: str
    bucket_name: str
    state_machine_arn: str | None = None
    scene_state_machine_arn: str | None = None
    """The SceneWorkflow state machine, whose executions (one per scene) a cancel stops too."""
    writer_function: str | None = None
    """The screenplay writer Lambda, invoked asynchronously by `invoke_writer`."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> AwsSettings:
        try:
            return cls(
                table_name=env["STF_TABLE"],
                bucket_name=env["STF_BUCKET"],
                state_machine_arn=env.get("STF_STATE_MACHINE_ARN"),
                scene_state_machine_arn=env.get("STF_SCENE_STATE_MACHINE_ARN"),
                writer_function=env.get("STF_WRITER_FUNCTION"),
            )
        except KeyError as missing:
            raise RuntimeError(f"environment variable {missing} is not set") from None


_TRANSIENT_AWS_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "SlowDown",
        "ThrottledException",
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "TransactionConflict",
        "TransactionConflictException",
        "TransactionInProgressException",
    }
)


def is_transient_aws_error(error: BaseException) -> bool:
    """Whether an exception from boto3 (or one raised while handling it, as boto3's
    `S3UploadFailedError` is) is throttling, a server error or a lost connection."""
    from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ConnectionError | HTTPClientError):
            return True
        if isinstance(current, ClientError):
            response = current.response
            code = str(response.get("Error", {}).get("Code", ""))
            status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
            reasons = {str(reason.get("Code")) for reason in response.get("CancellationReasons") or []}
            return code in _TRANSIENT_AWS_CODES or status >= 500 or bool(reasons & _TRANSIENT_AWS_CODES)
        current = current.__cause__ or current.__context__
    return False


class AwsClients:
    """One boto3 session and its clients, shared by every repository of a backend (made on first use)."""

    def __init__(self, settings: AwsSettings, *, session: Any = None) -> None:
        self.settings = settings
        self._session = session

    @cached_property
    def _boto(self) -> Any:
        if self._session is not None:
            return self._session
        import boto3

        return boto3.session.Session()

    @cached_property
    def table(self) -> Any:
        return self._boto.resource("dynamodb").Table(self.settings.table_name)

    @cached_property
    def s3(self) -> Any:
        return self._boto.client("s3")

    @cached_property
    def sfn(self) -> Any:
        return self._boto.client("stepfunctions")

    @cached_property
    def lambda_client(self) -> Any:
        return self._boto.client("lambda")

    @cached_property
    def presigner(self) -> Any:
        from botocore.config import Config

        # SigV4 explicitly: botocore still presigns some S3 URLs with the deprecated SigV2.
        return self._boto.client("s3", config=Config(signature_version="s3v4"))

    @property
    def bucket(self) -> str:
        return self.settings.bucket_name
