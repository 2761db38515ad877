"""The auditor's search page (``GET /search``): one box, filters, ranked and paginated results.

The box takes words, a name, an ID number or a dossier code, with or without
diacritics; the filters narrow by unit, kind, status, procedure, lĩnh vực and
ngày tiếp nhận. Words and filters go to :func:`services.search.search` — the
same call ``GET /api/search`` makes — limited to the user's unit when they have
one. Empty words with filters (or a submitted empty form) list the newest records.

Each hit names the people the query matched, with their role ("Lê Văn Tám (cha)",
:func:`services.search.person_text`), in a column shown when some hit names someone.
Snippets come from the catalog with the match between « and » (cut from the
original text, diacritics kept); :func:`highlight` escapes everything and turns
only those marks into ``<mark>``. The audit log gets the counts and the names of
the filters used, never the words searched.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import Response

from catalog.audit import Action
from catalog.register import units as register_units
from services import search as search_service
from services.search import RecordQuery, ResultPage, person_text
from sohoa.dates import parse_optional_day
from sohoa.errors import InvalidRequestError, SohoaError
from web.audit import audit
from web.auth import Principal, require, unit_scope
from web.deps import catalog_of, settings_of
from web.i18n import error_text, request_lang
from web.pages import render
from web.roles import Permission
from web.statuses import http_status

__all__ = ["FORM_FIELDS", "KINDS", "STATUSES", "highlight", "query_from", "router", "run_search"]

router = APIRouter(include_in_schema=False)

Searcher = Annotated[Principal, Depends(require(Permission.SEARCH))]
FORM_FIELDS = ("q", "unit", "kind", "status", "procedure", "sector", "from", "to")
"""The form's fields, in the order links repeat them."""
KINDS = ("thanh-phan", "ket-qua")
STATUSES = ("archived", "needs_review")
_MARKED = re.compile(r"«([^«»]*)»")

Text = Annotated[str, Query(max_length=200)]
Short = Annotated[str, Query(max_length=64)]


def highlight(snippet: str) -> Markup:
    """The snippet as safe HTML: every character escaped, each «match» in ``<mark>``.

    Why a pattern and not a blind replace: an OCR text may itself hold « or »; only
    a pair with nothing of either inside becomes a mark, the rest stays plain text.
    """
    out: list[str] = []
    last = 0
    for found in _MARKED.finditer(snippet):
        out.append(str(escape(snippet[last : found.start()])))
        out.append(f"<mark>{escape(found.group(1))}</mark>")
        last = found.end()
    out.append(str(escape(snippet[last:])))
    return Markup("".join(out))


def query_from(
    *,
    q: str = "",
    unit: str = "",
    kind: str = "",
    status: str = "",
    procedure: str = "",
    sector: str = "",
    day_from: str = "",
    day_to: str = "",
) -> RecordQuery:
    """A :class:`RecordQuery` from form or query-string values (blank means "any").

    Raises:
        InvalidRequestError: a day that is not ``yyyy-mm-dd`` or ``dd/mm/yyyy``.
    """
    return RecordQuery(
        text=q.strip(),
        unit=unit.strip() or None,
        kind=kind.strip() or None,
        status=status.strip() or None,
        procedure=procedure.strip() or None,
        sector=sector.strip() or None,
        date_from=parse_optional_day(day_from, option="from"),
        date_to=parse_optional_day(day_to, option="to"),
    )


def run_search(
    request: Request, principal: Principal, query: RecordQuery, *, page: int, per_page: int
) -> ResultPage:
    """Search within the user's unit and log it (counts and filter names, not the words)."""
    found = search_service.search(
        settings_of(request), query, scope=unit_scope(principal), page=page, per_page=per_page
    )
    audit(
        request,
        Action.SEARCH,
        words=bool(query.text),
        filters=query.filters_used(),
        hits=len(found.hits),
        total=found.total,
        page=found.page,
    )
    return found


def _suggested_units(request: Request, principal: Principal) -> list[str]:
    """Unit codes for the unit box: the register's, or only the user's own."""
    if principal.unit:
        return [principal.unit]
    try:
        return [u.code for u in register_units(catalog_of(request))]
    except SohoaError:
        return []


def _links(values: dict[str, str], result: ResultPage) -> dict[str, Any]:
    """Previous/next page links that repeat the form's values."""
    kept = {k: v for k, v in values.items() if v}
    kept.setdefault("q", "")

    def to(page: int) -> str:
        return "/search?" + urlencode({**kept, "page": page})

    return {
        "prev": to(result.page - 1) if result.page > 1 else None,
        "next": to(result.page + 1) if result.has_next else None,
    }


@router.get("/search")
def search_page(
    request: Request,
    principal: Searcher,
    q: Text = "",
    unit: Short = "",
    kind: Short = "",
    status: Short = "",
    procedure: Short = "",
    sector: Text = "",
    day_from: Annotated[str, Query(alias="from", max_length=32)] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=1000)] = 1,
) -> Response:
    """The form; once submitted, one page of results with snippets and the total."""
    values = {
        "q": q,
        "unit": principal.unit or unit,
        "kind": kind,
        "status": status,
        "procedure": procedure,
        "sector": sector,
        "from": day_from,
        "to": day_to,
    }
    context: dict[str, Any] = {
        "values": values,
        "units": _suggested_units(request, principal),
        "kinds": KINDS,
        "statuses": STATUSES,
        "highlight": highlight,
        "person_text": person_text,
        "result": None,
        "links": {},
        "error": None,
    }
    status_code = 200
    if any(name in request.query_params for name in FORM_FIELDS):
        try:
            query = query_from(
                q=q,
                unit=unit,
                kind=kind,
                status=status,
                procedure=procedure,
                sector=sector,
                day_from=day_from,
                day_to=day_to,
            )
            result = run_search(
                request, principal, query, page=page, per_page=search_service.PER_PAGE
            )
        except InvalidRequestError as exc:
            context["error"] = error_text(exc, request_lang(request))
            status_code = http_status(exc)
        else:
            context.update(result=result, links=_links(values, result))
    return render(request, "search.html", status=status_code, **context)
