"""Run the project's Lambda handlers in-process when moto's Step Functions engine invokes them.

With ``mock_aws(config={"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker":
False}})`` moto executes the real ASL file, and every Lambda Task becomes a ``lambda.Invoke`` call
answered by ``moto.awslambda_simple.models.LambdaSimpleBackend.invoke``, which runs no code. moto
has no public hook for this, so :func:`dispatch_lambdas` swaps that one method, for as long as its
``with`` block lasts, for a dispatcher that calls the handler registered under the function's
name, the way the Lambda runtime would:

* the function must exist in moto (:func:`deploy_functions`); otherwise the call fails with
  ``ResourceNotFoundException`` as on AWS, and so does a deployed function with no registered
  handler (its message says so);
* the request body is the event (an empty body is ``{}``); the handler gets a
  :class:`LocalLambdaContext`; its return value is answered as JSON;
* an exception becomes a function error: header ``X-Amz-Function-Error: Unhandled`` and the body
  ``{"errorType": <class name>, "errorMessage", "requestId", "stackTrace"}``, so Retry and Catch
  match the exception's class name, exactly as for the Python runtime on AWS. A result that is not
  JSON becomes ``Runtime.MarshalError``;
* ``InvocationType=Event`` runs the handler on a background thread and answers at once (202);
  ``DryRun`` only checks that the function exists.

Handlers run on moto's execution threads: the iterations of a Map really call them concurrently,
in one process, so module-level state is shared between "invocations". A handler runs with
``moto_lock.MOTO_LOCK`` released, although moto's invoke call is still under way around it: its
own calls into moto take the lock again, one at a time like every other call. The function's configured
``Timeout`` only feeds ``get_remaining_time_in_millis``; nothing interrupts a slow handler.

What moto 5.2.5 does with the two ways of writing a Lambda Task (both seen in tests):

* ``"Resource": "arn:aws:states:::lambda:invoke"`` with ``"Parameters": {"FunctionName": <ARN>,
  "Payload.$": "$"}`` gives the whole invoke response, ``{"ExecutedVersion": "$LATEST",
  "Payload": <handler result>, "StatusCode": 200}`` (AWS adds ``SdkHttpMetadata`` and
  ``SdkResponseMetadata``), so ``"ResultSelector": {"...": "$.Payload..."}`` or
  ``"OutputPath": "$.Payload"`` works the same here and on AWS. A handler error is the error
  ``<class name>``; an API failure is ``Lambda.<code>`` (``Lambda.ResourceNotFoundException``...).
* a plain function ARN as ``Resource`` gives the handler's result itself; an API failure is the
  generic error ``Exception``.

Write the ASL the first way: it is the form AWS recommends, its Retry on
``Lambda.ServiceException``, ``Lambda.AWSLambdaException``, ``Lambda.SdkClientException`` and
``Lambda.TooManyRequestsException`` matches the errors moto raises too, and the output shape is
the same locally and on AWS up to the metadata nobody should select.

Where moto 5.2.5 differs from AWS (each pinned by a test):

* a Task's ``TimeoutSeconds`` raises ``States.Timeout`` on time, but the handler runs on to the
  end in its thread; the top-level ``TimeoutSeconds`` ends the execution as ``TIMED_OUT``;
* ``stop_execution`` during a Map halts the iterations but ends the execution ``FAILED`` with
  ``States.Runtime`` instead of ``ABORTED`` (outside a Map it is ``ABORTED``); the ``error`` and
  ``cause`` given to ``stop_execution`` are dropped. Record a cancellation in the store first;
* ``$$.Execution.StartTime`` is a datetime object: it reaches a Lambda as an ISO string, but
  ``States.Format`` on it fails the state and ``describe_execution`` raises if it reaches the
  output. ``$$.State.EnteredTime`` is a string everywhere;
* ``get_execution_history`` returns every event in one page; use its paginator anyway;
* moto's S3 event notifications call Lambda functions without going through this dispatch.
"""

from __future__ import annotations

import io
import json
import logging
import re
import threading
import time
import traceback
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction
from moto.awslambda_simple.models import LambdaSimpleBackend

from infra.local.moto_lock import MOTO_LOCK

__all__ = [
    "LambdaDispatch",
    "LambdaHandler",
    "LambdaRegistry",
    "LocalLambdaContext",
    "deploy_functions",
    "dispatch_lambdas",
]

LOG = logging.getLogger(__name__)

LambdaHandler = Callable[[Any, "LocalLambdaContext"], Any]
"""``handler(event, context)``, returning anything JSON can encode."""

_FUNCTION_NAME: Final = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EXECUTION_ROLE_TRUST: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# The code is never run: handlers are registered in-process. Lambda only insists on a zip.
_PLACEHOLDER_SOURCE: Final = (
    "def handler(event, context):\n"
    '    raise RuntimeError("runs in-process in the local stack; see infra/local")\n'
)


@dataclass
class LocalLambdaContext:
    """The attributes of the Lambda runtime's context object that handlers and Powertools read."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout_seconds: float
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


class LambdaRegistry:
    """Function name → in-process handler. Safe to read and extend while executions run."""

    def __init__(self, handlers: Mapping[str, LambdaHandler] | None = None) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[str, LambdaHandler] = {}
        for name, handler in (handlers or {}).items():
            self.register(name, handler)

    def register(self, function_name: str, handler: LambdaHandler) -> None:
        """Register ``handler`` under a plain function name (not an ARN, no qualifier)."""
        if not _FUNCTION_NAME.match(function_name):
            raise ValueError(f"not a Lambda function name: {function_name!r}")
        if not callable(handler):
            raise TypeError(f"the handler for {function_name!r} is not callable")
        with self._lock:
            self._handlers[function_name] = handler

    def handler_for(self, function_name: str) -> LambdaHandler | None:
        with self._lock:
            return self._handlers.get(function_name)

    @property
    def function_names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._handlers))


class _NoHandlerError(LambdaClientError):
    code = 404

    def __init__(self, function_arn: str, registered: Iterable[str]) -> None:
        known = ", ".join(registered) or "none"
        super().__init__(
            "ResourceNotFoundException",
            f"Function not found: {function_arn} has no in-process handler (registered: {known})",
        )


class _InvalidRequestContentError(LambdaClientError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "InvalidRequestContentException", f"Could not parse request body into json: {detail}"
        )


class LambdaDispatch:
    """The replacement for ``LambdaSimpleBackend.invoke`` while a dispatch is active, and what it
    knows of the invocations under way."""

    def __init__(self, registry: LambdaRegistry) -> None:
        self.registry = registry
        self._changed = threading.Condition()
        self._running: Counter[str] = Counter()

    def invoke(
        self,
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        function = backend.get_function(function_name, qualifier)
        handler = self.registry.handler_for(function.function_name)
        if handler is None:
            raise _NoHandlerError(function.function_arn, self.registry.function_names)

        invocation_type = headers.get("X-Amz-Invocation-Type") or "RequestResponse"
        if invocation_type == "DryRun":
            return b""
        event = _decode_event(body)
        context = _context_for(function, _invoked_arn(function, function_name, qualifier))
        if invocation_type == "Event":
            self._start_async(handler, event, context)
            return b""

        # moto is mid-call (holding MOTO_LOCK when its calls are serialised); the handler calls moto
        # itself and may run for seconds, concurrently with other invocations.
        with MOTO_LOCK.released(), self._counted(context.function_name):
            payload, function_error = _run(handler, event, context)
        if function_error:
            response_headers["x-amz-function-error"] = function_error
        response_headers["x-amz-executed-version"] = str(function.version)
        response_headers["Content-Length"] = str(len(payload))
        return payload

    @contextmanager
    def _counted(self, function_name: str) -> Iterator[None]:
        with self._changed:
            self._running[function_name] += 1
        try:
            yield
        finally:
            with self._changed:
                self._running[function_name] -= 1
                self._changed.notify_all()

    def _start_async(self, handler: LambdaHandler, event: Any, context: LocalLambdaContext) -> None:
        def run() -> None:
            try:
                _run(handler, event, context)
            finally:
                with self._changed:
                    self._running[context.function_name] -= 1
                    self._changed.notify_all()

        thread = threading.Thread(target=run, name=f"lambda-event-{context.function_name}", daemon=True)
        with self._changed:
            self._running[context.function_name] += 1
        thread.start()

    def wait_idle(self, timeout_seconds: float) -> bool:
        """Wait until no handler is running (an execution that was stopped leaves its Task
        handlers running to their end); False if some still are after `timeout_seconds`."""
        with self._changed:
            return self._changed.wait_for(lambda: not +self._running, timeout_seconds)

    def drain(self, timeout_seconds: float) -> None:
        """Wait for the invocations still running, so none outlives the dispatch unnoticed."""
        if not self.wait_idle(timeout_seconds):
            with self._changed:
                still_running = sorted((+self._running).elements())
            LOG.warning("Lambda invocations still running: %s", ", ".join(still_running))


def _decode_event(body: Any) -> Any:
    if body is None or body in (b"", ""):
        return {}
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _InvalidRequestContentError(str(exc)) from exc


def _invoked_arn(function: LambdaFunction, function_name: str, qualifier: str | None) -> str:
    if function_name.startswith("arn:"):
        return function_name
    return f"{function.function_arn}:{qualifier}" if qualifier else function.function_arn


def _context_for(function: LambdaFunction, invoked_arn: str) -> LocalLambdaContext:
    request_id = str(uuid.uuid4())
    return LocalLambdaContext(
        function_name=function.function_name,
        function_version=str(function.version),
        invoked_function_arn=invoked_arn,
        memory_limit_in_mb=int(function.memory_size),
        aws_request_id=request_id,
        log_group_name=f"/aws/lambda/{function.function_name}",
        log_stream_name=f"{time.strftime('%Y/%m/%d')}/[{function.version}]{request_id.replace('-', '')}",
        timeout_seconds=float(function.timeout),
    )


def _run(handler: LambdaHandler, event: Any, context: LocalLambdaContext) -> tuple[bytes, str | None]:
    """Call the handler and answer as the Lambda runtime does: (payload, function error or None)."""
    try:
        result = handler(event, context)
    except Exception as exc:
        LOG.info("%s raised %s: %s", context.function_name, type(exc).__name__, exc)
        return _error_payload(type(exc).__name__, str(exc), context, exc), "Unhandled"
    try:
        return json.dumps(result).encode(), None
    except (TypeError, ValueError) as exc:
        message = f"Unable to marshal response: {exc}"
        return _error_payload("Runtime.MarshalError", message, context, None), "Unhandled"


def _error_payload(
    error_type: str, message: str, context: LocalLambdaContext, exc: BaseException | None
) -> bytes:
    # The first frame is the call in _run; the runtime on AWS reports from the handler down.
    handler_frames = exc.__traceback__.tb_next if exc is not None and exc.__traceback__ else None
    stack = traceback.format_tb(handler_frames)
    return json.dumps(
        {
            "errorType": error_type,
            "errorMessage": message,
            "requestId": context.aws_request_id,
            "stackTrace": stack,
        }
    ).encode()


_patch_lock = threading.Lock()
_original_invoke: Final = LambdaSimpleBackend.invoke


@contextmanager
def dispatch_lambdas(registry: LambdaRegistry, *, drain_seconds: float = 30.0) -> Iterator[LambdaDispatch]:
    """Dispatch every Lambda invoke in this process to ``registry`` until the block ends.

    One dispatch at a time: nesting or overlapping them is refused rather than guessed at. On
    exit, invocations still running (Event ones, and the handlers of stopped executions) get up
    to ``drain_seconds`` to finish, then moto's own ``invoke`` is restored.
    """
    dispatcher = LambdaDispatch(registry)

    def invoke(
        backend: LambdaSimpleBackend,
        function_name: str,
        qualifier: str | None,
        body: Any,
        headers: Any,
        response_headers: Any,
    ) -> bytes:
        return dispatcher.invoke(backend, function_name, qualifier, body, headers, response_headers)

    with _patch_lock:
        if LambdaSimpleBackend.invoke is not _original_invoke:
            raise RuntimeError("Lambda invocations are already being dispatched in this process")
        LambdaSimpleBackend.invoke = invoke  # type: ignore[method-assign, assignment]
    try:
        yield dispatcher
    finally:
        dispatcher.drain(drain_seconds)
        with _patch_lock:
            LambdaSimpleBackend.invoke = _original_invoke  # type: ignore[method-assign]


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.py", _PLACEHOLDER_SOURCE)
    return buffer.getvalue()


def deploy_functions(
    function_names: Iterable[str],
    *,
    lambda_client: Any,
    iam_client: Any,
    role_name: str = "script-to-film-local-lambda",
    timeout_seconds: int = 60,
    memory_mb: int = 512,
    environment: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Create the functions in the local Lambda service (once each) and return name → ARN.

    Lambda refuses a role that IAM does not know, so the execution role is created first. Both
    steps tolerate what already exists, so a second call returns the same ARNs.
    """
    try:
        role_arn = iam_client.create_role(RoleName=role_name, AssumeRolePolicyDocument=_EXECUTION_ROLE_TRUST)[
            "Role"
        ]["Arn"]
    except iam_client.exceptions.EntityAlreadyExistsException:
        role_arn = iam_client.get_role(RoleName=role_name)["Role"]["Arn"]

    code = _placeholder_zip()
    arns: dict[str, str] = {}
    for name in function_names:
        try:
            arns[name] = lambda_client.create_function(
                FunctionName=name,
                Runtime="python3.13",
                Role=role_arn,
                Handler="index.handler",
                Code={"ZipFile": code},
                Timeout=timeout_seconds,
                MemorySize=memory_mb,
                Environment={"Variables": dict(environment or {})},
            )["FunctionArn"]
        except lambda_client.exceptions.ResourceConflictException:
            arns[name] = lambda_client.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    return arns
