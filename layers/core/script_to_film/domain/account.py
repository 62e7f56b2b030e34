"""What a provider account allows a film, and the preflight decision made from it.

A provider reports, per model, how many generations it runs at once and how many more it will
make today, and how many credits the account has left (Runway answers all of it in one
`GET /v1/organization`; the offline animatic is free and unlimited). Before a film pays for
anything, `plan_run` turns that into the run's concurrency and refuses a film the account
cannot pay for or cannot make today:

- concurrency = the smallest of the tier's concurrent generations for every model the film uses
  (on the keyframe path the image model's too: a scene holds one task at a time, an image or a
  video), `STF_<PROVIDER>_CONCURRENCY` when it is set, and the Map's maximum;
- the estimate must not exceed the credit balance (`InsufficientCreditsError`);
- each model's generations (one video per scene, and one keyframe image per scene on the
  keyframe path, counted against the image model's own allowance) must fit in what is left of
  its rolling 24-hour allowance (`DailyAllowanceError`). Resubmits are not reserved: a scene
  Runway fails and the workflow submits again uses one more, and Runway's own 429 still stops it.

When the account cannot be read (`read_limits`), the run falls back to the configured
concurrency and says so in its note; the balance and the allowance are then not checked.
Everything here but `read_limits` is pure.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from script_to_film.domain import catalog
from script_to_film.domain.errors import (
    ConfigurationError,
    DailyAllowanceError,
    InsufficientCreditsError,
    ProviderError,
    ProviderRefusedError,
)
from script_to_film.domain.ports import AccountLimits, AccountReporter, LimitSource


class RunLimits(BaseModel):
    """The preflight's answer for one film."""

    model_config = ConfigDict(frozen=True)

    provider: str
    concurrency: int
    """Scenes generated at once (the Map's MaxConcurrency)."""
    source: LimitSource
    """`provider` when the account was read, `configured` when the run fell back."""
    credit_balance: float | None
    estimate_credits: float
    daily_left: dict[str, int]
    """Per model with a known allowance: generations left before this film."""
    note: str | None = None


def configured_concurrency(provider: str, env: Mapping[str, str] = os.environ) -> int | None:
    """`STF_<PROVIDER>_CONCURRENCY` when it is set (a whole number from 1), else None."""
    name = f"STF_{provider.upper()}_CONCURRENCY"
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number of scenes at once, not {raw!r}") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be 1 or more, not {value}")
    return value


def generations_needed(model: str, scenes: int, *, keyframe: bool = False) -> dict[str, int]:
    """Generations a film of `scenes` scenes makes per model, at one try each."""
    video = catalog.get_model(model)
    needed = {video.id: scenes}
    if keyframe or video.needs_keyframe:
        needed[catalog.get_image_model().id] = scenes
    return needed


def read_limits(provider: object, models: Sequence[str], *, fallback_concurrency: int) -> list[AccountLimits]:
    """The account's limits for each of `models`, asking the provider once.

    A provider that does not report its account, or whose account cannot be read (unreachable,
    5xx, an answer that cannot be read), gets `fallback_concurrency` (the configured one) for
    each model, with a note saying why. A key the provider refuses is not a reason to go on:
    every create would be refused too, so that `PermanentProviderError` (code AUTH) is raised.
    """
    name = str(getattr(provider, "name", "the provider")).capitalize()
    if not isinstance(provider, AccountReporter):
        reason = f"{name} does not report its account's limits"
        return [_configured(name, model, fallback_concurrency, reason) for model in models]
    limits: list[AccountLimits] = []
    for model in models:
        try:
            limits.append(provider.account(model))
        except ConfigurationError as error:
            # No key configured: the film's scenes will each fail saying what to set.
            reason = f"{name}'s account could not be asked ({error})"
            return [_configured(name, wanted, fallback_concurrency, reason) for wanted in models]
        except ProviderError as error:
            if error.code == "AUTH":
                raise ProviderRefusedError(
                    f"{name} refused this account's API key ({error}); nothing was started or paid for"
                ) from error
            reason = f"{name}'s account could not be read ({error})"
            return [_configured(name, wanted, fallback_concurrency, reason) for wanted in models]
    return limits


def _configured(provider: str, model: str, concurrency: int, reason: str) -> AccountLimits:
    return AccountLimits(
        provider=provider,
        model=model,
        max_concurrent=concurrency,
        daily_limit=None,
        daily_used=None,
        credit_balance=None,
        source="configured",
        note=(
            f"{reason}: {concurrency} at a time as configured; the credit balance and the daily "
            "allowance were not checked"
        ),
    )


def plan_run(
    limits: Sequence[AccountLimits],
    *,
    estimate_credits: float,
    generations: Mapping[str, int],
    configured_cap: int | None,
    map_max: int,
) -> RunLimits:
    """The film's concurrency, or a typed refusal when the account cannot pay for or make it.

    `limits` covers every model in `generations` (from `read_limits`); `configured_cap` is
    `configured_concurrency(provider)`, None when unset; `map_max` the Map's own maximum.
    """
    if not limits:
        raise ValueError("plan_run needs the limits of the film's models")
    by_model = {limit.model: limit for limit in limits}
    missing = sorted(set(generations) - set(by_model))
    if missing:
        raise ValueError(f"no account limits given for {', '.join(missing)}")
    provider = limits[0].provider
    shown = provider.capitalize()
    asked = all(limit.source == "provider" for limit in limits)

    caps = [limit.max_concurrent for limit in limits if limit.max_concurrent is not None]
    if configured_cap is not None:
        caps.append(configured_cap)
    concurrency = max(1, min([*caps, map_max]))

    balances = [limit.credit_balance for limit in limits if limit.credit_balance is not None]
    balance = min(balances) if balances else None
    if balance is not None and estimate_credits > balance:
        raise InsufficientCreditsError(
            f"the film is estimated at {_credits(estimate_credits)} but the {shown} account has "
            f"{_credits(balance)} left; add credits to the account, film fewer scenes or choose a "
            "cheaper model"
        )

    daily_left: dict[str, int] = {}
    for model, needed in generations.items():
        account = by_model[model]
        left = account.daily_left
        if left is None:
            continue
        daily_left[model] = left
        if needed > left:
            raise DailyAllowanceError(
                f"the film needs {needed} {model} generation{'s' if needed != 1 else ''} but only "
                f"{left} of the {shown} account's {account.daily_limit} a day are left "
                f"({account.daily_used or 0} made in the last 24 hours); film fewer scenes, or "
                "wait: the allowance is a rolling 24 hours"
            )

    notes = list(dict.fromkeys(limit.note for limit in limits if limit.note))
    return RunLimits(
        provider=provider,
        concurrency=concurrency,
        source="provider" if asked else "configured",
        credit_balance=balance,
        estimate_credits=estimate_credits,
        daily_left=daily_left,
        note="; ".join(notes) or None,
    )


def _credits(value: float) -> str:
    number = Decimal(str(value))
    usd = (number * catalog.USD_PER_CREDIT).quantize(Decimal("0.01"))
    shown = int(number) if number == number.to_integral_value() else number
    return f"{shown} credits (US${usd})"
