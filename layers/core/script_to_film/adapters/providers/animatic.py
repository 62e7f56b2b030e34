"""The free, offline provider: a storyboard clip per shot, rendered with ffmpeg.

It keeps no state between calls, so submit, polls and the download may each run in a different
process (Lambda instances share no disk and no memory): the task id carries the submit time, and
the clip is rendered only when `open_output` is called, in whichever process stores it.
"""

from __future__ import annotations

import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from script_to_film.adapters import media
from script_to_film.domain.errors import MediaError, PermanentProviderError, TransientProviderError
from script_to_film.domain.models import SceneJob
from script_to_film.domain.ports import AccountLimits, ProviderTask, TaskState

_TASK_ID = re.compile(r"animatic-(\d{1,15})-([0-9a-f]{32})")

DEFAULT_CONCURRENCY = 4
"""Clips rendered at once unless `STF_ANIMATIC_CONCURRENCY` says otherwise: ffmpeg is bound by
the CPU, not by an account."""


class AnimaticProvider:
    """Renders `media.render_animatic` clips; costs nothing and needs no network or account.

    `latency_seconds` simulates a generation time: a task is RUNNING (with progress) until that
    long after its submit, then SUCCEEDED. The default, 0, succeeds at once. `concurrency` is how
    many it renders at once.
    """

    name = "animatic"

    def __init__(
        self,
        latency_seconds: float = 0.0,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if latency_seconds < 0:
            raise ValueError(f"latency_seconds must be 0 or more, got {latency_seconds}")
        if concurrency < 1:
            raise ValueError(f"concurrency must be 1 or more, got {concurrency}")
        self.latency_seconds = latency_seconds
        self.concurrency = concurrency
        self._clock = clock

    def account(self, model: str) -> AccountLimits:
        """Free and unlimited: no balance, no daily allowance, only the configured concurrency."""
        return AccountLimits(
            provider=self.name,
            model=model,
            max_concurrent=self.concurrency,
            daily_limit=None,
            daily_used=None,
            credit_balance=None,
            source="configured",
        )

    def submit(self, job: SceneJob) -> str:
        """Check that the shot can be rendered and return a task id; nothing is rendered yet."""
        try:
            media.frame_size(job.shot.ratio)
        except MediaError as exc:
            raise PermanentProviderError(str(exc), code="INPUT.RATIO") from exc
        if job.shot.duration <= 0:
            raise PermanentProviderError(
                f"shot duration must be positive, got {job.shot.duration}", code="INPUT.DURATION"
            )
        return f"animatic-{int(self._clock() * 1000)}-{uuid.uuid4().hex}"

    def status(self, task_id: str) -> ProviderTask:
        elapsed = self._clock() - self._submitted_at(task_id)
        if self.latency_seconds and elapsed < self.latency_seconds:
            progress = round(max(0.0, elapsed) / self.latency_seconds, 3)
            return ProviderTask(id=task_id, state=TaskState.RUNNING, progress=progress, credits=0)
        return ProviderTask(id=task_id, state=TaskState.SUCCEEDED, progress=1.0, credits=0)

    def cancel(self, task_id: str) -> None:
        """Nothing to stop: no work runs before `open_output`, so a cancelled task costs nothing."""

    @contextmanager
    def open_output(self, task: ProviderTask, job: SceneJob) -> Iterator[BinaryIO]:
        """Render the clip into a temporary directory and yield it open; the directory goes after."""
        self._submitted_at(task.id)
        if task.state is not TaskState.SUCCEEDED:
            raise PermanentProviderError(f"task {task.id} is {task.state.value}, not SUCCEEDED")
        with tempfile.TemporaryDirectory(prefix="stf-animatic-") as work:
            clip = Path(work) / f"scene_{job.scene.number:03d}.mp4"
            try:
                media.render_animatic(
                    job.scene, job.shot, clip, start_seconds=job.start_seconds, fade_in=job.fade_in
                )
            except MediaError as exc:
                # The job was checked at submit, so a failure here is the machine's (disk, time).
                raise TransientProviderError(str(exc), code="RENDER") from exc
            with clip.open("rb") as stream:
                yield stream

    @staticmethod
    def _submitted_at(task_id: str) -> float:
        match = _TASK_ID.fullmatch(task_id)
        if match is None:
            raise PermanentProviderError(f"{task_id!r} is not an animatic task id", code="UNKNOWN_TASK")
        return int(match[1]) / 1000
