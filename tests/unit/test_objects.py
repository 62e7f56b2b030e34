"""What the bucket adapter makes of S3's answers when it reads an object an uploader dropped in:
gone, refused for good, or an error that may pass (raised as botocore raised it, for the caller's
retry)."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from script_to_film.adapters.objects import ObjectStore
from script_to_film.domain.errors import NotFoundError, ObjectRefusedError


def s3_error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} (injected)"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetObject",
    )


class FakeS3:
    """The two things `ObjectStore.read` asks of a boto3 S3 client."""

    exceptions = SimpleNamespace(ClientError=ClientError)

    def __init__(self, answer: ClientError | bytes) -> None:
        self.answer = answer

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        if isinstance(self.answer, ClientError):
            raise self.answer
        return {"Body": io.BytesIO(self.answer), "Metadata": {"stf-options": "{}"}, "VersionId": "v1"}


def store(answer: ClientError | bytes) -> ObjectStore:
    return ObjectStore(SimpleNamespace(s3=FakeS3(answer), bucket="films"))  # type: ignore[arg-type]


@pytest.mark.parametrize(("code", "status"), [("NoSuchKey", 404), ("NoSuchVersion", 404), ("404", 404)])
def test_an_object_that_is_gone_is_not_found(code: str, status: int) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        store(s3_error(code, status)).read("uploads", "incoming/a.fountain", None, 100)


@pytest.mark.parametrize(
    ("code", "status"), [("AccessDenied", 403), ("InvalidObjectState", 403), ("NoSuchBucket", 404)]
)
def test_what_s3_refuses_for_good_is_refused_with_its_code(code: str, status: int) -> None:
    with pytest.raises(ObjectRefusedError) as refused:
        store(s3_error(code, status)).read("uploads", "library/a.fountain", None, 100)

    assert refused.value.code == code
    assert str(refused.value) == f"s3://uploads/library/a.fountain cannot be read: {code} ({code} (injected))"


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("SlowDown", 503),
        ("InternalError", 500),
        ("TooManyRequests", 429),
        ("ThrottlingException", 400),
        ("RequestTimeTooSkewed", 403),
        ("ExpiredToken", 400),
    ],
)
def test_an_error_that_may_pass_is_raised_as_it_came(code: str, status: int) -> None:
    error = s3_error(code, status)
    with pytest.raises(ClientError) as raised:
        store(error).read("uploads", "library/a.fountain", None, 100)

    assert raised.value is error


def test_a_read_keeps_at_most_its_bound_and_says_there_was_more() -> None:
    found = store(b"INT. KITCHEN - NIGHT\n").read("uploads", "incoming/a.fountain", "v1", 5)

    assert (found.body, found.truncated) == (b"INT. ", True)
    assert (found.metadata, found.version_id) == ({"stf-options": "{}"}, "v1")
    assert store(b"short").read("uploads", "incoming/a.fountain", None, 5).truncated is False
