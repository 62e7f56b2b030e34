"""Scripts as the REST API serves them: uploaded, requested from the writer, read with their breakdown.

An uploaded screenplay is broken down before it is stored, so a script that exists always parses;
a requested one is stored WRITING and handed to the writer Lambda asynchronously (it may take
Claude minutes; API Gateway waits 29 s), which moves it to READY or FAILED
(`script_to_film.services.scripts`). Either way the breakdown of a READY script is computed once, when it
is stored, priced on every model of the catalog, and kept beside the text
(`breakdown.StoredBreakdown`): reading a script reads it, whatever its size and whichever model
prices it. A script stored without one (before breakdowns were kept, or by `stf run` and the S3
batch) gets it at its first read.

Answers stay under `limits.MAX_RESPONSE_BYTES`: the scenes come a page at a time
(`paging.page`), the text inline only while it is small.
"""

from __future__ import annotations

from typing import TypeVar

from script_to_film.domain import breakdown, catalog
from script_to_film.domain.breakdown import StoredBreakdown
from script_to_film.domain.catalog import DEFAULT_MODEL
from script_to_film.domain.errors import NotFoundError
from script_to_film.domain.limits import MAX_SCRIPT_SCENES
from script_to_film.domain.models import ScriptRecord, ScriptStatus, now_iso
from script_to_film.domain.ports import Backend
from script_to_film.services import paging
from script_to_film.services.api_models import (
    CONTENT_INLINE_BYTES,
    SCENE_PAGE_BYTES,
    SCENE_PAGE_DEFAULT,
    ScenePage,
    SceneView,
    ScriptCreate,
    ScriptDetail,
    ScriptGenerate,
    ScriptPage,
    ScriptSummary,
)
from script_to_film.services.scripts import WriteScriptEvent
from script_to_film.services.submission import new_id

WRITER_UNAVAILABLE = "the screenplay writer could not be started; ask again later"


def summary(script: ScriptRecord) -> ScriptSummary:
    return ScriptSummary.model_validate(script.model_dump())


def create(backend: Backend, request: ScriptCreate) -> ScriptDetail:
    """Break the screenplay down (refusing what cannot be filmed), then store it READY, with its
    breakdown."""
    plan = breakdown.plan(request.content, max_scenes=MAX_SCRIPT_SCENES)
    stored = StoredBreakdown.of(plan)
    script = ScriptRecord(
        id=new_id("script"),
        title=request.title or plan.screenplay.title,
        status=ScriptStatus.READY,
        scene_count=len(plan.screenplay.scenes),
        created_at=now_iso(),
    )
    backend.scripts.put(script, request.content, stored.model_dump(mode="json"))
    return _detail(script, stored, DEFAULT_MODEL)


def request_written(backend: Backend, request: ScriptGenerate) -> ScriptDetail:
    """Store the script WRITING and start the writer; answer at once."""
    script = ScriptRecord(id=new_id("script"), status=ScriptStatus.WRITING, created_at=now_iso())
    backend.scripts.put_item(script)
    event = WriteScriptEvent(
        script_id=script.id,
        prompt=request.prompt,
        genre=request.genre,
        duration_seconds=request.duration_preference,
        tone=request.tone,
    )
    try:
        backend.orchestrator.invoke_writer(event.model_dump())
    except Exception:
        # Nothing will ever write it: say so on the script rather than leave it WRITING for good.
        backend.scripts.finish(script.id, ScriptStatus.FAILED, failure=WRITER_UNAVAILABLE)
        raise
    return ScriptDetail.model_validate(script.model_dump())


def detail(backend: Backend, script_id: str, *, model: str = DEFAULT_MODEL) -> ScriptDetail:
    """The script; once READY, with its first page of scenes, its estimate on `model`, and its text
    when that is small enough to come inline."""
    script = backend.scripts.get(script_id)
    if script.status is not ScriptStatus.READY:
        return ScriptDetail.model_validate(script.model_dump())
    chosen = catalog.get_model(model).id
    stored = _stored(backend, script_id)
    if chosen not in stored.estimates:
        # A model added to the catalog since the script was stored: price it once, keep it.
        stored = _restore(backend, script_id)
    view = _detail(script, stored, chosen)
    text = backend.scripts.get_text(script_id)
    view.content = text if paging.json_size(text) <= CONTENT_INLINE_BYTES else None
    return view


def scenes(backend: Backend, script_id: str, limit: int, page_token: str | None) -> ScenePage:
    """A page of a READY script's scenes, from the one `page_token` names (the first without)."""
    script = backend.scripts.get(script_id)
    if script.status is not ScriptStatus.READY:
        raise NotFoundError(f"script {script_id} is {script.status.value}: it has no scenes")
    stored = _stored(backend, script_id)
    views = _views(stored, DEFAULT_MODEL)
    start = paging.start_of(page_token, script_id, len(views)) if page_token else 0
    items, following = paging.page(views, start, limit, SCENE_PAGE_BYTES, _fitted)
    next_token = None if following is None else paging.token(script_id, following)
    return ScenePage(items=items, next_token=next_token)


def content(backend: Backend, script_id: str) -> str:
    """A READY script's Fountain text, as it was stored."""
    script = backend.scripts.get(script_id)
    if script.status is not ScriptStatus.READY:
        raise NotFoundError(f"script {script_id} is {script.status.value}: it has no text")
    return backend.scripts.get_text(script_id)


def page(backend: Backend, limit: int, page_token: str | None) -> ScriptPage:
    scripts, next_token = backend.scripts.list(limit, page_token)
    return ScriptPage(items=[summary(script) for script in scripts], next_token=next_token)


# The stored breakdown ---------------------------------------------------------------------------


def _stored(backend: Backend, script_id: str) -> StoredBreakdown:
    document = backend.scripts.get_breakdown(script_id)
    if document is None:
        return _restore(backend, script_id)
    return StoredBreakdown.model_validate_json(document)


def _restore(backend: Backend, script_id: str) -> StoredBreakdown:
    """Break the stored text down again and keep the result: once per script, not per read."""
    stored = StoredBreakdown.of(breakdown.plan(backend.scripts.get_text(script_id)))
    backend.scripts.put_breakdown(script_id, stored.model_dump(mode="json"))
    return stored


def _views(stored: StoredBreakdown, model: str) -> list[SceneView]:
    """The scenes, each with what it costs on `model`."""
    costs = {line.number: line for line in stored.scene_costs.get(model, [])}
    return [
        SceneView.model_validate({**scene.model_dump(), "cost": costs.get(scene.number)})
        for scene in stored.breakdown.scenes
    ]


def _detail(script: ScriptRecord, stored: StoredBreakdown, model: str) -> ScriptDetail:
    view = ScriptDetail.model_validate(script.model_dump())
    views = _views(stored, model)
    view.scenes, following = paging.page(views, 0, SCENE_PAGE_DEFAULT, SCENE_PAGE_BYTES, _fitted)
    view.scenes_next_token = None if following is None else paging.token(script.id, following)
    view.total_seconds = stored.breakdown.total_seconds
    view.estimate = stored.estimates[model]
    return view


Kept = TypeVar("Kept")
_CUT = "…"
_WORST_BYTES_PER_CHARACTER = 12
"""A character outside the Basic Multilingual Plane is two `\\uXXXX` escapes in the API's JSON."""


def _fitted(scene: SceneView, budget: int) -> SceneView:
    """A scene too large for a page alone, cut to fit: its action to a quarter of the budget, and
    as many characters and dialogue lines, in order, as a quarter each holds."""
    quarter = budget // 4
    action_chars = quarter // _WORST_BYTES_PER_CHARACTER
    action = scene.action if len(scene.action) <= action_chars else scene.action[: action_chars - 1] + _CUT
    return scene.model_copy(
        update={
            "action": action,
            "characters": _within(scene.characters, quarter),
            "dialogue": _within(scene.dialogue, quarter),
            "truncated": True,
        }
    )


def _within(items: list[Kept], budget: int) -> list[Kept]:
    kept: list[Kept] = []
    used = 0
    for item in items:
        used += paging.json_size(item) + 1
        if used > budget:
            break
        kept.append(item)
    return kept
