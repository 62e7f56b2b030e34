"""The API's bounds, through its real handler on the local stack: hostile JSON and forged page tokens
are 400s, a script may have at most `MAX_SCRIPT_SCENES` scenes, no answer is over a megabyte
however large the screenplay or the video, and reading a script reads the breakdown stored with it
instead of breaking the screenplay down again."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from functions import api
from infra.local.server import api_gateway_event, lambda_context
from infra.local.stack import WRITER_FUNCTION, LocalStack
from script_to_film.adapters.objects import ObjectStore
from script_to_film.domain import breakdown, catalog, director
from script_to_film.domain.limits import MAX_RESPONSE_BYTES, MAX_SCREENPLAY_BYTES, MAX_SCRIPT_SCENES
from script_to_film.domain.models import (
    SceneRecord,
    SceneStatus,
    ScriptRecord,
    VideoRecord,
    VideoStatus,
    now_iso,
)
from script_to_film.services.api_models import CONTENT_INLINE_BYTES, SCENE_PAGE_DEFAULT

TWO_SCENES = "INT. KITCHEN - NIGHT\n\nA kettle sings.\n\nEXT. GARDEN - DAY\n\nBirds argue.\n"

AWS_LENGTH_URL = (
    "https://films.s3.eu-west-1.amazonaws.com/videos/v/scene_001.mp4?"
    + "X-Amz-Security-Token="
    + ("T" * 1_100)
    + "&X-Amz-Signature="
    + "s" * 64
)
"""A presigned URL as long as one signed with a Lambda role's session credentials (about 1.5 KB)."""


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with LocalStack() as running:
        running.lambdas.register(WRITER_FUNCTION, lambda event, context: None)
        yield running


def request(
    method: str,
    path: str,
    body: bytes | str | None = None,
    *,
    query: str = "",
    headers: tuple[tuple[str, str], ...] = (),
) -> dict[str, Any]:
    """The handler's raw answer (status, headers, body as sent) to one API Gateway event."""
    data = body.encode() if isinstance(body, str) else body
    sent = (("Content-Type", "application/json"),) if data is not None and not headers else headers
    event = api_gateway_event(method, f"/api/v1{path}", query=query, headers=sent, body=data)
    return api.handler(event, lambda_context(event["requestContext"]["requestId"]))


def json_of(answer: dict[str, Any]) -> Any:
    return json.loads(answer["body"])


def size(answer: dict[str, Any]) -> int:
    """Bytes of the body as the client receives it."""
    body = answer["body"]
    return len(base64.b64decode(body) if answer.get("isBase64Encoded") else body.encode("utf-8"))


def stored(content: str) -> str:
    answer = request("POST", "/scripts", json.dumps({"content": content}))
    assert answer["statusCode"] == 201, answer["body"][:300]
    return str(json_of(answer)["id"])


def token(fields: Any) -> str:
    raw = fields if isinstance(fields, bytes) else json.dumps(fields).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def every_page(path: str, limit: int) -> tuple[list[dict[str, Any]], list[int]]:
    """All items of a paged route, and the size of each page's answer."""
    items: list[dict[str, Any]] = []
    sizes: list[int] = []
    next_token = None
    while True:
        query = f"limit={limit}" + (f"&next_token={next_token}" if next_token else "")
        answer = request("GET", path, query=query)
        assert answer["statusCode"] == 200, answer["body"][:300]
        sizes.append(size(answer))
        page = json_of(answer)
        items += page["items"]
        next_token = page["next_token"]
        if next_token is None:
            return items, sizes


# Hostile JSON ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/scripts", "/scripts/generate", "/videos"])
@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("[" * 1_000 + "]" * 1_000, "nested 1000 levels deep"),
        ('{"content": ' + "[" * 5_000 + "]" * 5_000 + "}", "levels"),
        ('{"content": "x", "title": ' + "9" * 5_000 + "}", "an integer of 5,000 digits"),
        ('{"script_id": "s", "fps": ' + "1" * 10_000 + "}", "digits"),
        ('{"max_budget_usd": NaN}', "NaN is not a JSON number"),
        ('{"content": "INT. ROOM - DAY\\n\\n\\ud800"}', "surrogate"),
    ],
    ids=["deep", "deep field", "long integer", "longer integer", "NaN", "lone surrogate"],
)
def test_hostile_json_is_a_400_that_says_why(stack: LocalStack, path: str, body: str, says: str) -> None:
    answer = request("POST", path, body)

    assert answer["statusCode"] == 400
    assert json_of(answer)["error"] == "invalid_json"
    assert says in json_of(answer)["message"]


def test_a_body_of_countless_unknown_fields_is_answered_with_the_first_few(stack: LocalStack) -> None:
    answer = request("POST", "/scripts", json.dumps({f"field{n}": n for n in range(100_000)}))

    assert answer["statusCode"] == 422
    assert size(answer) < 10_000
    assert "(and 100000 more)" in json_of(answer)["message"]


@pytest.mark.parametrize(
    "forged",
    [
        token("[" * 1_400),
        token("9" * 1_400),
        token([]),
        token("a string"),
        token({"pk": "", "sk": "", "kind": "script", "created_at": ""}),
        token(
            {
                "pk": "SCRIPT#a/../b",
                "sk": "SCRIPT",
                "kind": "script",
                "created_at": "2026-01-01T00:00:00.000Z",
            }
        ),
        token({"pk": "SCRIPT#a", "sk": "VIDEO", "kind": "script", "created_at": "2026-01-01T00:00:00.000Z"}),
        token({"pk": "SCRIPT#a", "sk": "SCRIPT", "kind": "script", "created_at": 1}),
        token(b"\xff\xfe\x00"),
        token({"of": "script-a", "from": 1}),
        "not base64 at all!",
    ],
    ids=[
        "deep",
        "long integer",
        "a list",
        "a string",
        "empty keys",
        "path in a key",
        "another item kind",
        "a number for a time",
        "not UTF-8",
        "a scene token",
        "not base64",
    ],
)
@pytest.mark.parametrize("listing", ["/scripts", "/videos"])
def test_a_forged_page_token_is_a_400(stack: LocalStack, listing: str, forged: str) -> None:
    answer = request("GET", listing, query=f"next_token={forged}")

    assert answer["statusCode"] == 400
    assert json_of(answer)["error"] == "invalid_page_token"


@pytest.mark.parametrize(
    "forged",
    [
        lambda script_id: "[" * 1_400,
        lambda script_id: {"of": "script-0000000000000000", "from": 1},
        lambda script_id: {"of": script_id, "from": True},
        lambda script_id: {"of": script_id, "from": 0},
        lambda script_id: {"of": script_id, "from": 2},
        lambda script_id: {"of": script_id, "from": 10**50},
        lambda script_id: {"of": script_id, "from": 1, "more": 1},
        lambda script_id: {
            "pk": f"SCRIPT#{script_id}",
            "sk": "SCRIPT",
            "kind": "script",
            "created_at": now_iso(),
        },
    ],
    ids=[
        "deep",
        "another script's",
        "true for a number",
        "the first page",
        "past the end",
        "huge",
        "another field",
        "a listing's",
    ],
)
def test_a_scene_page_token_names_a_page_of_this_script_or_is_a_400(
    stack: LocalStack, forged: Callable[[str], Any]
) -> None:
    script_id = stored(TWO_SCENES)

    answer = request("GET", f"/scripts/{script_id}/scenes", query=f"next_token={token(forged(script_id))}")

    assert answer["statusCode"] == 400
    assert json_of(answer)["error"] == "invalid_page_token"


# Scene count and answer size ---------------------------------------------------------------------


def scenes(count: int, *, filler: int = 0) -> str:
    """A screenplay of `count` scenes, each padded with `filler` characters of action."""
    return "".join(f"INT. ROOM {n} - NIGHT\n\nMARA (30s) waits. {'x' * filler}\n\n" for n in range(count))


def test_a_script_of_more_scenes_than_a_script_may_have_is_a_422(stack: LocalStack) -> None:
    answer = request("POST", "/scripts", json.dumps({"content": scenes(MAX_SCRIPT_SCENES + 1)}))

    assert answer["statusCode"] == 422
    assert json_of(answer)["error"] == "too_many_scenes"
    assert f"at most {MAX_SCRIPT_SCENES:,}" in json_of(answer)["message"]


def test_the_largest_script_answers_under_a_megabyte_on_every_route(stack: LocalStack) -> None:
    filler = (MAX_SCREENPLAY_BYTES - len(scenes(MAX_SCRIPT_SCENES))) // MAX_SCRIPT_SCENES - 1
    content = scenes(MAX_SCRIPT_SCENES, filler=filler)
    assert MAX_SCREENPLAY_BYTES - 5_000 < len(content.encode()) <= MAX_SCREENPLAY_BYTES

    created = request("POST", "/scripts", json.dumps({"content": content}))
    script_id = json_of(created)["id"]
    read = request("GET", f"/scripts/{script_id}")
    repriced = request("GET", f"/scripts/{script_id}", query="model=veo3.1")
    text = request("GET", f"/scripts/{script_id}/content")
    pages, page_sizes = every_page(f"/scripts/{script_id}/scenes", limit=200)

    assert created["statusCode"] == 201
    for answer in (created, read, repriced, text):
        assert size(answer) < MAX_RESPONSE_BYTES
    assert max(page_sizes) < MAX_RESPONSE_BYTES
    first = json_of(read)
    assert len(first["scenes"]) == SCENE_PAGE_DEFAULT
    assert first["content"] is None, "too large to come inline"
    assert text["body"] == content
    assert [scene["number"] for scene in pages] == list(range(1, MAX_SCRIPT_SCENES + 1))
    assert pages[:SCENE_PAGE_DEFAULT] == first["scenes"]


@pytest.mark.parametrize(
    "content",
    [
        "INT. ROOM - DAY\n\n" + "\U0001f3ac" * 249_000,
        "INT. ROOM - DAY\n\n" + '"\\' * 490_000,
        "INT. ROOM - DAY\n\n" + "MARA\n\U0001f3ac\U0001f3ac\n\n" * 55_000,
        "INT. ROOM - DAY\n\n" + "".join(f"P{n}\nHi.\n\n" for n in range(80_000)),
    ],
    ids=["action JSON escapes twelvefold", "action JSON escapes twofold", "dialogue", "speakers"],
)
def test_a_scene_too_large_for_an_answer_is_cut_and_says_so(stack: LocalStack, content: str) -> None:
    script_id = stored(content)

    read = request("GET", f"/scripts/{script_id}")
    page = request("GET", f"/scripts/{script_id}/scenes")
    text = request("GET", f"/scripts/{script_id}/content")

    assert size(read) < MAX_RESPONSE_BYTES
    assert size(page) < MAX_RESPONSE_BYTES
    [scene] = json_of(page)["items"]
    assert scene["truncated"] is True
    assert json_of(read)["scenes"] == [scene]
    assert text["body"] == content, "the whole text is still there"


def test_a_small_script_comes_whole_with_its_text(stack: LocalStack) -> None:
    script_id = stored(TWO_SCENES)

    read = json_of(request("GET", f"/scripts/{script_id}"))
    text = request("GET", f"/scripts/{script_id}/content")

    assert [scene["heading"] for scene in read["scenes"]] == ["INT. KITCHEN - NIGHT", "EXT. GARDEN - DAY"]
    assert read["scenes_next_token"] is None
    assert read["content"] == TWO_SCENES
    assert text["statusCode"] == 200
    assert text["body"] == TWO_SCENES
    assert text["multiValueHeaders"]["Content-Type"] == ["text/plain; charset=utf-8"]


def test_the_text_comes_inline_up_to_its_limit(stack: LocalStack) -> None:
    heading = "INT. ROOM - DAY\n\n"
    quotes_and_escapes = len(json.dumps(heading)) - len(heading)
    at_limit = heading + "a" * (CONTENT_INLINE_BYTES - len(heading) - quotes_and_escapes)
    over = at_limit + "a"

    assert len(json.dumps(at_limit)) == CONTENT_INLINE_BYTES
    assert json_of(request("GET", f"/scripts/{stored(at_limit)}"))["content"] == at_limit
    assert json_of(request("GET", f"/scripts/{stored(over)}"))["content"] is None


def test_a_script_still_being_written_has_no_scenes_or_text_to_page(stack: LocalStack) -> None:
    script_id = json_of(request("POST", "/scripts/generate", json.dumps({"prompt": "A heist in a library"})))[
        "id"
    ]

    for path in (f"/scripts/{script_id}/scenes", f"/scripts/{script_id}/content"):
        answer = request("GET", path)
        assert answer["statusCode"] == 404
        assert "WRITING" in json_of(answer)["message"]


# The stored breakdown ----------------------------------------------------------------------------


@pytest.fixture
def directing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every screenplay directed from now on, by title."""
    directed: list[str] = []
    direct = director.direct

    def counted(screenplay: Any, **options: Any) -> Any:
        directed.append(screenplay.title or "")
        return direct(screenplay, **options)

    monkeypatch.setattr(director, "direct", counted)
    return directed


def test_reading_a_script_reads_its_stored_breakdown(stack: LocalStack, directing: list[str]) -> None:
    script_id = stored("Title: Stored\n\n" + TWO_SCENES)
    created_by = list(directing)

    reads = [
        request("GET", f"/scripts/{script_id}"),
        request("GET", f"/scripts/{script_id}", query="model=veo3.1"),
        request("GET", f"/scripts/{script_id}", query="model=gen4_turbo"),
        request("GET", f"/scripts/{script_id}/scenes"),
    ]

    # Directed when stored: once as filmed, once for each model it is priced on (their clip lengths
    # cut the scenes into other shots).
    assert created_by == ["Stored"] * (1 + len(catalog.MODELS)), "directed when stored"
    assert directing == created_by, "and never again to be read"
    assert [answer["statusCode"] for answer in reads] == [200] * 4
    assert (
        json_of(reads[1])["estimate"]
        == breakdown.plan(TWO_SCENES, model="veo3.1").to_breakdown().estimate.model_dump()
    )


def test_a_script_stored_without_a_breakdown_gets_one_at_its_first_read(
    stack: LocalStack, directing: list[str]
) -> None:
    # As scripts were stored before breakdowns were, and as `stf run` and the S3 batch store them.
    script = ScriptRecord(id="script-legacy0000000001", title="Legacy", scene_count=2, created_at=now_iso())
    stack.backend.scripts.put(script, "Title: Legacy\n\n" + TWO_SCENES)

    first = request("GET", f"/scripts/{script.id}")
    again = request("GET", f"/scripts/{script.id}", query="model=veo3.1")
    pages = request("GET", f"/scripts/{script.id}/scenes")

    assert directing == ["Legacy"] * (1 + len(catalog.MODELS)), "at the first read, never again"
    assert stack.backend.scripts.get_breakdown(script.id) is not None
    assert first["statusCode"] == again["statusCode"] == pages["statusCode"] == 200
    assert json_of(first)["scenes"] == json_of(pages)["items"]


# Videos ------------------------------------------------------------------------------------------


def test_a_video_of_a_thousand_scenes_answers_under_a_megabyte(
    stack: LocalStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ObjectStore, "presigned_url", lambda self, key, expires_seconds=3600: AWS_LENGTH_URL)
    count = 1_000
    video = VideoRecord(
        id="video-thousand0000000001",
        script_id="script-x",
        status=VideoStatus.PARTIAL,
        provider="runway",
        model="gen4.5",
        style="realistic",
        ratio="1280:720",
        scene_count=count,
        estimated_credits=120 * count,
        estimated_usd=1.2 * count,
        film_key="videos/video-thousand0000000001/film.mp4",
        created_at=now_iso(),
        scenes=[
            SceneRecord(
                number=number,
                heading="INT. " + "LONG HALLWAY " * 35 + "- NIGHT",
                status=SceneStatus.SUCCEEDED if number % 2 else SceneStatus.FAILED,
                duration_seconds=10,
                attempts=3,
                clip_key=f"videos/video-thousand0000000001/scene_{number:03d}.mp4",
                failure_code=None if number % 2 else "INTERNAL.BAD_OUTPUT.CODE01",
                failure=None if number % 2 else "the provider failed " * 25,
                estimated_credits=120,
                credits=120,
                updated_at=now_iso(),
            )
            for number in range(1, count + 1)
        ],
    )
    stack.backend.videos.create(video, [])
    another = video.model_copy(
        update={"id": "video-another000000001", "scene_count": 2, "scenes": video.scenes[:2]}
    )
    stack.backend.videos.create(another, [])

    read = request("GET", f"/videos/{video.id}")
    pages, page_sizes = every_page(f"/videos/{video.id}/scenes", limit=200)

    assert read["statusCode"] == 200
    assert size(read) < MAX_RESPONSE_BYTES
    assert max(page_sizes) < MAX_RESPONSE_BYTES
    detail = json_of(read)
    assert len(detail["scenes"]) == SCENE_PAGE_DEFAULT
    assert detail["film_url"] == AWS_LENGTH_URL
    assert [scene["number"] for scene in pages] == list(range(1, count + 1))
    assert pages[:SCENE_PAGE_DEFAULT] == detail["scenes"]
    assert sum(1 for scene in pages if scene["clip_url"]) == count // 2
    borrowed = request(
        "GET", f"/videos/{another.id}/scenes", query=f"next_token={detail['scenes_next_token']}"
    )
    assert borrowed["statusCode"] == 400, "a token pages only the video it came from"
