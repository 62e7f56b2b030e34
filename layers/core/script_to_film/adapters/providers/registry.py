"""Video providers behind one small protocol (`domain.ports.VideoProvider`), looked up by name.

Provider modules are imported only when asked for, so a polling Lambda loads just the provider
it polls (the Runway SDK alone costs a quarter of a second of cold start).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from script_to_film.domain.errors import UnknownModelError
from script_to_film.domain.ports import VideoProvider

ProviderFactory = Callable[[], VideoProvider]


def _animatic() -> VideoProvider:
    from script_to_film.adapters.providers.animatic import DEFAULT_CONCURRENCY, AnimaticProvider
    from script_to_film.domain.account import configured_concurrency

    # A simulated render time, so the local stack's Wait loop and progress display have work to show.
    return AnimaticProvider(
        latency_seconds=float(os.environ.get("STF_ANIMATIC_LATENCY_SECONDS", "0")),
        concurrency=configured_concurrency("animatic") or DEFAULT_CONCURRENCY,
    )


def _runway() -> VideoProvider:
    from script_to_film.adapters.providers.runway import RunwayProvider

    # The SDK client, and the API key it carries, are made at the first call, not here.
    return RunwayProvider()


_BUILT_IN: dict[str, ProviderFactory] = {"animatic": _animatic, "runway": _runway}
_FACTORIES: dict[str, ProviderFactory] = dict(_BUILT_IN)
_INSTANCES: dict[str, VideoProvider] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make a provider available by name (the built-in ones, and test fakes)."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def reset_providers() -> None:
    """Back to the built-in providers, each to be created afresh."""
    _FACTORIES.clear()
    _FACTORIES.update(_BUILT_IN)
    _INSTANCES.clear()


def available_providers() -> list[str]:
    return sorted(_FACTORIES)


def get_provider(name: str) -> VideoProvider:
    """The provider called `name`, created once per process (a Lambda's cold start)."""
    if name not in _INSTANCES:
        try:
            factory = _FACTORIES[name]
        except KeyError:
            known = ", ".join(sorted(_FACTORIES))
            raise UnknownModelError(f"unknown provider {name!r}; known providers: {known}") from None
        _INSTANCES[name] = factory()
    return _INSTANCES[name]
