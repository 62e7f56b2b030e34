"""A provider that films like the animatic but can be told to fail, hang, charge, deliver a bad
clip, refuse to cancel, or hold a submit until the test lets it go.

It wraps the real offline provider, so the clips it delivers are real MP4s (unless told to spoil
them), and it keeps the provider-side truth the tests assert on: which tasks were created, which
were cancelled, and which cancels were asked for.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

from script_to_film.adapters.providers.animatic import AnimaticProvider
from script_to_film.domain.errors import NoOutputError, TransientProviderError
from script_to_film.domain.models import SceneJob
from script_to_film.domain.ports import ProviderTask, TaskState

GATE_SECONDS = 60
"""How long a held submit waits for its release before the test is certainly broken."""


class Gate:
    """An injected pause: the code under test says it `entered`, then waits for `release`."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def pass_through(self) -> None:
        self.entered.set()
        if not self.release.wait(GATE_SECONDS):
            raise TimeoutError("the test never released the gate")


Target = int | tuple[int, int]
"""What a fault is aimed at: every shot of a scene (its number), or one shot (scene, shot)."""


class ScriptedProvider:
    name = "animatic"

    def __init__(
        self,
        *,
        fail: dict[Target, str] | None = None,
        hang: set[Target] | None = None,
        credits: dict[int, float] | None = None,
        spoil: dict[int, Callable[[bytes], bytes]] | None = None,
        no_output: set[int] | None = None,
        cancel_fails: set[int] | None = None,
        hold_submit: dict[int, Gate] | None = None,
        hold_output_once: dict[int, Gate] | None = None,
        running_polls: dict[int, int] | None = None,
    ) -> None:
        self._real = AnimaticProvider()
        self._fail = fail or {}
        self._hang = hang or set()
        self._credits = credits or {}
        self._spoil = spoil or {}
        self._no_output = no_output or set()
        self._cancel_fails = cancel_fails or set()
        self._hold_submit = hold_submit or {}
        self._hold_output_once = dict(hold_output_once or {})
        self._running_polls = dict(running_polls or {})
        self._polls: dict[str, int] = {}
        self._lock = threading.Lock()
        self.scene_of: dict[str, int] = {}
        self.shot_of: dict[str, tuple[int, int]] = {}
        """(scene, shot) of each task created."""
        self.submitted: list[int] = []
        self.cancelled: set[str] = set()
        self.cancel_requests: list[str] = []
        self.any_cancel = threading.Event()

    def submit(self, job: SceneJob) -> str:
        gate = self._hold_submit.get(job.scene.number)
        if gate is not None:
            gate.pass_through()
        task_id = self._real.submit(job)
        with self._lock:
            self.scene_of[task_id] = job.scene.number
            self.shot_of[task_id] = (job.scene.number, job.shot.number)
            self.submitted.append(job.scene.number)
        return task_id

    def status(self, task_id: str) -> ProviderTask:
        scene = self.scene_of[task_id]
        shot = self.shot_of[task_id]
        charged = self._credits.get(scene)
        if task_id in self.cancelled:
            return ProviderTask(id=task_id, state=TaskState.CANCELLED)
        failure = self._fail.get(shot, self._fail.get(scene))
        if failure is not None:
            return ProviderTask(
                id=task_id,
                state=TaskState.FAILED,
                failure_code=failure,
                failure="the provider said no",
                credits=charged,
            )
        with self._lock:
            self._polls[task_id] = seen = self._polls.get(task_id, 0) + 1
        hangs = scene in self._hang or shot in self._hang
        if hangs or seen <= self._running_polls.get(scene, 0):
            return ProviderTask(id=task_id, state=TaskState.RUNNING, progress=0.3, credits=charged)
        done = self._real.status(task_id)
        return done if charged is None else done.model_copy(update={"credits": charged})

    def cancel(self, task_id: str) -> None:
        with self._lock:
            self.cancel_requests.append(task_id)
        self.any_cancel.set()
        if self.scene_of.get(task_id) in self._cancel_fails:
            raise TransientProviderError("the provider did not answer the cancel", code="HTTP_503")
        with self._lock:
            self.cancelled.add(task_id)

    @contextmanager
    def open_output(self, task: ProviderTask, job: SceneJob) -> Iterator[BinaryIO]:
        number = job.scene.number
        with self._lock:
            gate = self._hold_output_once.pop(number, None)
        if gate is not None:
            gate.pass_through()
        if number in self._no_output:
            raise NoOutputError(f"task {task.id} SUCCEEDED without an output", code="NO_OUTPUT")
        spoil = self._spoil.get(number)
        with self._real.open_output(task, job) as stream:
            if spoil is None:
                yield stream
                return
            clip = stream.read()
        yield io.BytesIO(spoil(clip))
