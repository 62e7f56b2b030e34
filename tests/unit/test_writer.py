"""The screenplay writer's pure parts: cleaning an answer, sizing the request, choosing the model.

Nothing here reaches the network (this tier blocks it); the writer against a fake of the API is
in tests/integration/test_writer.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from script_to_film.adapters.claude import write_screenplay
from script_to_film.domain import screenplay
from script_to_film.domain.errors import ConfigurationError, InvalidInputError, RetiredModelError
from script_to_film.domain.screenwriting import (
    DEFAULT_CLAUDE_MODEL,
    MAX_OUTPUT_TOKENS,
    MODEL_ENV,
    WriteRequest,
    clean_fountain,
    max_tokens_for,
    resolve_model,
    scene_target,
    system_prompt,
    user_prompt,
)
from stf import cli

REPO = Path(__file__).resolve().parents[2]
TRAIN_STATION = (REPO / "events" / "scripts" / "train-station.fountain").read_text(encoding="utf-8")

SHORT = """\
Title: Night Shift
Credit: Written by
Author: Script-to-Film

INT. BAKERY - NIGHT

NOOR (30s), flour to the elbows, slides a tray of loaves into the oven.

EXT. BAKERY - DAWN

Noor props the door open. The street smells of bread.

NOOR
Morning.

FADE OUT.
"""


# Cleaning ----------------------------------------------------------------------------------------


def test_a_clean_screenplay_is_left_as_it_is() -> None:
    assert clean_fountain(SHORT) == SHORT
    assert clean_fountain(TRAIN_STATION) == TRAIN_STATION.strip() + "\n"


def test_fence_preamble_and_closing_chat_are_removed() -> None:
    answer = f"Here is your screenplay:\n\n```fountain\n{SHORT}```\n\nLet me know if you'd like changes!"
    assert clean_fountain(answer) == SHORT


def test_preamble_without_a_fence_is_removed_up_to_the_title_page() -> None:
    answer = f"Sure! Here's a short screenplay about a baker.\n\n{SHORT}"
    cleaned = clean_fountain(answer)
    assert cleaned == SHORT
    assert screenplay.parse(cleaned).title == "Night Shift"


def test_a_screenplay_without_a_title_page_starts_at_its_first_heading() -> None:
    body = SHORT.split("\n\n", 1)[1]
    assert clean_fountain(f"Certainly. Here it is:\n\n{body}") == body


def test_chat_after_the_last_scene_is_removed_even_without_an_end_marker() -> None:
    body = SHORT.replace("FADE OUT.\n", "")
    answer = f"{body}\nI hope this captures the quiet mood you wanted.\n\nLet me know if you want changes."
    assert clean_fountain(answer) == body.strip() + "\n"


def test_a_markdown_rule_and_notes_after_the_screenplay_are_removed() -> None:
    body = SHORT.replace("FADE OUT.\n", "")
    answer = f"{body}\n---\n\n**Notes:** each scene runs about 8 seconds."
    assert clean_fountain(answer) == body.strip() + "\n"


def test_action_after_the_last_heading_is_kept() -> None:
    body = SHORT.replace("FADE OUT.\n", "The bell above the door rings.\n")
    assert clean_fountain(body) == body


def test_an_unclosed_fence_runs_to_the_end_of_the_answer() -> None:
    truncated = SHORT[: SHORT.index("NOOR\nMorning.")]
    assert clean_fountain(f"```\n{truncated}") == truncated.strip() + "\n"


def test_the_longest_fenced_block_is_the_screenplay() -> None:
    answer = f"~~~\nTitle only\n~~~\n\n~~~fountain\n{SHORT}~~~\n"
    assert clean_fountain(answer) == SHORT


def test_a_fenced_example_after_an_unfenced_screenplay_is_not_taken_for_it() -> None:
    answer = f"{SHORT}\nTo make a scene longer, add a note:\n\n```\n[[duration: 6]]\n```\n"
    assert clean_fountain(answer) == SHORT


def test_an_answer_with_no_screenplay_is_returned_for_the_parser_to_refuse() -> None:
    answer = "I'd love to help! What kind of story did you have in mind?"
    assert clean_fountain(answer) == answer + "\n"
    assert clean_fountain("  \n\n ") == ""


_WORDS = (
    "fog",
    "lifts",
    "off",
    "the",
    "rails",
    "a",
    "gull",
    "cries",
    "she",
    "waits",
    "by",
    "window",
    "light",
)
_sentence = st.lists(st.sampled_from(_WORDS), min_size=2, max_size=8).map(
    lambda w: " ".join(w).capitalize() + "."
)
_scene = st.builds(
    lambda int_ext, place, time, action, speech: (
        f"{int_ext}. {place} - {time}\n\n{action}\n" + (f"\n{speech[0]}\n{speech[1]}\n" if speech else "")
    ),
    st.sampled_from(["INT", "EXT"]),
    st.sampled_from(["KITCHEN", "HARBOUR WALL", "TRAIN CARRIAGE", "LIGHTHOUSE - TOP"]),
    st.sampled_from(["DAY", "NIGHT", "DAWN", "DUSK"]),
    st.lists(_sentence, min_size=1, max_size=3).map(" ".join),
    st.none() | st.tuples(st.sampled_from(["MARA", "JONAH"]), _sentence),
)
_screenplays = st.builds(
    lambda title, scenes, ending: (f"Title: {title}\n\n" if title else "") + "\n".join(scenes) + ending,
    st.none() | st.sampled_from(["The Crossing", "Salt"]),
    st.lists(_scene, min_size=1, max_size=5),
    st.sampled_from(["\nFADE OUT.\n", "\nTHE END\n", "\n> THE END <\n", ""]),
)
_line_text = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=40)
_preamble = st.lists(
    st.tuples(st.sampled_from(["Here", "Sure", "Certainly", "Of course", "Below"]), _line_text).map("".join),
    max_size=3,
)
_epilogue = st.lists(
    st.tuples(st.sampled_from(["Let me know", "I hope", "Enjoy", "Feel free", "Notes:"]), _line_text).map(
        "".join
    ),
    max_size=3,
)
_fences = st.none() | st.sampled_from(["```", "```fountain", "``` fountain", "~~~", "````text"])


@given(_screenplays, _preamble, _fences, _epilogue, st.booleans())
def test_any_wrapping_of_a_screenplay_cleans_back_to_it(
    text: str, preamble: list[str], fence: str | None, epilogue: list[str], crlf: bool
) -> None:
    before = "\n".join(preamble) + "\n\n" if preamble else ""
    after = "\n\n" + "\n".join(epilogue) if epilogue else ""
    if fence:
        closing = fence[0] * (len(fence) - len(fence.lstrip(fence[0])))
        answer = f"{before}{fence}\n{text}{closing}{after}"
    else:
        answer = f"{before}{text}{after}"
    if crlf:
        answer = answer.replace("\n", "\r\n")

    assert clean_fountain(answer) == text.strip() + "\n"


@given(st.text())
def test_cleaning_only_ever_cuts_text_away(answer: str) -> None:
    cleaned = clean_fountain(answer)
    normalised = answer.replace("\r\n", "\n").replace("\r", "\n")
    assert cleaned == "" or (cleaned.endswith("\n") and cleaned[:-1] in normalised)


# Sizing the request ----------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "scenes"), [(15, 2), (20, 3), (60, 8), (100, 13), (600, 75)])
def test_scenes_are_sized_to_about_eight_seconds_each(seconds: int, scenes: int) -> None:
    assert scene_target(seconds) == scenes


def test_max_tokens_grow_with_the_film_and_stay_within_a_non_streaming_call() -> None:
    sizes = [max_tokens_for(scene_target(seconds)) for seconds in (15, 60, 120, 600)]
    assert sizes == sorted(sizes)
    assert sizes[0] >= 1024
    # The SDK refuses a non-streaming call that may take over 10 minutes at 128k tokens an hour.
    assert max(sizes) <= MAX_OUTPUT_TOKENS <= 600 * 128_000 // 3600


def test_the_system_prompt_sizes_the_film_and_asks_for_plain_fountain() -> None:
    prompt = system_prompt(WriteRequest(prompt="a baker at dawn", duration_seconds=60))
    assert "8 scenes" in prompt
    assert "about 60 seconds" in prompt
    assert "at most 10 seconds" in prompt
    assert "a page a minute" in prompt
    assert "No markdown, no code fences" in prompt
    assert "INT. or EXT." in prompt
    assert "Title:" in prompt
    assert "in capitals" in prompt


def test_the_user_prompt_carries_the_idea_genre_and_tone() -> None:
    prompt = user_prompt(WriteRequest(prompt="a baker at dawn", genre="drama", tone="tender"))
    assert "a baker at dawn" in prompt
    assert "Genre: drama" in prompt
    assert "Tone: tender" in prompt
    assert "Genre" not in user_prompt(WriteRequest(prompt="a baker at dawn"))


@pytest.mark.parametrize(
    "fields",
    [
        {"prompt": "hi"},
        {"prompt": "x" * 2001},
        {"prompt": "a baker", "duration_seconds": 14},
        {"prompt": "a baker", "duration_seconds": 601},
        {"prompt": "a baker", "genre": ""},
        {"prompt": "a baker", "temperature": 0.7},
    ],
)
def test_write_requests_are_bounded(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WriteRequest.model_validate(fields)


def test_a_write_request_defaults_to_a_minute() -> None:
    assert WriteRequest(prompt="  a baker at dawn ").model_dump() == {
        "prompt": "a baker at dawn",
        "genre": None,
        "duration_seconds": 60,
        "tone": None,
    }


# Choosing the model ------------------------------------------------------------------------------


def test_the_default_model_is_current_and_configurable() -> None:
    assert resolve_model(env={}) == DEFAULT_CLAUDE_MODEL == "claude-sonnet-4-6"
    assert resolve_model(env={MODEL_ENV: "claude-opus-4-6"}) == "claude-opus-4-6"
    assert resolve_model("claude-haiku-4-5", env={MODEL_ENV: "claude-opus-4-6"}) == "claude-haiku-4-5"


@pytest.mark.parametrize("model", ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929"])
def test_claude_sonnet_4_5_is_refused_with_its_end_of_life(model: str) -> None:
    with pytest.raises(RetiredModelError, match="30 November 2026") as refused:
        resolve_model(model, env={})
    assert isinstance(refused.value, InvalidInputError)
    assert DEFAULT_CLAUDE_MODEL in str(refused.value)
    with pytest.raises(RetiredModelError):
        resolve_model(env={MODEL_ENV: model})


def test_a_missing_key_is_a_configuration_error_before_any_call(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    monkeypatch.delenv("STF_ANTHROPIC_SECRET_ARN", raising=False)
    monkeypatch.delenv(MODEL_ENV, raising=False)
    with pytest.raises(ConfigurationError, match="ANTHROPIC_API_KEY"):
        write_screenplay(WriteRequest(prompt="a baker at dawn"))
    # A retired model is refused before the key is even looked for.
    with pytest.raises(RetiredModelError):
        write_screenplay(WriteRequest(prompt="a baker at dawn"), model="claude-sonnet-4-5")


# `stf write` without the network --------------------------------------------------------------


@pytest.fixture
def stf(monkeypatch: pytest.MonkeyPatch) -> Callable[[Sequence[str]], int]:
    for name in ("ANTHROPIC_API_KEY", "STF_ANTHROPIC_SECRET_ARN", MODEL_ENV):
        monkeypatch.delenv(name, raising=False)
    return cli.main


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["write", "a baker at dawn"], "no Anthropic API key: set ANTHROPIC_API_KEY"),
        (["write", "a baker at dawn", "--model", "claude-sonnet-4-5"], "end of life on 30 November 2026"),
        (["write", "hi"], "prompt: String should have at least 3 characters"),
        (["write", "a baker at dawn", "--duration", "5"], "duration_seconds: Input should be greater than"),
        (["write", "a baker at dawn", "--out", "no/such/folder/x.fountain"], "no such folder"),
    ],
)
def test_stf_write_refuses_bad_input_with_one_line_and_exit_2(
    stf: Callable[[Sequence[str]], int], capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert stf(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert captured.err.startswith("error: ")
    assert message in captured.err
