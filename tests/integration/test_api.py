"""The REST API through its real handler, on the embedded local stack (moto).

Each request is the event API Gateway's REST proxy integration sends (built by the same function
`stf serve` uses, or read from the samples in `events/api/`), so routing, validation, the error
mapping, idempotency and the workflow behind `POST /videos` all run as deployed.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from functions import api
from infra.local.server import api_gateway_event, lambda_context
from infra.local.stack import WRITER_FUNCTION, LocalStack
from script_to_film import __version__
from script_to_film.adapters import media
from script_to_film.adapters.providers.registry import register_provider, reset_providers
from script_to_film.domain.limits import MAX_SCREENPLAY_BYTES, PRESIGNED_URL_MAX_SECONDS
from script_to_film.domain.models import ScriptStatus
from script_to_film.services import videos
from tests.fakes.scripted_provider import ScriptedProvider

CARDS = media.TITLE_CARD_SECONDS + media.END_CARD_SECONDS
"""An animatic film opens on a title card and closes on an end card."""

REPO = Path(__file__).resolve().parents[2]
EVENTS = REPO / "events" / "api"
TRAIN_STATION = (REPO / "events" / "scripts" / "train-station.fountain").read_text(encoding="utf-8")

TWO_SCENES = """Title: Two Rooms

INT. KITCHEN - NIGHT

A kettle starts to sing. MAYA (30s), in a paint-stained shirt, ignores it.

EXT. GARDEN - DAY

Birds argue over a feeder.
"""

WRITTEN = """Title: Tomorrow's Letter

EXT. LIGHTHOUSE - NIGHT - STORM

ELSA (60s) climbs the spiral stair with a lamp.

INT. LAMP ROOM - NIGHT

A bottle on the sill. Inside, a letter dated tomorrow.
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, list[str]]
    body: Any

    def header(self, name: str) -> str | None:
        for key, values in self.headers.items():
            if key.lower() == name.lower():
                return values[-1]
        return None


@dataclass
class FakeWriter:
    """Stands in for the writer Lambda: records each event, then writes a fixed screenplay."""

    backend_of: Callable[[], Any]
    events: list[dict[str, Any]] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.events.append(event)
        self.backend_of().scripts.finish(
            event["script_id"], ScriptStatus.READY, text=WRITTEN, title="Tomorrow's Letter", scene_count=2
        )
        self.done.set()
        return {"script_id": event["script_id"]}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        # Never the real writer: no test here may ask Claude for anything.
        running.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        yield running


@pytest.fixture(autouse=True)
def _fresh_providers() -> Iterator[None]:
    yield
    reset_providers()


@pytest.fixture
def writer(stack: LocalStack) -> FakeWriter:
    fake = FakeWriter(lambda: stack.backend)
    stack.lambdas.register(WRITER_FUNCTION, fake)
    return fake


def send(event: dict[str, Any]) -> Answer:
    response = api.handler(event, lambda_context(event["requestContext"]["requestId"]))
    raw = response.get("body") or ""
    text = base64.b64decode(raw).decode() if response.get("isBase64Encoded") else raw
    headers = {name: list(values) for name, values in (response.get("multiValueHeaders") or {}).items()}
    content_type = next((v[-1] for k, v in headers.items() if k.lower() == "content-type"), "")
    body = json.loads(text) if text and content_type.startswith("application/json") else text
    return Answer(response["statusCode"], headers, body)


def call(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
    raw: bytes | None = None,
    caller: str | None = None,
) -> Answer:
    payload = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    sent = (
        (("Content-Type", "application/json"),)
        if payload and not any(name.lower() == "content-type" for name, _ in headers)
        else ()
    )
    event = api_gateway_event(method, f"/api/v1{path}", query=query, headers=(*sent, *headers), body=payload)
    if caller is not None:
        event["requestContext"]["identity"]["userArn"] = caller
    return send(event)


def new_script(content: str = TWO_SCENES, **fields: Any) -> dict[str, Any]:
    answer = call("POST", "/scripts", {"content": content, **fields})
    assert answer.status == 201, answer.body
    return dict(answer.body)


def wait_for(predicate: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def finished(stack: LocalStack, video_id: str, timeout: float = 120) -> dict[str, Any]:
    """Wait for the video's execution to end, then GET the video."""
    stack.wait(stack.backend.videos.get(video_id), timeout=timeout, interval=0.2)
    answer = call("GET", f"/videos/{video_id}")
    assert answer.status == 200
    return dict(answer.body)


def expires_in(url: str) -> int:
    return int(parse_qs(urlsplit(url).query)["X-Amz-Expires"][0])


# Service -----------------------------------------------------------------------------------------


def test_health_answers_the_version(stack: LocalStack) -> None:
    answer = call("GET", "/health")

    assert answer.status == 200
    assert answer.body == {"status": "ok", "version": __version__}


def test_the_openapi_document_lists_every_route(stack: LocalStack) -> None:
    answer = call("GET", "/openapi.json")

    assert answer.status == 200
    document = answer.body
    operations = {(method.upper(), path) for path, item in document["paths"].items() for method in item}
    assert operations == {
        ("GET", "/api/v1/health"),
        ("POST", "/api/v1/scripts"),
        ("GET", "/api/v1/scripts"),
        ("POST", "/api/v1/scripts/generate"),
        ("GET", "/api/v1/scripts/{script_id}"),
        ("GET", "/api/v1/scripts/{script_id}/scenes"),
        ("GET", "/api/v1/scripts/{script_id}/content"),
        ("POST", "/api/v1/videos"),
        ("GET", "/api/v1/videos"),
        ("GET", "/api/v1/videos/{video_id}"),
        ("GET", "/api/v1/videos/{video_id}/scenes"),
        ("POST", "/api/v1/videos/{video_id}/cancel"),
    }
    assert document["servers"] == [{"url": "/"}]
    create_video = document["paths"]["/api/v1/videos"]["post"]
    assert {"202", "400", "404", "409", "415", "422"} <= set(create_video["responses"])
    assert any(p["name"].lower() == "idempotency-key" for p in create_video["parameters"])


def test_behind_an_execute_api_url_the_document_names_the_stage(stack: LocalStack) -> None:
    event = json.loads((EVENTS / "health.json").read_text())
    event["path"] = "/api/v1/openapi.json"
    event["requestContext"]["path"] = "/prod/api/v1/openapi.json"

    answer = send(event)

    assert answer.status == 200
    assert answer.body["servers"] == [{"url": "/prod"}]


def test_swagger_ui_is_served(stack: LocalStack) -> None:
    answer = call("GET", "/swagger")

    assert answer.status == 200
    assert "swagger-ui" in answer.body.lower()


def test_a_cors_preflight_is_answered_with_the_idempotency_header_allowed(stack: LocalStack) -> None:
    answer = call(
        "OPTIONS",
        "/videos",
        headers=(("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")),
    )

    assert answer.status == 204
    assert answer.header("Access-Control-Allow-Origin") == "*"
    assert "Idempotency-Key" in (answer.header("Access-Control-Allow-Headers") or "")


def test_an_unknown_route_is_a_404_with_a_message(stack: LocalStack) -> None:
    answer = call("GET", "/films")

    assert answer.status == 404
    assert answer.body == {"error": "no_route", "message": "no route GET /api/v1/films"}


def test_a_method_a_route_does_not_take_is_a_405_that_says_which_do(stack: LocalStack) -> None:
    answer = call("DELETE", "/videos/video-0123456789abcdef")

    assert answer.status == 405
    assert answer.header("Allow") == "GET, OPTIONS"
    assert answer.body["error"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("health", 200),
        ("create-script", 201),
        ("get-video", 404),
        ("list-videos", 200),
        ("cancel-video", 404),
    ],
)
def test_the_sample_events_are_answered(stack: LocalStack, sample: str, status: int) -> None:
    answer = send(json.loads((EVENTS / f"{sample}.json").read_text()))

    assert answer.status == status, answer.body


def test_the_sample_requests_that_start_work_are_answered(stack: LocalStack, writer: FakeWriter) -> None:
    script = new_script()
    create_video = json.loads((EVENTS / "create-video.json").read_text())
    # The sample's own script id, with the local stack's quick polling.
    body = {**json.loads(create_video["body"]), "script_id": script["id"], "poll_seconds": 1}
    create_video["body"] = json.dumps(body)

    video = send(create_video)
    repeat = send(create_video)
    generated = send(json.loads((EVENTS / "generate-script.json").read_text()))

    assert video.status == repeat.status == 202, video.body
    assert repeat.body["id"] == video.body["id"]
    assert video.body["style"] == "film noir"
    assert generated.status == 202
    assert writer.done.wait(10)
    finished(stack, video.body["id"])


# Scripts -----------------------------------------------------------------------------------------


def test_a_script_is_stored_with_its_scenes_and_estimate(stack: LocalStack) -> None:
    answer = call("POST", "/scripts", {"title": "Platform 2", "content": TRAIN_STATION})

    assert answer.status == 201
    script = answer.body
    assert answer.header("Location") == f"/api/v1/scripts/{script['id']}"
    assert script["status"] == "READY"
    assert script["title"] == "Platform 2"
    assert script["scene_count"] == len(script["scenes"]) == 5
    first = script["scenes"][0]
    assert first["number"] == 1
    assert first["heading"].startswith("EXT. HARROW STATION")
    assert set(first["shot"]) == {"camera", "lighting", "prompt", "duration", "ratio", "model"}
    assert script["estimate"]["provider"] == "runway"
    assert script["estimate"]["usd"] > 0
    assert script["content"] is None, "the text is not echoed back"

    read = call("GET", f"/scripts/{script['id']}")
    assert read.status == 200
    assert read.body["content"] == TRAIN_STATION
    assert read.body["scenes"] == script["scenes"]


def test_a_script_is_priced_on_the_model_asked_for(stack: LocalStack) -> None:
    script = new_script()

    on_veo = call("GET", f"/scripts/{script['id']}", query="model=veo3.1")
    unknown = call("GET", f"/scripts/{script['id']}", query="model=gen3a_turbo")

    assert on_veo.status == 200
    assert on_veo.body["estimate"]["model"] == "veo3.1"
    assert on_veo.body["estimate"]["usd"] > script["estimate"]["usd"]
    assert unknown.status == 422
    assert unknown.body["error"] == "unknown_model"
    assert "retired" in unknown.body["message"]


def test_scripts_are_listed_newest_first_a_page_at_a_time(stack: LocalStack) -> None:
    made = [new_script(title=f"Page test {n}")["id"] for n in range(3)]

    first = call("GET", "/scripts", query="limit=2")
    second = call("GET", "/scripts", query=f"limit=2&next_token={first.body['next_token']}")

    assert first.status == second.status == 200
    ids = [item["id"] for item in first.body["items"] + second.body["items"]]
    assert ids[:3] == made[::-1]
    assert set(first.body["items"][0]) == {"id", "title", "status", "scene_count", "created_at", "failure"}


def test_a_page_token_that_was_not_handed_out_is_a_400(stack: LocalStack) -> None:
    videos_token = base64.urlsafe_b64encode(
        json.dumps({"pk": "VIDEO#v", "sk": "VIDEO", "kind": "video", "created_at": "x"}).encode()
    ).decode()

    for token in ("not-a-token", videos_token):
        answer = call("GET", "/scripts", query=f"next_token={token}")
        assert answer.status == 400
        assert answer.body["error"] == "invalid_page_token"


@pytest.mark.parametrize(
    ("request_body", "status", "error"),
    [
        ({"content": "A kettle boils. Nobody comes."}, 422, "no_scenes"),
        ({"content": "INT. ROOM - DAY\n\n\u0000binary"}, 422, "not_text"),
        ({"content": "INT. ROOM - DAY\n\n" + "x" * MAX_SCREENPLAY_BYTES}, 413, "screenplay_too_large"),
        ({"title": "no content"}, 422, "invalid_request"),
        ({"content": TWO_SCENES, "colour": "blue"}, 422, "invalid_request"),
        ({"content": ""}, 422, "invalid_request"),
        ([TWO_SCENES], 422, "invalid_request"),
    ],
)
def test_a_script_that_cannot_be_filmed_is_refused_with_a_message(
    stack: LocalStack, request_body: Any, status: int, error: str
) -> None:
    answer = call("POST", "/scripts", request_body)

    assert answer.status == status
    assert answer.body["error"] == error
    assert answer.body["message"]


def test_a_validation_error_names_each_field(stack: LocalStack) -> None:
    answer = call("POST", "/scripts", {"title": "", "colour": "blue"})

    assert answer.status == 422
    locations = {problem["location"] for problem in answer.body["problems"]}
    assert {"body.title", "body.content", "body.colour"} <= locations
    assert answer.body["message"].startswith("body.")


@pytest.mark.parametrize(
    ("raw", "content_type", "status", "error"),
    [
        (b'{"content": "INT. ROOM', "application/json", 400, "invalid_json"),
        (b"\xff\xfe\x00binary", "application/json", 400, "invalid_body"),
        (b"INT. ROOM - DAY", "text/plain", 415, "unsupported_media_type"),
        (b"--x\r\n", "multipart/form-data", 415, "unsupported_media_type"),
    ],
)
def test_a_body_that_is_not_json_is_a_4xx(
    stack: LocalStack, raw: bytes, content_type: str, status: int, error: str
) -> None:
    answer = call("POST", "/scripts", raw=raw, headers=(("Content-Type", content_type),))

    assert answer.status == status
    assert answer.body["error"] == error


def test_an_unknown_script_is_a_404(stack: LocalStack) -> None:
    answer = call("GET", "/scripts/script-0000000000000000")

    assert answer.status == 404
    assert answer.body == {"error": "not_found", "message": "no script script-0000000000000000"}


def test_a_generated_script_is_written_asynchronously(stack: LocalStack, writer: FakeWriter) -> None:
    answer = call(
        "POST",
        "/scripts/generate",
        {"prompt": "A letter in a bottle, dated tomorrow", "duration_preference": 45, "genre": "mystery"},
    )

    assert answer.status == 202
    script_id = answer.body["id"]
    assert answer.body["status"] == "WRITING"
    assert answer.body["scenes"] == []
    assert answer.header("Location") == f"/api/v1/scripts/{script_id}"
    assert writer.done.wait(10), "the writer Lambda was invoked"
    assert writer.events == [
        {
            "script_id": script_id,
            "prompt": "A letter in a bottle, dated tomorrow",
            "genre": "mystery",
            "duration_seconds": 45,
            "tone": None,
        }
    ]
    read = call("GET", f"/scripts/{script_id}")
    assert read.body["status"] == "READY"
    assert read.body["title"] == "Tomorrow's Letter"
    assert [scene["heading"] for scene in read.body["scenes"]] == [
        "EXT. LIGHTHOUSE - NIGHT - STORM",
        "INT. LAMP ROOM - NIGHT",
    ]
    assert read.body["content"] == WRITTEN


def test_a_script_still_being_written_cannot_be_filmed(stack: LocalStack) -> None:
    # The stack's writer here writes nothing, so the script stays WRITING.
    stack.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
    script = call("POST", "/scripts/generate", {"prompt": "A heist in a library"}).body

    answer = call("POST", "/videos", {"script_id": script["id"]})

    assert answer.status == 409
    assert answer.body["error"] == "conflict"
    assert "WRITING" in answer.body["message"]


def test_a_writer_that_cannot_be_started_fails_the_script_not_silently(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from script_to_film import runtime

    monkeypatch.setenv("STF_WRITER_FUNCTION", "NoSuchWriter")
    runtime.reset()
    try:
        answer = call("POST", "/scripts/generate", {"prompt": "A heist in a library"})
    finally:
        monkeypatch.undo()
        runtime.reset()

    assert answer.status == 500
    assert answer.body["error"] == "internal"
    newest = call("GET", "/scripts", query="limit=1").body["items"][0]
    assert newest["status"] == "FAILED"
    assert "could not be started" in newest["failure"]


@pytest.mark.parametrize(
    ("request_body", "location"),
    [
        ({"prompt": "hi"}, "body.prompt"),
        ({"prompt": "A long enough idea", "duration_preference": 5}, "body.duration_preference"),
        ({"prompt": "A long enough idea", "genre": ""}, "body.genre"),
        # Lengths count the text as sent, as the published schema does, and then what is left of it.
        ({"prompt": "\n" + "*" * 2000}, "body.prompt"),
        ({"prompt": "  ab  "}, "body.prompt"),
        ({"prompt": "A long enough idea", "tone": "   "}, "body.tone"),
    ],
)
def test_a_generation_request_out_of_bounds_is_a_422(
    stack: LocalStack, request_body: dict[str, Any], location: str
) -> None:
    answer = call("POST", "/scripts/generate", request_body)

    assert answer.status == 422
    assert answer.body["problems"][0]["location"] == location


# Videos ------------------------------------------------------------------------------------------


def test_a_film_is_made_end_to_end_and_its_url_downloads(stack: LocalStack, tmp_path: Path) -> None:
    script = new_script()

    started = call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 1, "resolution": "720p"})

    assert started.status == 202
    video = started.body
    assert started.header("Location") == f"/api/v1/videos/{video['id']}"
    assert video["status"] == "QUEUED"
    assert video["script_id"] == script["id"], "the video films the stored script, not a copy"
    assert video["resolution"] == "1280x720" and video["fps"] == 24
    assert [scene["status"] for scene in video["scenes"]] == ["PENDING", "PENDING"]
    assert video["film_url"] is None

    done = finished(stack, video["id"])

    assert done["status"] == "SUCCEEDED"
    assert done["progress"] == 1.0
    assert [scene["status"] for scene in done["scenes"]] == ["SUCCEEDED", "SUCCEEDED"]
    assert done["cost"] == {"estimated_usd": 0.0, "estimated_credits": 0.0, "credits": 0.0, "usd": 0.0}
    urls = [done["film_url"], *(scene["clip_url"] for scene in done["scenes"])]
    assert all(
        f"/{stack.backend.aws.bucket}/" in url or url.startswith(f"https://{stack.backend.aws.bucket}.")
        for url in urls
    )
    assert all(0 < expires_in(url) <= PRESIGNED_URL_MAX_SECONDS for url in urls)
    assert done["urls_expire_at"] is not None
    # moto answers presigned URLs for clients it patches (requests); `stf serve` tests plain HTTP.
    film = requests.get(done["film_url"], timeout=30)
    assert film.status_code == 200
    (tmp_path / "film.mp4").write_bytes(film.content)
    clip = media.probe(tmp_path / "film.mp4")
    assert clip.duration == pytest.approx(CARDS + sum(s["duration_seconds"] for s in done["scenes"]), abs=0.5)
    assert (clip.width, clip.height) == (1280, 720)

    again = call("POST", f"/videos/{video['id']}/cancel")
    assert again.status == 409
    assert "SUCCEEDED" in again.body["message"]


def test_a_resolution_and_frame_rate_are_recorded(stack: LocalStack) -> None:
    script = new_script()

    answer = call(
        "POST",
        "/videos",
        {"script_id": script["id"], "resolution": "720x1280", "fps": 30, "scenes": [2], "poll_seconds": 1},
    )

    assert answer.status == 202
    assert (answer.body["ratio"], answer.body["resolution"], answer.body["fps"]) == (
        "720:1280",
        "720x1280",
        30,
    )
    assert [scene["number"] for scene in answer.body["scenes"]] == [2]
    finished(stack, answer.body["id"])


@pytest.mark.parametrize(
    ("options", "status", "error"),
    [
        ({"fps": 60}, 422, "invalid_request"),
        ({"fps": 23.976}, 422, "invalid_request"),
        ({"resolution": "640x480"}, 422, "invalid_option"),
        ({"resolution": "big"}, 422, "invalid_option"),
        ({"provider": "sora"}, 422, "unknown_model"),
        ({"model": "gen3a_turbo"}, 422, "unknown_model"),
        ({"provider": "animatic", "model": "gen4.5"}, 422, "invalid_input"),
        ({"style": "cubist"}, 422, "invalid_option"),
        ({"scenes": [3]}, 422, "invalid_input"),
        ({"scenes": []}, 422, "invalid_request"),
        ({"max_budget_usd": -1}, 422, "invalid_request"),
        ({"voices": {"MARA": "robot-9"}}, 422, "invalid_request"),
        ({"voices": {"NOBODY": "en-f-1"}}, 422, "invalid_option"),
        ({"provider": "runway", "model": "gen4.5", "max_budget_usd": 0.5}, 422, "budget_exceeded"),
        ({"poll_seconds": 1, "scene_timeout_seconds": 86_400}, 422, "too_many_polls"),
        ({"poll_seconds": 0}, 422, "invalid_request"),
        ({"script_id": "script-0000000000000000"}, 404, "not_found"),
    ],
)
def test_a_video_that_cannot_or_should_not_be_made_is_refused_before_it_starts(
    stack: LocalStack, options: dict[str, Any], status: int, error: str
) -> None:
    script = new_script()
    before = call("GET", "/videos", query="limit=100").body["items"]

    answer = call("POST", "/videos", {"script_id": script["id"], **options})

    assert answer.status == status, answer.body
    assert answer.body["error"] == error
    assert answer.body["message"]
    assert call("GET", "/videos", query="limit=100").body["items"] == before, "nothing was started"


def test_a_repeated_idempotency_key_returns_the_same_video(stack: LocalStack) -> None:
    script = new_script()
    request = {"script_id": script["id"], "poll_seconds": 1}
    key = (("Idempotency-Key", "3b9d7c0e-retry-me"),)

    first = call("POST", "/videos", request, headers=key)
    repeat = call("POST", "/videos", request, headers=key)

    assert first.status == repeat.status == 202
    assert repeat.body["id"] == first.body["id"]
    assert repeat.header("Idempotent-Replayed") == "true"
    assert first.header("Idempotent-Replayed") is None
    made = [
        item
        for item in call("GET", "/videos", query="limit=100").body["items"]
        if item["script_id"] == script["id"]
    ]
    assert [item["id"] for item in made] == [first.body["id"]], "no second video was made"

    done = finished(stack, first.body["id"])
    later = call("POST", "/videos", request, headers=key)

    assert later.status == 202
    assert later.header("Idempotent-Replayed") == "true"
    assert later.body["id"] == first.body["id"]
    assert later.body["status"] == done["status"] == "SUCCEEDED", "a repeat shows the video as it is now"
    assert later.body["film_url"] is not None


def test_a_repeat_while_the_first_request_is_being_answered_is_a_409(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = new_script()
    request = {"script_id": script["id"], "poll_seconds": 1}
    key = (("Idempotency-Key", "impatient-client"),)
    overlapping: list[Answer] = []
    real_start = videos.start

    def start_with_a_repeat_arriving(store: Any, video_request: Any, **options: Any) -> Any:
        # The repeat arrives while the first request holds the key, before its video exists.
        overlapping.append(call("POST", "/videos", request, headers=key))
        return real_start(store, video_request, **options)

    monkeypatch.setattr(videos, "start", start_with_a_repeat_arriving)

    first = call("POST", "/videos", request, headers=key)

    assert first.status == 202
    assert [answer.status for answer in overlapping] == [409]
    assert overlapping[0].body["error"] == "idempotency_key_in_progress"
    monkeypatch.undo()
    assert call("POST", "/videos", request, headers=key).body["id"] == first.body["id"]
    finished(stack, first.body["id"])


def test_the_same_idempotency_key_with_another_body_is_refused(stack: LocalStack) -> None:
    script = new_script()
    key = (("Idempotency-Key", "key-used-twice"),)
    first = call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 1}, headers=key)

    other = call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 2}, headers=key)

    assert first.status == 202
    assert other.status == 422
    assert other.body["error"] == "idempotency_key_reused"
    finished(stack, first.body["id"])


def test_an_idempotency_key_belongs_to_its_caller(stack: LocalStack) -> None:
    script = new_script()
    request = {"script_id": script["id"], "poll_seconds": 1}
    key = (("Idempotency-Key", "shared-by-chance"),)

    mine = call("POST", "/videos", request, headers=key, caller="arn:aws:iam::123456789012:user/ana")
    theirs = call("POST", "/videos", request, headers=key, caller="arn:aws:iam::123456789012:user/ben")

    assert mine.status == theirs.status == 202
    assert mine.body["id"] != theirs.body["id"]
    for video in (mine, theirs):
        finished(stack, video.body["id"])


def test_a_refused_request_does_not_use_up_its_idempotency_key(stack: LocalStack) -> None:
    script = new_script()
    key = (("Idempotency-Key", "first-try-refused"),)
    request = {"script_id": script["id"], "provider": "runway", "model": "gen4.5", "max_budget_usd": 0.01}

    refused = call("POST", "/videos", request, headers=key)
    again = call("POST", "/videos", request, headers=key)

    assert refused.status == again.status == 422
    assert again.body["error"] == "budget_exceeded"


@pytest.mark.parametrize("key", ["", "x" * 256, "has space"])
def test_a_malformed_idempotency_key_is_a_422(stack: LocalStack, key: str) -> None:
    script = new_script()

    answer = call("POST", "/videos", {"script_id": script["id"]}, headers=(("Idempotency-Key", key),))

    assert answer.status == 422
    assert answer.body["problems"][0]["location"] == "header.idempotency-key"


def test_videos_are_listed_newest_first(stack: LocalStack) -> None:
    script = new_script()
    made = [
        call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 1}).body["id"] for _ in range(2)
    ]

    page = call("GET", "/videos", query="limit=2")

    assert page.status == 200
    assert [item["id"] for item in page.body["items"]] == made[::-1]
    assert page.body["next_token"] is not None
    assert set(page.body["items"][0]) == {
        "id",
        "script_id",
        "title",
        "status",
        "provider",
        "model",
        "scene_count",
        "cost",
        "created_at",
        "updated_at",
    }
    for video_id in made:
        finished(stack, video_id)


def test_an_unknown_video_is_a_404(stack: LocalStack) -> None:
    for method, path in (("GET", "/videos/video-nope"), ("POST", "/videos/video-nope/cancel")):
        answer = call(method, path)
        assert answer.status == 404
        assert answer.body == {"error": "not_found", "message": "no video video-nope"}


def test_cancelling_a_running_video_stops_it_and_its_provider_tasks(stack: LocalStack) -> None:
    provider = ScriptedProvider(hang={1, 2})
    register_provider("animatic", lambda: provider)
    script = new_script()
    video = call("POST", "/videos", {"script_id": script["id"], "poll_seconds": 1}).body

    def running() -> bool:
        scenes = call("GET", f"/videos/{video['id']}").body["scenes"]
        return all(scene["status"] == "RUNNING" for scene in scenes)

    wait_for(running)
    midway = call("GET", f"/videos/{video['id']}").body
    assert midway["status"] == "RUNNING"
    assert 0 < midway["progress"] < 1

    cancelled = call("POST", f"/videos/{video['id']}/cancel")

    assert cancelled.status == 200
    assert cancelled.body["status"] == "CANCELLED"
    assert [scene["status"] for scene in cancelled.body["scenes"]] == ["CANCELLED", "CANCELLED"]
    assert provider.cancelled == set(provider.scene_of), "every provider task was cancelled"
    record = stack.backend.videos.get(video["id"])
    wait_for(lambda: stack.execution_status(str(record.execution_arn)) != "RUNNING")
    after = call("GET", f"/videos/{video['id']}").body
    assert after["status"] == "CANCELLED", "the store, not the engine's ending, says what happened"
    assert after["film_url"] is None
    assert call("POST", f"/videos/{video['id']}/cancel").status == 409


def test_an_unexpected_failure_is_a_500_that_says_where_to_look(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, limit: int, page_token: str | None = None) -> Any:
        raise ConnectionError("DynamoDB is unreachable")

    monkeypatch.setattr(type(stack.backend.videos), "list", broken)

    answer = call("GET", "/videos")

    assert answer.status == 500
    assert answer.body["error"] == "internal"
    assert "DynamoDB" not in answer.body["message"], "internals stay in the log"


# Coverage: shots within scenes --------------------------------------------------------------------


def test_a_script_shows_each_scenes_shots_seconds_and_cost(stack: LocalStack) -> None:
    script = call("POST", "/scripts", {"content": TRAIN_STATION}).body
    detail = call("GET", f"/scripts/{script['id']}", query="model=veo3.1").body

    assert detail["estimate"]["model"] == "veo3.1"
    assert detail["estimate"]["shots"] == sum(scene["cost"]["shots"] for scene in detail["scenes"])
    assert detail["estimate"]["seconds"] == sum(scene["cost"]["seconds"] for scene in detail["scenes"])
    assert detail["estimate"]["credits"] == sum(scene["cost"]["credits"] for scene in detail["scenes"])
    reunion = detail["scenes"][2]
    assert reunion["shots"][0]["kind"] == "master"
    assert "two_shot" in [shot["kind"] for shot in reunion["shots"]], "its dual dialogue"
    assert reunion["seconds"] == sum(shot["duration"] for shot in reunion["shots"])


@pytest.mark.parametrize(
    "options",
    [
        {"length": "long"},
        {"length": "0"},
        {"length": "99999"},
        {"length": 30},
        {"max_shots": 0},
        {"max_shots": 41},
    ],
)
def test_a_bad_length_or_shot_count_is_a_422(stack: LocalStack, options: dict[str, Any]) -> None:
    script = new_script()
    answer = call("POST", "/videos", {"script_id": script["id"], **options})
    assert answer.status == 422, answer.body
    assert answer.body["error"] == "invalid_request"


def test_a_video_reports_the_shots_of_its_scenes(stack: LocalStack) -> None:
    script = new_script(TRAIN_STATION)
    started = call(
        "POST", "/videos", {"script_id": script["id"], "poll_seconds": 1, "length": "short", "max_shots": 2}
    )
    assert started.status == 202, started.body
    video = finished(stack, started.body["id"])

    assert video["status"] == "SUCCEEDED"
    for scene in video["scenes"]:
        assert 1 <= len(scene["shots"]) <= 2
        assert [shot["status"] for shot in scene["shots"]] == ["SUCCEEDED"] * len(scene["shots"])
        assert scene["duration_seconds"] == sum(shot["duration_seconds"] for shot in scene["shots"])
    page = call("GET", f"/videos/{video['id']}/scenes").body
    assert [len(scene["shots"]) for scene in page["items"]] == [
        len(scene["shots"]) for scene in video["scenes"]
    ]


def test_a_screenplay_cut_into_too_many_shots_is_a_422(stack: LocalStack) -> None:
    scene = "INT. ROOM {n} - DAY\n\nA cup.\n\nThe clock ticks.\n\nRain falls.\n\n"
    content = "".join(scene.format(n=n) for n in range(1_800))
    answer = call("POST", "/scripts", {"content": content})
    assert answer.status == 422, answer.body
    assert answer.body["error"] == "too_many_shots"
    assert "at most 5,000" in answer.body["message"]
