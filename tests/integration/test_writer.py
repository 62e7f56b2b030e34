"""The screenplay writer and `stf write` with the real `anthropic` SDK against a fake Messages API
on 127.0.0.1: cleaning, the one repair attempt, refusals, and the SDK's bounded retries."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import anthropic
import pytest

from script_to_film.adapters.claude import write_screenplay
from script_to_film.domain import screenplay
from script_to_film.domain.errors import (
    ConfigurationError,
    InvalidInputError,
    RetiredModelError,
    WriterOutputError,
    WriterRefusedError,
    WriterRequestError,
    WriterUnavailableError,
)
from script_to_film.domain.screenwriting import DEFAULT_CLAUDE_MODEL, MODEL_ENV, WriteRequest, max_tokens_for
from stf import cli
from stf.write import EXIT_UNAVAILABLE
from tests.fakes.anthropic_api import API_KEY, GARBAGE, SCREENPLAY, FakeAnthropic, Reply, serving

REQUEST = WriteRequest(prompt="An old ferry makes its last crossing", genre="drama", tone="bittersweet")


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAnthropic]:
    with serving(monkeypatch) as running:
        yield running


def test_a_screenplay_is_written_checked_and_measured(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.screenplay())

    written = write_screenplay(REQUEST)

    assert written.text == SCREENPLAY
    assert written.title == "The Last Ferry"
    assert written.scene_count == 6 == len(screenplay.parse(written.text).scenes)
    assert 30 <= written.estimated_seconds <= 90
    assert written.model == DEFAULT_CLAUDE_MODEL
    assert written.requests == 1
    assert written.usage.input_tokens > 0 and written.usage.output_tokens > 0
    [call] = fake.calls
    body = call.body
    assert set(body) == {"model", "max_tokens", "system", "messages"}, "no temperature, nothing extra"
    assert body["model"] == DEFAULT_CLAUDE_MODEL
    assert body["max_tokens"] == max_tokens_for(8)
    assert "8 scenes" in body["system"]
    [message] = body["messages"]
    assert message["role"] == "user"
    assert "An old ferry makes its last crossing" in message["content"]
    assert "Genre: drama" in message["content"] and "Tone: bittersweet" in message["content"]
    assert call.headers["anthropic-version"]


def test_the_model_is_configurable(fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(MODEL_ENV, "claude-opus-4-6")
    fake.enqueue(Reply.screenplay(), Reply.screenplay())

    assert write_screenplay(REQUEST).model == "claude-opus-4-6"
    assert write_screenplay(REQUEST, model="claude-haiku-4-5").model == "claude-haiku-4-5"
    assert [call.body["model"] for call in fake.calls] == ["claude-opus-4-6", "claude-haiku-4-5"]


def test_a_fenced_answer_with_chat_around_it_is_cleaned(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.fenced())

    written = write_screenplay(REQUEST)

    assert written.text == SCREENPLAY
    assert written.requests == 1


def test_an_answer_without_scenes_gets_one_repair_attempt(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.garbage(), Reply.fenced())

    written = write_screenplay(REQUEST)

    assert written.text == SCREENPLAY
    assert written.requests == 2
    first, repair = fake.calls
    assert repair.body["system"] == first.body["system"]
    user, answer, correction = repair.body["messages"]
    assert user == first.body["messages"][0]
    assert answer == {"role": "assistant", "content": GARBAGE}
    assert correction["role"] == "user"
    assert "no scene headings found" in correction["content"]
    # Both calls are paid for, and counted.
    assert written.usage.output_tokens == len(GARBAGE) // 4 + len(Reply.fenced().text) // 4


def test_a_second_unusable_answer_is_an_error_and_nothing_more_is_asked(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.garbage(), Reply.garbage(), Reply.screenplay())

    with pytest.raises(WriterOutputError, match="after one repair attempt: no scene headings found"):
        write_screenplay(REQUEST)

    assert len(fake.calls) == 2
    assert fake.pending == 1


def test_a_screenplay_cut_off_at_the_token_limit_is_asked_for_again(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.truncated(), Reply.screenplay())

    written = write_screenplay(REQUEST)

    assert written.requests == 2
    assert "cut off at the length limit" in fake.calls[1].body["messages"][2]["content"]


def test_a_refusal_is_reported_with_claudes_explanation(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.refusal(), Reply.screenplay())

    with pytest.raises(
        WriterRefusedError, match="declined to write this screenplay: This request"
    ) as refused:
        write_screenplay(REQUEST)

    assert isinstance(refused.value, InvalidInputError)
    assert len(fake.calls) == 1, "a refusal is not repaired"


def test_a_refusal_of_the_repair_is_a_refusal(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.garbage(), Reply.refusal(explanation=None))

    with pytest.raises(WriterRefusedError, match="change the prompt"):
        write_screenplay(REQUEST)

    assert len(fake.calls) == 2


def test_overload_is_retried_by_the_sdk_a_bounded_number_of_times(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.overloaded(), Reply.overloaded(), Reply.overloaded(), Reply.screenplay())

    with pytest.raises(WriterUnavailableError, match=r"overloaded \(HTTP 529\) after 3 tries"):
        write_screenplay(REQUEST)

    assert len(fake.calls) == 3, "the first try and the SDK's two retries"
    assert fake.pending == 1
    assert [call.headers["x-stainless-retry-count"] for call in fake.calls] == ["0", "1", "2"]


def test_a_passing_overload_is_absorbed_by_the_sdk_retry(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.overloaded(), Reply.screenplay())

    assert write_screenplay(REQUEST).requests == 1
    assert len(fake.calls) == 2


def test_a_rate_limit_is_waited_out_as_retry_after_says(fake: FakeAnthropic) -> None:
    fake.enqueue(Reply.rate_limited(retry_after=1), Reply.screenplay())

    started = time.monotonic()
    written = write_screenplay(REQUEST)

    assert time.monotonic() - started >= 1
    assert written.text == SCREENPLAY
    assert len(fake.calls) == 2


def test_a_lasting_rate_limit_is_unavailability(fake: FakeAnthropic) -> None:
    fake.enqueue(*[Reply.rate_limited(retry_after=0.05)] * 3)

    with pytest.raises(WriterUnavailableError, match="rate limiting"):
        write_screenplay(REQUEST)

    assert len(fake.calls) == 3


def test_a_wrong_key_is_a_configuration_error_and_is_not_retried(
    fake: FakeAnthropic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-wrong")
    fake.enqueue(Reply.screenplay())

    with pytest.raises(
        ConfigurationError, match=r"refused the API key \(HTTP 401\): invalid x-api-key"
    ) as refused:
        write_screenplay(REQUEST)

    assert "sk-ant-wrong" not in str(refused.value)
    assert [request.status for request in fake.requests] == [401]
    assert fake.calls == []


def test_a_model_the_api_does_not_know_is_a_request_error(fake: FakeAnthropic) -> None:
    with pytest.raises(WriterRequestError, match=r"HTTP 404\): model: claude-3-opus-20240229"):
        write_screenplay(REQUEST, model="claude-3-opus-20240229")

    assert [request.status for request in fake.requests] == [404]


def test_claude_sonnet_4_5_is_refused_before_any_request(fake: FakeAnthropic) -> None:
    with pytest.raises(RetiredModelError):
        write_screenplay(REQUEST, model="claude-sonnet-4-5")

    assert fake.requests == []


def test_the_fake_refuses_what_todays_api_refuses(fake: FakeAnthropic) -> None:
    """The fake is strict where the writer could go wrong: `temperature` and retired models."""
    client = anthropic.Anthropic(api_key=API_KEY, base_url=fake.base_url, max_retries=0)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hello"}]

    with pytest.raises(anthropic.BadRequestError, match="temperature: Extra inputs are not permitted"):
        client.messages.create(
            model=DEFAULT_CLAUDE_MODEL,
            max_tokens=100,
            messages=messages,
            extra_body={"temperature": 0.7},
        )
    with pytest.raises(anthropic.NotFoundError):
        client.messages.create(model="claude-3-opus-20240229", max_tokens=100, messages=messages)
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        client.messages.create(model=DEFAULT_CLAUDE_MODEL, max_tokens=100_000, messages=messages, timeout=30)
    with pytest.raises(anthropic.AuthenticationError):
        anthropic.Anthropic(api_key="nope", base_url=fake.base_url, max_retries=0).messages.create(
            model=DEFAULT_CLAUDE_MODEL, max_tokens=100, messages=messages
        )
    assert fake.calls == []


# `stf write` ------------------------------------------------------------------------------------


@pytest.fixture
def stf() -> Callable[[Sequence[str]], int]:
    return cli.main


def test_stf_write_makes_a_screenplay_that_stf_breakdown_accepts(
    fake: FakeAnthropic,
    stf: Callable[[Sequence[str]], int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake.enqueue(Reply.garbage(), Reply.fenced())
    out = tmp_path / "ferry.fountain"

    status = stf(["write", "An old ferry makes its last crossing", "--duration", "45", "--out", str(out)])

    captured = capsys.readouterr()
    assert status == 0
    assert captured.out == ""
    [summary] = captured.err.splitlines()
    assert summary.startswith("“The Last Ferry”: 6 scenes, about ")
    assert "after one repair" in summary and str(out) in summary
    assert out.read_text(encoding="utf-8") == SCREENPLAY
    assert "6 scenes" in fake.calls[0].body["system"], "45 s at about 8 s a scene"

    assert cli.main(["breakdown", str(out)]) == 0
    assert cli.main(["breakdown", str(out), "--json"]) == 0
    assert '"heading": "EXT. JETTY - DAWN"' in capsys.readouterr().out


def test_stf_write_prints_the_screenplay_without_out(
    fake: FakeAnthropic, stf: Callable[[Sequence[str]], int], capsys: pytest.CaptureFixture[str]
) -> None:
    fake.enqueue(Reply.screenplay())

    assert stf(["write", "An old ferry makes its last crossing", "--model", "claude-opus-4-6"]) == 0

    captured = capsys.readouterr()
    assert captured.out == SCREENPLAY
    assert "claude-opus-4-6" in captured.err


@pytest.mark.parametrize(
    ("replies", "status", "message"),
    [
        ([Reply.refusal()], 2, "error: Claude declined to write this screenplay"),
        ([Reply.garbage(), Reply.garbage()], 2, "error: Claude's screenplay is still unusable"),
        ([Reply.overloaded()] * 3, EXIT_UNAVAILABLE, "error: Claude is overloaded (HTTP 529) after 3 tries"),
    ],
    ids=["refusal", "unusable", "overloaded"],
)
def test_stf_write_failures_are_one_line_and_write_nothing(
    fake: FakeAnthropic,
    stf: Callable[[Sequence[str]], int],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    replies: list[Reply],
    status: int,
    message: str,
) -> None:
    fake.enqueue(*replies)
    out = tmp_path / "never.fountain"

    assert stf(["write", "An old ferry makes its last crossing", "--out", str(out)]) == status

    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith(message)
    assert not out.exists()
    assert fake.pending == 0
