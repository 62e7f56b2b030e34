"""Videos as the REST API serves them: filmed from a stored script, followed, cancelled.

Starting goes through `submission.start_video`, the path every entry point takes, so the API
refuses what `stf run` and the S3 batch refuse. A video's view is built from the store alone: its
status, each scene's, the progress made, the cost so far, and presigned URLs of the film and the
clips in the project's bucket (never a provider's URL, which would expire and leak where the clip
came from).
"""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from script_to_film.domain import catalog, cost
from script_to_film.domain.errors import InvalidInputError, InvalidOptionError, UnknownModelError
from script_to_film.domain.limits import PRESIGNED_URL_MAX_SECONDS
from script_to_film.domain.models import SceneRecord, SceneStatus, ScriptStatus, VideoRecord, VideoStatus
from script_to_film.domain.options import VideoOptions
from script_to_film.domain.ports import Backend
from script_to_film.domain.status import SCENE_FINAL, VIDEO_FINAL, shots_of
from script_to_film.services import paging
from script_to_film.services.api_models import (
    SCENE_PAGE_BYTES,
    SCENE_PAGE_DEFAULT,
    LeftOutView,
    VideoCost,
    VideoCreate,
    VideoDetail,
    VideoPage,
    VideoScenePage,
    VideoSceneView,
    VideoShotView,
    VideoSummary,
)
from script_to_film.services.submission import start_video
from script_to_film.workflow.contract import scene_execution_name
from script_to_film.workflow.ending import end_scene

LOG = logging.getLogger(__name__)

CANCEL_CAUSE = "cancelled through the API"


class ConflictError(InvalidInputError):
    """The request is well formed, but the state of what it names refuses it now (HTTP 409)."""


class ScriptNotReadyError(ConflictError):
    """The script is still being written, or its writing failed: there is nothing to film."""


class VideoFinishedError(ConflictError):
    """The video has already ended: there is nothing left to cancel."""


# Resolution ------------------------------------------------------------------------------------

_NAMED_RESOLUTIONS = {"720p": "1280:720", "1080p": "1920:1080"}
_DIMENSIONS = re.compile(r"(\d{2,5})\s*[x×:]\s*(\d{2,5})")


def resolution_of(ratio: str) -> str:
    """Runway's ratios are pixel sizes: `1280:720` is 1280x720."""
    return ratio.replace(":", "x")


def ratio_for(resolution: str, model_id: str) -> str:
    """The model's ratio for `WIDTHxHEIGHT`, `W:H`, `720p` or `1080p` (landscape), else InvalidOptionError."""
    model = catalog.get_model(model_id)
    key = resolution.strip().lower()
    ratio = _NAMED_RESOLUTIONS.get(key)
    if ratio is None:
        match = _DIMENSIONS.fullmatch(key)
        if match is None:
            raise InvalidOptionError(
                f"resolution {resolution!r} is not WIDTHxHEIGHT (e.g. 1280x720), 720p or 1080p"
            )
        ratio = f"{int(match[1])}:{int(match[2])}"
    if ratio not in model.ratios:
        offered = ", ".join(resolution_of(allowed) for allowed in model.ratios)
        raise InvalidOptionError(f"{model.id} does not make {resolution!r}; choose one of: {offered}")
    return ratio


# Starting --------------------------------------------------------------------------------------


class IdempotencyKeyReusedError(InvalidInputError):
    """An Idempotency-Key that already made a video, sent with another request (HTTP 422)."""


def idempotent_video_id(caller: str, key: str) -> str:
    """The id of the video an Idempotency-Key makes for a caller: the same key always names the
    same video, so a retry after a failed answer (whose idempotency record is gone) finds the
    video the first try made instead of making a second one."""
    digest = hashlib.sha256(f"{caller}\n{key}".encode()).hexdigest()
    return f"video-{digest[:16]}"


def request_digest(request: VideoCreate) -> str:
    return hashlib.sha256(request.model_dump_json().encode()).hexdigest()[:32]


def made_by(backend: Backend, request: VideoCreate, video_id: str) -> VideoRecord | None:
    """The video an Idempotency-Key's id already names, if any; refused when another request
    made it."""
    existing = backend.videos.get_header(video_id)
    if existing is None:
        return None
    if existing.request_digest != request_digest(request):
        raise IdempotencyKeyReusedError(
            "this Idempotency-Key already made a video with a different request body; "
            "use a new key for a new request"
        )
    return backend.videos.get(video_id)


def start(backend: Backend, request: VideoCreate, *, video_id: str | None = None) -> VideoRecord:
    """Film a READY script: refuse what cannot or should not run, then start the workflow.

    `video_id` (from an Idempotency-Key) names the video, and the request's digest is kept with
    it so that `made_by` can tell a retry from a reuse of the key."""
    digest = request_digest(request) if video_id else None
    if request.provider not in backend.providers.available_providers():
        known = ", ".join(backend.providers.available_providers())
        raise UnknownModelError(f"unknown provider {request.provider!r}; available here: {known}")
    script = backend.scripts.get(request.script_id)
    if script.status is not ScriptStatus.READY:
        reason = script.failure if script.status is ScriptStatus.FAILED else "it is still being written"
        raise ScriptNotReadyError(f"script {script.id} is {script.status.value}: {reason}")
    model = request.model or catalog.default_model(request.provider).id
    options = VideoOptions(
        provider=request.provider,
        model=model,
        style=request.style,
        ratio=ratio_for(request.resolution, model) if request.resolution else None,
        scenes=request.scenes,
        poll_seconds=request.poll_seconds,
        scene_timeout_seconds=request.scene_timeout_seconds,
        max_budget_usd=request.max_budget_usd,
        keyframe=request.keyframe,
        model_audio=request.model_audio,
        fps=request.fps,
        length=request.length,
        max_shots=request.max_shots,
        voices=request.voices,
    )
    text = backend.scripts.get_text(script.id)
    return start_video(backend, text, options, script_id=script.id, video_id=video_id, request_digest=digest)


# Following -------------------------------------------------------------------------------------

_QUEUED_AT_PROVIDER = 0.05
_GENERATED = 0.9
"""A scene's progress: 5 % once the provider has it, up to 90 % as the provider reports its own
progress, the rest while the clip is copied to S3."""


def scene_progress(scene: SceneRecord) -> float:
    if scene.status in SCENE_FINAL:
        return 1.0
    if scene.status is SceneStatus.STORING:
        return _GENERATED
    if scene.status is SceneStatus.RUNNING:
        reported = min(max(scene.progress or 0.0, 0.0), 1.0)
        return round(_QUEUED_AT_PROVIDER + (_GENERATED - _QUEUED_AT_PROVIDER) * reported, 3)
    if scene.status in (SceneStatus.SUBMITTED, SceneStatus.THROTTLED):
        return _QUEUED_AT_PROVIDER
    return 0.0


def video_progress(video: VideoRecord) -> float:
    """The scenes' progress weighted by clip length; below 1 until the film is assembled."""
    if video.status in VIDEO_FINAL:
        return 1.0
    total = sum(scene.duration_seconds for scene in video.scenes)
    if not total:
        return 0.0
    done = sum(scene_progress(scene) * scene.duration_seconds for scene in video.scenes) / total
    return min(round(done, 3), 0.99)


def _cost(video: VideoRecord) -> VideoCost:
    charged = video.credits if video.credits is not None else sum(s.credits or 0 for s in video.scenes)
    return VideoCost(
        estimated_usd=video.estimated_usd,
        estimated_credits=video.estimated_credits,
        credits=charged,
        usd=float(cost.usd(Decimal(str(charged)))),
    )


def summary(video: VideoRecord) -> VideoSummary:
    return VideoSummary(
        id=video.id,
        script_id=video.script_id,
        title=video.title,
        status=video.status,
        provider=video.provider,
        model=video.model,
        scene_count=video.scene_count,
        cost=_cost(video),
        created_at=video.created_at,
        updated_at=video.updated_at,
    )


def detail(backend: Backend, video: VideoRecord) -> VideoDetail:
    """The video with its first page of scenes, progress, cost and presigned URLs (valid an hour)."""
    film_url = backend.objects.presigned_url(video.film_key) if video.film_key else None
    scenes, next_token, expires = _scene_page(backend, video, 0, SCENE_PAGE_DEFAULT)
    return VideoDetail(
        **summary(video).model_dump(),
        progress=video_progress(video),
        style=video.style,
        ratio=video.ratio,
        resolution=resolution_of(video.ratio),
        fps=video.fps,
        keyframe=video.keyframe,
        scenes=scenes,
        scenes_next_token=next_token,
        film_url=film_url,
        urls_expire_at=_expiry() if film_url else expires,
        execution=video.execution_arn,
        failure=video.failure,
        left_out=[LeftOutView(scene=left.scene, reason=left.reason) for left in video.left_out],
    )


def scenes(backend: Backend, video_id: str, limit: int, page_token: str | None) -> VideoScenePage:
    """A page of the video's scenes, from the one `page_token` names (the first without)."""
    video = backend.videos.get(video_id)
    start = paging.start_of(page_token, video_id, len(video.scenes)) if page_token else 0
    items, next_token, expires = _scene_page(backend, video, start, limit)
    return VideoScenePage(items=items, next_token=next_token, urls_expire_at=expires)


def _scene_page(
    backend: Backend, video: VideoRecord, start: int, limit: int
) -> tuple[list[VideoSceneView], str | None, str | None]:
    """(the scenes from `start`, at most `limit` and `SCENE_PAGE_BYTES` of them, the next page's
    token, when their URLs expire): only the clips of the page are signed."""
    views = [_scene_view(backend, scene) for scene in video.scenes[start : start + limit]]
    items, _ = paging.page(views, 0, limit, SCENE_PAGE_BYTES)
    following = start + len(items)
    next_token = paging.token(video.id, following) if following < len(video.scenes) else None
    return items, next_token, _expiry() if any(item.clip_url for item in items) else None


def _scene_view(backend: Backend, scene: SceneRecord) -> VideoSceneView:
    return VideoSceneView(
        number=scene.number,
        heading=scene.heading,
        status=scene.status,
        progress=scene_progress(scene),
        duration_seconds=scene.duration_seconds,
        attempts=scene.attempts,
        failure_code=scene.failure_code,
        failure=scene.failure,
        clip_url=backend.objects.presigned_url(scene.clip_key)
        if scene.clip_key and scene.status is SceneStatus.SUCCEEDED
        else None,
        estimated_credits=scene.estimated_credits,
        credits=scene.credits,
        note=scene.note,
        shot=scene.shot,
        shots=[
            VideoShotView(
                number=shot.number,
                kind=shot.kind,
                status=shot.status,
                duration_seconds=shot.duration_seconds,
                lines=shot.lines,
                attempts=shot.attempts,
                failure_code=shot.failure_code,
                failure=shot.failure,
                credits=shot.credits,
            )
            for shot in shots_of(scene)
        ],
        updated_at=scene.updated_at,
    )


def _expiry() -> str:
    expires = datetime.now(UTC) + timedelta(seconds=PRESIGNED_URL_MAX_SECONDS)
    return expires.isoformat(timespec="seconds").replace("+00:00", "Z")


def page(backend: Backend, limit: int, page_token: str | None) -> VideoPage:
    videos, next_token = backend.videos.list(limit, page_token)
    return VideoPage(items=[summary(video) for video in videos], next_token=next_token)


# Cancelling ------------------------------------------------------------------------------------


def cancel(backend: Backend, video_id: str) -> VideoRecord:
    """Cancel a queued or running video: CANCELLED first, then stop the workflow and the provider.

    The status is written before anything else, and every paid call is claimed only while the
    video is live (`claims.claim_once`), so from this write on no provider task is created for
    the video. The execution is stopped by the ARN its name gives, recorded or not (a cancel can
    land before StartExecution has answered); whatever the engine makes of the stop, the video
    stays CANCELLED: the transition table refuses the rest. Each scene is ended on its own
    (`workflow.ending.end_scene`): a provider that does not confirm one cancel is kept as that scene's
    note and the others go on. A scene whose clip is being stored is left to finish, so nothing
    already paid for is lost.
    """
    if not backend.videos.set_status(video_id, VideoStatus.CANCELLED, failure=CANCEL_CAUSE):
        current = backend.videos.get(video_id).status
        raise VideoFinishedError(
            f"video {video_id} is {current.value}; only a QUEUED or RUNNING video can be cancelled"
        )
    video = backend.videos.get(video_id)
    try:
        backend.orchestrator.stop(
            video.execution_arn or backend.orchestrator.execution_arn(video_id), CANCEL_CAUSE
        )
    except Exception:  # nothing more is paid for either way: the claims refuse, the polls end
        LOG.exception("stopping the execution failed", extra={"video_id": video_id})
    provider = backend.providers.get_provider(video.provider)
    for scene in video.scenes:
        if scene.status in SCENE_FINAL:
            continue
        # Stopping the film stops its scenes' executions too (a .sync integration's children);
        # each is stopped here as well, so no scene's workflow outlives a cancel however the
        # film's stop went.
        child = backend.orchestrator.scene_execution_arn(scene_execution_name(video_id, scene.number))
        if child is not None:
            try:
                backend.orchestrator.stop(child, CANCEL_CAUSE)
            except Exception:
                LOG.exception("stopping a scene's execution failed", extra={"video_id": video_id})
        end_scene(backend, provider, video_id, scene.number, SceneStatus.CANCELLED, failure=CANCEL_CAUSE)
    return backend.videos.get(video_id)
