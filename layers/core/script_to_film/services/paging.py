"""Answers of bounded size: the scenes of a script or a video a page at a time, within a byte budget.

A page holds up to `limit` items and never more of them than fit `budget` bytes of the JSON the API
answers (ASCII, compact, as Powertools serialises it), so no answer exceeds
`limits.MAX_RESPONSE_BYTES` whatever the screenplay holds. Its token names the item the next page
starts at and what it belongs to, so a token of one script cannot page another.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from script_to_film.domain import untrusted_json
from script_to_film.domain.errors import InvalidPageTokenError

Item = TypeVar("Item", bound=BaseModel)


def json_size(value: Any) -> int:
    """Bytes of `value` (a model or plain data) as the API sends it: compact JSON, ASCII escapes."""
    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return len(json.dumps(data, separators=(",", ":")))


def page(
    items: Sequence[Item],
    start: int,
    limit: int,
    budget: int,
    fit: Callable[[Item, int], Item] | None = None,
) -> tuple[list[Item], int | None]:
    """Items from index `start`: at most `limit`, of at most `budget` bytes together, and at least
    one (made to fit by `fit` when it alone is over); and the index the next page starts at, or
    None when this page holds the last item."""
    chosen: list[Item] = []
    used = 0
    index = start
    while index < len(items) and len(chosen) < limit:
        item = items[index]
        size = json_size(item) + 1
        if used + size > budget:
            if chosen:
                break
            item = fit(item, budget) if fit else item
            size = json_size(item) + 1
        chosen.append(item)
        used += size
        index += 1
    return chosen, (index if index < len(items) else None)


def token(owner: str, start: int) -> str:
    """An opaque token for the page of `owner`'s items that starts at index `start`."""
    document = json.dumps({"of": owner, "from": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii").rstrip("=")


def start_of(page_token: str, owner: str, count: int) -> int:
    """The index a token of `owner`'s pages starts at; InvalidPageTokenError for any other token."""
    refused = InvalidPageTokenError(f"page token {page_token[:40]!r} is not one this listing handed out")
    try:
        fields = untrusted_json.loads(base64.urlsafe_b64decode(page_token + "=" * (-len(page_token) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(fields, dict) or set(fields) != {"of", "from"} or fields["of"] != owner:
        raise refused
    start = fields["from"]
    if type(start) is not int or not 0 < start < count:
        raise refused
    return start
