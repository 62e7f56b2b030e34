"""Calls into moto are serialised by one lock (`infra.local.moto_lock`), and nothing waits under it.

The race moto's unlocked backends allow is reproduced exactly, with the query held still in the
middle of its iteration while another thread writes; the lock must make the write wait. Then the
assumptions about moto 5.2.5 the lock rests on: both of moto's entrances take it (boto3 in
process, and HTTP to moto's server), a Lambda handler runs with it released (so handlers neither
deadlock nor run one at a time), and the Step Functions engine holds it neither in a Wait state
nor in a Retry's back-off.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.s3.models import S3Backend

from infra.local.lambda_dispatch import LambdaRegistry, LocalLambdaContext, deploy_functions, dispatch_lambdas
from infra.local.moto_lock import MOTO_LOCK, MotoLock, serialise_moto
from infra.local.stack import MOTO_CONFIG, REGION, TABLE, LocalStack

STATES_ROLE = "arn:aws:iam::123456789012:role/local-states"
BOUND_SECONDS = 20
"""How long a call that should not wait may take before the test calls it stuck."""


class _ObservedLock:
    """The lock inside MOTO_LOCK, reporting each thread that finds it taken and has to wait."""

    def __init__(self, inner: Any, waits: queue.Queue[str]) -> None:
        self._inner = inner
        self._waits = waits

    def acquire(self) -> bool:
        if not self._inner.acquire(blocking=False):
            self._waits.put(threading.current_thread().name)
            self._inner.acquire()
        return True

    def release(self) -> None:
        self._inner.release()


def test_a_query_never_sees_an_item_change_under_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """A GET of a video queries its partition while a Map iteration updates a scene in it."""
    with LocalStack():
        dynamodb = boto3.session.Session(region_name=REGION).client("dynamodb")
        key = {"pk": {"S": "VIDEO#video-race"}, "sk": {"S": "SCENE#001"}}
        dynamodb.put_item(TableName=TABLE, Item={**key, "status": {"S": "RUNNING"}})
        events: queue.Queue[str] = queue.Queue()
        monkeypatch.setattr(MOTO_LOCK, "_lock", _ObservedLock(MOTO_LOCK._lock, events))
        querying = threading.current_thread()
        paused = threading.Event()
        real_size = DynamoType.size

        def size(self: DynamoType) -> int:
            # moto sizes each attribute while it iterates the item's attributes: stop there until
            # the writer has either written (no lock) or found moto busy (the lock).
            if threading.current_thread() is querying and not paused.is_set():
                paused.set()
                seen.append(events.get(timeout=BOUND_SECONDS))
            return real_size(self)

        def write_progress() -> None:
            paused.wait(BOUND_SECONDS)
            dynamodb.update_item(
                TableName=TABLE,
                Key=key,
                UpdateExpression="SET progress = :p",
                ExpressionAttributeValues={":p": {"N": "0.5"}},
            )
            events.put("written")

        seen: list[str] = []
        monkeypatch.setattr(DynamoType, "size", size)
        writer = threading.Thread(target=write_progress, name="writer")
        writer.start()
        try:
            items = dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": key["pk"]},
            )["Items"]
        finally:
            paused.set()
            writer.join(BOUND_SECONDS)
        after = dynamodb.get_item(TableName=TABLE, Key=key)["Item"]

    assert seen == ["writer"], "the write waited for the query to end"
    assert items == [{**key, "status": {"S": "RUNNING"}}]
    assert after["progress"] == {"N": "0.5"}


def take_and_leave(lock: MotoLock) -> None:
    with lock:
        pass


def test_moto_lock_is_reentrant_and_released_restores_its_depth() -> None:
    lock = MotoLock()
    assert lock.depth == 0
    with lock, lock:
        assert lock.depth == 2
        with lock.released():
            assert lock.depth == 0
            other = threading.Thread(target=take_and_leave, args=(lock,))
            other.start()
            other.join(BOUND_SECONDS)
            assert not other.is_alive(), "another thread takes the released lock"
        assert lock.depth == 2
    assert lock.depth == 0
    with lock.released():
        assert lock.depth == 0, "a thread that does not hold it just runs the block"


def test_serialising_twice_is_refused() -> None:
    with serialise_moto(), pytest.raises(RuntimeError, match="already serialised"), serialise_moto():
        pass


# Both of moto's entrances take the lock -----------------------------------------------------------


@pytest.fixture
def depths_in_moto(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """MOTO_LOCK's depth as moto's S3 backend sees it, at each ListBuckets."""
    depths: list[int] = []
    real = S3Backend.list_buckets

    def list_buckets(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
        depths.append(MOTO_LOCK.depth)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(S3Backend, "list_buckets", list_buckets)
    return depths


def test_in_process_boto3_calls_and_http_calls_to_motos_server_hold_the_lock(
    depths_in_moto: list[int],
) -> None:
    with serialise_moto(), mock_aws(config=MOTO_CONFIG):
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            session = boto3.session.Session(region_name=REGION)
            session.client("s3").list_buckets()
            session.client("s3", endpoint_url=f"http://{host}:{port}").list_buckets()
        finally:
            server.stop()
        outside = MOTO_LOCK.depth

    assert depths_in_moto == [1, 1]
    assert outside == 0


# Lambda handlers run with the lock released ------------------------------------------------------


@pytest.fixture
def engine() -> Iterator[tuple[Any, Callable[[str, Any], str]]]:
    """moto with its calls serialised and the Lambda dispatch on: (stepfunctions client, deploy)."""
    with serialise_moto(), mock_aws(config=MOTO_CONFIG):
        session = boto3.session.Session(region_name=REGION)
        registry = LambdaRegistry()
        lambda_client, iam = session.client("lambda"), session.client("iam")

        def deploy(name: str, handler: Any) -> str:
            registry.register(name, handler)
            return deploy_functions([name], lambda_client=lambda_client, iam_client=iam)[name]

        with dispatch_lambdas(registry, drain_seconds=5):
            yield session.client("stepfunctions"), deploy


def start(sfn: Any, definition: dict[str, Any], payload: Any = None) -> str:
    machine = sfn.create_state_machine(
        name=f"machine-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=STATES_ROLE
    )["stateMachineArn"]
    return str(sfn.start_execution(stateMachineArn=machine, input=json.dumps(payload or {}))["executionArn"])


def task(arn: str, **state: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke",
        "Parameters": {"FunctionName": arn, "Payload.$": "$"},
        **state,
    }


def moto_answers_meanwhile() -> bool:
    """Whether another thread's call into moto completes (rather than waiting for the lock)."""
    answered = threading.Event()

    def call() -> None:
        boto3.session.Session(region_name=REGION).client("s3").list_buckets()
        answered.set()

    threading.Thread(target=call, daemon=True).start()
    return answered.wait(BOUND_SECONDS)


def test_map_iterations_run_their_handlers_at_once_with_the_lock_released(
    engine: tuple[Any, Callable[[str, Any], str]],
) -> None:
    sfn, deploy = engine
    both_inside = threading.Barrier(2, timeout=BOUND_SECONDS)
    seen: list[tuple[int, bool]] = []

    def render(event: dict[str, Any], context: LocalLambdaContext) -> int:
        # Each handler waits for the other: one at a time, the barrier would break.
        both_inside.wait()
        seen.append((MOTO_LOCK.depth, moto_answers_meanwhile()))
        return int(event["scene"])

    definition = {
        "StartAt": "Scenes",
        "States": {
            "Scenes": {
                "Type": "Map",
                "ItemsPath": "$.scenes",
                "MaxConcurrency": 2,
                "ItemSelector": {"scene.$": "$$.Map.Item.Value"},
                "ItemProcessor": {
                    "StartAt": "Render",
                    "States": {"Render": task(deploy("Render", render), OutputPath="$.Payload", End=True)},
                },
                "End": True,
            }
        },
    }
    execution = start(sfn, definition, {"scenes": [1, 2]})

    described = wait_for_end(sfn, execution)
    assert described["status"] == "SUCCEEDED", described.get("cause")
    assert json.loads(described["output"]) == [1, 2]
    assert seen == [(0, True), (0, True)]


def wait_for_end(sfn: Any, execution: str) -> dict[str, Any]:
    deadline = time.monotonic() + BOUND_SECONDS
    while (described := sfn.describe_execution(executionArn=execution))["status"] == "RUNNING":
        assert time.monotonic() < deadline, "the execution never ended"
        time.sleep(0.05)
    return dict(described)


def wait_for_event(sfn: Any, execution: str, event_type: str) -> None:
    deadline = time.monotonic() + BOUND_SECONDS
    while not any(
        e["type"] == event_type for e in sfn.get_execution_history(executionArn=execution)["events"]
    ):
        assert time.monotonic() < deadline, f"no {event_type} yet"
        time.sleep(0.05)


def test_a_wait_state_does_not_hold_the_lock(engine: tuple[Any, Callable[[str, Any], str]]) -> None:
    sfn, _ = engine
    execution = start(
        sfn, {"StartAt": "Poll", "States": {"Poll": {"Type": "Wait", "Seconds": 60, "End": True}}}
    )
    wait_for_event(sfn, execution, "WaitStateEntered")

    answered = moto_answers_meanwhile()
    sfn.stop_execution(executionArn=execution)

    assert answered


def test_a_retry_backing_off_does_not_hold_the_lock(engine: tuple[Any, Callable[[str, Any], str]]) -> None:
    sfn, deploy = engine
    failed_once = threading.Event()

    def submit(event: Any, context: LocalLambdaContext) -> None:
        failed_once.set()
        raise ConnectionError("the provider is down")

    retry = [{"ErrorEquals": ["ConnectionError"], "IntervalSeconds": 60, "MaxAttempts": 1}]
    execution = start(
        sfn,
        {"StartAt": "Submit", "States": {"Submit": task(deploy("Submit", submit), Retry=retry, End=True)}},
    )
    assert failed_once.wait(BOUND_SECONDS)
    # The handler has returned its error; the engine records it and goes to sleep for a minute.
    wait_for_event(sfn, execution, "TaskFailed")

    answered = moto_answers_meanwhile()
    sfn.stop_execution(executionArn=execution)

    assert answered


def test_the_local_state_machine_logs_nothing_through_moto() -> None:
    """moto's engine would publish each history event through boto3 under its history mutex, which
    `get_execution_history` takes under the lock: a deadlock. The local machine has no logging."""
    with LocalStack() as stack:
        described = stack.sfn.describe_state_machine(stateMachineArn=stack.state_machine_arn)

    assert described.get("loggingConfiguration", {}).get("level", "OFF") == "OFF"


def test_s3_over_http_from_a_handler_never_waits_for_the_lock_its_invoke_holds() -> None:
    """`stf serve`'s handlers reach S3 over HTTP (moto's server, another thread) from inside a
    Lambda invoke: with the lock held there, the server thread would wait for it forever."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    with serialise_moto(), mock_aws(config=MOTO_CONFIG):
        server.start()
        try:
            host, port = server.get_host_and_port()
            session = boto3.session.Session(region_name=REGION)
            over_http = session.client(
                "s3",
                endpoint_url=f"http://{host}:{port}",
                config=Config(read_timeout=BOUND_SECONDS, retries={"total_max_attempts": 1}),
            )
            registry = LambdaRegistry(
                {
                    "Upload": lambda event, context: over_http.put_object(
                        Bucket="clips", Key="k", Body=b"clip"
                    )["ETag"]
                }
            )
            deploy_functions(
                ["Upload"], lambda_client=session.client("lambda"), iam_client=session.client("iam")
            )
            session.client("s3").create_bucket(Bucket="clips")
            with dispatch_lambdas(registry):
                answer = session.client("lambda").invoke(FunctionName="Upload")
            stored = over_http.get_object(Bucket="clips", Key="k")["Body"].read()
        finally:
            server.stop()

    assert "FunctionError" not in answer
    assert stored == b"clip"
