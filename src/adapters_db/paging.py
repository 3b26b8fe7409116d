"""Lists: filters, sort orders and pages, the same way for every table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa

from adapters_db.mappers import Row
from adapters_db.transaction import Transaction
from wfcore.domain.errors import ErrorDetail, InvalidInput
from wfcore.ports.persistence import Page, Sort

T = TypeVar("T")


def order_by(sort: Sort, columns: Mapping[str, sa.ColumnElement[Any]], tiebreak: sa.Column[Any]) -> list[Any]:
    """The ORDER BY of `sort`: nulls last ascending and first descending, on both databases.

    `tiebreak` (a unique column) makes the order total, so pages never overlap.
    """
    column = columns.get(sort.field)
    if column is None:
        allowed = ", ".join(sorted(columns))
        raise InvalidInput(
            errors=[ErrorDetail(loc=("sort",), msg=f"cannot sort by {sort.field!r}; use one of {allowed}", type="enum")]
        )
    ordered = column.desc().nulls_first() if sort.descending else column.asc().nulls_last()
    return [ordered, tiebreak.asc()]


def name_contains(column: sa.ColumnElement[str], text: str) -> sa.ColumnElement[bool]:
    """Case-insensitive substring match; `%` and `_` in `text` match only themselves."""
    return sa.func.lower(column).contains(text.lower(), autoescape=True)


async def fetch_page(
    tx: Transaction,
    table: sa.Table,
    where: Sequence[sa.ColumnElement[bool]],
    ordering: Sequence[Any],
    limit: int,
    offset: int,
    load: Callable[[Row], T],
) -> Page[T]:
    """One page of the rows matching `where`, and their total (counted only when the page cannot tell it)."""
    query = sa.select(table).where(*where).order_by(*ordering).limit(limit).offset(offset)
    items = [load(row) for row in (await tx.execute(query)).mappings()]
    if 0 < len(items) < limit or (not items and offset == 0):
        total = offset + len(items)
    else:
        count = sa.select(sa.func.count()).select_from(table).where(*where)
        total = (await tx.execute(count)).scalar_one()
    return Page(items=items, total=total, limit=limit, offset=offset)
