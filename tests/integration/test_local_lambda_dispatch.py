"""The local stack runs ASL for real and dispatches its Lambda Tasks to in-process handlers.

Each test writes a small state machine, runs it on moto's Step Functions engine and checks what an
ASL author relies on: results, errors matched by class name, retries, concurrent Map iterations,
timeouts, context-object paths and intrinsics, stopping. Waits are 1 s so the file stays quick.
"""

from __future__ import annotations

import datetime
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend
from moto.core.config import DefaultConfig

from infra.local.lambda_dispatch import (
    LambdaDispatch,
    LambdaHandler,
    LambdaRegistry,
    LocalLambdaContext,
    deploy_functions,
    dispatch_lambdas,
)

REGION = "us-east-1"
STATES_ROLE = "arn:aws:iam::123456789012:role/local-states"
LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
LAMBDA_SERVICE_RETRY = {
    "ErrorEquals": [
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
    ],
    "IntervalSeconds": 1,
    "MaxAttempts": 3,
    "BackoffRate": 2,
    "MaxDelaySeconds": 4,
    "JitterStrategy": "FULL",
}
LOCAL_AWS: DefaultConfig = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}


class SceneTimeoutError(Exception):
    pass


class ProviderUnavailableError(Exception):
    pass


class ProviderSafetyError(Exception):
    pass


@dataclass
class Finished:
    status: str
    output: Any
    error: str | None
    cause: str | None
    events: list[dict[str, Any]]
    seconds: float

    def event_types(self) -> list[str]:
        return [event["type"] for event in self.events]


@dataclass
class StackHarness:
    sfn: Any
    lambda_client: Any
    iam_client: Any
    registry: LambdaRegistry
    dispatch: LambdaDispatch
    arns: dict[str, str] = field(default_factory=dict)

    def function(self, name: str, handler: LambdaHandler) -> str:
        """Deploy a function backed by ``handler`` and return its ARN."""
        self.registry.register(name, handler)
        self.arns.update(
            deploy_functions([name], lambda_client=self.lambda_client, iam_client=self.iam_client)
        )
        return self.arns[name]

    def start(self, definition: dict[str, Any], payload: Any = None, *, name: str | None = None) -> str:
        machine = self.sfn.create_state_machine(
            name=f"machine-{time.monotonic_ns()}", definition=json.dumps(definition), roleArn=STATES_ROLE
        )["stateMachineArn"]
        start = {"stateMachineArn": machine, "input": json.dumps(payload if payload is not None else {})}
        return str(self.sfn.start_execution(**start, **({"name": name} if name else {}))["executionArn"])

    def wait(self, execution_arn: str, *, started: float, timeout: float = 20.0) -> Finished:
        deadline = time.monotonic() + timeout
        while True:
            described = self.sfn.describe_execution(executionArn=execution_arn)
            if described["status"] != "RUNNING":
                break
            assert time.monotonic() < deadline, f"{execution_arn} still running after {timeout} s"
            time.sleep(0.05)
        seconds = time.monotonic() - started
        output = json.loads(described["output"]) if "output" in described else None
        return Finished(
            described["status"],
            output,
            described.get("error"),
            described.get("cause"),
            self.history(execution_arn),
            seconds,
        )

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [event for page in pages for event in page["events"]]

    def run(self, definition: dict[str, Any], payload: Any = None, *, name: str | None = None) -> Finished:
        started = time.monotonic()
        return self.wait(self.start(definition, payload, name=name), started=started)


@pytest.fixture
def stack() -> Iterator[StackHarness]:
    with mock_aws(config=LOCAL_AWS):
        registry = LambdaRegistry()
        with dispatch_lambdas(registry, drain_seconds=5) as dispatch:
            yield StackHarness(
                sfn=boto3.client("stepfunctions", region_name=REGION),
                lambda_client=boto3.client("lambda", region_name=REGION),
                iam_client=boto3.client("iam", region_name=REGION),
                registry=registry,
                dispatch=dispatch,
            )


def invoke_task(function_arn: str, **state: Any) -> dict[str, Any]:
    return {
        "Type": "Task",
        "Resource": LAMBDA_INVOKE,
        "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
        **state,
    }


def one_state(state: dict[str, Any], **more_states: dict[str, Any]) -> dict[str, Any]:
    return {"StartAt": "Only", "States": {"Only": state, **more_states}}


def cause_of(finished: Finished, event_type: str) -> dict[str, Any]:
    details = next(event for event in finished.events if event["type"] == event_type)
    detail_key = next(key for key in details if key.endswith("EventDetails"))
    return dict(details[detail_key])


# results come back


def test_lambda_invoke_integration_returns_the_invoke_response_with_the_result_as_payload(
    stack: StackHarness,
) -> None:
    contexts: list[LocalLambdaContext] = []

    def describe_scene(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        contexts.append(context)
        return {"scene": event["scene"], "heading": "INT. STATION - NIGHT"}

    arn = stack.function("DescribeScene", describe_scene)

    raw = stack.run(one_state(invoke_task(arn, End=True)), {"scene": 3})
    selected = stack.run(
        one_state(invoke_task(arn, ResultSelector={"heading.$": "$.Payload.heading"}, End=True)),
        {"scene": 4},
    )

    assert raw.status == "SUCCEEDED"
    assert raw.output == {
        "ExecutedVersion": "$LATEST",
        "Payload": {"scene": 3, "heading": "INT. STATION - NIGHT"},
        "StatusCode": 200,
    }
    assert selected.output == {"heading": "INT. STATION - NIGHT"}
    first, second = contexts
    assert first.function_name == "DescribeScene"
    assert first.invoked_function_arn == arn
    assert (first.memory_limit_in_mb, first.log_group_name) == (512, "/aws/lambda/DescribeScene")
    assert first.aws_request_id != second.aws_request_id
    assert 0 < first.get_remaining_time_in_millis() <= 60_000


def test_plain_function_arn_resource_returns_the_result_itself(stack: StackHarness) -> None:
    arn = stack.function("CountScenes", lambda event, context: len(event["scenes"]))

    finished = stack.run(one_state({"Type": "Task", "Resource": arn, "End": True}), {"scenes": [1, 2]})

    assert finished.status == "SUCCEEDED"
    assert finished.output == 2
    assert "LambdaFunctionSucceeded" in finished.event_types()


# errors are matched by the exception's class name


def test_catch_matches_the_class_name_of_the_exception_the_handler_raised(stack: StackHarness) -> None:
    def check_scene(event: Any, context: LocalLambdaContext) -> None:
        raise SceneTimeoutError("scene 2 took longer than 600 s")

    arn = stack.function("CheckScene", check_scene)
    catch = [
        {"ErrorEquals": ["ProviderSafetyError"], "Next": "Unsafe"},
        {"ErrorEquals": ["SceneTimeoutError"], "ResultPath": "$.failure", "Next": "TimedOut"},
    ]

    finished = stack.run(
        one_state(
            invoke_task(arn, Retry=[LAMBDA_SERVICE_RETRY], Catch=catch, End=True),
            Unsafe={"Type": "Fail", "Error": "Unexpected"},
            TimedOut={"Type": "Pass", "End": True},
        ),
        {"scene": 2},
    )

    assert finished.status == "SUCCEEDED"
    assert finished.output["scene"] == 2
    assert finished.output["failure"]["Error"] == "SceneTimeoutError"
    cause = json.loads(finished.output["failure"]["Cause"])
    assert cause["errorType"] == "SceneTimeoutError"
    assert cause["errorMessage"] == "scene 2 took longer than 600 s"
    assert "check_scene" in cause["stackTrace"][0]


def test_uncaught_handler_error_fails_the_execution_with_that_name(stack: StackHarness) -> None:
    def submit(event: Any, context: LocalLambdaContext) -> None:
        raise ProviderSafetyError("SAFETY.INPUT.TEXT")

    finished = stack.run(one_state(invoke_task(stack.function("SubmitScene", submit), End=True)))

    assert finished.status == "FAILED"
    assert finished.error == "ProviderSafetyError"
    assert json.loads(finished.cause or "")["errorMessage"] == "SAFETY.INPUT.TEXT"
    assert cause_of(finished, "TaskFailed")["error"] == "ProviderSafetyError"


def test_a_deployed_function_without_a_handler_fails_the_state_clearly(stack: StackHarness) -> None:
    arn = deploy_functions(["Forgotten"], lambda_client=stack.lambda_client, iam_client=stack.iam_client)[
        "Forgotten"
    ]

    finished = stack.run(one_state(invoke_task(arn, End=True)))

    assert finished.status == "FAILED"
    assert finished.error == "Lambda.ResourceNotFoundException"
    assert "Forgotten has no in-process handler" in (finished.cause or "")


# Retry


def test_retry_on_a_custom_error_calls_the_handler_again(stack: StackHarness) -> None:
    calls: list[float] = []

    def flaky(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise ProviderUnavailableError("503 from the provider")
        return {"task_id": "t-1", "attempt": len(calls)}

    retry = [
        LAMBDA_SERVICE_RETRY,
        {"ErrorEquals": ["ProviderUnavailableError"], "IntervalSeconds": 1, "MaxAttempts": 2},
    ]
    arn = stack.function("SubmitScene", flaky)

    finished = stack.run(one_state(invoke_task(arn, Retry=retry, OutputPath="$.Payload", End=True)))

    assert finished.status == "SUCCEEDED"
    assert finished.output == {"task_id": "t-1", "attempt": 2}
    assert len(calls) == 2
    assert calls[1] - calls[0] >= 0.9
    assert finished.event_types().count("TaskFailed") == 1


# Map with a Wait/Choice polling loop runs its iterations concurrently


def test_map_polls_its_scenes_concurrently_up_to_max_concurrency(stack: StackHarness) -> None:
    lock = threading.Lock()
    polls: dict[int, int] = {}
    windows: dict[int, list[float]] = {}

    def submit(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        with lock:
            windows[event["scene"]] = [time.monotonic()]
            polls[event["scene"]] = 0
        return {**event, "done": False}

    def check(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        with lock:
            polls[event["scene"]] += 1
            return {**event, "done": polls[event["scene"]] >= 2}

    def store(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        with lock:
            windows[event["scene"]].append(time.monotonic())
        return {"scene": event["scene"], "status": "SUCCEEDED"}

    submit_arn, check_arn, store_arn = (
        stack.function("SubmitScene", submit),
        stack.function("CheckScene", check),
        stack.function("StoreClip", store),
    )
    payload_only = {"OutputPath": "$.Payload"}
    scene_states = {
        "SubmitScene": invoke_task(submit_arn, Next="WaitForProvider", **payload_only),
        "WaitForProvider": {"Type": "Wait", "SecondsPath": "$.poll_seconds", "Next": "CheckScene"},
        "CheckScene": invoke_task(check_arn, Next="IsSceneDone", **payload_only),
        "IsSceneDone": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.done", "BooleanEquals": True, "Next": "StoreClip"}],
            "Default": "WaitForProvider",
        },
        "StoreClip": invoke_task(store_arn, End=True, **payload_only),
    }
    definition = {
        "StartAt": "Scenes",
        "States": {
            "Scenes": {
                "Type": "Map",
                "ItemsPath": "$.scenes",
                "MaxConcurrency": 3,
                "ItemSelector": {"scene.$": "$$.Map.Item.Value", "poll_seconds.$": "$.poll_seconds"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "SubmitScene",
                    "States": scene_states,
                },
                "End": True,
            }
        },
    }
    scenes, poll_seconds, polls_per_scene = 6, 1, 2

    finished = stack.run(definition, {"scenes": list(range(1, scenes + 1)), "poll_seconds": poll_seconds})

    sequential = scenes * polls_per_scene * poll_seconds
    assert finished.status == "SUCCEEDED"
    assert finished.output == [{"scene": n, "status": "SUCCEEDED"} for n in range(1, scenes + 1)]
    assert finished.seconds < 0.6 * sequential
    assert max_overlap(windows.values()) == 3
    assert finished.event_types().count("MapIterationSucceeded") == scenes
    assert finished.event_types().count("WaitStateEntered") == scenes * polls_per_scene


def max_overlap(windows: Any) -> int:
    edges = sorted([(start, 1) for start, _ in windows] + [(end, -1) for _, end in windows])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


# the dispatch is installed only inside its block


def test_the_dispatch_is_removed_when_its_block_ends() -> None:
    original = LambdaSimpleBackend.invoke
    with mock_aws(config=LOCAL_AWS):
        lambda_client = boto3.client("lambda", region_name=REGION)
        deploy_functions(
            ["Echo"], lambda_client=lambda_client, iam_client=boto3.client("iam", region_name=REGION)
        )
        registry = LambdaRegistry({"Echo": lambda event, context: {"echoed": event}})

        with dispatch_lambdas(registry):
            assert LambdaSimpleBackend.invoke is not original
            inside = lambda_client.invoke(FunctionName="Echo", Payload=b'{"n": 1}')["Payload"].read()
            with pytest.raises(RuntimeError, match="already"), dispatch_lambdas(LambdaRegistry()):
                pass

        with pytest.raises(ZeroDivisionError), dispatch_lambdas(registry):
            1 / 0  # noqa: B018

        after = lambda_client.invoke(FunctionName="Echo", Payload=b'{"n": 1}')["Payload"].read()

    assert LambdaSimpleBackend.invoke is original
    assert json.loads(inside) == {"echoed": {"n": 1}}
    assert json.loads(after) == {"n": 1}


def test_direct_invocations_answer_like_the_lambda_runtime(stack: StackHarness) -> None:
    event_done = threading.Event()
    stack.function("Echo", lambda event, context: [event, context.invoked_function_arn])
    stack.function("Broken", lambda event, context: 1 / 0)
    stack.function("Unencodable", lambda event, context: {"when": datetime.date(2026, 11, 25)})
    stack.function("Notify", lambda event, context: event_done.set())
    invoke = stack.lambda_client.invoke

    by_name = invoke(FunctionName="Echo")
    by_arn = invoke(FunctionName=stack.arns["Echo"], Payload=b'"just a string"')
    broken = invoke(FunctionName="Broken", Payload=b"{}")
    unencodable = invoke(FunctionName="Unencodable")
    notified = invoke(FunctionName="Notify", InvocationType="Event", Payload=b"{}")

    assert by_name["ExecutedVersion"] == "$LATEST"
    assert json.loads(by_name["Payload"].read()) == [{}, stack.arns["Echo"]]
    assert json.loads(by_arn["Payload"].read()) == ["just a string", stack.arns["Echo"]]
    assert broken["FunctionError"] == "Unhandled"
    assert json.loads(broken["Payload"].read())["errorType"] == "ZeroDivisionError"
    assert unencodable["FunctionError"] == "Unhandled"
    assert json.loads(unencodable["Payload"].read())["errorType"] == "Runtime.MarshalError"
    assert notified["StatusCode"] == 202
    assert event_done.wait(5)


# TimeoutSeconds on a Task


@pytest.mark.parametrize("integration", ["lambda:invoke", "function ARN"])
def test_task_timeout_seconds_raises_states_timeout(stack: StackHarness, integration: str) -> None:
    released = threading.Event()

    def render(event: Any, context: LocalLambdaContext) -> str:
        released.wait(3)
        return "late"

    arn = stack.function("RenderScene", render)
    task: dict[str, Any] = (
        invoke_task(arn) if integration == "lambda:invoke" else {"Type": "Task", "Resource": arn}
    )
    task.update(
        TimeoutSeconds=1,
        Catch=[{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.failure", "Next": "TimedOut"}],
        End=True,
    )
    try:
        finished = stack.run(one_state(task, TimedOut={"Type": "Pass", "End": True}))
    finally:
        released.set()

    assert finished.status == "SUCCEEDED"
    assert finished.output["failure"]["Error"] == "States.Timeout"
    assert 1.0 <= finished.seconds < 2.5


# the rest of the ASL the workflow relies on


def test_state_machine_timeout_seconds_times_the_execution_out(stack: StackHarness) -> None:
    finished = stack.run(
        {
            "TimeoutSeconds": 1,
            "StartAt": "Wait",
            "States": {"Wait": {"Type": "Wait", "Seconds": 5, "End": True}},
        }
    )

    assert finished.status == "TIMED_OUT"
    assert finished.seconds < 2.5
    assert finished.event_types()[-1] == "ExecutionTimedOut"


def test_states_all_result_path_and_result_selector(stack: StackHarness) -> None:
    def assemble(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        if event["fail"]:
            raise RuntimeError("ffmpeg exited with 1")
        return {"film": "film.mp4", "seconds": 24, "debug": "dropped"}

    arn = stack.function("AssembleFilm", assemble)
    definition = one_state(
        invoke_task(
            arn,
            ResultSelector={"film.$": "$.Payload.film", "seconds.$": "$.Payload.seconds"},
            ResultPath="$.assembled",
            Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.failure", "Next": "Failed"}],
            End=True,
        ),
        Failed={"Type": "Pass", "End": True},
    )

    succeeded = stack.run(definition, {"video": "v1", "fail": False})
    caught = stack.run(definition, {"video": "v1", "fail": True})

    assert succeeded.output == {
        "video": "v1",
        "fail": False,
        "assembled": {"film": "film.mp4", "seconds": 24},
    }
    assert caught.status == "SUCCEEDED"
    assert caught.output["failure"]["Error"] == "RuntimeError"
    assert "assembled" not in caught.output


def test_item_selector_context_object_and_intrinsics(stack: StackHarness) -> None:
    received: list[dict[str, Any]] = []

    def plan_shot(event: dict[str, Any], context: LocalLambdaContext) -> dict[str, Any]:
        received.append(event)
        return {key: value for key, value in event.items() if key != "started"}

    arn = stack.function("PlanShot", plan_shot)
    definition = {
        "StartAt": "Scenes",
        "States": {
            "Scenes": {
                "Type": "Map",
                "ItemsPath": "$.headings",
                "ItemSelector": {
                    "heading.$": "$$.Map.Item.Value",
                    "index.$": "$$.Map.Item.Index",
                    "number.$": "States.MathAdd($$.Map.Item.Index, 1)",
                    "key.$": "States.Format('{}/scene_{}.mp4', $$.Execution.Name, $$.Map.Item.Index)",
                    "video.$": "$$.Execution.Name",
                    "started.$": "$$.Execution.StartTime",
                    "entered.$": "$$.State.EnteredTime",
                },
                "ItemProcessor": {"StartAt": "PlanShot", "States": {"PlanShot": invoke_task(arn, End=True)}},
                "ResultSelector": {"shots.$": "$[*].Payload"},
                "End": True,
            }
        },
    }

    finished = stack.run(definition, {"headings": ["INT. CAFE", "EXT. PIER"]}, name="video-42")

    assert finished.status == "SUCCEEDED"
    first, second = finished.output["shots"]
    assert first["heading"] == "INT. CAFE"
    assert (first["index"], first["number"]) == (0, 1)
    assert (second["index"], second["number"]) == (1, 2)
    assert second["key"] == "video-42/scene_1.mp4"
    assert first["video"] == "video-42"
    for stamp in (received[0]["started"], first["entered"]):
        moment = datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        assert abs((datetime.datetime.now(datetime.UTC) - moment).total_seconds()) < 30


@pytest.mark.xfail(
    raises=TypeError,
    strict=True,
    reason="moto 5.2.5 keeps $$.Execution.StartTime as a datetime: describe_execution cannot encode it",
)
def test_execution_start_time_can_reach_the_execution_output(stack: StackHarness) -> None:
    finished = stack.run(
        one_state({"Type": "Pass", "Parameters": {"started.$": "$$.Execution.StartTime"}, "End": True})
    )

    assert finished.status == "SUCCEEDED"


def test_stop_execution_aborts_a_waiting_execution(stack: StackHarness) -> None:
    started = time.monotonic()
    execution = stack.start(one_state({"Type": "Wait", "Seconds": 30, "End": True}))
    wait_until_waiting(stack, execution, iterations=1, started=started)

    stack.sfn.stop_execution(executionArn=execution)
    finished = stack.wait(execution, started=started)

    assert finished.status == "ABORTED"
    assert finished.seconds < 5
    assert finished.event_types()[-1] == "ExecutionAborted"


def test_stop_execution_halts_map_iterations_that_are_waiting(stack: StackHarness) -> None:
    stored: list[Any] = []
    started = time.monotonic()
    execution = stack.start(waiting_map(stack.function("StoreClip", lambda e, c: stored.append(e))), SCENES)
    wait_until_waiting(stack, execution, iterations=3, started=started)

    stack.sfn.stop_execution(executionArn=execution)
    finished = stack.wait(execution, started=started)
    time.sleep(0.2)

    assert finished.status != "RUNNING"
    assert finished.seconds < 5
    assert finished.event_types().count("MapIterationAborted") == 3
    assert stored == []


def test_a_stopped_executions_handler_runs_to_its_end_and_can_be_waited_for(stack: StackHarness) -> None:
    entered, release = threading.Event(), threading.Event()

    def store_clip(event: Any, context: LocalLambdaContext) -> str:
        entered.set()
        release.wait(20)
        return "stored"

    started = time.monotonic()
    execution = stack.start(one_state(invoke_task(stack.function("StoreClip", store_clip), End=True)))
    assert entered.wait(10)
    stack.sfn.stop_execution(executionArn=execution)

    still_storing = not stack.dispatch.wait_idle(0)
    release.set()

    assert still_storing, "a stop does not interrupt the handler"
    assert stack.dispatch.wait_idle(10)
    assert stack.wait(execution, started=started).status == "ABORTED"


@pytest.mark.xfail(
    strict=True,
    reason="moto 5.2.5: a stop during a Map fails the execution with States.Runtime (AttributeError)",
)
def test_stop_execution_during_a_map_reports_aborted(stack: StackHarness) -> None:
    started = time.monotonic()
    execution = stack.start(waiting_map(stack.function("StoreClip", lambda e, c: None)), SCENES)
    wait_until_waiting(stack, execution, iterations=3, started=started)

    stack.sfn.stop_execution(executionArn=execution)

    assert stack.wait(execution, started=started).status == "ABORTED"


SCENES = {"scenes": [1, 2, 3]}


def waiting_map(store_arn: str) -> dict[str, Any]:
    return {
        "StartAt": "Scenes",
        "States": {
            "Scenes": {
                "Type": "Map",
                "ItemsPath": "$.scenes",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "StartAt": "WaitForProvider",
                    "States": {
                        "WaitForProvider": {"Type": "Wait", "Seconds": 30, "Next": "StoreClip"},
                        "StoreClip": invoke_task(store_arn, End=True),
                    },
                },
                "End": True,
            }
        },
    }


def wait_until_waiting(stack: StackHarness, execution_arn: str, *, iterations: int, started: float) -> None:
    while True:
        entered = sum(event["type"] == "WaitStateEntered" for event in stack.history(execution_arn))
        if entered >= iterations:
            return
        assert time.monotonic() - started < 10, "the execution never reached its Wait"
        time.sleep(0.05)
