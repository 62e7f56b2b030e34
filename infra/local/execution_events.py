"""EventBridge's execution status events, played by the local stack.

On AWS, Step Functions sends "Step Functions Execution Status Change" events to EventBridge, and
a rule sends those of executions that ended FAILED, TIMED_OUT or ABORTED to the Cleanup function
(`infra/constructs/cleanup.py`). moto has neither the events nor a hook for them, so
:func:`watch_execution_ends` wraps the one place its Step Functions engine (moto 5.2.5) records
how an execution ended, ``BaseExecutionWorkerCommunication.terminated``, and hands each ended
execution, as the event EventBridge would deliver, to a callback. ``terminated`` runs on the
execution's own thread once its program has stopped, after the status `describe_execution`
reports is set.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Final

from moto.stepfunctions.parser.backend.execution import BaseExecutionWorkerCommunication

LOG = logging.getLogger(__name__)

STATUS_CHANGE: Final = "Step Functions Execution Status Change"

ExecutionEndedCallback = Callable[[dict[str, Any]], None]

_patch_lock = threading.Lock()
_original_terminated: Final = BaseExecutionWorkerCommunication.terminated


def _epoch_millis(value: Any) -> int | None:
    """EventBridge gives the execution's dates as epoch milliseconds."""
    return int(value.timestamp() * 1000) if isinstance(value, datetime) else None


def status_change_event(execution: Any) -> dict[str, Any]:
    """The EventBridge event of an ended moto execution, shaped as AWS sends it (the input and
    output left out, as they are when an execution's data is not included)."""
    status = getattr(execution.exec_status, "value", str(execution.exec_status))
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": STATUS_CHANGE,
        "source": "aws.states",
        "account": execution.account_id,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": execution.region_name,
        "resources": [execution.exec_arn],
        "detail": {
            "executionArn": execution.exec_arn,
            "stateMachineArn": execution.state_machine_arn,
            "name": execution.name,
            "status": status,
            "startDate": _epoch_millis(execution.start_date),
            "stopDate": _epoch_millis(execution.stop_date),
            "input": None,
            "output": None,
            "error": execution.error,
            "cause": execution.cause,
        },
    }


@contextmanager
def watch_execution_ends(callback: ExecutionEndedCallback) -> Iterator[None]:
    """Call `callback(event)` for every execution that ends while the block lasts. A callback
    that raises is logged: it must never break moto's engine. One watch at a time."""

    def terminated(self: BaseExecutionWorkerCommunication) -> None:
        _original_terminated(self)
        try:
            callback(status_change_event(self.execution))
        except Exception:
            LOG.exception("handling the end of execution %s failed", self.execution.exec_arn)

    with _patch_lock:
        if BaseExecutionWorkerCommunication.terminated is not _original_terminated:
            raise RuntimeError("execution ends are already being watched in this process")
        BaseExecutionWorkerCommunication.terminated = terminated  # type: ignore[method-assign]
    try:
        yield
    finally:
        with _patch_lock:
            BaseExecutionWorkerCommunication.terminated = _original_terminated  # type: ignore[method-assign]
