"""A fake Anthropic Messages API on 127.0.0.1, speaking the real HTTP surface.

The `anthropic` SDK runs against it unmodified with `ANTHROPIC_BASE_URL` pointed at `base_url`:
the SDK has its own HTTP stack, so libraries that patch httpx would not intercept it, and a real
server also proves the SDK's retries, headers and error classes end to end.

What it checks, as the API does: `POST /v1/messages` only (404 otherwise); the key in `x-api-key`
(the documented header) or `Authorization: Bearer` (how anthropic 2.14 sends an API key), with
401 `authentication_error` when it is missing or wrong; an
`anthropic-version` header shaped like a date (400); a JSON body with `model` (a known, live
model, else 404 `not_found_error`), `max_tokens` (1–64,000) and `messages` (non-empty, roles
user/assistant, the first from the user), an optional `system`, and no field the API does not
take (400: `temperature` is gone from today's API). `stream` is refused: the writer never streams.

Each accepted request takes the next scripted `Reply` (`fake.enqueue(...)`); with none left it
answers 500, so a test that makes more calls than it planned fails loudly. Every request is
recorded (`fake.requests`), rejected or not, so tests count exactly what the SDK sent.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import typing
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from anthropic.types import Model

from script_to_film.domain.screenwriting import MODEL_ENV

API_KEY = "sk-ant-fake-0123456789"

RETIRED = frozenset({"claude-mythos-preview", "claude-3-5-sonnet-20241022", "claude-3-opus-20240229"})
LIVE_MODELS = frozenset(name for name in typing.get_args(typing.get_args(Model)[0]) if name not in RETIRED)
"""The models the SDK lists, less those already past their end of life."""

MAX_TOKENS_LIMIT = 64_000

ALLOWED_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "thinking",
        "tool_choice",
        "tools",
        "top_k",
        "top_p",
        "service_tier",
        "output_config",
        "container",
        "cache_control",
        "inference_geo",
        "speed",
        "diagnostics",
    }
)

_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}")

SCREENPLAY = """\
Title: The Last Ferry
Credit: Written by
Author: Script-to-Film

EXT. HARBOUR WALL - DUSK

Gulls wheel over black water. ELSA (60s), silver hair under a yellow rain hood, watches the
last ferry's lights.

INT. FERRY CABIN - NIGHT

TOMAS (20s), a lanky deckhand in an oil-stained jumper, counts coins on a bench.

TOMAS
One more crossing.

EXT. FERRY DECK - NIGHT

Rain sweeps the deck. Tomas coils a rope as the harbour lights shrink behind him.

EXT. HARBOUR WALL - NIGHT

Elsa lifts a lantern and swings it slowly, left and right.

INT. FERRY WHEELHOUSE - NIGHT

Tomas sees the swinging light through the streaked glass and grins.

EXT. JETTY - DAWN

The ferry bumps against the tyres. Elsa takes Tomas's hand and steps aboard.

ELSA
You waited.

FADE OUT.
"""
"""A screenplay the writer accepts: six short scenes, characters introduced in capitals."""

GARBAGE = "I'd be glad to help with your story! A lonely lighthouse keeper finds a message in a bottle."
"""An answer with no scene heading at all: the writer must send it back once."""


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a message (`text`, `stop_reason`) or an error (`status` ≥ 400)."""

    status: int = 200
    text: str = ""
    stop_reason: str = "end_turn"
    explanation: str | None = None
    error_type: str | None = None
    error_message: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def screenplay(cls, text: str = SCREENPLAY) -> Reply:
        return cls(text=text)

    @classmethod
    def fenced(cls, text: str = SCREENPLAY) -> Reply:
        """The screenplay in a ```fountain fence, with a line of chat before and after."""
        return cls(
            text=f"Here is your screenplay:\n\n```fountain\n{text}```\n\nLet me know if you want changes!"
        )

    @classmethod
    def garbage(cls) -> Reply:
        return cls(text=GARBAGE)

    @classmethod
    def refusal(
        cls,
        explanation: str | None = "This request could be related to an area that was determined as harmful.",
    ) -> Reply:
        return cls(text="", stop_reason="refusal", explanation=explanation)

    @classmethod
    def truncated(cls, text: str = SCREENPLAY) -> Reply:
        """The screenplay cut off half-way, as when `max_tokens` runs out."""
        return cls(text=text[: len(text) // 2], stop_reason="max_tokens")

    @classmethod
    def overloaded(cls) -> Reply:
        return cls(status=529, error_type="overloaded_error", error_message="Overloaded")

    @classmethod
    def rate_limited(cls, retry_after: float | None = 1) -> Reply:
        headers = {} if retry_after is None else {"retry-after": f"{retry_after:g}"}
        return cls(
            status=429,
            error_type="rate_limit_error",
            error_message="Number of request tokens has exceeded your per-minute rate limit",
            headers=headers,
        )


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it, and the status it answered."""

    path: str
    headers: Mapping[str, str]
    body: Any
    status: int
    reply: Reply | None
    """The scripted reply it took; None when the request was rejected before reaching one."""


class FakeAnthropic:
    """`with FakeAnthropic() as fake:` — a Messages API at `fake.base_url`, accepting `API_KEY`."""

    def __init__(self, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.requests: list[Recorded] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-anthropic",
            daemon=True,
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    @property
    def calls(self) -> list[Recorded]:
        """The requests the API accepted and answered from the script (each costs money for real)."""
        with self._lock:
            return [r for r in self.requests if r.reply is not None]

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    # Answering -----------------------------------------------------------------------------------

    def _answer(
        self, method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        body: Any = None
        reply: Reply | None = None
        status, extra, document = self._validate(method, path, headers, raw)
        if status == 0:
            body = json.loads(raw)
            with self._lock:
                reply = self._replies.popleft() if self._replies else None
            if reply is None:
                status, extra, document = _error(500, "api_error", "the fake has no scripted reply left")
            elif reply.status >= 400:
                status, extra, document = _error(
                    reply.status,
                    reply.error_type or "api_error",
                    reply.error_message or "error",
                    reply.headers,
                )
            else:
                status, extra, document = 200, {}, self._message(body, reply)
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(
                Recorded(path=path, headers=dict(headers), body=body, status=status, reply=reply)
            )
        return status, extra, document

    def _validate(
        self, method: str, path: str, headers: Mapping[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        """(0, …) when the request is one the API would accept; else the API's error answer."""
        if path.split("?")[0] != "/v1/messages" or method != "POST":
            return _error(404, "not_found_error", f"Not found: {method} {path}")
        key = headers.get("x-api-key") or _bearer(headers.get("authorization", ""))
        if not key:
            return _error(401, "authentication_error", "x-api-key header is required")
        if key != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        version = headers.get("anthropic-version")
        if not version:
            return _error(400, "invalid_request_error", "anthropic-version: header is required")
        if not _VERSION.fullmatch(version):
            return _error(400, "invalid_request_error", f"anthropic-version: invalid version {version!r}")
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "invalid_request_error", "There was an error parsing the body as JSON")
        problem = _body_problem(body)
        if problem is not None:
            return _error(400, "invalid_request_error", problem)
        if body["model"] not in LIVE_MODELS:
            return _error(404, "not_found_error", f"model: {body['model']}")
        return 0, {}, None

    def _message(self, body: Mapping[str, Any], reply: Reply) -> dict[str, Any]:
        prompt_chars = len(json.dumps(body.get("system", ""))) + len(json.dumps(body["messages"]))
        text = reply.text
        return {
            "id": f"msg_fake{next(self._ids):06d}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": reply.stop_reason,
            "stop_sequence": None,
            "stop_details": (
                {"type": "refusal", "category": None, "explanation": reply.explanation}
                if reply.stop_reason == "refusal"
                else None
            ),
            "usage": {"input_tokens": max(1, prompt_chars // 4), "output_tokens": max(1, len(text) // 4)},
        }

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _serve(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                status, extra, document = fake._answer(self.command, self.path, headers, raw)
                payload = json.dumps(document).encode("utf-8")
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.send_header("request-id", f"req_fake{len(fake.requests):06d}")
                for name, value in extra.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_GET = do_PUT = do_DELETE = _serve

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: pytest shows the recorded requests when a test fails."""

        return Handler


def _bearer(value: str) -> str | None:
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def _error(
    status: int, kind: str, message: str, headers: Mapping[str, str] | None = None
) -> tuple[int, dict[str, str], Any]:
    document = {"type": "error", "error": {"type": kind, "message": message}, "request_id": "req_fake_error"}
    return status, dict(headers or {}), document


def _body_problem(body: Any) -> str | None:
    """What the API would say about this body, or None when it is well formed."""
    if not isinstance(body, dict):
        return "body: Input should be an object"
    for name in ("model", "max_tokens", "messages"):
        if name not in body:
            return f"{name}: Field required"
    extra = sorted(set(body) - ALLOWED_FIELDS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    if body.get("stream"):
        return "stream: the fake does not stream"
    if not isinstance(body["model"], str) or not body["model"]:
        return "model: Input should be a valid string"
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a positive integer"
    if max_tokens > MAX_TOKENS_LIMIT:
        return (
            f"max_tokens: {max_tokens} > {MAX_TOKENS_LIMIT}, which is the maximum allowed for {body['model']}"
        )
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
        content = message.get("content")
        if not content or not isinstance(content, (str, list)):
            return f"messages.{index}.content: must be a non-empty string or list of content blocks"
    if messages[0]["role"] != "user":
        return 'messages: first message must use the "user" role'
    system = body.get("system")
    if system is not None and not isinstance(system, (str, list)):
        return "system: Input should be a valid string or list of text blocks"
    return None


@contextmanager
def serving(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    """A running fake with the real SDK pointed at it, and nothing else in the environment that
    would change which key, model or headers the writer uses."""
    with FakeAnthropic() as running:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", running.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
        for name in (
            "STF_ANTHROPIC_SECRET_ARN",
            MODEL_ENV,
            "ANTHROPIC_AUTH_TOKEN",
            "ANTHROPIC_CUSTOM_HEADERS",
        ):
            monkeypatch.delenv(name, raising=False)
        yield running
