"""Readable terminal output for the CLI: every table and progress display `stf` draws (rich).
The JSON contracts live in `breakdown`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from script_to_film.domain.breakdown import Plan
from script_to_film.domain.models import SceneStatus, VideoRecord
from script_to_film.domain.status import SCENE_FINAL

if TYPE_CHECKING:
    from script_to_film.workflow.batch_summary import BatchSummary


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m {secs:02d}s" if minutes else f"{secs}s"


def _usd(amount: float) -> str:
    return f"${amount:,.2f}"


def breakdown_table(plan: Plan, console: Console | None = None, *, prompts: bool = False) -> None:
    console = console or Console()
    title = plan.screenplay.title or "Untitled screenplay"
    by_scene = plan.by_scene()
    table = Table(title=f"{title}: {len(by_scene)} scenes, {len(plan.shots)} shots", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("Scene", min_width=24, ratio=3)
    table.add_column("Characters", ratio=2)
    table.add_column("Script", justify="right", no_wrap=True)
    table.add_column("Master shot", ratio=2)
    table.add_column("Shots", justify="right", no_wrap=True)
    table.add_column("Film", justify="right", no_wrap=True)
    for scene in plan.screenplay.scenes:
        shots = by_scene.get(scene.number)
        if not shots:
            continue
        number = f"{scene.number}" + (f" ({scene.scene_number})" if scene.scene_number else "")
        table.add_row(
            number,
            scene.heading,
            ", ".join(scene.characters) or "-",
            _duration(scene.estimated_seconds),
            shots[0].camera,
            str(len(shots)),
            _duration(sum(shot.duration for shot in shots)),
        )
    console.print(table)
    if prompts:
        for shot in plan.shots:
            console.print(
                f"[bold]{shot.scene}.{shot.number}[/bold] ({shot.kind.value.replace('_', ' ')}, "
                f"{shot.duration}s) {shot.prompt}\n"
            )
    estimate = plan.estimate
    console.print(
        f"Script runs about {_duration(plan.screenplay.total_seconds)}; "
        f"the film is {_duration(estimate.seconds)} in {estimate.shots} shots "
        f"of {estimate.model} clips ({estimate.provider}): "
        f"{estimate.credits:g} credits, about {_usd(estimate.usd)}."
    )


def estimate_table(plan: Plan, console: Console | None = None) -> None:
    """Shots, seconds and cost per scene and in total, before anything is paid for."""
    console = console or Console()
    estimate = plan.estimate
    headings = {scene.number: scene.heading for scene in plan.screenplay.scenes}
    table = Table(title=f"Estimate for {estimate.model} ({estimate.provider})")
    table.add_column("#", justify="right")
    table.add_column("Scene")
    table.add_column("Shots", justify="right")
    table.add_column("Film", justify="right")
    table.add_column("Credits", justify="right")
    table.add_column("USD", justify="right")
    for line in estimate.scenes:
        table.add_row(
            str(line.number),
            headings[line.number],
            str(len(line.shots)),
            f"{line.duration}s",
            f"{line.credits:g}",
            _usd(line.usd),
        )
    table.add_section()
    table.add_row(
        "",
        "Total",
        str(estimate.shots),
        f"{estimate.seconds}s",
        f"{estimate.credits:g}",
        _usd(estimate.usd),
        style="bold",
    )
    console.print(table)


_SCENE_PROGRESS = {
    SceneStatus.PENDING: 0.0,
    SceneStatus.SUBMITTED: 0.05,
    SceneStatus.THROTTLED: 0.05,
    SceneStatus.RUNNING: 0.1,
    SceneStatus.STORING: 0.9,
}
_STATUS_STYLE = {
    SceneStatus.SUCCEEDED: "green",
    SceneStatus.FAILED: "red",
    SceneStatus.CANCELLED: "yellow",
    SceneStatus.THROTTLED: "yellow",
}


class RunProgress:
    """Per-scene progress of a running video on stderr, updated from the video's scene records.

    On a terminal, a bar per scene; elsewhere (a pipe, a log file) a line each time a scene's
    status changes, `  3 EXT. PIER - DAY: SUCCEEDED`, so that progress can be followed there too.
    """

    def __init__(self, video: VideoRecord, console: Console | None = None) -> None:
        self._console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._tasks: dict[int, TaskID] = {}
        self._video = video
        self._lines = not self._console.is_terminal
        self._reported: dict[int, str] = {}

    def __enter__(self) -> RunProgress:
        if self._lines:
            self.update(self._video)
            return self
        self._progress.start()
        for scene in self._video.scenes:
            self._tasks[scene.number] = self._progress.add_task(
                _scene_label(scene.number, scene.heading), total=1.0, status=scene.status.value
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        if not self._lines:
            self._progress.stop()

    def update(self, video: VideoRecord) -> None:
        for scene in video.scenes:
            label = scene.status.value + (f" {scene.failure_code}" if scene.failure_code else "")
            if len(scene.shots) > 1 and scene.status not in SCENE_FINAL:
                label += f" (shot {scene.shot} of {len(scene.shots)})"
            elif len(scene.shots) > 1 and scene.status is SceneStatus.FAILED:
                label += f" (at shot {scene.shot} of {len(scene.shots)})"
            if self._lines:
                if self._reported.get(scene.number) != label:
                    self._reported[scene.number] = label
                    self._console.print(
                        f"{_scene_label(scene.number, scene.heading).rstrip()}: {label}",
                        highlight=False,
                        soft_wrap=True,
                    )
                continue
            task = self._tasks.get(scene.number)
            if task is None:
                continue
            if scene.status in (SceneStatus.SUCCEEDED, SceneStatus.FAILED, SceneStatus.CANCELLED):
                completed = 1.0
            else:
                base = _SCENE_PROGRESS.get(scene.status, 0.0)
                completed = max(base, 0.1 + 0.8 * scene.progress) if scene.progress is not None else base
            style = _STATUS_STYLE.get(scene.status)
            self._progress.update(
                task, completed=completed, status=f"[{style}]{label}[/]" if style else label
            )


def _scene_label(number: int, heading: str) -> str:
    short = heading if len(heading) <= 44 else heading[:43] + "…"
    return f"{number:>3} {short:<44}"


def run_summary(video: VideoRecord, folder: Path, console: Console | None = None) -> None:
    console = console or Console()
    succeeded = sum(1 for scene in video.scenes if scene.status == SceneStatus.SUCCEEDED)
    console.print(
        f"Video {video.id}: [bold]{video.status.value}[/bold], {succeeded} of {len(video.scenes)} scenes."
    )
    for scene in video.scenes:
        if scene.status != SceneStatus.SUCCEEDED:
            console.print(
                f"  scene {scene.number}: {scene.status.value} "
                f"{scene.failure_code or ''} {scene.failure or ''}"
            )
    film = folder / "film.mp4"
    if video.film_key:
        console.print(f"Film: {film}")
    console.print(f"Clips and manifest: {folder}")


def interrupted_summary(video: VideoRecord, folder: Path, console: Console | None = None) -> None:
    """What a run stopped with Ctrl-C kept, on stderr."""
    console = console or Console(stderr=True)
    kept = sum(1 for scene in video.scenes if scene.clip_key)
    console.print(
        f"interrupted: video {video.id} is {video.status.value}; kept {kept} of {len(video.scenes)} "
        f"clips and the manifest in {folder}",
        highlight=False,
        soft_wrap=True,
    )


class BatchProgress:
    """One line per video on stderr: its scenes done, its status, the time it has taken."""

    def __init__(
        self, videos: Sequence[VideoRecord], names: Mapping[str, str], console: Console | None = None
    ) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console or Console(stderr=True),
        )
        self._videos = videos
        self._names = names
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> BatchProgress:
        self._progress.start()
        for video in self._videos:
            # The video ids are in the table at the end; a line here fits 80 columns.
            name = self._names.get(video.id, video.id)
            label = name if len(name) <= 24 else name[:23] + "…"
            self._tasks[video.id] = self._progress.add_task(
                f"{label:<24}", total=max(1, len(video.scenes)), status=video.status.value
            )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._progress.stop()

    def update(self, video: VideoRecord) -> None:
        task = self._tasks.get(video.id)
        if task is None:
            return
        ended = sum(1 for scene in video.scenes if scene.status in SCENE_FINAL)
        succeeded = sum(1 for scene in video.scenes if scene.status == SceneStatus.SUCCEEDED)
        self._progress.update(
            task, completed=ended, status=f"{video.status.value} {succeeded}/{len(video.scenes)} scenes"
        )


def batch_table(
    summaries: Sequence[BatchSummary], folders: Mapping[str, Path], console: Console | None = None
) -> None:
    """A table per batch, then each film's path (or why there is none) on a line of its own, unwrapped,
    so that it can be copied."""
    console = console or Console()
    for summary in summaries:
        table = Table(title=f"Batch {summary.name} ({summary.batch_id}): {summary.status}")
        table.add_column("#", justify="right")
        table.add_column("Screenplay")
        table.add_column("Video", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        table.add_column("Cost", justify="right", no_wrap=True)
        for item in summary.items:
            table.add_row(
                str(item.number), item.name, item.video_id or "-", item.status, f"${item.cost.usd:,.2f}"
            )
        console.print(table)
        for item in summary.items:
            folder = folders.get(item.video_id or "")
            outcome = (
                str(folder / "film.mp4") if folder and item.film_key else f"no film: {item.error or '-'}"
            )
            console.print(f"  {item.number} {item.name}: {outcome}", soft_wrap=True, highlight=False)
