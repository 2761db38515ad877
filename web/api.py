"""The JSON API under ``/api``: the same library calls as the pages, for scripts and other systems.

Authentication is ``Authorization: Bearer <token>`` (tokens come from ``sohoa users
token``); a browser's session cookie also works, with the ``X-CSRF-Token`` header on
anything but GET. Errors are ``{"error": key, "message": text}`` with the status
:func:`web.statuses.http_status` gives; no credentials → 401, a role without the
permission → 403. The OpenAPI description is at ``/api/openapi.json`` (signed-in
users only, like everything but ``/login`` and ``/health``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from web.audit import audit_filter, read_log
from web.auth import Principal, require
from web.deps import settings_of
from web.roles import Permission

router = APIRouter(prefix="/api", tags=["api"])

Signed = Annotated[Principal, Depends(require())]


class Me(BaseModel):
    """The account the request is made as."""

    name: str
    role: str = Field(description="clerk, auditor or admin")
    unit: str | None = Field(description="The unit the account is limited to; null: every unit")
    permissions: list[str]
    via: str = Field(description="web (session cookie) or api (bearer token)")
    scope: str = Field(
        default="full", description="full, or read for a read-only token (GET requests only)"
    )
    expires_at: datetime | None = Field(
        default=None, description="When the token stops working; null: a session, or never"
    )


class AuditEntryOut(BaseModel):
    """One audit log entry (ids and field names, never personal data values)."""

    id: int
    at: datetime
    user: str | None
    role: str | None
    action: str
    target: str | None
    detail: dict[str, Any]
    ip: str | None
    user_agent: str | None
    via: str


class AuditPageOut(BaseModel):
    """One page of the audit log, newest first."""

    total: int
    page: int
    per_page: int
    pages: int
    entries: list[AuditEntryOut]


@router.get("/me", response_model=Me, summary="Who am I")
def me(principal: Signed) -> Me:
    """The caller's account, role and permissions."""
    return Me(
        name=principal.name,
        role=principal.role,
        unit=principal.unit,
        permissions=sorted(str(p) for p in principal.permissions),
        via=principal.via,
        scope=principal.scope,
        expires_at=principal.expires_at,
    )


@router.get("/audit", response_model=AuditPageOut, summary="Read the audit log (admin)")
def audit_entries(
    request: Request,
    _: Annotated[Principal, Depends(require(Permission.AUDIT))],
    user: Annotated[str, Query(max_length=64, description="account name")] = "",
    action: Annotated[str, Query(max_length=64, description="an action, or area.*")] = "",
    day_from: Annotated[str, Query(alias="from", description="first day, yyyy-mm-dd")] = "",
    day_to: Annotated[str, Query(alias="to", description="last day, yyyy-mm-dd")] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AuditPageOut:
    """Entries matching every filter given; days are whole days in the office's time zone."""
    flt = audit_filter(
        settings_of(request), user=user, action=action, day_from=day_from, day_to=day_to
    )
    found = read_log(request, flt, page=page, per_page=per_page)
    entries = [AuditEntryOut.model_validate(e.to_dict()) for e in found.entries]
    return AuditPageOut(
        total=found.total,
        page=found.page,
        per_page=found.per_page,
        pages=found.pages,
        entries=entries,
    )


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, _: Signed) -> JSONResponse:
    """This API's OpenAPI description."""
    return JSONResponse(request.app.openapi())
