"""Every answer of the REST API that is not a success is made here: the project's errors by HTTP
status, request validation, bodies Powertools cannot read, routes that do not exist, and the
last resort (500, logged). Bad input is a 4xx with `{"error", "message"}`, never a 5xx.

`register_error_handlers(app)` installs them on one resolver: the handlers read the request
being answered from it, so each resolver (each API instance of `stf serve`) gets its own.
"""

from __future__ import annotations

import binascii
import json
import re
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from script_to_film.api.idempotency import IDEMPOTENCY_KEY_HEADER
from script_to_film.domain.breakdown import ScriptTooLongError, TooManyShotsError
from script_to_film.domain.errors import (
    BudgetExceededError,
    DailyAllowanceError,
    InsufficientCreditsError,
    InvalidInputError,
    InvalidOptionError,
    InvalidPageTokenError,
    NoScenesError,
    NotFoundError,
    NotTextError,
    ProviderRefusedError,
    ScreenplayTooLargeError,
    ScriptToFilmError,
    UnknownModelError,
)
from script_to_film.runtime import logger
from script_to_film.services import videos
from script_to_film.services.api_models import ErrorBody, FieldProblem
from script_to_film.services.submission import (
    RunTooLongError,
    TooManyPollsError,
    TooManyScenesError,
    WorkflowUnavailableError,
)

ERRORS: tuple[tuple[type[Exception], HTTPStatus, str], ...] = (
    (ScreenplayTooLargeError, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "screenplay_too_large"),
    (NotFoundError, HTTPStatus.NOT_FOUND, "not_found"),
    (videos.ConflictError, HTTPStatus.CONFLICT, "conflict"),
    (InvalidPageTokenError, HTTPStatus.BAD_REQUEST, "invalid_page_token"),
    (BudgetExceededError, HTTPStatus.UNPROCESSABLE_ENTITY, "budget_exceeded"),
    (TooManyScenesError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_scenes"),
    (ScriptTooLongError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_scenes"),
    (TooManyShotsError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_shots"),
    (TooManyPollsError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_polls"),
    (InsufficientCreditsError, HTTPStatus.UNPROCESSABLE_ENTITY, "insufficient_credits"),
    (DailyAllowanceError, HTTPStatus.UNPROCESSABLE_ENTITY, "daily_allowance"),
    (ProviderRefusedError, HTTPStatus.UNPROCESSABLE_ENTITY, "provider_refused"),
    (RunTooLongError, HTTPStatus.UNPROCESSABLE_ENTITY, "run_too_long"),
    (videos.IdempotencyKeyReusedError, HTTPStatus.UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
    (WorkflowUnavailableError, HTTPStatus.SERVICE_UNAVAILABLE, "workflow_unavailable"),
    (NoScenesError, HTTPStatus.UNPROCESSABLE_ENTITY, "no_scenes"),
    (NotTextError, HTTPStatus.UNPROCESSABLE_ENTITY, "not_text"),
    (UnknownModelError, HTTPStatus.UNPROCESSABLE_ENTITY, "unknown_model"),
    (InvalidOptionError, HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_option"),
    (InvalidInputError, HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_input"),
)
"""The project's errors by HTTP status, most specific first."""

MAX_PROBLEMS = 20
"""Invalid fields an answer lists: a body of a hundred thousand unknown keys gets the first few."""
_PROBLEM_CHARS = 200


def error_response(
    status: HTTPStatus, code: str, message: str, problems: list[FieldProblem] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=code, message=message, problems=problems).model_dump(
            mode="json", exclude_none=True
        ),
    )


def _shortened(text: str) -> str:
    """A field's location or message within `_PROBLEM_CHARS` (a key may be as long as the body)."""
    return text if len(text) <= _PROBLEM_CHARS else text[: _PROBLEM_CHARS - 1] + "…"


def register_error_handlers(app: APIGatewayRestResolver) -> None:
    """Answer every error `app` meets: Powertools answers one with the handler of the nearest
    class in its MRO, so `Exception` gets only what nothing more specific claims."""

    def project_error(error: ScriptToFilmError) -> Response[Any]:
        for kind, status, code in ERRORS:
            if isinstance(error, kind):
                answer = error_response(status, code, str(error))
                if isinstance(error, WorkflowUnavailableError):
                    answer.headers["Retry-After"] = str(error.retry_after_seconds)
                return answer
        return internal_error(error)

    def key_reused(error: IdempotencyValidationError) -> Response[Any]:
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            f"this {IDEMPOTENCY_KEY_HEADER} was used with a different request body; "
            "use a new key for a new request",
        )

    def key_in_progress(error: IdempotencyAlreadyInProgressError) -> Response[Any]:
        return error_response(
            HTTPStatus.CONFLICT,
            "idempotency_key_in_progress",
            f"a request with this {IDEMPOTENCY_KEY_HEADER} is still being answered; retry in a few seconds",
        )

    def invalid_request(error: RequestValidationError) -> Response[Any]:
        problems = error.errors()
        unreadable = next((problem for problem in problems if problem.get("type") == "json_invalid"), None)
        if unreadable is not None:
            detail = (unreadable.get("ctx") or {}).get("error", "JSON decode error")
            return error_response(
                HTTPStatus.BAD_REQUEST, "invalid_json", f"the request body is not valid JSON: {detail}"
            )
        fields = [
            FieldProblem(
                location=_shortened(".".join(str(part) for part in problem["loc"])),
                message=_shortened(str(problem["msg"])),
            )
            for problem in problems[:MAX_PROBLEMS]
        ]
        first = fields[0]
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "invalid_request",
            f"{first.location}: {first.message}{more}",
            fields,
        )

    def unsupported_media_type(error: RequestUnsupportedContentType) -> Response[Any]:
        return error_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json"
        )

    def unreadable_body(error: ValueError) -> Response[Any]:
        # Powertools reads the body before any route runs. A body it cannot decode (not UTF-8, broken
        # base64, multipart without a boundary) surfaces as a bare ValueError; any other ValueError is
        # a bug of ours.
        if isinstance(error, UnicodeDecodeError | binascii.Error):
            return error_response(
                HTTPStatus.BAD_REQUEST, "invalid_body", "the request body is not UTF-8 JSON"
            )
        content_type = app.current_event.headers.get("content-type", "")
        if app.current_event.body and not content_type.lower().startswith("application/json"):
            return unsupported_media_type(RequestUnsupportedContentType(content_type, errors=[]))
        return internal_error(error)

    def service_error(error: ServiceError) -> Response[Any]:
        status = HTTPStatus(error.status_code)
        return error_response(status, status.phrase.lower().replace(" ", "_"), str(error.msg))

    def no_route(error: NoRouteError) -> Response[Any]:
        event = app.current_event
        allowed = next(
            (methods for pattern, methods in route_methods() if pattern.fullmatch(event.path)), None
        )
        # A path segment no route accepts (characters outside a URI's) can look like a routed path here.
        if allowed is None or event.http_method in allowed:
            return error_response(
                HTTPStatus.NOT_FOUND, "no_route", f"no route {event.http_method} {event.path}"
            )
        answer = error_response(
            HTTPStatus.METHOD_NOT_ALLOWED,
            "method_not_allowed",
            f"{event.http_method} is not allowed on {event.path}; use {' or '.join(allowed)}",
        )
        answer.headers["Allow"] = ", ".join((*allowed, "OPTIONS"))
        return answer

    @cache
    def route_methods() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
        """Each documented path (as a pattern) with its methods, from the API's own OpenAPI document."""
        paths: dict[str, dict[str, Any]] = json.loads(app.get_openapi_json_schema())["paths"]
        return tuple(
            (
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))),
                tuple(sorted(m.upper() for m in item)),
            )
            for path, item in paths.items()
        )

    def internal_error(error: Exception) -> Response[Any]:
        logger.exception("request failed", error_type=type(error).__name__)
        request_id = app.current_event.request_context.request_id
        return error_response(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "internal",
            f"internal error (request {request_id}); it has been logged",
        )

    for kind, answer in (
        (ScriptToFilmError, project_error),
        (IdempotencyValidationError, key_reused),
        (IdempotencyAlreadyInProgressError, key_in_progress),
        (RequestValidationError, invalid_request),
        (RequestUnsupportedContentType, unsupported_media_type),
        (ValueError, unreadable_body),
        (ServiceError, service_error),
        (NoRouteError, no_route),
        (Exception, internal_error),
    ):
        app.exception_handler(kind)(answer)
