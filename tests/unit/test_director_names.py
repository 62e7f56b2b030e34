"""Finding the cast's names in action text: one scan for all of them finds what one search per name
would, so that a screenplay naming thousands of people costs one pass, not one per name.

The references below are the plain forms (one alternation sorted longest first; one search per
name); Hypothesis checks the director's scans against them on names that overlap, nest (`MARA`,
`MARA JONES`, `YOUNG MARA`) and share letters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from script_to_film.domain.director import _find_mentions, _name_pattern, _name_variants

WORDS = st.sampled_from(["MARA", "JO", "JONES", "YOUNG", "MR.", "A", "ANN", "ANNA", "O'NEIL"])
NAMES = st.lists(st.lists(WORDS, min_size=1, max_size=3).map(" ".join), min_size=1, max_size=6, unique=True)
GLUE = st.sampled_from([" ", ", ", "'s ", "’s ", ". ", "\n\n", "x", "-", " and "])
FILLER = st.sampled_from(["", "Mara", "mara", "Jones", "she waits", "(30s)", "JONESY"])


@st.composite
def texts(draw: st.DrawFn, names: Sequence[str]) -> str:
    """Text made of the names (in capitals and title case), other words and glue between them."""
    variants = [variant for name in names for variant in _name_variants(name)]
    parts = draw(st.lists(st.one_of(st.sampled_from(variants), FILLER), max_size=12))
    return "".join(part + draw(GLUE) for part in parts)


def reference_pattern(names: Sequence[str]) -> re.Pattern[str]:
    variants = sorted({v for name in names for v in _name_variants(name)}, key=len, reverse=True)
    alternatives = "|".join(re.escape(variant) for variant in variants)
    return re.compile(rf"(?<![\w'\u2019])({alternatives})(?!\w)(['\u2019]s(?!\w))?")


@settings(max_examples=300, deadline=None)
@given(st.data(), NAMES)
def test_the_trie_pattern_matches_as_the_sorted_alternation(data: st.DataObject, names: list[str]) -> None:
    text = data.draw(texts(names))
    pattern = _name_pattern(names)
    assert pattern is not None

    found = [(m.span(), m.groups()) for m in pattern.finditer(text)]

    assert found == [(m.span(), m.groups()) for m in reference_pattern(names).finditer(text)]


@settings(max_examples=300, deadline=None)
@given(st.data(), NAMES)
def test_one_scan_finds_each_name_as_its_own_search_would(data: st.DataObject, names: list[str]) -> None:
    text = data.draw(texts(names))
    owners = {variant: name for name in names for variant in _name_variants(name)}

    found = {
        (mention.name, mention.start, mention.end, mention.possessive)
        for mention in _find_mentions([text], names)[0]
    }

    expected = {
        (name, match.start(), match.end(), match.group(2) is not None)
        for name in names
        for match in reference_pattern([name]).finditer(text)
        # A variant two names share (ANNA, Anna) is the later one's, as everywhere in the director.
        if owners[match.group(1)] == name
    }
    assert found == expected
