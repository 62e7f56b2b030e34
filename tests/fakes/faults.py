"""Faults injected where they would happen, deterministically: a method that raises the first
time(s) it is called with matching arguments, then behaves as before."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest


class Fault:
    """What a `fail_when` injected: how often it fired."""

    def __init__(self, times: int) -> None:
        self.remaining = times
        self.fired = 0
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.remaining <= 0:
                return False
            self.remaining -= 1
            self.fired += 1
            return True


@contextmanager
def fail_when(
    monkeypatch: pytest.MonkeyPatch,
    owner: type,
    method: str,
    error: Callable[[], BaseException],
    *,
    when: Callable[..., bool] = lambda *args, **kwargs: True,
    times: int = 1,
    after: bool = False,
) -> Iterator[Fault]:
    """Make `owner.method` raise `error()` on its first `times` calls for which `when(*args,
    **kwargs)` holds (`after`: once the real call has been made, as a crash after the work)."""
    real = getattr(owner, method)
    fault = Fault(times)

    def faulty(self: Any, *args: Any, **kwargs: Any) -> Any:
        if not after and when(*args, **kwargs) and fault.take():
            raise error()
        result = real(self, *args, **kwargs)
        if after and when(*args, **kwargs) and fault.take():
            raise error()
        return result

    monkeypatch.setattr(owner, method, faulty)
    yield fault
