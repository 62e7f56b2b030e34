"""The table's shared mechanics: items to and from DynamoDB, listings by kind a page at a time,
and conditional updates, used by every repository (`adapters.repositories`).

One table, keyed by `pk`/`sk`:

| item         | pk                | sk                     |
|--------------|-------------------|------------------------|
| script       | `SCRIPT#<id>`     | `SCRIPT`               |
| video        | `VIDEO#<id>`      | `VIDEO`                |
| scene        | `VIDEO#<id>`      | `SCENE#<nnn>`          |
| submit claim | `VIDEO#<id>`      | `SUBMIT#<nnn>#<try>`   |
| keyframe claim | `VIDEO#<id>`    | `KEYFRAME#<nnn>#<image task>` |
| batch        | `BATCH#<id>`      | `BATCH`                |
| batch item   | `BATCH#<id>`      | `ITEM#<nnn>`           |

Scripts and videos also carry `kind` and `created_at`, the keys of the `by_kind` index that lists
them newest first (`list_kind`, a page at a time behind an opaque token). One query on
`VIDEO#<id>` returns a video with all its scenes.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from script_to_film.domain import untrusted_json
from script_to_film.domain.errors import InvalidPageTokenError
from script_to_film.domain.models import now_iso

BY_KIND_INDEX = "by_kind"


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """DynamoDB wants Decimals, not floats, and has no use for None."""
    item: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        item[key] = Decimal(str(value)) if isinstance(value, float) else value
    return item


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        key: (int(value) if value == value.to_integral_value() else float(value))
        if isinstance(value, Decimal)
        else value
        for key, value in item.items()
    }


_PAGE_KEY_FIELDS = frozenset({"pk", "sk", "kind", "created_at"})


def _encode_page_token(last_key: Mapping[str, Any]) -> str:
    """The index's LastEvaluatedKey as an opaque, URL-safe token."""
    document = json.dumps({name: last_key[name] for name in sorted(_PAGE_KEY_FIELDS)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(document.encode("utf-8")).decode("ascii").rstrip("=")


_PAGE_KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
_PAGE_KEY_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?Z")


def _decode_page_token(token: str, kind: str) -> dict[str, str]:
    """Back to an ExclusiveStartKey, accepting only a key of this listing's own shape: anything
    else would reach DynamoDB, which answers a malformed start key with an error of its own."""
    refused = InvalidPageTokenError(f"page token {token[:40]!r} is not one this listing handed out")
    try:
        key = untrusted_json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise refused from None
    if not isinstance(key, dict) or set(key) != _PAGE_KEY_FIELDS:
        raise refused
    if not all(isinstance(value, str) for value in key.values()):
        raise refused
    prefix, _, item_id = key["pk"].partition("#")
    if (
        key["kind"] != kind
        or prefix != kind.upper()
        or key["sk"] != kind.upper()
        or not _PAGE_KEY_ID.fullmatch(item_id)
        or not _PAGE_KEY_TIME.fullmatch(key["created_at"])
    ):
        raise refused
    return key


def read_partition(table: Any, pk: str) -> list[dict[str, Any]]:
    """Every item under `pk`, read consistently (a write just made is always seen), page by page."""
    from boto3.dynamodb.conditions import Key

    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"KeyConditionExpression": Key("pk").eq(pk), "ConsistentRead": True}
    while True:
        page = table.query(**kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def scene_sk(number: int) -> str:
    return f"SCENE#{number:03d}"


def list_kind(
    table: Any, kind: str, limit: int, page_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A page of the items of `kind` (`script`, `video`) from the `by_kind` index, newest first, and
    the token of the next page (None on the last)."""
    kwargs: dict[str, Any] = {
        "IndexName": BY_KIND_INDEX,
        "KeyConditionExpression": "#kind = :kind",
        "ExpressionAttributeNames": {"#kind": "kind"},
        "ExpressionAttributeValues": {":kind": kind},
        "ScanIndexForward": False,
        "Limit": limit,
    }
    if page_token is not None:
        kwargs["ExclusiveStartKey"] = _decode_page_token(page_token, kind)
    page = table.query(**kwargs)
    last = page.get("LastEvaluatedKey")
    return [from_item(item) for item in page["Items"]], _encode_page_token(last) if last else None


def conditional_update(
    table: Any,
    key: dict[str, str],
    status: str | None,
    sources: Iterable[object] | None,
    fields: Mapping[str, Any],
    extra: tuple[str, Mapping[str, str], Mapping[str, Any]] | None = None,
) -> bool:
    """SET `fields` (None removes), `updated_at`, and `status` when given, on an item that exists,
    whose status is one of `sources` (when given) and where `extra`'s condition holds; False when
    refused."""
    values = {"updated_at": now_iso(), **fields}
    if status is not None:
        values["status"] = status
    sets, removes = [], []
    names: dict[str, str] = {}
    attribute_values: dict[str, Any] = {}
    for index, (name, value) in enumerate(values.items()):
        names[f"#f{index}"] = name
        if value is None:
            removes.append(f"#f{index}")
        else:
            sets.append(f"#f{index} = :v{index}")
            attribute_values[f":v{index}"] = to_item({"v": value})["v"]
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    condition = "attribute_exists(pk)"
    if sources is not None:
        allowed = sorted(str(source) for source in sources)
        if not allowed:
            return False
        for index, source in enumerate(allowed):
            attribute_values[f":s{index}"] = source
        names["#status"] = "status"
        condition += f" AND #status IN ({', '.join(f':s{i}' for i in range(len(allowed)))})"
    if extra is not None:
        extra_condition, extra_names, extra_values = extra
        condition += f" AND {extra_condition}"
        names.update(extra_names)
        attribute_values.update(extra_values)
    client_errors = table.meta.client.exceptions
    try:
        table.update_item(
            Key=key,
            UpdateExpression=expression,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=attribute_values,
        )
    except client_errors.ConditionalCheckFailedException:
        return False
    return True


def update_if(
    table: Any, key: dict[str, str], fields: Mapping[str, Any], condition: str, values: Mapping[str, Any]
) -> bool:
    """SET `fields` (None removes) and `updated_at` where `condition` holds; `#status` and
    `#owner` name those attributes in the condition."""
    names = {"#status": "status", "#owner": "owner"}
    attribute_values = to_item(values)
    sets, removes = [], []
    for index, (name, value) in enumerate({**fields, "updated_at": now_iso()}.items()):
        names[f"#f{index}"] = name
        if value is None:
            removes.append(f"#f{index}")
        else:
            sets.append(f"#f{index} = :v{index}")
            attribute_values[f":v{index}"] = to_item({"v": value})["v"]
    used = {name: attr for name, attr in names.items() if name in condition or name.startswith("#f")}
    expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
    client_errors = table.meta.client.exceptions
    try:
        table.update_item(
            Key=key,
            UpdateExpression=expression,
            ConditionExpression=f"attribute_exists(pk) AND ({condition})",
            ExpressionAttributeNames=used,
            ExpressionAttributeValues=attribute_values,
        )
    except client_errors.ConditionalCheckFailedException:
        return False
    return True
