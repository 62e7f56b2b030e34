"""A provider that films like the animatic but can be told to fail, hang or crash after storing.

It wraps the real offline provider, so the clips it delivers are real MP4s, and it keeps the
provider-side truth the tests assert on: which tasks were submitted, and which were cancelled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO

from script_to_film.models import SceneJob
from script_to_film.providers.animatic import AnimaticProvider
from script_to_film.providers.base import ProviderTask, TaskState


class ScriptedProvider:
    name = "animatic"

    def __init__(
        self,
        *,
        fail: dict[int, str] | None = None,
        hang: set[int] | None = None,
        crash_after_upload_once: set[int] | None = None,
    ) -> None:
        self._real = AnimaticProvider()
        self._fail = fail or {}
        self._hang = hang or set()
        self._crash_after_upload_once = set(crash_after_upload_once or ())
        self._lock = threading.Lock()
        self.scene_of: dict[str, int] = {}
        self.submitted: list[int] = []
        self.cancelled: set[str] = set()
        self.crashed: list[int] = []

    def submit(self, job: SceneJob) -> str:
        task_id = self._real.submit(job)
        with self._lock:
            self.scene_of[task_id] = job.scene.number
            self.submitted.append(job.scene.number)
        return task_id

    def status(self, task_id: str) -> ProviderTask:
        scene = self.scene_of[task_id]
        if task_id in self.cancelled:
            return ProviderTask(id=task_id, state=TaskState.CANCELLED)
        if scene in self._fail:
            return ProviderTask(
                id=task_id,
                state=TaskState.FAILED,
                failure_code=self._fail[scene],
                failure="the provider said no",
            )
        if scene in self._hang:
            return ProviderTask(id=task_id, state=TaskState.RUNNING, progress=0.3)
        return self._real.status(task_id)

    def cancel(self, task_id: str) -> None:
        with self._lock:
            self.cancelled.add(task_id)

    @contextmanager
    def open_output(self, task: ProviderTask, job: SceneJob) -> Iterator[BinaryIO]:
        number = job.scene.number
        with self._lock:
            crashes = number in self._crash_after_upload_once
            self._crash_after_upload_once.discard(number)
        with self._real.open_output(task, job) as stream:
            yield stream
        if crashes:
            # The clip is in S3 by now; the Lambda dies before the scene is marked SUCCEEDED.
            with self._lock:
                self.crashed.append(number)
            raise ConnectionResetError("connection lost after the clip was uploaded")
