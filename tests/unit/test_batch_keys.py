"""Which keys a batch manifest may list: plain keys under `library/`, taken literally."""

from __future__ import annotations

import pytest

from script_to_film.domain.batch_input import library_key_problem


@pytest.mark.parametrize(
    "key",
    [
        "library/night-ferry.fountain",
        "library/drafts/2026/act one.fountain",
        "library/Amélie (draft).fountain",
        "library/...fountain",
        "library/a+b=c.fountain",
    ],
)
def test_plain_keys_under_library_are_listed(key: str) -> None:
    assert library_key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "why"),
    [
        ("incoming/x.fountain", "is not under library/"),
        ("scripts/script-0123.fountain", "is not under library/"),
        ("/library/x.fountain", "is not under library/"),
        ("Library/x.fountain", "is not under library/"),
        (" library/x.fountain", "is not under library/"),
        ("library", "is not under library/"),
        ("library/", "'..' part"),
        ("library/../incoming/x.fountain", "'..' part"),
        ("library/a/../../incoming/x.fountain", "'..' part"),
        ("library/./x.fountain", "'..' part"),
        ("library/..", "'..' part"),
        ("library//x.fountain", "'..' part"),
        ("library/x.fountain/", "'..' part"),
        ("library/\uff0e\uff0e/incoming/x.fountain", "'..' part"),  # fullwidth dots
        ("library/a\uff0f..\uff0fx.fountain", "'..' part"),  # fullwidth slashes
        ("library\\..\\incoming\\x.fountain", "backslash"),
        ("library/..\\incoming\\x.fountain", "backslash"),
        ("library/%2e%2e/incoming/x.fountain", "percent sign"),
        ("library/%2E%2E%2Fincoming%2Fx.fountain", "percent sign"),
        ("library/%252e%252e/x.fountain", "percent sign"),
        ("library/\uff052e\uff052e/x.fountain", "percent sign"),  # a fullwidth percent sign
        ("library/x.fountain\x00.txt", "control character"),
        ("library/x\n.fountain", "control character"),
        ("library/x\x7f.fountain", "control character"),
        ("library/x\x85.fountain", "control character"),
    ],
)
def test_every_other_key_is_refused_saying_why(key: str, why: str) -> None:
    problem = library_key_problem(key)

    assert problem is not None and why in problem
    assert problem.startswith(repr(key)), "the key is shown as given, control characters escaped"
