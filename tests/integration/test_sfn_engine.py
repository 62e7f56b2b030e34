"""The three fixes to moto 5.2.5's Step Functions engine (`infra.local.sfn_engine`), each shown
failing without its fix and holding with it, on two tiny state machines: a film whose Map starts
one child execution per item through `startExecution.sync:2`, and a child that waits."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any, ClassVar

import boto3
import pytest
from moto import mock_aws
from moto.stepfunctions.parser.backend import execution_worker
from moto.stepfunctions.parser.utils import TMP_THREADS

from infra.local import sfn_engine
from infra.local.sfn_engine import faithful_child_executions

BOUND_SECONDS = 60
ROLE = "arn:aws:iam::123456789012:role/film"
CHILD = {
    "StartAt": "Work",
    "States": {
        "Work": {"Type": "Wait", "SecondsPath": "$.seconds", "Next": "Done"},
        "Done": {"Type": "Succeed"},
    },
}


def parent(child_arn: str) -> dict[str, Any]:
    return {
        "StartAt": "Scenes",
        "States": {
            "Scenes": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "RunScene",
                    "States": {
                        "RunScene": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::states:startExecution.sync:2",
                            "Parameters": {
                                "StateMachineArn": child_arn,
                                "Name.$": "$.name",
                                "Input": {"seconds.$": "$.seconds"},
                            },
                            "ResultSelector": {"status.$": "$.Status", "output.$": "$.Output"},
                            "Catch": [
                                {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Missed"}
                            ],
                            "End": True,
                        },
                        "Missed": {"Type": "Pass", "End": True},
                    },
                },
                "End": True,
            }
        },
    }


class Machines:
    def __init__(self) -> None:
        self.sfn = boto3.session.Session(region_name="us-east-1").client("stepfunctions")
        self.child = self.sfn.create_state_machine(name="child", definition=json.dumps(CHILD), roleArn=ROLE)[
            "stateMachineArn"
        ]
        self.film = self.sfn.create_state_machine(
            name="film", definition=json.dumps(parent(self.child)), roleArn=ROLE
        )["stateMachineArn"]

    def start(self, seconds: int, names: list[str]) -> str:
        items = [{"name": name, "seconds": seconds} for name in names]
        return str(
            self.sfn.start_execution(stateMachineArn=self.film, input=json.dumps({"items": items}))[
                "executionArn"
            ]
        )

    def status(self, arn: str) -> str:
        return str(self.sfn.describe_execution(executionArn=arn)["status"])

    def children(self) -> dict[str, str]:
        listed = self.sfn.list_executions(stateMachineArn=self.child)["executions"]
        return {e["name"]: e["status"] for e in listed}

    def until(self, check: Callable[[], bool]) -> None:
        deadline = time.monotonic() + BOUND_SECONDS
        while not check():
            assert time.monotonic() < deadline, "what the test waits for never happened"
            time.sleep(0.05)


@pytest.fixture(params=[False, True], ids=["moto-as-it-is", "with-the-fixes"])
def machines(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Machines, bool]]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    fixed = bool(request.param)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config), faithful_child_executions() if fixed else nullcontext():  # type: ignore[arg-type]
        yield Machines(), fixed


def test_a_child_execution_starts_under_its_name_only_with_the_casing_fix(
    machines: tuple[Machines, bool],
) -> None:
    sfn, fixed = machines
    film = sfn.start(0, ["video-1-s001", "video-1-s002"])
    sfn.until(lambda: sfn.status(film) != "RUNNING")

    output = json.loads(sfn.sfn.describe_execution(executionArn=film)["output"])
    if fixed:
        assert sfn.children() == {"video-1-s001": "SUCCEEDED", "video-1-s002": "SUCCEEDED"}
        assert [item["status"] for item in output] == ["SUCCEEDED", "SUCCEEDED"]
        assert output[0]["output"] == {"seconds": 0}, "the child's output, parsed"
    else:
        assert sfn.children() == {}
        assert "StateMachineArn" in output[0]["error"]["Cause"], "getmoto/moto#10076: the casing is lost"


def test_stopping_the_film_stops_its_children_and_ends_aborted_only_with_the_fixes(
    machines: tuple[Machines, bool],
) -> None:
    sfn, fixed = machines
    if not fixed:
        pytest.skip("without the casing fix no child starts at all (the test above)")
    film = sfn.start(30, ["video-2-s001", "video-2-s002"])
    sfn.until(lambda: list(sfn.children().values()).count("RUNNING") == 2)

    sfn.sfn.stop_execution(executionArn=film)
    sfn.until(lambda: "RUNNING" not in sfn.children().values() and sfn.status(film) != "RUNNING")

    assert sfn.status(film) == "ABORTED"
    assert sfn.children() == {"video-2-s001": "ABORTED", "video-2-s002": "ABORTED"}


def test_without_the_stop_fixes_children_run_on_and_the_stop_is_reported_failed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The two stop fixes pinned one by one: with the casing fix alone, moto leaves the children
    of a stopped film running and ends the film FAILED, not ABORTED."""
    from infra.local import sfn_engine

    for name, value in {
        "AWS_ACCESS_KEY_ID": "t",
        "AWS_SECRET_ACCESS_KEY": "t",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config), faithful_child_executions():  # type: ignore[arg-type]
        # Undo the two stop fixes, keep the casing one.
        monkeypatch.setattr(
            sfn_engine.StateTaskServiceSfn,
            "_eval_integration_pattern",
            sfn_engine._ORIGINALS["_eval_integration_pattern"],
        )
        monkeypatch.setattr(sfn_engine.Environment, "set_error", sfn_engine._ORIGINALS["set_error"])
        sfn = Machines()
        film = sfn.start(3, ["video-3-s001"])
        sfn.until(lambda: list(sfn.children().values()) == ["RUNNING"])
        sfn.sfn.stop_execution(executionArn=film)
        sfn.until(lambda: sfn.status(film) != "RUNNING")
        film_status, children_right_after = sfn.status(film), sfn.children()
        monkeypatch.undo()

    assert film_status == "FAILED"
    assert children_right_after == {"video-3-s001": "RUNNING"}


class _HeldThread(threading.Thread):
    """An execution's thread that begins only when the test lets it."""

    held: ClassVar[list[_HeldThread]] = []

    def start(self) -> None:
        _HeldThread.held.append(self)

    def release(self) -> None:
        threading.Thread.start(self)


def test_a_stop_before_the_execution_thread_begins_ends_it_aborted_only_with_the_fix(
    machines: tuple[Machines, bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    sfn, fixed = machines
    monkeypatch.setattr(execution_worker, "Thread", _HeldThread)
    _HeldThread.held.clear()
    arn = sfn.sfn.start_execution(stateMachineArn=sfn.child, input=json.dumps({"seconds": 2}))["executionArn"]
    monkeypatch.undo()  # the engine's own threads start as usual from here

    (thread,) = _HeldThread.held
    if not fixed:
        with pytest.raises(AttributeError, match="set_stop"):
            sfn.sfn.stop_execution(executionArn=arn)
        thread.release()
        assert sfn.status(arn) == "RUNNING", "moto's stop failed and the execution runs on"
        sfn.until(lambda: sfn.status(arn) != "RUNNING")
        return
    # The stop is sent while the execution's thread has not begun; the thread begins only once
    # the stop is waiting for it.
    waits: list[float] = []
    sleep = time.sleep

    def wait_and_let_it_begin(seconds: float) -> None:
        if not waits:
            thread.release()
        waits.append(seconds)
        sleep(seconds)

    with pytest.MonkeyPatch.context() as waiting:
        waiting.setattr(sfn_engine.time, "sleep", wait_and_let_it_begin)
        sfn.sfn.stop_execution(executionArn=arn)
    assert waits, "the stop came before the execution's thread began"
    sfn.until(lambda: sfn.status(arn) != "RUNNING")
    assert sfn.status(arn) == "ABORTED"


def _engine_thread_failing() -> None:
    def fail() -> None:
        raise RuntimeError("the mock is gone")

    thread = threading.Thread(target=fail, name="WaitForTaskToken_SyncTask_test", daemon=True)
    TMP_THREADS.append(thread)
    try:
        thread.start()
        thread.join()
    finally:
        TMP_THREADS.remove(thread)


def test_an_engine_thread_that_outlives_its_stack_is_quiet_one_while_it_runs_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []
    monkeypatch.setattr(
        threading, "excepthook", sfn_engine._quiet_after_the_stack(lambda a: seen.append(str(a.exc_value)))
    )

    _engine_thread_failing()
    assert seen == [], "after its stack, an engine thread's failure is only logged"
    with faithful_child_executions():
        _engine_thread_failing()
    assert seen == ["the mock is gone"]


def test_the_stack_installs_the_guard_in_front_of_the_hook_there(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    monkeypatch.setattr(threading, "excepthook", lambda a: seen.append(str(a.exc_value)))

    with faithful_child_executions():
        pass
    _engine_thread_failing()
    other = threading.Thread(target=lambda: 1 / 0)
    other.start()
    other.join()

    assert seen == ["division by zero"], "only the engine's leftover thread is quieted"
