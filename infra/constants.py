"""The names and numbers the AWS stack is built from, in one place the tests import too.

Only plain data lives here (no CDK objects), so a test can check the synthesised template against
the same values the stack was built from, and the layer builder can run without CDK.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
ASL_PATH: Final = REPO_ROOT / "infra" / "statemachine" / "film.asl.json"
SCENE_ASL_PATH: Final = REPO_ROOT / "infra" / "statemachine" / "scene.asl.json"
FUNCTIONS_DIR: Final = REPO_ROOT / "functions"
CORE_LAYER_DIR: Final = REPO_ROOT / "layers" / "core"
CORE_PACKAGE: Final = "script_to_film"
DEPS_REQUIREMENTS: Final = REPO_ROOT / "layers" / "deps" / "requirements.txt"
FFMPEG_REQUIREMENTS: Final = REPO_ROOT / "layers" / "ffmpeg" / "requirements.txt"
LAYER_BUILD_DIR: Final = REPO_ROOT / "build" / "layers"
"""Where `make layers` leaves the third-party and ffmpeg layers, one folder per input hash."""

STACK_NAME: Final = "ScriptToFilm"
SERVICE_NAME: Final = "script-to-film"
"""POWERTOOLS_SERVICE_NAME: the service name `script_to_film.runtime` logs and traces under."""
METRICS_NAMESPACE: Final = "ScriptToFilm"

# Lambda runtime and architecture ------------------------------------------------------------------

PYTHON_VERSION: Final = "3.13"
Architecture = Literal["arm64", "x86_64"]
ARCHITECTURE: Final[Architecture] = "arm64"
"""Graviton: about 20 % cheaper per GB-second, and imageio-ffmpeg's aarch64 ffmpeg is 131 MB
unzipped against 173 MB for x86_64, which leaves room under Lambda's 250 MB limit."""
MACHINE: Final[Mapping[Architecture, str]] = {"arm64": "aarch64", "x86_64": "x86_64"}
"""Lambda's architecture name → the machine name in wheel platform tags and ffmpeg binary names."""
LAMBDA_UNZIPPED_LIMIT_BYTES: Final = 250 * 1024 * 1024
"""A function's code and all its layers, unzipped."""

FFMPEG_LAYER_PATH: Final = "/opt/bin/ffmpeg"
"""Where the ffmpeg layer puts the binary; `imageio_ffmpeg.get_ffmpeg_exe()` returns the path in
IMAGEIO_FFMPEG_EXE before looking anywhere else, so `script_to_film.adapters.media` finds it unchanged."""

# Context: `cdk synth -c key=value`, or CDK_CONTEXT_JSON for `python -m infra.app` ---------------

CONTEXT_LAYERS: Final = "stf:layers"
"""`built` (default): the third-party and ffmpeg layers `make layers` built; `placeholder`: an
empty stand-in folder, so tests and template checks synthesise without the 200 MB download. A
placeholder stack synthesises but cannot work when deployed."""
LayerMode = Literal["built", "placeholder"]
CONTEXT_RUNWAY_CONCURRENCY: Final = "stf:runway_concurrency"
"""A cap on Runway scenes at once (1–40), below what the account's tier allows; unset, the tier decides."""
CONTEXT_RESERVED_CONCURRENCY: Final = "stf:reserved_concurrency"
"""`false` drops the reserved concurrency of the writer and the batch function: a new AWS account
often has a concurrency quota of 10, and Lambda refuses reservations that leave fewer than 100."""

# Storage -----------------------------------------------------------------------------------------

TABLE_PARTITION_KEY: Final = "pk"
TABLE_SORT_KEY: Final = "sk"
BY_KIND_INDEX: Final = "by_kind"
BY_KIND_PARTITION_KEY: Final = "kind"
BY_KIND_SORT_KEY: Final = "created_at"
TABLE_TTL_ATTRIBUTE: Final = "expires_at"
"""Epoch seconds after which DynamoDB may delete an item (claims and other short-lived records)."""
IDEMPOTENCY_PARTITION_KEY: Final = "id"
IDEMPOTENCY_TTL_ATTRIBUTE: Final = "expiration"
"""The key and TTL attribute Powertools' DynamoDBPersistenceLayer uses by default."""

INCOMING_PREFIX: Final = "incoming/"
INCOMING_SUFFIXES: Final = (".fountain", ".json")
LIBRARY_PREFIX: Final = "library/"
"""Where the screenplays a batch manifest names by key are kept (the batch may read them)."""
INCOMING_EXPIRATION_DAYS: Final = 30
"""A dropped screenplay is copied to `scripts/` when its batch starts; the drop is kept a month."""
NONCURRENT_VERSION_EXPIRATION_DAYS: Final = 30
INCOMPLETE_UPLOAD_DAYS: Final = 1
ACCESS_LOG_EXPIRATION_DAYS: Final = 90

# REST API ----------------------------------------------------------------------------------------

API_BASE_PATH: Final = "/api/v1"
API_STAGE: Final = "prod"
API_RATE_LIMIT: Final = 20
"""Requests per second for the whole stage (steady state)."""
API_BURST_LIMIT: Final = 40
USAGE_PLAN_RATE_LIMIT: Final = 10
USAGE_PLAN_BURST_LIMIT: Final = 20
USAGE_PLAN_DAILY_QUOTA: Final = 10_000
CORS_ALLOW_HEADERS: Final = (
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Api-Key",
)

# Functions ---------------------------------------------------------------------------------------

FILM_STATES: Final[Mapping[str, str]] = {
    "LoadShots": "load_shots",
    "Preflight": "preflight",
    "AssembleFilm": "assemble",
    "Finalize": "finalize",
}
"""The film state machine's Task states (`film.asl.json`) → handler module in `functions/`."""

SCENE_STATES: Final[Mapping[str, str]] = {
    "SubmitScene": "scene_submit",
    "CheckScene": "scene_check",
    "StoreClip": "scene_store",
    "RecordFailure": "scene_failure",
}
"""The scene state machine's Task states (`scene.asl.json`) → handler module in `functions/`."""

WORKFLOW_STATES: Final[Mapping[str, str]] = {**FILM_STATES, **SCENE_STATES}
"""Both. The ASL names each function `${<State>FunctionArn}`; the local stack
(`infra.local.stack.WORKFLOW_FUNCTIONS`) maps the same."""


def _task_timeouts(asl: Path) -> dict[str, int]:
    """Each Task state's TimeoutSeconds, read from the definition itself, Map iterations included."""
    found: dict[str, int] = {}

    def visit(states: Mapping[str, Any]) -> None:
        for name, state in states.items():
            if state["Type"] == "Task" and "TimeoutSeconds" in state:
                found[name] = int(state["TimeoutSeconds"])
            processor = state.get("ItemProcessor") or state.get("Iterator")
            if processor:
                visit(processor["States"])

    visit(json.loads(asl.read_text(encoding="utf-8"))["States"])
    return found


TASK_TIMEOUTS: Final = {**_task_timeouts(ASL_PATH), **_task_timeouts(SCENE_ASL_PATH)}
"""A workflow Lambda times out when its Task state does, so neither outlives the other."""


@dataclass(frozen=True)
class FunctionSpec:
    handler: str
    description: str
    timeout_seconds: int
    memory_mb: int = 512
    ephemeral_storage_mb: int = 512
    ffmpeg: bool = False
    """Gets the ffmpeg layer and IMAGEIO_FFMPEG_EXE."""
    reserved_concurrency: int | None = None


FUNCTIONS: Final[Mapping[str, FunctionSpec]] = {
    "LoadShots": FunctionSpec(
        "load_shots.handler", "Marks a video RUNNING and lists its scenes", TASK_TIMEOUTS["LoadShots"]
    ),
    "Preflight": FunctionSpec(
        "preflight.handler",
        "Asks the provider's account what it allows a film before anything is paid for",
        TASK_TIMEOUTS["Preflight"],
    ),
    "SubmitScene": FunctionSpec(
        "scene_submit.handler",
        "Claims a scene's try and submits it to the video provider",
        TASK_TIMEOUTS["SubmitScene"],
    ),
    "CheckScene": FunctionSpec(
        "scene_check.handler", "Polls the provider task of a scene once", TASK_TIMEOUTS["CheckScene"]
    ),
    # Streams the provider's clip into S3; the animatic provider renders it here with ffmpeg.
    "StoreClip": FunctionSpec(
        "scene_store.handler",
        "Stores a finished clip in S3, then marks the scene SUCCEEDED",
        TASK_TIMEOUTS["StoreClip"],
        memory_mb=2048,
        ephemeral_storage_mb=2048,
        ffmpeg=True,
    ),
    "RecordFailure": FunctionSpec(
        "scene_failure.handler",
        "Marks a scene FAILED and cancels its provider task",
        TASK_TIMEOUTS["RecordFailure"],
    ),
    # Downloads every clip and writes the film: up to 100 clips and the film on /tmp at once.
    "AssembleFilm": FunctionSpec(
        "assemble.handler",
        "Stitches the stored clips into the film with ffmpeg",
        TASK_TIMEOUTS["AssembleFilm"],
        memory_mb=3008,
        ephemeral_storage_mb=10240,
        ffmpeg=True,
    ),
    "Finalize": FunctionSpec(
        "finalize.handler", "Sets the video's final status and writes its manifest", TASK_TIMEOUTS["Finalize"]
    ),
    # Ends a video whose execution ended outside the workflow's own paths, cancelling its tasks.
    "Cleanup": FunctionSpec(
        "cleanup.handler",
        "Ends the video of an execution that failed, timed out or was stopped, and cancels its tasks",
        120,
    ),
    # API Gateway gives up after 29 s; more memory is more CPU for the cold start's imports.
    "Api": FunctionSpec("api.handler", "The REST API under /api/v1", 29, memory_mb=1024),
    # Claude may take minutes for a screenplay; the API answers 202 before this starts. The
    # reservation caps what a burst of requests can spend on Claude at once.
    "ScriptWriter": FunctionSpec(
        "script_writer.handler",
        "Writes a screenplay with Claude, invoked asynchronously by the API",
        600,
        memory_mb=1024,
        reserved_concurrency=5,
    ),
    # A manifest may list several screenplays, each parsed, priced and started in turn. The
    # reservation bounds how many runs a flood of uploads can start at once.
    "S3Batch": FunctionSpec(
        "s3_batch.handler",
        "Starts one video per screenplay dropped into incoming/",
        300,
        memory_mb=1024,
        reserved_concurrency=5,
    ),
}
"""Every Lambda of the stack by construct id; the workflow's ids are its Task state names."""

LOG_RETENTION_DAYS: Final = 30
"""How long every log group of the stack keeps its events (`functions.LOG_RETENTION`)."""
