"""Lists: filters, sort orders and pages, the same way for every table."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
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


def live_named(table: sa.Table, status: str | None, name_contains: str | None) -> list[sa.ColumnElement[bool]]:
    """Rows not deleted, with `status`, whose name contains `name_contains` (case-insensitive).

    `%` and `_` in `name_contains` match only themselves.
    """
    where: list[sa.ColumnElement[bool]] = [table.c.deleted_at.is_(None)]
    if status is not None:
        where.append(table.c.status == status)
    if name_contains is not None:
        where.append(sa.func.lower(table.c.name).contains(name_contains.lower(), autoescape=True))
    return where


def time_range(
    column: sa.ColumnElement[datetime], start: datetime | None, end: datetime | None
) -> list[sa.ColumnElement[bool]]:
    """From `start` (included) to `end` (excluded); either may be open."""
    where: list[sa.ColumnElement[bool]] = []
    if start is not None:
        where.append(column >= start)
    if end is not None:
        where.append(column < end)
    return where


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
    for name, value in (("limit", limit), ("offset", offset)):
        if value < 0:
            # The databases disagree on negative values (PostgreSQL refuses, SQLite ignores them).
            raise InvalidInput(errors=[ErrorDetail(loc=(name,), msg="must not be negative", type="range")])
    query = sa.select(table).where(*where).order_by(*ordering).limit(limit).offset(offset)
    items = [load(row) for row in (await tx.execute(query)).mappings()]
    if len(items) < limit and (items or offset == 0):
        total = offset + len(items)  # a short page is the last one
    else:
        count = sa.select(sa.func.count()).select_from(table).where(*where)
        total = (await tx.execute(count)).scalar_one()
    return Page(items=items, total=total, limit=limit, offset=offset)
