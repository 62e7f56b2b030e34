"""The REST API, `/api/v1`: one Powertools resolver with thin routes over the core.

Each route takes its input as a model (Powertools validates the event against the OpenAPI schema
it generates from the same models), makes one core call and answers a model. Errors become HTTP
answers in one place, the exception handlers at the end: bad input is a 4xx with a message, never
a 5xx. `POST /videos` honours `Idempotency-Key` with Powertools Idempotency on DynamoDB, whose
persistence layer is built at the first request that needs it, not at import.

On AWS, API Gateway authorises every method with IAM (SigV4) before this handler runs; locally,
`stf serve` (`infra.local.server`) plays API Gateway over plain HTTP.
"""

from __future__ import annotations

import binascii
import json
import os
import re
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError as NoRouteError
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
from pydantic import BaseModel

from script_to_film import __version__
from script_to_film.domain import untrusted_json
from script_to_film.domain.breakdown import ScriptTooLongError
from script_to_film.domain.catalog import DEFAULT_MODEL
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
from script_to_film.runtime import backend, logger, metrics, tracer
from script_to_film.services import library, videos
from script_to_film.services.api_models import (
    ID_PATTERN,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SCENE_PAGE_DEFAULT,
    SCENE_PAGE_MAX,
    ErrorBody,
    FieldProblem,
    Health,
    ScenePage,
    ScriptCreate,
    ScriptDetail,
    ScriptGenerate,
    ScriptPage,
    VideoCreate,
    VideoDetail,
    VideoPage,
    VideoScenePage,
)
from script_to_film.services.submission import (
    RunTooLongError,
    TooManyPollsError,
    TooManyScenesError,
    WorkflowUnavailableError,
)

API = "/api/v1"
IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
IDEMPOTENCY_REPLAYED_HEADER = "Idempotent-Replayed"
IDEMPOTENCY_SECONDS = 24 * 3600
"""How long a key is remembered: a client retrying after a day is making a new request."""

app = APIGatewayRestResolver(
    enable_validation=True,
    # Bodies are bounded before they are parsed: nesting, integer digits, lone surrogates (400).
    json_body_deserializer=untrusted_json.loads,
    cors=CORSConfig(
        allow_origin=os.environ.get("STF_CORS_ORIGIN", "*"),
        allow_headers=[IDEMPOTENCY_KEY_HEADER, "X-Amz-Date", "X-Amz-Security-Token", "X-Api-Key"],
        expose_headers=["Location", IDEMPOTENCY_REPLAYED_HEADER],
        max_age=600,
    ),
)
app.configure_openapi(
    title="Script-to-Film API",
    version=__version__,
    description=(
        "Turn a Fountain screenplay into a short film. Store a script (or have Claude write one), "
        "start a video from it, follow its scenes, download the film from `film_url`. Films are "
        "made asynchronously: POST /videos answers 202 and GET /videos/{id} shows the progress. "
        "On AWS every method needs IAM (SigV4) authorisation."
    ),
)
app.enable_swagger(path=f"{API}/swagger", title="Script-to-Film API", version=__version__)


_S = HTTPStatus
_PLAIN_TEXT = "text/plain; charset=utf-8"
_WITH_BODY = (_S.BAD_REQUEST, _S.UNSUPPORTED_MEDIA_TYPE, _S.UNPROCESSABLE_ENTITY)
"""What a route reading a JSON body may answer: a body that does not parse (400), is not sent as
JSON (415) or does not validate (422)."""


def _link(operation_id: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to `operation_id` whose parameters come from this answer (runtime expressions)."""
    return {"operationId": operation_id, "parameters": parameters}


_SCRIPT_LINKS = {
    "GetScript": _link("getScript", script_id="$response.body#/id"),
    "ListScriptScenes": _link("listScriptScenes", script_id="$response.body#/id"),
    "GetScriptContent": _link("getScriptContent", script_id="$response.body#/id"),
}
_VIDEO_LINKS = {
    "GetVideo": _link("getVideo", video_id="$response.body#/id"),
    "ListVideoScenes": _link("listVideoScenes", video_id="$response.body#/id"),
    "CancelVideo": _link("cancelVideo", video_id="$response.body#/id"),
}


def _responses(
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


# Service -----------------------------------------------------------------------------------------


@app.get(
    f"{API}/health",
    operation_id="health",
    tags=["service"],
    summary="Is the API up",
    responses=_responses(_S.OK, Health),
)
def health() -> Health:
    return Health(version=__version__)


@app.get(f"{API}/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(servers=[Server(url=_base_path())]),
    )


def _base_path() -> str:
    """`/<stage>` when the stage is in the URL (an execute-api URL), else `/` (a custom domain,
    `stf serve`): the OpenAPI servers entry, so clients generated from the document call the API
    where it is."""
    context = app.current_event.request_context
    stage = context.stage
    if stage and stage != "$default" and (context.path or "").startswith(f"/{stage}/"):
        return f"/{stage}"
    return "/"


# Scripts -----------------------------------------------------------------------------------------


@app.post(
    f"{API}/scripts",
    operation_id="createScript",
    status_code=HTTPStatus.CREATED,
    tags=["scripts"],
    summary="Store a screenplay and break it down",
    responses=_responses(
        _S.CREATED, ScriptDetail, *_WITH_BODY, _S.REQUEST_ENTITY_TOO_LARGE, links=_SCRIPT_LINKS
    ),
)
def create_script(script: Annotated[ScriptCreate, Body()]) -> Response[ScriptDetail]:
    created = library.create(backend(), script)
    return Response(
        status_code=HTTPStatus.CREATED,
        content_type=content_types.APPLICATION_JSON,
        body=created,
        headers={"Location": f"{API}/scripts/{created.id}"},
    )


@app.post(
    f"{API}/scripts/generate",
    operation_id="generateScript",
    status_code=HTTPStatus.ACCEPTED,
    tags=["scripts"],
    summary="Have Claude write a screenplay (asynchronously)",
    description="Answers at once with the script WRITING; GET /scripts/{id} shows it READY or FAILED.",
    responses=_responses(_S.ACCEPTED, ScriptDetail, *_WITH_BODY, links=_SCRIPT_LINKS),
)
def generate_script(request: Annotated[ScriptGenerate, Body()]) -> Response[ScriptDetail]:
    requested = library.request_written(backend(), request)
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=requested,
        headers={"Location": f"{API}/scripts/{requested.id}"},
    )


@app.get(
    f"{API}/scripts",
    operation_id="listScripts",
    tags=["scripts"],
    summary="Scripts, newest first",
    responses=_responses(_S.OK, ScriptPage, _S.BAD_REQUEST, _S.UNPROCESSABLE_ENTITY),
)
def list_scripts(
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
    next_token: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
) -> ScriptPage:
    return library.page(backend(), limit, next_token)


@app.get(
    f"{API}/scripts/<script_id>",
    operation_id="getScript",
    tags=["scripts"],
    summary="A script, with its scenes and estimate once READY",
    responses=_responses(_S.OK, ScriptDetail, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
)
def get_script(
    script_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
    model: Annotated[
        str,
        Query(
            min_length=1,
            max_length=40,
            description="The model `estimate` prices, from the stored breakdown: each scene's clip at "
            "the length nearest its own that the model makes. The scenes' shots stay as directed for "
            "the breakdown's model (`shot.model`); POST /videos directs for the model it films with",
        ),
    ] = DEFAULT_MODEL,
) -> ScriptDetail:
    return library.detail(backend(), script_id, model=model)


@app.get(
    f"{API}/scripts/<script_id>/scenes",
    operation_id="listScriptScenes",
    tags=["scripts"],
    summary="A READY script's scenes, a page at a time",
    description="Each page holds up to `limit` scenes and never more than fit an answer under a megabyte.",
    responses=_responses(_S.OK, ScenePage, _S.BAD_REQUEST, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
)
def list_script_scenes(
    script_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=SCENE_PAGE_MAX)] = SCENE_PAGE_DEFAULT,
    next_token: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
) -> ScenePage:
    return library.scenes(backend(), script_id, limit, next_token)


@app.get(
    f"{API}/scripts/<script_id>/content",
    operation_id="getScriptContent",
    tags=["scripts"],
    summary="A READY script's Fountain text",
    description="The text as it was stored, whatever its size (GET /scripts/{id} holds it only when small).",
    responses={
        **_responses(_S.OK, ErrorBody, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
        _S.OK.value: {"description": _S.OK.phrase, "content": {"text/plain": {"schema": {"type": "string"}}}},
    },
)
def get_script_content(
    script_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
) -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK, content_type=_PLAIN_TEXT, body=library.content(backend(), script_id)
    )


# Videos ------------------------------------------------------------------------------------------


@app.post(
    f"{API}/videos",
    operation_id="createVideo",
    status_code=HTTPStatus.ACCEPTED,
    tags=["videos"],
    summary="Film a script (asynchronously)",
    description=(
        f"Answers at once with the video QUEUED. With an `{IDEMPOTENCY_KEY_HEADER}` header a repeat "
        "returns the same video (and no second one is made); the same key with another body is "
        "refused (422), and while the first request is still being answered, 409."
    ),
    responses=_responses(
        _S.ACCEPTED,
        VideoDetail,
        *_WITH_BODY,
        _S.NOT_FOUND,
        _S.CONFLICT,
        _S.SERVICE_UNAVAILABLE,
        links=_VIDEO_LINKS,
    ),
)
def create_video(
    request: Annotated[VideoCreate, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(alias=IDEMPOTENCY_KEY_HEADER, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Response[VideoDetail]:
    headers = {}
    if idempotency_key is None:
        started = _start_video(submission={"request": request.model_dump(mode="json")})
    else:
        submission = {"caller": _caller(), "key": idempotency_key, "request": request.model_dump(mode="json")}
        started = _idempotent(_start_video)(submission=submission)
        if app.context.get("idempotent_replay"):
            headers[IDEMPOTENCY_REPLAYED_HEADER] = "true"
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=VideoDetail.model_validate(started),
        headers={"Location": f"{API}/videos/{started['id']}", **headers},
    )


def _start_video(submission: dict[str, Any]) -> dict[str, Any]:
    """Start the video; its JSON is what an idempotency record keeps and replays.

    Under an Idempotency-Key the video's id comes from the key: a retry whose first try failed
    (so its idempotency record is gone) gets the video that try made, never a second one."""
    request = VideoCreate.model_validate(submission["request"])
    video_id = None
    if "key" in submission:
        video_id = videos.idempotent_video_id(submission["caller"], submission["key"])
    existing = videos.made_by(backend(), request, video_id) if video_id else None
    if existing is not None:
        app.context["idempotent_replay"] = True
        return videos.detail(backend(), existing).model_dump(mode="json")
    video = videos.start(backend(), request, video_id=video_id)
    metrics.add_metric(name="VideosStarted", unit=MetricUnit.Count, value=1)
    # Flushed here rather than by `log_metrics` on the handler: most requests start no video, and
    # the decorator warns about every invocation that published nothing.
    metrics.flush_metrics()
    logger.info("video started", video_id=video.id, provider=video.provider, scenes=video.scene_count)
    return videos.detail(backend(), video).model_dump(mode="json")


def _caller() -> str:
    """Who is asking, so that one caller's key never replays another caller's video."""
    identity = app.current_event.request_context.identity
    return identity.user_arn or identity.caller or identity.cognito_identity_id or "anonymous"


def _replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """A repeat gets the same video as it is now, not as it was when first started: a client that
    retries after a while sees the progress made since (and URLs that have not expired)."""
    app.context["idempotent_replay"] = True
    return videos.detail(backend(), backend().videos.get(response["id"])).model_dump(mode="json")


_IDEMPOTENCY = IdempotencyConfig(
    event_key_jmespath="[caller, key]",
    payload_validation_jmespath="request",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=IDEMPOTENCY_SECONDS,
    response_hook=_replayed,
)


def _idempotent(function: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    _IDEMPOTENCY.register_lambda_context(app.lambda_context)
    wrapped: Callable[..., dict[str, Any]] = idempotent_function(
        function,
        data_keyword_argument="submission",
        persistence_store=_idempotency_store(os.environ.get("STF_IDEMPOTENCY_TABLE", "")),
        config=_IDEMPOTENCY,
    )
    return wrapped


@cache
def _idempotency_store(table_name: str) -> DynamoDBPersistenceLayer:
    if not table_name:
        raise RuntimeError("STF_IDEMPOTENCY_TABLE is not set")
    return DynamoDBPersistenceLayer(table_name=table_name)


@app.get(
    f"{API}/videos",
    operation_id="listVideos",
    tags=["videos"],
    summary="Videos, newest first",
    responses=_responses(_S.OK, VideoPage, _S.BAD_REQUEST, _S.UNPROCESSABLE_ENTITY),
)
def list_videos(
    limit: Annotated[int, Query(ge=1, le=PAGE_SIZE_MAX)] = PAGE_SIZE_DEFAULT,
    next_token: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
) -> VideoPage:
    return videos.page(backend(), limit, next_token)


@app.get(
    f"{API}/videos/<video_id>",
    operation_id="getVideo",
    tags=["videos"],
    summary="A video: its scenes, progress, cost, and the film's URL once made",
    responses=_responses(_S.OK, VideoDetail, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
)
def get_video(
    video_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
) -> VideoDetail:
    return videos.detail(backend(), backend().videos.get(video_id))


@app.get(
    f"{API}/videos/<video_id>/scenes",
    operation_id="listVideoScenes",
    tags=["videos"],
    summary="A video's scenes, a page at a time, with their clips' URLs",
    responses=_responses(_S.OK, VideoScenePage, _S.BAD_REQUEST, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
)
def list_video_scenes(
    video_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=SCENE_PAGE_MAX)] = SCENE_PAGE_DEFAULT,
    next_token: Annotated[str | None, Query(min_length=1, max_length=2000)] = None,
) -> VideoScenePage:
    return videos.scenes(backend(), video_id, limit, next_token)


@app.post(
    f"{API}/videos/<video_id>/cancel",
    operation_id="cancelVideo",
    tags=["videos"],
    summary="Cancel a queued or running video",
    description="Stops the workflow and cancels the scenes at the provider; 409 once the video has ended.",
    responses=_responses(_S.OK, VideoDetail, _S.NOT_FOUND, _S.CONFLICT, _S.UNPROCESSABLE_ENTITY),
)
def cancel_video(
    video_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
) -> VideoDetail:
    return videos.detail(backend(), videos.cancel(backend(), video_id))


# Errors: every answer that is not a success is made here ---------------------------------------

_ERRORS: tuple[tuple[type[Exception], HTTPStatus, str], ...] = (
    (ScreenplayTooLargeError, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "screenplay_too_large"),
    (NotFoundError, HTTPStatus.NOT_FOUND, "not_found"),
    (videos.ConflictError, HTTPStatus.CONFLICT, "conflict"),
    (InvalidPageTokenError, HTTPStatus.BAD_REQUEST, "invalid_page_token"),
    (BudgetExceededError, HTTPStatus.UNPROCESSABLE_ENTITY, "budget_exceeded"),
    (TooManyScenesError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_scenes"),
    (ScriptTooLongError, HTTPStatus.UNPROCESSABLE_ENTITY, "too_many_scenes"),
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


def _error(
    status: HTTPStatus, code: str, message: str, problems: list[FieldProblem] | None = None
) -> Response[Any]:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body=ErrorBody(error=code, message=message, problems=problems).model_dump(
            mode="json", exclude_none=True
        ),
    )


def _project_error(error: ScriptToFilmError) -> Response[Any]:
    for kind, status, code in _ERRORS:
        if isinstance(error, kind):
            answer = _error(status, code, str(error))
            if isinstance(error, WorkflowUnavailableError):
                answer.headers["Retry-After"] = str(error.retry_after_seconds)
            return answer
    return _internal_error(error)


def _key_reused(error: IdempotencyValidationError) -> Response[Any]:
    return _error(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
        f"this {IDEMPOTENCY_KEY_HEADER} was used with a different request body; "
        "use a new key for a new request",
    )


def _key_in_progress(error: IdempotencyAlreadyInProgressError) -> Response[Any]:
    return _error(
        HTTPStatus.CONFLICT,
        "idempotency_key_in_progress",
        f"a request with this {IDEMPOTENCY_KEY_HEADER} is still being answered; retry in a few seconds",
    )


MAX_PROBLEMS = 20
"""Invalid fields an answer lists: a body of a hundred thousand unknown keys gets the first few."""
_PROBLEM_CHARS = 200


def _shortened(text: str) -> str:
    """A field's location or message within `_PROBLEM_CHARS` (a key may be as long as the body)."""
    return text if len(text) <= _PROBLEM_CHARS else text[: _PROBLEM_CHARS - 1] + "…"


def _invalid_request(error: RequestValidationError) -> Response[Any]:
    problems = error.errors()
    unreadable = next((problem for problem in problems if problem.get("type") == "json_invalid"), None)
    if unreadable is not None:
        detail = (unreadable.get("ctx") or {}).get("error", "JSON decode error")
        return _error(HTTPStatus.BAD_REQUEST, "invalid_json", f"the request body is not valid JSON: {detail}")
    fields = [
        FieldProblem(
            location=_shortened(".".join(str(part) for part in problem["loc"])),
            message=_shortened(str(problem["msg"])),
        )
        for problem in problems[:MAX_PROBLEMS]
    ]
    first = fields[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return _error(
        HTTPStatus.UNPROCESSABLE_ENTITY, "invalid_request", f"{first.location}: {first.message}{more}", fields
    )


def _unsupported_media_type(error: RequestUnsupportedContentType) -> Response[Any]:
    return _error(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as application/json"
    )


def _unreadable_body(error: ValueError) -> Response[Any]:
    # Powertools reads the body before any route runs. A body it cannot decode (not UTF-8, broken
    # base64, multipart without a boundary) surfaces as a bare ValueError; any other ValueError is
    # a bug of ours.
    if isinstance(error, UnicodeDecodeError | binascii.Error):
        return _error(HTTPStatus.BAD_REQUEST, "invalid_body", "the request body is not UTF-8 JSON")
    content_type = app.current_event.headers.get("content-type", "")
    if app.current_event.body and not content_type.lower().startswith("application/json"):
        return _unsupported_media_type(RequestUnsupportedContentType(content_type, errors=[]))
    return _internal_error(error)


def _service_error(error: ServiceError) -> Response[Any]:
    status = HTTPStatus(error.status_code)
    return _error(status, status.phrase.lower().replace(" ", "_"), str(error.msg))


def _no_route(error: NoRouteError) -> Response[Any]:
    event = app.current_event
    allowed = next((methods for pattern, methods in _route_methods() if pattern.fullmatch(event.path)), None)
    # A path segment no route accepts (characters outside a URI's) can look like a routed path here.
    if allowed is None or event.http_method in allowed:
        return _error(HTTPStatus.NOT_FOUND, "no_route", f"no route {event.http_method} {event.path}")
    answer = _error(
        HTTPStatus.METHOD_NOT_ALLOWED,
        "method_not_allowed",
        f"{event.http_method} is not allowed on {event.path}; use {' or '.join(allowed)}",
    )
    answer.headers["Allow"] = ", ".join((*allowed, "OPTIONS"))
    return answer


@cache
def _route_methods() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    """Each documented path (as a pattern) with its methods, from the API's own OpenAPI document."""
    paths: dict[str, dict[str, Any]] = json.loads(app.get_openapi_json_schema())["paths"]
    return tuple(
        (
            re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path))),
            tuple(sorted(m.upper() for m in item)),
        )
        for path, item in paths.items()
    )


def _internal_error(error: Exception) -> Response[Any]:
    logger.exception("request failed", error_type=type(error).__name__)
    request_id = app.current_event.request_context.request_id
    return _error(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal",
        f"internal error (request {request_id}); it has been logged",
    )


# Powertools answers an error with the handler of the nearest class in its MRO: `Exception` gets
# only what nothing more specific claims.
for _kind, _answer in (
    (ScriptToFilmError, _project_error),
    (IdempotencyValidationError, _key_reused),
    (IdempotencyAlreadyInProgressError, _key_in_progress),
    (RequestValidationError, _invalid_request),
    (RequestUnsupportedContentType, _unsupported_media_type),
    (ValueError, _unreadable_body),
    (ServiceError, _service_error),
    (NoRouteError, _no_route),
    (Exception, _internal_error),
):
    app.exception_handler(_kind)(_answer)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
# Never in a trace: answers hold screenplays and presigned URLs, and errors can quote either.
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
