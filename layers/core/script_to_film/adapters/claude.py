"""The screenplay writer's Claude client: a one-line idea becomes a Fountain screenplay.

`write_screenplay` asks a current Claude model for a screenplay sized to the requested screen
time, cleans the answer (models sometimes wrap it in a code fence or chat before and after it),
and checks that it breaks down into scenes exactly as `stf breakdown` would break it down. When
it does not, Claude gets one repair attempt with the error; a second unusable answer is an error.

The same code serves `stf write` (`stf.write`, which maps the errors to exit statuses) and the
API's asynchronous generation step (`script_to_film.services.scripts`). The `anthropic` SDK is imported
only when a screenplay is written: it costs over a second of cold start, and no other Lambda
needs it.

Errors: `ConfigurationError` (no API key, or the key was refused), `RetiredModelError` (a model
past or at its end of life), `WriterRequestError` (the API refused the request), `WriterRefusedError`
(Claude declined to write it), `WriterOutputError` (still no usable screenplay after the repair),
and `WriterUnavailableError` (overloaded, rate limited or unreachable after the SDK's own retries:
nothing wrong with the request).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from script_to_film.adapters import secrets
from script_to_film.domain import breakdown
from script_to_film.domain.errors import (
    ConfigurationError,
    InvalidInputError,
    WriterOutputError,
    WriterRefusedError,
    WriterRequestError,
    WriterUnavailableError,
)
from script_to_film.domain.screenwriting import (
    TokenUsage,
    WriteRequest,
    Written,
    clean_fountain,
    max_tokens_for,
    resolve_model,
    scene_target,
    system_prompt,
    user_prompt,
)

if TYPE_CHECKING:
    import anthropic
    from anthropic.types import Message, MessageParam


def write_screenplay(request: WriteRequest, *, model: str | None = None) -> Written:
    """Have Claude write the screenplay; one repair attempt when the answer does not break down.

    Raises `ConfigurationError` (no key, key refused), `RetiredModelError`, `WriterRequestError`,
    `WriterRefusedError`, `WriterUnavailableError` and `WriterOutputError` (see the module's docstring).
    """
    chosen = resolve_model(model)
    client = _client(secrets.anthropic_api_key())
    system = system_prompt(request)
    max_tokens = max_tokens_for(scene_target(request.duration_seconds))
    messages: list[MessageParam] = [{"role": "user", "content": user_prompt(request)}]

    answer = _ask(client, chosen, system, messages, max_tokens)
    usage = _usage(answer)
    requests = 1
    text, plan = _read(answer)
    if isinstance(plan, str):
        # Claude sees its own answer and what is wrong with it. The API refuses an empty turn,
        # and an answer can be empty (it stopped before writing anything).
        messages += [
            {"role": "assistant", "content": _answer_text(answer) or "(no text)"},
            {"role": "user", "content": _repair_prompt(plan, request)},
        ]
        answer = _ask(client, chosen, system, messages, max_tokens)
        usage += _usage(answer)
        requests = 2
        text, plan = _read(answer)
        if isinstance(plan, str):
            raise WriterOutputError(f"Claude's screenplay is still unusable after one repair attempt: {plan}")
    return Written(
        text=text,
        title=plan.screenplay.title,
        scene_count=len(plan.screenplay.scenes),
        estimated_seconds=plan.screenplay.total_seconds,
        model=str(answer.model),
        usage=usage,
        requests=requests,
    )


def _client(api_key: str) -> anthropic.Anthropic:
    import anthropic

    # An explicit key: the SDK then ignores every other credential source on the machine, while
    # still reading ANTHROPIC_BASE_URL, which is how a local fake of the API is reached.
    return anthropic.Anthropic(api_key=api_key)


def _ask(
    client: anthropic.Anthropic, model: str, system: str, messages: list[MessageParam], max_tokens: int
) -> Message:
    """One Messages call (the SDK retries 408/409/429/5xx twice), its failures as our errors."""
    import anthropic

    tries = client.max_retries + 1
    try:
        answer = client.messages.create(model=model, max_tokens=max_tokens, system=system, messages=messages)
    except (anthropic.AuthenticationError, anthropic.PermissionDeniedError) as error:
        raise ConfigurationError(
            f"the Anthropic API refused the API key (HTTP {error.status_code}): {_api_message(error)}"
        ) from None
    except anthropic.RateLimitError as error:
        raise WriterUnavailableError(
            f"the Anthropic API is rate limiting this key (HTTP 429) after {tries} tries; try again later"
        ) from error
    except anthropic.InternalServerError as error:
        what = "overloaded" if error.status_code == 529 else "failing"
        raise WriterUnavailableError(
            f"Claude is {what} (HTTP {error.status_code}) after {tries} tries; try again later"
        ) from error
    except anthropic.APIConnectionError as error:
        raise WriterUnavailableError(
            f"could not reach the Anthropic API after {tries} tries: {error}"
        ) from error
    except anthropic.APIStatusError as error:
        if error.status_code in (408, 409):
            raise WriterUnavailableError(
                f"the Anthropic API did not finish the request (HTTP {error.status_code}) after {tries} tries"
            ) from error
        if error.status_code == 402:
            raise ConfigurationError(
                f"the Anthropic account cannot pay for this: {_api_message(error)}"
            ) from None
        raise WriterRequestError(
            f"the Anthropic API refused the request (HTTP {error.status_code}): {_api_message(error)}"
        ) from None
    if answer.stop_reason == "refusal":
        details = answer.stop_details
        reason = details.explanation if details is not None and details.explanation else None
        raise WriterRefusedError(
            "Claude declined to write this screenplay" + (f": {reason}" if reason else "; change the prompt")
        )
    return answer


def _api_message(error: anthropic.APIStatusError) -> str:
    return error.api_message or str(error)


def _usage(answer: Message) -> TokenUsage:
    return TokenUsage(input_tokens=answer.usage.input_tokens, output_tokens=answer.usage.output_tokens)


def _answer_text(answer: Message) -> str:
    return "".join(block.text for block in answer.content if block.type == "text")


def _read(answer: Message) -> tuple[str, breakdown.Plan | str]:
    """The cleaned screenplay with its breakdown, or with what is wrong with it (for the repair)."""
    text = clean_fountain(_answer_text(answer))
    if answer.stop_reason in ("max_tokens", "model_context_window_exceeded"):
        return text, "the screenplay was cut off at the length limit before it ended"
    if answer.stop_reason not in ("end_turn", "stop_sequence"):
        return text, f"the answer stopped early (stop reason {answer.stop_reason})"
    if not text:
        return text, "the answer held no screenplay text"
    try:
        return text, breakdown.plan(text)
    except InvalidInputError as error:
        return text, str(error)


def _repair_prompt(problem: str, request: WriteRequest) -> str:
    return (
        f"That answer cannot be used: {problem}. Write the whole screenplay again, "
        f"{scene_target(request.duration_seconds)} short scenes, as plain Fountain text only: the title "
        "page, then every scene starting with a heading such as `INT. KITCHEN - NIGHT` after a blank line, "
        "ending with `FADE OUT.`, and nothing before or after the screenplay."
    )
