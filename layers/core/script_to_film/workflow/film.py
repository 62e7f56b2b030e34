"""The film machine's tasks (`infra/statemachine/film.asl.json`): LoadShots, Preflight,
AssembleFilm and Finalize. The handlers in `functions/` are one line over these; errors are
raised as typed exceptions whose class names the ASL's Retry and Catch match.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from script_to_film.domain.errors import MediaError, NotFoundError, ScriptToFilmError
from script_to_film.domain.keys import film_key, manifest_key
from script_to_film.domain.manifest import build_manifest
from script_to_film.domain.models import LeftOut, SceneStatus, VideoRecord, VideoStatus
from script_to_film.domain.ports import Backend
from script_to_film.domain.preview import first_scene_starts_at, has_cards
from script_to_film.workflow.batch_summary import summarize_batch
from script_to_film.workflow.contract import (
    FAILURE_TEXT_LIMIT,
    AssemblyResult,
    FilmInput,
    SceneItem,
    ScenePlan,
    max_polls,
    scene_execution_name,
)


class FilmTasks:
    """The film execution's tasks, over one backend. Providers are looked up by name."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    # LoadShots ---------------------------------------------------------------------------------

    def load_shots(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        self.backend.videos.set_status(film.video_id, VideoStatus.RUNNING)
        video = self.backend.videos.get(film.video_id)
        # A video cancelled (or failed to start) before its execution began films nothing.
        live = video.status is VideoStatus.RUNNING
        plan = ScenePlan(
            scenes=[
                SceneItem(number=scene.number, execution=scene_execution_name(video.id, scene.number))
                for scene in video.scenes
                if live and scene.status == SceneStatus.PENDING
            ],
            max_polls=max_polls(film.poll_seconds, film.scene_timeout_seconds),
        )
        return plan.model_dump()

    # Preflight ---------------------------------------------------------------------------------

    def preflight(self, event: dict[str, Any]) -> dict[str, Any]:
        """Ask the provider's account, as it is now, what it allows the scenes still to film: at
        most the concurrency the video was submitted with, less if the tier now allows less; a
        film the account can no longer pay for or make today is refused here, before any paid
        call, and ends FAILED with INSUFFICIENT_CREDITS or DAILY_CAP."""
        from script_to_film.domain.account import generations_needed, plan_run, read_limits
        from script_to_film.domain.errors import DailyAllowanceError, InsufficientCreditsError

        film = FilmInput.model_validate(event)
        video = self.backend.videos.get(film.video_id)
        pending = [scene for scene in video.scenes if scene.status is SceneStatus.PENDING]
        answer = {"max_concurrency": film.max_concurrency, "refused": False, "failure": None}
        if video.status is not VideoStatus.RUNNING or not pending:
            return answer
        shots = sum(len(scene.shots) or 1 for scene in pending)
        needed = generations_needed(video.model, shots, keyframe=video.keyframe)
        provider = self.backend.providers.get_provider(video.provider)
        limits = read_limits(provider, list(needed), fallback_concurrency=film.max_concurrency)
        try:
            run = plan_run(
                limits,
                estimate_credits=sum(scene.estimated_credits for scene in pending),
                generations=needed,
                configured_cap=film.max_concurrency,
                map_max=film.max_concurrency,
            )
        except (InsufficientCreditsError, DailyAllowanceError) as refusal:
            code = "INSUFFICIENT_CREDITS" if isinstance(refusal, InsufficientCreditsError) else "DAILY_CAP"
            reason = f"the provider's account refused the film: {refusal}"[:FAILURE_TEXT_LIMIT]
            self.backend.videos.set_status(video.id, VideoStatus.FAILED, failure=reason)
            for scene in pending:
                self.backend.videos.set_scene_status(
                    video.id, scene.number, SceneStatus.FAILED, failure_code=code, failure=reason
                )
            return {**answer, "refused": True, "failure": reason}
        self.backend.videos.update(
            video.id, concurrency=run.concurrency, concurrency_source=run.source, limits_note=run.note
        )
        return {**answer, "max_concurrency": run.concurrency}

    # AssembleFilm and Finalize -----------------------------------------------------------------

    def assemble_film(self, event: dict[str, Any]) -> dict[str, Any]:
        """Stitch the stored clips in scene order. A clip that cannot be read is left out (the
        film goes on without it, and Finalize names it); a stitch that fails answers no film and
        why, so the video ends FAILED with its clips kept."""
        import tempfile

        film = FilmInput.model_validate(event)
        video = self.backend.videos.get(film.video_id)
        stored = [s for s in video.scenes if s.status == SceneStatus.SUCCEEDED and s.clip_key]
        result = AssemblyResult()
        if not stored:
            return result.model_dump(mode="json")
        with tempfile.TemporaryDirectory(prefix="stf-assemble-") as work:
            clips: list[tuple[int, Path]] = []
            scene_seconds = 0.0
            for scene in stored:
                path = Path(work) / f"scene_{scene.number:03d}.mp4"
                try:
                    self.backend.objects.download_file(str(scene.clip_key), path)
                    scene_seconds += self.backend.media.probe(path).duration
                except (NotFoundError, MediaError) as error:
                    result.left_out.append(
                        LeftOut(scene=scene.number, reason=str(error)[:FAILURE_TEXT_LIMIT])
                    )
                    continue
                clips.append((scene.number, path))
            if not clips:
                result.failure = "no stored clip could be read"
                return result.model_dump(mode="json")
            out = Path(work) / "film.mp4"
            paths = [path for _, path in clips]
            cards = self._cards(video, Path(work), scene_seconds) if has_cards(video.provider) else None
            try:
                stitched = self.backend.media.stitch([cards[0], *paths, cards[1]] if cards else paths, out)
            except MediaError as error:
                result.failure = f"the clips could not be stitched into a film: {error}"[:FAILURE_TEXT_LIMIT]
                return result.model_dump(mode="json")
            self.backend.objects.upload_file(film_key(video.id), out)
        first = 1 if cards else 0
        result.film_key = film_key(video.id)
        result.clips = len(clips)
        result.reencoded = [clips[i - first][0] for i in stitched.reencoded if 0 <= i - first < len(clips)]
        return result.model_dump(mode="json")

    def _cards(self, video: VideoRecord, work: Path, scene_seconds: float) -> tuple[Path, Path] | None:
        """The preview's title card (from the screenplay's title page) and end card, in the
        animatic's own encoding so the film is still joined by stream copy. A film whose cards
        cannot be made goes on without them: they are a courtesy, not a scene."""
        from script_to_film.domain.screenplay import parse

        try:
            page = parse(self.backend.scripts.get_text(video.script_id)).title_page
        except ScriptToFilmError:
            page = {}
        if video.title and not page.get("title"):
            page["title"] = video.title
        media = self.backend.media
        try:
            return (
                media.render_title_card(page, video.ratio, work / "title.mp4", style=video.style),
                media.render_end_card(
                    video.title,
                    video.ratio,
                    work / "end.mp4",
                    style=video.style,
                    start_seconds=first_scene_starts_at(video.provider) + scene_seconds,
                ),
            )
        except MediaError:
            return None

    def finalize(self, event: dict[str, Any]) -> dict[str, Any]:
        film = FilmInput.model_validate(event)
        assembled = AssemblyResult.from_state(event.get("film"))
        video = self.backend.videos.get(film.video_id)
        succeeded = sum(1 for s in video.scenes if s.status == SceneStatus.SUCCEEDED)
        in_film = succeeded - len({left.scene for left in assembled.left_out})
        has_film = bool(assembled.film_key) and in_film > 0
        if has_film and in_film == len(video.scenes):
            status = VideoStatus.SUCCEEDED
        elif has_film:
            status = VideoStatus.PARTIAL
        else:
            status = VideoStatus.FAILED
        credits = sum(s.credits or 0 for s in video.scenes)
        fields: dict[str, Any] = {
            "credits": credits,
            "manifest_key": manifest_key(video.id),
            "left_out": [left.model_dump() for left in assembled.left_out],
        }
        if has_film:
            fields["film_key"] = assembled.film_key
        elif assembled.failure:
            fields["failure"] = assembled.failure
        elif not succeeded:
            fields["failure"] = "no scene produced a clip; each scene says why"
        if not self.backend.videos.set_status(video.id, status, **fields):
            # Ended meanwhile (cancelled, refused by the account): keep its status and reason.
            self.backend.videos.update(
                video.id, credits=credits, manifest_key=manifest_key(video.id), left_out=fields["left_out"]
            )
        never_filmed = fields.get("failure") or "the scene was never filmed"
        for scene in video.scenes:
            if scene.status is SceneStatus.PENDING:
                # Its execution never started (the workflow ended first): nothing of it was paid.
                not_filmed = {"failure_code": "NOT_FILMED", "failure": never_filmed}
                self.backend.videos.set_scene_status(video.id, scene.number, SceneStatus.FAILED, **not_filmed)
        final = self.backend.videos.get(video.id)
        self.backend.objects.put_json(
            manifest_key(video.id), build_manifest(final, execution=event.get("execution"))
        )
        if final.batch_id:
            # The batch's last video to end writes its summary; nothing waits for the batch.
            summarize_batch(self.backend, final.batch_id)
        return {"video_id": video.id, "status": final.status.value, "succeeded": succeeded}
