"""What the routes of `functions/api.py` declare about themselves in the OpenAPI document: their
answers (a success and the errors each route can give, with their bodies), the links a client
can follow from an answer, and where the API is served."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

from script_to_film.services.api_models import ErrorBody

_S = HTTPStatus
PLAIN_TEXT = "text/plain; charset=utf-8"
WITH_BODY = (_S.BAD_REQUEST, _S.UNSUPPORTED_MEDIA_TYPE, _S.UNPROCESSABLE_ENTITY)
"""What a route reading a JSON body may answer: a body that does not parse (400), is not sent as
JSON (415) or does not validate (422)."""


def link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to `operation_id` whose parameters come from this answer (runtime expressions)."""
    return {"operationId": operation_id, "parameters": parameters}


SCRIPT_LINKS = {
    "GetScript": link("getScript", script_id="$response.body#/id"),
    "ListScriptScenes": link("listScriptScenes", script_id="$response.body#/id"),
    "GetScriptContent": link("getScriptContent", script_id="$response.body#/id"),
}
VIDEO_LINKS = {
    "GetVideo": link("getVideo", video_id="$response.body#/id"),
    "ListVideoScenes": link("listVideoScenes", video_id="$response.body#/id"),
    "CancelVideo": link("cancelVideo", video_id="$response.body#/id"),
}


def responses(
    success: HTTPStatus, model: type[BaseModel], *errors: HTTPStatus, links: dict[str, Any] | None = None
) -> dict[int, Any]:
    """The route's OpenAPI responses: its success (with the `links` a client can follow from it)
    and each error it can answer, with their bodies."""
    answers: dict[int, Any] = {
        success.value: {
            "description": success.phrase,
            "content": {"application/json": {"model": model}},
            **({"links": links} if links else {}),
        }
    }
    for status in sorted(set(errors)):
        answers[status.value] = {
            "description": status.phrase,
            "content": {"application/json": {"model": ErrorBody}},
        }
    return answers


def base_path(app: APIGatewayRestResolver) -> str:
    """`/<stage>` when the stage is in the URL (an execute-api URL), else `/` (a custom domain,
    `stf serve`): the OpenAPI servers entry, so clients generated from the document call the API
    where it is."""
    context = app.current_event.request_context
    stage = context.stage
    if stage and stage != "$default" and (context.path or "").startswith(f"/{stage}/"):
        return f"/{stage}"
    return "/"
