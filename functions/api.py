"""The REST API, `/api/v1`: one Powertools resolver, and its routes, thin over the core.

Each route takes its input as a model (Powertools validates the event against the OpenAPI schema
it generates from the same models), makes one core call and answers a model. Errors become HTTP
answers in one place, `script_to_film.api.errors`: bad input is a 4xx with a message, never a
5xx. `POST /videos` honours `Idempotency-Key` (`script_to_film.api.idempotency`).

On AWS, API Gateway authorises every method with IAM (SigV4) before this handler runs; locally,
`stf serve` (`infra.local.server`) plays API Gateway over plain HTTP.
"""

from __future__ import annotations

import os
from http import HTTPStatus
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths

from script_to_film import __version__
from script_to_film.api.errors import register_error_handlers
from script_to_film.api.idempotency import IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_REPLAYED_HEADER, VideoStarts
from script_to_film.api.openapi import PLAIN_TEXT, SCRIPT_LINKS, VIDEO_LINKS, WITH_BODY, base_path, responses
from script_to_film.domain import untrusted_json
from script_to_film.domain.catalog import DEFAULT_MODEL
from script_to_film.runtime import backend, logger, tracer
from script_to_film.services import library, videos
from script_to_film.services.api_models import (
    ID_PATTERN,
    PAGE_SIZE_DEFAULT,
    PAGE_SIZE_MAX,
    SCENE_PAGE_DEFAULT,
    SCENE_PAGE_MAX,
    ErrorBody,
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

API = "/api/v1"

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
register_error_handlers(app)
starts = VideoStarts(app, backend)

_S = HTTPStatus


# Service -----------------------------------------------------------------------------------------


@app.get(
    f"{API}/health",
    operation_id="health",
    tags=["service"],
    summary="Is the API up",
    responses=responses(_S.OK, Health),
)
def health() -> Health:
    return Health(version=__version__)


@app.get(f"{API}/openapi.json", include_in_schema=False)
def openapi_document() -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK,
        content_type=content_types.APPLICATION_JSON,
        body=app.get_openapi_json_schema(servers=[Server(url=base_path(app))]),
    )


# Scripts -----------------------------------------------------------------------------------------


@app.post(
    f"{API}/scripts",
    operation_id="createScript",
    status_code=HTTPStatus.CREATED,
    tags=["scripts"],
    summary="Store a screenplay and break it down",
    responses=responses(
        _S.CREATED, ScriptDetail, *WITH_BODY, _S.REQUEST_ENTITY_TOO_LARGE, links=SCRIPT_LINKS
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
    responses=responses(_S.ACCEPTED, ScriptDetail, *WITH_BODY, links=SCRIPT_LINKS),
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
    responses=responses(_S.OK, ScriptPage, _S.BAD_REQUEST, _S.UNPROCESSABLE_ENTITY),
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
    responses=responses(_S.OK, ScriptDetail, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
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
    responses=responses(_S.OK, ScenePage, _S.BAD_REQUEST, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
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
        **responses(_S.OK, ErrorBody, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
        _S.OK.value: {"description": _S.OK.phrase, "content": {"text/plain": {"schema": {"type": "string"}}}},
    },
)
def get_script_content(
    script_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
) -> Response[str]:
    return Response(
        status_code=HTTPStatus.OK, content_type=PLAIN_TEXT, body=library.content(backend(), script_id)
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
    responses=responses(
        _S.ACCEPTED,
        VideoDetail,
        *WITH_BODY,
        _S.NOT_FOUND,
        _S.CONFLICT,
        _S.SERVICE_UNAVAILABLE,
        links=VIDEO_LINKS,
    ),
)
def create_video(
    request: Annotated[VideoCreate, Body()],
    idempotency_key: Annotated[
        str | None,
        Header(alias=IDEMPOTENCY_KEY_HEADER, min_length=1, max_length=255, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> Response[VideoDetail]:
    started, replayed = starts.start(request, idempotency_key)
    headers = {IDEMPOTENCY_REPLAYED_HEADER: "true"} if replayed else {}
    return Response(
        status_code=HTTPStatus.ACCEPTED,
        content_type=content_types.APPLICATION_JSON,
        body=VideoDetail.model_validate(started),
        headers={"Location": f"{API}/videos/{started['id']}", **headers},
    )


@app.get(
    f"{API}/videos",
    operation_id="listVideos",
    tags=["videos"],
    summary="Videos, newest first",
    responses=responses(_S.OK, VideoPage, _S.BAD_REQUEST, _S.UNPROCESSABLE_ENTITY),
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
    responses=responses(_S.OK, VideoDetail, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
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
    responses=responses(_S.OK, VideoScenePage, _S.BAD_REQUEST, _S.NOT_FOUND, _S.UNPROCESSABLE_ENTITY),
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
    responses=responses(_S.OK, VideoDetail, _S.NOT_FOUND, _S.CONFLICT, _S.UNPROCESSABLE_ENTITY),
)
def cancel_video(
    video_id: Annotated[str, Path(min_length=1, max_length=100, pattern=ID_PATTERN)],
) -> VideoDetail:
    return videos.detail(backend(), videos.cancel(backend(), video_id))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
# Never in a trace: answers hold screenplays and presigned URLs, and errors can quote either.
@tracer.capture_lambda_handler(capture_response=False, capture_error=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
