"""What every route reads from the application and the request: settings, catalog, clock, client.

``create_app`` puts the settings and a clock on ``app.state``; routes reach them
through these functions (usable as FastAPI dependencies or called directly), so
a test can swap the clock to age a session without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.requests import Request

from catalog.database import Catalog, open_catalog
from schemas.settings import Settings

__all__ = ["catalog_of", "client_ip", "now_of", "settings_of", "state_once"]

_once_lock = threading.Lock()


def settings_of(request: Request) -> Settings:
    """The app's frozen settings."""
    return request.app.state.settings


def catalog_of(request: Request) -> Catalog:
    """The shared catalog (re-fetched each time, so a rebuilt catalog file is picked up)."""
    return open_catalog(settings_of(request).resolved_catalog_url)


def now_of(request: Request) -> datetime:
    """The current time, aware UTC, from the app's clock."""
    return request.app.state.clock()


def client_ip(request: Request) -> str | None:
    """The client's address (a trusted proxy's ``X-Forwarded-For`` already applied).

    Why here and not in :mod:`web.security`: the audit log, sign-in limits and sessions
    all read it, and :mod:`web.security` itself writes to the audit log (a refused CSRF
    token), so a plain request fact must not sit in either of them.
    """
    return request.client.host if request.client else None


def state_once(request: Request, name: str, make: Callable[[Settings], Any]) -> Any:
    """``app.state.<name>``, made from the settings on first use (once, whatever the threads)."""
    app = request.app
    value = getattr(app.state, name, None)
    if value is None:
        with _once_lock:
            value = getattr(app.state, name, None)
            if value is None:
                value = make(app.state.settings)
                setattr(app.state, name, value)
    return value
