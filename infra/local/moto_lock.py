"""One lock around moto, so that the local stack's threads cannot race its in-memory backends.

moto's backends are plain dicts and lists with no locking of their own, and the local stack calls
them from many threads at once: the Map iterations of every running execution, the API's
requests, the CLI following a run. A DynamoDB query iterates an item's attributes while an
``update_item`` on another thread adds one, and fails with ``RuntimeError: dictionary changed
size during iteration``. So while :func:`serialise_moto` is active every call into moto holds
:data:`MOTO_LOCK`, on both of moto's entrances:

* in-process boto3 calls reach moto through
  ``moto.core.botocore_stubber.BotocoreStubber.process_request`` (botocore's ``before-send``
  event calls it, and so does moto's ``responses`` callback for ``requests``);
* HTTP calls to moto's own server (``ThreadedMotoServer``, which ``stf serve`` runs for S3) reach
  it through the WSGI application ``moto.moto_server.werkzeug_app.DomainDispatcherApplication``;
  its answer is read whole inside the lock, as moto builds it in memory anyway.

The lock is reentrant, and its holder can let go of it for a while (:meth:`MotoLock.released`).
That matters once: a Lambda invoke is answered by our handler *inside* moto's call (moto's Step
Functions engine → boto3 ``lambda.invoke`` → the stubber → ``LambdaSimpleBackend.invoke`` →
``lambda_dispatch``), and the handler calls moto itself and may run for seconds (an ffmpeg
render). The dispatch runs the handler with the lock released, so handlers run concurrently, as
the iterations of a Map do on AWS, and each of their own calls takes the lock again.

Where moto 5.2.5 waits (read in its source, pinned by tests): the Step Functions engine runs
every execution on threads of its own, and its Wait states (``Event.wait``) and Retry back-off
(``time.sleep``) happen on those threads between calls, never inside one, so they never hold the
lock. The engine keeps its execution history under a mutex of its own. Two things would break
this and the local stack does neither: ``start_sync_execution`` runs a whole execution inside
the call, Wait states and all; and a state machine with CloudWatch logging publishes each history
event through boto3 while holding the engine's history mutex, which ``get_execution_history``
takes under this lock (a deadlock).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final

from moto.core.botocore_stubber import BotocoreStubber
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

__all__ = ["MOTO_LOCK", "MotoLock", "serialise_moto"]


class MotoLock:
    """A reentrant lock whose holder can let go of it for a while (:meth:`released`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held = threading.local()

    @property
    def depth(self) -> int:
        """How many times the current thread holds the lock (0: not at all)."""
        return int(getattr(self._held, "depth", 0))

    def __enter__(self) -> MotoLock:
        depth = self.depth
        if depth == 0:
            self._lock.acquire()
        self._held.depth = depth + 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        depth = self.depth - 1
        self._held.depth = depth
        if depth == 0:
            self._lock.release()

    @contextmanager
    def released(self) -> Iterator[None]:
        """Let go of the lock (however deeply this thread holds it) until the block ends, then take
        it back as deeply; a thread that does not hold it just runs the block."""
        depth = self.depth
        if depth:
            self._held.depth = 0
            self._lock.release()
        try:
            yield
        finally:
            if depth:
                self._lock.acquire()
                self._held.depth = depth


MOTO_LOCK: Final = MotoLock()
"""Held by every call into moto while :func:`serialise_moto` is active."""

_original_process_request: Final = BotocoreStubber.process_request
_original_wsgi_call: Final = DomainDispatcherApplication.__call__
_install_lock = threading.Lock()


def _serialised_process_request(self: BotocoreStubber, request: Any) -> Any:
    with MOTO_LOCK:
        return _original_process_request(self, request)


def _serialised_wsgi_call(
    self: DomainDispatcherApplication, environ: dict[str, Any], start_response: Callable[..., Any]
) -> Iterable[bytes]:
    with MOTO_LOCK:
        answer = _original_wsgi_call(self, environ, start_response)
        try:
            return list(answer)
        finally:
            close = getattr(answer, "close", None)
            if close is not None:
                close()


@contextmanager
def serialise_moto() -> Iterator[MotoLock]:
    """Make every call into moto in this process hold :data:`MOTO_LOCK` until the block ends.

    One at a time: overlapping blocks are refused rather than guessed at, as for the Lambda
    dispatch.
    """
    with _install_lock:
        if BotocoreStubber.process_request is not _original_process_request:
            raise RuntimeError("calls into moto are already serialised in this process")
        BotocoreStubber.process_request = _serialised_process_request  # type: ignore[method-assign]
        DomainDispatcherApplication.__call__ = _serialised_wsgi_call  # type: ignore[method-assign]
    try:
        yield MOTO_LOCK
    finally:
        with _install_lock:
            BotocoreStubber.process_request = _original_process_request  # type: ignore[method-assign]
            DomainDispatcherApplication.__call__ = _original_wsgi_call  # type: ignore[method-assign]
