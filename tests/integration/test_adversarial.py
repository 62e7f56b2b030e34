"""An attacker's requests, replayed against the API handler: every answer is below 500, under a
megabyte (and within Lambda's 6 MB payload as it leaves the function), and a 4xx is a JSON
`{"error", "message"}`; where a case says what it expects, that too.

The cases are data, in `adversarial/*.json`: lists of requests with `name`, `method`, `path` (under
`/api/v1`) and optionally `query`, `headers` (`[[name, value]]`), `body` (text, sent as UTF-8; a lone
surrogate in it goes out as the invalid bytes it would be), `body_base64` (raw bytes), and the
`status` and `error` expected. A path, query, header value or body may be a list of pieces joined
together: `{"repeat": TEXT, "times": N}` is TEXT N times (`{n}` in it numbers each repetition),
`{"base64": PIECES}` the URL-safe base64 of PIECES (a page token). `{script_id}` and `{video_id}`
name a stored script and a stored video with a film and clips. With no `headers`, a case with a
body is sent as `Content-Type: application/json`. Add a case by adding an object to a file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from functions import api
from infra.local.server import api_gateway_event, lambda_context
from infra.local.stack import WRITER_FUNCTION, LocalStack
from script_to_film.domain.limits import MAX_RESPONSE_BYTES
from script_to_film.domain.models import (
    SceneRecord,
    SceneStatus,
    ScriptRecord,
    VideoRecord,
    VideoStatus,
    now_iso,
)

CORPUS = Path(__file__).with_name("adversarial")
LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
CASES = [
    case for path in sorted(CORPUS.glob("*.json")) for case in json.loads(path.read_text(encoding="utf-8"))
]
SCRIPT_ID = "script-adversarial0001"
VIDEO_ID = "video-adversarial00001"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        running.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        script = ScriptRecord(id=SCRIPT_ID, title="Target", scene_count=2, created_at=now_iso())
        running.backend.scripts.put(
            script, "INT. KITCHEN - NIGHT\n\nA kettle.\n\nEXT. GARDEN - DAY\n\nBirds.\n"
        )
        video = VideoRecord(
            id=VIDEO_ID,
            script_id=SCRIPT_ID,
            status=VideoStatus.SUCCEEDED,
            provider="animatic",
            model="animatic",
            style="realistic",
            ratio="1280:720",
            scene_count=2,
            estimated_credits=0,
            estimated_usd=0,
            film_key=f"videos/{VIDEO_ID}/film.mp4",
            created_at=now_iso(),
            scenes=[
                SceneRecord(
                    number=n,
                    heading=f"INT. ROOM {n} - DAY",
                    status=SceneStatus.SUCCEEDED,
                    duration_seconds=4,
                    clip_key=f"videos/{VIDEO_ID}/scene_{n:03d}.mp4",
                )
                for n in (1, 2)
            ],
        )
        running.backend.videos.create(video, [])
        yield running


def expand(value: Any) -> str:
    """A case's text: pieces joined, repetitions and base64 made, the stored ids filled in."""
    if isinstance(value, list):
        return "".join(expand(piece) for piece in value)
    if isinstance(value, dict) and "repeat" in value:
        text: str = value["repeat"]
        return "".join(text.replace("{n}", str(n)) for n in range(value["times"]))
    if isinstance(value, dict) and "base64" in value:
        raw = expand(value["base64"]).encode("utf-8")
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")
    return str(value).replace("{script_id}", SCRIPT_ID).replace("{video_id}", VIDEO_ID)


def event_of(case: dict[str, Any]) -> dict[str, Any]:
    body: bytes | None = None
    if "body_base64" in case:
        body = base64.b64decode(case["body_base64"])
    elif "body" in case:
        body = expand(case["body"]).encode("utf-8", "surrogatepass")
    headers = [(name, expand(value)) for name, value in case.get("headers", [])]
    if body is not None and "headers" not in case:
        headers = [("Content-Type", "application/json")]
    return api_gateway_event(
        case["method"],
        expand(["/api/v1", case["path"]]),
        query=expand(case.get("query", "")),
        headers=headers,
        body=body,
    )


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_an_attack_gets_a_bounded_answer_never_a_server_error(
    stack: LocalStack, case: dict[str, Any]
) -> None:
    event = event_of(case)

    answer = api.handler(event, lambda_context(event["requestContext"]["requestId"]))

    status = answer["statusCode"]
    raw = answer.get("body") or ""
    body = base64.b64decode(raw) if answer.get("isBase64Encoded") else raw.encode("utf-8")
    assert status < 500, body[:500]
    assert len(body) < MAX_RESPONSE_BYTES
    assert len(json.dumps(answer).encode()) < LAMBDA_SYNC_PAYLOAD_BYTES
    if status >= 400:
        error = json.loads(body)
        assert isinstance(error["error"], str) and error["error"]
        assert isinstance(error["message"], str) and error["message"]
    assert status == case.get("status", status), body[:500]
    if "error" in case:
        assert json.loads(body)["error"] == case["error"]
