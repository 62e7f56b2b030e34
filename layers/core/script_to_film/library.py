"""Scripts as the REST API serves them: uploaded, requested from the writer, read with their breakdown.

An uploaded screenplay is broken down before it is stored, so a script that exists always parses;
a requested one is stored WRITING and handed to the writer Lambda asynchronously (it may take
Claude minutes; API Gateway waits 29 s), which moves it to READY or FAILED
(`script_to_film.scripts`). A READY script's breakdown is computed when it is read: the text is
the one truth, and a breakdown takes milliseconds.
"""

from __future__ import annotations

from script_to_film import breakdown
from script_to_film.api_models import ScriptCreate, ScriptDetail, ScriptGenerate, ScriptPage, ScriptSummary
from script_to_film.catalog import DEFAULT_MODEL
from script_to_film.models import ScriptRecord, ScriptStatus
from script_to_film.scripts import WriteScriptEvent
from script_to_film.store import FilmStore, now_iso
from script_to_film.submission import new_id

WRITER_UNAVAILABLE = "the screenplay writer could not be started; ask again later"


def summary(script: ScriptRecord) -> ScriptSummary:
    return ScriptSummary.model_validate(script.model_dump())


def _detail(
    script: ScriptRecord, plan: breakdown.Plan | None = None, content: str | None = None
) -> ScriptDetail:
    view = ScriptDetail.model_validate(script.model_dump())
    if plan is not None:
        contract = plan.to_breakdown()
        view.scenes = contract.scenes
        view.total_seconds = contract.total_seconds
        view.estimate = contract.estimate
    view.content = content
    return view


def create(store: FilmStore, request: ScriptCreate) -> ScriptDetail:
    """Break the screenplay down (refusing what cannot be filmed), then store it READY."""
    plan = breakdown.plan(request.content)
    script = ScriptRecord(
        id=new_id("script"),
        title=request.title or plan.screenplay.title,
        status=ScriptStatus.READY,
        scene_count=len(plan.screenplay.scenes),
        created_at=now_iso(),
    )
    store.put_script(script, request.content)
    return _detail(script, plan)


def request_written(store: FilmStore, request: ScriptGenerate) -> ScriptDetail:
    """Store the script WRITING and start the writer; answer at once."""
    script = ScriptRecord(id=new_id("script"), status=ScriptStatus.WRITING, created_at=now_iso())
    store.put_script_item(script)
    event = WriteScriptEvent(
        script_id=script.id,
        prompt=request.prompt,
        genre=request.genre,
        duration_seconds=request.duration_preference,
        tone=request.tone,
    )
    try:
        store.invoke_writer(event.model_dump())
    except Exception:
        # Nothing will ever write it: say so on the script rather than leave it WRITING for good.
        store.finish_script(script.id, ScriptStatus.FAILED, failure=WRITER_UNAVAILABLE)
        raise
    return _detail(script)


def detail(store: FilmStore, script_id: str, *, model: str = DEFAULT_MODEL) -> ScriptDetail:
    """The script; once READY, with its text and its breakdown priced on `model`."""
    script = store.get_script(script_id)
    if script.status is not ScriptStatus.READY:
        return _detail(script)
    text = store.get_script_text(script_id)
    return _detail(script, breakdown.plan(text, model=model), content=text)


def page(store: FilmStore, limit: int, page_token: str | None) -> ScriptPage:
    scripts, next_token = store.list_scripts(limit, page_token)
    return ScriptPage(items=[summary(script) for script in scripts], next_token=next_token)
