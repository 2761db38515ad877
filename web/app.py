"""``create_app(settings)``: the web app, and the one place errors become HTTP responses.

The app is a thin surface over the library (architecture.md): routes call the
functions the CLI calls (:mod:`services.records`, :mod:`services.users`…) and
render their results. Each area has its router module — ``routes_auth`` (sign in
and out), ``routes_home`` (home page, health), ``routes_admin`` (users, audit log),
``api`` (JSON under ``/api``) — included here with :data:`ROUTERS`.

Domain errors (:mod:`sohoa.errors`) and HTTP-only ones (:mod:`web.errors`) are
turned into statuses by :func:`web.statuses.http_status` and rendered by the handlers
:func:`install_error_handlers` registers: JSON ``{"error", "message"}`` under
``/api``, an HTML page elsewhere, an anonymous page request redirected to the
login form.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from fastapi import Depends, FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from catalog.audit import Action
from schemas.settings import Settings
from sohoa import __version__
from sohoa.errors import PermissionDeniedError, SohoaError
from sohoa.messages import use_lang
from web import (
    api,
    api_auditor,
    api_clerk,
    api_verify,
    routes_admin,
    routes_auth,
    routes_batches,
    routes_home,
    routes_records,
    routes_reports,
    routes_review,
    routes_search,
    routes_settings,
    routes_units,
    routes_upload,
    routes_verify,
)
from web.errors import AuthRequired, WebError
from web.gate import BodyCaps, BodyLimitMiddleware, csrf_protect
from web.i18n import request_lang, text
from web.security import SecurityHeadersMiddleware
from web.sign_in_limits import LoginLimiter
from web.statuses import http_status

__all__ = ["ROUTERS", "create_app", "install_error_handlers", "route_methods"]

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
ROUTERS = (
    routes_auth.router,
    routes_home.router,
    routes_admin.router,
    api.router,
    routes_search.router,
    routes_records.router,
    routes_reports.router,
    api_auditor.router,
    routes_upload.router,
    routes_batches.router,
    routes_review.router,
    api_clerk.router,
    routes_verify.router,
    api_verify.router,
    routes_units.router,
    routes_settings.router,
)
"""Every area's router; a new area adds its module here."""


def _wants_json(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith(("/api/", "/health"))


def _error_response(
    request: Request, status: int, key: str, message: str, headers: dict[str, str] | None = None
) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": key, "message": message}, status, headers=headers)
    from web.pages import render

    return render(
        request, "error.html", status=status, headers=headers, status_code=status, message=message
    )


async def _on_web_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebError)
    if isinstance(exc, AuthRequired) and not _wants_json(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    headers = dict(exc.headers)
    if isinstance(exc, AuthRequired):
        headers["WWW-Authenticate"] = 'Bearer realm="sohoa"'
    message = text(exc.key, request_lang(request), **exc.params)
    return _error_response(request, exc.status, exc.key, message, headers)


async def _on_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SohoaError)
    status = http_status(exc)
    if isinstance(exc, PermissionDeniedError):
        from web.audit import audit

        await run_in_threadpool(
            audit, request, Action.ACCESS_DENIED, target=request.url.path, reason=exc.key
        )
    if status >= 500:
        log.warning("%s %s: %s (%s)", request.method, request.url.path, type(exc).__name__, exc)
    return _error_response(request, status, exc.key, exc.render(request_lang(request)))


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    key = f"web_http_{exc.status_code}"
    lang = request_lang(request)
    message = text(key, lang) if key in _HTTP_TEXTS else str(exc.detail)
    return _error_response(request, exc.status_code, key, message, dict(exc.headers or {}))


async def _on_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    if _wants_json(request):
        fields = [".".join(str(p) for p in e.get("loc", ())) for e in exc.errors()]
        message = text("web_invalid_form", request_lang(request))
        return JSONResponse({"error": "invalid", "message": message, "fields": fields}, 422)
    return _error_response(request, 400, "invalid", text("web_invalid_form", request_lang(request)))


_HTTP_TEXTS = {"web_http_404", "web_http_405", "web_http_413"}


async def _on_refusal(request: Request, exc: Exception) -> Response:
    """Answer a request :class:`web.gate.BodyLimitMiddleware` refused before routing, as the
    handlers below answer the same error raised in a route (it never reaches them)."""
    if isinstance(exc, WebError):
        return await _on_web_error(request, exc)
    if isinstance(exc, SohoaError):
        return await _on_domain_error(request, exc)
    return await _on_http_error(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that turn every error into a page or a JSON body."""
    app.add_exception_handler(WebError, _on_web_error)
    app.add_exception_handler(SohoaError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)


def route_methods() -> list[tuple[str, frozenset[str]]]:
    """Every (path, methods) the routers in :data:`ROUTERS` serve.

    Why: FastAPI 0.154 keeps included routers whole in ``app.routes``, so the routers
    themselves are the public place to list paths (navigation links, the CSRF test).
    """
    return [
        (route.path, frozenset(route.methods or ()))
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
    ]


def upload_limit_bytes(settings: Settings) -> int:
    """Largest upload body: ``web.max_upload_mb``, else ``limits.max_file_mb``."""
    megabytes = settings.web.max_upload_mb or settings.limits.max_file_mb
    return int(megabytes * 1024 * 1024)


UPLOAD_PATHS = ("/upload", "/api/uploads", "/review/pages")
"""The routes that take files (:mod:`web.routes_upload`, :mod:`web.api_clerk`, the review
page's page change :mod:`web.record_pages`); every other body is capped small
(:class:`web.gate.BodyCaps`)."""


def body_caps(settings: Settings) -> BodyCaps:
    """The largest body of each route: uploads their configured limit, the rest a few KB."""
    return BodyCaps(uploads=dict.fromkeys(UPLOAD_PATHS, upload_limit_bytes(settings)))


class _RequestLanguage:
    """Let library code that builds its own text (review reasons, errors) answer in the
    request's language rather than the process's (:func:`sohoa.messages.use_lang`).

    Plain ASGI, not ``BaseHTTPMiddleware``: that one runs the app in another task and
    would change how a streamed body over the size limit is refused.
    """

    def __init__(self, app: Callable) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        with use_lang(request_lang(Request(scope))):
            await self.app(scope, receive, send)


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """Build the web app.

    Args:
        settings: the configuration (default: read from ``SOHOA_*`` and the TOML file).
        clock: returns the current aware UTC time; tests pass one to age sessions.

    Raises:
        StorageError: the catalog cannot be opened (the account tables are created here).
    """
    from catalog.database import open_catalog

    settings = settings or Settings()
    app = FastAPI(
        title="sohoa",
        version=__version__,
        description="Số hóa hồ sơ, kết quả giải quyết TTHC — JSON API",
        docs_url=None,  # Swagger UI needs a CDN and inline script; /api/openapi.json instead
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_protect)],
    )
    app.state.settings = settings
    app.state.clock = clock or (lambda: datetime.now(UTC))
    app.state.login_limiter = LoginLimiter(
        settings.web, lambda: open_catalog(settings.resolved_catalog_url)
    )
    open_catalog(settings.resolved_catalog_url)  # every table exists before the first request
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.state.route_methods = route_methods()
    app.state.page_paths = {path for path, methods in app.state.route_methods if "GET" in methods}
    install_error_handlers(app)
    app.add_middleware(BodyLimitMiddleware, caps=body_caps(settings), respond=_on_refusal)
    app.add_middleware(_RequestLanguage)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.web.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.web.trusted_proxies))
    return app
