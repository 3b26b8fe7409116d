"""Column types that make SQLite and PostgreSQL store, compare and return the same values.

PostgreSQL cannot store NUL characters or lone surrogates, and JSON has no NaN; both databases refuse
those values here, in the same way, before a driver sees them.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

# A JSON `\u0000` escape: preceded by an even number of backslashes, so that an escaped backslash
# followed by the letters "u0000" (a harmless string) does not match.
_NUL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class UnstorableValue(ValueError):
    """A value that one of the databases cannot store: text with NUL or a lone surrogate, a non-finite number."""


def storable_text(text: str) -> str:
    """`text` unchanged, or `UnstorableValue` when PostgreSQL could not store it."""
    if "\x00" in text:
        raise UnstorableValue("text must not contain NUL (\\u0000) characters")
    if not text.isascii():
        _check_encodable(text)
    return text


def json_dumps(value: Any) -> str:
    """The JSON text both databases store for `value` (the engines' `json_serializer`)."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except ValueError as error:
        raise UnstorableValue(f"the value cannot be stored as JSON: {error}") from None
    if "\\u0000" in text and _NUL_ESCAPE.search(text):
        raise UnstorableValue("text must not contain NUL (\\u0000) characters")
    if not text.isascii():
        _check_encodable(text)
    return text


def _check_encodable(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableValue("text must not contain lone surrogates (invalid Unicode)") from None


class StorableText(sa.types.TypeDecorator[str]):
    """Unbounded text, refused when PostgreSQL could not store it.

    No length limit: a limit would make PostgreSQL refuse values that SQLite accepts.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else storable_text(value)


class UtcDateTime(sa.types.TypeDecorator[datetime]):
    """A point in time, always bound and returned as timezone-aware UTC.

    SQLite keeps no offset and returns naive values; binding UTC keeps its text comparisons in time order.
    A naive value is taken to be UTC already.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def as_utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def name_type() -> sa.types.TypeEngine[str]:
    """A name: sorted and compared by code point on both databases.

    PostgreSQL's default collation follows the locale, which ignores punctuation when sorting;
    the "C" collation sorts like SQLite and like Python.
    """
    return StorableText().with_variant(StorableText(collation="C"), "postgresql")


def json_type() -> sa.types.TypeEngine[Any]:
    """A JSON document: JSONB on PostgreSQL, JSON text on SQLite."""
    return sa.JSON().with_variant(JSONB(), "postgresql")
