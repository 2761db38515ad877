"""Searching the catalog: one call for ``sohoa search``, the auditor's search page and the API.

:func:`search` is what the web calls (a query object, a page of typed hits, the
caller's unit scope); :func:`search_records` is the same search for the CLI, from
typed options to a plain dict ready for JSON. Both go through :func:`search`, so
the CLI and the web find the same records in the same order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date

from catalog.database import open_catalog
from catalog.rows import PersonMatch, SearchHit
from catalog.search import RESULT_CAP, SearchFilters
from schemas.settings import Settings
from services.scope import units_within
from sohoa.dates import parse_day
from sohoa.errors import InvalidRequestError
from sohoa.messages import text
from sohoa.textfold import fold

__all__ = [
    "MAX_PER_PAGE",
    "PER_PAGE",
    "RecordQuery",
    "ResultPage",
    "people_text",
    "person_text",
    "sample_query",
    "search",
    "search_records",
]

PER_PAGE = 20
"""Hits per page of search results unless the caller asks otherwise."""
MAX_PER_PAGE = 100


@dataclass(frozen=True)
class RecordQuery:
    """What an auditor asks the catalog for: words and filters; empty words browse newest first."""

    text: str = ""
    """Words, a name, an ID number or a dossier code, with or without diacritics."""
    unit: str | None = None
    kind: str | None = None
    """``thanh-phan`` or ``ket-qua``."""
    status: str | None = None
    """``archived`` or ``needs_review``."""
    procedure: str | None = None
    """Mã TTHC or a dot-prefix of it (``1.004616``)."""
    sector: str | None = None
    """Lĩnh vực, compared without diacritics."""
    date_from: date | None = None
    """First day of ngày tiếp nhận, included."""
    date_to: date | None = None
    """Last day of ngày tiếp nhận, included."""

    def filters_used(self) -> list[str]:
        """Names of the filters given: what the audit log keeps instead of the values searched."""
        names = ("unit", "kind", "status", "procedure", "sector", "date_from", "date_to")
        return [name for name in names if getattr(self, name)]


@dataclass(frozen=True)
class ResultPage:
    """One page of search results, with the count of every record that matches."""

    hits: tuple[SearchHit, ...]
    """Best first; each ``snippet`` marks the match with « and »."""
    total: int
    """Matching records; a lower bound when ``total_is_exact`` is False."""
    total_is_exact: bool
    """False above :data:`catalog.search.RESULT_CAP` matches (show "1000+")."""
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        """Pages that can be shown (a text search stops at the cap)."""
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def capped(self) -> bool:
        """The search stopped at its cap: later pages do not exist, filters narrow it."""
        return self.total >= RESULT_CAP

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def search(
    settings: Settings,
    query: RecordQuery,
    *,
    scope: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ResultPage:
    """One page of records matching ``query``, ranked (see :meth:`catalog.database.Catalog.find`).

    Args:
        scope: the caller's unit; results are limited to it and the units under it.
        page: 1-based page number.
        per_page: hits per page (at most 100).

    Raises:
        PermissionDeniedError: a unit-limited caller filtered on another unit.
        InvalidRequestError: the first day is after the last.
    """
    if query.date_from and query.date_to and query.date_from > query.date_to:
        raise InvalidRequestError("bad_period", start=str(query.date_from), end=str(query.date_to))
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    page = min(max(page, 1), math.ceil(RESULT_CAP / per_page))
    filters = SearchFilters(
        unit=units_within(settings, query.unit, scope),
        kind=query.kind or None,
        status=query.status or None,
        procedure_code=query.procedure or None,
        sector=query.sector or None,
        date_from=query.date_from,
        date_to=query.date_to,
    )
    catalog = open_catalog(settings.resolved_catalog_url)
    found = catalog.find(query.text, filters=filters, limit=per_page, offset=(page - 1) * per_page)
    return ResultPage(found.hits, found.total, found.total_is_exact, page, per_page)


def search_records(
    settings: Settings,
    query: str,
    *,
    limit: int = 20,
    page: int = 1,
    date_from: str | None = None,
    date_to: str | None = None,
    **filters: str | None,
) -> dict:
    """``sohoa search``: a page of ranked hits for words, a name, an ID or a dossier code.

    The days are typed as for every command (:func:`sohoa.dates.parse_day`).

    Raises:
        BadDayError: ``--from`` or ``--to`` is not a day (exit 2).
        InvalidRequestError: the first day is after the last.
    """
    start = parse_day(date_from, option="--from") if date_from else None
    end = parse_day(date_to, option="--to") if date_to else None
    asked = RecordQuery(text=query, date_from=start, date_to=end, **filters)
    found = search(settings, asked, page=page, per_page=limit)
    total = f"{found.total}" if found.total_is_exact else f"{found.total}+"
    return {
        "hits": [asdict(hit) for hit in found.hits],  # people as [{role, name}]
        "total": found.total,
        "total_exact": found.total_is_exact,
        "total_text": total,
        "page": page,
    }


def person_text(person: PersonMatch, lang: str | None = None) -> str:
    """One matched person as people read it: ``Trần Văn Hưởng (người nộp)``."""
    role = text(f"person_role_{person.role}", lang)
    return f"{person.name} ({role})" if person.name else role


def people_text(people: Iterable[PersonMatch], lang: str | None = None) -> str:
    """Every matched person of a hit, joined: ``Lê Văn Tám (cha); Lê Thị Hoa (mẹ)``."""
    return "; ".join(person_text(p, lang) for p in people)


def sample_query(settings: Settings, record_id: str) -> str | None:
    """A distinctive word of a record, folded (used by the demo to show accent-free search)."""
    text = open_catalog(settings.resolved_catalog_url).get_text(record_id)
    words = [w for w in re.findall(r"\w{5,}", text) if not w.isdigit()]
    accented = [w for w in words if fold(w) != w.lower()]
    return fold(accented[0]) if accented else (fold(words[0]) if words else None)
