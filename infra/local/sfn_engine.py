"""Four fixes to moto 5.2.5's Step Functions engine, and one guard, so that the film's scenes run as child
executions (`startExecution.sync:2`) as they do on AWS. Applied by `faithful_child_executions`
for as long as its `with` block lasts, beside the Lambda dispatch, and pinned by tests
(`tests/integration/test_sfn_engine.py`), each of which fails without its fix.

1. **Request and response casing.** moto's port of the interpreter reduced the service task's
   `_normalise_parameters` and `_normalise_response` to nothing (getmoto/moto#10076), so the
   ASL's `StateMachineArn`, `Name` and `Input` reach boto3 as they are and the Task fails
   `States.Runtime` (`'StateMachineArn'`). For the Step Functions service task only, they are
   converted through botocore's own model, as upstream does; the answer's datetimes become epoch
   seconds, as AWS sends them (a datetime left in the parent's state breaks `describe_execution`).
2. **A stopped parent stops its child.** AWS stops the child execution of a `.sync` Task whose
   execution stops; moto's task just leaves its poll loop and the child runs on. When the task
   returns with its execution no longer running, the child is stopped.
3. **A stop is ABORTED.** A stop during a Map ended the execution FAILED (`States.Runtime`),
   because the Map's failure after the stop overwrote the stopped state; a stopped program now
   stays stopped, and the execution ends ABORTED as on AWS.
4. **A stop right after the start.** moto builds an execution's environment on the thread that
   runs it, so a StopExecution that arrives before that thread has begun fails inside moto
   (`AttributeError: 'NoneType' object has no attribute 'set_stop'`) and the execution runs on:
   a cancel landing just as a scene's execution started did not stop it. Such a stop now waits
   (a few milliseconds; at most `STOP_WAITS_FOR_START_SECONDS`) until the program runs, then
   stops it, and the execution ends ABORTED.

And a guard: the engine runs each execution on daemon threads that no stop joins. One of a
stopped execution can wake after its local stack has closed, call into a mock that is gone, and
print a traceback (`NoCredentialsError`) on the user's terminal after a Ctrl-C. An engine
thread's exception raised while no stack runs is logged at DEBUG instead; one raised while a
stack runs still reaches the previous hook.
"""

from __future__ import annotations

import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final

import moto
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service_sfn import (
    StateTaskServiceSfn,
)
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils.boto_client import boto_client_for
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker
from moto.stepfunctions.parser.utils import TMP_THREADS, camel_to_snake_case

MOTO_VERSION: Final = "5.2.5"
"""The version these fixes were written against; another refuses to start rather than guess."""

LOG = logging.getLogger(__name__)

_patch_lock = threading.Lock()
_ORIGINALS: Final = {
    "_normalise_parameters": StateTaskServiceSfn._normalise_parameters,
    "_normalise_response": StateTaskServiceSfn._normalise_response,
    "_from_boto_response_value": StateTaskService.__dict__["_from_boto_response_value"],
    "_eval_integration_pattern": StateTaskServiceSfn._eval_integration_pattern,
    "set_error": Environment.set_error,
    "stop": ExecutionWorker.stop,
}

STOP_WAITS_FOR_START_SECONDS: Final = 5.0


@functools.cache
def _operation_model(service: str, action: str) -> Any:
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    names = {camel_to_snake_case(name): name for name in model.operation_names}
    return model.operation_model(names[camel_to_snake_case(action)])


def _normalise_parameters(
    self: StateTaskServiceSfn,
    parameters: dict[str, Any],
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    # moto's own step first: it JSON-encodes an `Input` given as an object, as AWS accepts it.
    _ORIGINALS["_normalise_parameters"](self, parameters, boto_service_name, service_action_name)
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation.input_shape is not None:
        self._to_boto_request(parameters, operation.input_shape)


def _normalise_response(
    self: StateTaskServiceSfn,
    response: Any,
    boto_service_name: str | None = None,
    service_action_name: str | None = None,
) -> None:
    operation = _operation_model(
        self._get_boto_service_name(boto_service_name), self._get_boto_service_action(service_action_name)
    )
    if operation.output_shape is not None:
        self._from_boto_response(response, operation.output_shape)


def _from_boto_response_value(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    return _ORIGINALS["_from_boto_response_value"].__func__(value)


def _eval_integration_pattern(
    self: StateTaskServiceSfn,
    env: Any,
    resource_runtime_part: Any,
    normalised_parameters: dict[str, Any],
    state_credentials: Any,
) -> None:
    submitted = env.stack[-1] if env.stack else None
    child = submitted.get("ExecutionArn") if isinstance(submitted, dict) else None
    try:
        _ORIGINALS["_eval_integration_pattern"](
            self, env, resource_runtime_part, normalised_parameters, state_credentials
        )
    finally:
        if child and not env.is_running():
            from botocore.exceptions import ClientError

            client = boto_client_for(
                region=resource_runtime_part.region,
                service="stepfunctions",
                state_credentials=state_credentials,
            )
            try:
                if client.describe_execution(executionArn=child)["status"] == "RUNNING":
                    client.stop_execution(executionArn=child)
            except ClientError:
                pass  # it ended meanwhile


def _set_error_unless_stopped(self: Environment, error: Any) -> None:
    with self._state_mutex:
        if isinstance(self._program_state, ProgramStopped):
            return
    _ORIGINALS["set_error"](self, error)


def _stop_once_running(
    self: ExecutionWorker, stop_date: datetime.datetime, error: str | None, cause: str | None
) -> None:
    # The program's state is set on the execution's own thread, a moment after it begins; that
    # thread needs nothing from the caller, so waiting here cannot deadlock.
    deadline = time.monotonic() + STOP_WAITS_FOR_START_SECONDS
    while (self.env is None or self.env.program_state() is None) and time.monotonic() < deadline:
        time.sleep(0.005)
    _ORIGINALS["stop"](self, stop_date=stop_date, error=error, cause=cause)


def _applied() -> bool:
    return StateTaskServiceSfn._normalise_parameters is not _ORIGINALS["_normalise_parameters"]


def _quiet_after_the_stack(previous: Callable[[threading.ExceptHookArgs], Any]) -> Callable[..., None]:
    def hook(args: threading.ExceptHookArgs) -> None:
        if args.thread in TMP_THREADS and not _applied():
            LOG.debug(
                "a Step Functions engine thread (%s) outlived its local stack",
                getattr(args.thread, "name", "?"),
                exc_info=(args.exc_type, args.exc_value, args.exc_traceback),  # type: ignore[arg-type]
            )
            return
        previous(args)

    hook.quiets_leftover_engine_threads = True  # type: ignore[attr-defined]
    return hook


def _guard_leftover_threads() -> None:
    """Install the guard once per process, in front of whatever hook is there."""
    if not getattr(threading.excepthook, "quiets_leftover_engine_threads", False):
        threading.excepthook = _quiet_after_the_stack(threading.excepthook)


@contextmanager
def faithful_child_executions() -> Iterator[None]:
    """Apply the four fixes until the block ends. One at a time in a process."""
    if moto.__version__ != MOTO_VERSION:
        raise RuntimeError(f"these fixes are for moto {MOTO_VERSION}, not {moto.__version__}: check them")
    with _patch_lock:
        if _applied():
            raise RuntimeError("the Step Functions engine fixes are already applied in this process")
        _guard_leftover_threads()
        StateTaskServiceSfn._normalise_parameters = _normalise_parameters  # type: ignore[method-assign]
        StateTaskServiceSfn._normalise_response = _normalise_response  # type: ignore[method-assign, assignment]
        StateTaskServiceSfn._from_boto_response_value = staticmethod(_from_boto_response_value)  # type: ignore[method-assign, assignment]
        StateTaskServiceSfn._eval_integration_pattern = _eval_integration_pattern  # type: ignore[method-assign, assignment]
        Environment.set_error = _set_error_unless_stopped  # type: ignore[method-assign]
        ExecutionWorker.stop = _stop_once_running  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _patch_lock:
            StateTaskServiceSfn._normalise_parameters = _ORIGINALS["_normalise_parameters"]  # type: ignore[method-assign]
            StateTaskServiceSfn._normalise_response = _ORIGINALS["_normalise_response"]  # type: ignore[method-assign]
            del StateTaskServiceSfn._from_boto_response_value  # the base class's again
            StateTaskServiceSfn._eval_integration_pattern = _ORIGINALS["_eval_integration_pattern"]  # type: ignore[method-assign]
            Environment.set_error = _ORIGINALS["set_error"]  # type: ignore[method-assign]
            ExecutionWorker.stop = _ORIGINALS["stop"]  # type: ignore[method-assign]
