"""JSON from anyone: whatever the document, `loads` answers a value or `json.JSONDecodeError` (which
every caller maps to a 400), never RecursionError or a bare ValueError from deep inside the parser."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from script_to_film.domain.limits import MAX_JSON_DEPTH, MAX_JSON_INTEGER_DIGITS
from script_to_film.domain.untrusted_json import loads


@pytest.mark.parametrize(
    ("document", "says"),
    [
        ("[" * 100_000, "nested 100000 levels deep"),
        ('{"a":' * 2_000 + "1" + "}" * 2_000, "nested 2000 levels deep"),
        ("[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1), f"at most {MAX_JSON_DEPTH} levels"),
        ("9" * 5_000, "an integer of 5,000 digits"),
        ('{"fps": -' + "1" * (MAX_JSON_INTEGER_DIGITS + 1) + "}", "digits"),
        ("NaN", "NaN is not a JSON number"),
        ("[1, -Infinity]", "-Infinity is not a JSON number"),
        ('{"title": "\\ud800"}', "lone UTF-16 surrogate (U+D800)"),
        ('{"\\udfff": 1}', "lone UTF-16 surrogate (U+DFFF)"),
        (b"\xff\xfe{}", "not UTF-8"),
        ('{"content": "INT', "Unterminated string"),
    ],
)
def test_what_python_cannot_or_should_not_read_is_a_decode_error(document: str | bytes, says: str) -> None:
    with pytest.raises(json.JSONDecodeError, match=re.escape(says)):
        loads(document)


def test_brackets_inside_strings_are_not_nesting() -> None:
    document = json.dumps({"content": "[" * 10_000, "deep": [[["ok"]]]})

    assert loads(document) == {"content": "[" * 10_000, "deep": [[["ok"]]]}


def test_the_limits_themselves_are_read() -> None:
    deepest = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    largest = "9" * MAX_JSON_INTEGER_DIGITS

    assert loads(deepest) is not None
    assert loads(largest) == int(largest)
    assert loads('"\\ud83c\\udfac"') == "\U0001f3ac", "a surrogate pair is one character"


@settings(max_examples=300, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
def test_any_json_within_the_limits_reads_as_json_loads_reads_it(value: object) -> None:
    document = json.dumps(value)
    try:
        document.encode("utf-8")
    except UnicodeEncodeError:
        return
    if "\\ud8" in document or "\\udc" in document:
        return  # lone surrogates, refused on purpose
    assert loads(document) == json.loads(document)
