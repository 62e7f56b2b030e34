"""JSON from anyone (a request body, a page token), bounded before Python's parser sees it.

`json.loads` recurses once per level of nesting, so a body of a thousand `[` raises RecursionError,
and it reads integers with `int()`, which refuses one of over 4,300 digits with a bare ValueError:
both would escape the API's error mapping as internal errors. `loads` refuses them, NaN and
Infinity (not JSON) and strings holding a lone UTF-16 surrogate (`"\\ud800"`: valid JSON syntax,
but no text), all as `json.JSONDecodeError`, which every caller of `json.loads` already answers
as bad input.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from script_to_film.domain.limits import MAX_JSON_DEPTH, MAX_JSON_INTEGER_DIGITS

_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_LEVEL = {"[": 1, "{": 1, "]": -1, "}": -1}


def loads(document: str | bytes) -> Any:
    """The value of a JSON document; `json.JSONDecodeError` saying why for anything refused."""
    if isinstance(document, bytes):
        try:
            document = document.decode("utf-8")
        except UnicodeDecodeError as error:
            raise json.JSONDecodeError("not UTF-8 text", repr(document[:100]), error.start) from None
    depth = _depth(document)
    if depth > MAX_JSON_DEPTH:
        raise json.JSONDecodeError(
            f"nested {depth} levels deep; at most {MAX_JSON_DEPTH} levels of arrays and objects",
            document,
            0,
        )
    try:
        value = json.loads(document, parse_int=_integer, parse_constant=_constant)
    except json.JSONDecodeError:
        raise
    except ValueError as refused:
        raise json.JSONDecodeError(str(refused), document, 0) from None
    _check_text(value, document)
    return value


def _depth(document: str) -> int:
    """The deepest nesting of arrays and objects, brackets inside strings not counted (in an
    unterminated string they are, which can only make invalid JSON look deeper)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", document))
    return max(accumulate(_LEVEL[bracket] for bracket in brackets), default=0)


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_JSON_INTEGER_DIGITS:
        raise ValueError(f"an integer of {len(digits):,} digits; at most {MAX_JSON_INTEGER_DIGITS}")
    return int(digits)


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_text(value: Any, document: str) -> None:
    """Refuse a string (or key) that UTF-8 cannot hold: a lone surrogate. Nesting is bounded."""
    if isinstance(value, str):
        strings = [value]
    elif isinstance(value, dict):
        strings = list(value)
        for item in value.values():
            _check_text(item, document)
    elif isinstance(value, list):
        strings = []
        for item in value:
            _check_text(item, document)
    else:
        return
    for text in strings:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as error:
            raise json.JSONDecodeError(
                f"a string holds a lone UTF-16 surrogate (U+{ord(text[error.start]):04X}), which is not text",
                document,
                0,
            ) from None
