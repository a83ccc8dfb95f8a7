"""Metadata: the merchant's own string key-value pairs on quotes, policies and claims (DESIGN §7.3).

At most 50 keys; a key is 1-40 characters of ``A-Z a-z 0-9 _ . -``; a value is a string of at most
500 characters. The rules are pydantic types, so the SDK (before sending) and the sandbox app
check them with the same models, and a problem names the key (``metadata.cart``). ``merge_metadata``
is the one rule for an update: the given keys are merged in, a key set to ``""`` or ``None`` is
removed. ``metadata_query`` turns a filter into the list query ``metadata[KEY]=VALUE``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated

from pydantic import AfterValidator, Field, StrictStr, TypeAdapter, ValidationError
from pydantic_core import PydanticCustomError

__all__ = [
    "METADATA_KEY_PATTERN",
    "METADATA_MAX_KEYS",
    "METADATA_MAX_KEY_LENGTH",
    "METADATA_MAX_VALUE_LENGTH",
    "Metadata",
    "MetadataKey",
    "MetadataUpdate",
    "filter_problem",
    "merge_metadata",
    "metadata_filter",
    "metadata_query",
]

METADATA_MAX_KEYS = 50
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_VALUE_LENGTH = 500
METADATA_KEY_PATTERN = r"^[A-Za-z0-9_.\-]{1,40}$"
_KEY = re.compile(METADATA_KEY_PATTERN)
_KEY_RULE = "a metadata key is 1-40 characters of A-Z, a-z, 0-9, '_', '.' and '-'"


def _key(value: str) -> str:
    if not _KEY.fullmatch(value):
        raise PydanticCustomError("metadata_key", _KEY_RULE)
    return value


MetadataKey = Annotated[
    StrictStr,
    AfterValidator(_key),
    Field(json_schema_extra={"pattern": METADATA_KEY_PATTERN}),
]
"""A metadata key: 1-40 characters of ``A-Z a-z 0-9 _ . -``."""
MetadataValue = Annotated[StrictStr, Field(max_length=METADATA_MAX_VALUE_LENGTH)]
Metadata = Annotated[
    dict[MetadataKey, MetadataValue],
    Field(
        max_length=METADATA_MAX_KEYS,
        description="Your own key-value pairs (at most 50 keys; keys 1-40 characters of "
        "A-Z a-z 0-9 _ . -; values strings of at most 500 characters).",
    ),
]
"""Metadata as set on a quote (an empty value sets nothing)."""
MetadataUpdate = Annotated[
    dict[MetadataKey, MetadataValue | None],
    Field(
        max_length=METADATA_MAX_KEYS,
        description='Keys to merge into the metadata; a key set to "" or null is removed.',
    ),
]
"""Metadata as given to an update: a key set to ``""`` or ``None`` is removed."""

_FILTER: TypeAdapter[dict[str, str]] = TypeAdapter(Metadata)


def merge_metadata(existing: Mapping[str, str], update: Mapping[str, str | None]) -> dict[str, str]:
    """``existing`` with ``update`` merged in: a key set to ``""`` or ``None`` is removed. The
    caller checks the result's size (at most ``METADATA_MAX_KEYS``)."""
    merged = dict(existing)
    for key, value in update.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def metadata_filter(metadata: Mapping[str, object]) -> dict[str, str]:
    """A list filter ``{KEY: VALUE}`` checked by the metadata rules; raises pydantic's
    ``ValidationError`` (locations ``(KEY,)``) on a bad key or value."""
    return _FILTER.validate_python(dict(metadata))


def metadata_query(metadata: Mapping[str, str]) -> dict[str, str]:
    """The query parameters of a metadata filter: ``{"metadata[cart]": "c-77"}``."""
    return {f"metadata[{key}]": value for key, value in metadata.items()}


def filter_problem(error: ValidationError) -> tuple[str, str]:
    """(param, message) of a bad metadata filter: ``metadata.KEY`` (or ``metadata``)."""
    first = error.errors(include_input=False, include_url=False)[0]
    loc = [str(part) for part in first.get("loc", ()) if "[" not in str(part)]
    message = str(first.get("msg", "invalid metadata")).removeprefix("Value error, ")
    return ".".join(["metadata", *loc[:1]]), message
