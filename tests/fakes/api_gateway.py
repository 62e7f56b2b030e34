"""API Gateway in front of the API handler, in-process: a WSGI application.

Each request becomes the REST proxy integration's event (built by the function `stf serve` uses)
and the handler's answer becomes the HTTP response, so a WSGI client (schemathesis, werkzeug's test
client) calls `functions.api.handler` with no socket, no server thread and no HTTP parsing of its
own in between.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

from infra.local.server import api_gateway_event, lambda_context

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def wsgi_app(handler: Handler) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
        path = raw.partition("?")[0] if raw else quote(environ["PATH_INFO"].encode("latin-1"))
        headers = [
            (name[5:].replace("_", "-").title(), value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ]
        headers += [
            (name.replace("_", "-").title(), environ[name])
            for name in ("CONTENT_TYPE", "CONTENT_LENGTH")
            if environ.get(name)
        ]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else None
        event = api_gateway_event(
            environ["REQUEST_METHOD"], path, query=environ.get("QUERY_STRING", ""), headers=headers, body=body
        )
        answer = handler(event, lambda_context(event["requestContext"]["requestId"]))
        text = answer.get("body") or ""
        data = base64.b64decode(text) if answer.get("isBase64Encoded") else text.encode("utf-8")
        status = HTTPStatus(answer["statusCode"])
        multi = answer.get("multiValueHeaders") or {
            name: [value] for name, value in answer.get("headers", {}).items()
        }
        start_response(
            f"{status.value} {status.phrase}",
            [(name, str(value)) for name, values in multi.items() for value in values],
        )
        return [data]

    return app
