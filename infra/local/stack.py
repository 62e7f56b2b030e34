"""The whole application in one process, with no AWS account, Docker or network.

moto provides S3, DynamoDB, IAM, Lambda and Step Functions; its Step Functions engine executes
`infra/statemachine/film.asl.json` itself (Map, Wait, Choice, Retry and Catch as on AWS), and
every Lambda Task reaches the real handler in `functions/` through `lambda_dispatch`. Only the
provider differs from a deployment when the run asks for the offline `animatic` one.

Many threads use it at once (Map iterations, API requests, the CLI following a run), so every
call into moto holds one lock (`moto_lock`). While it runs, none of the user's AWS settings
(profile, config and credentials files, region, endpoints) is visible in the process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from importlib import import_module
from pathlib import Path
from typing import Any

from moto.core.config import DefaultConfig

from infra.local.lambda_dispatch import LambdaRegistry, deploy_functions, dispatch_lambdas
from infra.local.moto_lock import serialise_moto
from script_to_film.adapters.aws import AwsSettings
from script_to_film.adapters.backend import AwsBackend
from script_to_film.domain.keys import clip_key, film_key
from script_to_film.domain.manifest import build_manifest
from script_to_film.domain.models import VideoRecord

STATE_MACHINES_DIR = Path(__file__).resolve().parents[1] / "statemachine"
ASL_PATH = STATE_MACHINES_DIR / "film.asl.json"
SCENE_ASL_PATH = STATE_MACHINES_DIR / "scene.asl.json"

REGION = "us-east-1"
TABLE = "script-to-film-local"
BUCKET = "script-to-film-local"
STATE_MACHINE = "script-to-film"
SCENE_STATE_MACHINE = "script-to-film-scene"

WORKFLOW_FUNCTIONS: Mapping[str, str] = {
    "LoadShots": "functions.load_shots",
    "Preflight": "functions.preflight",
    "SubmitScene": "functions.scene_submit",
    "CheckScene": "functions.scene_check",
    "StoreClip": "functions.scene_store",
    "RecordFailure": "functions.scene_failure",
    "AssembleFilm": "functions.assemble",
    "Finalize": "functions.finalize",
}
"""State name → handler module, for both state machines. The local function names are the state
names, and the ASL's `${<State>FunctionArn}` substitutions get their ARNs, as CDK gives the
deployed ones; the film's `${SceneWorkflowArn}` gets the scene state machine's."""

IDEMPOTENCY_TABLE = "script-to-film-local-idempotency"
WRITER_FUNCTION = "ScriptWriter"

BATCH_FUNCTION = "S3Batch"
CLEANUP_FUNCTION = "Cleanup"

APPLICATION_FUNCTIONS: Mapping[str, str] = {
    WRITER_FUNCTION: "functions.script_writer",
    BATCH_FUNCTION: "functions.s3_batch",
    CLEANUP_FUNCTION: "functions.cleanup",
}
"""Functions the application invokes itself rather than the state machine (the API invokes the
writer asynchronously; S3 invokes the batch trigger, which `stf batch` plays locally with
`LocalStack.invoke`), by function name → handler module. The API handler is not among them: API
Gateway calls it, and `stf serve` (`infra.local.server`) plays API Gateway. EventBridge invokes
the cleanup when an execution ends FAILED, TIMED_OUT or ABORTED; `execution_events` plays that."""

CLEANED_UP_STATUSES = frozenset({"FAILED", "TIMED_OUT", "ABORTED"})
"""The statuses the deployed EventBridge rule sends to the cleanup (`infra/constructs/cleanup.py`)."""

EXECUTION_END_SECONDS = 120
"""How long `wait` waits for an ended execution's cleanup, which a cancelled provider call bounds."""

_ENVIRONMENT = {
    # moto accepts any credentials; these make sure no real ones are ever used.
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    # No config or credentials file of the user's, and no instance metadata service, is ever read.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "STF_TABLE": TABLE,
    "STF_BUCKET": BUCKET,
    "STF_IDEMPOTENCY_TABLE": IDEMPOTENCY_TABLE,
    "STF_WRITER_FUNCTION": WRITER_FUNCTION,
}
"""Set for the stack's lifetime. Every other `AWS_*` variable is removed meanwhile: the user's
`AWS_PROFILE` (botocore resolves it before moto's patches apply, so an empty or unknown one is
`ProfileNotFound`), endpoints, CA bundle, role and container credentials."""

MOTO_CONFIG: DefaultConfig = {
    "stepfunctions": {"execute_state_machine": True},
    "lambda": {"use_docker": False},
}


class LocalFunctionError(RuntimeError):
    """A function invoked with `LocalStack.invoke` raised."""


def load_definition(path: Path, arns: Mapping[str, str], scene_workflow_arn: str = "") -> str:
    """An ASL file with its `${…FunctionArn}` and `${SceneWorkflowArn}` substitutions filled in,
    as CDK does on deploy."""
    definition = path.read_text(encoding="utf-8")
    for state, arn in arns.items():
        definition = definition.replace(f"${{{state}FunctionArn}}", arn)
    return definition.replace("${SceneWorkflowArn}", scene_workflow_arn)


def _is_aws_setting(name: str) -> bool:
    return name.upper().startswith("AWS_")


@contextmanager
def _patched_environ(
    values: Mapping[str, str], *, removing: Callable[[str], bool] = lambda name: False
) -> Iterator[None]:
    """`values` set and the variables `removing` picks removed until the block ends; then each
    of them is as it was before."""
    removed = [key for key in os.environ if removing(key) and key not in values]
    saved = {key: os.environ.get(key) for key in [*values, *removed]}
    for key in removed:
        del os.environ[key]
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class LocalStack:
    """`with LocalStack() as stack:` — a running application; `stack.backend` is its storage."""

    def __init__(
        self,
        environment: Mapping[str, str] | None = None,
        *,
        adjust_definition: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        """`adjust_definition(name, definition)` edits each parsed ASL (`film`, `scene`) before
        its state machine is created: tests inject a shorter timeout with it; everything else
        runs the definitions as deployed."""
        self._extra_environment = dict(environment or {})
        self._adjust_definition = adjust_definition
        self._exit = ExitStack()
        self._ended_lock = threading.Lock()
        self._ended: dict[str, threading.Event] = {}
        self.state_machine_arn = ""
        self.scene_state_machine_arn = ""
        self.backend: AwsBackend
        self.lambdas: LambdaRegistry

    def __enter__(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._exit.close()

    def _start(self) -> None:
        self._exit.enter_context(
            _patched_environ({**_ENVIRONMENT, **self._extra_environment}, removing=_is_aws_setting)
        )
        # Only now: some of moto's modules read the AWS profile as they load (its EC2 models list
        # the regions through boto3), and the user's must not be seen.
        from moto import mock_aws

        from infra.local.execution_events import watch_execution_ends
        from infra.local.sfn_engine import faithful_child_executions
        from script_to_film import runtime

        # The handlers' logger is made once per process, maybe before this environment was set;
        # stdout belongs to the CLI (`--json`), so handlers log only from the configured level up.
        runtime.logger.setLevel(os.environ["POWERTOOLS_LOG_LEVEL"])
        # moto logs every caught task failure as an ERROR with a state dump; the scene records say it better.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # Before moto starts and until it has stopped: no call into moto races another.
        self._exit.enter_context(serialise_moto())
        self._exit.enter_context(mock_aws(config=MOTO_CONFIG))
        self._exit.enter_context(faithful_child_executions())
        import boto3

        session = boto3.session.Session(region_name=REGION)
        self._create_storage(session)
        functions = {**WORKFLOW_FUNCTIONS, **APPLICATION_FUNCTIONS}
        registry = LambdaRegistry({name: import_module(module).handler for name, module in functions.items()})
        # Tests replace a handler here (a fake writer) while the stack runs.
        self.lambdas = registry
        arns = deploy_functions(
            functions, lambda_client=session.client("lambda"), iam_client=session.client("iam")
        )
        sfn = session.client("stepfunctions")
        self.scene_state_machine_arn = sfn.create_state_machine(
            name=SCENE_STATE_MACHINE,
            definition=self._definition("scene", load_definition(SCENE_ASL_PATH, arns)),
            roleArn=f"arn:aws:iam::123456789012:role/{SCENE_STATE_MACHINE}-workflow",
            type="STANDARD",
        )["stateMachineArn"]
        film = load_definition(ASL_PATH, arns, self.scene_state_machine_arn)
        film_definition = self._definition("film", film)
        self.state_machine_arn = sfn.create_state_machine(
            name=STATE_MACHINE,
            definition=film_definition,
            roleArn=f"arn:aws:iam::123456789012:role/{STATE_MACHINE}-workflow",
            type="STANDARD",
        )["stateMachineArn"]
        machines = {
            "STF_STATE_MACHINE_ARN": self.state_machine_arn,
            "STF_SCENE_STATE_MACHINE_ARN": self.scene_state_machine_arn,
        }
        self._exit.enter_context(_patched_environ(machines))
        self.backend = AwsBackend(AwsSettings.from_env(), session=session)
        # Handlers build their backend from the environment at first use: start each stack afresh.
        runtime.reset()
        self._exit.callback(runtime.reset)
        self._dispatch = self._exit.enter_context(dispatch_lambdas(registry))
        self._exit.enter_context(watch_execution_ends(self._execution_ended))
        self.sfn = sfn

    @staticmethod
    def _create_storage(session: Any) -> None:
        session.client("s3").create_bucket(Bucket=BUCKET)
        # Versioned, as deployed: an S3 event then names the exact version the batch reads.
        session.client("s3").put_bucket_versioning(
            Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"}
        )
        session.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
                {"AttributeName": "kind", "AttributeType": "S"},
                {"AttributeName": "created_at", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "by_kind",
                    "KeySchema": [
                        {"AttributeName": "kind", "KeyType": "HASH"},
                        {"AttributeName": "created_at", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        dynamodb = session.client("dynamodb")
        # Powertools Idempotency's default layout: key `id`, expiry epoch seconds in `expiration`.
        dynamodb.create_table(
            TableName=IDEMPOTENCY_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        dynamodb.update_time_to_live(
            TableName=IDEMPOTENCY_TABLE,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": "expiration"},
        )

    def _definition(self, name: str, definition: str) -> str:
        if self._adjust_definition is None:
            return definition
        parsed = json.loads(definition)
        self._adjust_definition(name, parsed)
        return json.dumps(parsed)

    def _ended_event(self, execution_arn: str) -> threading.Event:
        with self._ended_lock:
            return self._ended.setdefault(execution_arn, threading.Event())

    def _execution_ended(self, event: dict[str, Any]) -> None:
        """What the deployed EventBridge rule does: an execution of the film's or a scene's state
        machine that ended FAILED, TIMED_OUT or ABORTED goes to the cleanup function."""
        detail = event["detail"]
        ours = (self.state_machine_arn, self.scene_state_machine_arn)
        try:
            if detail["stateMachineArn"] in ours and detail["status"] in CLEANED_UP_STATUSES:
                self.invoke(CLEANUP_FUNCTION, event)
        finally:
            self._ended_event(detail["executionArn"]).set()

    # Following a run ---------------------------------------------------------------------------

    def invoke(self, function_name: str, event: Any) -> Any:
        """Invoke a deployed function synchronously with `event` and return its answer; a function
        error raises LocalFunctionError with the handler's error type and message."""
        import boto3

        client = boto3.session.Session(region_name=REGION).client("lambda")
        response = client.invoke(FunctionName=function_name, Payload=json.dumps(event).encode())
        answer = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise LocalFunctionError(
                f"{function_name} failed: {answer.get('errorType')}: {answer.get('errorMessage')}"
            )
        return answer

    def execution_status(self, execution_arn: str) -> str:
        return str(self.sfn.describe_execution(executionArn=execution_arn)["status"])

    def wait(
        self,
        video: VideoRecord,
        *,
        on_progress: Callable[[VideoRecord], None] | None = None,
        interval: float = 0.25,
        timeout: float = 3600,
        stop: threading.Event | None = None,
    ) -> VideoRecord:
        """Block until the video's execution ends (or `stop` is set), reporting the video as it
        changes; the video as last seen."""
        assert video.execution_arn, "the video was started"
        stop = stop or threading.Event()
        deadline = time.monotonic() + timeout
        while True:
            status = self.execution_status(video.execution_arn)
            current = self.backend.videos.get(video.id)
            if on_progress is not None:
                on_progress(current)
            if status != "RUNNING":
                # As on AWS, an execution that ended outside the workflow is cleaned up after,
                # the film's and each of its scenes' alike.
                self._ended_event(video.execution_arn).wait(EXECUTION_END_SECONDS)
                for child in self.scene_executions(video.id).values():
                    if self.execution_status(child) != "RUNNING":
                        self._ended_event(child).wait(EXECUTION_END_SECONDS)
                return self.backend.videos.get(video.id)
            if time.monotonic() > deadline:
                raise TimeoutError(f"execution {video.execution_arn} still running after {timeout:.0f} s")
            if stop.wait(interval):
                return current

    def wait_for_handlers(self, timeout: float = 30) -> bool:
        """Wait until no Lambda handler is running: a stopped execution leaves the Task it was in
        running to its end (a clip being stored is kept). False if some still run after `timeout`."""
        return self._dispatch.wait_idle(timeout)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": 1000}
        while True:
            page = self.sfn.get_execution_history(**kwargs)
            events.extend(page["events"])
            if not page.get("nextToken"):
                return events
            kwargs["nextToken"] = page["nextToken"]

    def scene_executions(self, video_id: str) -> dict[str, str]:
        """The video's scene executions, name → ARN, in scene order."""
        found: dict[str, str] = {}
        paginator = self.sfn.get_paginator("list_executions")
        for page in paginator.paginate(stateMachineArn=self.scene_state_machine_arn):
            for execution in page["executions"]:
                if execution["name"].startswith(f"{video_id}-s"):
                    found[execution["name"]] = execution["executionArn"]
        return dict(sorted(found.items()))

    def all_history(self, video: VideoRecord) -> list[dict[str, Any]]:
        """Every event of the video's film execution and of each of its scene executions."""
        assert video.execution_arn, "the video was started"
        events = self.history(video.execution_arn)
        for arn in self.scene_executions(video.id).values():
            events.extend(self.history(arn))
        return events

    def export(self, video: VideoRecord, out_dir: Path) -> Path:
        """Copy the clips, the film and the manifest of a finished video to `out_dir/<video_id>/`."""
        target = out_dir / video.id
        target.mkdir(parents=True, exist_ok=True)
        for scene in video.scenes:
            if scene.clip_key:
                self.backend.objects.download_file(
                    clip_key(video.id, scene.number), target / f"scene_{scene.number:03d}.mp4"
                )
        if video.film_key:
            self.backend.objects.download_file(film_key(video.id), target / "film.mp4")
        manifest = build_manifest(video, execution=video.execution_arn)
        (target / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        return target
