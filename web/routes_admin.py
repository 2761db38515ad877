"""Administrator pages: users (``/admin/users…``) and the audit log (``/admin/audit``).

Every change goes through :mod:`services.users` — the functions behind
``sohoa users`` — with the signed-in administrator as the audit actor. Forms post,
then redirect back (``?done=…``) so a reload does not post again; a refused change
shows the page again with the reason and the matching status (400, 404, 409).
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from catalog import audit as audit_log
from catalog.register import units as register_units
from services import users as user_service
from sohoa.errors import InvalidRequestError, NotFoundError, SohoaError
from web.audit import actor, audit_filter, read_log
from web.auth import Principal, require
from web.deps import catalog_of, settings_of
from web.i18n import error_text, request_lang
from web.pages import render
from web.roles import ROLES, Permission
from web.statuses import http_status

router = APIRouter(prefix="/admin", include_in_schema=False)

AdminUsers = Annotated[Principal, Depends(require(Permission.USERS))]
AdminAudit = Annotated[Principal, Depends(require(Permission.AUDIT))]
DONE = frozenset({"created", "disabled", "enabled", "password", "role"})
"""Confirmations ``?done=`` may ask for (anything else shows nothing)."""
PER_PAGE = 50

# --- users -------------------------------------------------------------------------------------


def _known_units(request: Request) -> list[str]:
    """Unit codes from the dossier register, offered as suggestions."""
    try:
        return [u.code for u in register_units(catalog_of(request))]
    except SohoaError:
        return []


def _users_page(
    request: Request, *, error: SohoaError | None = None, done: str | None = None
) -> Response:
    return render(
        request,
        "admin_users.html",
        status=http_status(error) if error else 200,
        users=user_service.list_users(settings_of(request)),
        roles=ROLES,
        units=_known_units(request),
        error=error and error_text(error, request_lang(request)),
        done=done if done in DONE else None,
    )


def _after(request: Request, change, done: str) -> Response:
    """Run one change; back to the list with a confirmation, or the page with the reason."""
    try:
        change()
    except (InvalidRequestError, NotFoundError) as exc:
        return _users_page(request, error=exc)
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


def _same(password: str, again: str) -> None:
    if password != again:
        raise InvalidRequestError("password_mismatch")


@router.get("/users")
def users_page(request: Request, _: AdminUsers, done: str | None = None) -> Response:
    """Every account, with forms to create one and change each."""
    return _users_page(request, done=done)


@router.post("/users")
def create_user(
    request: Request,
    _: AdminUsers,
    name: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=16)],
    password: Annotated[str, Form(max_length=1024)],
    password2: Annotated[str, Form(max_length=1024)],
    unit: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    settings, who = settings_of(request), actor(request)

    def change() -> None:
        _same(password, password2)
        user_service.add_user(settings, name, password, role=role, unit=unit, actor=who)

    return _after(request, change, "created")


@router.post("/users/{name}/disable")
def disable_user(request: Request, _: AdminUsers, name: str) -> Response:
    settings, who = settings_of(request), actor(request)
    return _after(
        request, lambda: user_service.set_active(settings, name, False, actor=who), "disabled"
    )


@router.post("/users/{name}/enable")
def enable_user(request: Request, _: AdminUsers, name: str) -> Response:
    settings, who = settings_of(request), actor(request)
    return _after(
        request, lambda: user_service.set_active(settings, name, True, actor=who), "enabled"
    )


@router.post("/users/{name}/password")
def reset_password(
    request: Request,
    _: AdminUsers,
    name: str,
    password: Annotated[str, Form(max_length=1024)],
    password2: Annotated[str, Form(max_length=1024)],
) -> Response:
    settings, who = settings_of(request), actor(request)

    def change() -> None:
        _same(password, password2)
        user_service.reset_password(settings, name, password, actor=who)

    return _after(request, change, "password")


@router.post("/users/{name}/role")
def set_role(
    request: Request,
    _: AdminUsers,
    name: str,
    role: Annotated[str, Form(max_length=16)],
    unit: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    settings, who = settings_of(request), actor(request)
    return _after(
        request,
        lambda: user_service.set_role(settings, name, role=role, unit=unit, actor=who),
        "role",
    )


# --- audit log ---------------------------------------------------------------------------------


@router.get("/audit")
def audit_page(
    request: Request,
    _: AdminAudit,
    user: Annotated[str, Query(max_length=64)] = "",
    action: Annotated[str, Query(max_length=64)] = "",
    day_from: Annotated[str, Query(alias="from", max_length=32)] = "",
    day_to: Annotated[str, Query(alias="to", max_length=32)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    """The audit log, newest first, filtered by user, action and days, 50 a page."""
    values = {"user": user, "action": action, "from": day_from, "to": day_to}
    catalog = catalog_of(request)
    common = {
        "values": values,
        "actions": audit_log.actions(catalog),
        "user_names": [u["name"] for u in user_service.list_users(settings_of(request))],
    }
    try:
        flt = audit_filter(
            settings_of(request), user=user, action=action, day_from=day_from, day_to=day_to
        )
    except InvalidRequestError as exc:
        error = error_text(exc, request_lang(request))
        return render(
            request, "admin_audit.html", status=http_status(exc), error=error, log=None, **common
        )
    found = read_log(request, flt, page=page, per_page=PER_PAGE)
    kept = {k: v for k, v in values.items() if v}
    links = {
        "prev": found.page > 1 and "?" + urlencode({**kept, "page": found.page - 1}),
        "next": found.page < found.pages and "?" + urlencode({**kept, "page": found.page + 1}),
    }
    return render(request, "admin_audit.html", error=None, log=found, links=links, **common)
