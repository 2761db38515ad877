"""The administrator's unit list: ``/admin/units`` and its JSON twin ``/api/units``.

Units decide what a limited account sees (its unit and the units under it) and how
reports roll up, so an office needs them before its first register import, and
needs to correct what an export left blank. Every change goes through
:mod:`services.units` — the functions behind ``sohoa units`` — with the
signed-in administrator as the audit actor. Forms post, then redirect back
(``?done=…``); a refused change shows the page again with the reason and its status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from catalog.units import LEVELS
from services import units as unit_service
from sohoa.errors import InvalidRequestError, NotFoundError, SohoaError
from web.audit import actor
from web.auth import Principal, require
from web.deps import settings_of
from web.i18n import error_text, request_lang
from web.pages import render
from web.roles import Permission
from web.statuses import http_status

router = APIRouter()

AdminUnits = Annotated[Principal, Depends(require(Permission.UNITS))]
UnitCode = Annotated[str, Path(max_length=64)]
DONE = frozenset({"unit_saved", "unit_removed"})
"""Confirmations ``?done=`` may ask for (anything else shows nothing)."""


def _units_page(
    request: Request,
    *,
    error: SohoaError | None = None,
    done: str | None = None,
    form: dict[str, str] | None = None,
) -> Response:
    rows = unit_service.list_units(settings_of(request))
    return render(
        request,
        "admin_units.html",
        status=http_status(error) if error else 200,
        units=rows,
        listed=[row for row in rows if row["listed"]],
        levels=LEVELS,
        error=error and error_text(error, request_lang(request)),
        done=done if done in DONE else None,
        form=form or {},
    )


def _after(
    request: Request, change: Callable[[], Any], done: str, form: dict[str, str]
) -> Response:
    """Run one change; back to the list with a confirmation, or the page with the reason."""
    try:
        change()
    except (InvalidRequestError, NotFoundError) as exc:  # ConflictError is an InvalidRequestError
        return _units_page(request, error=exc, form=form)
    return RedirectResponse(f"/admin/units?done={done}", status_code=303)


@router.get("/admin/units", include_in_schema=False)
def units_page(request: Request, _: AdminUnits, done: str | None = None) -> Response:
    """Every unit as a tree with its counts, a form to add one, and one to change each."""
    return _units_page(request, done=done)


@router.post("/admin/units", include_in_schema=False)
def save_unit_form(
    request: Request,
    _: AdminUnits,
    code: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=400)],
    level: Annotated[str, Form(max_length=16)] = "",
    parent: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Add a unit, or change the one with this code."""
    settings, who = settings_of(request), actor(request)
    form = {"code": code, "name": name, "level": level, "parent": parent}
    return _after(
        request,
        lambda: unit_service.save_unit(
            settings, code, name=name, level=level or None, parent=parent or None, actor=who
        ),
        "unit_saved",
        form,
    )


@router.post("/admin/units/{code}/remove", include_in_schema=False)
def remove_unit_form(request: Request, _: AdminUnits, code: UnitCode) -> Response:
    """Remove a unit nothing refers to."""
    settings, who = settings_of(request), actor(request)
    return _after(
        request, lambda: unit_service.remove_unit(settings, code, actor=who), "unit_removed", {}
    )


# --- API ----------------------------------------------------------------------------------------


class UnitOut(BaseModel):
    """One unit with its place in the tree and what refers to it."""

    code: str
    name: str
    level: str | None
    parent: str | None
    depth: int
    listed: bool = Field(description="In the unit list; false: only used by records or accounts")
    dossiers: int
    records: int
    users: int
    batches: int
    children: int
    in_use: bool


class UnitIn(BaseModel):
    """A unit to add or change."""

    name: str = Field(max_length=400)
    level: str | None = Field(default=None, description="tinh, so, huyen or xa")
    parent: str | None = Field(default=None, max_length=64)


@router.get("/api/units", tags=["admin"])
def api_units(request: Request, _: AdminUnits) -> list[UnitOut]:
    """Every unit in hierarchy order (parents first), then codes used but never listed."""
    return [UnitOut(**row) for row in unit_service.list_units(settings_of(request))]


@router.put("/api/units/{code}", tags=["admin"])
def api_save_unit(request: Request, _: AdminUnits, code: UnitCode, body: UnitIn) -> dict:
    """Add or change a unit; 400 for a bad code, name, level or parent (unknown or a loop)."""
    return unit_service.save_unit(
        settings_of(request),
        code,
        name=body.name,
        level=body.level or None,
        parent=body.parent or None,
        actor=actor(request),
    )


@router.delete("/api/units/{code}", tags=["admin"], status_code=204)
def api_remove_unit(request: Request, _: AdminUnits, code: UnitCode) -> Response:
    """Remove a unit; 404 if unknown, 409 while records, dossiers, accounts or units use it."""
    unit_service.remove_unit(settings_of(request), code, actor=actor(request))
    return Response(status_code=204)
