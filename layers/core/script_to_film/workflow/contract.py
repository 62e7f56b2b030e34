"""The workflow's contract with its state machines (`infra/statemachine/film.asl.json`,
`scene.asl.json`): the states' inputs and outputs, the bounds of the poll loop, the names of
executions, and the failure codes of the errors a Catch delivers. The ASL chooses on these
fields and the services start executions with `FilmInput`.

Each scene task takes the scene execution's state (`SceneState`: ids and counters only, far
below the 256 KiB payload limit) and returns it updated; `IsSceneDone` chooses on
`task.outcome`.
"""

from __future__ import annotations

import math
import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from script_to_film.domain.models import LeftOut

MAX_SUBMITS_PER_SCENE = 3
"""A scene is submitted at most this many times: the first try and two resubmits after a
transient provider failure (INTERNAL.*). SAFETY.* and other permanent failures are never
resubmitted."""


FAILURE_TEXT_LIMIT = 500


class Outcome(StrEnum):
    """What `IsSceneDone` does next."""

    WAIT = "WAIT"
    STORE = "STORE"
    RESUBMIT = "RESUBMIT"
    FAILED = "FAILED"
    TIMEOUT = "TIMEOUT"
    CANCELLED = "CANCELLED"
    STORED = "STORED"
    NEXT_SHOT = "NEXT_SHOT"
    """A shot is stored and the scene has more: `IsClipStored` submits the next."""


class SceneProgress(BaseModel):
    task_id: str | None = None
    attempt: int = 0
    polls: int = 0
    outcome: Outcome = Outcome.WAIT
    failure_code: str | None = None
    failure: str | None = None
    charged_credits: float = 0
    """What the provider charged for this scene's earlier, failed tries: a moderated generation
    still costs credits, and the video's cost counts it."""
    running_credits: float = 0
    """The provider's estimate for the task while it was last seen running: what cancelling it
    may still be billed (a deleted task can never be read back for its cost)."""


class StepError(BaseModel):
    """What a Catch with `ResultPath: $.error` puts in the state."""

    Error: str
    Cause: str | None = None


class SceneState(BaseModel):
    """One scene execution's state, passed from task to task. The scene's shots are generated
    one after another; `task` is the current shot's."""

    video_id: str
    scene: int = Field(ge=1)
    provider: str
    poll_seconds: int = Field(ge=1)
    max_polls: int = Field(ge=1)
    """Polls one shot may take: the scene timeout applies to each shot."""
    shot: int = Field(default=1, ge=1)
    shots: int = Field(default=1, ge=1)
    """How many shots the scene has (read from its job by the first SubmitScene)."""
    polls: int = 0
    """Polls of every shot so far: they share the scene's history (`poll_budget`)."""
    poll_budget: int | None = None
    stored_credits: float = 0
    """What the stored shots cost, with their failed tries."""
    task: SceneProgress = Field(default_factory=SceneProgress)
    error: StepError | None = None


class FilmInput(BaseModel):
    """The execution input: ids and settings only."""

    video_id: str
    provider: str
    model: str
    poll_seconds: int = Field(default=10, ge=1, le=300)
    scene_timeout_seconds: int = Field(default=300, ge=1, le=86_400)
    max_concurrency: int = Field(default=1, ge=1, le=40)


EXECUTION_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
"""What this project names an execution: AWS allows 80 characters and forbids whitespace and
most punctuation; moto checks none of it, so the names are checked here."""


def scene_execution_name(video_id: str, scene: int) -> str:
    """The name of a scene's SceneWorkflow execution: `video-…-s007`, readable in the console."""
    name = f"{video_id}-s{scene:03d}"
    if not EXECUTION_NAME.fullmatch(name):
        raise ValueError(f"{name!r} cannot name an execution")
    return name


def scene_of_execution(name: str) -> tuple[str, int] | None:
    """(video id, scene) of a scene execution's name, or None for a film's own execution."""
    video_id, separator, number = name.rpartition("-s")
    if not separator or not number.isdigit():
        return None
    return video_id, int(number)


class SceneItem(BaseModel):
    """One item of the FilmScenes Map: the scene and its execution's name, ids only."""

    number: int
    execution: str


class ScenePlan(BaseModel):
    scenes: list[SceneItem]
    max_polls: int


def max_polls(poll_seconds: int, scene_timeout_seconds: int) -> int:
    """How many CheckScene polls fit in the scene timeout: the loop's hard bound."""
    return max(1, math.ceil(scene_timeout_seconds / poll_seconds))


# Failure codes of ours, by the class name of the error a Catch delivered.
FAILURE_CODES = {
    "SubmitInDoubtError": "SUBMIT_IN_DOUBT",
    "DownloadError": "DOWNLOAD",
    "NoOutputError": "NO_OUTPUT",
    "PermanentProviderError": "PROVIDER_REJECTED",
    "TransientProviderError": "PROVIDER_UNAVAILABLE",
    "DailyCapError": "DAILY_CAP",
    "ConfigurationError": "CONFIGURATION",
    "VideoEndedError": "CANCELLED",
    "States.Timeout": "TASK_TIMEOUT",
}


class AssemblyResult(BaseModel):
    """What AssembleFilm answers (and Finalize reads from `$.film`)."""

    film_key: str | None = None
    clips: int = 0
    reencoded: list[int] = Field(default_factory=list)
    left_out: list[LeftOut] = Field(default_factory=list)
    failure: str | None = None

    @classmethod
    def from_state(cls, value: Any) -> AssemblyResult:
        """`$.film`: the assembly's answer, or the error a Catch put there instead."""
        if not isinstance(value, dict):
            return cls()
        if "Error" in value:
            error = StepError.model_validate(value)
            return cls(failure=error_message(error)[:FAILURE_TEXT_LIMIT])
        return cls.model_validate(value)


def error_message(error: StepError) -> str:
    """The message of a Lambda error's Cause (a JSON document), else the Cause as it is."""
    import json

    try:
        cause = json.loads(error.Cause or "")
    except ValueError:
        return f"{error.Error}: {error.Cause or ''}".strip()
    if isinstance(cause, dict) and "errorMessage" in cause:
        return f"{error.Error}: {cause['errorMessage']}"
    return f"{error.Error}: {error.Cause}"
