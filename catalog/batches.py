"""The clerk's list of batches: newest first, by unit and status, with their records' review state.

Plain functions over a :class:`catalog.database.Catalog` (its ``batches`` and
``records`` tables), like :mod:`catalog.accounts`; kept out of ``catalog.py`` because
only the web app's batch pages need them.

A batch row's ``status`` is what the pipeline stored: ``waiting`` (received, not
processed yet), ``archived``, ``failed`` (an outage or a signing problem: the
originals wait in the inbox) or ``quarantined`` (bad input). *Needs review* is
not stored: it is an archived batch with at least one record in review, counted
here from the records so it can never disagree with them.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select

from catalog.connection import storage_errors
from catalog.database import Catalog
from catalog.tables import BatchTable, RecordTable

__all__ = ["BatchPage", "BatchSummary", "list_batches"]

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class BatchSummary:
    """One batch row with how many records it made and how many of them need review."""

    id: str
    status: str
    reason: str | None
    unit: str | None
    kind: str | None
    dossier_code: str | None
    file_count: int
    page_count: int
    created_at: datetime
    updated_at: datetime
    records: int
    """Records catalogued for this batch."""
    in_review: int
    """Of those, records whose status is ``needs_review``."""


@dataclass(frozen=True)
class BatchPage:
    """One page of batches, newest first, and how many match in all."""

    batches: tuple[BatchSummary, ...]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _filtered(
    query: Select,
    *,
    unit: str | Collection[str] | None,
    statuses: Collection[str] | None,
    in_review: bool | None,
    only: Collection[str] | None,
    without: Collection[str],
    review_count: Any,
) -> Select:
    if unit is not None:
        query = query.where(BatchTable.unit.in_([unit] if isinstance(unit, str) else list(unit)))
    if statuses is not None:
        query = query.where(BatchTable.status.in_(list(statuses)))
    if in_review is not None:
        query = query.where(review_count > 0 if in_review else review_count == 0)
    if only is not None:
        query = query.where(BatchTable.id.in_(list(only)))
    if without:
        query = query.where(BatchTable.id.not_in(list(without)))
    return query


@storage_errors
def list_batches(
    catalog: Catalog,
    *,
    unit: str | Collection[str] | None = None,
    statuses: Collection[str] | None = None,
    in_review: bool | None = None,
    only: Collection[str] | None = None,
    without: Collection[str] = (),
    page: int = 1,
    per_page: int = 25,
) -> BatchPage:
    """Batches matching every filter given, newest first.

    Args:
        unit: only this unit's batches, or these units' (a clerk limited to a unit and
            the units under it).
        statuses: stored statuses to keep.
        in_review: ``True`` only batches with a record in review, ``False`` only those
            without, ``None`` both.
        only: keep only these ids (batches running in this process).
        without: leave these ids out.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    records = (
        select(func.count(RecordTable.id))
        .where(RecordTable.batch_id == BatchTable.id)
        .correlate(BatchTable)
        .scalar_subquery()
    )
    review = (
        select(func.count(RecordTable.id))
        .where(RecordTable.batch_id == BatchTable.id, RecordTable.status == "needs_review")
        .correlate(BatchTable)
        .scalar_subquery()
    )
    filters = {
        "unit": unit,
        "statuses": statuses,
        "in_review": in_review,
        "only": only,
        "without": without,
        "review_count": review,
    }
    rows_query = _filtered(select(BatchTable, records, review), **filters)
    count_query = _filtered(select(func.count(BatchTable.id)), **filters)
    rows_query = rows_query.order_by(BatchTable.created_at.desc(), BatchTable.id)
    rows_query = rows_query.offset((page - 1) * per_page).limit(per_page)
    with catalog._read() as session:
        total = int(session.scalar(count_query) or 0)
        found = [_summary(batch, n, r) for batch, n, r in session.execute(rows_query)]
    return BatchPage(tuple(found), total, page, per_page)


def _summary(batch: BatchTable, records: int, in_review: int) -> BatchSummary:
    return BatchSummary(
        id=batch.id,
        status=batch.status,
        reason=batch.reason,
        unit=batch.unit,
        kind=batch.kind,
        dossier_code=batch.dossier_code,
        file_count=batch.file_count,
        page_count=batch.page_count,
        created_at=batch.created_at,
        updated_at=batch.updated_at,
        records=int(records or 0),
        in_review=int(in_review or 0),
    )
