"""The Runway provider's pure parts: requests built within the catalog and the SDK's types, task
statuses mapped, errors classified, keyframe task ids, the account's answer mapped per model, and
nothing secret in a message or a log."""

from __future__ import annotations

import logging
import subprocess
import sys
import typing
from dataclasses import replace
from typing import Any

import httpx
import pytest
import runwayml
from runwayml.types import (
    OrganizationRetrieveResponse,
    image_to_video_create_params,
    text_to_image_create_params,
    text_to_video_create_params,
)
from runwayml.types.organization_retrieve_usage_response import ResultUsedCredit
from runwayml.types.task_retrieve_response import Cancelled, Failed, Pending, Running, Succeeded, Throttled

from script_to_film.adapters.providers.registry import available_providers, get_provider, reset_providers
from script_to_film.adapters.providers.runway import (
    DailyCapError,
    KeyframeTask,
    RunwayProvider,
    create_error,
    keyframe_ratio,
    keyframe_request,
    limits_from_organization,
    read_error,
    task_from_response,
    uses_keyframe,
    video_request,
)
from script_to_film.domain import catalog
from script_to_film.domain.catalog import Endpoint
from script_to_film.domain.errors import PermanentProviderError, SubmitInDoubtError, TransientProviderError
from script_to_film.domain.models import Scene, SceneJob, Shot
from script_to_film.domain.ports import TaskState, VideoProvider

API_KEY = "key_unit_test_secret_0000"
PROMPT = "Wide establishing shot: gulls wheel over a harbour at dawn."


def make_job(
    model: str = "gen4.5",
    ratio: str = "1280:720",
    duration: int = 5,
    prompt: str = PROMPT,
    keyframe: bool = False,
) -> SceneJob:
    scene = Scene(number=2, heading="EXT. HARBOUR - DAWN", estimated_seconds=duration)
    shot = Shot(
        scene=2,
        camera="Wide establishing shot",
        lighting="dawn",
        environment="harbour",
        style="realistic",
        prompt=prompt,
        duration=duration,
        ratio=ratio,
        model=model,
        provider=catalog.get_model(model).provider,
    )
    return SceneJob(video_id="video-0123456789abcdef", scene=scene, shot=shot, keyframe=keyframe)


# The registry and cold start -----------------------------------------------------------------


def test_runway_is_a_registered_provider_made_without_reading_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("RUNWAYML_API_SECRET", raising=False)
    reset_providers()
    try:
        assert "runway" in available_providers()
        provider: VideoProvider = get_provider("runway")
        assert isinstance(provider, RunwayProvider)
        assert provider.name == "runway"
    finally:
        reset_providers()


def test_a_polling_lambda_does_not_import_the_sdk_until_it_calls_runway() -> None:
    code = (
        "import sys, script_to_film.workflow.scene, script_to_film.adapters.providers.runway as r;"
        "r.RunwayProvider(); print('runwayml' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# Requests within the catalog and the SDK's types ---------------------------------------------


def _sdk_params_type(module: Any, model: str) -> Any:
    """The SDK's TypedDict of the create parameters for `model` on one endpoint."""
    for value in vars(module).values():
        hints = getattr(value, "__annotations__", None)
        if not isinstance(value, type) or not hints or "model" not in hints:
            continue
        model_hint = typing.get_type_hints(value)["model"]
        if typing.get_args(model_hint) == (model,):
            return value
    raise AssertionError(f"the SDK has no parameters type for {model}")


_SDK_MODULES = {
    Endpoint.TEXT_TO_VIDEO: text_to_video_create_params,
    Endpoint.IMAGE_TO_VIDEO: image_to_video_create_params,
    Endpoint.TEXT_TO_IMAGE: text_to_image_create_params,
}

_CASES = [
    (model.id, keyframe, ratio, duration)
    for model in catalog.models_for(catalog.RUNWAY)
    for keyframe in (False, True)
    if (Endpoint.IMAGE_TO_VIDEO if keyframe or model.needs_keyframe else Endpoint.TEXT_TO_VIDEO)
    in model.endpoints
    for ratio in model.ratios_for(
        Endpoint.IMAGE_TO_VIDEO if keyframe or model.needs_keyframe else Endpoint.TEXT_TO_VIDEO
    )
    for duration in (model.durations[0], model.durations[-1])
]


@pytest.mark.parametrize(("model", "keyframe", "ratio", "duration"), _CASES)
def test_every_request_the_catalog_allows_fits_the_sdks_types(
    model: str, keyframe: bool, ratio: str, duration: int
) -> None:
    job = make_job(model, ratio, duration, keyframe=keyframe)
    video = video_request(job)
    requests = [video]
    if uses_keyframe(job):
        keyframe = {**video.params, "prompt_image": "https://example.com/keyframe.png"}
        requests = [replace(video, params=keyframe), keyframe_request(job)]
    for request in requests:
        params_type = _sdk_params_type(_SDK_MODULES[request.endpoint], request.params["model"])
        hints = typing.get_type_hints(params_type)
        assert set(request.params) <= set(hints), (
            f"{request.endpoint} takes no {set(request.params) - set(hints)}"
        )
        assert params_type.__required_keys__ <= set(request.params)
        assert request.params["ratio"] in typing.get_args(hints["ratio"])


def test_text_to_video_sends_only_what_the_catalog_allows() -> None:
    request = video_request(make_job("gen4.5", "720:1280", 7))

    assert request.endpoint is Endpoint.TEXT_TO_VIDEO
    assert request.params == {"model": "gen4.5", "prompt_text": PROMPT, "ratio": "720:1280", "duration": 7}


def test_gen4_turbo_takes_the_keyframe_path_and_gen45_when_asked() -> None:
    turbo = make_job("gen4_turbo", "1104:832", 5)
    assert uses_keyframe(turbo)
    assert video_request(turbo).endpoint is Endpoint.IMAGE_TO_VIDEO
    assert keyframe_request(turbo).params == {
        "model": "gen4_image",
        "prompt_text": PROMPT,
        "ratio": "960:720",
    }

    assert not uses_keyframe(make_job("gen4.5"))
    assert video_request(make_job("gen4.5", keyframe=True)).endpoint is Endpoint.IMAGE_TO_VIDEO


@pytest.mark.parametrize(
    ("video", "image"),
    [
        ("1280:720", "1280:720"),
        ("720:1280", "720:1280"),
        ("1104:832", "960:720"),
        ("960:960", "720:720"),
        ("832:1104", "720:960"),
        ("1584:672", "1680:720"),
        ("1920:1080", "1280:720"),
        ("1080:1920", "720:1280"),
    ],
)
def test_a_keyframe_has_the_720p_shape_nearest_the_video(video: str, image: str) -> None:
    assert keyframe_ratio(video) == image
    assert image in catalog.get_image_model().ratios_720p


def changed(job: SceneJob, **shot: Any) -> SceneJob:
    """`job` with its shot changed past what the director would ever make."""
    return job.model_copy(update={"shot": job.shot.model_copy(update=shot)})


@pytest.mark.parametrize(
    ("job", "code"),
    [
        (changed(make_job(), ratio="16:9"), "INPUT.RATIO"),
        (changed(make_job(), duration=11), "INPUT.DURATION"),
        (changed(make_job("veo3.1", duration=4), duration=5), "INPUT.DURATION"),
        (make_job(prompt="🎬" * 501), "INPUT.PROMPT"),
        (make_job(prompt="   "), "INPUT.PROMPT"),
        (changed(make_job(), model="gen3a_turbo"), "INPUT.MODEL"),
        (changed(make_job(), model="animatic"), "INPUT.MODEL"),
        (changed(make_job("gen4_turbo"), ratio="1920:1080"), "INPUT.RATIO"),
    ],
    ids=[
        "ratio-16:9",
        "duration-11",
        "veo-duration-5",
        "prompt-1002-utf16-units",
        "empty-prompt",
        "retired-model",
        "not-runway",
        "turbo-ratio",
    ],
)
def test_what_runway_would_refuse_is_refused_before_any_call(job: SceneJob, code: str) -> None:
    with pytest.raises(PermanentProviderError) as refused:
        video_request(job)
    assert refused.value.code == code


def test_a_prompt_of_exactly_1000_utf16_units_is_sent() -> None:
    prompt = "🎬" * 500  # 500 characters, 1000 UTF-16 code units
    assert video_request(make_job(prompt=prompt)).params["prompt_text"] == prompt


# Task statuses -------------------------------------------------------------------------------

CREATED = "2026-11-25T10:00:00.000Z"


@pytest.mark.parametrize(
    ("response", "state", "progress", "credits"),
    [
        (
            Pending.model_validate(
                {"id": "t", "status": "PENDING", "createdAt": CREATED, "estimatedCost": {"credits": 60}}
            ),
            TaskState.PENDING,
            0.0,
            60,
        ),
        (
            Throttled.model_validate(
                {"id": "t", "status": "THROTTLED", "createdAt": CREATED, "estimatedCost": {"credits": 60}}
            ),
            TaskState.THROTTLED,
            0.0,
            60,
        ),
        (
            Running.model_validate(
                {
                    "id": "t",
                    "status": "RUNNING",
                    "createdAt": CREATED,
                    "estimatedCost": {"credits": 60},
                    "progress": 0.42,
                }
            ),
            TaskState.RUNNING,
            0.42,
            60,
        ),
        (
            Succeeded.model_validate(
                {
                    "id": "t",
                    "status": "SUCCEEDED",
                    "createdAt": CREATED,
                    "cost": {"credits": 58},
                    "output": ["https://cdn.example/x.mp4?sig=s3cr3t"],
                }
            ),
            TaskState.SUCCEEDED,
            1.0,
            58,
        ),
        (
            Cancelled.model_validate(
                {"id": "t", "status": "CANCELLED", "createdAt": CREATED, "cost": {"credits": 0}}
            ),
            TaskState.CANCELLED,
            None,
            0,
        ),
    ],
    ids=["pending", "throttled", "running", "succeeded", "cancelled"],
)
def test_five_statuses_map_with_progress_and_credits(
    response: Any, state: TaskState, progress: float | None, credits: float
) -> None:
    task = task_from_response("t", response)

    assert (task.state, task.progress, task.credits) == (state, progress, credits)
    assert task.output_url is None, "an output URL is never handed on"
    assert task.failure is None and task.failure_code is None


def test_a_failure_keeps_runways_code_and_reason() -> None:
    response = Failed.model_validate(
        {"id": "t", "status": "FAILED", "createdAt": CREATED, "cost": {"credits": 60},
         "failure": "The prompt was flagged.", "failureCode": "SAFETY.INPUT.TEXT"}
    )  # fmt: skip

    task = task_from_response("t", response)

    assert task.state is TaskState.FAILED
    assert task.failure_code == "SAFETY.INPUT.TEXT"
    assert task.failure == "Runway: The prompt was flagged."
    assert task.credits == 60


def test_a_status_it_does_not_know_is_work_still_under_way() -> None:
    response = Pending.model_construct(id="t", status="ARCHIVING")
    assert task_from_response("t", response).state is TaskState.RUNNING


# Errors ----------------------------------------------------------------------------------------


def _status_error(
    status: int, *, headers: dict[str, str] | None = None, error: str = "went wrong"
) -> runwayml.APIStatusError:
    request = httpx.Request(
        "POST",
        "https://api.dev.runwayml.com/v1/text_to_video",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    response = httpx.Response(status, request=request, headers=headers, json={"error": error})
    return runwayml.RunwayML(
        api_key=API_KEY, base_url="https://api.dev.runwayml.com"
    )._make_status_error_from_response(response)


def _connection_error(cause: Exception) -> runwayml.APIConnectionError:
    request = httpx.Request("POST", "https://api.dev.runwayml.com/v1/text_to_video")
    error_type = (
        runwayml.APITimeoutError if isinstance(cause, httpx.TimeoutException) else runwayml.APIConnectionError
    )
    try:
        try:
            raise cause
        except httpx.HTTPError as inner:
            if error_type is runwayml.APITimeoutError:
                raise runwayml.APITimeoutError(request=request) from inner
            raise runwayml.APIConnectionError(request=request) from inner
    except runwayml.APIConnectionError as error:
        return error


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (400, "INVALID_REQUEST", "ratio must be one of"),
        (401, "AUTH", "Invalid API key"),
        (403, "FORBIDDEN", "Model variant gen3a_turbo is not available"),
        (404, "NOT_FOUND", "Not found"),
        (422, "INVALID_REQUEST", "promptText is too long"),
        (409, "HTTP_409", "conflict"),
    ],
)
def test_a_refused_create_is_permanent_and_says_why(status: int, code: str, detail: str) -> None:
    failure = create_error(_status_error(status, error=detail), "text_to_video gen4.5")

    assert type(failure) is PermanentProviderError
    assert failure.code == code
    assert detail in str(failure) and f"HTTP {status}" in str(failure)
    assert API_KEY not in str(failure)


def test_a_429_without_retry_after_is_the_daily_cap() -> None:
    failure = create_error(_status_error(429, error="daily limit"), "text_to_video gen4.5")

    assert isinstance(failure, DailyCapError) and isinstance(failure, PermanentProviderError)
    assert type(failure).__name__ == "DailyCapError", "the workflow maps the class name to DAILY_CAP"
    assert failure.code == "DAILY_CAP"
    assert "daily generation cap reached" in str(failure)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (_status_error(429, headers={"Retry-After": "7"}), "RATE_LIMITED"),
        (_status_error(429, headers={"retry-after-ms": "1500"}), "RATE_LIMITED"),
        (_status_error(503, headers={"Retry-After": "30"}), "UNAVAILABLE"),
        (_status_error(503, headers={"retry-after-ms": "500"}), "UNAVAILABLE"),
        (_connection_error(httpx.ConnectError("refused")), "CONNECTION"),
        (_connection_error(httpx.ConnectTimeout("slow to connect")), "CONNECTION"),
        (_connection_error(httpx.PoolTimeout("no free connection")), "CONNECTION"),
    ],
    ids=[
        "429-retry-after",
        "429-retry-after-ms",
        "503-retry-after",
        "503-retry-after-ms",
        "connect",
        "connect-timeout",
        "pool-timeout",
    ],
)
def test_only_a_create_runway_certainly_never_took_is_transient(error: runwayml.APIError, code: str) -> None:
    failure = create_error(error, "text_to_video gen4.5")

    assert type(failure) is TransientProviderError
    assert failure.code == code


def _unreadable_answer() -> runwayml.APIResponseValidationError:
    request = httpx.Request("POST", "https://api.dev.runwayml.com/v1/text_to_video")
    response = httpx.Response(200, request=request, text="<html>not JSON</html>")
    return runwayml.APIResponseValidationError(response=response, body=response.text)


@pytest.mark.parametrize(
    "error",
    [
        _status_error(408),
        _status_error(500),
        _status_error(502),
        _status_error(503),
        _status_error(504),
        _status_error(502, headers={"Retry-After": "5"}),
        _status_error(504, headers={"Retry-After": "5"}),
        _status_error(599),
        _connection_error(httpx.ReadTimeout("no answer")),
        _connection_error(httpx.WriteTimeout("half sent")),
        _connection_error(httpx.RemoteProtocolError("dropped")),
        _connection_error(httpx.ReadError("reset")),
        _unreadable_answer(),
    ],
    ids=[
        "408",
        "500",
        "502",
        "503-without-retry-after",
        "504",
        "502-retry-after",
        "504-retry-after",
        "599",
        "read-timeout",
        "write-timeout",
        "dropped",
        "reset",
        "unreadable-answer",
    ],
)
def test_a_create_sent_without_proof_nothing_was_made_is_in_doubt_never_repeated(
    error: runwayml.APIError,
) -> None:
    failure = create_error(error, "text_to_video gen4.5")

    assert type(failure) is SubmitInDoubtError, "the workflow maps the class name to SUBMIT_IN_DOUBT"
    assert not isinstance(failure, TransientProviderError)
    assert "not sent again" in str(failure)
    assert API_KEY not in str(failure)


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_status_error(500), TransientProviderError),
        (_status_error(503), TransientProviderError),
        (_status_error(429), TransientProviderError),
        (_connection_error(httpx.ReadTimeout("slow")), TransientProviderError),
        (_connection_error(httpx.ConnectError("refused")), TransientProviderError),
        (_status_error(401), PermanentProviderError),
        (_status_error(403), PermanentProviderError),
    ],
    ids=["500", "503", "429", "read-timeout", "connect", "401", "403"],
)
def test_reads_are_safe_to_repeat_so_outages_are_transient(error: runwayml.APIError, kind: type) -> None:
    assert type(read_error(error, "the status of task t")) is kind


# Keyframe task ids -------------------------------------------------------------------------------


def test_keyframe_task_ids_round_trip() -> None:
    making = KeyframeTask(
        video_id="video-0123456789abcdef", scene=12, image_task="0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    )
    animating = KeyframeTask(
        video_id=making.video_id,
        scene=12,
        image_task=making.image_task,
        image_credits=5,
        video_task="9f8e7d6c-aaaa-bbbb-cccc-0123456789ab",
    )

    assert str(making) == "keyframe/video-0123456789abcdef/12/0b1c2d3e-aaaa-bbbb-cccc-0123456789ab"
    assert KeyframeTask.parse(str(making)) == making
    assert KeyframeTask.parse(str(animating)) == animating
    assert KeyframeTask.parse("0b1c2d3e-aaaa-bbbb-cccc-0123456789ab") is None
    with pytest.raises(PermanentProviderError):
        KeyframeTask.parse("keyframe/../etc")


def test_a_keyframe_task_id_names_the_shot_it_films() -> None:
    later = KeyframeTask(
        video_id="video-0123456789abcdef",
        scene=12,
        image_task="0b1c2d3e-aaaa",
        image_credits=5,
        video_task="9f8e",
        shot=3,
    )
    assert str(later) == "keyframe/video-0123456789abcdef/12.3/0b1c2d3e-aaaa/5/9f8e"
    assert KeyframeTask.parse(str(later)) == later
    assert KeyframeTask.parse("keyframe/video-0123456789abcdef/12/0b1c2d3e-aaaa").shot == 1  # type: ignore[union-attr]


# Logs --------------------------------------------------------------------------------------------


def test_the_sdks_request_log_never_shows_a_signed_url(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="runwayml")
    logging.getLogger("runwayml._base_client").debug(
        "Request options: %s",
        {"json_data": {"promptImage": "https://cdn.example/k.png?Signature=s3cr3t&x=1"}},
    )

    assert "s3cr3t" not in caplog.text
    assert "https://cdn.example/k.png" in caplog.text


# The account -------------------------------------------------------------------------------


def test_the_catalogs_runway_model_ids_are_the_keys_runway_reports_limits_under() -> None:
    runway_keys = set(typing.get_args(ResultUsedCredit.model_fields["model"].annotation))
    ours = {model.id for model in catalog.models_for(catalog.RUNWAY)} | set(catalog.IMAGE_MODELS)

    assert ours <= runway_keys


def test_runways_answer_maps_per_model_and_a_model_without_usage_has_made_none() -> None:
    organization = OrganizationRetrieveResponse.model_validate(
        {
            "creditBalance": 5000,
            "tier": {
                "maxMonthlyCreditSpend": 10000,
                "models": {
                    "gen4.5": {"maxConcurrentGenerations": 2, "maxDailyGenerations": 200},
                    "gen4_image": {"maxConcurrentGenerations": None, "maxDailyGenerations": None},
                },
            },
            "usage": {"models": {"gen4.5": {"dailyGenerations": 12}}},
        }
    )

    gen45 = limits_from_organization(organization, "gen4.5")
    image = limits_from_organization(organization, "gen4_image")
    unlisted = limits_from_organization(organization, "veo3.1")

    assert (gen45.max_concurrent, gen45.daily_limit, gen45.daily_used, gen45.credit_balance) == (
        2,
        200,
        12,
        5000,
    )
    assert (image.max_concurrent, image.daily_limit, image.daily_used, image.note) == (None, None, 0, None)
    assert (unlisted.max_concurrent, unlisted.daily_limit) == (None, None)
    assert unlisted.note == "Runway's tier lists no limits for veo3.1"


def test_an_answer_without_a_balance_or_tier_cannot_be_used() -> None:
    broken = OrganizationRetrieveResponse.model_construct(usage=None)

    with pytest.raises(PermanentProviderError) as unusable:
        limits_from_organization(broken, "gen4.5")
    assert unusable.value.code == "BAD_RESPONSE"
