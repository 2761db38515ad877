"""Rendering HTML pages: one Jinja2 environment, one ``render`` every route uses.

Every template gets, besides what the route passes: ``t(key, **params)`` (texts in
the request's language), ``lang``, ``principal`` (or ``None``), ``csrf_token`` (put
``{{ csrf_field() }}`` in every ``<form method="post">``), ``nav`` (the pages the
user's role may open) and ``when(datetime or ISO text, day=False)`` (a time in
the office's zone, ``dd/mm/yyyy HH:MM``). Autoescaping is on and undefined names are errors, so a
typo fails a test instead of printing nothing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from web.audit import office_zone
from web.auth import Principal, optional_principal
from web.i18n import LANG_COOKIE, chosen_lang, request_lang, translator
from web.roles import NAV
from web.security import CSRF_FIELD, csrf_token, issue_cookies, set_cookie

__all__ = ["TEMPLATES_DIR", "nav_items", "render", "templates"]

TEMPLATES_DIR = Path(__file__).parent / "templates"
LANG_COOKIE_SECONDS = 365 * 24 * 3600


def nav_items(request: Request, principal: Principal | None) -> list[dict[str, Any]]:
    """The pages ``principal`` may use, each marked ``linked`` once a route serves it."""
    if principal is None:
        return []
    served: set[str] = getattr(request.app.state, "page_paths", set())
    return [
        {
            "path": item.path,
            "label": item.label,
            "description": item.description,
            "linked": item.path in served,
            "current": request.url.path == item.path,
        }
        for item in NAV
        if principal.can(item.permission)
    ]


def _context(request: Request) -> dict[str, Any]:
    lang = request_lang(request)
    principal = optional_principal(request)
    token = csrf_token(request)
    zone = office_zone(request)

    def when(moment: datetime | str | None, *, day: bool = False) -> str:
        if not moment:
            return ""
        if isinstance(moment, str):
            moment = datetime.fromisoformat(moment)
        return moment.astimezone(zone).strftime("%d/%m/%Y" if day else "%d/%m/%Y %H:%M")

    def csrf_field() -> Markup:
        return Markup('<input type="hidden" name="{}" value="{}">').format(
            CSRF_FIELD, escape(token)
        )

    return {
        "lang": lang,
        "other_lang": "en" if lang == "vi" else "vi",
        "t": translator(lang),
        "principal": principal,
        "csrf_token": token,
        "csrf_field": csrf_field,
        "nav": nav_items(request, principal),
        "when": when,
        "path": request.url.path,
    }


templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(("html",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    ),
    context_processors=[_context],
)


def render(
    request: Request,
    template: str,
    /,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with ``context``; add the cookies rendering needed.

    Those are the pre-session cookie a first CSRF token creates, and the language
    cookie when the page was asked for with ``?lang=``.
    """
    response = templates.TemplateResponse(
        request, template, context, status_code=status, headers=headers
    )
    issue_cookies(request, response)
    if lang := chosen_lang(request):
        set_cookie(response, request, LANG_COOKIE, lang, max_age=LANG_COOKIE_SECONDS)
    return response
